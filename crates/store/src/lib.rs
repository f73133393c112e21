//! BDTX storage: one API over two concrete pools, SQLite (default: a school or a province) and
//! PostgreSQL (the nation). The database is chosen by URL at run time.
//!
//! Every statement is written once with `$n` placeholders, which both backends accept, and run by
//! [`on!`] against whichever pool is configured; backend-specific SQL is marked `BACKEND:`.
//! Handlers never build SQL: they call the functions of this crate.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod certificates;
pub mod completion;
pub mod demo;
pub mod jobs;
pub mod lane;
pub mod lms;
pub mod merge;
pub mod oversight;
pub mod password;
pub mod people;
pub mod plans;
pub mod requests;
pub mod roster;
pub mod rounds;
pub mod sessions;
pub mod stipends;
pub mod units;
pub mod yearly;

pub use bdtx_domain as domain;

/// A connection pool to the configured database.
#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and the lane of the learner's hot path ([`lane`]; `None` for an in-memory database).
    Sqlite(SqlitePool, Option<std::sync::Arc<lane::Lane>>),
    Postgres(PgPool),
}

/// Run the same body against whichever pool `$db` holds; the body is type-checked once per
/// backend, so a statement that does not suit both fails to compile, not at run time.
#[macro_export]
macro_rules! on {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($p, _) => $body,
            $crate::Db::Postgres($p) => $body,
        }
    };
}

/// Begin a transaction that intends to write. BACKEND: SQLite takes the write lock up front
/// (`BEGIN IMMEDIATE`) so concurrent writers wait on `busy_timeout` instead of failing.
pub trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(&self) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}
impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}
impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] bdtx_domain::Invalid),
    // The messages reach an operator at the command line as they are (the web UI maps each
    // variant to its own translated message): Vietnamese, naming the field or the cause.
    #[error("không tìm thấy")]
    NotFound,
    /// A uniqueness rule was hit; the string names the field ("identity", "username", …).
    #[error("trùng với dữ liệu đã có ({0})")]
    Conflict(&'static str),
    #[error("lỗi cơ sở dữ liệu: {0}")]
    Db(#[from] sqlx::Error),
    #[error("lỗi cơ sở dữ liệu: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Map a unique-constraint violation to a named conflict; pass everything else through.
pub(crate) fn conflict(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Db(e),
    }
}

pub const DEFAULT_URL: &str = "sqlite://data/bdtx.db";

/// Bytes of a SQLite database each connection maps into memory (a bulk load maps none, see
/// `roster::BulkLoad`).
pub(crate) const SQLITE_MMAP_SIZE: &str = "268435456";

impl Db {
    /// Connect to `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // A page cache of up to 64 MB per connection and memory-mapped reads: bulk
                // imports touch indexes at random and would otherwise re-read pages from the OS.
                .pragma("cache_size", "-65536")
                .pragma("mmap_size", SQLITE_MMAP_SIZE)
                .pragma("temp_store", "memory");
            if let Some(dir) = opts.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Other(format!("{}: {e}", dir.display())))?;
                }
            }
            let in_memory = opts.get_filename().as_os_str().is_empty()
                || opts.get_filename().to_str().is_some_and(|f| f.starts_with(':') || f.contains("mode=memory"));
            let file = opts.get_filename().to_path_buf();
            let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
            let lane = if in_memory { None } else { Some(std::sync::Arc::new(lane::Lane::open(file)?)) };
            Ok(Db::Sqlite(pool, lane))
        } else {
            Err(StoreError::Other(format!(
                "unsupported database URL (expected sqlite://… or postgres://…): {}",
                redact_url(url)
            )))
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Apply pending schema migrations, then load the shipped module catalog if it is missing.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p, _) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        self.load_catalog().await?;
        Ok(())
    }

    /// Apply the schema migrations up to `version` only (tests of a migration on existing data;
    /// [`Db::migrate`] applies the rest).
    pub async fn migrate_to(&self, version: i64) -> Result<()> {
        match self {
            Db::Sqlite(p, _) => sqlx::migrate!("./migrations/sqlite").run_to(version, p).await?,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run_to(version, p).await?,
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        on!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// A consistent copy of the whole database. BACKEND: SQLite writes a new database file with
    /// `VACUUM INTO`; PostgreSQL runs `pg_dump` (custom format) against the same URL.
    pub async fn backup(&self, dest: &std::path::Path, url: &str) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::Other(format!("{} already exists; refusing to overwrite", dest.display())));
        }
        match self {
            Db::Sqlite(p, _) => {
                let path = dest.to_str().ok_or_else(|| StoreError::Other("backup path is not UTF-8".into()))?;
                sqlx::query("VACUUM INTO $1").bind(path).execute(p).await?;
            }
            Db::Postgres(_) => {
                let out = tokio::process::Command::new("pg_dump")
                    .arg("--format=custom")
                    .arg("--file")
                    .arg(dest)
                    .arg(url)
                    .output()
                    .await
                    .map_err(|e| StoreError::Other(format!("pg_dump: {e}")))?;
                if !out.status.success() {
                    return Err(StoreError::Other(format!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr))));
                }
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(l) = self.lane() {
            l.close();
        }
        on!(self, p => p.close().await)
    }

    /// The SQLite lane of the hot path, if this database has one.
    pub(crate) fn lane(&self) -> Option<&lane::Lane> {
        match self {
            Db::Sqlite(_, Some(l)) => Some(l),
            _ => None,
        }
    }
}

/// The file of a SQLite URL, as [`Db::connect`] reads it (`None` for PostgreSQL or an in-memory
/// database): lets a caller that must not create a database see whether it exists.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let opts = SqliteConnectOptions::from_str(url.strip_prefix("sqlite:").map(|_| url)?).ok()?;
    let f = opts.get_filename();
    let in_memory =
        f.as_os_str().is_empty() || f.to_str().is_some_and(|f| f.starts_with(':') || f.contains("mode=memory"));
    (!in_memory).then(|| f.to_path_buf())
}

/// Hide the password of a database URL for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) fn now() -> i64 {
    bdtx_domain::dates::now_unix()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact_url("postgres://bdtx:s3cret@db:5432/x"), "postgres://bdtx:***@db:5432/x");
        assert_eq!(super::redact_url("sqlite://data/bdtx.db"), "sqlite://data/bdtx.db");
    }
}

#[doc(hidden)]
pub fn now_pub() -> i64 {
    now()
}
