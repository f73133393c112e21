//! The sign-offs of enrollments (the core person's, the university's) with their history and
//! undos, and the province's approval of a round's completers. The order rules are
//! `bdtx_domain::completion`; every change here is checked against them inside the transaction
//! that writes it, for a whole batch at once (a class), all or nothing.

use std::collections::HashMap;

use serde::Serialize;

use bdtx_domain::completion::{Gate, SignOffs};

use crate::{BeginWrite, Db, Result, StoreError, now, on};

/// One learner of a class with the state of the three sign-offs.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SignOffRow {
    pub enrollment_id: i64,
    pub person_id: i64,
    pub full_name: String,
    pub unit_name: String,
    pub subject: String,
    pub kind: String,
    pub lms_passed_at: Option<i64>,
    pub core_pass: Option<bool>,
    pub core_comment: Option<String>,
    pub core_at: Option<i64>,
    pub university_pass: Option<bool>,
    pub university_at: Option<i64>,
}

impl SignOffRow {
    pub fn state(&self) -> SignOffs {
        SignOffs { lms: self.lms_passed_at.is_some(), core: self.core_pass, university: self.university_pass }
    }
}

/// A past or current mark, for the record of an enrollment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SignOffEvent {
    pub gate: String,
    pub pass: bool,
    pub comment: String,
    pub by: Option<String>,
    pub at: i64,
    pub undone_at: Option<i64>,
    pub undo_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Approval {
    pub id: i64,
    pub round_id: i64,
    pub unit_id: i64,
    pub count: i64,
    pub approved_by: Option<i64>,
    pub approved_at: i64,
}

const ROW_SQL: &str = "SELECT e.id AS enrollment_id, e.person_id, p.full_name, u.name AS unit_name, e.subject, e.kind, e.lms_passed_at,
        c.pass AS core_pass, c.comment AS core_comment, c.at AS core_at, v.pass AS university_pass, v.at AS university_at
    FROM enrollments e JOIN people p ON p.id = e.person_id JOIN units u ON u.id = e.unit_id
    LEFT JOIN signoffs c ON c.enrollment_id = e.id AND c.gate = 'core' AND c.undone_at IS NULL
    LEFT JOIN signoffs v ON v.enrollment_id = e.id AND v.gate = 'university' AND v.undone_at IS NULL";

impl Db {
    /// The main-subject learners of a class with their sign-offs, in Vietnamese order.
    pub async fn class_signoffs(&self, class_id: i64) -> Result<Vec<SignOffRow>> {
        let sql = format!(
            "{ROW_SQL} WHERE e.class_id = $1 AND e.status = 'active' AND e.kind = 'main' ORDER BY p.sort_key, e.id"
        );
        Ok(on!(self, p => sqlx::query_as::<_, SignOffRow>(sqlx::AssertSqlSafe(sql)).bind(class_id).fetch_all(p).await)?)
    }

    /// Completers of a round (all three sign-offs passed), optionally under a unit.
    pub async fn round_completers(&self, round_id: i64, under: Option<i64>) -> Result<Vec<SignOffRow>> {
        let sql = format!(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($2 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             {ROW_SQL}
             WHERE e.round_id = $1 AND e.status = 'active' AND e.kind = 'main' AND e.lms_passed_at IS NOT NULL
               AND c.pass = TRUE AND v.pass = TRUE
               AND (CAST($2 AS BIGINT) IS NULL OR e.unit_id IN (SELECT id FROM down))
             ORDER BY u.sort_key, p.sort_key, e.id"
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, SignOffRow>(sqlx::AssertSqlSafe(sql)).bind(round_id).bind(under).fetch_all(p).await)?,
        )
    }

    pub async fn signoff_history(&self, enrollment_id: i64) -> Result<Vec<SignOffEvent>> {
        Ok(on!(self, p => sqlx::query_as::<_, SignOffEvent>(
            "SELECT s.gate, s.pass, s.comment, p.full_name AS by, s.at, s.undone_at, s.undo_reason
             FROM signoffs s LEFT JOIN people p ON p.id = s.by_person_id WHERE s.enrollment_id = $1 ORDER BY s.id")
            .bind(enrollment_id).fetch_all(p).await)?)
    }

    async fn states(&self, ids: &[i64]) -> Result<HashMap<i64, SignOffs>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let sql = format!("{ROW_SQL} WHERE e.id IN ({list}) AND e.status = 'active'");
            let rows: Vec<SignOffRow> =
                on!(self, p => sqlx::query_as::<_, SignOffRow>(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|r| (r.enrollment_id, r.state())));
        }
        Ok(out)
    }

    /// Mark `gate` for every enrollment of `ids` (one learner or a whole class), all or nothing:
    /// when any of them may not be marked (an earlier step missing, already marked), nothing is
    /// written and the error names the rule. Returns how many were marked.
    #[allow(clippy::too_many_arguments)]
    pub async fn sign_off(
        &self,
        actor: Option<i64>,
        by_person: Option<i64>,
        ids: &[i64],
        gate: Gate,
        pass: bool,
        comment: &str,
        unit: Option<i64>,
    ) -> Result<usize> {
        let comment = bdtx_domain::text::clean(comment);
        if ids.is_empty() {
            return Err(bdtx_domain::Invalid::one("enrollment", "required").into());
        }
        if !pass && comment.is_empty() {
            return Err(bdtx_domain::Invalid::one("comment", "required").into());
        }
        let states = self.states(ids).await?;
        for id in ids {
            let st = states.get(id).ok_or(StoreError::NotFound)?;
            st.check_mark(gate, pass).map_err(|code| bdtx_domain::Invalid::one("signoff", code))?;
        }
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            for id in ids {
                sqlx::query(
                    "INSERT INTO signoffs (enrollment_id, gate, pass, comment, by_person_id, by_account_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(id).bind(gate.as_str()).bind(pass).bind(&comment).bind(by_person).bind(actor).bind(t)
                    .execute(&mut *tx).await.map_err(|e| crate::conflict(e, "signoff"))?;
            }
            crate::retally!(tx, ids);
            crate::audit_insert!(tx, actor, "signoff.mark", "enrollment", ids[0], unit, None::<String>,
                Some(serde_json::json!({"gate": gate.as_str(), "pass": pass, "enrollments": ids, "comment": comment}).to_string()));
            tx.commit().await?;
            Ok(ids.len())
        })
    }

    /// Undo the current mark of `gate` (with a reason, audited); the mark stays in the history.
    pub async fn undo_sign_off(
        &self,
        actor: Option<i64>,
        id: i64,
        gate: Gate,
        reason: &str,
        unit: Option<i64>,
    ) -> Result<()> {
        let reason = bdtx_domain::text::clean(reason);
        let st = *self.states(&[id]).await?.get(&id).ok_or(StoreError::NotFound)?;
        st.check_undo(gate, &reason).map_err(|code| bdtx_domain::Invalid::one("signoff", code))?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE signoffs SET undone_at = $3, undone_by = $4, undo_reason = $5 WHERE enrollment_id = $1 AND gate = $2 AND undone_at IS NULL")
                .bind(id).bind(gate.as_str()).bind(now()).bind(actor).bind(&reason).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("signoff"));
            }
            crate::retally!(tx, &[id]);
            crate::audit_insert!(tx, actor, "signoff.undo", "enrollment", id, unit, None::<String>,
                Some(serde_json::json!({"gate": gate.as_str(), "reason": reason}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Record the province's approval of the current completers of a round under `unit`.
    pub async fn approve_completers(&self, actor: Option<i64>, round_id: i64, unit: i64) -> Result<Approval> {
        let rows = self.round_completers(round_id, Some(unit)).await?;
        if rows.is_empty() {
            return Err(bdtx_domain::Invalid::one("completers", "empty").into());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.enrollment_id).collect();
        let json = serde_json::to_string(&ids).map_err(|e| StoreError::Other(e.to_string()))?;
        let id = on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO completer_approvals (round_id, unit_id, enrollment_ids, count, approved_by, approved_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(round_id).bind(unit).bind(&json).bind(ids.len() as i64).bind(actor).bind(now()).fetch_one(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "round.approve_completers", "round", round_id, Some(unit), None::<String>,
                Some(serde_json::json!({"count": ids.len()}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(id)
        })?;
        self.approval(id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn approval(&self, id: i64) -> Result<Option<Approval>> {
        Ok(on!(self, p => sqlx::query_as::<_, Approval>(
            "SELECT id, round_id, unit_id, count, approved_by, approved_at FROM completer_approvals WHERE id = $1")
            .bind(id).fetch_optional(p).await)?)
    }

    pub async fn approvals(&self, round_id: i64) -> Result<Vec<Approval>> {
        Ok(on!(self, p => sqlx::query_as::<_, Approval>(
            "SELECT id, round_id, unit_id, count, approved_by, approved_at FROM completer_approvals WHERE round_id = $1 ORDER BY id DESC")
            .bind(round_id).fetch_all(p).await)?)
    }

    /// Classes of rounds in the given provinces (for a key lecturer's confirmation list).
    pub async fn classes_in_provinces(&self, provinces: &[i64]) -> Result<Vec<crate::rounds::Class>> {
        let mut out = Vec::new();
        for prov in provinces {
            let units = self.subtree_ids_all_time(*prov).await?;
            let mut rounds: Vec<i64> = Vec::new();
            for g in self.programmes(Some(&units)).await? {
                rounds.extend(self.rounds_of_programme(g.id).await?.into_iter().map(|r| r.id));
            }
            for r in rounds {
                out.extend(self.classes_of_round(r).await?);
            }
        }
        Ok(out)
    }
}
