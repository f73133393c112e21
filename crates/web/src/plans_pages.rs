//! Peer-support plans (kế hoạch hỗ trợ đồng nghiệp): a core teacher's or core manager's plans and
//! the form for a new one, the approver's queue, one plan's page (edit, submit, approve or
//! return, the signed and stamped scan, the completion report), and a province's setting of who
//! approves core managers' plans. Every permission comes from `decide` (`WritePlan`, `ViewPlan`,
//! `ReviewPlan`, `ConfigurePlans`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use bdtx_course::files::{PLAN_SCAN_POLICY, UploadError, check_upload};
use bdtx_domain::authz::{Action, Role, Target};
use bdtx_domain::dates::{now_unix, today};
use bdtx_store::plans::{ManagerApprover, Plan, PlanInput};
use bdtx_store::rounds::{Class, Round};

use crate::AppState;
use crate::access::{require, unit_target};
use crate::auth::Auth;
use crate::error::{AppError, Path};
use crate::pages::Ctx;

/// The largest request a scan upload may be (the file itself: `PLAN_SCAN_POLICY`, 10 MB).
const MAX_SCAN_REQUEST: usize = 10 * 1024 * 1024 + 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plans", get(plans_page).post(create_submit))
        .route("/plans/settings", post(settings_submit))
        .route("/plans/{id}", get(plan_page).post(edit_submit))
        .route("/plans/{id}/submit", post(submit_submit))
        .route("/plans/{id}/decide", post(decide_submit))
        .route("/plans/{id}/scan", get(scan_file).post(scan_submit).layer(DefaultBodyLimit::max(MAX_SCAN_REQUEST)))
        .route("/plans/{id}/report", post(report_submit))
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---------------------------------------------------------------- access

/// What the caller may do with a plan.
struct Rights {
    /// The author (write, submit, upload, report).
    own: bool,
    /// May approve or return it (whatever its status: deciding twice is a conflict, not a 403).
    review: bool,
}

/// The unit standing for `unit_id` today: itself, or the unit it was merged into.
async fn current_unit(st: &AppState, unit_id: i64) -> Result<bdtx_store::units::Unit, AppError> {
    let mut unit = st.db.unit(unit_id).await?.ok_or(AppError::NotFound)?;
    let today = bdtx_domain::dates::iso(today());
    for _ in 0..20 {
        let closed = unit.valid_to.as_ref().is_some_and(|t| *t <= today);
        match (closed, unit.successor_id) {
            (true, Some(next)) => unit = st.db.unit(next).await?.ok_or(AppError::NotFound)?,
            _ => break,
        }
    }
    Ok(unit)
}

/// The approver target of a submitted plan: the approver unit (its successor if it has been
/// merged since) first, then its ancestors; the person is the author.
async fn approver_target(st: &AppState, plan: &Plan) -> Result<Option<Target>, AppError> {
    let Some(u) = plan.approver_unit_id else { return Ok(None) };
    let unit = current_unit(st, u).await?;
    let chain = st.db.unit_chain(&unit).await?;
    Ok(Some(Target::person(plan.person_id, chain)))
}

/// Open a plan the caller may see (else 404, like a person's records).
async fn plan_access(st: &AppState, auth: &Auth, id: i64) -> Result<(Plan, Rights), AppError> {
    let plan = st.db.plan(id).await?.ok_or(AppError::NotFound)?;
    let author_chain = st.db.person_chain(plan.person_id).await?;
    let approver = approver_target(st, &plan).await?;
    let mut units = approver.as_ref().map(|t| t.units.clone()).unwrap_or_default();
    units.extend(author_chain.iter().copied().filter(|u| !units.contains(u)).collect::<Vec<_>>());
    require(&auth.principal, Action::ViewPlan, &Target::person(plan.person_id, units))?;
    let own = auth.principal.can(Action::WritePlan, &Target::person(plan.person_id, author_chain));
    // A draft is the author's own until it is submitted.
    if plan.status == "draft" && !own {
        return Err(AppError::NotFound);
    }
    let review = approver.is_some_and(|t| auth.principal.can(Action::ReviewPlan, &t));
    Ok((plan, Rights { own, review }))
}

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_bytes(body).map_err(|_| AppError::invalid("body", "malformed"))
}

fn field<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn plan_input(pairs: &[(String, String)]) -> Result<PlanInput, AppError> {
    let mut class_ids = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "class") {
        class_ids.push(v.parse().map_err(|_| AppError::invalid("plan_classes", "invalid"))?);
    }
    Ok(PlanInput {
        groups_text: field(pairs, "groups").into(),
        class_ids,
        schedule: field(pairs, "schedule").into(),
        online_activities: field(pairs, "online").into(),
        in_person_activities: field(pairs, "in_person").into(),
        hours: field(pairs, "hours").into(),
    })
}

// ---------------------------------------------------------------- lists

/// A plan in a list, with its report flag.
pub struct PlanRow {
    pub plan: Plan,
    /// `plans.report.<state>`
    pub report: &'static str,
    pub flagged: bool,
    pub can_decide: bool,
}

impl PlanRow {
    fn new(plan: Plan, can_decide: bool, now: i64) -> PlanRow {
        let state = plan.report_state(now);
        PlanRow { report: state.as_str(), flagged: state.flagged(), plan, can_decide }
    }
    pub fn hours(&self) -> String {
        show_hours(self.plan.hours)
    }
}

/// A round the caller may write a plan for, with the classes they staff in it.
pub struct NewPlanRound {
    pub round: Round,
    pub classes: Vec<Class>,
    pub due: String,
}

/// A province whose setting the caller may change.
pub struct ProvinceSetting {
    pub unit_id: i64,
    pub name: String,
    pub value: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "plans.html")]
struct PlansPage {
    ctx: Ctx,
    mine: Vec<PlanRow>,
    rounds: Vec<NewPlanRound>,
    queue: Vec<PlanRow>,
    approved: Vec<PlanRow>,
    has_person: bool,
    reviewer: bool,
    settings: Vec<ProvinceSetting>,
}

async fn plans_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<PlansPage, AppError> {
    let now = now_unix();
    let p = &auth.principal;
    let mut mine = Vec::new();
    let mut rounds = Vec::new();
    if let Some(person) = p.person_id {
        let plans = st.db.plans_of(person).await?;
        let chain = st.db.person_chain(person).await?;
        for (round_id, staffed) in st.db.plan_round_ids(person).await? {
            if plans.iter().any(|x| x.round_id == round_id) {
                continue;
            }
            let Some(round) = st.db.round(round_id).await? else { continue };
            // Core for the module: rounds of the author's own province (or the Ministry).
            if !staffed && !chain.contains(&round.owner_unit_id) {
                continue;
            }
            let classes = st.db.staff_classes_in_round(person, round_id).await?;
            let due = bdtx_domain::dates::iso(st.db.plan_report_due(round_id).await?);
            rounds.push(NewPlanRound { round, classes, due });
        }
        mine = plans.into_iter().map(|x| PlanRow::new(x, false, now)).collect();
    }

    // The reviewer's side: plans whose approver is under one of the caller's admin grants.
    let admin =
        |r: Role| matches!(r, Role::MinistryAdmin | Role::ProvinceAdmin | Role::CommuneAdmin | Role::SchoolAdmin);
    let reviewer = p.grants.iter().any(|g| admin(g.role));
    let (mut queue, mut approved) = (Vec::new(), Vec::new());
    if reviewer {
        let roots: Vec<Option<i64>> = if p.has_role(Role::MinistryAdmin) {
            vec![None]
        } else {
            p.grants.iter().filter(|g| admin(g.role)).map(|g| Some(g.unit_id)).collect()
        };
        let mut seen = std::collections::HashSet::new();
        for root in roots {
            for plan in st.db.plans_to_review(root, 500).await? {
                if !seen.insert(plan.id) || Some(plan.person_id) == p.person_id {
                    continue;
                }
                let Some(t) = approver_target(&st, &plan).await? else { continue };
                if !p.can(Action::ViewPlan, &t) {
                    continue;
                }
                let can_decide = p.can(Action::ReviewPlan, &t);
                let row = PlanRow::new(plan, can_decide, now);
                if row.plan.status == "submitted" { queue.push(row) } else { approved.push(row) }
            }
        }
        // Decisions first; flagged reports first.
        queue.sort_by_key(|r| (!r.can_decide, r.plan.submitted_at, r.plan.id));
        approved.sort_by_key(|r| (!r.flagged, r.plan.report_due.clone(), r.plan.id));
    }

    let mut settings = Vec::new();
    for g in p.grants.iter().filter(|g| g.role == Role::ProvinceAdmin) {
        let Some(unit) = st.db.unit(g.unit_id).await? else { continue };
        if unit.kind != "province" {
            continue;
        }
        let value = st.db.manager_approver(unit.id).await?.as_str();
        settings.push(ProvinceSetting { unit_id: unit.id, name: unit.name, value });
    }
    Ok(PlansPage { ctx, mine, rounds, queue, approved, has_person: p.person_id.is_some(), reviewer, settings })
}

async fn create_submit(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    let chain = st.db.person_chain(person).await?;
    require(&auth.principal, Action::WritePlan, &Target::person(person, chain))?;
    let pairs = form_pairs(&body)?;
    let round: i64 = field(&pairs, "round").parse().map_err(|_| AppError::invalid("plan_round", "required"))?;
    let input = plan_input(&pairs)?;
    let id = st.db.create_plan(Some(auth.account.id), person, round, &input).await?;
    Ok(see(&format!("/plans/{id}?ok=plans.created")))
}

async fn settings_submit(
    State(st): State<AppState>,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let unit: i64 = field(&pairs, "unit").parse().map_err(|_| AppError::invalid("unit", "required"))?;
    let (_, target) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::ConfigurePlans, &target)?;
    let value =
        ManagerApprover::parse(field(&pairs, "value")).ok_or_else(|| AppError::invalid("plan_setting", "invalid"))?;
    st.db.set_manager_approver(Some(auth.account.id), unit, value).await?;
    Ok(see("/plans?ok=plans.setting_saved"))
}

// ---------------------------------------------------------------- one plan

#[derive(Template, WebTemplate)]
#[template(path = "plan.html")]
struct PlanPage {
    ctx: Ctx,
    row: PlanRow,
    classes: Vec<Class>,
    /// The classes the author staffs in the round (to choose from when editing).
    choices: Vec<Class>,
    own: bool,
    review: bool,
}

impl PlanPage {
    fn chosen(&self, class_id: &i64) -> bool {
        self.row.plan.class_id_list().contains(class_id)
    }
}

async fn plan_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<PlanPage, AppError> {
    let (plan, r) = plan_access(&st, &auth, id).await?;
    let mut classes = Vec::new();
    for c in plan.class_id_list() {
        if let Some(class) = st.db.class(c).await? {
            classes.push(class);
        }
    }
    let choices = if r.own && plan.editable() {
        st.db.staff_classes_in_round(plan.person_id, plan.round_id).await?
    } else {
        vec![]
    };
    Ok(PlanPage { ctx, row: PlanRow::new(plan, r.review, now_unix()), classes, choices, own: r.own, review: r.review })
}

/// 40 → "40", 37.5 → "37,5" (Vietnamese decimal comma).
fn show_hours(h: f64) -> String {
    let s = format!("{:.2}", h);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.replace('.', ",")
}

async fn edit_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (_, r) = plan_access(&st, &auth, id).await?;
    if !r.own {
        return Err(AppError::Forbidden);
    }
    let input = plan_input(&form_pairs(&body)?)?;
    st.db.update_plan(Some(auth.account.id), id, &input).await?;
    Ok(see(&format!("/plans/{id}?ok=plans.saved")))
}

async fn submit_submit(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (_, r) = plan_access(&st, &auth, id).await?;
    if !r.own {
        return Err(AppError::Forbidden);
    }
    st.db.submit_plan(Some(auth.account.id), id).await?;
    Ok(see(&format!("/plans/{id}?ok=plans.submitted")))
}

async fn decide_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (plan, r) = plan_access(&st, &auth, id).await?;
    if !r.review {
        return Err(AppError::Forbidden);
    }
    let pairs = form_pairs(&body)?;
    let approve = match field(&pairs, "decision") {
        "approve" => true,
        "return" => false,
        _ => return Err(AppError::invalid("plan_decision", "invalid")),
    };
    st.db.decide_plan(Some(auth.account.id), id, approve, field(&pairs, "comment")).await?;
    let text = format!(
        "{}: {}",
        plan.round_title,
        if approve {
            "kế hoạch hỗ trợ đồng nghiệp đã được phê duyệt"
        } else {
            "kế hoạch hỗ trợ đồng nghiệp bị trả lại để sửa"
        }
    );
    st.db.notify(plan.person_id, "plan", &text, &format!("/plans/{id}")).await?;
    Ok(see(&format!("/plans/{id}?ok={}", if approve { "plans.approved" } else { "plans.returned" })))
}

/// The code shown for a refused scan (the policy's limits are in the messages).
fn scan_error(e: &UploadError) -> &'static str {
    match e {
        UploadError::Empty { .. } => "file_empty",
        UploadError::TooLarge { .. } => "plan_scan_too_large",
        UploadError::Type { .. } => "plan_scan_type",
    }
}

/// Upload the signed and stamped scan of an approved plan: PDF, JPEG or PNG by content, at most
/// 10 MB. A refused file is neither stored nor recorded.
async fn scan_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let (plan, r) = plan_access(&st, &auth, id).await?;
    if !r.own {
        return Err(AppError::Forbidden);
    }
    if plan.status != "approved" {
        return Err(AppError::invalid("plan_scan", "plan_not_approved"));
    }
    let mut upload = None;
    while let Some(f) = form.next_field().await.map_err(|_| AppError::invalid("plan_scan", "plan_scan_too_large"))? {
        if f.name() == Some("scan") {
            let name = f.file_name().unwrap_or("").to_string();
            let bytes = f.bytes().await.map_err(|_| AppError::invalid("plan_scan", "plan_scan_too_large"))?;
            upload = Some((name, bytes));
        }
    }
    let (name, bytes) = upload.ok_or_else(|| AppError::invalid("plan_scan", "required"))?;
    let kind =
        check_upload(&name, &bytes, &PLAN_SCAN_POLICY).map_err(|e| AppError::invalid("plan_scan", scan_error(&e)))?;
    let stored = st.files.put(&bytes).map_err(|e| AppError::Internal(format!("file store: {e}")))?;
    st.db.record_file(&stored.sha256, stored.size as i64, kind.mime()).await?;
    let name = crate::download::upload_name(&name, || format!("ke-hoach.{}", kind.extension()));
    st.db.attach_plan_scan(Some(auth.account.id), id, &stored.sha256, &name, kind.mime()).await?;
    Ok(see(&format!("/plans/{id}?ok=plans.scan_saved")))
}

/// The kept scan, for those who may see the plan.
async fn scan_file(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (plan, _) = plan_access(&st, &auth, id).await?;
    let sha = plan.scan_sha256.ok_or(AppError::NotFound)?;
    crate::download::stored_upload(&st.files, &sha, plan.scan_mime.as_deref(), &plan.scan_name.unwrap_or_default())
        .await
}

async fn report_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (_, r) = plan_access(&st, &auth, id).await?;
    if !r.own {
        return Err(AppError::Forbidden);
    }
    let pairs = form_pairs(&body)?;
    let plan = st.db.file_plan_report(Some(auth.account.id), id, field(&pairs, "report")).await?;
    let ok = if plan.report_late == Some(true) { "plans.reported_late" } else { "plans.reported" };
    Ok(see(&format!("/plans/{id}?ok={ok}")))
}
