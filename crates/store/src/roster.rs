//! Bulk operations for roster imports: indexes of what exists, and batched writes that keep a
//! unit's rows together in one transaction. BACKEND: id reservation differs (see `reserve_ids`).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use chrono::NaiveDate;
use rusqlite::OptionalExtension;
use sqlx::QueryBuilder;

use bdtx_domain::dates::{iso, today};
use bdtx_domain::people::PersonFields;
use bdtx_domain::text::{fold, name_sort_key};

use crate::{BeginWrite, Db, Result, StoreError, now, on};

/// A unit valid today, with its parent today.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitEntry {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub levels: String,
    pub parent_id: Option<i64>,
}

/// What an import needs to know about the people already on record.
#[derive(Default)]
pub struct PeopleIndex {
    /// identity key → the person on record with it (any status but merged)
    pub by_identity: HashMap<String, OnRecord>,
    /// folded name | birth date → person ids (to flag look-alikes)
    pub by_name_birth: HashMap<String, Vec<i64>>,
    /// national ID → person id
    pub by_national_id: HashMap<String, i64>,
}

/// What an import needs to know of a person on record who has a row's identity key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnRecord {
    pub id: i64,
    /// of their fields and unit ([`fingerprint`])
    pub fingerprint: u64,
    /// where they work today
    pub unit: Option<i64>,
    /// of their folded name ([`name_hash`]) and their birth date: who the national ID belongs to
    pub name_hash: u64,
    pub birth_date: Option<NaiveDate>,
    /// working (status `active`); a retired person or one who left is indexed all the same
    pub active: bool,
}

/// Hash of a folded name: a row whose national ID is on record under another name is refused.
pub fn name_hash(full_name: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    fold(full_name).hash(&mut h);
    h.finish()
}

/// The fingerprint that tells an unchanged row from an update.
pub fn fingerprint(f: &PersonFields, unit_id: Option<i64>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    f.hash(&mut h);
    unit_id.hash(&mut h);
    h.finish()
}

pub fn name_birth_key(full_name: &str, birth: Option<NaiveDate>) -> String {
    format!("{}|{}", fold(full_name), birth.map(iso).unwrap_or_default())
}

/// A person to add.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub fields: PersonFields,
    pub unit_id: i64,
    /// Core status: (module code, subject); "*" when the file only says "cốt cán".
    pub core: Option<(String, String)>,
}

/// A person to change (fields and/or unit).
#[derive(Debug, Clone)]
pub struct PersonChange {
    pub id: i64,
    pub fields: PersonFields,
    pub move_to: Option<i64>,
}

/// A batch of complete units: written together or not at all.
#[derive(Debug, Default)]
pub struct Batch {
    pub adds: Vec<NewPerson>,
    pub changes: Vec<PersonChange>,
    /// One audit entry per unit: (unit id, JSON summary).
    pub summaries: Vec<(i64, String)>,
}

/// A person to add with the columns derived from their fields (folded name, sort key, identity
/// key) already computed, so that this work happens where rows are cleaned (on every core) and
/// not on the path that writes.
#[derive(Debug, Clone)]
pub struct PersonRow {
    pub fields: PersonFields,
    pub name_folded: String,
    pub sort_key: String,
    pub identity_key: String,
    pub levels: String,
    pub other_subjects: String,
    /// Core status: (module code, subject); "*" when the file only says "cốt cán".
    pub core: Option<(String, String)>,
}

impl PersonRow {
    pub fn new(fields: PersonFields, core: Option<(String, String)>) -> PersonRow {
        PersonRow {
            name_folded: fold(&fields.full_name),
            sort_key: name_sort_key(&fields.full_name),
            identity_key: fields.identity_key(),
            levels: fields.levels_string(),
            other_subjects: fields.other_subjects.join(";"),
            fields,
            core,
        }
    }
}

const CHUNK: usize = 400;

/// Secondary indexes dropped while a first, bulk load fills empty tables, and built once at the
/// end (far cheaper than maintaining them row by row in random key order). They must match the
/// migrations exactly; `tests/store.rs` compares them.
pub const BULK_INDEXES: [(&str, &str); 8] = [
    ("people_identity", "CREATE UNIQUE INDEX people_identity ON people(identity_key) WHERE status <> 'merged'"),
    (
        "people_national_id",
        "CREATE UNIQUE INDEX people_national_id ON people(national_id) WHERE national_id IS NOT NULL AND status <> 'merged'",
    ),
    ("people_sort", "CREATE INDEX people_sort ON people(sort_key)"),
    ("people_name", "CREATE INDEX people_name ON people(name_folded)"),
    ("person_units_unit", "CREATE INDEX person_units_unit ON person_units(unit_id, valid_to)"),
    ("person_units_person", "CREATE INDEX person_units_person ON person_units(person_id, valid_to)"),
    ("accounts_username", "CREATE UNIQUE INDEX accounts_username ON accounts(username)"),
    ("accounts_person", "CREATE UNIQUE INDEX accounts_person ON accounts(person_id)"),
];

/// One account per new person, waiting for activation (username = national ID, else `p<id>`),
/// and their core status: the same inserts for the batched and the bulk load.
macro_rules! accounts_and_core {
    ($exec:expr, $chunk:expr, $ids:expr, $t:expr, $from:expr) => {{
        let mut q = QueryBuilder::new("INSERT INTO accounts (username, person_id, created_at) ");
        q.push_values($chunk.iter().zip($ids), |mut b, (a, id)| {
            b.push_bind(a.fields.national_id.clone().unwrap_or_else(|| format!("p{id}"))).push_bind(*id).push_bind($t);
        });
        q.push(" ON CONFLICT (username) DO NOTHING");
        q.build().execute($exec).await?;
        core_status!($exec, $chunk, $ids, $from);
    }};
}

/// The core status of new people (those whose row says so).
macro_rules! core_status {
    ($exec:expr, $chunk:expr, $ids:expr, $from:expr) => {{
        let cores: Vec<_> = $chunk.iter().zip($ids).filter_map(|(a, id)| a.core.as_ref().map(|c| (id, c))).collect();
        if !cores.is_empty() {
            let mut q = QueryBuilder::new("INSERT INTO core_status (person_id, module_code, subject, since) ");
            q.push_values(cores, |mut b, (id, (m, s))| {
                b.push_bind(*id).push_bind(m.as_str()).push_bind(s.as_str()).push_bind($from.as_str());
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute($exec).await?;
        }
    }};
}

impl Db {
    /// Whether nobody is on record yet (a first national or provincial load).
    pub async fn people_is_empty(&self) -> Result<bool> {
        let any: Option<i64> =
            on!(self, p => sqlx::query_scalar("SELECT id FROM people LIMIT 1").fetch_optional(p).await)?;
        Ok(any.is_none())
    }

    /// Create many units in one transaction (parents before children: a unit may name as
    /// parent a unit created earlier in the same call by its index, as `Err(index)`).
    pub async fn create_units_batch(
        &self,
        actor: Option<i64>,
        units: &[(crate::units::NewUnit, std::result::Result<i64, usize>)],
    ) -> Result<Vec<i64>> {
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut ids: Vec<i64> = Vec::with_capacity(units.len());
            for (n, parent) in units {
                let parent = match parent {
                    Ok(id) => *id,
                    Err(i) => ids[*i],
                };
                let from = iso(n.valid_from);
                let name = bdtx_domain::text::clean(&n.name);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO units (code, kind, name, name_folded, sort_key, levels, valid_from, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
                    .bind(&n.code).bind(n.kind.as_str()).bind(&name).bind(fold(&name)).bind(bdtx_domain::text::text_sort_key(&name))
                    .bind(bdtx_domain::org::levels_to_string(&n.levels)).bind(&from).bind(t)
                    .fetch_one(&mut *tx).await.map_err(|e| crate::conflict(e, "code"))?;
                sqlx::query("INSERT INTO unit_links (unit_id, parent_id, valid_from) VALUES ($1, $2, $3)")
                    .bind(id).bind(parent).bind(&from).execute(&mut *tx).await?;
                ids.push(id);
            }
            if !ids.is_empty() {
                let detail = serde_json::json!({"created": ids.len()}).to_string();
                crate::audit_insert!(tx, actor, "unit.import", "unit", ids[0], None::<i64>, None::<String>, Some(detail));
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    pub async fn current_units(&self) -> Result<Vec<UnitEntry>> {
        let d = iso(today());
        Ok(on!(self, p => sqlx::query_as::<_, UnitEntry>(
            "SELECT u.id, u.code, u.kind, u.name, u.levels, l.parent_id FROM units u
             LEFT JOIN unit_links l ON l.unit_id = u.id AND l.valid_from <= $1 AND (l.valid_to IS NULL OR l.valid_to > $1)
             WHERE u.valid_from <= $1 AND (u.valid_to IS NULL OR u.valid_to > $1)")
            .bind(&d).fetch_all(p).await)?)
    }

    /// Index every person not merged away (streamed: memory holds the index, not the rows). For a
    /// national file; a small file uses [`Db::people_index_for`].
    pub async fn people_index(&self) -> Result<PeopleIndex> {
        self.index_people(None).await
    }

    /// Index only the people a file can match: by identity key, or by folded name (for
    /// look-alikes). A school's upload then costs a few indexed look-ups, not the whole nation.
    pub async fn people_index_for(&self, identity_keys: &[String], folded_names: &[String]) -> Result<PeopleIndex> {
        self.index_people(Some((identity_keys, folded_names))).await
    }

    async fn index_people(&self, only: Option<(&[String], &[String])>) -> Result<PeopleIndex> {
        use futures_util::TryStreamExt;
        let d = iso(today());
        let mut idx = PeopleIndex::default();
        const SELECT: &str = "SELECT p.id, p.full_name, p.birth_date, p.gender, p.national_id, p.phone, p.email, p.position, p.levels,
                          p.main_subject, p.other_subjects, p.status, p.merged_into, p.created_at, p.updated_at, p.identity_key,
                          (SELECT MIN(pu.unit_id) FROM person_units pu WHERE pu.person_id = p.id
                             AND pu.valid_from <= ";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            person: crate::people::Person,
            identity_key: String,
            unit_id: Option<i64>,
        }
        let mut add = |r: Row| {
            let f = r.person.fields();
            let on_record = OnRecord {
                id: r.person.id,
                fingerprint: fingerprint(&f, r.unit_id),
                unit: r.unit_id,
                name_hash: name_hash(&f.full_name),
                birth_date: f.birth_date,
                active: r.person.status == "active",
            };
            idx.by_identity.insert(r.identity_key, on_record);
            if on_record.active {
                idx.by_name_birth.entry(name_birth_key(&f.full_name, f.birth_date)).or_default().push(r.person.id);
            }
            if let Some(n) = f.national_id {
                idx.by_national_id.insert(n, r.person.id);
            }
        };
        // The statements, from fixed text and placeholders only: $1 is today, $2… the values.
        let head = |from: &str| {
            format!(
                "{SELECT}$1 AND (pu.valid_to IS NULL OR pu.valid_to > $1)) AS unit_id FROM {from} WHERE p.status <> 'merged'"
            )
        };
        let statements: Vec<(String, &[String])> = match only {
            // Everyone: the table in its own order. SQLite would otherwise walk the partial
            // identity index (its condition is this one) and look each row up from there: a
            // national index took 2.5 s more.
            None if matches!(self, Db::Sqlite(..)) => vec![(head("people p NOT INDEXED"), &[])],
            None => vec![(head("people p"), &[])],
            Some((keys, names)) => [("p.identity_key", keys), ("p.name_folded", names)]
                .into_iter()
                .flat_map(|(column, values)| values.chunks(CHUNK).map(move |chunk| (column, chunk)))
                .map(|(column, chunk)| {
                    let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                    (format!("{} AND {column} IN ({})", head("people p"), marks.join(", ")), chunk)
                })
                .collect(),
        };
        // SQLite: rusqlite on the lane's reader, row after row on this thread (sqlx hands each
        // row over from its worker thread: a national index took seconds more).
        if let Some(lane) = self.lane() {
            let mut read = || {
                lane.read(|c| {
                    let from_lane = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Row> {
                        Ok(Row {
                            person: crate::people::Person {
                                id: r.get(0)?,
                                full_name: r.get(1)?,
                                birth_date: r.get(2)?,
                                gender: r.get(3)?,
                                national_id: r.get(4)?,
                                phone: r.get(5)?,
                                email: r.get(6)?,
                                position: r.get(7)?,
                                levels: r.get(8)?,
                                main_subject: r.get(9)?,
                                other_subjects: r.get(10)?,
                                status: r.get(11)?,
                                merged_into: r.get(12)?,
                                created_at: r.get(13)?,
                                updated_at: r.get(14)?,
                            },
                            identity_key: r.get(15)?,
                            unit_id: r.get(16)?,
                        })
                    };
                    for (sql, values) in &statements {
                        let mut params: Vec<&dyn rusqlite::ToSql> = vec![&d];
                        params.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
                        let mut stmt = crate::lane::stmt(c, sql, &params)?;
                        let mut rows = stmt.raw_query();
                        while let Some(r) = rows.next()? {
                            add(from_lane(r)?);
                        }
                    }
                    Ok(())
                })
            };
            // A national index takes a second or two: let the runtime's other tasks go on.
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(read)?,
                _ => read()?,
            }
            return Ok(idx);
        }
        on!(self, p => {
            for (sql, values) in &statements {
                let mut q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str())).bind(&d);
                for v in values.iter() {
                    q = q.bind(v);
                }
                let mut rows = q.fetch(p);
                while let Some(r) = rows.try_next().await? {
                    add(r);
                }
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(idx)
    }

    /// Write a batch in one transaction; returns the ids given to the added people, in order.
    pub async fn apply_roster_batch(&self, actor: Option<i64>, batch: &Batch, from: NaiveDate) -> Result<Vec<i64>> {
        let from = iso(from);
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            // BACKEND: reserve ids so rows can be inserted many at a time and linked without a
            // round trip each. SQLite holds the write lock (BEGIN IMMEDIATE): max(id) is safe.
            // PostgreSQL draws from the identity sequence.
            let ids: Vec<i64> = if batch.adds.is_empty() {
                Vec::new()
            } else if matches!(self, Db::Sqlite(..)) {
                let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM people").fetch_one(&mut *tx).await?;
                (1..=batch.adds.len() as i64).map(|i| max + i).collect()
            } else {
                sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('people', 'id')) FROM generate_series(1, $1)")
                    .bind(batch.adds.len() as i64).fetch_all(&mut *tx).await?
            };
            for (chunk, ids) in batch.adds.chunks(CHUNK).zip(ids.chunks(CHUNK)) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO people (id, full_name, name_folded, sort_key, birth_date, gender, national_id, phone, email, position,
                        levels, main_subject, other_subjects, identity_key, created_at, updated_at) ");
                q.push_values(chunk.iter().zip(ids), |mut b, (a, id)| {
                    let f = &a.fields;
                    b.push_bind(*id).push_bind(f.full_name.clone()).push_bind(fold(&f.full_name)).push_bind(name_sort_key(&f.full_name))
                        .push_bind(f.birth_date.map(iso)).push_bind(f.gender.clone()).push_bind(f.national_id.clone())
                        .push_bind(f.phone.clone()).push_bind(f.email.clone()).push_bind(f.position.as_str())
                        .push_bind(f.levels_string()).push_bind(f.main_subject.clone()).push_bind(f.other_subjects.join(";"))
                        .push_bind(f.identity_key()).push_bind(t).push_bind(t);
                });
                q.build().execute(&mut *tx).await.map_err(|e| crate::conflict(e, "identity"))?;
                let mut q = QueryBuilder::new("INSERT INTO person_units (person_id, unit_id, valid_from) ");
                q.push_values(chunk.iter().zip(ids), |mut b, (a, id)| {
                    b.push_bind(*id).push_bind(a.unit_id).push_bind(from.clone());
                });
                q.build().execute(&mut *tx).await?;
                // One account per person, waiting for activation: username = national ID, else p<id>.
                accounts_and_core!(&mut *tx, chunk, ids, t, from);
            }
            if !batch.adds.is_empty() {
                // A national ID already used as someone's username: fall back to p<id>.
                sqlx::query("INSERT INTO accounts (username, person_id, created_at)
                     SELECT 'p' || CAST(p.id AS TEXT), p.id, $1 FROM people p
                     WHERE p.id >= $2 AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id)")
                    .bind(t).bind(ids[0]).execute(&mut *tx).await?;
            }
            for c in &batch.changes {
                // every field before, as the update is audited with every field after
                let before: Option<crate::people::Person> = sqlx::query_as(
                    "SELECT id, full_name, birth_date, gender, national_id, phone, email, position, levels, main_subject,
                        other_subjects, status, merged_into, created_at, updated_at FROM people WHERE id = $1")
                    .bind(c.id).fetch_optional(&mut *tx).await?;
                let f = &c.fields;
                sqlx::query(
                    "UPDATE people SET full_name = $2, name_folded = $3, sort_key = $4, birth_date = $5, gender = $6, national_id = $7,
                        phone = $8, email = $9, position = $10, levels = $11, main_subject = $12, other_subjects = $13,
                        identity_key = $14, updated_at = $15 WHERE id = $1")
                    .bind(c.id).bind(&f.full_name).bind(fold(&f.full_name)).bind(name_sort_key(&f.full_name))
                    .bind(f.birth_date.map(iso)).bind(&f.gender).bind(&f.national_id).bind(&f.phone).bind(&f.email)
                    .bind(f.position.as_str()).bind(f.levels_string()).bind(&f.main_subject).bind(f.other_subjects.join(";"))
                    .bind(f.identity_key()).bind(t)
                    .execute(&mut *tx).await.map_err(|e| crate::conflict(e, "identity"))?;
                if let Some(unit) = c.move_to {
                    sqlx::query("UPDATE person_units SET valid_to = $2 WHERE person_id = $1 AND valid_to IS NULL")
                        .bind(c.id).bind(&from).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO person_units (person_id, unit_id, valid_from) VALUES ($1, $2, $3)")
                        .bind(c.id).bind(unit).bind(&from).execute(&mut *tx).await?;
                }
                let before_json = before.and_then(|b| serde_json::to_string(&b.fields()).ok());
                let after_json = serde_json::to_string(f).ok();
                crate::audit_insert!(tx, actor, "person.update", "person", c.id, c.move_to, before_json, after_json);
            }
            for (unit, summary) in &batch.summaries {
                crate::audit_insert!(tx, actor, "roster.import", "unit", unit, Some(*unit), None::<String>, Some(summary.clone()));
            }
            tx.commit().await?;
            Ok(ids)
        })
    }
}

/// A first load into an empty people table (a national or provincial roster), written in one
/// transaction while the file is still being read: people and their core status go in batch by
/// batch; at the end the rows of units held back are taken out again, the units the kept rows
/// need are created, the stays and accounts are written, and the secondary indexes (dropped
/// inside the same transaction, see [`BULK_INDEXES`]) are built once. A failure anywhere rolls
/// all of it back, index drops included.
///
/// BACKEND: on SQLite the load has a connection of its own (rusqlite, the same linked library as
/// sqlx), driven on a thread of its own: one prepared statement a row instead of sqlx's
/// multi-row statements, whose per-value copies and hand-offs to its worker thread cost more
/// than SQLite's own work. Closing that connection without a commit rolls everything back. A
/// database without a file (in memory) has no bulk load. On PostgreSQL rows go in by `COPY`,
/// people wait in a temporary table until the held-back rows are out, and the dropped indexes
/// and foreign keys lock `people`, `person_units` and `accounts` against readers until the
/// commit (people was empty anyway; requests that read accounts wait for the load).
pub struct BulkLoad {
    tx: BulkTx,
    actor: Option<i64>,
    at: i64,
    from: String,
    next_id: i64,
    /// PostgreSQL: the foreign keys of `person_units` and `accounts` to people (table, name,
    /// definition), dropped for the load and added back, checked in one pass, at its commit.
    foreign_keys: Vec<(String, String, String)>,
}

enum BulkTx {
    Sqlite(SqliteLoad),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// SQLite's side of a bulk load: a connection in one `BEGIN IMMEDIATE` transaction, on its own
/// thread. Dropped without [`BulkLoad::commit`], the thread ends and closing the connection
/// rolls the transaction back.
struct SqliteLoad {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Page cache of the load's connection until the indexes are built: the accounts'
/// `INSERT … SELECT` fills their two unique indexes in random key order, which wants them
/// in memory (with a 2 MiB cache it takes twice as long).
const BULK_CACHE: &str = "-131072";

/// Page cache while the dropped indexes are built (see [`BulkLoad::commit`]): 2 MiB.
const INDEX_CACHE: &str = "-2048";

impl SqliteLoad {
    fn open(path: &std::path::Path) -> Result<SqliteLoad> {
        use rusqlite::OpenFlags;
        let c = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        // As the pool's connections (crate::Db::connect), except: no memory-mapped pages (each
        // mapped page would count in the process's memory), a larger page cache, index builds
        // that sort on two threads (SQLite's sorter uses none with temporary files in memory),
        // no checkpoint in the commit (copying the load's WAL into the database is left to the
        // lane's checkpoint thread, as for the lane's own writer, `crate::lane`), and foreign
        // keys checked once before the commit instead of row by row (see `BulkLoad::commit`):
        // deleting a held-back person otherwise looks for them in every table that refers to
        // people, some twenty lookups a row.
        c.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA cache_size = {BULK_CACHE};
             PRAGMA mmap_size = 0; PRAGMA temp_store = FILE; PRAGMA threads = 2; PRAGMA wal_autocheckpoint = 0;"
        ))?;
        c.set_prepared_statement_cache_capacity(32);
        let mut c = c;
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sqlite-bulk-load".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut c);
                }
            })
            .map_err(|e| StoreError::Other(format!("bulk load thread: {e}")))?;
        Ok(SqliteLoad { jobs: Some(tx), thread: Some(thread) })
    }

    /// Run `f` on the load's thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let stopped = || StoreError::Other("the SQLite bulk load thread stopped".into());
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(Box::new(move |c: &mut rusqlite::Connection| {
                let _ = reply.send(f(c));
            }))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stop the thread (closing the connection) and wait for it.
    async fn close(mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Drop for SqliteLoad {
    fn drop(&mut self) {
        // The thread ends on its own once the sender is gone; nobody waits for it here.
        self.jobs.take();
    }
}

/// The rows whose flag is set (a missing flag counts as set).
fn flagged<'a>(rows: &'a [PersonRow], keep: &'a [bool]) -> impl Iterator<Item = &'a PersonRow> {
    rows.iter().enumerate().filter(|(i, _)| keep.get(*i).copied().unwrap_or(true)).map(|(_, r)| r)
}

/// Record how long a step of a bulk load took (`RUST_LOG=bdtx_store=debug`).
fn step(what: &str, since: std::time::Instant) {
    tracing::debug!("bulk load: {what} in {:.2} s", since.elapsed().as_secs_f64());
}

impl Db {
    /// Start a bulk load if nobody is on record yet (checked under the write lock); `None` when
    /// people exist (the caller uses [`Db::apply_roster_batch`] instead), or for a SQLite
    /// database in memory.
    pub async fn bulk_load(&self, actor: Option<i64>, from: NaiveDate) -> Result<Option<BulkLoad>> {
        let (tx, next_id, foreign_keys) = match self {
            Db::Sqlite(..) => {
                let Some(lane) = self.lane() else { return Ok(None) };
                let load = SqliteLoad::open(lane.path())?;
                let next_id = load
                    .run(|c| {
                        c.execute_batch("BEGIN IMMEDIATE")?;
                        let any: Option<i64> =
                            c.query_row("SELECT id FROM people LIMIT 1", [], |r| r.get(0)).optional()?;
                        if any.is_some() {
                            c.execute_batch("ROLLBACK")?;
                            return Ok(None);
                        }
                        for (name, _) in BULK_INDEXES {
                            c.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
                        }
                        let max: i64 = c.query_row("SELECT COALESCE(MAX(id), 0) FROM people", [], |r| r.get(0))?;
                        Ok(Some(max + 1))
                    })
                    .await?;
                let Some(next_id) = next_id else {
                    load.close().await;
                    return Ok(None);
                };
                (BulkTx::Sqlite(load), next_id, Vec::new())
            }
            Db::Postgres(p) => {
                let mut t = p.begin_write().await?;
                let any: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM people LIMIT 1").fetch_optional(&mut *t).await?;
                if any.is_some() {
                    t.rollback().await?;
                    return Ok(None);
                }
                // Serialise with other bulk loads (the people table is locked for the load).
                sqlx::query("LOCK TABLE people IN EXCLUSIVE MODE").execute(&mut *t).await?;
                let any: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM people LIMIT 1").fetch_optional(&mut *t).await?;
                if any.is_some() {
                    t.rollback().await?;
                    return Ok(None);
                }
                for (name, _) in BULK_INDEXES {
                    let sql = format!("DROP INDEX IF EXISTS {name}");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *t).await?;
                }
                // People and their core status wait in temporary tables until the units held
                // back are known (`BulkLoad::remove_people`): deleting a person from `people`
                // checks every table that refers to people, some twenty lookups a row.
                for sql in [
                    "CREATE TEMP TABLE bulk_people (LIKE people INCLUDING DEFAULTS) ON COMMIT DROP",
                    "CREATE TEMP TABLE bulk_core (person_id BIGINT, module_code TEXT, subject TEXT, since TEXT) ON COMMIT DROP",
                ] {
                    sqlx::query(sql).execute(&mut *t).await?;
                }
                // A foreign key checks each row on its own (and locks the row it refers to):
                // the stays' and accounts' keys to people are dropped for the load and added
                // back at its commit, which checks them all in one pass. Those two tables are
                // locked meanwhile, as people is (the key to units stays: dropping it would
                // lock the units every page reads).
                let keys: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid) FROM pg_constraint
                     WHERE contype = 'f' AND confrelid = 'people'::regclass
                       AND conrelid IN ('person_units'::regclass, 'accounts'::regclass)
                     ORDER BY 1, 2",
                )
                .fetch_all(&mut *t)
                .await?;
                for (table, name, _) in &keys {
                    let sql = format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\"");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *t).await?;
                }
                (BulkTx::Postgres(t), 0, keys)
            }
        };
        Ok(Some(BulkLoad { tx, actor, at: now(), from: iso(from), next_id, foreign_keys }))
    }
}

const INSERT_PERSON: &str =
    "INSERT INTO people (id, full_name, name_folded, sort_key, birth_date, gender, national_id, phone,
    email, position, levels, main_subject, other_subjects, identity_key, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)";
const INSERT_CORE: &str = "INSERT INTO core_status (person_id, module_code, subject, since) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT DO NOTHING";
const INSERT_UNIT: &str =
    "INSERT INTO units (id, code, kind, name, name_folded, sort_key, levels, valid_from, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, unit_id, before_json, after_json)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// Rows for PostgreSQL's `COPY … FROM STDIN` in its text format: tab between fields, `\N` for
/// NULL, backslash escapes for the characters that would end a field or a row.
struct CopyRows(Vec<u8>);

impl CopyRows {
    fn with_capacity(bytes: usize) -> CopyRows {
        CopyRows(Vec::with_capacity(bytes))
    }

    fn row(&mut self, fields: &[Option<&str>]) {
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.0.push(b'\t');
            }
            let Some(text) = field else {
                self.0.extend_from_slice(b"\\N");
                continue;
            };
            for &b in text.as_bytes() {
                match b {
                    b'\\' => self.0.extend_from_slice(b"\\\\"),
                    b'\t' => self.0.extend_from_slice(b"\\t"),
                    b'\n' => self.0.extend_from_slice(b"\\n"),
                    b'\r' => self.0.extend_from_slice(b"\\r"),
                    _ => self.0.push(b),
                }
            }
        }
        self.0.push(b'\n');
    }

    /// Send the rows with `statement` (a `COPY … FROM STDIN`) inside the load's transaction.
    async fn copy_into(
        self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        statement: &str,
    ) -> std::result::Result<u64, sqlx::Error> {
        let mut copy = tx.copy_in_raw(statement).await?;
        if let Err(e) = copy.send(self.0).await {
            // The transaction is rolled back by the caller; the connection is told first.
            let _ = copy.abort("the load failed").await;
            return Err(e);
        }
        copy.finish().await
    }
}

/// A unique constraint broken by a row of the load, named as `crate::conflict` names it.
fn sqlite_conflict(e: rusqlite::Error, what: &'static str) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(what),
        _ => StoreError::Sqlite(e),
    }
}

impl BulkLoad {
    /// Create one unit (the Ministry of a fresh database) inside the load.
    pub async fn create_unit(&mut self, unit: &crate::units::NewUnit) -> Result<i64> {
        let ids = self.create_units(&[(unit.clone(), Ok(0))], false).await?;
        let (id, actor) = (ids[0], self.actor);
        let after = serde_json::json!({"code": unit.code, "kind": unit.kind.as_str(),
            "name": bdtx_domain::text::clean(&unit.name), "levels": bdtx_domain::org::levels_to_string(&unit.levels),
            "parent_id": unit.parent_id, "valid_from": iso(unit.valid_from), "valid_to": unit.valid_to.map(iso)})
        .to_string();
        let unit_id = unit.parent_id.unwrap_or(id);
        match &mut self.tx {
            BulkTx::Sqlite(l) => {
                l.run(move |c| {
                    c.prepare_cached(INSERT_AUDIT)?.execute(rusqlite::params![
                        crate::now_pub(),
                        actor,
                        "unit.create",
                        "unit",
                        id.to_string(),
                        unit_id,
                        None::<String>,
                        after
                    ])?;
                    Ok(())
                })
                .await?
            }
            BulkTx::Postgres(t_) => {
                let tx = &mut **t_;
                crate::audit_insert!(tx, actor, "unit.create", "unit", id, Some(unit_id), None::<String>, Some(after));
            }
        }
        Ok(id)
    }

    /// Create units, parents first (a parent may be `Err(index)` of an earlier unit in `units`;
    /// `Ok(0)` means no parent). One audit entry for them all when `audit`.
    pub async fn create_units(
        &mut self,
        units: &[(crate::units::NewUnit, std::result::Result<i64, usize>)],
        audit: bool,
    ) -> Result<Vec<i64>> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let (t, actor) = (self.at, self.actor);
        // BACKEND: ids are reserved first so that children can name their parents in the same
        // statement batch (SQLite holds the write lock; PostgreSQL draws from the sequence).
        let ids: Vec<i64> = match &mut self.tx {
            BulkTx::Sqlite(l) => {
                let max: i64 =
                    l.run(|c| Ok(c.query_row("SELECT COALESCE(MAX(id), 0) FROM units", [], |r| r.get(0))?)).await?;
                (1..=units.len() as i64).map(|i| max + i).collect()
            }
            BulkTx::Postgres(tx) => {
                sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('units', 'id')) FROM generate_series(1, $1)")
                    .bind(units.len() as i64)
                    .fetch_all(&mut **tx)
                    .await?
            }
        };
        struct Row {
            id: i64,
            code: String,
            kind: &'static str,
            name: String,
            folded: String,
            sort_key: String,
            levels: String,
            from: String,
            parent: i64,
        }
        let rows: Vec<Row> = units
            .iter()
            .zip(&ids)
            .map(|((n, parent), id)| {
                let name = bdtx_domain::text::clean(&n.name);
                Row {
                    id: *id,
                    code: n.code.clone(),
                    kind: n.kind.as_str(),
                    folded: fold(&name),
                    sort_key: bdtx_domain::text::text_sort_key(&name),
                    name,
                    levels: bdtx_domain::org::levels_to_string(&n.levels),
                    from: iso(n.valid_from),
                    parent: match parent {
                        Ok(id) => *id,
                        Err(i) => ids[*i],
                    },
                }
            })
            .collect();
        let detail = serde_json::json!({"created": ids.len()}).to_string();
        let first = ids[0];
        match &mut self.tx {
            BulkTx::Sqlite(l) => {
                l.run(move |c| {
                    let mut unit = c.prepare_cached(INSERT_UNIT)?;
                    let mut link = c.prepare_cached(
                        "INSERT INTO unit_links (unit_id, parent_id, valid_from) VALUES (?1, ?2, ?3)",
                    )?;
                    for r in &rows {
                        unit.execute(rusqlite::params![
                            r.id, r.code, r.kind, r.name, r.folded, r.sort_key, r.levels, r.from, t
                        ])
                        .map_err(|e| sqlite_conflict(e, "code"))?;
                        if r.parent != 0 {
                            link.execute(rusqlite::params![r.id, r.parent, r.from])?;
                        }
                    }
                    if audit {
                        c.prepare_cached(INSERT_AUDIT)?.execute(rusqlite::params![
                            crate::now_pub(),
                            actor,
                            "unit.import",
                            "unit",
                            first.to_string(),
                            None::<i64>,
                            None::<String>,
                            detail
                        ])?;
                    }
                    Ok(())
                })
                .await?
            }
            BulkTx::Postgres(t_) => {
                let tx = &mut **t_;
                for chunk in rows.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(
                        "INSERT INTO units (id, code, kind, name, name_folded, sort_key, levels, valid_from, created_at) ",
                    );
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(r.id)
                            .push_bind(r.code.as_str())
                            .push_bind(r.kind)
                            .push_bind(r.name.as_str())
                            .push_bind(r.folded.as_str())
                            .push_bind(r.sort_key.as_str())
                            .push_bind(r.levels.as_str())
                            .push_bind(r.from.as_str())
                            .push_bind(t);
                    });
                    q.build().execute(&mut *tx).await.map_err(|e| crate::conflict(e, "code"))?;
                    let links: Vec<&Row> = chunk.iter().filter(|r| r.parent != 0).collect();
                    if !links.is_empty() {
                        let mut q = QueryBuilder::new("INSERT INTO unit_links (unit_id, parent_id, valid_from) ");
                        q.push_values(links, |mut b, r| {
                            b.push_bind(r.id).push_bind(r.parent).push_bind(r.from.as_str());
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                }
                if audit {
                    crate::audit_insert!(
                        tx,
                        actor,
                        "unit.import",
                        "unit",
                        first,
                        None::<i64>,
                        None::<String>,
                        Some(detail)
                    );
                }
            }
        }
        Ok(ids)
    }

    /// Add people and their core status (on PostgreSQL into the load's temporary tables, see
    /// [`BulkLoad::remove_people`]); returns their ids, in order. Their accounts are written by
    /// [`BulkLoad::add_accounts`] and their stays by [`BulkLoad::add_stays`], once the rows held
    /// back are out. Only the rows whose `keep` flag is set are added (the caller need not
    /// move the others out of the way); a missing flag counts as set.
    pub async fn add_people(&mut self, rows: Vec<PersonRow>, keep: Vec<bool>) -> Result<Vec<i64>> {
        let kept = flagged(&rows, &keep).count();
        if kept == 0 {
            return Ok(Vec::new());
        }
        let (t, from) = (self.at, self.from.clone());
        match &mut self.tx {
            BulkTx::Sqlite(l) => {
                let first = self.next_id;
                self.next_id += kept as i64;
                l.run(move |c| {
                    let mut person = c.prepare_cached(INSERT_PERSON)?;
                    let mut core = c.prepare_cached(INSERT_CORE)?;
                    for (a, id) in flagged(&rows, &keep).zip(first..) {
                        let f = &a.fields;
                        person
                            .execute(rusqlite::params![
                                id,
                                f.full_name,
                                a.name_folded,
                                a.sort_key,
                                f.birth_date.map(iso),
                                f.gender,
                                f.national_id,
                                f.phone,
                                f.email,
                                f.position.as_str(),
                                a.levels,
                                f.main_subject,
                                a.other_subjects,
                                a.identity_key,
                                t
                            ])
                            .map_err(|e| sqlite_conflict(e, "identity"))?;
                        if let Some((m, s)) = &a.core {
                            core.execute(rusqlite::params![id, m, s, from])?;
                        }
                    }
                    Ok(())
                })
                .await?;
                Ok((first..self.next_id).collect())
            }
            BulkTx::Postgres(tx) => {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT nextval(pg_get_serial_sequence('people', 'id')) FROM generate_series(1, $1)",
                )
                .bind(kept as i64)
                .fetch_all(&mut **tx)
                .await?;
                // One COPY for the people (a multi-row INSERT is bound and planned per chunk).
                let mut data = CopyRows::with_capacity(kept * 192);
                let at = t.to_string();
                for (a, id) in flagged(&rows, &keep).zip(&ids) {
                    let f = &a.fields;
                    data.row(&[
                        Some(&id.to_string()),
                        Some(&f.full_name),
                        Some(&a.name_folded),
                        Some(&a.sort_key),
                        f.birth_date.map(iso).as_deref(),
                        f.gender.as_deref(),
                        f.national_id.as_deref(),
                        f.phone.as_deref(),
                        f.email.as_deref(),
                        Some(f.position.as_str()),
                        Some(&a.levels),
                        f.main_subject.as_deref(),
                        Some(&a.other_subjects),
                        Some(&a.identity_key),
                        Some(&at),
                        Some(&at),
                    ]);
                }
                data.copy_into(
                    tx,
                    "COPY bulk_people (id, full_name, name_folded, sort_key, birth_date, gender, national_id, phone,
                        email, position, levels, main_subject, other_subjects, identity_key, created_at, updated_at)
                     FROM STDIN",
                )
                .await?;
                let mut core = CopyRows::with_capacity(4096);
                for (a, id) in flagged(&rows, &keep).zip(&ids) {
                    if let Some((m, s)) = &a.core {
                        core.row(&[Some(&id.to_string()), Some(m), Some(s), Some(&from)]);
                    }
                }
                core.copy_into(tx, "COPY bulk_core (person_id, module_code, subject, since) FROM STDIN").await?;
                Ok(ids)
            }
        }
    }

    /// Take out people added earlier in this load (the rows of units held back), with their
    /// core status (their accounts and stays are not written yet). Called once, even with no
    /// one to take out: on PostgreSQL the people kept then go from the load's temporary tables
    /// into `people` and `core_status`.
    pub async fn remove_people(&mut self, ids: Vec<i64>) -> Result<()> {
        let started = std::time::Instant::now();
        match &mut self.tx {
            BulkTx::Sqlite(l) => {
                // No foreign keys are checked row by row here (see `SqliteLoad::open`).
                l.run(move |c| {
                    let mut core = c.prepare_cached("DELETE FROM core_status WHERE person_id = ?1")?;
                    let mut person = c.prepare_cached("DELETE FROM people WHERE id = ?1")?;
                    for id in &ids {
                        core.execute([id])?;
                        person.execute([id])?;
                    }
                    Ok(())
                })
                .await?
            }
            BulkTx::Postgres(tx) => {
                sqlx::query("DELETE FROM bulk_people WHERE id = ANY($1)").bind(&ids).execute(&mut **tx).await?;
                sqlx::query("DELETE FROM bulk_core WHERE person_id = ANY($1)").bind(&ids).execute(&mut **tx).await?;
                sqlx::query("INSERT INTO people SELECT * FROM bulk_people ORDER BY id")
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| crate::conflict(e, "identity"))?;
                sqlx::query(
                    "INSERT INTO core_status (person_id, module_code, subject, since)
                     SELECT person_id, module_code, subject, since FROM bulk_core ON CONFLICT DO NOTHING",
                )
                .execute(&mut **tx)
                .await?;
            }
        }
        step("held-back rows removed", started);
        Ok(())
    }

    /// One account per person of the load, waiting for activation: username = national ID,
    /// else (no ID, or the ID already someone's username) `p<id>`. The accounts' unique
    /// indexes are dropped for the load, so the usernames taken are looked up here (the
    /// accounts on record before the load, which belong to nobody: people was empty); two
    /// people of the load with the same ID would fail the unique index on people's IDs first.
    pub async fn add_accounts(&mut self) -> Result<()> {
        let started = std::time::Instant::now();
        // Everyone in the people table came with this load (it was empty, under the lock).
        const ACCOUNTS: &str = "INSERT INTO accounts (username, person_id, created_at)
             SELECT CASE WHEN national_id IS NULL OR national_id IN (SELECT username FROM accounts)
                         THEN 'p' || CAST(id AS TEXT) ELSE national_id END, id, $1
             FROM people ORDER BY id";
        let t = self.at;
        match &mut self.tx {
            BulkTx::Sqlite(l) => {
                l.run(move |c| {
                    c.execute(&ACCOUNTS.replace("$1", "?1"), [t])?;
                    Ok(())
                })
                .await?
            }
            BulkTx::Postgres(tx) => {
                sqlx::query(ACCOUNTS).bind(t).execute(&mut **tx).await?;
            }
        }
        step("accounts written", started);
        Ok(())
    }

    /// Where people work from the load's date: (person id, unit id).
    pub async fn add_stays(&mut self, stays: Vec<(i64, i64)>) -> Result<()> {
        let started = std::time::Instant::now();
        let from = self.from.clone();
        match &mut self.tx {
            BulkTx::Sqlite(l) => {
                l.run(move |c| {
                    let mut stay = c.prepare_cached(
                        "INSERT INTO person_units (person_id, unit_id, valid_from) VALUES (?1, ?2, ?3)",
                    )?;
                    for (person, unit) in &stays {
                        stay.execute(rusqlite::params![person, unit, from])?;
                    }
                    Ok(())
                })
                .await?
            }
            BulkTx::Postgres(tx) => {
                let mut data = CopyRows::with_capacity(stays.len() * 24);
                for (person, unit) in &stays {
                    data.row(&[Some(&person.to_string()), Some(&unit.to_string()), Some(&from)]);
                }
                data.copy_into(tx, "COPY person_units (person_id, unit_id, valid_from) FROM STDIN").await?;
            }
        }
        step("stays written", started);
        Ok(())
    }

    /// One audit entry per unit written: (unit id, JSON summary).
    pub async fn audit_units(&mut self, summaries: Vec<(i64, String)>) -> Result<()> {
        let (actor, at) = (self.actor, crate::now_pub());
        match &mut self.tx {
            BulkTx::Sqlite(l) => {
                l.run(move |c| {
                    let mut audit = c.prepare_cached(INSERT_AUDIT)?;
                    for (unit, summary) in &summaries {
                        audit.execute(rusqlite::params![
                            at,
                            actor,
                            "roster.import",
                            "unit",
                            unit.to_string(),
                            unit,
                            None::<String>,
                            summary
                        ])?;
                    }
                    Ok(())
                })
                .await?
            }
            BulkTx::Postgres(tx) => {
                for chunk in summaries.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(
                        "INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, unit_id, before_json, after_json) ",
                    );
                    q.push_values(chunk, |mut b, (unit, summary)| {
                        b.push_bind(at)
                            .push_bind(actor)
                            .push_bind("roster.import")
                            .push_bind("unit")
                            .push_bind(unit.to_string())
                            .push_bind(*unit)
                            .push_bind(None::<String>)
                            .push_bind(summary.as_str());
                    });
                    q.build().execute(&mut **tx).await?;
                }
            }
        }
        Ok(())
    }

    /// Build the indexes dropped at the start, then commit.
    pub async fn commit(self) -> Result<()> {
        match self.tx {
            BulkTx::Sqlite(l) => {
                l.run(|c| {
                    // A small page cache while the indexes are built: SQLite's sorter fills runs
                    // of the cache's size and sorts and merges them on its worker threads
                    // (`PRAGMA threads`); with one run as large as the index it sorts alone on
                    // this thread. The people table's pages are read once per index either way.
                    c.execute_batch(&format!("PRAGMA cache_size = {INDEX_CACHE}"))?;
                    for (name, create) in BULK_INDEXES {
                        let started = std::time::Instant::now();
                        c.execute_batch(create)?;
                        step(name, started);
                    }
                    // The load's connection does not check foreign keys row by row: check every
                    // table it wrote to that refers to another, once, before committing. Not
                    // `people`: its one reference (`merged_into`) is never written by a load;
                    // nor `accounts`: the load's come from the people table in one statement.
                    let started = std::time::Instant::now();
                    for table in ["core_status", "units", "unit_links", "person_units", "audit_log"] {
                        let mut check = c.prepare(&format!("PRAGMA foreign_key_check({table})"))?;
                        if let Some(row) = check.query([])?.next()? {
                            let parent: String = row.get(2)?;
                            return Err(StoreError::Other(format!(
                                "bulk load: a row of {table} refers to a missing {parent}"
                            )));
                        }
                    }
                    step("foreign keys checked", started);
                    let started = std::time::Instant::now();
                    c.execute_batch("COMMIT")?;
                    step("commit", started);
                    Ok(())
                })
                .await?;
                l.close().await;
            }
            BulkTx::Postgres(mut tx) => {
                for (name, create) in BULK_INDEXES {
                    let started = std::time::Instant::now();
                    sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut *tx).await?;
                    step(name, started);
                }
                let started = std::time::Instant::now();
                for (table, name, definition) in &self.foreign_keys {
                    let sql = format!("ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {definition}");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                }
                step("foreign keys checked", started);
                // Statistics for the planner: without them, the next import's look-up of
                // everyone on record (a correlated subquery on the stays) was planned for empty
                // tables and ran for over ten minutes, until autovacuum came by.
                let started = std::time::Instant::now();
                sqlx::query("ANALYZE people, person_units, accounts, core_status, units, unit_links")
                    .execute(&mut *tx)
                    .await?;
                step("statistics", started);
                let started = std::time::Instant::now();
                tx.commit().await?;
                step("commit", started);
            }
        }
        Ok(())
    }

    /// Undo everything, index drops included.
    pub async fn rollback(self) -> Result<()> {
        match self.tx {
            BulkTx::Sqlite(l) => {
                l.run(|c| Ok(c.execute_batch("ROLLBACK")?)).await?;
                l.close().await;
            }
            BulkTx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// One row of a roster export.
#[derive(Debug, Clone)]
pub struct ExportRow<'a> {
    pub full_name: &'a str,
    pub birth_date: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub national_id: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub position: &'a str,
    pub levels: &'a str,
    pub main_subject: Option<&'a str>,
    pub school: &'a str,
    pub school_code: &'a str,
    pub parent: Option<&'a str>,
    pub grandparent: Option<&'a str>,
}

impl Db {
    /// Stream people working today in `within`'s subtree (everyone when `None`), in Vietnamese
    /// name order, with their unit and the two units above it. Memory stays flat (the unit
    /// table, a few tens of thousands of rows, is held; people are streamed).
    pub async fn stream_roster(
        &self,
        within: Option<i64>,
        mut f: impl FnMut(ExportRow<'_>) -> std::io::Result<()>,
    ) -> Result<u64> {
        use futures_util::TryStreamExt;
        let d = iso(today());
        // Unit names come from one read of the (small) unit table, not three joins a row.
        let units: std::collections::HashMap<i64, UnitEntry> =
            self.current_units().await?.into_iter().map(|u| (u.id, u)).collect();
        let allowed: Option<std::collections::HashSet<i64>> = within.map(|root| {
            let mut children: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
            for u in units.values() {
                if let Some(p) = u.parent_id {
                    children.entry(p).or_default().push(u.id);
                }
            }
            let mut out = std::collections::HashSet::new();
            let mut todo = vec![root];
            while let Some(id) = todo.pop() {
                if out.insert(id) {
                    todo.extend(children.get(&id).into_iter().flatten());
                }
            }
            out
        });
        let sql = "SELECT p.full_name, p.birth_date, p.gender, p.national_id, p.phone, p.email, p.position, p.levels, p.main_subject,
                   pu.unit_id
            FROM people p
            JOIN person_units pu ON pu.person_id = p.id AND pu.valid_from <= $1 AND (pu.valid_to IS NULL OR pu.valid_to > $1)
            WHERE p.status = 'active'
            ORDER BY p.sort_key, p.id";
        let name = |id: Option<i64>| id.and_then(|i| units.get(&i)).map(|u| u.name.as_str());
        let mut n = 0u64;
        on!(self, p => {
            use sqlx::Row as _;
            let mut rows = sqlx::query(sql).bind(&d).fetch(p);
            while let Some(r) = rows.try_next().await? {
                let unit_id: i64 = r.try_get(9)?;
                if allowed.as_ref().is_some_and(|a| !a.contains(&unit_id)) {
                    continue;
                }
                let unit = units.get(&unit_id);
                let parent = unit.and_then(|u| u.parent_id);
                let grandparent = parent.and_then(|p| units.get(&p)).and_then(|u| u.parent_id);
                // Text is borrowed from the database row and the unit table: no copy per row.
                let row = ExportRow {
                    full_name: r.try_get(0)?,
                    birth_date: r.try_get(1)?,
                    gender: r.try_get(2)?,
                    national_id: r.try_get(3)?,
                    phone: r.try_get(4)?,
                    email: r.try_get(5)?,
                    position: r.try_get(6)?,
                    levels: r.try_get(7)?,
                    main_subject: r.try_get(8)?,
                    school: unit.map(|u| u.name.as_str()).unwrap_or_default(),
                    school_code: unit.map(|u| u.code.as_str()).unwrap_or_default(),
                    parent: name(parent),
                    grandparent: name(grandparent),
                };
                f(row).map_err(|e| crate::StoreError::Other(e.to_string()))?;
                n += 1;
            }
            Ok::<_, crate::StoreError>(())
        })?;
        Ok(n)
    }
}
