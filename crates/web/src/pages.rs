//! Server-rendered pages (askama templates in `templates/`), Vietnamese by default.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_domain::authz::{Action, Role, Target};
use bdtx_domain::dates::{iso, show, today};
use bdtx_domain::people::PersonDraft;
use bdtx_store::audit::AuditEntry;
use bdtx_store::catalog::Module;
use bdtx_store::people::PersonRow;

use crate::auth::{AnonCsrf, Auth, LANG_COOKIE, client_ip, lang_of};
use crate::error::{AppError, Form, Path, Query};
use crate::i18n::{MESSAGES, T};
use crate::service::{
    self, CoreInput, CoverageInput, MoveInput, NewPersonInput, NewUnitInput, PersonView, RestructureInput, RetireInput,
    RoleInput, TreeView, UnitView, date_or_today,
};
use crate::{AppState, auth};

/// What every page needs: language, the signed-in user (for the menu), the CSRF token, a flash.
pub struct Ctx {
    pub t: T,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub path: String,
    pub flash: Option<&'static str>,
}

pub struct NavUser {
    pub username: String,
    pub person_id: Option<i64>,
    pub browse: bool,
    pub audit: bool,
    pub lecturer: bool,
}

impl Ctx {
    fn build(parts: &Parts) -> Ctx {
        let t = T(lang_of(&parts.headers));
        let auth = parts.extensions.get::<Auth>();
        let csrf = match auth {
            Some(a) => a.csrf.clone(),
            None => parts.extensions.get::<AnonCsrf>().map(|c| c.0.clone()).unwrap_or_default(),
        };
        let flash = parts.uri.query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "ok")
                .and_then(|(_, v)| MESSAGES.iter().find(|m| m.0 == v).map(|m| m.0))
        });
        let user = auth.map(|a| NavUser {
            username: a.account.username.clone(),
            person_id: a.principal.person_id,
            browse: !a.principal.browse_roots().is_empty() || a.principal.has_role(Role::MinistryAdmin),
            lecturer: a.principal.has_role(Role::KeyLecturer),
            audit: a.principal.grants.iter().any(|g| {
                matches!(g.role, Role::MinistryAdmin | Role::ProvinceAdmin | Role::CommuneAdmin | Role::SchoolAdmin)
            }),
        });
        Ctx { t, user, csrf, path: parts.uri.path().to_string(), flash }
    }
    /// Message for a field error: "Họ và tên: bắt buộc nhập".
    pub fn field_error(&self, e: &bdtx_domain::FieldError) -> String {
        format!("{}: {}", self.t.of("field", &e.field), self.t.of("code", e.code))
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _st: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Ctx::build(parts))
    }
}

pub fn router(_st: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/activate", get(activate_form).post(activate_submit))
        .route("/lang/{code}", get(set_lang))
        .route("/units", get(tree_page))
        .route("/units/{id}", get(unit_page))
        .route("/units/{id}/restructure", post(restructure_submit))
        .route("/units/{id}/children", post(unit_create_submit))
        .route("/units/{id}/coverage", post(unit_coverage_submit))
        .route("/units/{id}/people", post(person_create_submit))
        .route("/people/{id}/move", post(person_move_submit))
        .route("/people/{id}/retire", post(person_retire_submit))
        .route("/people/{id}/core", post(person_core_submit))
        .route("/people/{id}/roles", post(person_role_submit))
        .route("/roles/{id}/revoke", post(role_revoke_submit))
        .route("/people", get(people_page))
        .route("/people/duplicates", get(duplicates_page))
        .route("/people/merge", post(merge_submit))
        .route("/people/{id}", get(person_page))
        .route("/people/{id}/edit", get(person_edit_form).post(person_edit_submit))
        .route("/people/{id}/activation", post(activation_submit))
        .route("/people/{id}/unlock", post(unlock_submit))
        .route("/me", get(me))
        .route("/account/password", get(password_form).post(password_submit))
        .route("/audit", get(audit_page))
        .route("/catalog", get(catalog_page))
        .route("/catalog/{code}", post(catalog_submit))
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: Ctx,
    message: &'static str,
    fields: Vec<String>,
}

/// Render an error as a page in the user's language; a missing session becomes a redirect to
/// the login page.
pub fn error_page(parts: &Parts, err: &AppError) -> Response {
    let ctx = Ctx::build(parts);
    if matches!(err, AppError::Unauthenticated) {
        let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return Redirect::to(&format!("/login?next={}", urlencoding::encode(next))).into_response();
    }
    let message = err.message_key();
    let fields = err.fields().iter().map(|f| ctx.field_error(f)).collect();
    (err.status(), ErrorPage { ctx, message, fields }).into_response()
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---------------------------------------------------------------- home, login, language

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
    roles: Vec<(String, i64, String)>,
    is_learner: bool,
}

async fn home(State(st): State<AppState>, ctx: Ctx, auth: Option<Auth>) -> Result<Response, AppError> {
    let Some(auth) = auth else {
        return Ok(see_other("/login"));
    };
    let roles = st.db.grants_named(auth.account.id).await?;
    let is_learner = auth.principal.person_id.is_some();
    Ok(HomePage { ctx, roles, is_learner }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    next: String,
    username: String,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths are accepted as a post-login destination (no open redirects).
fn safe_next(n: Option<&str>) -> String {
    match n {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

async fn login_form(ctx: Ctx, Query(q): Query<NextQuery>) -> LoginPage {
    LoginPage { ctx, next: safe_next(q.next.as_deref()), username: String::new(), error: None }
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(State(st): State<AppState>, ctx: Ctx, req: Request) -> Result<Response, AppError> {
    let ip = client_ip(req.extensions());
    let Form(f): Form<LoginForm> = Form::from_request(req, &st).await?;
    match auth::login(&st, ip, &f.username, &f.password).await {
        Ok((token, _csrf)) => {
            let mut res = see_other(&safe_next(f.next.as_deref()));
            res.headers_mut().append(header::SET_COOKIE, auth::session_cookie(&st, &token));
            Ok(res)
        }
        Err(auth::LoginError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e) => {
            let status = if matches!(e, auth::LoginError::RateLimited) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let page =
                LoginPage { ctx, next: safe_next(f.next.as_deref()), username: f.username, error: Some(e.key()) };
            Ok((status, page).into_response())
        }
    }
}

use axum::extract::FromRequest;

async fn logout(State(st): State<AppState>, auth: Auth) -> Result<Response, AppError> {
    st.db.delete_session(&auth.token).await?;
    st.auth_cache.forget(&auth.token);
    let mut res = see_other("/login");
    res.headers_mut().append(header::SET_COOKIE, auth::clear_session_cookie(&st));
    Ok(res)
}

#[derive(Template, WebTemplate)]
#[template(path = "activate.html")]
struct ActivatePage {
    ctx: Ctx,
    username: String,
    error: Option<&'static str>,
}

async fn activate_form(ctx: Ctx) -> ActivatePage {
    ActivatePage { ctx, username: String::new(), error: None }
}

#[derive(Deserialize)]
struct ActivateForm {
    username: String,
    code: String,
    password: String,
    password2: String,
}

async fn activate_submit(State(st): State<AppState>, ctx: Ctx, req: Request) -> Result<Response, AppError> {
    let ip = client_ip(req.extensions());
    auth::check_login_rate(&st, ip)?;
    let Form(f): Form<ActivateForm> = Form::from_request(req, &st).await?;
    let error = if f.password != f.password2 {
        Some("activate.mismatch")
    } else if !bdtx_store::password::acceptable(&f.password) {
        Some("activate.weak")
    } else if f.username.len() > 64 || f.code.len() > 32 || !st.db.activate(&f.username, &f.code, &f.password).await? {
        Some("activate.bad")
    } else {
        None
    };
    match error {
        None => Ok(see_other("/login?ok=activate.done")),
        Some(e) => Ok((StatusCode::UNPROCESSABLE_ENTITY, ActivatePage { ctx, username: f.username, error: Some(e) })
            .into_response()),
    }
}

async fn set_lang(State(st): State<AppState>, Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let lang = if code == "en" { "en" } else { "vi" };
    let mut res = see_other(&safe_next(q.next.as_deref()));
    let secure = if st.cfg.secure_cookies { "; Secure" } else { "" };
    if let Ok(v) =
        HeaderValue::from_str(&format!("{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax{secure}"))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------- organisation

#[derive(Deserialize)]
struct TreeQuery {
    at: Option<String>,
    root: Option<i64>,
    depth: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "tree.html")]
struct TreePage {
    ctx: Ctx,
    view: TreeView,
    at_input: String,
    historic: bool,
}

async fn tree_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<TreeQuery>,
) -> Result<TreePage, AppError> {
    let at = date_or_today(q.at.as_deref(), "at")?;
    let view = service::tree(&st, &auth.principal, q.root, at, q.depth.unwrap_or(3)).await?;
    Ok(TreePage { ctx, at_input: show(&view.at), historic: at != today(), view })
}

#[derive(Template, WebTemplate)]
#[template(path = "unit.html")]
struct UnitPage {
    ctx: Ctx,
    view: UnitView,
    at_iso: String,
    at_input: String,
}

async fn unit_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<TreeQuery>,
) -> Result<UnitPage, AppError> {
    let at = date_or_today(q.at.as_deref(), "at")?;
    let view = service::unit_view(&st, &auth.principal, id, at).await?;
    Ok(UnitPage { ctx, view, at_iso: iso(at), at_input: show(&iso(at)) })
}

async fn restructure_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RestructureInput>,
) -> Result<Response, AppError> {
    let result = service::restructure(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/units/{result}?ok=restructure.done")))
}

async fn unit_create_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<NewUnitInput>,
) -> Result<Response, AppError> {
    let new = service::create_unit(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/units/{new}?ok=people.saved")))
}

async fn unit_coverage_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<CoverageInput>,
) -> Result<Response, AppError> {
    service::add_coverage(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/units/{id}?ok=people.saved")))
}

async fn person_create_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<NewPersonInput>,
) -> Result<Response, AppError> {
    let person = service::create_person(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/people/{}?ok=people.saved", person.id)))
}

// ---------------------------------------------------------------- people

#[derive(Deserialize)]
struct PeopleQueryForm {
    q: Option<String>,
    unit: Option<i64>,
    page: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "people.html")]
struct PeoplePage {
    ctx: Ctx,
    q: String,
    unit: Option<i64>,
    unit_name: String,
    rows: Vec<PersonRow>,
    page: i64,
    more: bool,
}

async fn people_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<PeopleQueryForm>,
) -> Result<PeoplePage, AppError> {
    let text = q.q.clone().unwrap_or_default();
    let page = q.page.unwrap_or(0).max(0);
    let mut rows = service::search_people(&st, &auth.principal, &text, q.unit, page).await?;
    let more = rows.len() as i64 > service::PAGE_SIZE;
    rows.truncate(service::PAGE_SIZE as usize);
    let unit_name = match q.unit {
        Some(u) => st.db.unit(u).await?.map(|u| u.name).unwrap_or_default(),
        None => String::new(),
    };
    Ok(PeoplePage { ctx, q: text, unit: q.unit, unit_name, rows, page, more })
}

#[derive(Template, WebTemplate)]
#[template(path = "person.html")]
struct PersonPage {
    ctx: Ctx,
    view: PersonView,
    code: Option<(String, String)>,
    /// The person's enrollments with their professional-activity attendance.
    training: Vec<crate::sessions_pages::TrainingRow>,
}

async fn person_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<PersonPage, AppError> {
    let view = service::person_view(&st, &auth.principal, id).await?;
    let training = crate::sessions_pages::person_training(&st, view.person.id).await?;
    Ok(PersonPage { ctx, view, code: None, training })
}

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
struct PasswordPage {
    ctx: Ctx,
    error: Option<&'static str>,
}

async fn password_form(ctx: Ctx, _auth: Auth) -> PasswordPage {
    PasswordPage { ctx, error: None }
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    password: String,
    password2: String,
}

async fn password_submit(State(st): State<AppState>, ctx: Ctx, auth: Auth, req: Request) -> Result<Response, AppError> {
    let ip = client_ip(req.extensions());
    let Form(f): Form<PasswordForm> = Form::from_request(req, &st).await?;
    let error = if f.password != f.password2 {
        Some("activate.mismatch")
    } else {
        match service::change_password(&st, ip, &auth, &f.current, &f.password).await {
            Ok(()) => None,
            Err(AppError::LoginFailed(_, key)) => Some(key),
            Err(AppError::Invalid(_)) => Some("activate.weak"),
            Err(e) => return Err(e),
        }
    };
    match error {
        None => Ok(see_other("/?ok=password.changed")),
        Some(e) => Ok((StatusCode::UNPROCESSABLE_ENTITY, PasswordPage { ctx, error: Some(e) }).into_response()),
    }
}

async fn me(auth: Auth) -> Response {
    match auth.principal.person_id {
        Some(p) => see_other(&format!("/people/{p}")),
        None => see_other("/"),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "person_edit.html")]
struct PersonEditPage {
    ctx: Ctx,
    view: PersonView,
    draft: PersonDraft,
    errors: Vec<String>,
}

fn draft_of(p: &bdtx_store::people::Person) -> PersonDraft {
    PersonDraft {
        full_name: Some(p.full_name.clone()),
        birth_date: p.birth_date.as_deref().map(show),
        gender: p.gender.clone(),
        national_id: p.national_id.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        position: Some(p.position.clone()),
        levels: Some(p.levels.clone()),
        main_subject: p.main_subject.clone(),
        other_subjects: Some(p.other_subjects.replace(';', ", ")),
    }
}

async fn person_edit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<PersonEditPage, AppError> {
    let view = service::person_view(&st, &auth.principal, id).await?;
    if !(view.can.edit_contact || view.can.edit_professional || view.can.edit_identity) {
        return Err(AppError::Forbidden);
    }
    Ok(PersonEditPage { ctx, draft: draft_of(&view.person), view, errors: vec![] })
}

async fn person_edit_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Form(draft): Form<PersonDraft>,
) -> Result<Response, AppError> {
    match service::edit_person(&st, &auth.principal, id, &draft).await {
        Ok(_) => Ok(see_other(&format!("/people/{id}?ok=people.saved"))),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let view = service::person_view(&st, &auth.principal, id).await?;
            let errors = e.fields().iter().map(|f| ctx.field_error(f)).collect();
            Ok((e.status(), PersonEditPage { ctx, view, draft, errors }).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn activation_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let code = service::issue_activation(&st, &auth.principal, id).await?;
    let view = service::person_view(&st, &auth.principal, id).await?;
    let training = crate::sessions_pages::person_training(&st, view.person.id).await?;
    let mut res = PersonPage { ctx, view, code: Some(code), training }.into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn person_move_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<MoveInput>,
) -> Result<Response, AppError> {
    service::move_person(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/people/{id}?ok=people.saved")))
}

async fn person_retire_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RetireInput>,
) -> Result<Response, AppError> {
    service::retire_person(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/people/{id}?ok=people.saved")))
}

async fn person_core_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<CoreInput>,
) -> Result<Response, AppError> {
    service::add_core(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/people/{id}?ok=people.saved")))
}

async fn person_role_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RoleInput>,
) -> Result<Response, AppError> {
    service::grant_role(&st, &auth.principal, id, &f).await?;
    Ok(see_other(&format!("/people/{id}?ok=people.saved")))
}

#[derive(Deserialize)]
struct BackTo {
    person: Option<i64>,
}

async fn role_revoke_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<BackTo>,
) -> Result<Response, AppError> {
    service::revoke_role(&st, &auth.principal, id).await?;
    Ok(see_other(&match f.person {
        Some(p) => format!("/people/{p}?ok=people.saved"),
        None => "/?ok=people.saved".to_string(),
    }))
}

async fn unlock_submit(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    service::unlock(&st, &auth.principal, id).await?;
    Ok(see_other(&format!("/people/{id}?ok=people.unlocked")))
}

#[derive(Template, WebTemplate)]
#[template(path = "duplicates.html")]
struct DuplicatesPage {
    ctx: Ctx,
    /// Each group, and whether the caller may merge it (`decide`); others show no merge controls.
    groups: Vec<(bdtx_store::merge::DuplicateGroup, bool)>,
}

async fn duplicates_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> Result<DuplicatesPage, AppError> {
    let within = crate::access::scope(&st, &auth.principal, q.unit, bdtx_domain::authz::Action::ViewPerson).await?;
    let groups = service::duplicates(&st, &auth.principal, q.unit).await?;
    let mergeable = service::may_merge(&st, &auth.principal, within, &groups).await?;
    Ok(DuplicatesPage { ctx, groups: groups.into_iter().zip(mergeable).collect() })
}

#[derive(Deserialize)]
struct MergeForm {
    keep: Option<i64>,
    /// all the ids of the group, comma separated
    ids: String,
}

async fn merge_submit(State(st): State<AppState>, auth: Auth, Form(f): Form<MergeForm>) -> Result<Response, AppError> {
    let keep = f.keep.ok_or_else(|| AppError::invalid("keep", "required"))?;
    let mut ids = Vec::new();
    for s in f.ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let id: i64 = s.parse().map_err(|_| AppError::invalid("ids", "invalid"))?;
        if ids.contains(&id) {
            return Err(AppError::invalid("ids", "duplicate"));
        }
        ids.push(id);
    }
    if !ids.contains(&keep) {
        return Err(AppError::invalid("keep", "not_in_group"));
    }
    let others: Vec<i64> = ids.into_iter().filter(|id| *id != keep).collect();
    service::merge_people(&st, &auth.principal, keep, &others).await?;
    Ok(see_other(&format!("/people/{keep}?ok=people.merged")))
}

// ---------------------------------------------------------------- audit, catalog

#[derive(Deserialize)]
struct AuditQuery {
    unit: Option<i64>,
    before: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    ctx: Ctx,
    rows: Vec<AuditEntry>,
    unit: Option<i64>,
}

async fn audit_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> Result<AuditPage, AppError> {
    let rows = service::audit(&st, &auth.principal, q.unit, q.before).await?;
    Ok(AuditPage { ctx, rows, unit: q.unit })
}

#[derive(Template, WebTemplate)]
#[template(path = "catalog.html")]
struct CatalogPage {
    ctx: Ctx,
    modules: Vec<Module>,
    can_edit: bool,
}

async fn catalog_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<CatalogPage, AppError> {
    let modules = service::modules(&st, None).await?;
    let can_edit = auth.principal.can(Action::EditCatalog, &Target::global());
    Ok(CatalogPage { ctx, modules, can_edit })
}

#[derive(Deserialize)]
struct ModuleForm {
    title_vi: String,
    title_en: String,
}

async fn catalog_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Form(f): Form<ModuleForm>,
) -> Result<Response, AppError> {
    service::edit_module(&st, &auth.principal, &code, &f.title_vi, &f.title_en).await?;
    Ok(see_other(&format!("/catalog?ok=people.saved#{}", urlencoding::encode(&code))))
}
