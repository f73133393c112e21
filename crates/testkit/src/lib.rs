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
    let t = unmigrated(backend).await?;
    t.db.migrate().await.expect("migrate");
    Some(t)
}

/// A fresh database without any schema (tests of a migration on existing data).
pub async fn unmigrated(backend: Backend) -> Option<TestDb> {
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

/// A local SMTP sink on loopback for tests: it speaks enough SMTP for a real client (EHLO,
/// MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it accepts, and refuses recipients
/// whose address contains `reject` with a permanent 550 (to test failures and retries).
pub mod smtp {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    #[derive(Debug, Clone)]
    pub struct Received {
        pub from: String,
        pub to: Vec<String>,
        pub data: String,
    }

    pub struct Sink {
        pub addr: std::net::SocketAddr,
        pub received: Arc<Mutex<Vec<Received>>>,
        _task: tokio::task::JoinHandle<()>,
    }

    impl Sink {
        pub fn url(&self) -> String {
            format!("smtp://{}", self.addr)
        }
        pub fn messages(&self) -> Vec<Received> {
            self.received.lock().unwrap().clone()
        }
    }

    pub async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind smtp sink");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(sock, store).await;
                });
            }
        });
        Sink { addr, received, _task: task }
    }

    async fn session(sock: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 sink.local ESMTP test sink\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        while let Some(line) = lines.next_line().await? {
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                w.write_all(b"250-sink.local\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?;
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().trim_matches(['<', '>']).to_string();
                to.clear();
                w.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                let addr = line[8..].trim().trim_matches(['<', '>']).to_string();
                if addr.contains("reject") {
                    w.write_all(b"550 5.1.1 mailbox unavailable\r\n").await?;
                } else {
                    to.push(addr);
                    w.write_all(b"250 OK\r\n").await?;
                }
            } else if upper == "DATA" {
                w.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    data.push('\n');
                }
                store.lock().unwrap().push(Received { from: from.clone(), to: to.clone(), data });
                w.write_all(b"250 OK queued\r\n").await?;
            } else if upper == "QUIT" {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else if upper == "RSET" || upper == "NOOP" {
                w.write_all(b"250 OK\r\n").await?;
            } else {
                w.write_all(b"502 not implemented\r\n").await?;
            }
        }
        Ok(())
    }
}
