//! Administration of training: course versions (imported from a package), programmes and their
//! rounds with windows per level, bulk enrollment by filter, classes proposed per cluster with
//! their core people, adjusted by hand.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_domain::authz::{Action, Principal, Role};
use bdtx_domain::dates::{parse_date, today};
use bdtx_domain::org::Level;
use bdtx_domain::round::{Audience, Delivery, PassRule, Tier, Window};
use bdtx_store::rounds::{
    Class, CourseRow, EnrollFilter, EnrollmentRow, NewRound, Programme, ProposedClass, Round, WindowRow,
};

use crate::AppState;
use crate::access::{require, unit_target};
use crate::auth::Auth;
use crate::error::{AppError, Form, Path, Query};
use crate::pages::Ctx;

/// Largest course package accepted from the browser.
pub const MAX_PACKAGE: usize = 200 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses", get(courses_page).post(course_upload).layer(DefaultBodyLimit::max(MAX_PACKAGE)))
        .route("/rounds", get(rounds_page))
        .route("/programmes", post(programme_create))
        .route("/programmes/{id}", get(programme_page))
        .route("/programmes/{id}/rounds", post(round_create))
        .route("/rounds/{id}", get(round_page))
        .route("/rounds/{id}/enroll", post(enroll))
        .route("/rounds/{id}/classes", get(propose_page).post(apply_proposal))
        .route("/classes/{id}/staff", post(staff_add))
        .route("/classes/{id}/staff/{person}/remove", post(staff_remove))
        .route("/classes/{id}/move", post(move_learner))
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Units at which the caller may manage rounds (their admin roots).
pub(crate) async fn manage_roots(st: &AppState, p: &Principal) -> Result<Vec<(i64, String)>, AppError> {
    let mut out = Vec::new();
    for g in &p.grants {
        if matches!(g.role, Role::MinistryAdmin | Role::ProvinceAdmin) {
            if let Some(u) = st.db.unit(g.unit_id).await? {
                out.push((u.id, u.name));
            }
        }
    }
    Ok(out)
}

/// What the caller may do with a round: manage it (owner's admins) or work within a part of it
/// (an admin below the owner: a commune office or a school enrolls its own).
pub struct RoundAccess {
    pub manage: bool,
    /// The subtree the caller works in; None = the whole round.
    pub within: Option<i64>,
}

pub async fn round_access(st: &AppState, p: &Principal, round: &Round) -> Result<RoundAccess, AppError> {
    let (_, owner) = unit_target(st, round.owner_unit_id).await?;
    if p.can(Action::ManageRound, &owner) {
        return Ok(RoundAccess { manage: true, within: None });
    }
    if p.can(Action::ViewRound, &owner) {
        return Ok(RoundAccess { manage: false, within: None });
    }
    for r in p.browse_roots() {
        let (_, t) = unit_target(st, r).await?;
        if t.units.contains(&round.owner_unit_id) && p.can(Action::EnrollLearners, &t) {
            return Ok(RoundAccess { manage: false, within: Some(r) });
        }
    }
    Err(AppError::Forbidden)
}

// ---------------------------------------------------------------- courses

#[derive(Template, WebTemplate)]
#[template(path = "courses.html")]
struct CoursesPage {
    ctx: Ctx,
    rows: Vec<CourseRow>,
    can_upload: bool,
}

async fn courses_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<CoursesPage, AppError> {
    let roots = manage_roots(&st, &auth.principal).await?;
    if roots.is_empty() && auth.principal.browse_roots().is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(CoursesPage { ctx, rows: st.db.courses().await?, can_upload: !roots.is_empty() })
}

/// Import a course package (.zip): validated whole, media stored with checksums, then a new
/// course version. A bad package names the file and line and changes nothing.
pub async fn import_package(st: &AppState, actor: Option<i64>, bytes: &[u8]) -> Result<CourseRow, AppError> {
    let pkg = bdtx_course::load_zip(bytes).map_err(|e| AppError::Invalid(vec![package_error(&e)]))?;
    store_package(st, actor, &pkg).await
}

fn package_error(e: &bdtx_course::PackageError) -> bdtx_domain::FieldError {
    // The message is already Vietnamese and names the file; it travels as the "field".
    bdtx_domain::FieldError { field: e.to_string(), code: "package" }
}

pub async fn store_package(
    st: &AppState,
    actor: Option<i64>,
    pkg: &bdtx_course::Package,
) -> Result<CourseRow, AppError> {
    Ok(st.db.import_course(actor, &st.files, pkg).await?)
}

async fn course_upload(State(st): State<AppState>, auth: Auth, mut form: Multipart) -> Result<Response, AppError> {
    if manage_roots(&st, &auth.principal).await?.is_empty() {
        return Err(AppError::Forbidden);
    }
    let mut bytes = None;
    while let Some(field) = form.next_field().await.map_err(|_| AppError::invalid("file", "malformed"))? {
        if field.name() == Some("file") {
            bytes = Some(field.bytes().await.map_err(|_| AppError::invalid("file", "too_long"))?);
        }
    }
    let bytes = bytes.filter(|b| !b.is_empty()).ok_or_else(|| AppError::invalid("file", "required"))?;
    import_package(&st, Some(auth.account.id), &bytes).await?;
    Ok(see("/courses?ok=rounds.course_imported"))
}

// ---------------------------------------------------------------- programmes and rounds

pub struct ProgrammeRow {
    pub g: Programme,
    pub rounds: Vec<Round>,
}

#[derive(Template, WebTemplate)]
#[template(path = "rounds.html")]
struct RoundsPage {
    ctx: Ctx,
    rows: Vec<ProgrammeRow>,
    roots: Vec<(i64, String)>,
    year: i32,
}

async fn rounds_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<RoundsPage, AppError> {
    let p = &auth.principal;
    let roots = manage_roots(&st, p).await?;
    // Programmes owned by a unit the caller sees or by any unit above their roots.
    let owners: Option<Vec<i64>> = if p.has_role(Role::MinistryAdmin) {
        None
    } else {
        let mut o = Vec::new();
        for r in p.browse_roots() {
            let (_, t) = unit_target(&st, r).await?;
            o.extend(t.units);
        }
        if o.is_empty() {
            return Err(AppError::Forbidden);
        }
        Some(o)
    };
    let mut rows = Vec::new();
    for g in st.db.programmes(owners.as_deref()).await? {
        rows.push(ProgrammeRow { rounds: st.db.rounds_of_programme(g.id).await?, g });
    }
    Ok(RoundsPage { ctx, rows, roots, year: chrono::Datelike::year(&today()) })
}

#[derive(Deserialize)]
struct ProgrammeForm {
    owner: i64,
    school_year: String,
    title: String,
}

async fn programme_create(
    State(st): State<AppState>,
    auth: Auth,
    Form(f): Form<ProgrammeForm>,
) -> Result<Response, AppError> {
    let (_, t) = unit_target(&st, f.owner).await?;
    require(&auth.principal, Action::ManageRound, &t)?;
    let year: i64 = f.school_year.trim().parse().map_err(|_| AppError::invalid("school_year", "invalid"))?;
    let id = st.db.create_programme(Some(auth.account.id), f.owner, year, &f.title).await?;
    Ok(see(&format!("/programmes/{id}")))
}

#[derive(Template, WebTemplate)]
#[template(path = "programme.html")]
struct ProgrammePage {
    ctx: Ctx,
    g: Programme,
    rounds: Vec<Round>,
    courses: Vec<CourseRow>,
    can_manage: bool,
}

async fn programme_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<ProgrammePage, AppError> {
    let g = st.db.programme(id).await?.ok_or(AppError::NotFound)?;
    let (_, t) = unit_target(&st, g.owner_unit_id).await?;
    let can_manage = auth.principal.can(Action::ManageRound, &t);
    if !can_manage && !auth.principal.can(Action::ViewRound, &t) {
        return Err(AppError::Forbidden);
    }
    Ok(ProgrammePage {
        ctx,
        rounds: st.db.rounds_of_programme(id).await?,
        courses: st.db.courses().await?,
        can_manage,
        g,
    })
}

#[derive(Deserialize, Default)]
pub struct RoundForm {
    pub title: String,
    pub course_id: i64,
    pub audience: String,
    pub tier: String,
    #[serde(default)]
    pub subjects: String,
    pub delivery: String,
    #[serde(default)]
    pub in_person_from: String,
    #[serde(default)]
    pub in_person_to: String,
    pub pass_quiz_percent: String,
    #[serde(default)]
    pub pass_final_graded: Option<String>,
    /// One window per line: "THCS 24/12/2020 08/01/2021" (or "THCS, THPT: 24/12/2020 - 08/01/2021").
    pub windows: String,
}

/// Parse the windows text: each line names one or more levels and two dates.
pub fn parse_windows(text: &str) -> Result<Vec<Window>, AppError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '–'))
            .filter(|w| !w.is_empty() && *w != "-")
            .collect();
        let dates: Vec<_> = words.iter().filter_map(|w| parse_date(w)).collect();
        let levels: Vec<Level> = words.iter().filter_map(|w| Level::parse(w)).collect();
        if dates.len() != 2 || levels.is_empty() || levels.len() + 2 != words.len() {
            return Err(AppError::invalid("windows", "invalid_window"));
        }
        for level in levels {
            out.push(Window { level, opens: dates[0], closes: dates[1] });
        }
    }
    Ok(out)
}

pub fn new_round(programme_id: i64, f: &RoundForm) -> Result<NewRound, AppError> {
    let date = |s: &str, field: &str| -> Result<Option<chrono::NaiveDate>, AppError> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            parse_date(s).map(Some).ok_or_else(|| AppError::invalid(field, "invalid_date"))
        }
    };
    let from = date(&f.in_person_from, "in_person")?;
    let to = date(&f.in_person_to, "in_person")?;
    Ok(NewRound {
        programme_id,
        title: f.title.clone(),
        course_id: f.course_id,
        audience: Audience::parse(&f.audience).ok_or_else(|| AppError::invalid("audience", "invalid"))?,
        tier: Tier::parse(&f.tier).ok_or_else(|| AppError::invalid("tier", "invalid"))?,
        subjects: f.subjects.split([',', ';']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        delivery: Delivery::parse(&f.delivery).ok_or_else(|| AppError::invalid("delivery", "invalid"))?,
        in_person: from.zip(to),
        pass_rule: PassRule {
            quiz_percent: f
                .pass_quiz_percent
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("pass_quiz_percent", "invalid"))?,
            final_graded: f.pass_final_graded.is_some(),
        },
        windows: parse_windows(&f.windows)?,
    })
}

async fn round_create(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RoundForm>,
) -> Result<Response, AppError> {
    let g = st.db.programme(id).await?.ok_or(AppError::NotFound)?;
    let (_, t) = unit_target(&st, g.owner_unit_id).await?;
    require(&auth.principal, Action::ManageRound, &t)?;
    let r = st.db.create_round(Some(auth.account.id), &new_round(id, &f)?).await?;
    Ok(see(&format!("/rounds/{r}?ok=rounds.created")))
}

#[derive(Template, WebTemplate)]
#[template(path = "round.html")]
struct RoundPage {
    ctx: Ctx,
    round: Round,
    windows: Vec<WindowRow>,
    classes: Vec<Class>,
    enrollments: Vec<EnrollmentRow>,
    total: i64,
    unplaced: i64,
    manage: bool,
    within: Option<i64>,
    report: Option<String>,
}

#[derive(Deserialize)]
struct RoundQuery {
    added: Option<usize>,
    already: Option<usize>,
    no_window: Option<usize>,
}

async fn round_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<RoundQuery>,
) -> Result<RoundPage, AppError> {
    let round = st.db.round(id).await?.ok_or(AppError::NotFound)?;
    let access = round_access(&st, &auth.principal, &round).await?;
    let enrollments = st.db.round_enrollments(id, None, access.within, 500).await?;
    let (total, unplaced) = st.db.round_counts(id, access.within).await?;
    let report = q.added.map(|a| format!("+{a} · ={} · ∅{}", q.already.unwrap_or(0), q.no_window.unwrap_or(0)));
    Ok(RoundPage {
        ctx,
        windows: st.db.windows(id).await?,
        classes: if access.manage { st.db.classes_of_round(id).await? } else { vec![] },
        enrollments,
        total,
        unplaced,
        manage: access.manage,
        within: access.within,
        report,
        round,
    })
}

#[derive(Deserialize)]
struct EnrollForm {
    unit_id: Option<String>,
    level: Option<String>,
    subject: Option<String>,
}

async fn enroll(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<EnrollForm>,
) -> Result<Response, AppError> {
    let round = st.db.round(id).await?.ok_or(AppError::NotFound)?;
    let access = round_access(&st, &auth.principal, &round).await?;
    let unit = match f.unit_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(u) => u.parse::<i64>().map_err(|_| AppError::invalid("unit", "invalid"))?,
        None => access.within.unwrap_or(round.owner_unit_id),
    };
    let (_, t) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::EnrollLearners, &t)?;
    if !t.units.contains(&round.owner_unit_id) {
        return Err(AppError::Forbidden);
    }
    let level = match f.level.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(l) => Some(Level::parse(l).ok_or_else(|| AppError::invalid("level", "invalid_level"))?),
        None => None,
    };
    let subject = f.subject.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let r = st
        .db
        .enroll_by_filter(Some(auth.account.id), id, &EnrollFilter { unit_id: unit, level, subject }, today())
        .await?;
    Ok(see(&format!("/rounds/{id}?added={}&already={}&no_window={}", r.added, r.already, r.no_window)))
}

#[derive(Template, WebTemplate)]
#[template(path = "proposal.html")]
struct ProposalPage {
    ctx: Ctx,
    round: Round,
    proposal: Vec<ProposedClass>,
    per_class: usize,
}

#[derive(Deserialize)]
struct ProposeQuery {
    per_class: Option<usize>,
}

async fn manage(st: &AppState, p: &Principal, id: i64) -> Result<Round, AppError> {
    let round = st.db.round(id).await?.ok_or(AppError::NotFound)?;
    if !round_access(st, p, &round).await?.manage {
        return Err(AppError::Forbidden);
    }
    Ok(round)
}

async fn propose_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<ProposeQuery>,
) -> Result<ProposalPage, AppError> {
    let round = manage(&st, &auth.principal, id).await?;
    let per_class = q.per_class.unwrap_or(50).clamp(5, 500);
    let proposal = st.db.propose_classes(id, None, per_class).await?;
    Ok(ProposalPage { ctx, round, proposal, per_class })
}

#[derive(Deserialize)]
struct ApplyForm {
    per_class: usize,
}

async fn apply_proposal(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ApplyForm>,
) -> Result<Response, AppError> {
    manage(&st, &auth.principal, id).await?;
    let proposal = st.db.propose_classes(id, None, f.per_class.clamp(5, 500)).await?;
    st.db.apply_class_proposal(Some(auth.account.id), id, &proposal).await?;
    Ok(see(&format!("/rounds/{id}?ok=rounds.classes_created")))
}

#[derive(Deserialize)]
struct StaffForm {
    person_id: String,
    role: String,
}

async fn class_round(st: &AppState, p: &Principal, class_id: i64) -> Result<Class, AppError> {
    let class = st.db.class(class_id).await?.ok_or(AppError::NotFound)?;
    manage(st, p, class.round_id).await?;
    Ok(class)
}

async fn staff_add(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<StaffForm>,
) -> Result<Response, AppError> {
    class_round(&st, &auth.principal, id).await?;
    let person: i64 = f.person_id.trim().parse().map_err(|_| AppError::invalid("person", "invalid"))?;
    let (_, t) = crate::access::person_target(&st, person).await?;
    require(&auth.principal, Action::ViewPerson, &t)?;
    st.db.assign_staff(Some(auth.account.id), id, person, &f.role).await?;
    Ok(see(&format!("/classes/{id}")))
}

async fn staff_remove(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, person)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    class_round(&st, &auth.principal, id).await?;
    st.db.remove_staff(Some(auth.account.id), id, person).await?;
    Ok(see(&format!("/classes/{id}")))
}

#[derive(Deserialize)]
struct MoveForm {
    enrollment: i64,
    to: i64,
}

/// Move a learner from this class to another class of the same round.
async fn move_learner(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let class = class_round(&st, &auth.principal, id).await?;
    let e = st.db.enrollment(f.enrollment).await?.ok_or(AppError::NotFound)?;
    if e.class_id != Some(id) {
        return Err(AppError::invalid("enrollment", "not_in_round"));
    }
    let target = st.db.class(f.to).await?.ok_or(AppError::NotFound)?;
    if target.round_id != class.round_id {
        return Err(AppError::invalid("class", "not_in_round"));
    }
    st.db.place_in_class(Some(auth.account.id), f.to, &[f.enrollment]).await?;
    Ok(see(&format!("/classes/{id}")))
}
