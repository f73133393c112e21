//! The append-only audit log of administrative changes: who, what, when, before and after.
//! The tables refuse UPDATE and DELETE by trigger on both backends.

use serde::Serialize;

use crate::{Db, Result, on};

/// Insert an audit entry inside an open transaction `$tx` (any backend).
#[macro_export]
macro_rules! audit_insert {
    ($tx:ident, $actor:expr, $action:expr, $entity:expr, $entity_id:expr, $unit:expr, $before:expr, $after:expr) => {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, unit_id, before_json, after_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($crate::now_pub())
        .bind($actor)
        .bind($action)
        .bind($entity)
        .bind($entity_id.to_string())
        .bind($unit)
        .bind($before)
        .bind($after)
        .execute(&mut *$tx)
        .await?;
    };
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_account_id: Option<i64>,
    pub actor: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub unit_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl Db {
    /// Newest entries first, limited to the subtree of `root` (all units ever under it) when
    /// given; `before` pages backwards by id.
    pub async fn audit_list(&self, root: Option<i64>, before: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        let before = before.unwrap_or(i64::MAX);
        let rows = match root {
            None => on!(self, p => sqlx::query_as::<_, AuditEntry>(
                "SELECT a.id, a.at, a.actor_account_id, ac.username AS actor, a.action, a.entity, a.entity_id, a.unit_id, a.before_json, a.after_json
                 FROM audit_log a LEFT JOIN accounts ac ON ac.id = a.actor_account_id
                 WHERE a.id < $1 ORDER BY a.id DESC LIMIT $2")
                .bind(before).bind(limit).fetch_all(p).await)?,
            Some(root) => on!(self, p => sqlx::query_as::<_, AuditEntry>(
                "WITH RECURSIVE down(id) AS (
                    SELECT CAST($3 AS BIGINT)
                    UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
                 )
                 SELECT a.id, a.at, a.actor_account_id, ac.username AS actor, a.action, a.entity, a.entity_id, a.unit_id, a.before_json, a.after_json
                 FROM audit_log a LEFT JOIN accounts ac ON ac.id = a.actor_account_id
                 WHERE a.id < $1 AND a.unit_id IN (SELECT id FROM down) ORDER BY a.id DESC LIMIT $2")
                .bind(before).bind(limit).bind(root).fetch_all(p).await)?,
        };
        Ok(rows)
    }
}
