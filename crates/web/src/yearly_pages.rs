//! The yearly cycle (issue 7): a teacher's or manager's personal BDTX plan for a school year,
//! its approval by the principal (a manager's by the office above), the school's results with the
//! classification computed by the year's policy, the classified list as .xlsx, the province's
//! choice of policy per year (and new policy versions, checked whole), the self-assessment against
//! the 2018 standards with evidence, colleagues' comments and the principal's evaluation, and the
//! roll-up by unit with the weakest criteria and the modules they suggest. Every permission comes
//! from `decide` (`WriteYearPlan`, `ApproveYearPlan`, `EnterResults`, `SelfAssess`,
//! `CommentStandard`, `EvaluateStandard`, `ViewYearly`, `ConfigureYearly`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use bdtx_course::files::{PLAN_SCAN_POLICY, UploadError, check_upload};
use bdtx_domain::authz::{Action, Relation, Role, Target};
use bdtx_domain::scoring::{self, Audience, Policy};
use bdtx_domain::standards::{self, Level, Standard};
use bdtx_store::yearly::{
    Assessment, Comment, CompletedModule, Evidence, ItemInput, Rollup, Sender, YearItem, YearPlan, YearlyReport,
    current_school_year,
};

use crate::AppState;
use crate::access::{require, scope, unit_target};
use crate::auth::Auth;
use crate::error::{AppError, Path, Query};
use crate::pages::Ctx;

/// The largest request an evidence upload may be (the file itself: 10 MB).
const MAX_EVIDENCE_REQUEST: usize = 10 * 1024 * 1024 + 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/yearly", get(yearly_page))
        .route("/yearly/plan", post(plan_save))
        .route("/yearly/policy", post(policy_choose))
        .route("/yearly/policies", post(policy_add))
        .route("/yearly/rounds", post(rounds_choose))
        .route("/yearly/deadlines", post(deadlines_save))
        .route("/yearly/report", post(report_send))
        .route("/yearly/plans.xlsx", get(plans_xlsx))
        .route("/yearly/results.xlsx", get(results_xlsx))
        .route("/yearly/rollup", get(rollup_page))
        .route("/yearly/plans/{id}", get(plan_page))
        .route("/yearly/plans/{id}/submit", post(plan_submit))
        .route("/yearly/plans/{id}/decide", post(plan_decide))
        .route("/yearly/plans/{id}/results", post(results_submit))
        .route("/yearly/standard", get(own_standard_page).post(standard_save))
        .route("/yearly/standard/{id}", get(standard_page))
        .route(
            "/yearly/standard/{id}/evidence",
            post(evidence_submit).layer(DefaultBodyLimit::max(MAX_EVIDENCE_REQUEST)),
        )
        .route("/yearly/standard/{id}/comment", post(comment_submit))
        .route("/yearly/standard/{id}/evaluate", post(evaluate_submit))
        .route("/yearly/evidence/{id}", get(evidence_file))
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[derive(serde::Deserialize, Default)]
struct YearQuery {
    year: Option<String>,
    unit: Option<i64>,
    standard: Option<String>,
}

fn year_of(q: &Option<String>) -> Result<(String, i32), AppError> {
    let y = q.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(current_school_year);
    let start = scoring::parse_school_year(&y).ok_or_else(|| AppError::invalid("school_year", "school_year"))?;
    Ok((format!("{start}-{}", start + 1), start))
}

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_bytes(body).map_err(|_| AppError::invalid("body", "malformed"))
}

fn field<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn is_admin(r: Role) -> bool {
    matches!(r, Role::MinistryAdmin | Role::ProvinceAdmin | Role::CommuneAdmin | Role::SchoolAdmin)
}

// ---------------------------------------------------------------- access

/// The target of a person's yearly records: the person and their current chain.
pub(crate) async fn person_target(st: &AppState, person_id: i64) -> Result<Target, AppError> {
    Ok(Target::person(person_id, st.db.person_chain(person_id).await?))
}

/// The approver target of a submitted plan: the approver unit (its successor if merged since)
/// first, then its ancestors.
async fn approver_target(st: &AppState, plan: &YearPlan) -> Result<Option<Target>, AppError> {
    let Some(mut id) = plan.approver_unit_id else { return Ok(None) };
    let today = bdtx_domain::dates::iso(bdtx_domain::dates::today());
    let mut unit = st.db.unit(id).await?.ok_or(AppError::NotFound)?;
    for _ in 0..20 {
        match (unit.valid_to.as_ref().is_some_and(|t| *t <= today), unit.successor_id) {
            (true, Some(next)) => {
                id = next;
                unit = st.db.unit(id).await?.ok_or(AppError::NotFound)?;
            }
            _ => break,
        }
    }
    Ok(Some(Target::person(plan.person_id, st.db.unit_chain(&unit).await?)))
}

pub(crate) struct PlanRights {
    own: bool,
    approve: bool,
    results: bool,
}

pub(crate) async fn plan_access(st: &AppState, auth: &Auth, id: i64) -> Result<(YearPlan, PlanRights), AppError> {
    let plan = st.db.year_plan(id).await?.ok_or(AppError::NotFound)?;
    let person = person_target(st, plan.person_id).await?;
    let approver = approver_target(st, &plan).await?;
    let mut units = person.units.clone();
    if let Some(a) = &approver {
        units.extend(a.units.iter().copied().filter(|u| !person.units.contains(u)).collect::<Vec<_>>());
    }
    require(&auth.principal, Action::ViewYearly, &Target::person(plan.person_id, units))?;
    let own = auth.principal.can(Action::WriteYearPlan, &person);
    if plan.status == "draft" && !own {
        return Err(AppError::NotFound);
    }
    // The unit that approved the plan evaluates it: a teacher's school, a manager's office above.
    let results = approver.as_ref().is_some_and(|t| auth.principal.can(Action::EnterResults, t));
    let approve = approver.is_some_and(|t| auth.principal.can(Action::ApproveYearPlan, &t));
    Ok((plan, PlanRights { own, approve, results }))
}

struct StandardRights {
    own: bool,
    comment: bool,
    evaluate: bool,
}

/// Open an assessment: its author, colleagues of the same school (to comment) and admins over
/// the person (to evaluate); anyone else gets 404.
async fn standard_access(st: &AppState, auth: &Auth, id: i64) -> Result<(Assessment, StandardRights), AppError> {
    let a = st.db.assessment(id).await?.ok_or(AppError::NotFound)?;
    let mut target = person_target(st, a.person_id).await?;
    if let Some(me) = auth.principal.person_id {
        let mine = st.db.person_chain(me).await?;
        if !mine.is_empty() && mine.first() == target.units.first() {
            target.relation = Relation::Colleague;
        }
    }
    let p = &auth.principal;
    let own = p.can(Action::SelfAssess, &target);
    let comment = p.can(Action::CommentStandard, &target);
    if !own && !comment {
        require(p, Action::ViewYearly, &target)?;
    }
    if a.status == "draft" && !own {
        return Err(AppError::NotFound);
    }
    let evaluate = p.can(Action::EvaluateStandard, &target);
    Ok((a, StandardRights { own, comment, evaluate }))
}

// ---------------------------------------------------------------- the year page

/// A group of the plan form: its items to choose from (a fixed content has one).
pub struct GroupForm {
    pub key: String,
    pub label: String,
    pub periods: i64,
    pub fixed: bool,
    pub choices: Vec<Choice>,
}

pub struct Choice {
    pub code: String,
    pub title: String,
    /// The periods planned (or the catalog's suggestion when not chosen yet; blank otherwise).
    pub value: String,
    pub chosen: bool,
}

pub struct PolicyChoice {
    pub unit_id: i64,
    pub name: String,
    /// (audience, the policy it uses this year)
    pub current: Vec<(&'static str, String)>,
    /// The group modules completed in rounds count towards ('' = they do not count), and the
    /// groups of the year's teacher policy.
    pub rounds_group: String,
    pub groups: Vec<(String, String)>,
    /// The year's deadlines as typed in the form: (kind, dd/mm/yyyy or '').
    pub deadlines: Vec<(&'static str, String)>,
}

/// The unit's own classified list (a school) or summary (an office) sent upward.
pub struct ReportBox {
    pub unit_id: i64,
    pub name: String,
    pub to_name: String,
    pub due: String,
    pub report: Option<YearlyReport>,
    pub late: bool,
    pub can_send: bool,
    /// (class label, count) of the list as it stands now.
    pub classes: Vec<(String, i64)>,
    pub approved: i64,
    pub classified: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "yearly.html")]
struct YearlyPage {
    ctx: Ctx,
    year: String,
    prev_year: String,
    next_year: String,
    deadline: String,
    deadline_at: i64,
    has_person: bool,
    policy_title: String,
    required: i64,
    plan: Option<YearPlan>,
    items: Vec<YearItem>,
    form: Vec<GroupForm>,
    editable: bool,
    colleagues: Vec<Assessment>,
    admin: bool,
    plans: Vec<YearPlan>,
    assessments: Vec<Assessment>,
    policies: Vec<(String, String)>,
    provinces: Vec<PolicyChoice>,
    /// The deadlines of the year in the viewer's province: (kind, ISO date).
    deadlines: Vec<(String, String)>,
    report: Option<ReportBox>,
    senders: Vec<Sender>,
    /// Exemptions the viewer may claim in their plan this year (key, label), and the one claimed.
    exemptions: Vec<(String, String)>,
    claimed: String,
}

impl YearlyPage {
    fn avg(&self, p: &YearPlan) -> String {
        p.result_average.map(|a| scoring::show_fixed(a, 1)).unwrap_or_default()
    }
    /// Submitted after the deadline (00:00 Vietnam time the day after it).
    fn late(&self, p: &YearPlan) -> bool {
        p.submitted_at.is_some_and(|t| t >= self.deadline_at)
    }
    fn sent_count(&self) -> usize {
        self.senders.iter().filter(|s| s.report.is_some()).count()
    }
    fn late_count(&self) -> usize {
        self.senders.iter().filter(|s| s.late).count()
    }
    /// "Giỏi: 3 · Khá: 2" from what a unit sent.
    fn summary(&self, r: &YearlyReport) -> String {
        let classes: Vec<(String, i64)> =
            serde_json::from_value(r.figures_json()["classes"].clone()).unwrap_or_default();
        classes.iter().map(|(l, n)| format!("{l}: {n}")).collect::<Vec<_>>().join(" · ")
    }
}

/// The plan form of a policy for a person: fixed groups with their periods, chosen groups with
/// the modules of their catalog family (of the person's levels).
async fn plan_form(
    st: &AppState,
    policy: &Policy,
    person_levels: &str,
    items: &[YearItem],
    rounds: Option<(&str, &[CompletedModule])>,
) -> Result<Vec<GroupForm>, AppError> {
    let levels = bdtx_domain::org::parse_levels(person_levels).unwrap_or_default();
    let mut out = Vec::new();
    for g in &policy.groups {
        let mut choices = Vec::new();
        match &g.choose_from {
            None => {
                let it = items.iter().find(|i| i.code == g.key);
                choices.push(Choice {
                    code: g.key.clone(),
                    title: g.label_vi.clone(),
                    value: it.map(|i| i.periods).unwrap_or(g.periods).to_string(),
                    chosen: true,
                });
            }
            Some(family) => {
                for m in st.db.modules(Some(family)).await? {
                    let ml = bdtx_domain::org::parse_levels(&m.levels).unwrap_or_default();
                    let it = items.iter().find(|i| i.code == m.code);
                    if it.is_none() && !ml.is_empty() && !levels.is_empty() && !ml.iter().any(|l| levels.contains(l)) {
                        continue;
                    }
                    choices.push(Choice {
                        title: m.title_vi.clone(),
                        value: it.map(|i| i.periods.to_string()).unwrap_or_default(),
                        chosen: it.is_some(),
                        code: m.code,
                    });
                }
            }
        }
        // Modules completed in rounds, where the province counts them towards this group.
        if let Some((_, done)) = rounds.filter(|(k, _)| *k == g.key) {
            for m in done {
                let it = items.iter().find(|i| i.code == m.code);
                choices.push(Choice {
                    code: m.code.clone(),
                    title: format!("{} {} (hoàn thành trong đợt bồi dưỡng)", m.code, m.title),
                    value: it.map(|i| i.periods.to_string()).unwrap_or_default(),
                    chosen: it.is_some(),
                });
            }
        }
        out.push(GroupForm {
            key: g.key.clone(),
            label: g.label_vi.clone(),
            periods: g.periods,
            fixed: g.choose_from.is_none() && choices.len() == 1,
            choices,
        });
    }
    Ok(out)
}

async fn yearly_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<YearQuery>,
) -> Result<YearlyPage, AppError> {
    let (year, start) = year_of(&q.year)?;
    let p = &auth.principal;
    let (mut plan, mut items, mut form, mut editable, mut colleagues) = (None, vec![], vec![], false, vec![]);
    let (mut policy_title, mut required) = (String::new(), 0);
    let mut exemptions = Vec::new();
    if let Some(me) = p.person_id {
        plan = st.db.year_plan_of(me, &year).await?;
        let policy = match &plan {
            Some(x) => st.db.scoring_policy(&x.policy).await?,
            None => Some(st.db.policy_for(me, &year).await?),
        };
        if let Some(x) = &plan {
            items = st.db.year_items(x.id).await?;
        }
        editable = plan.as_ref().is_none_or(|x| x.editable());
        if let Some(policy) = policy {
            policy_title = format!("{} ({})", policy.title_vi, policy.reference());
            required = policy.required_periods();
            if editable {
                let person = st.db.person(me).await?.ok_or(AppError::NotFound)?;
                let group = match st.db.province_of(me).await? {
                    Some(prov) => st.db.rounds_group(prov, &year).await?,
                    None => None,
                };
                let done = match &group {
                    Some(_) => st.db.completed_modules(me, &year).await?,
                    None => vec![],
                };
                let rounds = group.as_deref().map(|g| (g, done.as_slice()));
                form = plan_form(&st, &policy, &person.levels, &items, rounds).await?;
                let mut subjects: Vec<String> = person.main_subject.clone().into_iter().collect();
                subjects.extend(person.other_subjects.split(';').filter(|s| !s.is_empty()).map(String::from));
                exemptions = policy
                    .exemptions
                    .iter()
                    .filter(|e| e.applies(&year, &subjects))
                    .map(|e| (e.key.clone(), e.label_vi.clone()))
                    .collect();
            }
        }
        // Colleagues of the same school who submitted their self-assessment.
        if let Some(school) = st.db.person_chain(me).await?.first().copied() {
            colleagues = st
                .db
                .assessments_in(Some(school), &year)
                .await?
                .into_iter()
                .filter(|a| a.person_id != me && a.status == "submitted" && a.unit_id == Some(school))
                .collect();
        }
    }
    let admin = p.grants.iter().any(|g| is_admin(g.role));
    let (mut plans, mut assessments) = (vec![], vec![]);
    let root = if admin { scope(&st, p, q.unit, Action::ViewYearly).await.ok() } else { None };
    if let Some(root) = root {
        plans = st.db.year_plans_in(root, &year).await?;
        plans.retain(|x| Some(x.person_id) != p.person_id);
        assessments = st.db.assessments_in(root, &year).await?;
        assessments.retain(|x| Some(x.person_id) != p.person_id);
    }
    // The unit's own list sent upward, and (for an office) who sent theirs.
    let (mut report, mut senders) = (None, vec![]);
    if let Some(Some(u)) = root {
        let unit = st.db.unit(u).await?.ok_or(AppError::NotFound)?;
        if bdtx_store::yearly::report_kind(&unit.kind).is_some()
            && let Some(to) = st.db.report_office_of(u).await?
        {
            let due = st.db.report_deadline_of(u, &year).await?;
            let sent = st.db.yearly_report(u, &year).await?;
            let figures = st.db.yearly_figures(u, &year, false).await?;
            let (_, target) = unit_target(&st, u).await?;
            report = Some(ReportBox {
                unit_id: u,
                name: unit.name.clone(),
                to_name: st.db.unit(to).await?.map(|x| x.name).unwrap_or_default(),
                due: due.map(bdtx_domain::dates::iso).unwrap_or_default(),
                late: scoring::is_late(due, sent.as_ref().map(|r| r.first_sent_at), bdtx_domain::dates::now_unix()),
                report: sent,
                can_send: p.can(Action::SendYearlyReport, &target),
                classes: serde_json::from_value(figures["classes"].clone()).unwrap_or_default(),
                approved: figures["approved"].as_i64().unwrap_or(0),
                classified: figures["classified"].as_i64().unwrap_or(0),
            });
        }
        if matches!(unit.kind.as_str(), "commune" | "province") {
            senders = st.db.yearly_senders(u, &year).await?;
        }
    }
    // The deadlines of the viewer's province: the unit they oversee, else their own.
    let province = match root {
        Some(Some(u)) => st.db.province_of_unit(u).await?,
        _ => match p.person_id {
            Some(me) => st.db.province_of(me).await?,
            None => None,
        },
    };
    let deadlines = match province {
        Some(prov) => st.db.yearly_deadlines(prov, &year).await?,
        None => vec![],
    };
    let plan_due =
        st.db.yearly_deadline(province, &year, "plan_submit").await?.unwrap_or(scoring::plan_deadline(start));
    let mut provinces = Vec::new();
    for g in p.grants.iter().filter(|g| matches!(g.role, Role::ProvinceAdmin)) {
        let Some(unit) = st.db.unit(g.unit_id).await? else { continue };
        if unit.kind != "province" {
            continue;
        }
        let teacher_policy = st.db.year_policy(Some(unit.id), &year, Audience::Teacher).await?;
        let set = st.db.yearly_deadlines(unit.id, &year).await?;
        provinces.push(PolicyChoice {
            deadlines: scoring::DEADLINE_KINDS
                .iter()
                .map(|k| {
                    (*k, set.iter().find(|d| d.0 == *k).map(|d| bdtx_domain::dates::show(&d.1)).unwrap_or_default())
                })
                .collect(),
            unit_id: unit.id,
            current: vec![
                ("teacher", teacher_policy.clone()),
                ("manager", st.db.year_policy(Some(unit.id), &year, Audience::Manager).await?),
            ],
            rounds_group: st.db.rounds_group(unit.id, &year).await?.unwrap_or_default(),
            groups: st
                .db
                .scoring_policy(&teacher_policy)
                .await?
                .map(|x| x.groups.into_iter().map(|g| (g.key, g.label_vi)).collect())
                .unwrap_or_default(),
            name: unit.name,
        });
    }
    let policies = if provinces.is_empty() {
        vec![]
    } else {
        st.db.scoring_policies().await?.into_iter().map(|x| (x.reference(), x.title_vi)).collect()
    };
    let claimed = plan.as_ref().and_then(|x| x.exemption.clone()).unwrap_or_default();
    Ok(YearlyPage {
        ctx,
        prev_year: format!("{}-{}", start - 1, start),
        next_year: format!("{}-{}", start + 1, start + 2),
        deadline: bdtx_domain::dates::iso(plan_due),
        deadline_at: bdtx_domain::round::day_start(plan_due + chrono::Days::new(1)),
        year,
        has_person: p.person_id.is_some(),
        policy_title,
        required,
        plan,
        items,
        form,
        editable,
        colleagues,
        admin,
        plans,
        assessments,
        policies,
        provinces,
        deadlines,
        report,
        senders,
        claimed,
        exemptions,
    })
}

/// Save one's own plan: `p.<group>.<code>` = periods (blank = not chosen).
async fn plan_save(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let me = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    require(&auth.principal, Action::WriteYearPlan, &person_target(&st, me).await?)?;
    let pairs = form_pairs(&body)?;
    let (year, _) = year_of(&Some(field(&pairs, "year").to_string()))?;
    let mut items = Vec::new();
    let mut c = bdtx_domain::error::Checker::default();
    for (k, v) in &pairs {
        let Some(rest) = k.strip_prefix("p.") else { continue };
        let Some((group, code)) = rest.split_once('.') else { continue };
        if v.trim().is_empty() {
            continue;
        }
        match v.trim().parse::<i64>() {
            Ok(n) => items.push(ItemInput { group: group.into(), code: code.into(), periods: n }),
            Err(_) => c.add(code, "yearly_periods_range"),
        }
    }
    c.finish()?;
    let exemption = Some(field(&pairs, "exemption")).filter(|e| !e.is_empty());
    st.db.save_year_plan_claiming(Some(auth.account.id), me, &year, &items, exemption).await?;
    Ok(see(&format!("/yearly?year={year}&ok=yearly.saved")))
}

async fn policy_choose(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let unit: i64 = field(&pairs, "unit").parse().map_err(|_| AppError::invalid("unit", "required"))?;
    let (_, target) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::ConfigureYearly, &target)?;
    let (year, _) = year_of(&Some(field(&pairs, "year").to_string()))?;
    let audience =
        Audience::parse(field(&pairs, "audience")).ok_or_else(|| AppError::invalid("audience", "invalid"))?;
    st.db.set_year_policy(Some(auth.account.id), unit, &year, audience, field(&pairs, "policy")).await?;
    Ok(see(&format!("/yearly?year={year}&ok=yearly.policy_saved")))
}

/// Count modules completed in rounds towards a group of the year's plans (or stop counting).
async fn rounds_choose(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let unit: i64 = field(&pairs, "unit").parse().map_err(|_| AppError::invalid("unit", "required"))?;
    let (_, target) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::ConfigureYearly, &target)?;
    let (year, _) = year_of(&Some(field(&pairs, "year").to_string()))?;
    let group = Some(field(&pairs, "group")).filter(|g| !g.is_empty());
    st.db.set_rounds_group(Some(auth.account.id), unit, &year, group).await?;
    Ok(see(&format!("/yearly?year={year}&ok=yearly.policy_saved")))
}

/// Set the year's dated deadlines of a province (`d.<kind>` = dd/mm/yyyy, blank = none); checked
/// whole (in the school year, in order), else nothing changes.
async fn deadlines_save(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let unit: i64 = field(&pairs, "unit").parse().map_err(|_| AppError::invalid("unit", "required"))?;
    let (_, target) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::ConfigureYearly, &target)?;
    let (year, _) = year_of(&Some(field(&pairs, "year").to_string()))?;
    let mut due = Vec::new();
    let mut c = bdtx_domain::error::Checker::default();
    for k in scoring::DEADLINE_KINDS {
        let v = field(&pairs, &format!("d.{k}")).trim();
        if v.is_empty() {
            due.push((k, None));
        } else {
            match bdtx_domain::dates::parse_date(v) {
                Some(d) => due.push((k, Some(d))),
                None => c.add(&format!("yearly_deadline_{k}"), "invalid_date"),
            }
        }
    }
    c.finish()?;
    st.db.set_yearly_deadlines(Some(auth.account.id), unit, &year, &due).await?;
    Ok(see(&format!("/yearly?year={year}&ok=yearly.deadlines_saved")))
}

/// Send (or send again) the unit's classified list of the year to the office above: its own
/// admin only.
async fn report_send(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let unit: i64 = field(&pairs, "unit").parse().map_err(|_| AppError::invalid("unit", "required"))?;
    let (_, target) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::SendYearlyReport, &target)?;
    let (year, _) = year_of(&Some(field(&pairs, "year").to_string()))?;
    st.db.send_yearly_report(Some(auth.account.id), unit, &year, field(&pairs, "note")).await?;
    Ok(see(&format!("/yearly?year={year}&unit={unit}&ok=yearly.report_sent")))
}

/// Add a policy version (YAML): refused whole, with reasons, when it is inconsistent.
async fn policy_add(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let unit: i64 = field(&pairs, "unit").parse().map_err(|_| AppError::invalid("unit", "required"))?;
    let (_, target) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::ConfigureYearly, &target)?;
    st.db.add_scoring_policy(Some(auth.account.id), field(&pairs, "yaml")).await?;
    Ok(see("/yearly?ok=yearly.policy_added"))
}

// ---------------------------------------------------------------- one plan

pub struct ItemRow {
    pub item: YearItem,
    /// The typed parts, one per component ('' = not scored).
    pub parts: Vec<String>,
    pub score: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "yearly_plan.html")]
struct PlanPage {
    ctx: Ctx,
    plan: YearPlan,
    rows: Vec<ItemRow>,
    components: Vec<String>,
    total: i64,
    required: i64,
    average: String,
    own: bool,
    approve: bool,
    results: bool,
    /// The exemption the plan claims, as the policy words it ('' = none).
    exemption: String,
}

async fn plan_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<PlanPage, AppError> {
    let (plan, r) = plan_access(&st, &auth, id).await?;
    let policy = st.db.scoring_policy(&plan.policy).await?.ok_or(AppError::NotFound)?;
    let items = st.db.year_items(id).await?;
    let total = items.iter().map(|i| i.periods).sum();
    let rows = items
        .into_iter()
        .map(|item| {
            let values = item.part_values();
            let parts = (0..policy.components.len())
                .map(|k| values.get(k).map(|v| scoring::show(*v)).unwrap_or_default())
                .collect();
            let score = item.score.map(scoring::show).unwrap_or_default();
            ItemRow { item, parts, score }
        })
        .collect();
    let average = plan.result_average.map(|a| scoring::show_fixed(a, policy.average.decimals)).unwrap_or_default();
    Ok(PlanPage {
        ctx,
        components: policy
            .components
            .iter()
            .map(|k| {
                format!(
                    "{} ({}–{})",
                    k.label_vi,
                    scoring::show(scoring::pts(k.min)),
                    scoring::show(scoring::pts(k.max))
                )
            })
            .collect(),
        required: {
            let waived = policy.waived(plan.exemption.as_deref());
            policy.groups.iter().filter(|g| !waived.contains(&g.key)).map(|g| g.periods).sum()
        },
        exemption: plan
            .exemption
            .as_deref()
            .and_then(|k| policy.exemption(k))
            .map(|e| e.label_vi.clone())
            .unwrap_or_default(),
        plan,
        rows,
        total,
        average,
        own: r.own,
        approve: r.approve,
        results: r.results,
    })
}

async fn plan_submit(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (_, r) = plan_access(&st, &auth, id).await?;
    if !r.own {
        return Err(AppError::Forbidden);
    }
    st.db.submit_year_plan(Some(auth.account.id), id).await?;
    Ok(see(&format!("/yearly/plans/{id}?ok=yearly.submitted")))
}

async fn plan_decide(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (plan, r) = plan_access(&st, &auth, id).await?;
    if !r.approve {
        return Err(AppError::Forbidden);
    }
    let pairs = form_pairs(&body)?;
    let decision = field(&pairs, "decision");
    st.db.decide_year_plan(Some(auth.account.id), id, decision, field(&pairs, "comment")).await?;
    let text = match decision {
        "approve" => "đã được phê duyệt",
        "reopen" => "được mở lại để điều chỉnh",
        _ => "bị trả lại để sửa",
    };
    let msg = format!("Kế hoạch BDTX năm học {} {text}", plan.school_year);
    st.db.notify(plan.person_id, "yearly", &msg, &format!("/yearly/plans/{id}")).await?;
    Ok(see(&format!("/yearly/plans/{id}?ok=yearly.decided")))
}

/// Results: `s.<item>.<k>` = part k of an item as typed.
async fn results_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (_, r) = plan_access(&st, &auth, id).await?;
    if !r.results {
        return Err(AppError::Forbidden);
    }
    let pairs = form_pairs(&body)?;
    let mut entries: Vec<(i64, Vec<String>)> = Vec::new();
    for (k, v) in &pairs {
        let Some(rest) = k.strip_prefix("s.") else { continue };
        let Some((item, part)) = rest.split_once('.') else { continue };
        let (Ok(item), Ok(part)) = (item.parse::<i64>(), part.parse::<usize>()) else {
            return Err(AppError::invalid("yearly_results", "invalid"));
        };
        if part > 8 {
            return Err(AppError::invalid("yearly_results", "invalid"));
        }
        let e = match entries.iter_mut().find(|e| e.0 == item) {
            Some(e) => e,
            None => {
                entries.push((item, vec![]));
                entries.last_mut().expect("just pushed")
            }
        };
        if e.1.len() <= part {
            e.1.resize(part + 1, String::new());
        }
        e.1[part] = v.clone();
    }
    st.db.enter_year_results(Some(auth.account.id), id, &entries).await?;
    Ok(see(&format!("/yearly/plans/{id}?ok=yearly.results_saved")))
}

// ---------------------------------------------------------------- export

async fn results_xlsx(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<YearQuery>,
) -> Result<Response, AppError> {
    let (year, _) = year_of(&q.year)?;
    let root = scope(&st, &auth.principal, q.unit, Action::ViewYearly).await?;
    let plans = st.db.year_plans_in(root, &year).await?;
    let unit = match root {
        Some(u) => st.db.unit(u).await?.map(|u| u.name).unwrap_or_default(),
        None => "Bộ Giáo dục và Đào tạo".into(),
    };
    let t = crate::i18n::T::default();
    let mut rows = Vec::new();
    for (i, p) in plans.iter().filter(|p| p.status == "approved").enumerate() {
        let items = st.db.year_items(p.id).await?;
        let periods: i64 = items.iter().map(|x| x.periods).sum();
        rows.push(vec![
            (i + 1).to_string(),
            p.person_name.clone(),
            t.of("position", &p.position),
            p.unit_name.clone().unwrap_or_default(),
            items.iter().map(|x| x.code.clone()).collect::<Vec<_>>().join(", "),
            periods.to_string(),
            p.result_average.map(|a| scoring::show_fixed(a, 1)).unwrap_or_default(),
            p.result_label.clone().unwrap_or_else(|| "Chưa đánh giá".into()),
        ]);
    }
    let title = format!("DANH SÁCH XẾP LOẠI KẾT QUẢ BỒI DƯỠNG THƯỜNG XUYÊN NĂM HỌC {year}");
    let bytes = bdtx_roster::forms::list_xlsx(
        "Xếp loại BDTX",
        &unit,
        &title,
        &["STT", "Họ và tên", "Chức vụ", "Đơn vị", "Nội dung, mô đun", "Số tiết", "Điểm TB", "Xếp loại"],
        &rows,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(crate::download::attachment(bytes, crate::download::XLSX, &format!("xep-loai-bdtx-{year}.xlsx")))
}

/// The school's summary of plans sent upward (who planned what, and the state of each plan).
async fn plans_xlsx(State(st): State<AppState>, auth: Auth, Query(q): Query<YearQuery>) -> Result<Response, AppError> {
    let (year, _) = year_of(&q.year)?;
    let root = scope(&st, &auth.principal, q.unit, Action::ViewYearly).await?;
    let plans = st.db.year_plans_in(root, &year).await?;
    let unit = match root {
        Some(u) => st.db.unit(u).await?.map(|u| u.name).unwrap_or_default(),
        None => "Bộ Giáo dục và Đào tạo".into(),
    };
    let t = crate::i18n::T::default();
    let mut rows = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let items = st.db.year_items(p.id).await?;
        let periods: i64 = items.iter().map(|x| x.periods).sum();
        rows.push(vec![
            (i + 1).to_string(),
            p.person_name.clone(),
            t.of("position", &p.position),
            p.unit_name.clone().unwrap_or_default(),
            items.iter().map(|x| format!("{} ({})", x.code, x.periods)).collect::<Vec<_>>().join(", "),
            periods.to_string(),
            t.of("yearly.status", &p.status),
        ]);
    }
    let title = format!("TỔNG HỢP KẾ HOẠCH BỒI DƯỠNG THƯỜNG XUYÊN CÁ NHÂN NĂM HỌC {year}");
    let bytes = bdtx_roster::forms::list_xlsx(
        "Kế hoạch BDTX",
        &unit,
        &title,
        &["STT", "Họ và tên", "Chức vụ", "Đơn vị", "Nội dung, mô đun (số tiết)", "Tổng số tiết", "Tình trạng"],
        &rows,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(crate::download::attachment(bytes, crate::download::XLSX, &format!("ke-hoach-bdtx-{year}.xlsx")))
}

// ---------------------------------------------------------------- standards

pub struct CriterionRow {
    pub number: u8,
    pub standard: u8,
    pub title: &'static str,
    pub own: String,
    pub eval: String,
    pub evidence: Vec<Evidence>,
}

#[derive(Template, WebTemplate)]
#[template(path = "yearly_standard.html")]
struct StandardPage {
    ctx: Ctx,
    year: String,
    standard: &'static Standard,
    a: Option<Assessment>,
    rows: Vec<CriterionRow>,
    comments: Vec<Comment>,
    levels: Vec<(&'static str, &'static str)>,
    own: bool,
    comment: bool,
    evaluate: bool,
}

impl StandardPage {
    fn level_label(&self, code: &str) -> &'static str {
        Level::parse(code).map(Level::label_vi).unwrap_or("—")
    }
    fn editable(&self) -> bool {
        self.own && self.a.as_ref().is_none_or(|a| a.status != "evaluated")
    }
}

async fn standard_for(st: &AppState, person: i64, q: &Option<String>) -> Result<&'static Standard, AppError> {
    if let Some(k) = q.as_deref().filter(|k| !k.is_empty()) {
        return standards::by_key(k).ok_or_else(|| AppError::invalid("standard", "invalid"));
    }
    let p = st.db.person(person).await?.ok_or(AppError::NotFound)?;
    let manager =
        bdtx_domain::people::Position::parse(&p.position).is_some_and(bdtx_domain::people::Position::is_manager);
    Ok(if manager { &standards::PRINCIPAL_2018 } else { &standards::TEACHER_2018 })
}

async fn render_standard(
    st: &AppState,
    ctx: Ctx,
    year: String,
    standard: &'static Standard,
    a: Option<Assessment>,
    r: StandardRights,
) -> Result<StandardPage, AppError> {
    let (evidence, comments) = match &a {
        Some(a) => (st.db.evidence(a.id).await?, st.db.assessment_comments(a.id).await?),
        None => (vec![], vec![]),
    };
    let own_levels = a.as_ref().map(|a| a.self_level_list()).unwrap_or_default();
    let eval_levels = a.as_ref().map(|a| a.eval_level_list()).unwrap_or_default();
    let code =
        |v: &Vec<Option<Level>>, i: usize| v.get(i).copied().flatten().map(Level::as_str).unwrap_or("").to_string();
    let rows = standard
        .criteria
        .iter()
        .enumerate()
        .map(|(i, k)| CriterionRow {
            number: k.number,
            standard: k.standard,
            title: k.title_vi,
            own: code(&own_levels, i),
            eval: code(&eval_levels, i),
            evidence: evidence.iter().filter(|e| e.criterion == k.number as i64).cloned().collect(),
        })
        .collect();
    Ok(StandardPage {
        ctx,
        year,
        standard,
        a,
        rows,
        comments,
        levels: Level::ALL.iter().map(|l| (l.as_str(), l.label_vi())).collect(),
        own: r.own,
        comment: r.comment,
        evaluate: r.evaluate,
    })
}

async fn own_standard_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<YearQuery>,
) -> Result<StandardPage, AppError> {
    let me = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    require(&auth.principal, Action::SelfAssess, &person_target(&st, me).await?)?;
    let (year, _) = year_of(&q.year)?;
    let standard = standard_for(&st, me, &q.standard).await?;
    let a = st.db.assessment_of(me, &year, standard.key).await?;
    render_standard(&st, ctx, year, standard, a, StandardRights { own: true, comment: false, evaluate: false }).await
}

fn levels_from(pairs: &[(String, String)], standard: &Standard) -> Result<Vec<Option<Level>>, AppError> {
    let mut out = Vec::new();
    for k in standard.criteria {
        let v = field(pairs, &format!("c{}", k.number));
        if v.is_empty() {
            out.push(None);
        } else {
            out.push(Some(Level::parse(v).ok_or_else(|| AppError::invalid("standard_levels", "invalid"))?));
        }
    }
    Ok(out)
}

async fn standard_save(State(st): State<AppState>, auth: Auth, body: axum::body::Bytes) -> Result<Response, AppError> {
    let me = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    require(&auth.principal, Action::SelfAssess, &person_target(&st, me).await?)?;
    let pairs = form_pairs(&body)?;
    let (year, _) = year_of(&Some(field(&pairs, "year").to_string()))?;
    let standard = standard_for(&st, me, &Some(field(&pairs, "standard").to_string())).await?;
    let levels = levels_from(&pairs, standard)?;
    let submit = field(&pairs, "action") == "submit";
    let id = st
        .db
        .save_self_assessment(Some(auth.account.id), me, &year, standard, &levels, field(&pairs, "note"), submit)
        .await?;
    let ok = if submit { "yearly.standard_submitted" } else { "yearly.saved" };
    Ok(see(&format!("/yearly/standard/{id}?ok={ok}")))
}

async fn standard_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<StandardPage, AppError> {
    let (a, r) = standard_access(&st, &auth, id).await?;
    let standard = standards::by_key(&a.standard).ok_or(AppError::NotFound)?;
    render_standard(&st, ctx, a.school_year.clone(), standard, Some(a), r).await
}

fn upload_error(e: &UploadError) -> &'static str {
    match e {
        UploadError::Empty { .. } => "file_empty",
        UploadError::TooLarge { .. } => "plan_scan_too_large",
        UploadError::Type { .. } => "plan_scan_type",
    }
}

/// Evidence for a criterion: PDF, JPEG or PNG by content, 10 MB at most.
async fn evidence_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let (_, r) = standard_access(&st, &auth, id).await?;
    if !r.own {
        return Err(AppError::Forbidden);
    }
    let (mut upload, mut criterion) = (None, None);
    while let Some(f) =
        form.next_field().await.map_err(|_| AppError::invalid("standard_evidence", "plan_scan_too_large"))?
    {
        match f.name() {
            Some("file") => {
                let name = f.file_name().unwrap_or("").to_string();
                let bytes =
                    f.bytes().await.map_err(|_| AppError::invalid("standard_evidence", "plan_scan_too_large"))?;
                upload = Some((name, bytes));
            }
            Some("criterion") => criterion = f.text().await.ok().and_then(|t| t.trim().parse::<i64>().ok()),
            _ => {}
        }
    }
    let criterion = criterion.ok_or_else(|| AppError::invalid("standard_criterion", "required"))?;
    let (name, bytes) = upload.ok_or_else(|| AppError::invalid("standard_evidence", "required"))?;
    let kind = check_upload(&name, &bytes, &PLAN_SCAN_POLICY)
        .map_err(|e| AppError::invalid("standard_evidence", upload_error(&e)))?;
    let stored = st.files.put(&bytes).map_err(|e| AppError::Internal(format!("file store: {e}")))?;
    st.db.record_file(&stored.sha256, stored.size as i64, kind.mime()).await?;
    let name = crate::download::upload_name(&name, || format!("minh-chung.{}", kind.extension()));
    st.db.add_evidence(Some(auth.account.id), id, criterion, &stored.sha256, &name, kind.mime()).await?;
    Ok(see(&format!("/yearly/standard/{id}?ok=yearly.evidence_saved")))
}

async fn evidence_file(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let e = st.db.evidence_item(id).await?.ok_or(AppError::NotFound)?;
    standard_access(&st, &auth, e.assessment_id).await?;
    crate::download::stored_upload(&st.files, &e.sha256, Some(&e.mime), &e.name).await
}

async fn comment_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (_, r) = standard_access(&st, &auth, id).await?;
    if !r.comment {
        return Err(AppError::Forbidden);
    }
    let pairs = form_pairs(&body)?;
    st.db.comment_assessment(Some(auth.account.id), auth.principal.person_id, id, field(&pairs, "body")).await?;
    Ok(see(&format!("/yearly/standard/{id}?ok=yearly.commented")))
}

async fn evaluate_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (a, r) = standard_access(&st, &auth, id).await?;
    if !r.evaluate {
        return Err(AppError::Forbidden);
    }
    let standard = standards::by_key(&a.standard).ok_or(AppError::NotFound)?;
    let pairs = form_pairs(&body)?;
    let levels = levels_from(&pairs, standard)?;
    st.db.evaluate_assessment(Some(auth.account.id), id, &levels, field(&pairs, "comment")).await?;
    Ok(see(&format!("/yearly/standard/{id}?ok=yearly.evaluated")))
}

// ---------------------------------------------------------------- roll-up

pub struct WeakRow {
    pub number: u8,
    pub title: &'static str,
    pub weak: i64,
    pub module: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "yearly_rollup.html")]
struct RollupPage {
    ctx: Ctx,
    year: String,
    unit_name: String,
    standard: &'static Standard,
    rollup: Rollup,
    criteria: Vec<(u8, &'static str, [i64; 4])>,
    weak: Vec<WeakRow>,
    results: Vec<(String, String, i64)>,
    totals: Vec<(String, i64)>,
    levels: Vec<&'static str>,
}

async fn rollup_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<YearQuery>,
) -> Result<RollupPage, AppError> {
    let (year, _) = year_of(&q.year)?;
    let root = scope(&st, &auth.principal, q.unit, Action::ViewYearly).await?;
    let standard = match &q.standard {
        Some(k) => standards::by_key(k).ok_or_else(|| AppError::invalid("standard", "invalid"))?,
        None => &standards::TEACHER_2018,
    };
    let rollup = st.db.standard_rollup(root, &year, standard).await?;
    let criteria =
        standard.criteria.iter().zip(&rollup.per_criterion).map(|(k, c)| (k.number, k.title_vi, *c)).collect();
    let mut weak = Vec::new();
    for (n, count) in standards::weakest(&rollup.per_criterion, 3) {
        let module = match (standard.key, standards::module_for_criterion(n)) {
            ("teacher_2018", Some(code)) => match st.db.module(&code).await? {
                Some(m) => format!("{} {}", m.code, m.title_vi),
                None => code,
            },
            _ => String::new(),
        };
        weak.push(WeakRow { number: n, title: standard.criteria[n as usize - 1].title_vi, weak: count, module });
    }
    // Classes of approved plans, by unit and in total.
    let mut results: Vec<(String, String, i64)> = Vec::new();
    let mut totals: Vec<(String, i64)> = Vec::new();
    for p in st.db.year_plans_in(root, &year).await?.into_iter().filter(|p| p.status == "approved") {
        let label = p.result_label.unwrap_or_else(|| "Chưa đánh giá".into());
        let unit = p.unit_name.unwrap_or_default();
        match results.iter_mut().find(|r| r.0 == unit && r.1 == label) {
            Some(r) => r.2 += 1,
            None => results.push((unit, label.clone(), 1)),
        }
        match totals.iter_mut().find(|r| r.0 == label) {
            Some(r) => r.1 += 1,
            None => totals.push((label, 1)),
        }
    }
    let unit_name = match root {
        Some(u) => st.db.unit(u).await?.map(|u| u.name).unwrap_or_default(),
        None => "Toàn quốc".into(),
    };
    Ok(RollupPage {
        ctx,
        year,
        unit_name,
        standard,
        rollup,
        criteria,
        weak,
        results,
        totals,
        levels: Level::ALL.iter().map(|l| l.label_vi()).collect(),
    })
}
