//! Test support: a fresh, migrated database per test on SQLite or PostgreSQL, so one test story
//! runs on both backends. PostgreSQL comes from `BDTX_TEST_PG_URL` (set by `scripts/test`, which
//! starts a throwaway cluster); without it PostgreSQL cases skip, except under `CI=true`, where
//! they fail.

use bdtx_store::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as the value (the SQLite file is in a temporary directory;
/// PostgreSQL databases are created in the throwaway test cluster).
pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

/// A fresh migrated database, or `None` when the backend is unavailable outside CI.
pub async fn db(backend: Backend) -> Option<TestDb> {
    let t = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            let db = Db::connect(&url).await.expect("connect sqlite");
            TestDb { db, url, _dir: Some(dir) }
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("BDTX_TEST_PG_URL") else {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!(
                        "CI=true but BDTX_TEST_PG_URL is not set: PostgreSQL tests must run in CI (use scripts/test)"
                    );
                }
                eprintln!("skipping PostgreSQL case: BDTX_TEST_PG_URL not set (run scripts/test)");
                return None;
            };
            let name = format!("t_{}", bdtx_store::accounts::random_token(8));
            let admin = Db::connect(&admin_url).await.expect("connect to the PostgreSQL test cluster");
            if let Db::Postgres(p) = &admin {
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(p)
                    .await
                    .expect("create database");
            }
            admin.close().await;
            let url = match admin_url.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("BDTX_TEST_PG_URL must end with /database"),
            };
            let db = Db::connect(&url).await.expect("connect test database");
            TestDb { db, url, _dir: None }
        }
    };
    t.db.migrate().await.expect("migrate");
    Some(t)
}

/// Write a test once and run it on both backends:
/// `both_backends!(my_test, |db| async move { ... });` makes `my_test_sqlite` and `my_test_postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(db) = $crate::db($crate::Backend::Sqlite).await {
                    ($body)(db).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::db($crate::Backend::Postgres).await {
                    ($body)(db).await;
                }
            }
        }
    };
}
