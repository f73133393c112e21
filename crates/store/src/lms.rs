//! What learners do in a course and what core people do with it: progress, quiz attempts and
//! answers, essay and final-assignment submissions, grades, Q&A threads, notifications.
//!
//! Every write here is idempotent for retries: progress is a set; an answer is the last one
//! given while the attempt is open; submitting an attempt twice returns the first result; a
//! submission carries the form's nonce, and the same nonce returns the same submission.

use serde::{Deserialize, Serialize};

use crate::lane;
use crate::oversight::retally_lane;
use crate::{BeginWrite, Db, Result, StoreError, conflict, now, on};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Attempt {
    pub id: i64,
    pub enrollment_id: i64,
    pub item_key: String,
    pub number: i64,
    pub seed: i64,
    pub started_at: i64,
    pub submitted_at: Option<i64>,
    pub points: Option<f64>,
    pub max_points: f64,
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AnswerRow {
    pub question_key: String,
    /// The answer as JSON (`bdtx_course::model::Answer`).
    pub answer: String,
    pub points: f64,
}

/// A file attached to a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachedFile {
    pub sha256: String,
    pub name: String,
    pub mime: String,
    pub size: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Submission {
    pub id: i64,
    pub enrollment_id: i64,
    pub item_key: String,
    pub version: i64,
    pub body: String,
    /// JSON list of [`AttachedFile`].
    pub files: String,
    /// submitted, graded, returned
    pub status: String,
    pub submitted_at: i64,
}

impl Submission {
    pub fn attached(&self) -> Vec<AttachedFile> {
        serde_json::from_str(&self.files).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Grade {
    pub id: i64,
    pub submission_id: i64,
    pub grader_person_id: i64,
    pub grader: String,
    /// graded or returned
    pub decision: String,
    /// JSON list of criterion scores.
    pub scores: String,
    pub points: Option<f64>,
    pub passed: Option<bool>,
    pub comment: String,
    pub at: i64,
}

/// A submission waiting in a core person's queue.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct QueueRow {
    pub submission_id: i64,
    pub enrollment_id: i64,
    pub class_id: i64,
    pub class_name: String,
    pub full_name: String,
    pub item_key: String,
    pub version: i64,
    pub submitted_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Thread {
    pub id: i64,
    pub round_id: i64,
    pub class_id: Option<i64>,
    pub subject: String,
    /// question or announcement
    pub kind: String,
    pub title: String,
    pub author_person_id: Option<i64>,
    pub author: Option<String>,
    pub created_at: i64,
    pub last_post_at: i64,
    pub posts: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Post {
    pub id: i64,
    pub author_person_id: Option<i64>,
    pub author: Option<String>,
    /// Sanitized HTML.
    pub body_html: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub text: String,
    pub link: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// What a learner has done, for the course page and the automatic assessment.
#[derive(Debug, Clone, Default)]
pub struct LearnerState {
    pub done: std::collections::HashSet<String>,
    /// Best submitted percentage per quiz.
    pub best_quiz: std::collections::HashMap<String, f64>,
    /// Latest submission status per essay/final, and whether its grade passed.
    pub submissions: std::collections::HashMap<String, (String, Option<bool>)>,
}

const THREAD_COLS: &str =
    "t.id, t.round_id, t.class_id, t.subject, t.kind, t.title, t.author_person_id, a.full_name AS author,
    t.created_at, t.last_post_at, (SELECT COUNT(*) FROM posts x WHERE x.thread_id = t.id) AS posts";

// The hot path's statements, shared by the sqlx path and SQLite's lane (crate::lane).
const INSERT_PROGRESS: &str =
    "INSERT INTO progress (enrollment_id, item_key, done_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const UPDATE_PROGRESS: &str =
    "UPDATE enrollments SET resume_key = $2, items_done = items_done + $3 WHERE id = $1 RETURNING stage";
const UPDATE_RESUME: &str = "UPDATE enrollments SET resume_key = $2
    WHERE id = $1 AND (resume_key IS NULL OR resume_key <> $2) RETURNING stage";
const SET_LMS_PASSED: &str = "UPDATE enrollments SET lms_passed_at = $2 WHERE id = $1 AND lms_passed_at IS NULL";
const CLEAR_LMS_PASSED: &str =
    "UPDATE enrollments SET lms_passed_at = NULL WHERE id = $1 AND lms_passed_at IS NOT NULL";
const STATE_DONE: &str = "SELECT item_key FROM progress WHERE enrollment_id = $1";
const STATE_QUIZ: &str = "SELECT item_key, MAX(percent) FROM quiz_attempts
    WHERE enrollment_id = $1 AND submitted_at IS NOT NULL GROUP BY item_key";
const STATE_SUBS: &str = "SELECT s.item_key, s.status, g.passed FROM submissions s LEFT JOIN grades g ON g.submission_id = s.id
    WHERE s.enrollment_id = $1 AND s.version = (SELECT MAX(version) FROM submissions x WHERE x.enrollment_id = s.enrollment_id AND x.item_key = s.item_key)";
macro_rules! attempt_cols {
    () => {
        "SELECT id, enrollment_id, item_key, number, seed, started_at, submitted_at, points, max_points, percent FROM quiz_attempts"
    };
}
const CURRENT_ATTEMPT: &str =
    concat!(attempt_cols!(), " WHERE enrollment_id = $1 AND item_key = $2 ORDER BY number DESC LIMIT 1");
const ATTEMPT: &str = concat!(attempt_cols!(), " WHERE id = $1");
const NEXT_ATTEMPT: &str =
    "SELECT COALESCE(MAX(number), 0) + 1 FROM quiz_attempts WHERE enrollment_id = $1 AND item_key = $2";
const INSERT_ATTEMPT: &str = "INSERT INTO quiz_attempts (enrollment_id, item_key, number, seed, started_at, max_points)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
const OPEN_ATTEMPT: &str = "SELECT id FROM quiz_attempts WHERE id = $1 AND submitted_at IS NULL";
const SAVE_ANSWER: &str = "INSERT INTO attempt_answers (attempt_id, question_key, answer, points, answered_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (attempt_id, question_key) DO UPDATE SET answer = excluded.answer, points = excluded.points, answered_at = excluded.answered_at";
const ANSWERS: &str = "SELECT question_key, answer, points FROM attempt_answers WHERE attempt_id = $1";
const ATTEMPT_POINTS: &str =
    "SELECT CAST(COALESCE(SUM(points), 0) AS DOUBLE PRECISION) FROM attempt_answers WHERE attempt_id = $1";
const SUBMIT_ATTEMPT: &str = "UPDATE quiz_attempts SET submitted_at = $2, points = $3,
    percent = CASE WHEN max_points > 0 THEN $3 * 100.0 / max_points ELSE 0 END
    WHERE id = $1 AND submitted_at IS NULL";

/// Mark an activity done inside a sqlx transaction `$tx` (see [`Db::record_progress`]); true if
/// it was not done before.
macro_rules! progress_tx {
    ($tx:ident, $enrollment_id:expr, $key:expr, $required:expr) => {{
        let n = sqlx::query(INSERT_PROGRESS)
            .bind($enrollment_id)
            .bind($key)
            .bind(now())
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        let inc = i64::from(n == 1 && $required);
        let stage: Option<i64> = sqlx::query_scalar(UPDATE_PROGRESS)
            .bind($enrollment_id)
            .bind($key)
            .bind(inc)
            .fetch_optional(&mut *$tx)
            .await?;
        // Opening the course moves a learner to "in progress" on the dashboards.
        if stage.is_some_and(|s| s < 2) {
            crate::retally!($tx, &[$enrollment_id]);
        }
        n == 1
    }};
}

/// [`Db::record_progress`] inside the lane's write transaction.
fn progress_on(c: &rusqlite::Connection, enrollment_id: i64, key: &str, required: bool) -> Result<bool> {
    let n = lane::exec(c, INSERT_PROGRESS, &[&enrollment_id, &key, &now()])?;
    let inc = i64::from(n == 1 && required);
    let stage: Option<i64> = lane::one(c, UPDATE_PROGRESS, &[&enrollment_id, &key, &inc], |r| r.get(0))?;
    if stage.is_some_and(|s| s < 2) {
        retally_lane(c, &[enrollment_id])?;
    }
    Ok(n == 1)
}

/// How a new attempt at a quiz starts: the quiz's attempt limit (0 = none), its total points
/// and the attempt's shuffling seed.
#[derive(Debug, Clone, Copy)]
pub struct NewAttempt {
    pub max_attempts: u32,
    pub max_points: f64,
    pub seed: i64,
}

/// Whether a new attempt may start, given the latest one.
fn may_start(latest: &Option<Attempt>, max_attempts: u32) -> bool {
    match latest {
        Some(a) if a.submitted_at.is_none() => false,
        Some(a) => max_attempts == 0 || a.number < i64::from(max_attempts),
        None => true,
    }
}

/// [`Db::open_attempt`] inside the lane's write transaction.
fn open_attempt_on(
    c: &rusqlite::Connection,
    enrollment_id: i64,
    key: &str,
    new: NewAttempt,
) -> Result<Option<Attempt>> {
    let current = lane::one(c, CURRENT_ATTEMPT, &[&enrollment_id, &key], Attempt::from_lane)?;
    if !may_start(&current, new.max_attempts) {
        return Ok(current.filter(|a| a.submitted_at.is_none()));
    }
    let n: i64 = lane::one(c, NEXT_ATTEMPT, &[&enrollment_id, &key], |r| r.get(0))?.unwrap_or(1);
    lane::exec(c, INSERT_ATTEMPT, &[&enrollment_id, &key, &n, &new.seed, &now(), &new.max_points])?;
    lane::one(c, CURRENT_ATTEMPT, &[&enrollment_id, &key], Attempt::from_lane)
}

impl Attempt {
    /// A row of `attempt_cols!` read through SQLite's lane.
    fn from_lane(r: &rusqlite::Row<'_>) -> rusqlite::Result<Attempt> {
        Ok(Attempt {
            id: r.get(0)?,
            enrollment_id: r.get(1)?,
            item_key: r.get(2)?,
            number: r.get(3)?,
            seed: r.get(4)?,
            started_at: r.get(5)?,
            submitted_at: r.get(6)?,
            points: r.get(7)?,
            max_points: r.get(8)?,
            percent: r.get(9)?,
        })
    }
}

impl Db {
    // ----- progress -----

    /// Mark an activity done (idempotent) and remember it as the place to resume.
    pub async fn record_progress(&self, enrollment_id: i64, item_key: &str, required: bool) -> Result<bool> {
        if let Some(lane) = self.lane() {
            let key = item_key.to_string();
            return lane.write(move |c| progress_on(c, enrollment_id, &key, required)).await;
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let new = progress_tx!(tx, enrollment_id, item_key, required);
            tx.commit().await?;
            Ok(new)
        })
    }

    /// Remember where the learner is (opening an activity), without marking it done.
    pub async fn set_resume(&self, enrollment_id: i64, item_key: &str) -> Result<()> {
        if let Some(lane) = self.lane() {
            let key = item_key.to_string();
            return lane
                .write(move |c| {
                    let stage: Option<i64> = lane::one(c, UPDATE_RESUME, &[&enrollment_id, &key], |r| r.get(0))?;
                    if stage.is_some_and(|s| s < 2) {
                        retally_lane(c, &[enrollment_id])?;
                    }
                    Ok(())
                })
                .await;
        }
        let stage: Option<i64> = on!(self, p => sqlx::query_scalar(UPDATE_RESUME).bind(enrollment_id).bind(item_key).fetch_optional(p).await)?;
        if stage.is_some_and(|s| s < 2) {
            self.retally(&[enrollment_id]).await?;
        }
        Ok(())
    }

    pub async fn learner_state(&self, enrollment_id: i64) -> Result<LearnerState> {
        let (done, quiz, subs): (Vec<String>, Vec<(String, Option<f64>)>, Vec<(String, String, Option<bool>)>) =
            if let Some(lane) = self.lane() {
                lane.read(|c| {
                    Ok((
                        lane::all(c, STATE_DONE, &[&enrollment_id], |r| r.get(0))?,
                        lane::all(c, STATE_QUIZ, &[&enrollment_id], |r| Ok((r.get(0)?, r.get(1)?)))?,
                        lane::all(c, STATE_SUBS, &[&enrollment_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?,
                    ))
                })?
            } else {
                (
                    on!(self, p => sqlx::query_scalar(STATE_DONE).bind(enrollment_id).fetch_all(p).await)?,
                    on!(self, p => sqlx::query_as(STATE_QUIZ).bind(enrollment_id).fetch_all(p).await)?,
                    on!(self, p => sqlx::query_as(STATE_SUBS).bind(enrollment_id).fetch_all(p).await)?,
                )
            };
        Ok(LearnerState {
            done: done.into_iter().collect(),
            best_quiz: quiz.into_iter().filter_map(|(k, v)| Some((k, v?))).collect(),
            submissions: subs.into_iter().map(|(k, s, g)| (k, (s, g))).collect(),
        })
    }

    /// Record the LMS's automatic pass (or clear it when no longer met).
    pub async fn set_lms_passed(&self, enrollment_id: i64, passed: bool) -> Result<()> {
        if let Some(lane) = self.lane() {
            return lane
                .write(move |c| {
                    let n = if passed {
                        lane::exec(c, SET_LMS_PASSED, &[&enrollment_id, &now()])?
                    } else {
                        lane::exec(c, CLEAR_LMS_PASSED, &[&enrollment_id])?
                    };
                    if n > 0 {
                        retally_lane(c, &[enrollment_id])?;
                    }
                    Ok(())
                })
                .await;
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = if passed {
                sqlx::query(SET_LMS_PASSED).bind(enrollment_id).bind(now()).execute(&mut *tx).await?.rows_affected()
            } else {
                sqlx::query(CLEAR_LMS_PASSED).bind(enrollment_id).execute(&mut *tx).await?.rows_affected()
            };
            if n > 0 {
                crate::retally!(tx, &[enrollment_id]);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    // ----- quizzes -----

    /// The open attempt of a quiz, or a new one if attempts remain (`max_attempts` 0 = no limit).
    /// `Ok(None)` when every attempt is used.
    pub async fn open_attempt(
        &self,
        enrollment_id: i64,
        item_key: &str,
        max_attempts: u32,
        max_points: f64,
        seed: i64,
    ) -> Result<Option<Attempt>> {
        if let Some(lane) = self.lane() {
            let key = item_key.to_string();
            let new = NewAttempt { max_attempts, max_points, seed };
            return lane.write(move |c| open_attempt_on(c, enrollment_id, &key, new)).await;
        }
        let current = self.current_attempt(enrollment_id, item_key).await?;
        if !may_start(&current, max_attempts) {
            return Ok(current.filter(|a| a.submitted_at.is_none()));
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n: i64 = sqlx::query_scalar(NEXT_ATTEMPT).bind(enrollment_id).bind(item_key).fetch_one(&mut *tx).await?;
            sqlx::query(INSERT_ATTEMPT)
                .bind(enrollment_id).bind(item_key).bind(n).bind(seed).bind(now()).bind(max_points).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.current_attempt(enrollment_id, item_key).await
    }

    /// The latest attempt at a quiz.
    pub async fn current_attempt(&self, enrollment_id: i64, item_key: &str) -> Result<Option<Attempt>> {
        if let Some(lane) = self.lane() {
            return lane.read(|c| lane::one(c, CURRENT_ATTEMPT, &[&enrollment_id, &item_key], Attempt::from_lane));
        }
        Ok(on!(self, p => sqlx::query_as::<_, Attempt>(CURRENT_ATTEMPT)
            .bind(enrollment_id).bind(item_key).fetch_optional(p).await)?)
    }

    pub async fn attempts(&self, enrollment_id: i64, item_key: &str) -> Result<Vec<Attempt>> {
        Ok(
            on!(self, p => sqlx::query_as::<_, Attempt>(concat!(attempt_cols!(), " WHERE enrollment_id = $1 AND item_key = $2 ORDER BY number"))
            .bind(enrollment_id).bind(item_key).fetch_all(p).await)?,
        )
    }

    pub async fn attempt(&self, id: i64) -> Result<Option<Attempt>> {
        if let Some(lane) = self.lane() {
            return lane.read(|c| lane::one(c, ATTEMPT, &[&id], Attempt::from_lane));
        }
        Ok(on!(self, p => sqlx::query_as::<_, Attempt>(ATTEMPT).bind(id).fetch_optional(p).await)?)
    }

    /// Save an answer to an open attempt (the last answer wins). Refused once submitted.
    pub async fn save_answer(&self, attempt_id: i64, question_key: &str, answer_json: &str, points: f64) -> Result<()> {
        let submitted = || StoreError::from(bdtx_domain::Invalid::one("attempt", "already_submitted"));
        if let Some(lane) = self.lane() {
            let (key, json) = (question_key.to_string(), answer_json.to_string());
            return lane
                .write(move |c| {
                    lane::one(c, OPEN_ATTEMPT, &[&attempt_id], |_| Ok(()))?.ok_or_else(submitted)?;
                    lane::exec(c, SAVE_ANSWER, &[&attempt_id, &key, &json, &points, &now()])?;
                    Ok(())
                })
                .await;
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let open: Option<i64> = sqlx::query_scalar(OPEN_ATTEMPT).bind(attempt_id).fetch_optional(&mut *tx).await?;
            open.ok_or_else(submitted)?;
            sqlx::query(SAVE_ANSWER)
                .bind(attempt_id).bind(question_key).bind(answer_json).bind(points).bind(now()).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Save an answer to the quiz's open attempt, starting an attempt first when none is open
    /// and attempts remain (see [`Db::open_attempt`]); the attempt's id, or `Ok(None)` when every
    /// attempt is used. One write on SQLite's lane.
    pub async fn answer_quiz(
        &self,
        enrollment_id: i64,
        item_key: &str,
        new: NewAttempt,
        question_key: &str,
        answer_json: &str,
        points: f64,
    ) -> Result<Option<i64>> {
        if let Some(lane) = self.lane() {
            let (key, question, json) = (item_key.to_string(), question_key.to_string(), answer_json.to_string());
            return lane
                .write(move |c| {
                    let Some(a) = open_attempt_on(c, enrollment_id, &key, new)? else { return Ok(None) };
                    lane::exec(c, SAVE_ANSWER, &[&a.id, &question, &json, &points, &now()])?;
                    Ok(Some(a.id))
                })
                .await;
        }
        // The open attempt, or a new one.
        let Some(a) = self.open_attempt(enrollment_id, item_key, new.max_attempts, new.max_points, new.seed).await?
        else {
            return Ok(None);
        };
        self.save_answer(a.id, question_key, answer_json, points).await?;
        Ok(Some(a.id))
    }

    pub async fn answers(&self, attempt_id: i64) -> Result<Vec<AnswerRow>> {
        if let Some(lane) = self.lane() {
            return lane.read(|c| {
                lane::all(c, ANSWERS, &[&attempt_id], |r| {
                    Ok(AnswerRow { question_key: r.get(0)?, answer: r.get(1)?, points: r.get(2)? })
                })
            });
        }
        Ok(on!(self, p => sqlx::query_as::<_, AnswerRow>(ANSWERS).bind(attempt_id).fetch_all(p).await)?)
    }

    /// Close an attempt with its score (sum of its answers). Submitting again returns the
    /// attempt as first submitted.
    pub async fn submit_attempt(&self, attempt_id: i64) -> Result<Attempt> {
        self.submit_quiz_attempt(attempt_id, "", false, |_| false).await
    }

    /// Submit an attempt of a learner's quiz (see [`Db::submit_attempt`]) and, when `passes` says
    /// its points reach the pass mark, mark the quiz done in the same transaction (see
    /// [`Db::record_progress`]). Submitting again returns the attempt as first submitted and
    /// records nothing more.
    pub async fn submit_quiz_attempt(
        &self,
        attempt_id: i64,
        item_key: &str,
        required: bool,
        passes: impl Fn(f64) -> bool + Send + 'static,
    ) -> Result<Attempt> {
        if let Some(lane) = self.lane() {
            let key = item_key.to_string();
            return lane
                .write(move |c| {
                    let points: f64 = lane::one(c, ATTEMPT_POINTS, &[&attempt_id], |r| r.get(0))?.unwrap_or(0.0);
                    let newly = lane::exec(c, SUBMIT_ATTEMPT, &[&attempt_id, &now(), &points])? == 1;
                    let a = lane::one(c, ATTEMPT, &[&attempt_id], Attempt::from_lane)?.ok_or(StoreError::NotFound)?;
                    if newly && passes(points) {
                        progress_on(c, a.enrollment_id, &key, required)?;
                    }
                    Ok(a)
                })
                .await;
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let points: f64 = sqlx::query_scalar(ATTEMPT_POINTS).bind(attempt_id).fetch_one(&mut *tx).await?;
            let newly = sqlx::query(SUBMIT_ATTEMPT)
                .bind(attempt_id).bind(now()).bind(points).execute(&mut *tx).await?.rows_affected() == 1;
            if newly && passes(points) {
                let enrollment_id: i64 = sqlx::query_scalar("SELECT enrollment_id FROM quiz_attempts WHERE id = $1")
                    .bind(attempt_id).fetch_one(&mut *tx).await?;
                let _new = progress_tx!(tx, enrollment_id, item_key, required);
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.attempt(attempt_id).await?.ok_or(StoreError::NotFound)
    }

    // ----- essays and final assignments -----

    /// Submit an essay or final assignment. The same `nonce` returns the same submission (a
    /// double click or a retry); a new version is allowed only after the last was returned.
    pub async fn submit_work(
        &self,
        enrollment_id: i64,
        item_key: &str,
        body: &str,
        files: &[AttachedFile],
        nonce: &str,
        required: bool,
    ) -> Result<Submission> {
        if let Some(s) = self.submission_by_nonce(enrollment_id, nonce).await? {
            return Ok(s);
        }
        let files_json = serde_json::to_string(files).map_err(|e| StoreError::Other(e.to_string()))?;
        let id = on!(self, p => {
            let mut tx = p.begin_write().await?;
            let last: Option<(i64, String)> = sqlx::query_as(
                "SELECT version, status FROM submissions WHERE enrollment_id = $1 AND item_key = $2 ORDER BY version DESC LIMIT 1")
                .bind(enrollment_id).bind(item_key).fetch_optional(&mut *tx).await?;
            let version = match &last {
                None => 1,
                Some((v, s)) if s == "returned" => v + 1,
                Some(_) => return Err(bdtx_domain::Invalid::one("submission", "already_submitted").into()),
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO submissions (enrollment_id, item_key, version, body, files, status, nonce, submitted_at)
                 VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7) RETURNING id")
                .bind(enrollment_id).bind(item_key).bind(version).bind(body).bind(&files_json).bind(nonce).bind(now())
                .fetch_one(&mut *tx).await.map_err(|e| conflict(e, "submission"))?;
            let n = sqlx::query("INSERT INTO progress (enrollment_id, item_key, done_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(enrollment_id).bind(item_key).bind(now()).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE enrollments SET resume_key = $2, items_done = items_done + $3 WHERE id = $1")
                .bind(enrollment_id).bind(item_key).bind(i64::from(n == 1 && required)).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(id)
        });
        match id {
            Ok(id) => self.submission(id).await?.ok_or(StoreError::NotFound),
            // A concurrent retry with the same nonce won the race: return its submission.
            Err(StoreError::Conflict(_)) => {
                self.submission_by_nonce(enrollment_id, nonce).await?.ok_or(StoreError::Conflict("submission"))
            }
            Err(e) => Err(e),
        }
    }

    async fn submission_by_nonce(&self, enrollment_id: i64, nonce: &str) -> Result<Option<Submission>> {
        Ok(on!(self, p => sqlx::query_as::<_, Submission>(
            "SELECT id, enrollment_id, item_key, version, body, files, status, submitted_at FROM submissions WHERE enrollment_id = $1 AND nonce = $2")
            .bind(enrollment_id).bind(nonce).fetch_optional(p).await)?)
    }

    pub async fn submission(&self, id: i64) -> Result<Option<Submission>> {
        Ok(on!(self, p => sqlx::query_as::<_, Submission>(
            "SELECT id, enrollment_id, item_key, version, body, files, status, submitted_at FROM submissions WHERE id = $1")
            .bind(id).fetch_optional(p).await)?)
    }

    pub async fn submissions(&self, enrollment_id: i64, item_key: &str) -> Result<Vec<Submission>> {
        Ok(on!(self, p => sqlx::query_as::<_, Submission>(
            "SELECT id, enrollment_id, item_key, version, body, files, status, submitted_at FROM submissions
             WHERE enrollment_id = $1 AND item_key = $2 ORDER BY version")
            .bind(enrollment_id).bind(item_key).fetch_all(p).await)?)
    }

    pub async fn grade_of(&self, submission_id: i64) -> Result<Option<Grade>> {
        Ok(on!(self, p => sqlx::query_as::<_, Grade>(
            "SELECT g.id, g.submission_id, g.grader_person_id, p.full_name AS grader, g.decision, g.scores, g.points, g.passed, g.comment, g.at
             FROM grades g JOIN people p ON p.id = g.grader_person_id WHERE g.submission_id = $1")
            .bind(submission_id).fetch_optional(p).await)?)
    }

    /// Grade (decision "graded", with scores, points and pass) or return for revision
    /// ("returned", with a comment) the latest version of a submission. A submission is graded
    /// once; grading it again is a conflict.
    #[allow(clippy::too_many_arguments)]
    pub async fn grade_submission(
        &self,
        actor: Option<i64>,
        submission_id: i64,
        grader: i64,
        decision: &str,
        scores_json: &str,
        points: Option<f64>,
        passed: Option<bool>,
        comment: &str,
        unit: Option<i64>,
    ) -> Result<()> {
        let comment = bdtx_domain::text::clean(comment);
        if decision == "returned" && comment.is_empty() {
            return Err(bdtx_domain::Invalid::one("comment", "required").into());
        }
        if !matches!(decision, "graded" | "returned") {
            return Err(bdtx_domain::Invalid::one("decision", "invalid").into());
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE submissions SET status = $2 WHERE id = $1 AND status = 'submitted'")
                .bind(submission_id).bind(decision).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict("grade"));
            }
            sqlx::query(
                "INSERT INTO grades (submission_id, grader_person_id, decision, scores, points, passed, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(submission_id).bind(grader).bind(decision).bind(scores_json).bind(points).bind(passed).bind(&comment).bind(now())
                .execute(&mut *tx).await.map_err(|e| conflict(e, "grade"))?;
            crate::audit_insert!(tx, actor, "submission.grade", "submission", submission_id, unit, None::<String>,
                Some(serde_json::json!({"decision": decision, "points": points, "passed": passed}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Essays and finals waiting for `person_id`'s grading: the latest versions, submitted, by
    /// main-subject learners of the classes they are assigned to.
    pub async fn grading_queue(&self, person_id: i64) -> Result<Vec<QueueRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, QueueRow>(
            "SELECT s.id AS submission_id, e.id AS enrollment_id, c.id AS class_id, c.name AS class_name, p.full_name, s.item_key, s.version, s.submitted_at
             FROM class_staff cs JOIN classes c ON c.id = cs.class_id
             JOIN enrollments e ON e.class_id = c.id AND e.status = 'active' AND e.kind = 'main'
             JOIN submissions s ON s.enrollment_id = e.id AND s.status = 'submitted'
             JOIN people p ON p.id = e.person_id
             WHERE cs.person_id = $1 ORDER BY s.submitted_at, s.id")
            .bind(person_id).fetch_all(p).await)?)
    }

    // ----- Q&A and notifications -----

    /// Start a thread in a class (class_id) or a subject's reporter space (class_id None).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_thread(
        &self,
        round_id: i64,
        class_id: Option<i64>,
        subject: &str,
        kind: &str,
        title: &str,
        author: i64,
        body_html: &str,
    ) -> Result<i64> {
        let title = bdtx_domain::text::clean(title);
        let mut c = bdtx_domain::error::Checker::default();
        if title.is_empty() {
            c.add("title", "required");
        }
        if body_html.trim().is_empty() {
            c.add("body", "required");
        }
        if !matches!(kind, "question" | "announcement") {
            c.add("kind", "invalid");
        }
        c.finish()?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO threads (round_id, class_id, subject, kind, title, author_person_id, created_at, last_post_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id")
                .bind(round_id).bind(class_id).bind(subject).bind(kind).bind(&title).bind(author).bind(t).fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO posts (thread_id, author_person_id, body_html, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id).bind(author).bind(body_html).bind(t).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Reply in a thread; everyone else who posted in it is notified.
    pub async fn reply(&self, thread_id: i64, author: i64, body_html: &str, link: &str) -> Result<i64> {
        if body_html.trim().is_empty() {
            return Err(bdtx_domain::Invalid::one("body", "required").into());
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let title: String = sqlx::query_scalar("SELECT title FROM threads WHERE id = $1").bind(thread_id)
                .fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
            let id: i64 = sqlx::query_scalar("INSERT INTO posts (thread_id, author_person_id, body_html, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(thread_id).bind(author).bind(body_html).bind(t).fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE threads SET last_post_at = $2 WHERE id = $1").bind(thread_id).bind(t).execute(&mut *tx).await?;
            let others: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT author_person_id FROM posts WHERE thread_id = $1 AND author_person_id IS NOT NULL AND author_person_id <> $2")
                .bind(thread_id).bind(author).fetch_all(&mut *tx).await?;
            for o in others {
                sqlx::query("INSERT INTO notifications (person_id, kind, text, link, created_at) VALUES ($1, 'reply', $2, $3, $4)")
                    .bind(o).bind(&title).bind(link).bind(t).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn thread(&self, id: i64) -> Result<Option<Thread>> {
        let sql = format!(
            "SELECT {THREAD_COLS} FROM threads t LEFT JOIN people a ON a.id = t.author_person_id WHERE t.id = $1"
        );
        Ok(on!(self, p => sqlx::query_as::<_, Thread>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    pub async fn class_threads(&self, class_id: i64) -> Result<Vec<Thread>> {
        let sql = format!(
            "SELECT {THREAD_COLS} FROM threads t LEFT JOIN people a ON a.id = t.author_person_id WHERE t.class_id = $1 ORDER BY t.kind = 'announcement' DESC, t.last_post_at DESC"
        );
        Ok(on!(self, p => sqlx::query_as::<_, Thread>(sqlx::AssertSqlSafe(sql)).bind(class_id).fetch_all(p).await)?)
    }

    /// The reporters' shared space of a round and subject.
    pub async fn space_threads(&self, round_id: i64, subject: &str) -> Result<Vec<Thread>> {
        let sql = format!(
            "SELECT {THREAD_COLS} FROM threads t LEFT JOIN people a ON a.id = t.author_person_id WHERE t.round_id = $1 AND t.class_id IS NULL AND t.subject = $2 ORDER BY t.last_post_at DESC"
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, Thread>(sqlx::AssertSqlSafe(sql)).bind(round_id).bind(subject).fetch_all(p).await)?,
        )
    }

    pub async fn posts(&self, thread_id: i64) -> Result<Vec<Post>> {
        Ok(on!(self, p => sqlx::query_as::<_, Post>(
            "SELECT x.id, x.author_person_id, a.full_name AS author, x.body_html, x.created_at FROM posts x LEFT JOIN people a ON a.id = x.author_person_id
             WHERE x.thread_id = $1 ORDER BY x.id")
            .bind(thread_id).fetch_all(p).await)?)
    }

    /// Notify every main-subject learner of a class (announcements).
    pub async fn notify_class(&self, class_id: i64, kind: &str, text: &str, link: &str) -> Result<u64> {
        Ok(on!(self, p => sqlx::query(
            "INSERT INTO notifications (person_id, kind, text, link, created_at)
             SELECT person_id, $2, $3, $4, $5 FROM enrollments WHERE class_id = $1 AND status = 'active'")
            .bind(class_id).bind(kind).bind(text).bind(link).bind(now()).execute(p).await.map(|r| r.rows_affected()))?)
    }

    pub async fn notify(&self, person_id: i64, kind: &str, text: &str, link: &str) -> Result<()> {
        on!(self, p => sqlx::query("INSERT INTO notifications (person_id, kind, text, link, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(person_id).bind(kind).bind(text).bind(link).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn notifications(&self, person_id: i64, limit: i64) -> Result<Vec<Notification>> {
        Ok(on!(self, p => sqlx::query_as::<_, Notification>(
            "SELECT id, kind, text, link, created_at, read_at FROM notifications WHERE person_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(person_id).bind(limit).fetch_all(p).await)?)
    }

    pub async fn unread_notifications(&self, person_id: i64) -> Result<i64> {
        Ok(
            on!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND read_at IS NULL")
            .bind(person_id).fetch_one(p).await)?,
        )
    }

    pub async fn mark_notifications_read(&self, person_id: i64) -> Result<()> {
        on!(self, p => sqlx::query("UPDATE notifications SET read_at = $2 WHERE person_id = $1 AND read_at IS NULL")
            .bind(person_id).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
