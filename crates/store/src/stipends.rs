//! What core people are owed for supporting their peers in a round (converted periods and who
//! pays), and the list of concurrent-subject participation the province confirms.

use std::collections::HashMap;

use serde::Serialize;

use bdtx_domain::org::Level;
use bdtx_domain::stipend::{Payer, PeriodRule};

use crate::{Db, Result, on};

/// One core person's converted periods in a round.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PeriodsRow {
    pub person_id: i64,
    pub full_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub level: Option<String>,
    pub classes: Vec<String>,
    /// Learners supported (a class shared by several core people is shared equally).
    pub learners: f64,
    pub periods: f64,
    pub payer: String,
}

/// A concurrent-subject enrollment: participation only, no grades.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ConcurrentRow {
    pub enrollment_id: i64,
    pub full_name: String,
    pub birth_date: Option<String>,
    pub unit_name: String,
    pub subject: String,
    pub main_subject: String,
    pub items_done: i64,
    pub items_required: i64,
    pub ends_on: String,
}

impl Db {
    /// A province's settings for stipends (`periods_per_group`, `group_size`, `payer_<LEVEL>`
    /// = school | province), from the `settings` table.
    pub async fn stipend_settings(&self, unit_id: i64) -> Result<HashMap<String, String>> {
        let rows: Vec<(String, String)> = on!(self, p => sqlx::query_as(
            "SELECT key, value FROM settings WHERE unit_id = $1 AND (key IN ('periods_per_group', 'group_size') OR key LIKE 'payer\\_%' ESCAPE '\\')")
            .bind(unit_id).fetch_all(p).await)?;
        Ok(rows.into_iter().collect())
    }

    /// Converted periods of every core person assigned to a class of the round (under a unit,
    /// if given), with the payer by the level of their school, sorted by payer, school, name.
    pub async fn round_periods(
        &self,
        round_id: i64,
        under: Option<i64>,
        rule: PeriodRule,
        payer_of: &(dyn Fn(Option<Level>) -> Payer + Sync),
    ) -> Result<Vec<PeriodsRow>> {
        #[derive(sqlx::FromRow)]
        struct StaffShare {
            class_name: String,
            person_id: i64,
            full_name: String,
            sort_key: String,
            learners: i64,
            staff: i64,
        }
        let rows: Vec<StaffShare> = on!(self, p => sqlx::query_as::<_, StaffShare>(
            "SELECT c.name AS class_name, s.person_id, p.full_name, p.sort_key,
                    (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id AND e.status = 'active' AND e.kind = 'main') AS learners,
                    (SELECT COUNT(*) FROM class_staff x WHERE x.class_id = c.id) AS staff
             FROM classes c JOIN class_staff s ON s.class_id = c.id JOIN people p ON p.id = s.person_id
             WHERE c.round_id = $1 ORDER BY p.sort_key, c.name")
            .bind(round_id).fetch_all(p).await)?;
        let today = bdtx_domain::dates::iso(bdtx_domain::dates::today());
        let mut by_person: HashMap<i64, (String, String, Vec<String>, f64)> = HashMap::new();
        for r in rows {
            let share = r.learners as f64 / r.staff.max(1) as f64;
            let e =
                by_person.entry(r.person_id).or_insert_with(|| (r.full_name.clone(), r.sort_key.clone(), vec![], 0.0));
            e.2.push(r.class_name);
            e.3 += share;
        }
        let inside: Option<std::collections::HashSet<i64>> = match under {
            Some(u) => Some(self.subtree_ids_all_time(u).await?.into_iter().collect()),
            None => None,
        };
        let mut out = Vec::new();
        for (person_id, (full_name, sort_key, classes, learners)) in by_person {
            let school: Option<(i64, String, String)> = on!(self, p => sqlx::query_as(
                "SELECT u.id, u.name, u.levels FROM person_units pu JOIN units u ON u.id = pu.unit_id
                 WHERE pu.person_id = $1 AND pu.valid_from <= $2 AND (pu.valid_to IS NULL OR pu.valid_to > $2) LIMIT 1")
                .bind(person_id).bind(&today).fetch_optional(p).await)?;
            let Some((unit_id, unit_name, levels)) = school else { continue };
            if inside.as_ref().is_some_and(|s| !s.contains(&unit_id)) {
                continue;
            }
            // A multi-level school pays by its highest level.
            let level = levels.split(',').filter_map(Level::parse).max_by_key(|l| match l {
                Level::MN => 0,
                Level::TH => 1,
                Level::THCS => 2,
                Level::GDTX => 3,
                Level::THPT => 4,
            });
            out.push((
                sort_key,
                PeriodsRow {
                    person_id,
                    full_name,
                    unit_id,
                    unit_name,
                    level: level.map(|l| l.as_str().to_string()),
                    classes,
                    periods: rule.periods(learners),
                    learners: (learners * 100.0).round() / 100.0,
                    payer: payer_of(level).as_str().to_string(),
                },
            ));
        }
        out.sort_by(|a, b| (&a.1.payer, &a.1.unit_name, &a.0).cmp(&(&b.1.payer, &b.1.unit_name, &b.0)));
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    /// Concurrent-subject enrollments of a round (under a unit, if given), without grades.
    pub async fn round_concurrent(&self, round_id: i64, under: Option<i64>) -> Result<Vec<ConcurrentRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, ConcurrentRow>(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($2 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT e.id AS enrollment_id, p.full_name, p.birth_date, u.name AS unit_name, e.subject,
                    COALESCE(m.subject, '') AS main_subject, e.items_done, e.items_required, e.ends_on
             FROM enrollments e JOIN people p ON p.id = e.person_id JOIN units u ON u.id = e.unit_id
             LEFT JOIN enrollments m ON m.round_id = e.round_id AND m.person_id = e.person_id AND m.kind = 'main' AND m.status = 'active'
             WHERE e.round_id = $1 AND e.kind = 'concurrent' AND e.status = 'active'
               AND (CAST($2 AS BIGINT) IS NULL OR e.unit_id IN (SELECT id FROM down))
             ORDER BY u.sort_key, p.sort_key, e.subject")
            .bind(round_id).bind(under).fetch_all(p).await)?)
    }
}
