//! Peer-support plans (kế hoạch hỗ trợ đồng nghiệp): a core teacher or core manager writes one per
//! round (the groups they support, the schedule, online and in-person activities, hours), submits
//! it to the approver their organisation requires, who approves it or returns it with a comment;
//! the signed and stamped scan is kept with the approved plan; after the round the author files a
//! completion report, flagged late after its due date.
//!
//! The approver is computed when the plan is submitted, from the author's unit then: a teacher's
//! school; a manager's (principal, vice-principal) nearest commune office above, or the province
//! when the province's setting `plan_approver_managers` says `province`.
//!
//! Every state change checks the current state inside its statement (`WHERE status = …`), so a
//! second approval of the same plan is a conflict and changes nothing.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use bdtx_domain::dates::{iso, parse_date, today};
use bdtx_domain::error::Checker;
use bdtx_domain::org::UnitKind;
use bdtx_domain::people::Position;

use crate::{BeginWrite, Db, Result, StoreError, conflict, now, on};

/// The per-province setting naming who approves core managers' plans.
pub const APPROVER_MANAGERS_KEY: &str = "plan_approver_managers";
/// Days after the round's last window closes by which the completion report is due.
pub const REPORT_DUE_DAYS: u64 = 15;

const MAX_TEXT: usize = 5_000;
const MAX_HOURS: f64 = 1_000.0;

/// Who approves core managers' plans in a province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagerApprover {
    /// The commune (formerly district) education office above the manager's school.
    #[default]
    Commune,
    /// The provincial department.
    Province,
}

impl ManagerApprover {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagerApprover::Commune => "commune",
            ManagerApprover::Province => "province",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "commune" => Some(ManagerApprover::Commune),
            "province" => Some(ManagerApprover::Province),
            _ => None,
        }
    }
}

/// The unit that approves a plan, from the author's chain (their unit first, nearest first)
/// with each unit's kind: a manager's nearest commune (or the province when the setting says so,
/// or when no commune is above, e.g. an upper-secondary school); anyone else's nearest school (or
/// their own unit when they do not work at a school).
pub fn plan_approver(manager: bool, chain: &[(i64, UnitKind)], setting: ManagerApprover) -> Option<i64> {
    let nearest = |k: UnitKind| chain.iter().find(|(_, kind)| *kind == k).map(|(id, _)| *id);
    if manager {
        match setting {
            ManagerApprover::Province => nearest(UnitKind::Province),
            ManagerApprover::Commune => nearest(UnitKind::Commune).or_else(|| nearest(UnitKind::Province)),
        }
    } else {
        nearest(UnitKind::School).or_else(|| chain.first().map(|(id, _)| *id))
    }
}

/// A plan with the names a page shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Plan {
    pub id: i64,
    pub round_id: i64,
    pub round_title: String,
    pub module_code: String,
    pub person_id: i64,
    pub author_name: String,
    pub groups_text: String,
    /// Comma-separated ids of the author's classes in the round that the plan covers.
    pub class_ids: String,
    pub schedule: String,
    pub online_activities: String,
    pub in_person_activities: String,
    pub hours: f64,
    /// draft, submitted, approved, returned
    pub status: String,
    /// teacher or manager, fixed when submitted
    pub author_kind: Option<String>,
    pub author_unit_id: Option<i64>,
    pub author_unit_name: Option<String>,
    pub approver_unit_id: Option<i64>,
    pub approver_name: Option<String>,
    pub submitted_at: Option<i64>,
    pub decision_comment: String,
    pub decided_by: Option<i64>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
    pub scan_sha256: Option<String>,
    pub scan_name: Option<String>,
    pub scan_mime: Option<String>,
    pub scan_at: Option<i64>,
    /// The last day of the completion report (ISO).
    pub report_due: String,
    pub report: Option<String>,
    pub report_at: Option<i64>,
    pub report_late: Option<bool>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a plan's completion report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// The plan is not approved yet: no report is expected.
    NotExpected,
    /// Expected, not filed, the due date has not passed.
    Pending,
    /// Not filed and the due date has passed.
    Overdue,
    OnTime,
    Late,
}

impl ReportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::NotExpected => "not_expected",
            ReportState::Pending => "pending",
            ReportState::Overdue => "overdue",
            ReportState::OnTime => "on_time",
            ReportState::Late => "late",
        }
    }
    /// Late or overdue: what lists flag.
    pub fn flagged(self) -> bool {
        matches!(self, ReportState::Overdue | ReportState::Late)
    }
}

impl Plan {
    /// The instant the report becomes late: 00:00 Vietnam time the day after the due date.
    pub fn due_at(&self) -> i64 {
        let due = parse_date(&self.report_due).unwrap_or_else(today);
        bdtx_domain::round::day_start(due.checked_add_days(Days::new(1)).unwrap_or(due))
    }
    pub fn report_state(&self, now_unix: i64) -> ReportState {
        match (self.report_at, self.status.as_str()) {
            (Some(at), _) => {
                if self.report_late.unwrap_or(at >= self.due_at()) {
                    ReportState::Late
                } else {
                    ReportState::OnTime
                }
            }
            (None, "approved") if now_unix >= self.due_at() => ReportState::Overdue,
            (None, "approved") => ReportState::Pending,
            _ => ReportState::NotExpected,
        }
    }
    pub fn class_id_list(&self) -> Vec<i64> {
        parse_ids(&self.class_ids)
    }
    /// The plan may be edited and submitted (a draft, or returned for revision).
    pub fn editable(&self) -> bool {
        matches!(self.status.as_str(), "draft" | "returned")
    }
}

fn parse_ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

/// What the author writes.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub groups_text: String,
    pub class_ids: Vec<i64>,
    pub schedule: String,
    pub online_activities: String,
    pub in_person_activities: String,
    /// As typed: "40", "37,5" or "37.5".
    pub hours: String,
}

/// The input cleaned and checked.
struct CleanInput {
    groups_text: String,
    class_ids: String,
    schedule: String,
    online: String,
    in_person: String,
    hours: f64,
}

/// Parse hours as typed (decimal comma or point): a number > 0 and at most 1000.
pub fn parse_hours(s: &str) -> Result<f64, &'static str> {
    let s = s.trim().replace(',', ".");
    if s.is_empty() {
        return Err("required");
    }
    match s.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h <= MAX_HOURS => Ok(h),
        Ok(h) if h.is_finite() && h > MAX_HOURS => Err("plan_hours_too_many"),
        Ok(h) if h.is_finite() => Err("plan_hours_positive"),
        _ => Err("plan_hours_number"),
    }
}

fn check_input(i: &PlanInput, allowed_classes: &[i64]) -> Result<CleanInput> {
    let mut c = Checker::default();
    let text = |c: &mut Checker, field: &str, s: &str| {
        let s = bdtx_domain::text::clean_multiline(s).trim().to_string();
        if s.chars().count() > MAX_TEXT {
            c.add(field, "too_long");
        }
        s
    };
    let groups_text = text(&mut c, "plan_groups", &i.groups_text);
    let schedule = text(&mut c, "plan_schedule", &i.schedule);
    let online = text(&mut c, "plan_online", &i.online_activities);
    let in_person = text(&mut c, "plan_in_person", &i.in_person_activities);
    let mut ids = i.class_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.iter().any(|id| !allowed_classes.contains(id)) {
        c.add("plan_classes", "plan_not_your_class");
    }
    if groups_text.is_empty() && ids.is_empty() {
        c.add("plan_groups", "required");
    }
    if schedule.is_empty() {
        c.add("plan_schedule", "required");
    }
    if online.is_empty() && in_person.is_empty() {
        c.add("plan_activities", "required");
    }
    let hours = match parse_hours(&i.hours) {
        Ok(h) => h,
        Err(code) => {
            c.add("plan_hours", code);
            0.0
        }
    };
    c.finish()?;
    Ok(CleanInput {
        groups_text,
        class_ids: ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
        schedule,
        online,
        in_person,
        hours,
    })
}

const PLAN_SQL: &str =
    "SELECT pl.id, pl.round_id, r.title AS round_title, r.module_code, pl.person_id, p.full_name AS author_name,
        pl.groups_text, pl.class_ids, pl.schedule, pl.online_activities, pl.in_person_activities, pl.hours, pl.status,
        pl.author_kind, pl.author_unit_id, wu.name AS author_unit_name, pl.approver_unit_id, au.name AS approver_name,
        pl.submitted_at, pl.decision_comment, pl.decided_by, COALESCE(dp.full_name, ac.username) AS decided_by_name,
        pl.decided_at, pl.scan_sha256, pl.scan_name, pl.scan_mime, pl.scan_at, pl.report_due, pl.report, pl.report_at,
        pl.report_late, pl.created_at, pl.updated_at
    FROM peer_plans pl JOIN rounds r ON r.id = pl.round_id JOIN people p ON p.id = pl.person_id
    LEFT JOIN units wu ON wu.id = pl.author_unit_id LEFT JOIN units au ON au.id = pl.approver_unit_id
    LEFT JOIN accounts ac ON ac.id = pl.decided_by LEFT JOIN people dp ON dp.id = ac.person_id";

impl Db {
    pub async fn plan(&self, id: i64) -> Result<Option<Plan>> {
        let sql = format!("{PLAN_SQL} WHERE pl.id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Plan>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    /// A person's plans, newest round first.
    pub async fn plans_of(&self, person_id: i64) -> Result<Vec<Plan>> {
        let sql = format!("{PLAN_SQL} WHERE pl.person_id = $1 ORDER BY pl.round_id DESC, pl.id DESC");
        Ok(on!(self, p => sqlx::query_as::<_, Plan>(sqlx::AssertSqlSafe(sql)).bind(person_id).fetch_all(p).await)?)
    }

    /// Submitted and approved plans whose approver is in `root`'s subtree (any time; `None` =
    /// everywhere), oldest submission first, at most `limit`.
    pub async fn plans_to_review(&self, root: Option<i64>, limit: i64) -> Result<Vec<Plan>> {
        let sql = format!(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($1 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             {PLAN_SQL}
             WHERE pl.status IN ('submitted', 'approved')
               AND (CAST($1 AS BIGINT) IS NULL OR pl.approver_unit_id IN (SELECT id FROM down))
             ORDER BY pl.status DESC, pl.submitted_at, pl.id LIMIT $2"
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, Plan>(sqlx::AssertSqlSafe(sql)).bind(root).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Rounds a person may write a plan for: those of a module they are core for, or where they
    /// staff a class (newest first). The caller narrows core rounds to the person's province.
    pub async fn plan_round_ids(&self, person_id: i64) -> Result<Vec<(i64, bool)>> {
        let rows: Vec<(i64, i64)> = on!(self, p => sqlx::query_as(
            "SELECT r.id,
                    (SELECT COUNT(*) FROM classes c JOIN class_staff s ON s.class_id = c.id WHERE c.round_id = r.id AND s.person_id = $1) AS staffed
             FROM rounds r
             WHERE r.module_code IN (SELECT module_code FROM core_status WHERE person_id = $1)
                OR r.id IN (SELECT c.round_id FROM classes c JOIN class_staff s ON s.class_id = c.id WHERE s.person_id = $1)
             ORDER BY r.id DESC")
            .bind(person_id).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(id, n)| (id, n > 0)).collect())
    }

    /// The classes a person staffs in a round (the groups a plan may name).
    pub async fn staff_classes_in_round(&self, person_id: i64, round_id: i64) -> Result<Vec<crate::rounds::Class>> {
        Ok(self.classes_of_staff(person_id).await?.into_iter().filter(|c| c.round_id == round_id).collect())
    }

    /// Whether the person may write a plan for the round (core for its module or class staff).
    async fn plan_eligible(&self, person_id: i64, round_id: i64) -> Result<bool> {
        Ok(self.plan_round_ids(person_id).await?.iter().any(|(id, _)| *id == round_id))
    }

    /// The due date of a round's completion reports: its latest window close + 15 days.
    pub async fn plan_report_due(&self, round_id: i64) -> Result<NaiveDate> {
        let last = self.windows(round_id).await?.iter().filter_map(|w| parse_date(&w.closes)).max();
        let base = last.unwrap_or_else(today);
        Ok(base.checked_add_days(Days::new(REPORT_DUE_DAYS)).unwrap_or(base))
    }

    /// The author's current unit (for audit entries and the approver).
    async fn current_unit(&self, person_id: i64) -> Result<Option<i64>> {
        let d = iso(today());
        Ok(self
            .stays(person_id)
            .await?
            .into_iter()
            .find(|s| s.valid_from <= d && s.valid_to.as_ref().is_none_or(|t| *t > d))
            .map(|s| s.unit_id))
    }

    /// A new draft plan for `round_id` by `person_id`. One plan per person and round.
    pub async fn create_plan(
        &self,
        actor: Option<i64>,
        person_id: i64,
        round_id: i64,
        input: &PlanInput,
    ) -> Result<i64> {
        if self.round(round_id).await?.is_none() {
            return Err(bdtx_domain::Invalid::one("plan_round", "not_found").into());
        }
        if !self.plan_eligible(person_id, round_id).await? {
            return Err(bdtx_domain::Invalid::one("plan_round", "plan_not_eligible").into());
        }
        let allowed: Vec<i64> = self.staff_classes_in_round(person_id, round_id).await?.iter().map(|c| c.id).collect();
        let c = check_input(input, &allowed)?;
        let due = iso(self.plan_report_due(round_id).await?);
        let unit = self.current_unit(person_id).await?;
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO peer_plans (round_id, person_id, groups_text, class_ids, schedule, online_activities, in_person_activities,
                    hours, status, report_due, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11, $11) RETURNING id")
                .bind(round_id).bind(person_id).bind(&c.groups_text).bind(&c.class_ids).bind(&c.schedule).bind(&c.online)
                .bind(&c.in_person).bind(c.hours).bind(&due).bind(actor).bind(t)
                .fetch_one(&mut *tx).await.map_err(|e| conflict(e, "plan_exists"))?;
            crate::audit_insert!(tx, actor, "plan.create", "plan", id, unit, None::<String>,
                Some(serde_json::json!({"round": round_id, "person": person_id, "hours": c.hours}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Change a draft or returned plan.
    pub async fn update_plan(&self, actor: Option<i64>, id: i64, input: &PlanInput) -> Result<()> {
        let plan = self.plan(id).await?.ok_or(StoreError::NotFound)?;
        if !plan.editable() {
            return Err(bdtx_domain::Invalid::one("plan", "plan_locked").into());
        }
        let allowed: Vec<i64> =
            self.staff_classes_in_round(plan.person_id, plan.round_id).await?.iter().map(|c| c.id).collect();
        let c = check_input(input, &allowed)?;
        let unit = self.current_unit(plan.person_id).await?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query(
                "UPDATE peer_plans SET groups_text = $2, class_ids = $3, schedule = $4, online_activities = $5,
                    in_person_activities = $6, hours = $7, updated_at = $8
                 WHERE id = $1 AND status IN ('draft', 'returned')")
                .bind(id).bind(&c.groups_text).bind(&c.class_ids).bind(&c.schedule).bind(&c.online).bind(&c.in_person)
                .bind(c.hours).bind(now()).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(bdtx_domain::Invalid::one("plan", "plan_locked").into());
            }
            crate::audit_insert!(tx, actor, "plan.update", "plan", id, unit,
                Some(serde_json::json!({"hours": plan.hours, "schedule": plan.schedule}).to_string()),
                Some(serde_json::json!({"hours": c.hours, "schedule": c.schedule}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Who approves a plan of `person_id` submitted today: (author's unit, approver, kind).
    pub async fn plan_approver_for(&self, person_id: i64) -> Result<(i64, i64, &'static str)> {
        let person = self.person(person_id).await?.ok_or(StoreError::NotFound)?;
        let unit =
            self.current_unit(person_id).await?.ok_or_else(|| bdtx_domain::Invalid::one("plan", "plan_no_unit"))?;
        let mut chain = Vec::new();
        for id in self.ancestors(unit, today()).await? {
            if let Some(kind) = self.unit(id).await?.and_then(|u| UnitKind::parse(&u.kind)) {
                chain.push((id, kind));
            }
        }
        let manager = Position::parse(&person.position).is_some_and(Position::is_manager);
        let setting = match chain.iter().find(|(_, k)| *k == UnitKind::Province) {
            Some((prov, _)) => self.manager_approver(*prov).await?,
            None => ManagerApprover::default(),
        };
        let approver = plan_approver(manager, &chain, setting)
            .ok_or_else(|| bdtx_domain::Invalid::one("plan", "plan_no_approver"))?;
        Ok((unit, approver, if manager { "manager" } else { "teacher" }))
    }

    /// Send a draft (or a returned plan, revised) to its approver, computed now.
    pub async fn submit_plan(&self, actor: Option<i64>, id: i64) -> Result<Plan> {
        let plan = self.plan(id).await?.ok_or(StoreError::NotFound)?;
        if !plan.editable() {
            return Err(StoreError::Conflict("plan_submission"));
        }
        let (unit, approver, kind) = self.plan_approver_for(plan.person_id).await?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let n = sqlx::query(
                "UPDATE peer_plans SET status = 'submitted', author_kind = $2, author_unit_id = $3, approver_unit_id = $4,
                    submitted_at = $5, updated_at = $5
                 WHERE id = $1 AND status IN ('draft', 'returned')")
                .bind(id).bind(kind).bind(unit).bind(approver).bind(t).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("plan_submission"));
            }
            crate::audit_insert!(tx, actor, "plan.submit", "plan", id, Some(approver), None::<String>,
                Some(serde_json::json!({"approver_unit": approver, "author_unit": unit, "kind": kind}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.plan(id).await?.ok_or(StoreError::NotFound)
    }

    /// The approver's decision on a submitted plan: approve, or return for revision with a
    /// comment. Deciding a plan that is not (or no longer) submitted is a conflict.
    pub async fn decide_plan(&self, actor: Option<i64>, id: i64, approve: bool, comment: &str) -> Result<()> {
        let comment = bdtx_domain::text::clean_multiline(comment).trim().to_string();
        let plan = self.plan(id).await?.ok_or(StoreError::NotFound)?;
        let mut c = Checker::default();
        if !approve && comment.is_empty() {
            c.add("plan_comment", "required");
        }
        if comment.chars().count() > MAX_TEXT {
            c.add("plan_comment", "too_long");
        }
        c.finish()?;
        if plan.status != "submitted" {
            return Err(StoreError::Conflict("plan_decision"));
        }
        let status = if approve { "approved" } else { "returned" };
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let n = sqlx::query(
                "UPDATE peer_plans SET status = $2, decision_comment = $3, decided_by = $4, decided_at = $5, updated_at = $5
                 WHERE id = $1 AND status = 'submitted'")
                .bind(id).bind(status).bind(&comment).bind(actor).bind(t).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("plan_decision"));
            }
            let action = if approve { "plan.approve" } else { "plan.return" };
            crate::audit_insert!(tx, actor, action, "plan", id, plan.approver_unit_id, None::<String>,
                Some(serde_json::json!({"comment": comment}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Keep the signed and stamped scan of an approved plan (already checked and stored in the
    /// file store and `files`); a new upload replaces the reference, the audit log keeps both.
    pub async fn attach_plan_scan(
        &self,
        actor: Option<i64>,
        id: i64,
        sha256: &str,
        name: &str,
        mime: &str,
    ) -> Result<()> {
        let plan = self.plan(id).await?.ok_or(StoreError::NotFound)?;
        if plan.status != "approved" {
            return Err(bdtx_domain::Invalid::one("plan_scan", "plan_not_approved").into());
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let n = sqlx::query(
                "UPDATE peer_plans SET scan_sha256 = $2, scan_name = $3, scan_mime = $4, scan_at = $5, updated_at = $5
                 WHERE id = $1 AND status = 'approved'")
                .bind(id).bind(sha256).bind(name).bind(mime).bind(t).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(bdtx_domain::Invalid::one("plan_scan", "plan_not_approved").into());
            }
            crate::audit_insert!(tx, actor, "plan.scan", "plan", id, plan.approver_unit_id,
                plan.scan_sha256.as_ref().map(|s| serde_json::json!({"sha256": s}).to_string()),
                Some(serde_json::json!({"sha256": sha256, "name": name, "mime": mime}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// File the completion report of an approved plan (once); after the due date it is late.
    pub async fn file_plan_report(&self, actor: Option<i64>, id: i64, text: &str) -> Result<Plan> {
        let text = bdtx_domain::text::clean_multiline(text).trim().to_string();
        let plan = self.plan(id).await?.ok_or(StoreError::NotFound)?;
        let mut c = Checker::default();
        if text.is_empty() {
            c.add("plan_report", "required");
        }
        if text.chars().count() > 4 * MAX_TEXT {
            c.add("plan_report", "too_long");
        }
        c.finish()?;
        if plan.status != "approved" {
            return Err(bdtx_domain::Invalid::one("plan_report", "plan_not_approved").into());
        }
        if plan.report_at.is_some() {
            return Err(StoreError::Conflict("plan_report"));
        }
        let t = now();
        let late = t >= plan.due_at();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query(
                "UPDATE peer_plans SET report = $2, report_at = $3, report_late = $4, updated_at = $3
                 WHERE id = $1 AND status = 'approved' AND report_at IS NULL")
                .bind(id).bind(&text).bind(t).bind(late).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("plan_report"));
            }
            crate::audit_insert!(tx, actor, "plan.report", "plan", id, plan.approver_unit_id, None::<String>,
                Some(serde_json::json!({"late": late, "due": plan.report_due}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.plan(id).await?.ok_or(StoreError::NotFound)
    }

    /// Move a plan's report due date (an approver's extension; also used by tests).
    pub async fn set_plan_report_due(&self, actor: Option<i64>, id: i64, due: NaiveDate) -> Result<()> {
        let plan = self.plan(id).await?.ok_or(StoreError::NotFound)?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE peer_plans SET report_due = $2, updated_at = $3 WHERE id = $1")
                .bind(id).bind(iso(due)).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "plan.due", "plan", id, plan.approver_unit_id,
                Some(serde_json::json!({"due": plan.report_due}).to_string()),
                Some(serde_json::json!({"due": iso(due)}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    // ----- settings -----

    pub async fn setting(&self, unit_id: i64, key: &str) -> Result<Option<String>> {
        Ok(on!(self, p => sqlx::query_scalar("SELECT value FROM settings WHERE unit_id = $1 AND key = $2")
            .bind(unit_id).bind(key).fetch_optional(p).await)?)
    }

    /// Set a unit's setting (audited with the old value).
    pub async fn set_setting(&self, actor: Option<i64>, unit_id: i64, key: &str, value: &str) -> Result<()> {
        let before = self.setting(unit_id, key).await?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(
                "INSERT INTO settings (unit_id, key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (unit_id, key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at")
                .bind(unit_id).bind(key).bind(value).bind(actor).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "setting.update", "unit", unit_id, Some(unit_id),
                before.map(|v| serde_json::json!({key: v}).to_string()),
                Some(serde_json::json!({key: value}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Who approves core managers' plans in a province (default: the commune office).
    pub async fn manager_approver(&self, province: i64) -> Result<ManagerApprover> {
        Ok(self
            .setting(province, APPROVER_MANAGERS_KEY)
            .await?
            .and_then(|v| ManagerApprover::parse(&v))
            .unwrap_or_default())
    }

    /// Change who approves core managers' plans in a province.
    pub async fn set_manager_approver(&self, actor: Option<i64>, province: i64, value: ManagerApprover) -> Result<()> {
        let unit = self.unit(province).await?.ok_or(StoreError::NotFound)?;
        if UnitKind::parse(&unit.kind) != Some(UnitKind::Province) {
            return Err(bdtx_domain::Invalid::one("unit", "kind_mismatch").into());
        }
        self.set_setting(actor, province, APPROVER_MANAGERS_KEY, value.as_str()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UnitKind::*;

    // school 5 > cluster 4 > commune 3 > province 2 > ministry 1; an upper-secondary school 50
    // sits directly under the province.
    const TEACHER: &[(i64, UnitKind)] = &[(5, School), (4, Cluster), (3, Commune), (2, Province), (1, Ministry)];
    const THPT: &[(i64, UnitKind)] = &[(50, School), (2, Province), (1, Ministry)];

    #[test]
    fn teachers_go_to_their_school() {
        assert_eq!(plan_approver(false, TEACHER, ManagerApprover::Commune), Some(5));
        assert_eq!(plan_approver(false, TEACHER, ManagerApprover::Province), Some(5));
        assert_eq!(plan_approver(false, THPT, ManagerApprover::Commune), Some(50));
        // Someone not at a school (an officer of a commune office): their own unit.
        assert_eq!(plan_approver(false, &[(3, Commune), (2, Province)], ManagerApprover::Commune), Some(3));
    }

    #[test]
    fn managers_go_to_the_commune_or_the_province() {
        assert_eq!(plan_approver(true, TEACHER, ManagerApprover::Commune), Some(3));
        assert_eq!(plan_approver(true, TEACHER, ManagerApprover::Province), Some(2));
        // No commune above an upper-secondary school: the province.
        assert_eq!(plan_approver(true, THPT, ManagerApprover::Commune), Some(2));
        assert_eq!(plan_approver(true, &[(9, School)], ManagerApprover::Commune), None);
    }

    #[test]
    fn hours_are_positive_numbers() {
        assert_eq!(parse_hours("40"), Ok(40.0));
        assert_eq!(parse_hours(" 37,5 "), Ok(37.5));
        assert_eq!(parse_hours("0"), Err("plan_hours_positive"));
        assert_eq!(parse_hours("-3"), Err("plan_hours_positive"));
        assert_eq!(parse_hours("bốn mươi"), Err("plan_hours_number"));
        assert_eq!(parse_hours("NaN"), Err("plan_hours_number"));
        assert_eq!(parse_hours("5000"), Err("plan_hours_too_many"));
        assert_eq!(parse_hours(""), Err("required"));
    }

    #[test]
    fn report_states() {
        let due = NaiveDate::from_ymd_opt(2021, 1, 23).unwrap();
        let due_at = bdtx_domain::round::day_start(due.succ_opt().unwrap());
        let mut p = Plan {
            id: 1,
            round_id: 1,
            round_title: String::new(),
            module_code: String::new(),
            person_id: 1,
            author_name: String::new(),
            groups_text: String::new(),
            class_ids: "3, 4,x".into(),
            schedule: String::new(),
            online_activities: String::new(),
            in_person_activities: String::new(),
            hours: 40.0,
            status: "submitted".into(),
            author_kind: None,
            author_unit_id: None,
            author_unit_name: None,
            approver_unit_id: None,
            approver_name: None,
            submitted_at: None,
            decision_comment: String::new(),
            decided_by: None,
            decided_by_name: None,
            decided_at: None,
            scan_sha256: None,
            scan_name: None,
            scan_mime: None,
            scan_at: None,
            report_due: iso(due),
            report: None,
            report_at: None,
            report_late: None,
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(p.class_id_list(), vec![3, 4]);
        assert_eq!(p.due_at(), due_at);
        assert_eq!(p.report_state(due_at + 10), ReportState::NotExpected);
        p.status = "approved".into();
        assert_eq!(p.report_state(due_at - 1), ReportState::Pending);
        assert_eq!(p.report_state(due_at), ReportState::Overdue);
        assert!(ReportState::Overdue.flagged());
        p.report_at = Some(due_at - 1);
        assert_eq!(p.report_state(due_at + 100), ReportState::OnTime);
        p.report_at = Some(due_at);
        assert_eq!(p.report_state(0), ReportState::Late);
        assert!(!ReportState::OnTime.flagged());
    }
}
