//! Organisation units with validity dates, the dated parent links that form the tree, and the
//! restructuring operations (merge, rename, move) that keep history.

use chrono::NaiveDate;
use serde::Serialize;

use bdtx_domain::dates::iso;
use bdtx_domain::org::{self, Level, UnitKind, UnitSpan};
use bdtx_domain::text::{clean, fold, text_sort_key};
use bdtx_domain::{Invalid, error::Checker};

use crate::{BeginWrite, Db, Result, StoreError, conflict, now, on};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub levels: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub successor_id: Option<i64>,
}

/// A unit placed in a tree at some date.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TreeNode {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub levels: String,
    pub parent_id: Option<i64>,
    pub depth: i64,
}

#[derive(Debug, Clone)]
pub struct NewUnit {
    pub code: String,
    pub kind: UnitKind,
    pub name: String,
    pub levels: Vec<Level>,
    pub parent_id: Option<i64>,
    pub valid_from: NaiveDate,
    /// Exclusive end, for historical units.
    pub valid_to: Option<NaiveDate>,
}

pub const MAX_CODE: usize = 40;

fn check_new(n: &NewUnit) -> Result<(String, String), Invalid> {
    let mut c = Checker::default();
    let code = n.code.trim().to_string();
    let name = clean(&n.name);
    if code.is_empty() {
        c.add("code", "required");
    } else if code.len() > MAX_CODE
        || !code.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
    {
        c.add("code", "invalid_code");
    }
    if name.is_empty() {
        c.add("name", "required");
    } else if name.chars().count() > 200 {
        c.add("name", "too_long");
    }
    if n.valid_to.is_some_and(|t| t <= n.valid_from) {
        c.add("valid_to", "overlap");
    }
    if n.kind != UnitKind::School && !n.levels.is_empty() {
        c.add("levels", "invalid_level");
    }
    c.finish()?;
    Ok((code, name))
}

fn span(u: &Unit) -> Result<UnitSpan> {
    let d =
        |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| StoreError::Other(format!("bad date {s}: {e}")));
    Ok(UnitSpan {
        id: u.id,
        kind: UnitKind::parse(&u.kind).ok_or_else(|| StoreError::Other(format!("bad kind {}", u.kind)))?,
        valid_from: d(&u.valid_from)?,
        valid_to: u.valid_to.as_deref().map(d).transpose()?,
    })
}

const UNIT_COLS: &str = "id, code, kind, name, levels, valid_from, valid_to, successor_id";

impl Db {
    /// Create a unit (and its parent link from `valid_from`). Used by the demo, imports and
    /// `create-admin`; restructuring uses [`Db::merge_units`] and [`Db::move_unit`].
    pub async fn create_unit(&self, actor: Option<i64>, n: &NewUnit) -> Result<i64> {
        let (code, name) = check_new(n)?;
        if let Some(pid) = n.parent_id {
            let parent = self.unit(pid).await?.ok_or(StoreError::Invalid(Invalid::one("parent", "not_found")))?;
            let ps = span(&parent)?;
            let mut c = Checker::default();
            if !n.kind.allowed_parent(ps.kind) {
                c.add("parent", "kind_not_allowed");
            }
            if !ps.valid_at(n.valid_from) {
                c.add("parent", "not_valid_at_date");
            }
            c.finish()?;
        } else if n.kind != UnitKind::Ministry {
            return Err(Invalid::one("parent", "required").into());
        }
        let from = iso(n.valid_from);
        let to = n.valid_to.map(iso);
        let after = serde_json::json!({"code": code, "kind": n.kind.as_str(), "name": name,
            "levels": org::levels_to_string(&n.levels), "parent_id": n.parent_id, "valid_from": from, "valid_to": to});
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO units (code, kind, name, name_folded, sort_key, levels, valid_from, valid_to, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
                .bind(&code).bind(n.kind.as_str()).bind(&name).bind(fold(&name)).bind(text_sort_key(&name))
                .bind(org::levels_to_string(&n.levels)).bind(&from).bind(&to).bind(now())
                .fetch_one(&mut *tx).await.map_err(|e| conflict(e, "code"))?;
            if let Some(pid) = n.parent_id {
                sqlx::query("INSERT INTO unit_links (unit_id, parent_id, valid_from, valid_to) VALUES ($1, $2, $3, $4)")
                    .bind(id).bind(pid).bind(&from).bind(&to).execute(&mut *tx).await?;
            }
            crate::audit_insert!(tx, actor, "unit.create", "unit", id, Some(n.parent_id.unwrap_or(id)), None::<String>, Some(after.to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn unit(&self, id: i64) -> Result<Option<Unit>> {
        let sql = const_format_units("WHERE id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Unit>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    /// The unit currently valid with this code.
    pub async fn unit_by_code(&self, code: &str) -> Result<Option<Unit>> {
        let sql = const_format_units("WHERE code = $1 ORDER BY valid_to IS NULL DESC, valid_from DESC LIMIT 1");
        Ok(on!(self, p => sqlx::query_as::<_, Unit>(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(p).await)?)
    }

    /// The unit and all units above it at `at` (nearest first). Used by authorization.
    pub async fn ancestors(&self, unit_id: i64, at: NaiveDate) -> Result<Vec<i64>> {
        let d = iso(at);
        let ids: Vec<i64> = on!(self, p => sqlx::query_scalar(
            "WITH RECURSIVE up(id, depth) AS (
                SELECT CAST($1 AS BIGINT), 0
                UNION ALL
                SELECT l.parent_id, up.depth + 1 FROM unit_links l JOIN up ON l.unit_id = up.id
                WHERE l.valid_from <= $2 AND (l.valid_to IS NULL OR l.valid_to > $2) AND up.depth < 20
            ) SELECT id FROM up ORDER BY depth")
            .bind(unit_id).bind(&d).fetch_all(p).await)?;
        Ok(ids)
    }

    /// The chain used to authorize actions on a unit: its ancestors today; for a unit that no
    /// longer exists, its ancestors on its last day plus the chain of its successor, so whoever
    /// now manages the merged unit also sees the history it came from.
    pub async fn unit_chain(&self, unit: &Unit) -> Result<Vec<i64>> {
        let mut chain = Vec::new();
        let mut current = Some(unit.clone());
        let mut hops = 0;
        while let Some(u) = current.take() {
            let s = span(&u)?;
            let at = match s.valid_to {
                Some(t) => t.pred_opt().unwrap_or(t),
                None => bdtx_domain::dates::today(),
            };
            for id in self.ancestors(u.id, at).await? {
                if !chain.contains(&id) {
                    chain.push(id);
                }
            }
            hops += 1;
            if let (Some(next), true) = (u.successor_id, hops < 20) {
                current = self.unit(next).await?;
            }
        }
        Ok(chain)
    }

    /// The units that stood for `root` at date `at`: the root itself if it existed then, else
    /// the units it was formed from (recursively), e.g. the former provinces before a merger.
    pub async fn stand_ins_at(&self, root: i64, at: NaiveDate) -> Result<Vec<Unit>> {
        let mut out = Vec::new();
        let mut todo = vec![root];
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Some(u) = self.unit(id).await? else {
                continue;
            };
            if span(&u)?.valid_at(at) {
                out.push(u);
            } else {
                todo.extend(self.predecessors(id).await?.into_iter().map(|p| p.id));
            }
        }
        Ok(out)
    }

    /// All units below `root` (not including it) at `at`, depth-first in Vietnamese name order,
    /// at most `max_depth` levels down.
    pub async fn subtree(&self, root: i64, at: NaiveDate, max_depth: i64) -> Result<Vec<TreeNode>> {
        let d = iso(at);
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            code: String,
            kind: String,
            name: String,
            levels: String,
            parent_id: i64,
            depth: i64,
            path: String,
        }
        let mut rows: Vec<Row> = on!(self, p => sqlx::query_as(
            "WITH RECURSIVE down(id, parent_id, depth, path) AS (
                SELECT CAST($1 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST('' AS TEXT)
                UNION ALL
                SELECT l.unit_id, l.parent_id, down.depth + 1,
                       down.path || '/' || CASE u.kind WHEN 'province' THEN '1' WHEN 'university' THEN '2'
                           WHEN 'commune' THEN '3' WHEN 'cluster' THEN '4' ELSE '5' END || u.sort_key
                FROM unit_links l JOIN down ON l.parent_id = down.id JOIN units u ON u.id = l.unit_id
                WHERE l.valid_from <= $2 AND (l.valid_to IS NULL OR l.valid_to > $2)
                  AND u.valid_from <= $2 AND (u.valid_to IS NULL OR u.valid_to > $2)
                  AND down.depth < $3
            ) SELECT u.id, u.code, u.kind, u.name, u.levels, down.parent_id, down.depth, down.path
              FROM down JOIN units u ON u.id = down.id WHERE down.depth > 0")
            .bind(root).bind(&d).bind(max_depth).fetch_all(p).await)?;
        // The path is the chain of (kind rank, Vietnamese sort key): sorting by it gives depth-first
        // order with communes before clusters before schools, each in Vietnamese name order.
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        let out = rows
            .into_iter()
            .map(|r| TreeNode {
                id: r.id,
                code: r.code,
                kind: r.kind,
                name: r.name,
                levels: r.levels,
                parent_id: Some(r.parent_id),
                depth: r.depth,
            })
            .collect();
        Ok(out)
    }

    /// Ids of every unit in `root`'s subtree at any time (the root included), e.g. for the audit
    /// log, which must also show changes made to units that have since been merged away.
    pub async fn subtree_ids_all_time(&self, root: i64) -> Result<Vec<i64>> {
        Ok(on!(self, p => sqlx::query_scalar(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($1 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
            ) SELECT id FROM down")
            .bind(root).fetch_all(p).await)?)
    }

    /// Units without a parent at `at` (the Ministry).
    pub async fn roots(&self, at: NaiveDate) -> Result<Vec<Unit>> {
        let sql = const_format_units(
            "WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)
             AND NOT EXISTS (SELECT 1 FROM unit_links l WHERE l.unit_id = units.id AND l.valid_from <= $1 AND (l.valid_to IS NULL OR l.valid_to > $1))
             ORDER BY sort_key");
        Ok(on!(self, p => sqlx::query_as::<_, Unit>(sqlx::AssertSqlSafe(sql)).bind(iso(at)).fetch_all(p).await)?)
    }

    /// Parent links of a unit over time, newest first: (parent id, parent name, from, to).
    pub async fn unit_parents(&self, unit_id: i64) -> Result<Vec<(i64, String, String, Option<String>)>> {
        Ok(on!(self, p => sqlx::query_as(
            "SELECT l.parent_id, u.name, l.valid_from, l.valid_to FROM unit_links l JOIN units u ON u.id = l.parent_id
             WHERE l.unit_id = $1 ORDER BY l.valid_from DESC")
            .bind(unit_id).fetch_all(p).await)?)
    }

    /// Units that were merged or renamed into this one.
    pub async fn predecessors(&self, unit_id: i64) -> Result<Vec<Unit>> {
        let sql = const_format_units("WHERE successor_id = $1 ORDER BY sort_key");
        Ok(on!(self, p => sqlx::query_as::<_, Unit>(sqlx::AssertSqlSafe(sql)).bind(unit_id).fetch_all(p).await)?)
    }

    /// Search current units by accent-insensitive name or code.
    pub async fn search_units(&self, q: &str, limit: i64) -> Result<Vec<Unit>> {
        let pat = format!("%{}%", bdtx_domain::text::like_escape(&fold(q)));
        let sql = const_format_units(
            "WHERE valid_to IS NULL AND (name_folded LIKE $1 ESCAPE '\\' OR lower(code) = $2) ORDER BY sort_key LIMIT $3",
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, Unit>(sqlx::AssertSqlSafe(sql)).bind(&pat).bind(q.trim().to_lowercase()).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Record that a pedagogical university covers a province (its key lecturers reach it).
    pub async fn set_university_coverage(&self, actor: Option<i64>, university: i64, province: i64) -> Result<()> {
        let kinds = (self.unit(university).await?.map(|u| u.kind), self.unit(province).await?.map(|u| u.kind));
        if kinds.0.as_deref() != Some("university") {
            return Err(Invalid::one("unit", "kind_not_allowed").into());
        }
        if kinds.1.as_deref() != Some("province") {
            return Err(Invalid::one("province", "kind_not_allowed").into());
        }
        let detail = serde_json::json!({"university": university, "province": province}).to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO university_coverage (university_id, province_id) VALUES ($1, $2)")
                .bind(university).bind(province).execute(&mut *tx).await.map_err(|e| conflict(e, "province"))?;
            crate::audit_insert!(tx, actor, "unit.coverage", "unit", university, Some(university), None::<String>, Some(detail.clone()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Provinces a university covers: (id, name).
    pub async fn university_coverage(&self, university: i64) -> Result<Vec<(i64, String)>> {
        Ok(on!(self, p => sqlx::query_as(
            "SELECT u.id, u.name FROM university_coverage c JOIN units u ON u.id = c.province_id WHERE c.university_id = $1 ORDER BY u.sort_key")
            .bind(university).fetch_all(p).await)?)
    }

    /// Merge `sources` into a new unit (`new`) or an existing one (`into`), effective from
    /// `effective`: the sources close the day before, their children and current staff move to
    /// the target from that date, and records before it keep pointing at the sources. A rename is
    /// a merge of one unit into a new one.
    pub async fn merge_units(
        &self,
        actor: Option<i64>,
        kind: org::Restructure,
        sources: &[i64],
        into: Option<i64>,
        new: Option<NewUnit>,
        effective: NaiveDate,
    ) -> Result<i64> {
        let mut spans = Vec::new();
        let mut src_units = Vec::new();
        for id in sources {
            let u = self.unit(*id).await?.ok_or(StoreError::Invalid(Invalid::one("sources", "not_found")))?;
            spans.push(span(&u)?);
            src_units.push(u);
        }
        let target_kind = match (&new, into) {
            (Some(n), None) => n.kind,
            (None, Some(t)) => {
                let tu = self.unit(t).await?.ok_or(StoreError::Invalid(Invalid::one("target", "not_found")))?;
                span(&tu)?.kind
            }
            _ => return Err(Invalid::one("target", "required").into()),
        };
        let target_span = match into {
            Some(t) => Some(span(&self.unit(t).await?.ok_or(StoreError::NotFound)?)?),
            None => None,
        };
        org::check_merge(kind, &spans, target_span.as_ref(), target_kind, effective)?;
        let kind_label = kind.as_str();
        // A new target hangs under the (single) current parent of the sources unless told otherwise.
        let eff = iso(effective);
        let target = match (new, into) {
            (Some(mut n), None) => {
                if n.parent_id.is_none() {
                    n.parent_id = self.unit_parents(sources[0]).await?.into_iter().find(|l| l.3.is_none()).map(|l| l.0);
                }
                n.valid_from = effective;
                n.valid_to = None;
                check_new(&n)?;
                self.create_unit(actor, &n).await?
            }
            (None, Some(t)) => t,
            _ => unreachable!(),
        };
        let detail = serde_json::json!({"sources": sources, "target": target, "effective": eff,
            "source_names": src_units.iter().map(|u| u.name.clone()).collect::<Vec<_>>()})
        .to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            for s in sources {
                // Children of the source move to the target from the effective date.
                let children: Vec<i64> = sqlx::query_scalar(
                    "SELECT unit_id FROM unit_links WHERE parent_id = $1 AND valid_to IS NULL")
                    .bind(s).fetch_all(&mut *tx).await?;
                sqlx::query("UPDATE unit_links SET valid_to = $2 WHERE parent_id = $1 AND valid_to IS NULL")
                    .bind(s).bind(&eff).execute(&mut *tx).await?;
                for c in children {
                    sqlx::query("INSERT INTO unit_links (unit_id, parent_id, valid_from) VALUES ($1, $2, $3)")
                        .bind(c).bind(target).bind(&eff).execute(&mut *tx).await?;
                }
                // Current staff move too; their history keeps the source until the date.
                let staff: Vec<i64> = sqlx::query_scalar(
                    "SELECT person_id FROM person_units WHERE unit_id = $1 AND valid_to IS NULL")
                    .bind(s).fetch_all(&mut *tx).await?;
                sqlx::query("UPDATE person_units SET valid_to = $2 WHERE unit_id = $1 AND valid_to IS NULL")
                    .bind(s).bind(&eff).execute(&mut *tx).await?;
                // One open stay a unit: someone already working at the target (or at two of the
                // merged units) gets no second one.
                for person in staff {
                    sqlx::query(
                        "INSERT INTO person_units (person_id, unit_id, valid_from) SELECT $1, $2, $3 WHERE NOT EXISTS
                           (SELECT 1 FROM person_units WHERE person_id = $1 AND unit_id = $2 AND valid_to IS NULL)")
                        .bind(person).bind(target).bind(&eff).execute(&mut *tx).await?;
                }
                // The source itself closes, and so does its own parent link.
                sqlx::query("UPDATE unit_links SET valid_to = $2 WHERE unit_id = $1 AND valid_to IS NULL")
                    .bind(s).bind(&eff).execute(&mut *tx).await?;
                sqlx::query("UPDATE units SET valid_to = $2, successor_id = $3 WHERE id = $1")
                    .bind(s).bind(&eff).bind(target).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO restructures (kind, effective, target_id, detail, actor_account_id, at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(kind_label).bind(&eff).bind(target).bind(&detail).bind(actor).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, &format!("unit.{kind_label}"), "unit", target, Some(target), None::<String>, Some(detail.clone()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(target)
    }

    /// Move a unit under another parent from `effective` (e.g. a school from a district office
    /// to a commune); refuses cycles and dates that overlap the current link.
    pub async fn move_unit(
        &self,
        actor: Option<i64>,
        unit_id: i64,
        parent_id: i64,
        effective: NaiveDate,
    ) -> Result<()> {
        let u = self.unit(unit_id).await?.ok_or(StoreError::NotFound)?;
        let parent = self.unit(parent_id).await?.ok_or(StoreError::Invalid(Invalid::one("parent", "not_found")))?;
        let links = self.unit_parents(unit_id).await?;
        let current =
            links.iter().find(|l| l.3.is_none()).ok_or(StoreError::Invalid(Invalid::one("unit", "not_allowed")))?;
        let current_from =
            NaiveDate::parse_from_str(&current.2, "%Y-%m-%d").map_err(|e| StoreError::Other(e.to_string()))?;
        let descendants: Vec<i64> = self.subtree(unit_id, effective, 20).await?.into_iter().map(|n| n.id).collect();
        org::check_move(&span(&u)?, &span(&parent)?, &descendants, effective, current_from)?;
        let eff = iso(effective);
        let detail =
            serde_json::json!({"unit": unit_id, "from_parent": current.0, "to_parent": parent_id, "effective": eff})
                .to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE unit_links SET valid_to = $2 WHERE unit_id = $1 AND valid_to IS NULL")
                .bind(unit_id).bind(&eff).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO unit_links (unit_id, parent_id, valid_from) VALUES ($1, $2, $3)")
                .bind(unit_id).bind(parent_id).bind(&eff).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO restructures (kind, effective, target_id, detail, actor_account_id, at) VALUES ('move', $1, $2, $3, $4, $5)")
                .bind(&eff).bind(unit_id).bind(&detail).bind(actor).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "unit.move", "unit", unit_id, Some(unit_id), None::<String>, Some(detail.clone()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Count of units per kind valid today (for the home page and metrics).
    pub async fn unit_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(
            on!(self, p => sqlx::query_as("SELECT kind, COUNT(*) FROM units WHERE valid_to IS NULL GROUP BY kind ORDER BY kind")
            .fetch_all(p).await)?,
        )
    }
}

fn const_format_units(tail: &str) -> String {
    format!("SELECT {UNIT_COLS} FROM units {tail}")
}
