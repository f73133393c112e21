//! The JSON API under `/api/v1/`, documented by OpenAPI (`/api/openapi.json`, browsable at
//! `/api/docs`). Same service functions as the pages; errors are `{"error": {code, message, fields}}`.

use std::net::IpAddr;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use bdtx_domain::people::PersonDraft;
use bdtx_store::audit::AuditEntry;
use bdtx_store::catalog::Module;
use bdtx_store::people::{Person, PersonRow};

use crate::AppState;
use crate::auth::{self, Auth, api_lang_of, client_ip};
use crate::error::{ApiError, ApiErrorBody, ApiFieldError, AppError, Json, Path, Query};
use crate::i18n::T;
use crate::service::{
    self, CoreInput, CoverageInput, MoveInput, NewPersonInput, NewUnitInput, PersonView, RequestInput,
    RestructureInput, RetireInput, RoleInput, TreeView, UnitView, date_or_today,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "BDTX API", version = "1", description = "Continuous professional development of Vietnamese teachers: organisation, people, catalog. Authenticate with POST /api/v1/auth/login and send `Authorization: Bearer <token>`."),
    modifiers(&BearerAuth),
    components(schemas(ApiErrorBody, ApiError, ApiFieldError)),
    tags((name = "auth"), (name = "organisation"), (name = "people"), (name = "catalog"), (name = "audit"), (name = "learning"), (name = "oversight"), (name = "yearly"))
)]
struct ApiDoc;

struct BearerAuth;
impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The API routes and their OpenAPI document.
pub fn router(_st: AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(me_password))
        .routes(routes!(units_tree))
        .routes(routes!(unit_get))
        .routes(routes!(unit_restructure))
        .routes(routes!(unit_create))
        .routes(routes!(unit_coverage))
        .routes(routes!(person_create))
        .routes(routes!(person_move))
        .routes(routes!(person_retire))
        .routes(routes!(person_core))
        .routes(routes!(person_role))
        .routes(routes!(role_revoke))
        .routes(routes!(people_search))
        .routes(routes!(people_duplicates))
        .routes(routes!(person_merge))
        .routes(routes!(person_get, person_patch))
        .routes(routes!(person_activation))
        .routes(routes!(modules_list))
        .routes(routes!(module_patch))
        .routes(routes!(audit_list))
        .routes(routes!(requests_list, request_file))
        .routes(routes!(request_resolve))
        .routes(routes!(crate::learn_api::api_outline))
        .routes(routes!(crate::learn_api::api_item))
        .routes(routes!(crate::learn_api::api_progress))
        .routes(routes!(crate::learn_api::api_answer))
        .routes(routes!(crate::learn_api::api_quiz_submit))
        .routes(routes!(crate::learn_api::api_work))
        .routes(routes!(crate::learn_api::api_grade))
        .routes(routes!(crate::oversight_pages::api_dashboard))
        .routes(routes!(crate::yearly_api::api_person_year))
        .routes(routes!(crate::yearly_api::api_unit_classified))
        .split_for_parts();
    (router, api)
}

pub fn docs(api: utoipa::openapi::OpenApi) -> Router<AppState> {
    Router::from(SwaggerUi::new("/api/docs").url("/api/openapi.json", api))
}

/// Render an error as the structured JSON body, in the language the client asked for.
pub fn error_json(headers: &axum::http::HeaderMap, err: &AppError) -> Response {
    let t = T(api_lang_of(headers));
    let fields = err
        .fields()
        .into_iter()
        .map(|f| ApiFieldError {
            message: format!("{}: {}", t.of("field", &f.field), t.of("code", f.code)),
            field: f.field,
            code: f.code.to_string(),
        })
        .collect();
    let body = ApiErrorBody {
        error: ApiError { code: err.code().to_string(), message: t.t(err.message_key()).to_string(), fields },
    };
    (err.status(), axum::Json(body)).into_response()
}

pub struct ClientIp(pub IpAddr);
impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _st: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_in: i64,
}

/// Log in and get a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    match auth::login(&st, ip, &req.username, &req.password).await {
        Ok((token, _)) => Ok(Json(LoginResponse { token, expires_in: bdtx_store::accounts::SESSION_SECONDS })),
        Err(auth::LoginError::RateLimited) => Err(AppError::RateLimited),
        Err(auth::LoginError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e) => Err(AppError::LoginFailed(e.code(), e.key())),
    }
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204)))]
async fn logout(State(st): State<AppState>, auth: Auth) -> Result<axum::http::StatusCode, AppError> {
    st.db.delete_session(&auth.token).await?;
    st.auth_cache.forget(&auth.token);
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub account_id: i64,
    pub username: String,
    pub person_id: Option<i64>,
    pub roles: Vec<RoleGrant>,
}

#[derive(Serialize, ToSchema)]
pub struct RoleGrant {
    pub role: String,
    pub unit_id: i64,
    pub unit_name: String,
}

/// Who am I: account, person and roles with their scopes.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = MeResponse), (status = 401, body = ApiErrorBody)))]
async fn me(State(st): State<AppState>, auth: Auth) -> Result<Json<MeResponse>, AppError> {
    let roles = st
        .db
        .grants_named(auth.account.id)
        .await?
        .into_iter()
        .map(|(role, unit_id, unit_name)| RoleGrant { role, unit_id, unit_name })
        .collect();
    Ok(Json(MeResponse {
        account_id: auth.account.id,
        username: auth.account.username,
        person_id: auth.principal.person_id,
        roles,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current: String,
    /// At least 8 characters, not only digits.
    pub new: String,
}

/// Change one's own password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn me_password(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: Auth,
    Json(p): Json<PasswordChange>,
) -> Result<axum::http::StatusCode, AppError> {
    service::change_password(&st, ip, &auth, &p.current, &p.new).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct TreeParams {
    /// Date (yyyy-mm-dd or dd/mm/yyyy); default today.
    pub at: Option<String>,
    /// A unit to start from (must be in scope); default the caller's scope.
    pub root: Option<i64>,
    /// Levels below the root, 1–6 (default 3).
    pub depth: Option<i64>,
}

/// The organisation tree at a date.
#[utoipa::path(get, path = "/api/v1/units", tag = "organisation", params(TreeParams), security(("bearer" = [])),
    responses((status = 200, body = TreeView), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn units_tree(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<TreeParams>,
) -> Result<Json<TreeView>, AppError> {
    let at = date_or_today(q.at.as_deref(), "at")?;
    Ok(Json(service::tree(&st, &auth.principal, q.root, at, q.depth.unwrap_or(3)).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct AtParams {
    /// Date for the children list (yyyy-mm-dd or dd/mm/yyyy); default today.
    pub at: Option<String>,
}

/// One unit with its history (parents over time, predecessors, successor) and children.
#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "organisation", params(("id" = i64, Path), AtParams), security(("bearer" = [])),
    responses((status = 200, body = UnitView), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn unit_get(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<AtParams>,
) -> Result<Json<UnitView>, AppError> {
    let at = date_or_today(q.at.as_deref(), "at")?;
    Ok(Json(service::unit_view(&st, &auth.principal, id, at).await?))
}

#[derive(Serialize, ToSchema)]
pub struct RestructureResponse {
    /// The unit that results (the new or receiving unit; the unit itself for a move).
    pub unit_id: i64,
}

/// Merge, rename, move or dissolve a unit from an effective date; history is kept.
#[utoipa::path(post, path = "/api/v1/units/{id}/restructure", tag = "organisation", params(("id" = i64, Path)), request_body = RestructureInput, security(("bearer" = [])),
    responses((status = 200, body = RestructureResponse), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn unit_restructure(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(input): Json<RestructureInput>,
) -> Result<Json<RestructureResponse>, AppError> {
    Ok(Json(RestructureResponse { unit_id: service::restructure(&st, &auth.principal, id, &input).await? }))
}

#[derive(Deserialize, IntoParams)]
pub struct PeopleParams {
    /// Name (accent-insensitive), national ID, phone or e-mail.
    pub q: Option<String>,
    /// Only people in this unit's subtree.
    pub unit: Option<i64>,
    /// Page number from 0 (50 a page).
    pub page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PeoplePage {
    pub items: Vec<PersonRow>,
    pub next_page: Option<i64>,
}

/// Search people in scope, sorted the Vietnamese way.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleParams), security(("bearer" = [])),
    responses((status = 200, body = PeoplePage), (status = 403, body = ApiErrorBody)))]
async fn people_search(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<PeopleParams>,
) -> Result<Json<PeoplePage>, AppError> {
    let page = q.page.unwrap_or(0).max(0);
    let mut items = service::search_people(&st, &auth.principal, q.q.as_deref().unwrap_or(""), q.unit, page).await?;
    let more = items.len() as i64 > service::PAGE_SIZE;
    items.truncate(service::PAGE_SIZE as usize);
    Ok(Json(PeoplePage { items, next_page: more.then_some(page + 1) }))
}

/// A person with work history, core status and account state.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = PersonView), (status = 404, body = ApiErrorBody)))]
async fn person_get(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Json<PersonView>, AppError> {
    Ok(Json(service::person_view(&st, &auth.principal, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct PersonPatch {
    pub full_name: Option<String>,
    /// dd/mm/yyyy or yyyy-mm-dd; empty string clears it.
    pub birth_date: Option<String>,
    /// M or F
    pub gender: Option<String>,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// teacher, principal, vice_principal, officer, lecturer, staff
    pub position: Option<String>,
    /// e.g. "TH,THCS"
    pub levels: Option<String>,
    pub main_subject: Option<String>,
    /// comma separated
    pub other_subjects: Option<String>,
}

/// Change fields of a person; each group of fields (identity, professional, contact) needs its own permission.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)), request_body = PersonPatch, security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn person_patch(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(draft): Json<PersonDraft>,
) -> Result<Json<Person>, AppError> {
    Ok(Json(service::edit_person(&st, &auth.principal, id, &draft).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ActivationResponse {
    pub username: String,
    /// Shown once; valid 30 days. The person sets their password with it at /activate.
    pub code: String,
}

/// Issue an activation code for the person's account (creates the account if needed).
#[utoipa::path(post, path = "/api/v1/people/{id}/activation", tag = "people", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = ActivationResponse), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn person_activation(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<ActivationResponse>, AppError> {
    let (username, code) = service::issue_activation(&st, &auth.principal, id).await?;
    Ok(Json(ActivationResponse { username, code }))
}

#[derive(Deserialize, IntoParams)]
pub struct ModuleParams {
    /// teacher_4660, manager_4660, gvpt_2019, content_2012, elective_2012
    pub family: Option<String>,
}

/// The module catalog.
#[utoipa::path(get, path = "/api/v1/modules", tag = "catalog", params(ModuleParams), security(("bearer" = [])), responses((status = 200, body = Vec<Module>)))]
async fn modules_list(
    State(st): State<AppState>,
    _auth: Auth,
    Query(q): Query<ModuleParams>,
) -> Result<Json<Vec<Module>>, AppError> {
    Ok(Json(service::modules(&st, q.family.as_deref()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ModulePatch {
    pub title_vi: String,
    pub title_en: String,
}

/// Edit a module's titles (Ministry administrators).
#[utoipa::path(patch, path = "/api/v1/modules/{code}", tag = "catalog", params(("code" = String, Path)), request_body = ModulePatch, security(("bearer" = [])),
    responses((status = 200, body = Module), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn module_patch(
    State(st): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Json(m): Json<ModulePatch>,
) -> Result<Json<Module>, AppError> {
    Ok(Json(service::edit_module(&st, &auth.principal, &code, &m.title_vi, &m.title_en).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct AuditParams {
    /// Only changes in this unit's subtree (default: the caller's scope).
    pub unit: Option<i64>,
    /// Entries older than this id.
    pub before: Option<i64>,
}

/// The audit log of administrative changes in scope, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ApiErrorBody)))]
async fn audit_list(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<AuditParams>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    Ok(Json(service::audit(&st, &auth.principal, q.unit, q.before).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUnitRequest {
    pub parent_id: i64,
    #[serde(flatten)]
    pub unit: NewUnitInput,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Create a unit under a parent the caller manages.
#[utoipa::path(post, path = "/api/v1/units", tag = "organisation", request_body = NewUnitRequest, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn unit_create(
    State(st): State<AppState>,
    auth: Auth,
    Json(r): Json<NewUnitRequest>,
) -> Result<(axum::http::StatusCode, Json<Created>), AppError> {
    let id = service::create_unit(&st, &auth.principal, r.parent_id, &r.unit).await?;
    Ok((axum::http::StatusCode::CREATED, Json(Created { id })))
}

/// Add a person at a unit (with an account waiting for activation).
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = NewPersonInput, security(("bearer" = [])),
    responses((status = 201, body = Person), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn person_create(
    State(st): State<AppState>,
    auth: Auth,
    Json(input): Json<NewPersonInput>,
) -> Result<(axum::http::StatusCode, Json<Person>), AppError> {
    let unit = input.unit_id.ok_or_else(|| AppError::invalid("unit", "required"))?;
    let person = service::create_person(&st, &auth.principal, unit, &input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(person)))
}

/// Move a person to another unit from a date; their history keeps the old one.
#[utoipa::path(post, path = "/api/v1/people/{id}/move", tag = "people", params(("id" = i64, Path)), request_body = MoveInput, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn person_move(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(input): Json<MoveInput>,
) -> Result<axum::http::StatusCode, AppError> {
    service::move_person(&st, &auth.principal, id, &input).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Record core status (cốt cán) for a module and subject.
#[utoipa::path(post, path = "/api/v1/people/{id}/core", tag = "people", params(("id" = i64, Path)), request_body = CoreInput, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn person_core(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(input): Json<CoreInput>,
) -> Result<axum::http::StatusCode, AppError> {
    service::add_core(&st, &auth.principal, id, &input).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Grant a role over a unit to a person (an admin grants only roles below their own, inside their scope).
#[utoipa::path(post, path = "/api/v1/people/{id}/roles", tag = "people", params(("id" = i64, Path)), request_body = RoleInput, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn person_role(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(input): Json<RoleInput>,
) -> Result<axum::http::StatusCode, AppError> {
    service::grant_role(&st, &auth.principal, id, &input).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Withdraw a role.
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "people", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn role_revoke(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<axum::http::StatusCode, AppError> {
    service::revoke_role(&st, &auth.principal, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Add a province to those a pedagogical university covers.
#[utoipa::path(post, path = "/api/v1/units/{id}/coverage", tag = "organisation", params(("id" = i64, Path)), request_body = CoverageInput, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn unit_coverage(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(input): Json<CoverageInput>,
) -> Result<axum::http::StatusCode, AppError> {
    service::add_coverage(&st, &auth.principal, id, &input).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct ScopeParams {
    /// Only this unit's subtree (default: the caller's scope).
    pub unit: Option<i64>,
}

/// Candidate duplicates in scope: same phone, same e-mail, or same name and birth date.
#[utoipa::path(get, path = "/api/v1/people/duplicates", tag = "people", params(ScopeParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<bdtx_store::merge::DuplicateGroup>), (status = 403, body = ApiErrorBody)))]
async fn people_duplicates(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<ScopeParams>,
) -> Result<Json<Vec<bdtx_store::merge::DuplicateGroup>>, AppError> {
    Ok(Json(service::duplicates(&st, &auth.principal, q.unit).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The records to merge into this one; they are closed, not deleted.
    pub others: Vec<i64>,
}

/// Merge duplicate records into this person: history, core status, roles and account move here.
#[utoipa::path(post, path = "/api/v1/people/{id}/merge", tag = "people", params(("id" = i64, Path)), request_body = MergeRequest, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn person_merge(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(m): Json<MergeRequest>,
) -> Result<axum::http::StatusCode, AppError> {
    service::merge_people(&st, &auth.principal, id, &m.others).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Retirement or leaving on a date: the stay closes, history stays.
#[utoipa::path(post, path = "/api/v1/people/{id}/retire", tag = "people", params(("id" = i64, Path)), request_body = RetireInput, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn person_retire(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(input): Json<RetireInput>,
) -> Result<axum::http::StatusCode, AppError> {
    service::retire_person(&st, &auth.principal, id, &input).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct RequestParams {
    /// correction (Mẫu số 3) or addition (Mẫu số 4)
    pub kind: String,
    /// Only this unit's subtree (default: the caller's scope).
    pub unit: Option<i64>,
}

/// Requests filed from or addressed to units in scope, open ones first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "people", params(RequestParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<bdtx_store::requests::Request>), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn requests_list(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<RequestParams>,
) -> Result<Json<Vec<bdtx_store::requests::Request>>, AppError> {
    Ok(Json(service::requests(&st, &auth.principal, &q.kind, q.unit).await?))
}

/// File a correction (Mẫu số 3) or addition (Mẫu số 4) request to the level above the school.
#[utoipa::path(post, path = "/api/v1/requests", tag = "people", request_body = RequestInput, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn request_file(
    State(st): State<AppState>,
    auth: Auth,
    Json(input): Json<RequestInput>,
) -> Result<(axum::http::StatusCode, Json<Created>), AppError> {
    let id = service::file_request(&st, &auth.principal, &input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, ToSchema)]
pub struct ResolveRequest {
    /// true to accept (an accepted addition adds the person), false to reject
    pub accept: bool,
    /// What was done; to reject, the reason (required: 422 `reason`/`required_to_reject` without it).
    #[serde(default)]
    pub resolution: String,
}

#[derive(Serialize, ToSchema)]
pub struct Resolved {
    /// The person added by an accepted addition.
    pub added_person: Option<i64>,
}

/// Answer a request addressed to a unit one administers.
#[utoipa::path(post, path = "/api/v1/requests/{id}/resolve", tag = "people", params(("id" = i64, Path)), request_body = ResolveRequest, security(("bearer" = [])),
    responses((status = 200, body = Resolved), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn request_resolve(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(r): Json<ResolveRequest>,
) -> Result<Json<Resolved>, AppError> {
    let added_person = service::resolve_request(&st, &auth.principal, id, r.accept, &r.resolution).await?;
    Ok(Json(Resolved { added_person }))
}
