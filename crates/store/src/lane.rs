//! SQLite's lane for the learner's hot path (open a lesson, record progress, answer, submit).
//!
//! sqlx runs each SQLite statement on the connection's own worker thread: every statement
//! crosses threads twice, and pooled connections contend for the single write lock through
//! `busy_timeout` sleeps. At thousands of learners' requests a second those hand-offs cost far
//! more than SQLite's own work, which is a few microseconds an indexed statement. The lane
//! talks to the same database file through rusqlite (the same linked SQLite library):
//!
//! - **reads** run on the calling thread with a pooled read-only connection (WAL readers never
//!   wait for the writer);
//! - **writes** are queued to one writer thread that owns a connection. Each time it wakes it
//!   runs every queued write in one transaction, each in its own savepoint (a failing write
//!   rolls back alone), commits once, and only then answers the callers: group commit, one
//!   hand-off a write and no lock contention among the lane's writers;
//! - **checkpoints** (copying the WAL into the database file and syncing it) run on a thread of
//!   their own every half second, never in the writer's commit, so a slow disk sync does not
//!   hold up the queued writes.
//!
//! Writes from the rest of the program still go through sqlx; SQLite's file lock orders them
//! with the lane's writer (which alone waits on `busy_timeout`, never a request thread).
//! PostgreSQL has no lane: its driver has no such hand-off and the same operations run
//! through sqlx. Only the hot path's operations use the lane, and each shares its SQL text with
//! the sqlx version (see `crate::lms`); a write that changes an enrollment's dashboard stage
//! recounts it in the same transaction with `crate::oversight::retally_lane`, the lane's
//! form of `retally!`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{CachedStatement, Connection, OpenFlags, ToSql};

use crate::{Result, StoreError};

/// How often the lane's own thread checkpoints the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// Most writes gathered into one transaction.
const BATCH: usize = 512;
/// A batch slower than this is logged (at debug level).
const SLOW_BATCH: Duration = Duration::from_millis(10);
/// Parameter names `$1`…: the statements are written for sqlx, whose SQLite and PostgreSQL
/// drivers both take `$n`; SQLite numbers them by first appearance, so they are bound by name.
const NAMES: [&str; 8] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8"];

trait Work: Send {
    /// Run inside the batch's transaction; the result waits for the commit.
    fn run(self: Box<Self>, c: &Connection) -> Box<dyn Done>;
    /// The batch could not start.
    fn fail(self: Box<Self>, e: String);
}

trait Done: Send {
    fn finish(self: Box<Self>, commit: std::result::Result<(), String>);
}

struct Pending<F, T> {
    f: F,
    reply: tokio::sync::oneshot::Sender<Result<T>>,
}

struct Ran<T> {
    r: Result<T>,
    reply: tokio::sync::oneshot::Sender<Result<T>>,
}

impl<F, T> Work for Pending<F, T>
where
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, c: &Connection) -> Box<dyn Done> {
        let r = savepoint(c, self.f);
        Box::new(Ran { r, reply: self.reply })
    }
    fn fail(self: Box<Self>, e: String) {
        let _ = self.reply.send(Err(StoreError::Other(e)));
    }
}

impl<T: Send + 'static> Done for Ran<T> {
    fn finish(self: Box<Self>, commit: std::result::Result<(), String>) {
        let r = match commit {
            Ok(()) => self.r,
            // Nothing of this write was kept, even if it succeeded on its own.
            Err(e) => self.r.and(Err(StoreError::Other(e))),
        };
        let _ = self.reply.send(r);
    }
}

fn savepoint<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    c.prepare_cached("SAVEPOINT lane")?.execute([])?;
    let r = f(c);
    if r.is_err() {
        c.prepare_cached("ROLLBACK TO lane")?.execute([])?;
    }
    c.prepare_cached("RELEASE lane")?.execute([])?;
    r
}

/// The lane of one SQLite database (see the module's documentation).
pub struct Lane {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    jobs: Mutex<Option<mpsc::Sender<Box<dyn Work>>>>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").field("path", &self.path).finish()
    }
}

impl Lane {
    /// Open the lane of a database file (already created and in WAL mode by sqlx).
    pub(crate) fn open(path: PathBuf) -> Result<Lane> {
        let writer = connect(&path, false)?;
        // The writer never checkpoints: copying the WAL into the database and syncing it would
        // hold up every queued write for as long as the disk takes. A thread of its own does it.
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        writer.busy_handler(Some(retry_every_millisecond))?;
        let checkpointer = connect(&path, false)?;
        checkpointer.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        let (tx, rx) = mpsc::channel::<Box<dyn Work>>();
        // Dropped when the writer stops, which stops the checkpointer.
        let (running, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-lane-writer".into())
            .spawn(move || {
                write_loop(writer, rx);
                drop(running);
            })
            .map_err(|e| StoreError::Other(format!("lane writer thread: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-lane-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, stopped))
            .map_err(|e| StoreError::Other(format!("lane checkpoint thread: {e}")))?;
        Ok(Lane { path, readers: Mutex::new(Vec::new()), jobs: Mutex::new(Some(tx)) })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Read on the calling thread.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let c = self.readers.lock().expect("lane readers").pop();
        let c = match c {
            Some(c) => c,
            None => connect(&self.path, true)?,
        };
        let r = f(&c);
        self.readers.lock().expect("lane readers").push(c);
        r
    }

    /// Write through the writer thread; answers once the write is committed.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        {
            let jobs = self.jobs.lock().expect("lane jobs");
            let jobs = jobs.as_ref().ok_or_else(|| StoreError::Other("database closed".into()))?;
            jobs.send(Box::new(Pending { f, reply }))
                .map_err(|_| StoreError::Other("the SQLite writer thread stopped".into()))?;
        }
        answer.await.map_err(|_| StoreError::Other("the SQLite writer thread stopped".into()))?
    }

    /// Stop the writer thread once the queued writes are done, and close the readers.
    pub(crate) fn close(&self) {
        self.jobs.lock().expect("lane jobs").take();
        self.readers.lock().expect("lane readers").clear();
    }
}

fn connect(path: &PathBuf, read_only: bool) -> Result<Connection> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    c.busy_timeout(Duration::from_secs(10))?;
    // The same settings as the sqlx pool (crate::Db::connect), smaller page cache.
    c.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;
         PRAGMA mmap_size = 268435456; PRAGMA temp_store = memory;",
    )?;
    if read_only {
        c.execute_batch("PRAGMA query_only = ON")?;
    }
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

/// The writer's wait for the write lock while another connection holds it (a job writing
/// through sqlx, in short transactions): try again every millisecond, for up to about ten
/// seconds. SQLite's own busy timeout sleeps longer and longer (up to 100 ms a try), and a
/// writer that commits transaction after transaction leaves the lock free only for moments in
/// between, which such sleeps keep missing: every learner's write would wait for the whole job.
fn retry_every_millisecond(tries: i32) -> bool {
    if tries >= 10_000 {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

fn write_loop(c: Connection, rx: mpsc::Receiver<Box<dyn Work>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        if let Err(e) = c.prepare_cached("BEGIN IMMEDIATE").and_then(|mut s| s.execute([])) {
            let e = format!("database: {e}");
            for w in batch {
                w.fail(e.clone());
            }
            continue;
        }
        let (n, started) = (batch.len(), std::time::Instant::now());
        let done: Vec<Box<dyn Done>> = batch.into_iter().map(|w| w.run(&c)).collect();
        let ran = started.elapsed();
        let commit = c.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).map(|_| ()).map_err(|e| {
            let _ = c.execute_batch("ROLLBACK");
            format!("database: {e}")
        });
        let took = started.elapsed();
        if took >= SLOW_BATCH {
            tracing::debug!(writes = n, ?ran, ?took, "slow SQLite write batch");
        }
        for d in done {
            d.finish(commit.clone());
        }
    }
}

/// Every [`CHECKPOINT_EVERY`], a passive checkpoint: it copies what it can of the WAL into the
/// database without waiting for, or holding up, readers and the writer (the WAL starts over once
/// all of it is copied). Once more when the lane stops.
fn checkpoint_loop(c: Connection, stopped: mpsc::Receiver<()>) {
    loop {
        let last = !matches!(stopped.recv_timeout(CHECKPOINT_EVERY), Err(mpsc::RecvTimeoutError::Timeout));
        let t = std::time::Instant::now();
        match c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))) {
            Err(e) => tracing::warn!("SQLite checkpoint: {e}"),
            Ok((log, done)) => tracing::debug!(log, done, took = ?t.elapsed(), "SQLite checkpoint (WAL frames)"),
        }
        if last {
            return;
        }
    }
}

/// A cached statement with its `$n` parameters bound.
pub(crate) fn stmt<'c>(c: &'c Connection, sql: &str, params: &[&dyn ToSql]) -> Result<CachedStatement<'c>> {
    let mut s = c.prepare_cached(sql)?;
    for (n, p) in params.iter().enumerate() {
        let i = match NAMES.get(n) {
            Some(name) => s.parameter_index(name)?,
            None => s.parameter_index(&format!("${}", n + 1))?,
        };
        if let Some(i) = i {
            s.raw_bind_parameter(i, p)?;
        }
    }
    Ok(s)
}

/// Run a statement that returns no rows; the number of rows changed.
pub(crate) fn exec(c: &Connection, sql: &str, params: &[&dyn ToSql]) -> Result<usize> {
    Ok(stmt(c, sql, params)?.raw_execute()?)
}

/// The first row, mapped.
pub(crate) fn one<T>(
    c: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    let mut s = stmt(c, sql, params)?;
    let mut rows = s.raw_query();
    match rows.next()? {
        Some(r) => Ok(Some(map(r)?)),
        None => Ok(None),
    }
}

/// Every row, mapped.
pub(crate) fn all<T>(
    c: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    mut map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut s = stmt(c, sql, params)?;
    let mut rows = s.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(map(r)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(c: &Connection) -> i64 {
        c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    /// A failing write inside a batch rolls back alone: what it wrote before failing is undone,
    /// the writes before and after it are committed.
    #[test]
    fn a_failing_write_rolls_back_alone_within_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let c = Connection::open(dir.path().join("t.db")).unwrap();
        c.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        let ok = savepoint(&c, |c| Ok(exec(c, "INSERT INTO t (k) VALUES ($1)", &[&"a"])?));
        let failed = savepoint(&c, |c| {
            exec(c, "INSERT INTO t (k) VALUES ($1)", &[&"b"])?;
            exec(c, "INSERT INTO t (k) VALUES ($1)", &[&"a"])?; // duplicate key
            Ok(())
        });
        let after = savepoint(&c, |c| Ok(exec(c, "INSERT INTO t (k) VALUES ($1)", &[&"c"])?));
        c.execute_batch("COMMIT").unwrap();
        assert_eq!(ok.unwrap(), 1);
        assert!(failed.is_err());
        assert_eq!(after.unwrap(), 1);
        let keys: Vec<String> = all(&c, "SELECT k FROM t ORDER BY k", &[], |r| r.get(0)).unwrap();
        assert_eq!(keys, ["a", "c"], "b was undone with the failing write");
        assert_eq!(count(&c), 2);
    }

    /// `$n` parameters are bound by name, whatever order they first appear in.
    #[test]
    fn parameters_bind_by_number_not_by_appearance() {
        let c = Connection::open_in_memory().unwrap();
        let v: Option<(String, i64)> =
            one(&c, "SELECT $2, $1", &[&7i64, &"x"], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(v, Some(("x".to_string(), 7)));
    }

    /// Many writers at once: every write is committed before its caller hears back, and each
    /// caller gets its own result.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_all_committed_and_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('taken')",
        )
        .unwrap();
        let lane = std::sync::Arc::new(Lane::open(path).unwrap());
        let mut tasks = Vec::new();
        for i in 0..400 {
            let lane = lane.clone();
            tasks.push(tokio::spawn(async move {
                // Every fourth write inserts a key that exists already and fails.
                let k = if i % 4 == 3 { "taken".to_string() } else { format!("k{i}") };
                let written = k.clone();
                let r = lane.write(move |c| Ok(exec(c, "INSERT INTO t (k) VALUES ($1)", &[&written])?)).await;
                if r.is_ok() {
                    // Committed: a reader sees it at once.
                    let seen = lane.read(|c| one(c, "SELECT 1 FROM t WHERE k = $1", &[&k], |_| Ok(())));
                    assert!(seen.unwrap().is_some(), "{k} answered before it was visible");
                }
                (i, r.is_ok())
            }));
        }
        for t in tasks {
            let (i, ok) = t.await.unwrap();
            assert_eq!(ok, i % 4 != 3, "write {i}");
        }
        assert_eq!(count(&c), 301);
        lane.close();
    }
}
