//! Oversight: the dashboard tallies of a round, kept exact as things happen.
//!
//! Every enrollment carries the stage it is counted at (`enrollments.stage`) and the class it
//! was counted in (`tallied_class`). `round_tallies` holds, per round, node (a unit and each of
//! its current ancestors, or a class) and dimensions (level, subject, kind), how many
//! enrollments are at each stage. The one mechanism that changes them is [`retally!`]: given
//! enrollment ids, inside the writer's transaction, it locks those rows, recomputes their stage
//! from the source tables ([`STAGE_SQL`]) and moves the difference into the tallies. Every
//! write that can change a stage (enrolling, opening the course, the LMS pass, sign-offs and
//! their undos, certificates and revocations, activation, class moves, merges) calls it.
//! A dashboard then reads a few hundred rows, never the enrollments.
//!
//! A restructuring of the unit tree changes ancestors, so it is followed by
//! [`Db::rebuild_tallies`] (run as a job); [`Db::recount`] recomputes everything from scratch
//! for tests and checks.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::FromRow;

use crate::{Db, Result, on};
use bdtx_domain::dates::{iso, today};

/// The stages, in order. A dashboard's cumulative columns count "at this stage or later".
pub const STAGES: [&str; 7] =
    ["no_account", "not_started", "in_progress", "lms_passed", "core_passed", "confirmed", "certified"];
pub const STAGE_COUNT: usize = STAGES.len();

/// The pseudo-stage under which `round_tallies` counts enrollments that attended at least one
/// professional-activity session (alongside their real stage).
pub const ATTENDED: i64 = 7;

pub fn stage_index(name: &str) -> Option<i64> {
    STAGES.iter().position(|s| *s == name).map(|i| i as i64)
}

/// The stage of enrollments, computed from the source tables (`-1`: not counted).
macro_rules! stage_sql {
    () => {
        "SELECT e.id, e.round_id, e.unit_id, e.class_id, e.level, e.subject, e.kind,
    e.stage AS old_stage, e.tallied_class AS old_class, e.tallied_attended AS old_attended,
    EXISTS (SELECT 1 FROM session_attendance a WHERE a.enrollment_id = e.id) AS attended,
    CAST(CASE WHEN e.status <> 'active' THEN -1
      WHEN EXISTS (SELECT 1 FROM certificates c WHERE c.enrollment_id = e.id AND c.revoked_at IS NULL) THEN 6
      WHEN EXISTS (SELECT 1 FROM signoffs s WHERE s.enrollment_id = e.id AND s.gate = 'university' AND s.pass AND s.undone_at IS NULL) THEN 5
      WHEN EXISTS (SELECT 1 FROM signoffs s WHERE s.enrollment_id = e.id AND s.gate = 'core' AND s.pass AND s.undone_at IS NULL) THEN 4
      WHEN e.lms_passed_at IS NOT NULL THEN 3
      WHEN e.resume_key IS NOT NULL OR e.items_done > 0 THEN 2
      WHEN EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = e.person_id AND a.password_hash IS NOT NULL) THEN 1
      ELSE 0 END AS BIGINT) AS new_stage
    FROM enrollments e"
    };
}
pub const STAGE_SQL: &str = stage_sql!();
/// Rows a read when a job goes through a whole round's enrollments.
const READ_PAGE: i64 = 2_000;
/// [`STAGE_SQL`] of one enrollment `$1`: one statement text, prepared once per connection
/// (a list of ids written into the text is a new statement every time).
const STAGE_ONE_SQL: &str = concat!(stage_sql!(), " WHERE e.id = $1");

/// A unit and its current ancestors (the unit itself first). A unit closed by a restructuring
/// (merged, dissolved, renamed) has no current parent: it goes up through its successor, so its
/// learners stay counted where the unit now lives.
pub const ANCESTORS_SQL: &str = "WITH RECURSIVE up(id, depth) AS (
        SELECT CAST($1 AS BIGINT), 0
        UNION ALL
        SELECT COALESCE(
            (SELECT l.parent_id FROM unit_links l WHERE l.unit_id = up.id
               AND l.valid_from <= $2 AND (l.valid_to IS NULL OR l.valid_to > $2) LIMIT 1),
            (SELECT u.successor_id FROM units u WHERE u.id = up.id AND u.valid_to IS NOT NULL AND u.valid_to <= $2)),
          up.depth + 1
        FROM up WHERE up.id IS NOT NULL AND up.depth < 30
    ) SELECT id FROM up WHERE id IS NOT NULL ORDER BY depth";

/// Cells added to the tallies by one statement (8 parameters each).
pub const UPSERT_BATCH: usize = 500;

/// One statement adding `rows` cells to the tallies (each key appears once: a delta map).
pub fn upsert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| {
            let b = i * 8;
            format!("(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8)
        })
        .collect();
    format!(
        "INSERT INTO round_tallies (round_id, scope, scope_id, level, subject, kind, stage, n) VALUES {}
         ON CONFLICT (round_id, scope, scope_id, level, subject, kind, stage) DO UPDATE SET n = round_tallies.n + excluded.n",
        values.join(", ")
    )
}

#[derive(Debug, Clone, FromRow)]
pub struct StageRow {
    pub id: i64,
    pub round_id: i64,
    pub unit_id: i64,
    pub class_id: Option<i64>,
    pub level: String,
    pub subject: String,
    pub kind: String,
    pub old_stage: i64,
    pub old_class: Option<i64>,
    pub old_attended: bool,
    pub attended: bool,
    pub new_stage: i64,
}

impl StageRow {
    pub fn changed(&self) -> bool {
        self.old_stage != self.new_stage
            || (self.new_stage >= 0 && (self.old_class != self.class_id || self.old_attended != self.attended))
    }
}

/// One tally cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TallyKey {
    pub round_id: i64,
    pub scope: &'static str,
    pub scope_id: i64,
    pub level: String,
    pub subject: String,
    pub kind: String,
    pub stage: i64,
}

/// Add `sign` for one enrollment counted at `stage` in `class` under the units `ancestors`, and
/// under [`ATTENDED`] too when it attended a session.
fn add(
    out: &mut BTreeMap<TallyKey, i64>,
    r: &StageRow,
    (stage, class, attended): (i64, Option<i64>, bool),
    ancestors: &[i64],
    sign: i64,
) {
    if stage < 0 {
        return;
    }
    if attended {
        add(out, r, (ATTENDED, class, false), ancestors, sign);
    }
    let key = |scope, scope_id| TallyKey {
        round_id: r.round_id,
        scope,
        scope_id,
        level: r.level.clone(),
        subject: r.subject.clone(),
        kind: r.kind.clone(),
        stage,
    };
    for u in ancestors {
        *out.entry(key("u", *u)).or_default() += sign;
    }
    if let Some(c) = class {
        *out.entry(key("c", c)).or_default() += sign;
    }
}

/// What changed rows move in the tallies (zero cells dropped).
pub fn deltas(rows: &[StageRow], ancestors: &HashMap<i64, Vec<i64>>) -> BTreeMap<TallyKey, i64> {
    let mut out = BTreeMap::new();
    for r in rows {
        let anc = ancestors.get(&r.unit_id).map(Vec::as_slice).unwrap_or(&[]);
        add(&mut out, r, (r.old_stage, r.old_class, r.old_attended), anc, -1);
        add(&mut out, r, (r.new_stage, r.class_id, r.attended), anc, 1);
    }
    out.retain(|_, n| *n != 0);
    out
}

/// What every row contributes (for a full recount).
pub fn totals(rows: &[StageRow], ancestors: &HashMap<i64, Vec<i64>>) -> BTreeMap<TallyKey, i64> {
    let mut out = BTreeMap::new();
    for r in rows {
        let anc = ancestors.get(&r.unit_id).map(Vec::as_slice).unwrap_or(&[]);
        add(&mut out, r, (r.new_stage, r.class_id, r.attended), anc, 1);
    }
    out
}

pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub fn today_iso() -> String {
    iso(today())
}

/// [`retally!`] for SQLite's lane (crate::lane): the same statements and deltas, run by the
/// lane's writer inside its transaction (which already holds SQLite's write lock).
pub(crate) fn retally_lane(c: &rusqlite::Connection, ids: &[i64]) -> Result<()> {
    use crate::lane;
    let today = today_iso();
    let mut ancestors: HashMap<i64, Vec<i64>> = HashMap::new();
    // The lane recounts the one enrollment a learner's request changed.
    for id in ids {
        let rows = lane::all(c, STAGE_ONE_SQL, &[id], |r| {
            Ok(StageRow {
                id: r.get("id")?,
                round_id: r.get("round_id")?,
                unit_id: r.get("unit_id")?,
                class_id: r.get("class_id")?,
                level: r.get("level")?,
                subject: r.get("subject")?,
                kind: r.get("kind")?,
                old_stage: r.get("old_stage")?,
                old_class: r.get("old_class")?,
                old_attended: r.get("old_attended")?,
                attended: r.get("attended")?,
                new_stage: r.get("new_stage")?,
            })
        })?;
        let rows: Vec<StageRow> = rows.into_iter().filter(StageRow::changed).collect();
        for r in &rows {
            if !ancestors.contains_key(&r.unit_id) {
                ancestors.insert(r.unit_id, lane::all(c, ANCESTORS_SQL, &[&r.unit_id, &today], |x| x.get(0))?);
            }
        }
        let cells: Vec<(TallyKey, i64)> = deltas(&rows, &ancestors).into_iter().collect();
        for batch in cells.chunks(UPSERT_BATCH) {
            let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(batch.len() * 8);
            for (k, n) in batch {
                params.extend([
                    &k.round_id as &dyn rusqlite::ToSql,
                    &k.scope,
                    &k.scope_id,
                    &k.level,
                    &k.subject,
                    &k.kind,
                    &k.stage,
                    n,
                ]);
            }
            lane::exec(c, &upsert_sql(batch.len()), &params)?;
        }
        for r in &rows {
            lane::exec(
                c,
                "UPDATE enrollments SET stage = $2, tallied_class = class_id, tallied_attended = $3 WHERE id = $1",
                &[&r.id, &r.new_stage, &r.attended],
            )?;
        }
    }
    Ok(())
}

/// Recount the tallies of the enrollments `$ids` inside the write transaction `$tx` (see the
/// module documentation). Rows are locked first so that concurrent writers on PostgreSQL each
/// see the other's committed change before computing the stage.
#[macro_export]
macro_rules! retally {
    ($tx:ident, $ids:expr) => {{
        let all: &[i64] = $ids;
        let today = $crate::oversight::today_iso();
        let mut ancestors: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
        for chunk in all.chunks(500) {
            let list = $crate::oversight::id_list(chunk);
            sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE enrollments SET stage = stage WHERE id IN ({list})")))
                .execute(&mut *$tx)
                .await?;
            let rows: Vec<$crate::oversight::StageRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{} WHERE e.id IN ({list})", $crate::oversight::STAGE_SQL)))
                    .fetch_all(&mut *$tx)
                    .await?;
            let rows: Vec<$crate::oversight::StageRow> = rows.into_iter().filter(|r| r.changed()).collect();
            if rows.is_empty() {
                continue;
            }
            for r in &rows {
                if !ancestors.contains_key(&r.unit_id) {
                    let up: Vec<i64> = sqlx::query_scalar($crate::oversight::ANCESTORS_SQL)
                        .bind(r.unit_id)
                        .bind(&today)
                        .fetch_all(&mut *$tx)
                        .await?;
                    ancestors.insert(r.unit_id, up);
                }
            }
            let cells: Vec<($crate::oversight::TallyKey, i64)> =
                $crate::oversight::deltas(&rows, &ancestors).into_iter().collect();
            for batch in cells.chunks($crate::oversight::UPSERT_BATCH) {
                let sql = $crate::oversight::upsert_sql(batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, n) in batch {
                    q = q
                        .bind(k.round_id)
                        .bind(k.scope)
                        .bind(k.scope_id)
                        .bind(k.level.clone())
                        .bind(k.subject.clone())
                        .bind(k.kind.clone())
                        .bind(k.stage)
                        .bind(*n);
                }
                q.execute(&mut *$tx).await?;
            }
            let mut by_stage: std::collections::BTreeMap<(i64, bool), Vec<i64>> = std::collections::BTreeMap::new();
            for r in &rows {
                by_stage.entry((r.new_stage, r.attended)).or_default().push(r.id);
            }
            for ((stage, attended), ids) in by_stage {
                let attended = if attended { "TRUE" } else { "FALSE" };
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE enrollments SET stage = {stage}, tallied_class = class_id, tallied_attended = {attended} WHERE id IN ({})",
                    $crate::oversight::id_list(&ids)
                )))
                .execute(&mut *$tx)
                .await?;
            }
        }
    }};
}

/// Filters of a dashboard (all optional).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct DashFilter {
    pub level: Option<String>,
    pub subject: Option<String>,
    pub kind: Option<String>,
    /// Lists only: those who attended at least one professional-activity session.
    #[serde(default)]
    pub attended: bool,
}

impl DashFilter {
    fn clause(&self, first: usize, prefix: &str) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        for (col, v) in [("level", &self.level), ("subject", &self.subject), ("kind", &self.kind)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                binds.push(v.to_string());
                sql.push_str(&format!(" AND {prefix}{col} = ${}", first + binds.len() - 1));
            }
        }
        (sql, binds)
    }
}

/// Counts of one node: `at[s]` enrollments at stage `s`; `attended` of them attended at least
/// one professional-activity session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StageCounts {
    pub at: [i64; STAGE_COUNT],
    pub attended: i64,
}

impl StageCounts {
    pub fn total(&self) -> i64 {
        self.at.iter().sum()
    }
    /// At stage `s` or later.
    pub fn from(&self, s: usize) -> i64 {
        self.at[s..].iter().sum()
    }
    pub fn add(&mut self, o: &StageCounts) {
        for (a, b) in self.at.iter_mut().zip(o.at) {
            *a += b;
        }
        self.attended += o.attended;
    }
}

/// A row behind a dashboard number.
#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct ListRow {
    pub enrollment_id: i64,
    pub person_id: i64,
    pub full_name: String,
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub unit_name: String,
    pub class_name: Option<String>,
    pub level: String,
    pub subject: String,
    pub kind: String,
    pub stage: i64,
    pub items_done: i64,
    pub items_required: i64,
    pub ends_on: String,
}

/// Why a scheduled reminder is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderReason {
    /// The learner's window closes within the round's `remind_before_days`.
    Closing,
    /// No progress for the round's `remind_idle_days`.
    Idle,
}

/// A scheduled reminder to send; `key` makes sending it twice a no-op.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub enrollment_id: i64,
    pub person_id: i64,
    pub unit_id: i64,
    pub email: Option<String>,
    pub round_title: String,
    pub ends_on: String,
    pub reason: ReminderReason,
    pub days: i64,
    pub key: String,
}

/// Which enrollments a list shows: a unit's subtree or a class; a stage range (inclusive).
#[derive(Debug, Clone, Copy)]
pub enum Node {
    Unit(i64),
    Class(i64),
}

impl Db {
    /// Recount the tallies of these enrollments in a transaction of their own.
    pub async fn retally(&self, ids: &[i64]) -> Result<()> {
        use crate::BeginWrite;
        if ids.is_empty() {
            return Ok(());
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            crate::retally!(tx, ids);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Recount a person's enrollments (their account changed).
    pub async fn retally_person(&self, person_id: i64) -> Result<()> {
        let ids: Vec<i64> = on!(self, p => sqlx::query_scalar("SELECT id FROM enrollments WHERE person_id = $1")
            .bind(person_id).fetch_all(p).await)?;
        self.retally(&ids).await
    }

    /// Count every active enrollment not counted yet (after a migration, or a rebuild).
    pub async fn tally_pending(&self) -> Result<u64> {
        let mut done = 0u64;
        loop {
            let ids: Vec<i64> = on!(self, p => sqlx::query_scalar(
                "SELECT id FROM enrollments WHERE stage = -1 AND status = 'active' ORDER BY id LIMIT 5000")
                .fetch_all(p).await)?;
            if ids.is_empty() {
                return Ok(done);
            }
            self.retally(&ids).await?;
            done += ids.len() as u64;
        }
    }

    /// Forget and recount a round's tallies (after the unit tree changed). `None` = every round.
    pub async fn rebuild_tallies(&self, round_id: Option<i64>) -> Result<u64> {
        use crate::BeginWrite;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM round_tallies WHERE CAST($1 AS BIGINT) IS NULL OR round_id = $1")
                .bind(round_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE enrollments SET stage = -1, tallied_class = NULL WHERE CAST($1 AS BIGINT) IS NULL OR round_id = $1")
                .bind(round_id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        self.tally_pending().await
    }

    /// The tallies as stored (non-zero cells).
    pub async fn tally_map(&self, round_id: i64) -> Result<BTreeMap<TallyKey, i64>> {
        #[derive(FromRow)]
        struct TallyRow {
            scope: String,
            scope_id: i64,
            level: String,
            subject: String,
            kind: String,
            stage: i64,
            n: i64,
        }
        let rows: Vec<TallyRow> = on!(self, p => sqlx::query_as::<_, TallyRow>(
            "SELECT scope, scope_id, level, subject, kind, stage, n FROM round_tallies WHERE round_id = $1 AND n <> 0")
            .bind(round_id).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let scope = if r.scope == "c" { "c" } else { "u" };
                let k = TallyKey {
                    round_id,
                    scope,
                    scope_id: r.scope_id,
                    level: r.level,
                    subject: r.subject,
                    kind: r.kind,
                    stage: r.stage,
                };
                (k, r.n)
            })
            .collect())
    }

    /// The tallies recomputed from scratch from the source tables (slow; for tests and checks).
    pub async fn recount(&self, round_id: i64) -> Result<BTreeMap<TallyKey, i64>> {
        let sql = format!("{STAGE_SQL} WHERE e.round_id = $1");
        let rows: Vec<StageRow> =
            on!(self, p => sqlx::query_as::<_, StageRow>(sqlx::AssertSqlSafe(sql)).bind(round_id).fetch_all(p).await)?;
        let today = today_iso();
        let mut ancestors = HashMap::new();
        for r in &rows {
            if !ancestors.contains_key(&r.unit_id) {
                let up: Vec<i64> =
                    on!(self, p => sqlx::query_scalar(ANCESTORS_SQL).bind(r.unit_id).bind(&today).fetch_all(p).await)?;
                ancestors.insert(r.unit_id, up);
            }
        }
        Ok(totals(&rows, &ancestors))
    }

    /// Counts per node for the given units (scope 'u') or classes (scope 'c').
    pub async fn node_counts(
        &self,
        round_id: i64,
        scope: &str,
        ids: &[i64],
        f: &DashFilter,
    ) -> Result<HashMap<i64, StageCounts>> {
        let mut out: HashMap<i64, StageCounts> = HashMap::new();
        let scope = if scope == "c" { "c" } else { "u" };
        for chunk in ids.chunks(500) {
            let (clause, binds) = f.clause(2, "");
            let sql = format!(
                "SELECT scope_id, stage, CAST(SUM(n) AS BIGINT) FROM round_tallies WHERE round_id = $1 AND scope = '{scope}'
                 AND scope_id IN ({}){clause} GROUP BY scope_id, stage",
                id_list(chunk)
            );
            let rows: Vec<(i64, i64, i64)> = on!(self, p => {
                let mut q = sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(round_id);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(p).await
            })?;
            for (id, stage, n) in rows {
                let counts = out.entry(id).or_default();
                match usize::try_from(stage).ok().filter(|s| *s < STAGE_COUNT) {
                    Some(slot) => counts.at[slot] += n,
                    None if stage == ATTENDED => counts.attended += n,
                    None => {}
                }
            }
        }
        Ok(out)
    }

    /// The levels, subjects and kinds a round's tallies hold under a unit (for the filters).
    pub async fn tally_dimensions(&self, round_id: i64, unit: i64) -> Result<Vec<(String, String, String)>> {
        Ok(on!(self, p => sqlx::query_as::<_, (String, String, String)>(
            "SELECT DISTINCT level, subject, kind FROM round_tallies WHERE round_id = $1 AND scope = 'u' AND scope_id = $2 AND n > 0
             ORDER BY level, subject, kind")
            .bind(round_id).bind(unit).fetch_all(p).await)?)
    }

    /// The enrollments behind a number: a unit's subtree (today's tree) or a class, stages
    /// `from..=to`, in Vietnamese name order; `limit`/`offset` page it.
    #[allow(clippy::too_many_arguments)]
    pub async fn stage_list(
        &self,
        round_id: i64,
        node: Node,
        from: i64,
        to: i64,
        f: &DashFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ListRow>> {
        let (sql, binds) = list_sql(node, f, &format!("LIMIT {limit} OFFSET {offset}"));
        let (id, today) = node_bind(node);
        Ok(on!(self, p => {
            let mut q = sqlx::query_as::<_, ListRow>(sqlx::AssertSqlSafe(sql)).bind(round_id).bind(id).bind(&today).bind(from).bind(to);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(p).await
        })?)
    }

    /// The same list, streamed row by row (exports of any size in constant memory).
    pub async fn stream_stage_list(
        &self,
        round_id: i64,
        node: Node,
        from: i64,
        to: i64,
        f: &DashFilter,
        mut each: impl FnMut(ListRow) -> std::io::Result<()>,
    ) -> Result<u64> {
        self.stream_stage_list_async(round_id, node, from, to, f, |r| std::future::ready(each(r))).await
    }

    /// [`Db::stream_stage_list`] with an asynchronous sink (e.g. a bounded channel to an HTTP
    /// response: a slow client slows the query down instead of filling memory).
    pub async fn stream_stage_list_async<F: Future<Output = std::io::Result<()>>>(
        &self,
        round_id: i64,
        node: Node,
        from: i64,
        to: i64,
        f: &DashFilter,
        mut each: impl FnMut(ListRow) -> F,
    ) -> Result<u64> {
        use futures_util::TryStreamExt;
        let (sql, binds) = list_sql(node, f, "");
        let (id, today) = node_bind(node);
        let mut n = 0u64;
        on!(self, p => {
            let mut q = sqlx::query_as::<_, ListRow>(sqlx::AssertSqlSafe(sql)).bind(round_id).bind(id).bind(&today).bind(from).bind(to);
            for b in &binds {
                q = q.bind(b);
            }
            let mut rows = q.fetch(p);
            while let Some(r) = rows.try_next().await? {
                each(r).await.map_err(|e| crate::StoreError::Other(e.to_string()))?;
                n += 1;
            }
        });
        Ok(n)
    }

    /// Scheduled reminders due on `today` for learners not yet LMS-passed whose window is open:
    /// closing within the round's `remind_before_days` (once per window end), or without
    /// progress for `remind_idle_days` (once per such period).
    pub async fn reminders_due(&self, today: chrono::NaiveDate, now: i64) -> Result<Vec<DueReminder>> {
        #[derive(FromRow)]
        struct Cand {
            id: i64,
            person_id: i64,
            unit_id: i64,
            email: Option<String>,
            title: String,
            starts_on: String,
            ends_on: String,
            before_days: Option<i64>,
            idle_days: Option<i64>,
            last_done: Option<i64>,
        }
        let d = iso(today);
        // Read in pages of enrollment ids: many short reads rather than one that keeps a
        // snapshot open for the whole national list (on SQLite that stops checkpoints, and the
        // write-ahead log every reader searches grows meanwhile).
        let mut rows: Vec<Cand> = Vec::new();
        loop {
            let after = rows.last().map_or(0, |c| c.id);
            let page: Vec<Cand> = on!(self, p => sqlx::query_as::<_, Cand>(
                "SELECT e.id, e.person_id, e.unit_id, p.email, r.title, e.starts_on, e.ends_on,
                        r.remind_before_days AS before_days, r.remind_idle_days AS idle_days,
                        (SELECT MAX(g.done_at) FROM progress g WHERE g.enrollment_id = e.id) AS last_done
                 FROM enrollments e JOIN rounds r ON r.id = e.round_id JOIN people p ON p.id = e.person_id
                 WHERE e.status = 'active' AND e.stage BETWEEN 0 AND 2 AND e.starts_on <= $1 AND e.ends_on >= $1
                   AND e.id > $2
                 ORDER BY e.id LIMIT $3")
                .bind(&d).bind(after).bind(READ_PAGE).fetch_all(p).await)?;
            let last = page.len() < READ_PAGE as usize;
            rows.extend(page);
            if last {
                break;
            }
        }
        let mut out = Vec::new();
        for c in rows {
            let (Some(starts), Some(ends)) =
                (bdtx_domain::dates::parse_date(&c.starts_on), bdtx_domain::dates::parse_date(&c.ends_on))
            else {
                continue;
            };
            let left = (ends - today).num_days();
            let base = |reason, days, key: String| DueReminder {
                enrollment_id: c.id,
                person_id: c.person_id,
                unit_id: c.unit_id,
                email: c.email.clone(),
                round_title: c.title.clone(),
                ends_on: c.ends_on.clone(),
                reason,
                days,
                key,
            };
            if let Some(n) = c.before_days.filter(|n| *n > 0 && left <= *n) {
                out.push(base(ReminderReason::Closing, n, format!("close:{}:{}", c.id, c.ends_on)));
                continue;
            }
            if let Some(n) = c.idle_days.filter(|n| *n > 0) {
                let since_start = (today - starts).num_days();
                let quiet = c.last_done.is_none_or(|t| now - t >= n * 86_400);
                if since_start >= n && quiet {
                    let period = since_start / n;
                    out.push(base(ReminderReason::Idle, n, format!("idle:{}:{period}", c.id)));
                }
            }
        }
        Ok(out)
    }

    /// Person ids (with the enrollment) of a list, for reminders.
    pub async fn stage_list_people(
        &self,
        round_id: i64,
        node: Node,
        from: i64,
        to: i64,
        f: &DashFilter,
    ) -> Result<Vec<(i64, i64)>> {
        let mut out = Vec::new();
        self.stream_stage_list(round_id, node, from, to, f, |r| {
            out.push((r.person_id, r.enrollment_id));
            Ok(())
        })
        .await?;
        Ok(out)
    }
}

/// A learner a reporter asks to add to a class's list (Mẫu số 2).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Supplement {
    pub id: i64,
    pub class_id: i64,
    pub full_name: String,
    pub birth_date: Option<String>,
    pub school: String,
    pub subject: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub note: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct NewSupplement {
    pub full_name: String,
    pub birth_date: String,
    pub school: String,
    pub subject: String,
    pub phone: String,
    pub email: String,
    pub note: String,
}

/// A unit's report on a round to the level above.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct RoundReport {
    pub unit_id: i64,
    pub note: String,
    pub figures: String,
    pub submitted_by: Option<i64>,
    pub submitted_at: i64,
}

impl Db {
    /// Add a supplement request to a class (checked whole: name and school required, a valid
    /// date, phone and e-mail when given).
    pub async fn add_supplement(
        &self,
        actor: Option<i64>,
        class_id: i64,
        by: Option<i64>,
        s: &NewSupplement,
    ) -> Result<i64> {
        use crate::BeginWrite;
        use bdtx_domain::text::clean;
        let mut c = bdtx_domain::error::Checker::default();
        let name = bdtx_domain::clean::capitalize_name(&clean(&s.full_name));
        if name.is_empty() || name.chars().count() > 100 {
            c.add("full_name", "required");
        }
        let school = clean(&s.school);
        if school.is_empty() || school.chars().count() > 200 {
            c.add("school", "required");
        }
        let birth = match clean(&s.birth_date).as_str() {
            "" => None,
            d => match bdtx_domain::dates::parse_date(d) {
                Some(d) => Some(iso(d)),
                None => {
                    c.add("birth_date", "invalid_date");
                    None
                }
            },
        };
        let phone = match clean(&s.phone).as_str() {
            "" => None,
            p => match bdtx_domain::people::normalize_phone(p) {
                Some(p) => Some(p),
                None => {
                    c.add("phone", "invalid_phone");
                    None
                }
            },
        };
        let email = Some(clean(&s.email).to_lowercase()).filter(|e| !e.is_empty());
        if email.as_deref().is_some_and(|e| !e.contains('@') || e.len() > 200) {
            c.add("email", "invalid_email");
        }
        let note: String = bdtx_domain::text::clean_multiline(&s.note).chars().take(1000).collect();
        c.finish()?;
        let class = self.class(class_id).await?.ok_or(crate::StoreError::NotFound)?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO supplement_requests (class_id, full_name, birth_date, school, subject, phone, email, note, by_person_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
                .bind(class_id).bind(&name).bind(&birth).bind(&school).bind(clean(&s.subject)).bind(&phone).bind(&email)
                .bind(&note).bind(by).bind(crate::now()).fetch_one(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "class.supplement", "class", class_id, Some(class.unit_id), None::<String>,
                Some(serde_json::json!({"name": name, "school": school}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn supplements(&self, class_id: i64) -> Result<Vec<Supplement>> {
        Ok(on!(self, p => sqlx::query_as::<_, Supplement>(
            "SELECT id, class_id, full_name, birth_date, school, subject, phone, email, note, created_at
             FROM supplement_requests WHERE class_id = $1 ORDER BY id")
            .bind(class_id).fetch_all(p).await)?)
    }

    /// Submit (or resubmit) a unit's report on a round; the audit log keeps every submission.
    pub async fn submit_round_report(
        &self,
        actor: Option<i64>,
        round_id: i64,
        unit_id: i64,
        note: &str,
        figures: &serde_json::Value,
    ) -> Result<()> {
        use crate::BeginWrite;
        let note: String = bdtx_domain::text::clean_multiline(note).chars().take(2000).collect();
        let t = crate::now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(
                "INSERT INTO round_reports (round_id, unit_id, note, figures, submitted_by, submitted_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (round_id, unit_id) DO UPDATE SET note = excluded.note, figures = excluded.figures,
                   submitted_by = excluded.submitted_by, submitted_at = excluded.submitted_at")
                .bind(round_id).bind(unit_id).bind(&note).bind(figures.to_string()).bind(actor).bind(t)
                .execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "round.report", "round", round_id, Some(unit_id), None::<String>,
                Some(serde_json::json!({"note": note, "figures": figures}).to_string()));
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn round_reports(&self, round_id: i64, units: &[i64]) -> Result<Vec<RoundReport>> {
        if units.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT unit_id, note, figures, submitted_by, submitted_at FROM round_reports WHERE round_id = $1 AND unit_id IN ({})",
            id_list(units)
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, RoundReport>(sqlx::AssertSqlSafe(sql)).bind(round_id).fetch_all(p).await)?,
        )
    }

    pub async fn report_due(&self, round_id: i64) -> Result<Option<String>> {
        Ok(on!(self, p => sqlx::query_scalar::<_, Option<String>>("SELECT report_due FROM rounds WHERE id = $1")
            .bind(round_id).fetch_optional(p).await)?
        .flatten())
    }

    pub async fn set_report_due(&self, actor: Option<i64>, round_id: i64, due: chrono::NaiveDate) -> Result<()> {
        use crate::BeginWrite;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let owner: Option<i64> = sqlx::query_scalar("SELECT p.owner_unit_id FROM rounds r JOIN programmes p ON p.id = r.programme_id WHERE r.id = $1").bind(round_id).fetch_optional(&mut *tx).await?;
            let Some(owner) = owner else { return Err(crate::StoreError::NotFound) };
            sqlx::query("UPDATE rounds SET report_due = $2 WHERE id = $1").bind(round_id).bind(iso(due)).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "round.report_due", "round", round_id, Some(owner), None::<String>,
                Some(serde_json::json!({"due": iso(due)}).to_string()));
            tx.commit().await?;
        });
        Ok(())
    }
}

fn node_bind(node: Node) -> (i64, String) {
    match node {
        Node::Unit(u) => (u, today_iso()),
        Node::Class(c) => (c, today_iso()),
    }
}

fn list_sql(node: Node, f: &DashFilter, tail: &str) -> (String, Vec<String>) {
    let (clause, binds) = f.clause(6, "e.");
    let attended = if f.attended { " AND e.tallied_attended" } else { "" };
    let (with, filter) = match node {
        // Today's tree, and units closed by a restructuring under their successor (as the
        // tallies count them).
        Node::Unit(_) => (
            "WITH RECURSIVE edges(child, parent) AS (
                SELECT l.unit_id, l.parent_id FROM unit_links l
                  WHERE l.valid_from <= $3 AND (l.valid_to IS NULL OR l.valid_to > $3)
                UNION ALL
                SELECT u.id, u.successor_id FROM units u
                  WHERE u.successor_id IS NOT NULL AND u.valid_to IS NOT NULL AND u.valid_to <= $3
             ), down(id) AS (
                SELECT CAST($2 AS BIGINT)
                UNION SELECT e.child FROM edges e JOIN down ON e.parent = down.id
             ) ",
            "e.unit_id IN (SELECT id FROM down)",
        ),
        Node::Class(_) => ("", "e.class_id = $2 AND CAST($3 AS TEXT) IS NOT NULL"),
    };
    let sql = format!(
        "{with}SELECT e.id AS enrollment_id, e.person_id, p.full_name, p.birth_date, p.phone, p.email, u.name AS unit_name,
                c.name AS class_name, e.level, e.subject, e.kind, e.stage, e.items_done, e.items_required, e.ends_on
         FROM enrollments e JOIN people p ON p.id = e.person_id JOIN units u ON u.id = e.unit_id
         LEFT JOIN classes c ON c.id = e.class_id
         WHERE e.round_id = $1 AND {filter} AND e.stage BETWEEN $4 AND $5{clause}{attended}
         ORDER BY p.sort_key, e.id {tail}"
    );
    (sql, binds)
}
