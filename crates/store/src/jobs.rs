//! Background jobs and the e-mail outbox, both kept in the database.
//!
//! A job is claimed by one worker at a time with a lease (`locked_until`); a worker that dies
//! leaves a running job whose lease runs out, and the next claim takes it again, so jobs survive
//! restarts. A job's work must therefore be idempotent: reminders carry a dedupe key per person,
//! so running a job twice sends nothing twice. Failures are retried with backoff up to
//! `max_attempts`, then the job stays `failed` with its last error for admins to see.
//!
//! The outbox works the same way for e-mail: a message is claimed with a lease, sent over SMTP,
//! then marked `sent`, or retried later, or `failed` after [`MAIL_MAX_ATTEMPTS`].

use serde::Serialize;
use sqlx::FromRow;

use crate::{BeginWrite, Db, Result, StoreError, now, on};

pub const JOB_LEASE_SECONDS: i64 = 300;
pub const MAIL_MAX_ATTEMPTS: i64 = 5;
/// Rows a transaction when a job writes many (reminders, their e-mails): short transactions, so
/// the learners' writes are never kept waiting long for the write lock.
pub const WRITE_CHUNK: usize = 500;

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub result: Option<String>,
    pub unit_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const JOB_COLS: &str =
    "id, kind, payload, dedupe_key, status, attempts, max_attempts, run_at, last_error, result, unit_id,
    created_by, created_at, finished_at";

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: serde_json::Value,
    /// Queuing the same key twice returns the first job (idempotent requests and schedules).
    pub dedupe_key: Option<String>,
    pub unit_id: Option<i64>,
    pub created_by: Option<i64>,
    pub run_at: Option<i64>,
}

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Mail {
    pub id: i64,
    pub person_id: Option<i64>,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_try_at: i64,
    pub job_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

const MAIL_COLS: &str = "id, person_id, to_addr, subject, body, status, attempts, last_error, next_try_at, job_id, unit_id, created_at, sent_at";

/// A message to queue (with a key that makes queuing it twice a no-op).
#[derive(Debug, Clone)]
pub struct NewMail {
    pub person_id: Option<i64>,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub dedupe_key: String,
    pub job_id: Option<i64>,
    pub unit_id: Option<i64>,
}

/// How long to wait before the next try after `attempts` failures (1, 4, 9 … minutes).
pub fn backoff_seconds(attempts: i64) -> i64 {
    60 * attempts.clamp(1, 30).pow(2)
}

impl Db {
    /// Queue a job; with a dedupe key already queued, the existing job is returned instead.
    /// Returns `(id, created)`.
    pub async fn enqueue_job(&self, j: &NewJob<'_>) -> Result<(i64, bool)> {
        let t = now();
        let payload = j.payload.to_string();
        let id: Option<i64> = on!(self, p => sqlx::query_scalar(
            "INSERT INTO jobs (kind, payload, dedupe_key, run_at, unit_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING RETURNING id")
            .bind(j.kind).bind(&payload).bind(&j.dedupe_key).bind(j.run_at.unwrap_or(t)).bind(j.unit_id).bind(j.created_by).bind(t)
            .fetch_optional(p).await)?;
        match id {
            Some(id) => Ok((id, true)),
            None => {
                let id: i64 = on!(self, p => sqlx::query_scalar("SELECT id FROM jobs WHERE dedupe_key = $1")
                    .bind(&j.dedupe_key).fetch_one(p).await)?;
                Ok((id, false))
            }
        }
    }

    /// Take the next due job (queued and due, or running with an expired lease) for this
    /// worker. BACKEND: PostgreSQL skips rows another worker holds; SQLite has one writer.
    pub async fn claim_job(&self) -> Result<Option<Job>> {
        let t = now();
        let pick = "SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until < $1)
                    ORDER BY run_at, id LIMIT 1";
        let sql = match self {
            Db::Sqlite(..) => format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2 WHERE id = ({pick}) RETURNING {JOB_COLS}"
            ),
            Db::Postgres(_) => format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2 WHERE id = ({pick} FOR UPDATE SKIP LOCKED) RETURNING {JOB_COLS}"
            ),
        };
        Ok(on!(self, p => {
            let mut tx = p.begin_write().await?;
            let job = sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(sql)).bind(t).bind(t + JOB_LEASE_SECONDS)
                .fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            job
        }))
    }

    pub async fn finish_job(&self, id: i64, result: &serde_json::Value) -> Result<()> {
        on!(self, p => sqlx::query("UPDATE jobs SET status = 'done', result = $2, last_error = NULL, finished_at = $3, locked_until = NULL WHERE id = $1")
            .bind(id).bind(result.to_string()).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Record a failure: queued again after a backoff, or `failed` once attempts are used up.
    pub async fn fail_job(&self, id: i64, error: &str) -> Result<()> {
        let t = now();
        let job = self.job(id).await?.ok_or(StoreError::NotFound)?;
        let error: String = error.chars().take(2000).collect();
        if job.attempts >= job.max_attempts {
            on!(self, p => sqlx::query("UPDATE jobs SET status = 'failed', last_error = $2, finished_at = $3, locked_until = NULL WHERE id = $1")
                .bind(id).bind(&error).bind(t).execute(p).await.map(|r| r.rows_affected()))?;
        } else {
            on!(self, p => sqlx::query("UPDATE jobs SET status = 'queued', last_error = $2, run_at = $3, locked_until = NULL WHERE id = $1")
                .bind(id).bind(&error).bind(t + backoff_seconds(job.attempts)).execute(p).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// Queue a failed job again now (an admin's "retry").
    pub async fn retry_job(&self, id: i64) -> Result<bool> {
        let n = on!(self, p => sqlx::query("UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, finished_at = NULL WHERE id = $1 AND status = 'failed'")
            .bind(id).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    /// Jobs filed under units of `root`'s subtree (all when `None`), newest first.
    pub async fn jobs_under(&self, root: Option<i64>, limit: i64) -> Result<Vec<Job>> {
        let sql = format!(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($1 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT {JOB_COLS} FROM jobs WHERE CAST($1 AS BIGINT) IS NULL OR unit_id IN (SELECT id FROM down)
             ORDER BY id DESC LIMIT $2"
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(sql)).bind(root).bind(limit).fetch_all(p).await)?,
        )
    }

    // ----- outbox -----

    /// Queue messages; a message whose key is already queued is skipped. Returns how many were
    /// new. Written [`WRITE_CHUNK`] messages a transaction, so that a job queueing a province's
    /// reminders never holds the write lock for long (on SQLite every learner's write waits for
    /// it); a retry after a failure skips what was queued, by key.
    pub async fn queue_mail(&self, mails: &[NewMail]) -> Result<usize> {
        let t = now();
        let mut n = 0;
        for chunk in mails.chunks(WRITE_CHUNK) {
            n += on!(self, p => {
                let mut tx = p.begin_write().await?;
                let mut n = 0;
                for m in chunk {
                    n += sqlx::query(
                        "INSERT INTO outbox (person_id, to_addr, subject, body, dedupe_key, next_try_at, job_id, unit_id, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING")
                        .bind(m.person_id).bind(&m.to_addr).bind(&m.subject).bind(&m.body).bind(&m.dedupe_key).bind(t)
                        .bind(m.job_id).bind(m.unit_id).bind(t)
                        .execute(&mut *tx).await?.rows_affected() as usize;
                }
                tx.commit().await?;
                n
            });
        }
        Ok(n)
    }

    /// Claim up to `limit` due messages for sending: they are leased for a few minutes so that
    /// no other worker sends them meanwhile. BACKEND: as [`Db::claim_job`].
    pub async fn claim_mail(&self, limit: i64) -> Result<Vec<Mail>> {
        let t = now();
        let pick =
            "SELECT id FROM outbox WHERE status = 'pending' AND next_try_at <= $1 ORDER BY next_try_at, id LIMIT $3";
        let sql = match self {
            Db::Sqlite(..) => {
                format!("UPDATE outbox SET next_try_at = $2 WHERE id IN ({pick}) RETURNING {MAIL_COLS}")
            }
            Db::Postgres(_) => format!(
                "UPDATE outbox SET next_try_at = $2 WHERE id IN ({pick} FOR UPDATE SKIP LOCKED) RETURNING {MAIL_COLS}"
            ),
        };
        Ok(on!(self, p => {
            let mut tx = p.begin_write().await?;
            let rows = sqlx::query_as::<_, Mail>(sqlx::AssertSqlSafe(sql)).bind(t).bind(t + JOB_LEASE_SECONDS).bind(limit)
                .fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        }))
    }

    pub async fn mail_sent(&self, id: i64) -> Result<()> {
        let t = now();
        on!(self, p => sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1")
            .bind(id).bind(t).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A failed try: again after a backoff, or `failed` after [`MAIL_MAX_ATTEMPTS`].
    pub async fn mail_failed(&self, id: i64, error: &str) -> Result<()> {
        let t = now();
        let error: String = error.chars().take(1000).collect();
        on!(self, p => sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'pending' END,
                next_try_at = $3 + 60 * (attempts + 1) * (attempts + 1)
             WHERE id = $1")
            .bind(id).bind(&error).bind(t).bind(MAIL_MAX_ATTEMPTS).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Send a failed message again (an admin's "retry").
    pub async fn retry_mail(&self, id: i64) -> Result<bool> {
        let n = on!(self, p => sqlx::query("UPDATE outbox SET status = 'pending', next_try_at = $2 WHERE id = $1 AND status = 'failed'")
            .bind(id).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn mail(&self, id: i64) -> Result<Option<Mail>> {
        let sql = format!("SELECT {MAIL_COLS} FROM outbox WHERE id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Mail>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    /// Messages filed under units of `root`'s subtree (all when `None`), optionally of one
    /// status, newest first.
    pub async fn outbox_under(&self, root: Option<i64>, status: Option<&str>, limit: i64) -> Result<Vec<Mail>> {
        let sql = format!(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($1 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT {MAIL_COLS} FROM outbox WHERE (CAST($1 AS BIGINT) IS NULL OR unit_id IN (SELECT id FROM down))
               AND (CAST($2 AS TEXT) IS NULL OR status = $2)
             ORDER BY id DESC LIMIT $3"
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, Mail>(sqlx::AssertSqlSafe(sql)).bind(root).bind(status).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Counts of the outbox by status under `root` (for the outbox page's header).
    pub async fn outbox_counts(&self, root: Option<i64>) -> Result<Vec<(String, i64)>> {
        Ok(on!(self, p => sqlx::query_as::<_, (String, i64)>(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($1 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT status, COUNT(*) FROM outbox WHERE CAST($1 AS BIGINT) IS NULL OR unit_id IN (SELECT id FROM down)
             GROUP BY status ORDER BY status")
            .bind(root).fetch_all(p).await)?)
    }

    /// Insert in-app notifications `(person, link, text)`, skipping those already notified
    /// under the same `link` and `kind` (idempotent reminders). [`WRITE_CHUNK`] a transaction,
    /// as [`Db::queue_mail`].
    pub async fn notify_many(&self, notes: &[(i64, String, String)], kind: &str) -> Result<usize> {
        let t = now();
        let mut n = 0;
        for chunk in notes.chunks(WRITE_CHUNK) {
            n += on!(self, p => {
                let mut tx = p.begin_write().await?;
                let mut n = 0;
                for (person, link, text) in chunk {
                    n += sqlx::query(
                        "INSERT INTO notifications (person_id, kind, text, link, created_at)
                         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM notifications WHERE person_id = $1 AND kind = $2 AND link = $4)")
                        .bind(person).bind(kind).bind(text).bind(link).bind(t).execute(&mut *tx).await?.rows_affected() as usize;
                }
                tx.commit().await?;
                n
            });
        }
        Ok(n)
    }
}
