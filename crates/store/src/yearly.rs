//! The yearly cycle: a person's BDTX plan for a school year (the required contents or
//! programmes and the chosen modules, with periods), its approval by the principal (a manager's
//! by the office above, as for peer-support plans), the school's results per item and the year's
//! classification by the scoring policy the province uses that year; and the self-assessment
//! against the 2018 standards (levels per criterion, evidence files, colleagues' comments, the
//! principal's evaluation) with roll-ups by unit.
//!
//! Every state change checks the current state inside its statement (`WHERE status = …`), and
//! every input is checked whole before anything is written: bad input changes nothing.

use serde::Serialize;

use bdtx_domain::dates::{iso, today};
use bdtx_domain::error::Checker;
use bdtx_domain::people::Position;
use bdtx_domain::scoring::{self, Audience, ItemScore, PlanItem, Policy, Pts};
use bdtx_domain::standards::{self, Level, LevelCounts, Standard};
use bdtx_domain::{FieldError, Invalid};
use chrono::NaiveDate;

use crate::{BeginWrite, Db, Result, StoreError, conflict, now, on};

const MAX_TEXT: usize = 5_000;

/// The settings key naming the plan group a province counts modules completed in rounds towards.
pub fn rounds_setting_key(year: &str) -> String {
    format!("yearly.rounds.{year}")
}

/// A module completed in a round (the university's confirmation) during a school year.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CompletedModule {
    pub code: String,
    pub title: String,
    pub at: i64,
}

/// The settings key naming the policy a province uses for a school year and audience.
pub fn policy_setting_key(year: &str, audience: Audience) -> String {
    format!("yearly.policy.{year}.{}", audience.as_str())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct YearPlan {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub position: String,
    pub school_year: String,
    pub policy: String,
    pub audience: String,
    /// draft, submitted, approved, returned
    pub status: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub approver_unit_id: Option<i64>,
    pub approver_name: Option<String>,
    pub submitted_at: Option<i64>,
    pub decision_comment: String,
    pub decided_at: Option<i64>,
    /// Hundredths.
    pub result_average: Option<i64>,
    pub result_class: Option<String>,
    pub result_label: Option<String>,
    pub result_policy: Option<String>,
    pub result_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The exemption the plan claims (a key of its policy's `exemptions`).
    pub exemption: Option<String>,
}

impl YearPlan {
    pub fn editable(&self) -> bool {
        matches!(self.status.as_str(), "draft" | "returned")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct YearItem {
    pub id: i64,
    pub plan_id: i64,
    pub grp: String,
    pub code: String,
    pub title: String,
    pub periods: i64,
    /// plan, or round (a module completed in a round, counted where the province says so)
    pub source: String,
    /// Hundredths per component, comma-separated ('' = not scored).
    pub parts: String,
    pub score: Option<i64>,
}

impl YearItem {
    pub fn part_values(&self) -> Vec<Pts> {
        self.parts.split(',').filter_map(|x| x.trim().parse().ok()).collect()
    }
}

/// What the author chooses: an item of a group with its periods.
#[derive(Debug, Clone)]
pub struct ItemInput {
    pub group: String,
    pub code: String,
    pub periods: i64,
}

const PLAN_SQL: &str = "SELECT yp.id, yp.person_id, p.full_name AS person_name, p.position, yp.school_year, yp.policy,
        yp.audience, yp.status, yp.unit_id, wu.name AS unit_name, yp.approver_unit_id, au.name AS approver_name,
        yp.submitted_at, yp.decision_comment, yp.decided_at, yp.result_average, yp.result_class, yp.result_label,
        yp.result_policy, yp.result_at, yp.created_at, yp.updated_at, yp.exemption
    FROM year_plans yp JOIN people p ON p.id = yp.person_id
    LEFT JOIN units wu ON wu.id = yp.unit_id LEFT JOIN units au ON au.id = yp.approver_unit_id";

const DOWN: &str = "WITH RECURSIVE down(id) AS (
        SELECT CAST($1 AS BIGINT)
        UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
    )";

fn invalid(field: &str, code: &'static str) -> StoreError {
    Invalid::one(field, code).into()
}

fn clean_text(field: &str, s: &str, c: &mut Checker) -> String {
    let s = bdtx_domain::text::clean_multiline(s).trim().to_string();
    if s.chars().count() > MAX_TEXT {
        c.add(field, "too_long");
    }
    s
}

fn check_year(year: &str) -> Result<i32> {
    scoring::parse_school_year(year).ok_or_else(|| invalid("school_year", "school_year"))
}

impl Db {
    // ------------------------------------------------------------ policies

    /// A policy by `id@version`: shipped with the binary or added by a province.
    pub async fn scoring_policy(&self, reference: &str) -> Result<Option<Policy>> {
        if let Some(p) = scoring::shipped_policy(reference) {
            return Ok(Some(p));
        }
        let Some((id, version)) = reference.split_once('@') else { return Ok(None) };
        let Ok(version) = version.parse::<i64>() else { return Ok(None) };
        let yaml: Option<String> = on!(self, p => sqlx::query_scalar("SELECT yaml FROM scoring_policies WHERE id = $1 AND version = $2")
                .bind(id).bind(version).fetch_optional(p).await)?;
        Ok(yaml.and_then(|y| Policy::from_yaml(&y).ok()))
    }

    /// Every policy: shipped ones, then those added.
    pub async fn scoring_policies(&self) -> Result<Vec<Policy>> {
        let mut all = scoring::shipped();
        let rows: Vec<String> = on!(self, p => sqlx::query_scalar("SELECT yaml FROM scoring_policies ORDER BY id, version")
            .fetch_all(p).await)?;
        all.extend(rows.iter().filter_map(|y| Policy::from_yaml(y).ok()));
        Ok(all)
    }

    /// Add a policy version from its YAML text: refused whole (with reasons) if it does not parse
    /// or is inconsistent; an existing `id@version` is a conflict (versions never change).
    pub async fn add_scoring_policy(&self, actor: Option<i64>, yaml: &str) -> Result<Policy> {
        if yaml.len() > 64 * 1024 {
            return Err(invalid("policy", "too_long"));
        }
        let policy = Policy::from_yaml(yaml)?;
        if self.scoring_policy(&policy.reference()).await?.is_some() {
            return Err(StoreError::Conflict("policy_version"));
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO scoring_policies (id, version, yaml, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&policy.id).bind(policy.version as i64).bind(yaml).bind(actor).bind(now())
                .execute(&mut *tx).await.map_err(|e| conflict(e, "policy_version"))?;
            crate::audit_insert!(tx, actor, "policy.add", "policy", policy.reference(), None::<i64>, None::<String>,
                Some(serde_json::json!({"policy": policy.reference()}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(policy)
    }

    /// The policy reference a province uses for a year and audience (its setting, or the default
    /// of the year).
    pub async fn year_policy(&self, province: Option<i64>, year: &str, audience: Audience) -> Result<String> {
        let start = check_year(year)?;
        let chosen = match province {
            Some(prov) => self.setting(prov, &policy_setting_key(year, audience)).await?,
            None => None,
        };
        if let Some(v) = chosen {
            return Ok(v);
        }
        Ok(scoring::default_policy(start, audience).to_string())
    }

    /// Choose the policy of a year for a province (the policy must exist).
    pub async fn set_year_policy(
        &self,
        actor: Option<i64>,
        province: i64,
        year: &str,
        audience: Audience,
        reference: &str,
    ) -> Result<()> {
        check_year(year)?;
        let unit = self.unit(province).await?.ok_or(StoreError::NotFound)?;
        if unit.kind != "province" {
            return Err(invalid("unit", "kind_mismatch"));
        }
        if self.scoring_policy(reference).await?.is_none() {
            return Err(invalid("policy", "not_found"));
        }
        self.set_setting(actor, province, &policy_setting_key(year, audience), reference).await
    }

    /// The nearest province above a person's current unit.
    pub async fn province_of(&self, person_id: i64) -> Result<Option<i64>> {
        for u in self.person_chain(person_id).await? {
            if self.unit(u).await?.is_some_and(|x| x.kind == "province") {
                return Ok(Some(u));
            }
        }
        Ok(None)
    }

    /// Teacher or manager for scoring, from the person's position and levels.
    pub async fn audience_of(&self, person_id: i64) -> Result<Audience> {
        let person = self.person(person_id).await?.ok_or(StoreError::NotFound)?;
        let manager = Position::parse(&person.position).is_some_and(Position::is_manager);
        let levels = bdtx_domain::org::parse_levels(&person.levels).unwrap_or_default();
        Ok(Audience::of(manager, &levels))
    }

    /// The policy that applies to a person's year (as a new plan would fix it).
    pub async fn policy_for(&self, person_id: i64, year: &str) -> Result<Policy> {
        let audience = self.audience_of(person_id).await?;
        let province = self.province_of(person_id).await?;
        let reference = self.year_policy(province, year, audience).await?;
        self.scoring_policy(&reference).await?.ok_or_else(|| invalid("policy", "not_found"))
    }

    // ------------------------------------------------------------ plans

    pub async fn year_plan(&self, id: i64) -> Result<Option<YearPlan>> {
        let sql = format!("{PLAN_SQL} WHERE yp.id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, YearPlan>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    pub async fn year_plan_of(&self, person_id: i64, year: &str) -> Result<Option<YearPlan>> {
        let sql = format!("{PLAN_SQL} WHERE yp.person_id = $1 AND yp.school_year = $2");
        Ok(on!(self, p => sqlx::query_as::<_, YearPlan>(sqlx::AssertSqlSafe(sql)).bind(person_id).bind(year)
            .fetch_optional(p).await)?)
    }

    pub async fn year_plans_of(&self, person_id: i64) -> Result<Vec<YearPlan>> {
        let sql = format!("{PLAN_SQL} WHERE yp.person_id = $1 ORDER BY yp.school_year DESC");
        Ok(on!(self, p => sqlx::query_as::<_, YearPlan>(sqlx::AssertSqlSafe(sql)).bind(person_id).fetch_all(p).await)?)
    }

    pub async fn year_items(&self, plan_id: i64) -> Result<Vec<YearItem>> {
        Ok(on!(self, p => sqlx::query_as::<_, YearItem>(
            "SELECT id, plan_id, grp, code, title, periods, source, parts, score FROM year_plan_items
             WHERE plan_id = $1 ORDER BY grp, id")
            .bind(plan_id).fetch_all(p).await)?)
    }

    /// Plans of a year, not drafts, whose author's unit or approver is in `root`'s subtree
    /// (`None` = everywhere), sorted by unit then name.
    pub async fn year_plans_in(&self, root: Option<i64>, year: &str) -> Result<Vec<YearPlan>> {
        let sql = format!(
            "{DOWN} {PLAN_SQL}
             WHERE yp.school_year = $2 AND yp.status <> 'draft'
               AND (CAST($1 AS BIGINT) IS NULL OR yp.unit_id IN (SELECT id FROM down)
                    OR yp.approver_unit_id IN (SELECT id FROM down))
             ORDER BY wu.name, p.sort_key, yp.id"
        );
        Ok(on!(self, p => sqlx::query_as::<_, YearPlan>(sqlx::AssertSqlSafe(sql)).bind(root).bind(year)
            .fetch_all(p).await)?)
    }

    /// Check the items of a plan against its policy, the catalog and the person's completed
    /// modules (where the province counts them); returns them with titles and sources.
    async fn checked_items(
        &self,
        policy: &Policy,
        person_id: i64,
        year: &str,
        items: &[ItemInput],
        waived: &[String],
    ) -> Result<Vec<(ItemInput, String, &'static str)>> {
        let rounds_group = match self.province_of(person_id).await? {
            Some(prov) => self.rounds_group(prov, year).await?,
            None => None,
        };
        let completed = if rounds_group.is_some() { self.completed_modules(person_id, year).await? } else { vec![] };
        let mut c = Checker::default();
        let mut out = Vec::new();
        for i in items {
            let code = i.code.trim().to_string();
            let Some(g) = policy.group(&i.group) else {
                c.add(&code, "yearly_group_unknown");
                continue;
            };
            if waived.contains(&g.key) {
                c.add(&code, "yearly_group_exempt");
                continue;
            }
            let round = completed.iter().find(|m| m.code == code && rounds_group.as_deref() == Some(g.key.as_str()));
            let (title, source) = match (&g.choose_from, round) {
                (_, Some(m)) if code != g.key => {
                    (format!("{} {} (hoàn thành trong đợt bồi dưỡng)", m.code, m.title), "round")
                }
                (None, _) if code == g.key => (g.label_vi.clone(), "plan"),
                (None, _) => {
                    c.add(&code, "yearly_group_unknown");
                    continue;
                }
                (Some(family), _) => match self.module(&code).await? {
                    Some(m) if &m.family == family => (format!("{} {}", m.code, m.title_vi), "plan"),
                    _ => {
                        c.add(&code, "yearly_module_not_in_group");
                        continue;
                    }
                },
            };
            out.push((ItemInput { group: i.group.clone(), code, periods: i.periods }, title, source));
        }
        c.finish()?;
        let plan: Vec<PlanItem> = out
            .iter()
            .map(|(i, _, source)| PlanItem {
                group: i.group.clone(),
                code: i.code.clone(),
                periods: i.periods,
                from_round: *source == "round",
            })
            .collect();
        policy.check_plan(&plan, waived)?;
        Ok(out)
    }

    /// The group of the plan a province counts modules completed in rounds towards in a year
    /// (none: they do not count).
    pub async fn rounds_group(&self, province: i64, year: &str) -> Result<Option<String>> {
        Ok(self.setting(province, &rounds_setting_key(year)).await?.filter(|v| !v.is_empty()))
    }

    /// Count modules completed in rounds towards `group` of the year's plans in a province (the
    /// group must be one of the year's teacher policy), or stop counting them (`None`).
    pub async fn set_rounds_group(
        &self,
        actor: Option<i64>,
        province: i64,
        year: &str,
        group: Option<&str>,
    ) -> Result<()> {
        check_year(year)?;
        let unit = self.unit(province).await?.ok_or(StoreError::NotFound)?;
        if unit.kind != "province" {
            return Err(invalid("unit", "kind_mismatch"));
        }
        if let Some(g) = group {
            let reference = self.year_policy(Some(province), year, Audience::Teacher).await?;
            let policy = self.scoring_policy(&reference).await?.ok_or_else(|| invalid("policy", "not_found"))?;
            if policy.group(g).is_none() {
                return Err(invalid("yearly_rounds_group", "yearly_group_unknown"));
            }
        }
        self.set_setting(actor, province, &rounds_setting_key(year), group.unwrap_or("")).await
    }

    /// Modules a person completed in rounds during a school year (1 August to 31 July): the
    /// university confirmed them (the third sign-off, current and passed).
    pub async fn completed_modules(&self, person_id: i64, year: &str) -> Result<Vec<CompletedModule>> {
        let start = check_year(year)?;
        let from = bdtx_domain::round::day_start(chrono::NaiveDate::from_ymd_opt(start, 8, 1).expect("date"));
        let to = bdtx_domain::round::day_start(chrono::NaiveDate::from_ymd_opt(start + 1, 8, 1).expect("date"));
        Ok(on!(self, p => sqlx::query_as::<_, CompletedModule>(
            "SELECT r.module_code AS code, COALESCE(MAX(m.title_vi), r.module_code) AS title, MAX(v.at) AS at
             FROM enrollments e JOIN rounds r ON r.id = e.round_id
             JOIN signoffs v ON v.enrollment_id = e.id AND v.gate = 'university' AND v.undone_at IS NULL AND v.pass = TRUE
             LEFT JOIN modules m ON m.code = r.module_code
             WHERE e.person_id = $1 AND e.status <> 'merged' AND v.at >= $2 AND v.at < $3
             GROUP BY r.module_code ORDER BY r.module_code")
            .bind(person_id).bind(from).bind(to).fetch_all(p).await)?)
    }

    /// Create or replace the items of a person's plan for a year. The plan must be a draft or
    /// returned; an approved plan changes only after it is reopened. A plan short of the
    /// required periods, an unknown module or periods out of range change nothing.
    pub async fn save_year_plan(
        &self,
        actor: Option<i64>,
        person_id: i64,
        year: &str,
        items: &[ItemInput],
    ) -> Result<i64> {
        self.save_year_plan_claiming(actor, person_id, year, items, None).await
    }

    /// Save a plan as `save_year_plan`, claiming an exemption of the plan's policy (`None`: none):
    /// the person must be one it applies to (the year, their subjects); the groups it waives then
    /// need no periods and hold no items. The approver checks the fact behind the claim.
    pub async fn save_year_plan_claiming(
        &self,
        actor: Option<i64>,
        person_id: i64,
        year: &str,
        items: &[ItemInput],
        exemption: Option<&str>,
    ) -> Result<i64> {
        check_year(year)?;
        let existing = self.year_plan_of(person_id, year).await?;
        if existing.as_ref().is_some_and(|p| !p.editable()) {
            return Err(invalid("yearly_plan", "yearly_plan_locked"));
        }
        let policy = match &existing {
            Some(p) => self.scoring_policy(&p.policy).await?.ok_or_else(|| invalid("policy", "not_found"))?,
            None => self.policy_for(person_id, year).await?,
        };
        let audience = self.audience_of(person_id).await?;
        let exemption = exemption.map(str::trim).filter(|e| !e.is_empty());
        if let Some(key) = exemption {
            let person = self.person(person_id).await?.ok_or(StoreError::NotFound)?;
            let mut subjects: Vec<String> = person.main_subject.clone().into_iter().collect();
            subjects.extend(person.other_subjects.split(';').filter(|s| !s.is_empty()).map(String::from));
            match policy.exemption(key) {
                Some(e) if e.applies(year, &subjects) => {}
                Some(_) => return Err(invalid("yearly_exemption", "yearly_exemption_not_eligible")),
                None => return Err(invalid("yearly_exemption", "invalid")),
            }
        }
        let waived = policy.waived(exemption);
        let items = self.checked_items(&policy, person_id, year, items, &waived).await?;
        let unit = self.person_chain(person_id).await?.first().copied();
        let before = match &existing {
            Some(p) => self.year_items(p.id).await?,
            None => vec![],
        };
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = match &existing {
                Some(plan) => {
                    // Changing a plan (after it was returned or reopened) clears its classification
                    // until the school saves its results again; scores of the items kept stay.
                    let n = sqlx::query(
                        "UPDATE year_plans SET updated_at = $2, result_average = NULL, result_class = NULL, result_label = NULL,
                            result_policy = NULL, result_by = NULL, result_at = NULL, exemption = $3
                         WHERE id = $1 AND status IN ('draft', 'returned')")
                        .bind(plan.id).bind(t).bind(exemption).execute(&mut *tx).await?.rows_affected();
                    if n != 1 {
                        return Err(invalid("yearly_plan", "yearly_plan_locked"));
                    }
                    sqlx::query("DELETE FROM year_plan_items WHERE plan_id = $1").bind(plan.id).execute(&mut *tx).await?;
                    plan.id
                }
                None => sqlx::query_scalar(
                    "INSERT INTO year_plans (person_id, school_year, policy, audience, status, unit_id, created_at, updated_at, exemption)
                     VALUES ($1, $2, $3, $4, 'draft', $5, $6, $6, $7) RETURNING id")
                    .bind(person_id).bind(year).bind(policy.reference()).bind(audience.as_str()).bind(unit).bind(t)
                    .bind(exemption)
                    .fetch_one(&mut *tx).await.map_err(|e| conflict(e, "yearly_plan"))?,
            };
            for (i, title, source) in &items {
                let kept = before.iter().find(|b| b.code == i.code && b.grp == i.group);
                sqlx::query(
                    "INSERT INTO year_plan_items (plan_id, grp, code, title, periods, source, parts, score)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(id).bind(&i.group).bind(&i.code).bind(title).bind(i.periods).bind(source)
                    .bind(kept.map(|k| k.parts.clone()).unwrap_or_default()).bind(kept.and_then(|k| k.score))
                    .execute(&mut *tx).await?;
            }
            let codes: Vec<_> = items.iter().map(|(i, _, _)| format!("{}:{}", i.code, i.periods)).collect();
            crate::audit_insert!(tx, actor, "year_plan.save", "year_plan", id, unit, None::<String>,
                Some(serde_json::json!({"year": year, "policy": policy.reference(), "items": codes, "exemption": exemption}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Send a draft or returned plan to its approver, computed now (a teacher's school; a
    /// manager's commune office or province, by the province's setting).
    pub async fn submit_year_plan(&self, actor: Option<i64>, id: i64) -> Result<YearPlan> {
        let plan = self.year_plan(id).await?.ok_or(StoreError::NotFound)?;
        if !plan.editable() {
            return Err(StoreError::Conflict("yearly_submission"));
        }
        let policy = self.scoring_policy(&plan.policy).await?.ok_or_else(|| invalid("policy", "not_found"))?;
        let items = self.year_items(id).await?;
        let plan_items: Vec<PlanItem> = items
            .iter()
            .map(|i| PlanItem {
                group: i.grp.clone(),
                code: i.code.clone(),
                periods: i.periods,
                from_round: i.source == "round",
            })
            .collect();
        policy.check_plan(&plan_items, &policy.waived(plan.exemption.as_deref()))?;
        let (unit, approver, _) = self.plan_approver_for(plan.person_id).await?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let n = sqlx::query(
                "UPDATE year_plans SET status = 'submitted', unit_id = $2, approver_unit_id = $3, submitted_at = $4, updated_at = $4
                 WHERE id = $1 AND status IN ('draft', 'returned')")
                .bind(id).bind(unit).bind(approver).bind(t).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("yearly_submission"));
            }
            crate::audit_insert!(tx, actor, "year_plan.submit", "year_plan", id, Some(approver), None::<String>,
                Some(serde_json::json!({"approver_unit": approver, "unit": unit}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.year_plan(id).await?.ok_or(StoreError::NotFound)
    }

    /// Approve a submitted plan, or return it with a comment; `reopen` turns an approved plan
    /// back to returned (a reason is required), so that it can be changed.
    pub async fn decide_year_plan(&self, actor: Option<i64>, id: i64, decision: &str, comment: &str) -> Result<()> {
        let mut c = Checker::default();
        let comment = clean_text("yearly_comment", comment, &mut c);
        let (from, to, action) = match decision {
            "approve" => ("submitted", "approved", "year_plan.approve"),
            "return" => ("submitted", "returned", "year_plan.return"),
            "reopen" => ("approved", "returned", "year_plan.reopen"),
            _ => return Err(invalid("yearly_decision", "invalid")),
        };
        if to == "returned" && comment.is_empty() {
            c.add("yearly_comment", "required");
        }
        c.finish()?;
        let plan = self.year_plan(id).await?.ok_or(StoreError::NotFound)?;
        if plan.status != from {
            return Err(StoreError::Conflict("yearly_decision"));
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let n = sqlx::query(
                "UPDATE year_plans SET status = $2, decision_comment = $3, decided_by = $4, decided_at = $5, updated_at = $5
                 WHERE id = $1 AND status = $6")
                .bind(id).bind(to).bind(&comment).bind(actor).bind(t).bind(from).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("yearly_decision"));
            }
            crate::audit_insert!(tx, actor, action, "year_plan", id, plan.approver_unit_id, None::<String>,
                Some(serde_json::json!({"comment": comment}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Enter the results of an approved plan: for each item, its parts as typed (all blank =
    /// not scored yet). Every part is checked against its range first; one bad part refuses the
    /// whole entry. The year is then classified by the plan's policy and the result kept.
    pub async fn enter_year_results(
        &self,
        actor: Option<i64>,
        id: i64,
        entries: &[(i64, Vec<String>)],
    ) -> Result<scoring::Outcome> {
        let plan = self.year_plan(id).await?.ok_or(StoreError::NotFound)?;
        if plan.status != "approved" {
            return Err(invalid("yearly_results", "yearly_results_need_approval"));
        }
        let policy = self.scoring_policy(&plan.policy).await?.ok_or_else(|| invalid("policy", "not_found"))?;
        let items = self.year_items(id).await?;
        let mut errors: Vec<FieldError> = Vec::new();
        let mut updates: Vec<(i64, String, Option<Pts>)> = Vec::new();
        for item in &items {
            let Some((_, parts)) = entries.iter().find(|(i, _)| *i == item.id) else { continue };
            if parts.iter().all(|x| x.trim().is_empty()) {
                updates.push((item.id, String::new(), None));
                continue;
            }
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            match policy.item_score(&refs) {
                Ok((score, values)) => updates.push((
                    item.id,
                    values.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
                    Some(score),
                )),
                Err(e) => errors.extend(
                    e.errors
                        .into_iter()
                        .map(|f| FieldError { field: format!("{} — {}", item.code, f.field), code: f.code }),
                ),
            }
        }
        if entries.iter().any(|(i, _)| !items.iter().any(|x| x.id == *i)) {
            errors.push(FieldError { field: "yearly_results".into(), code: "not_found" });
        }
        if !errors.is_empty() {
            return Err(Invalid { errors }.into());
        }
        let scores: Vec<ItemScore> = items
            .iter()
            .map(|i| ItemScore {
                group: i.grp.clone(),
                code: i.code.clone(),
                score: updates.iter().find(|u| u.0 == i.id).map(|u| u.2).unwrap_or(i.score),
            })
            .collect();
        let outcome = policy.classify(&scores, &policy.waived(plan.exemption.as_deref()));
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let n = sqlx::query(
                "UPDATE year_plans SET result_average = $2, result_class = $3, result_label = $4, result_policy = $5,
                    result_by = $6, result_at = $7, updated_at = $7 WHERE id = $1 AND status = 'approved'")
                .bind(id).bind(outcome.average).bind(&outcome.class_key).bind(&outcome.label_vi).bind(policy.reference())
                .bind(actor).bind(t).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(invalid("yearly_results", "yearly_results_need_approval"));
            }
            for (item, parts, score) in &updates {
                sqlx::query("UPDATE year_plan_items SET parts = $2, score = $3, scored_by = $4, scored_at = $5 WHERE id = $1")
                    .bind(item).bind(parts).bind(score).bind(actor).bind(t).execute(&mut *tx).await?;
            }
            crate::audit_insert!(tx, actor, "year_plan.results", "year_plan", id, plan.unit_id, None::<String>,
                Some(serde_json::json!({"average": outcome.average, "class": outcome.class_key,
                    "scores": updates.iter().map(|u| (u.0, u.2)).collect::<Vec<_>>()}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(outcome)
    }

    // ------------------------------------------------------------ standards

    pub async fn assessment(&self, id: i64) -> Result<Option<Assessment>> {
        let sql = format!("{ASSESSMENT_SQL} WHERE a.id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Assessment>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    pub async fn assessment_of(&self, person_id: i64, year: &str, standard: &str) -> Result<Option<Assessment>> {
        let sql = format!("{ASSESSMENT_SQL} WHERE a.person_id = $1 AND a.school_year = $2 AND a.standard = $3");
        Ok(on!(self, p => sqlx::query_as::<_, Assessment>(sqlx::AssertSqlSafe(sql)).bind(person_id).bind(year)
            .bind(standard).fetch_optional(p).await)?)
    }

    /// Submitted and evaluated assessments of a year whose unit is in `root`'s subtree.
    pub async fn assessments_in(&self, root: Option<i64>, year: &str) -> Result<Vec<Assessment>> {
        let sql = format!(
            "{DOWN} {ASSESSMENT_SQL}
             WHERE a.school_year = $2 AND a.status <> 'draft'
               AND (CAST($1 AS BIGINT) IS NULL OR a.unit_id IN (SELECT id FROM down))
             ORDER BY u.name, p.sort_key, a.id"
        );
        Ok(on!(self, p => sqlx::query_as::<_, Assessment>(sqlx::AssertSqlSafe(sql)).bind(root).bind(year)
            .fetch_all(p).await)?)
    }

    /// Save one's self-assessment (levels per criterion, a note); `submit` sends it to the
    /// colleagues and the principal and needs every criterion. It can change until evaluated.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_self_assessment(
        &self,
        actor: Option<i64>,
        person_id: i64,
        year: &str,
        standard: &Standard,
        levels: &[Option<Level>],
        note: &str,
        submit: bool,
    ) -> Result<i64> {
        check_year(year)?;
        let mut c = Checker::default();
        let note = clean_text("standard_note", note, &mut c);
        if levels.len() != standard.len() {
            c.add("standard_levels", "standard_levels_count");
        }
        c.finish()?;
        let existing = self.assessment_of(person_id, year, standard.key).await?;
        // Once submitted, every criterion stays assessed.
        let need_all = submit || existing.as_ref().is_some_and(|a| a.status == "submitted");
        let overall = if need_all { Some(standard.overall(levels)?) } else { standard.overall(levels).ok() };
        if existing.as_ref().is_some_and(|a| a.status == "evaluated") {
            return Err(invalid("standard", "standard_evaluated"));
        }
        let unit = self.person_chain(person_id).await?.first().copied();
        let text = levels_text(levels);
        let status = if submit { "submitted" } else { existing.as_ref().map(|a| a.status.as_str()).unwrap_or("draft") };
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = match &existing {
                Some(a) => {
                    let n = sqlx::query(
                        "UPDATE standard_assessments SET self_levels = $2, self_overall = $3, self_note = $4, status = $5,
                            unit_id = $6, submitted_at = CASE WHEN $7 THEN $8 ELSE submitted_at END, updated_at = $8
                         WHERE id = $1 AND status <> 'evaluated'")
                        .bind(a.id).bind(&text).bind(overall.map(Level::as_str)).bind(&note).bind(status).bind(unit)
                        .bind(submit).bind(t).execute(&mut *tx).await?.rows_affected();
                    if n != 1 {
                        return Err(invalid("standard", "standard_evaluated"));
                    }
                    a.id
                }
                None => sqlx::query_scalar(
                    "INSERT INTO standard_assessments (person_id, school_year, standard, unit_id, status, self_levels,
                        self_overall, self_note, submitted_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id")
                    .bind(person_id).bind(year).bind(standard.key).bind(unit).bind(status).bind(&text)
                    .bind(overall.map(Level::as_str)).bind(&note).bind(submit.then_some(t)).bind(t)
                    .fetch_one(&mut *tx).await.map_err(|e| conflict(e, "standard"))?,
            };
            crate::audit_insert!(tx, actor, if submit { "standard.submit" } else { "standard.save" }, "standard_assessment",
                id, unit, None::<String>,
                Some(serde_json::json!({"levels": text, "overall": overall.map(Level::as_str)}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Keep an evidence file (already checked and stored) for a criterion, until evaluation.
    pub async fn add_evidence(
        &self,
        actor: Option<i64>,
        id: i64,
        criterion: i64,
        sha256: &str,
        name: &str,
        mime: &str,
    ) -> Result<()> {
        let a = self.assessment(id).await?.ok_or(StoreError::NotFound)?;
        let standard = standards::by_key(&a.standard).ok_or(StoreError::NotFound)?;
        if !(1..=standard.len() as i64).contains(&criterion) {
            return Err(invalid("standard_criterion", "invalid"));
        }
        if a.status == "evaluated" {
            return Err(invalid("standard", "standard_evaluated"));
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO standard_evidence (assessment_id, criterion, sha256, name, mime, uploaded_by, uploaded_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(id).bind(criterion).bind(sha256).bind(name).bind(mime).bind(actor).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "standard.evidence", "standard_assessment", id, a.unit_id, None::<String>,
                Some(serde_json::json!({"criterion": criterion, "sha256": sha256, "name": name}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn evidence(&self, id: i64) -> Result<Vec<Evidence>> {
        Ok(on!(self, p => sqlx::query_as::<_, Evidence>(
            "SELECT id, assessment_id, criterion, sha256, name, mime, uploaded_at FROM standard_evidence
             WHERE assessment_id = $1 ORDER BY criterion, id")
            .bind(id).fetch_all(p).await)?)
    }

    pub async fn evidence_item(&self, id: i64) -> Result<Option<Evidence>> {
        Ok(on!(self, p => sqlx::query_as::<_, Evidence>(
            "SELECT id, assessment_id, criterion, sha256, name, mime, uploaded_at FROM standard_evidence WHERE id = $1")
            .bind(id).fetch_optional(p).await)?)
    }

    /// A colleague's (or an admin's) opinion on a submitted self-assessment.
    pub async fn comment_assessment(
        &self,
        actor: Option<i64>,
        author_person: Option<i64>,
        id: i64,
        body: &str,
    ) -> Result<()> {
        let mut c = Checker::default();
        let body = clean_text("standard_comment", body, &mut c);
        if body.is_empty() {
            c.add("standard_comment", "required");
        }
        c.finish()?;
        let a = self.assessment(id).await?.ok_or(StoreError::NotFound)?;
        if a.status != "submitted" {
            return Err(invalid("standard_comment", "standard_not_submitted"));
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO standard_comments (assessment_id, author_person_id, author_account_id, body, created_at)
                         VALUES ($1, $2, $3, $4, $5)")
                .bind(id).bind(author_person).bind(actor).bind(&body).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "standard.comment", "standard_assessment", id, a.unit_id, None::<String>,
                Some(serde_json::json!({"chars": body.chars().count()}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn assessment_comments(&self, id: i64) -> Result<Vec<Comment>> {
        Ok(on!(self, p => sqlx::query_as::<_, Comment>(
            "SELECT c.id, c.body, c.created_at, COALESCE(p.full_name, ac.username, '') AS author
             FROM standard_comments c LEFT JOIN people p ON p.id = c.author_person_id
             LEFT JOIN accounts ac ON ac.id = c.author_account_id
             WHERE c.assessment_id = $1 ORDER BY c.id")
            .bind(id).fetch_all(p).await)?)
    }

    /// The principal's evaluation of a submitted self-assessment: a level for every criterion;
    /// the overall level follows the standard's rule. Evaluating twice is a conflict.
    pub async fn evaluate_assessment(
        &self,
        actor: Option<i64>,
        id: i64,
        levels: &[Option<Level>],
        comment: &str,
    ) -> Result<Level> {
        let a = self.assessment(id).await?.ok_or(StoreError::NotFound)?;
        let standard = standards::by_key(&a.standard).ok_or(StoreError::NotFound)?;
        let mut c = Checker::default();
        let comment = clean_text("standard_comment", comment, &mut c);
        c.finish()?;
        let overall = standard.overall(levels)?;
        if a.status != "submitted" {
            return Err(StoreError::Conflict("standard_evaluation"));
        }
        let text = levels_text(levels);
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let n = sqlx::query(
                "UPDATE standard_assessments SET status = 'evaluated', eval_levels = $2, eval_overall = $3, eval_comment = $4,
                    evaluated_by = $5, evaluated_at = $6, updated_at = $6 WHERE id = $1 AND status = 'submitted'")
                .bind(id).bind(&text).bind(overall.as_str()).bind(&comment).bind(actor).bind(t)
                .execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("standard_evaluation"));
            }
            crate::audit_insert!(tx, actor, "standard.evaluate", "standard_assessment", id, a.unit_id, None::<String>,
                Some(serde_json::json!({"levels": text, "overall": overall.as_str()}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(overall)
    }

    /// Evaluated assessments of a year in `root`'s subtree, counted by unit and by criterion.
    pub async fn standard_rollup(&self, root: Option<i64>, year: &str, standard: &Standard) -> Result<Rollup> {
        let rows = self.assessments_in(root, year).await?;
        let mut r = Rollup { per_criterion: vec![[0; 4]; standard.len()], ..Rollup::default() };
        for a in rows.iter().filter(|a| a.status == "evaluated" && a.standard == standard.key) {
            let Some(overall) = a.eval_overall.as_deref().and_then(Level::parse) else { continue };
            r.people += 1;
            r.overall[overall as usize] += 1;
            let name = a.unit_name.clone().unwrap_or_default();
            match r.units.iter_mut().find(|u| u.0 == name) {
                Some(u) => u.1[overall as usize] += 1,
                None => {
                    let mut c = [0; 4];
                    c[overall as usize] += 1;
                    r.units.push((name, c));
                }
            }
            for (i, l) in parse_levels(&a.eval_levels).iter().enumerate() {
                if let (Some(l), Some(slot)) = (l, r.per_criterion.get_mut(i)) {
                    slot[*l as usize] += 1;
                }
            }
        }
        Ok(r)
    }
}

// ------------------------------------------------------------ deadlines and reports upward

/// A unit's classified list (a school) or summary (an office) of a year, sent upward.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct YearlyReport {
    pub unit_id: i64,
    pub school_year: String,
    pub to_unit_id: i64,
    /// JSON: `plans`, `approved`, `classified`, `classes` [[label, count]], and for a school `rows`.
    pub figures: String,
    pub note: String,
    pub first_sent_at: i64,
    pub sent_at: i64,
    /// How many times it was sent.
    pub times: i64,
}

impl YearlyReport {
    pub fn figures_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.figures).unwrap_or_default()
    }
}

/// A unit expected to send its list to an office, and what it sent.
#[derive(Debug, Clone, Serialize)]
pub struct Sender {
    pub unit_id: i64,
    pub name: String,
    pub kind: String,
    pub report: Option<YearlyReport>,
    /// Its deadline (a school's `school_report`, an office's `office_report`), ISO.
    pub due: Option<String>,
    /// Sent (first) after the deadline, or not sent and the deadline has passed.
    pub late: bool,
}

const REPORT_SQL: &str = "SELECT unit_id, school_year, to_unit_id, figures, note, first_sent_at, sent_at, times
    FROM yearly_reports";

fn is_office(kind: &str) -> bool {
    matches!(kind, "commune" | "province")
}

/// The deadline kind of what a unit sends upward: a school its list, an office its summary.
pub fn report_kind(unit_kind: &str) -> Option<&'static str> {
    match unit_kind {
        "school" => Some("school_report"),
        "commune" => Some("office_report"),
        _ => None,
    }
}

impl Db {
    /// The deadlines a province set for a year, as (kind, ISO date), in `DEADLINE_KINDS` order.
    pub async fn yearly_deadlines(&self, province: i64, year: &str) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = on!(self, p => sqlx::query_as(
            "SELECT kind, due FROM yearly_deadlines WHERE province_id = $1 AND school_year = $2")
            .bind(province).bind(year).fetch_all(p).await)?;
        Ok(scoring::DEADLINE_KINDS.iter().filter_map(|k| rows.iter().find(|r| r.0 == *k).cloned()).collect())
    }

    /// One deadline of a province's year; the personal plans' defaults to 31 May (the 2019 rules)
    /// when the province set none. `None` province: the default only.
    pub async fn yearly_deadline(&self, province: Option<i64>, year: &str, kind: &str) -> Result<Option<NaiveDate>> {
        let start = check_year(year)?;
        let set = match province {
            Some(prov) => self.yearly_deadlines(prov, year).await?.into_iter().find(|d| d.0 == kind),
            None => None,
        };
        Ok(match set {
            Some((_, d)) => bdtx_domain::dates::parse_date(&d),
            None if kind == "plan_submit" => Some(scoring::plan_deadline(start)),
            None => None,
        })
    }

    /// Set (or clear, `None`) a province's deadlines of a year, checked as a whole with those it
    /// keeps (within the school year, in order); bad input changes nothing.
    pub async fn set_yearly_deadlines(
        &self,
        actor: Option<i64>,
        province: i64,
        year: &str,
        due: &[(&str, Option<NaiveDate>)],
    ) -> Result<()> {
        let start = check_year(year)?;
        let unit = self.unit(province).await?.ok_or(StoreError::NotFound)?;
        if unit.kind != "province" {
            return Err(invalid("unit", "kind_mismatch"));
        }
        let before = self.yearly_deadlines(province, year).await?;
        let mut all: Vec<(&str, Option<NaiveDate>)> = Vec::new();
        for k in scoring::DEADLINE_KINDS {
            let d = match due.iter().find(|(x, _)| *x == k) {
                Some((_, d)) => *d,
                None => before.iter().find(|b| b.0 == k).and_then(|b| bdtx_domain::dates::parse_date(&b.1)),
            };
            all.push((k, d));
        }
        all.extend(due.iter().filter(|(k, _)| !scoring::DEADLINE_KINDS.contains(k)).copied());
        scoring::check_deadlines(start, &all)?;
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            for (kind, d) in due {
                match d {
                    Some(d) => sqlx::query(
                        "INSERT INTO yearly_deadlines (province_id, school_year, kind, due, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (province_id, school_year, kind) DO UPDATE SET due = excluded.due, set_by = excluded.set_by,
                           set_at = excluded.set_at")
                        .bind(province).bind(year).bind(*kind).bind(iso(*d)).bind(actor).bind(t).execute(&mut *tx).await?,
                    None => sqlx::query("DELETE FROM yearly_deadlines WHERE province_id = $1 AND school_year = $2 AND kind = $3")
                        .bind(province).bind(year).bind(*kind).execute(&mut *tx).await?,
                };
            }
            let after: Vec<_> = all.iter().filter_map(|(k, d)| d.map(|d| (k.to_string(), iso(d)))).collect();
            crate::audit_insert!(tx, actor, "yearly.deadlines", "unit", province, Some(province),
                Some(serde_json::json!({"year": year, "due": before}).to_string()),
                Some(serde_json::json!({"year": year, "due": after}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// The nearest province above (or at) a unit today.
    pub async fn province_of_unit(&self, unit_id: i64) -> Result<Option<i64>> {
        for u in self.ancestors(unit_id, today()).await? {
            if self.unit(u).await?.is_some_and(|x| x.kind == "province") {
                return Ok(Some(u));
            }
        }
        Ok(None)
    }

    /// The office a unit reports its yearly list to: the nearest commune office or province above
    /// it today (a school under a cluster skips the cluster).
    pub async fn report_office_of(&self, unit_id: i64) -> Result<Option<i64>> {
        for u in self.ancestors(unit_id, today()).await?.into_iter().skip(1) {
            if self.unit(u).await?.is_some_and(|x| is_office(&x.kind)) {
                return Ok(Some(u));
            }
        }
        Ok(None)
    }

    /// The deadline of what a unit sends upward, from its province's settings.
    pub async fn report_deadline_of(&self, unit_id: i64, year: &str) -> Result<Option<NaiveDate>> {
        let unit = self.unit(unit_id).await?.ok_or(StoreError::NotFound)?;
        let Some(kind) = report_kind(&unit.kind) else { return Ok(None) };
        let province = self.province_of_unit(unit_id).await?;
        self.yearly_deadline(province, year, kind).await
    }

    /// What a unit's list of a year holds now: its plans sent for approval, approved, classified,
    /// counts per class, and (for a school) the classified people.
    pub async fn yearly_figures(&self, unit_id: i64, year: &str, with_rows: bool) -> Result<serde_json::Value> {
        let plans = self.year_plans_in(Some(unit_id), year).await?;
        let approved: Vec<&YearPlan> = plans.iter().filter(|p| p.status == "approved").collect();
        let mut classes: Vec<(String, i64)> = Vec::new();
        for p in approved.iter().filter_map(|p| p.result_label.as_ref()) {
            match classes.iter_mut().find(|c| &c.0 == p) {
                Some(c) => c.1 += 1,
                None => classes.push((p.clone(), 1)),
            }
        }
        let rows: Vec<serde_json::Value> = if with_rows {
            approved
                .iter()
                .map(|p| {
                    serde_json::json!({"person_id": p.person_id, "name": p.person_name, "position": p.position,
                        "average": p.result_average, "class": p.result_label})
                })
                .collect()
        } else {
            vec![]
        };
        Ok(serde_json::json!({
            "plans": plans.len(),
            "approved": approved.len(),
            "classified": approved.iter().filter(|p| p.result_label.is_some()).count(),
            "classes": classes,
            "rows": rows,
        }))
    }

    /// Send (or send again) a school's classified list or an office's summary of a year to the
    /// office above, with the figures of now. Only schools and commune offices send; a unit with
    /// no approved plan has nothing to send. The first sending time is kept, the count grows.
    pub async fn send_yearly_report(
        &self,
        actor: Option<i64>,
        unit_id: i64,
        year: &str,
        note: &str,
    ) -> Result<YearlyReport> {
        check_year(year)?;
        let mut c = Checker::default();
        let note = clean_text("yearly_report_note", note, &mut c);
        c.finish()?;
        let unit = self.unit(unit_id).await?.ok_or(StoreError::NotFound)?;
        if report_kind(&unit.kind).is_none() {
            return Err(invalid("unit", "yearly_report_unit"));
        }
        let to = self.report_office_of(unit_id).await?.ok_or_else(|| invalid("unit", "yearly_report_unit"))?;
        let figures = self.yearly_figures(unit_id, year, unit.kind == "school").await?;
        if figures["approved"].as_i64().unwrap_or(0) == 0 {
            return Err(invalid("yearly_report", "yearly_report_empty"));
        }
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(
                "INSERT INTO yearly_reports (unit_id, school_year, to_unit_id, figures, note, first_sent_at, sent_at, sent_by, times)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 1)
                 ON CONFLICT (unit_id, school_year) DO UPDATE SET to_unit_id = excluded.to_unit_id, figures = excluded.figures,
                   note = excluded.note, sent_at = excluded.sent_at, sent_by = excluded.sent_by, times = yearly_reports.times + 1")
                .bind(unit_id).bind(year).bind(to).bind(figures.to_string()).bind(&note).bind(t).bind(actor)
                .execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "yearly.report", "unit", unit_id, Some(unit_id), None::<String>,
                Some(serde_json::json!({"year": year, "to": to, "figures": figures, "note": note}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.yearly_report(unit_id, year).await?.ok_or(StoreError::NotFound)
    }

    pub async fn yearly_report(&self, unit_id: i64, year: &str) -> Result<Option<YearlyReport>> {
        let sql = format!("{REPORT_SQL} WHERE unit_id = $1 AND school_year = $2");
        Ok(on!(self, p => sqlx::query_as::<_, YearlyReport>(sqlx::AssertSqlSafe(sql)).bind(unit_id).bind(year)
            .fetch_optional(p).await)?)
    }

    /// The units that report a year's list to an office (schools and commune offices whose
    /// nearest office above is it, today), with what they sent and whether they are late.
    pub async fn yearly_senders(&self, office: i64, year: &str) -> Result<Vec<Sender>> {
        let nodes = self.subtree(office, today(), 20).await?;
        let sent: Vec<YearlyReport> = {
            let sql = format!("{REPORT_SQL} WHERE to_unit_id = $1 AND school_year = $2");
            on!(self, p => sqlx::query_as::<_, YearlyReport>(sqlx::AssertSqlSafe(sql)).bind(office).bind(year)
                .fetch_all(p).await)?
        };
        let province = self.province_of_unit(office).await?;
        let (school_due, office_due) = (
            self.yearly_deadline(province, year, "school_report").await?,
            self.yearly_deadline(province, year, "office_report").await?,
        );
        let now = bdtx_domain::dates::now_unix();
        let mut out = Vec::new();
        for n in nodes.iter().filter(|n| report_kind(&n.kind).is_some()) {
            // Its nearest office above, walking up the subtree.
            let mut up = n.parent_id;
            let mut nearest = None;
            while let Some(u) = up {
                if u == office {
                    nearest = Some(office);
                    break;
                }
                match nodes.iter().find(|x| x.id == u) {
                    Some(x) if is_office(&x.kind) => {
                        nearest = Some(x.id);
                        break;
                    }
                    Some(x) => up = x.parent_id,
                    None => break,
                }
            }
            if nearest != Some(office) {
                continue;
            }
            let report = sent.iter().find(|r| r.unit_id == n.id).cloned();
            let due = if n.kind == "school" { school_due } else { office_due };
            out.push(Sender {
                unit_id: n.id,
                name: n.name.clone(),
                kind: n.kind.clone(),
                late: scoring::is_late(due, report.as_ref().map(|r| r.first_sent_at), now),
                due: due.map(iso),
                report,
            });
        }
        Ok(out)
    }
}

/// Counts of evaluated assessments: overall levels, per unit, per criterion.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rollup {
    pub people: i64,
    pub overall: LevelCounts,
    pub units: Vec<(String, LevelCounts)>,
    pub per_criterion: Vec<LevelCounts>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Assessment {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub school_year: String,
    pub standard: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    /// draft, submitted, evaluated
    pub status: String,
    pub self_levels: String,
    pub self_overall: Option<String>,
    pub self_note: String,
    pub submitted_at: Option<i64>,
    pub eval_levels: String,
    pub eval_overall: Option<String>,
    pub eval_comment: String,
    pub evaluated_at: Option<i64>,
}

impl Assessment {
    pub fn self_level_list(&self) -> Vec<Option<Level>> {
        parse_levels(&self.self_levels)
    }
    pub fn eval_level_list(&self) -> Vec<Option<Level>> {
        parse_levels(&self.eval_levels)
    }
}

const ASSESSMENT_SQL: &str =
    "SELECT a.id, a.person_id, p.full_name AS person_name, a.school_year, a.standard, a.unit_id,
        u.name AS unit_name, a.status, a.self_levels, a.self_overall, a.self_note, a.submitted_at, a.eval_levels,
        a.eval_overall, a.eval_comment, a.evaluated_at
    FROM standard_assessments a JOIN people p ON p.id = a.person_id LEFT JOIN units u ON u.id = a.unit_id";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Evidence {
    pub id: i64,
    pub assessment_id: i64,
    pub criterion: i64,
    pub sha256: String,
    pub name: String,
    pub mime: String,
    pub uploaded_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Comment {
    pub id: i64,
    pub body: String,
    pub created_at: i64,
    pub author: String,
}

/// "kha,tot,,dat" ↔ levels ('' = not assessed).
pub fn levels_text(levels: &[Option<Level>]) -> String {
    levels.iter().map(|l| l.map(Level::as_str).unwrap_or("")).collect::<Vec<_>>().join(",")
}

pub fn parse_levels(s: &str) -> Vec<Option<Level>> {
    if s.is_empty() {
        return vec![];
    }
    s.split(',').map(Level::parse).collect()
}

/// Today's school year: from 1 August, the year starting this calendar year.
pub fn current_school_year() -> String {
    use chrono::Datelike;
    let d = today();
    let start = if d.month() >= 8 { d.year() } else { d.year() - 1 };
    format!("{start}-{}", start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip() {
        let v = vec![Some(Level::Kha), None, Some(Level::Tot)];
        assert_eq!(levels_text(&v), "kha,,tot");
        assert_eq!(parse_levels("kha,,tot"), v);
        assert!(parse_levels("").is_empty());
        assert_eq!(policy_setting_key("2024-2025", Audience::Manager), "yearly.policy.2024-2025.manager");
    }
}
