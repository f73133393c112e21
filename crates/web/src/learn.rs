//! The learner's side of a round and the core person's grading, shared by pages and the API:
//! every function authorizes through [`crate::access`], checks the learner's window, calls the
//! store and keeps the LMS's automatic assessment up to date.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use utoipa::ToSchema;

use bdtx_course::model::{Answer, Assignment, Course, CriterionScore, Item, ItemKind, Quiz};
use bdtx_course::{PublicQuestion, public_questions, quiz_total};
use bdtx_domain::authz::{Action, Principal, Relation, Target};
use bdtx_domain::dates::now_unix;
use bdtx_domain::round::{ActivityState, EnrollmentKind, WindowState, lms_assessment};
use bdtx_store::lms::{AttachedFile, Attempt, NewAttempt, Submission};
use bdtx_store::rounds::{Enrollment, Round};

use crate::AppState;
use crate::access::require;
use crate::error::AppError;

/// Courses and rounds are immutable once stored (a change is a new course version), so they
/// are kept parsed in memory: the learner's hot path reads them on every request.
#[derive(Default)]
pub struct LmsCache {
    courses: RwLock<HashMap<i64, Arc<Course>>>,
    rounds: RwLock<HashMap<i64, Arc<Round>>>,
}

impl LmsCache {
    pub async fn course(&self, st: &AppState, id: i64) -> Result<Arc<Course>, AppError> {
        if let Some(c) = self.courses.read().expect("cache").get(&id) {
            return Ok(c.clone());
        }
        let c = Arc::new(st.db.course(id).await?.ok_or(AppError::NotFound)?);
        self.courses.write().expect("cache").insert(id, c.clone());
        Ok(c)
    }
    pub async fn round(&self, st: &AppState, id: i64) -> Result<Arc<Round>, AppError> {
        if let Some(r) = self.rounds.read().expect("cache").get(&id) {
            return Ok(r.clone());
        }
        let r = Arc::new(st.db.round(id).await?.ok_or(AppError::NotFound)?);
        self.rounds.write().expect("cache").insert(id, r.clone());
        Ok(r)
    }
}

/// A learner in one of their enrollments.
pub struct Studying {
    pub e: Enrollment,
    pub round: Arc<Round>,
    pub course: Arc<Course>,
    pub now: i64,
}

impl Studying {
    pub fn state(&self) -> WindowState {
        self.e.window().state(self.now)
    }
    pub fn item(&self, key: &str) -> Result<&Item, AppError> {
        self.course.sections.iter().flat_map(|s| &s.items).find(|i| i.key == key).ok_or(AppError::NotFound)
    }
    /// Submissions and progress only while the window is open.
    pub fn require_open(&self) -> Result<(), AppError> {
        match self.state() {
            WindowState::Open => Ok(()),
            WindowState::NotYet => Err(AppError::invalid("window", "not_yet")),
            WindowState::Locked => Err(AppError::invalid("window", "locked")),
        }
    }
    fn quiz(&self, key: &str) -> Result<&Quiz, AppError> {
        match &self.item(key)?.kind {
            ItemKind::Quiz(q) => Ok(q),
            _ => Err(AppError::invalid("item", "not_a_quiz")),
        }
    }
    fn assignment(&self, key: &str) -> Result<&Assignment, AppError> {
        match &self.item(key)?.kind {
            ItemKind::Essay(a) | ItemKind::Final(a) => Ok(a),
            _ => Err(AppError::invalid("item", "not_an_assignment")),
        }
    }
}

/// Open one's own enrollment (someone else's is a 404).
pub async fn studying(st: &AppState, p: &Principal, enrollment_id: i64) -> Result<Studying, AppError> {
    let e = st.db.enrollment(enrollment_id).await?.ok_or(AppError::NotFound)?;
    require(p, Action::Study, &Target::person(e.person_id, vec![]))?;
    let round = st.lms.round(st, e.round_id).await?;
    let course = st.lms.course(st, round.course_id).await?;
    Ok(Studying { e, round, course, now: now_unix() })
}

/// Remember where the learner is (only written when it changes).
pub async fn visit(st: &AppState, s: &Studying, key: &str) -> Result<(), AppError> {
    s.item(key)?;
    if s.e.resume_key.as_deref() != Some(key) {
        st.db.set_resume(s.e.id, key).await?;
    }
    Ok(())
}

/// Mark a lesson read.
pub async fn complete_lesson(st: &AppState, s: &Studying, key: &str) -> Result<bool, AppError> {
    let item = s.item(key)?;
    if !matches!(item.kind, ItemKind::Lesson { .. }) {
        return Err(AppError::invalid("item", "not_a_lesson"));
    }
    s.require_open()?;
    let new = st.db.record_progress(s.e.id, key, item.required).await?;
    if new {
        reassess(st, s).await?;
    }
    Ok(new)
}

/// The learner's view of a quiz attempt: questions without answers, and what they have saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt_id: i64,
    pub number: i64,
    pub max_attempts: u32,
    pub submitted: bool,
    pub percent: Option<f64>,
    pub passed: Option<bool>,
    #[schema(value_type = Vec<Object>)]
    pub questions: Vec<PublicQuestion>,
    /// Saved answers by question key (JSON of the answer).
    pub saved: HashMap<String, String>,
}

impl AttemptView {
    /// Another attempt may be started after this one.
    pub fn can_retry(&self) -> bool {
        self.submitted && (self.max_attempts == 0 || self.number < i64::from(self.max_attempts))
    }
}

/// The latest attempt at a quiz (submitted or not). A new attempt starts when there is none
/// yet, or when `again` asks for one after a submitted attempt and attempts remain; both only
/// while the window is open.
pub async fn attempt_view(
    st: &AppState,
    s: &Studying,
    key: &str,
    again: bool,
) -> Result<Option<AttemptView>, AppError> {
    let quiz = s.quiz(key)?;
    let current = st.db.current_attempt(s.e.id, key).await?;
    let start = s.state() == WindowState::Open && current.as_ref().is_none_or(|a| again && a.submitted_at.is_some());
    let attempt = if start {
        match new_attempt(st, s, key, quiz).await? {
            Some(a) => Some(a),
            None => current,
        }
    } else {
        current
    };
    let Some(a) = attempt else { return Ok(None) };
    Ok(Some(view_of(st, quiz, a).await?))
}

/// Start an attempt with its own shuffling seed (`None` when every attempt is used).
async fn new_attempt(st: &AppState, s: &Studying, key: &str, quiz: &Quiz) -> Result<Option<Attempt>, AppError> {
    let n = new_attempt_of(quiz);
    Ok(st.db.open_attempt(s.e.id, key, n.max_attempts, n.max_points, n.seed).await?)
}

/// How a new attempt at `quiz` starts, with its own shuffling seed.
fn new_attempt_of(quiz: &Quiz) -> NewAttempt {
    let seed = i64::from(rand::random::<u32>() & 0x7fff_ffff);
    NewAttempt { max_attempts: quiz.max_attempts, max_points: quiz_total(quiz), seed }
}

async fn view_of(st: &AppState, quiz: &Quiz, a: Attempt) -> Result<AttemptView, AppError> {
    let saved = st.db.answers(a.id).await?.into_iter().map(|r| (r.question_key, r.answer)).collect();
    Ok(AttemptView {
        attempt_id: a.id,
        number: a.number,
        max_attempts: quiz.max_attempts,
        submitted: a.submitted_at.is_some(),
        percent: a.percent,
        passed: a.points.map(|pts| bdtx_course::passed(quiz, pts)),
        questions: public_questions(quiz, a.seed as u64),
        saved,
    })
}

/// Answer one question of the open attempt (the last answer counts until submission).
pub async fn answer(
    st: &AppState,
    s: &Studying,
    key: &str,
    question_key: &str,
    answer: &Answer,
) -> Result<(), AppError> {
    let quiz = s.quiz(key)?;
    s.require_open()?;
    let question =
        quiz.question(question_key).ok_or_else(|| AppError::invalid("question", "question_not_in_attempt"))?;
    let points = question.grade(answer).map_err(|e| AppError::invalid("answer", e.code()))?;
    let json = serde_json::to_string(answer).map_err(|e| AppError::Internal(e.to_string()))?;
    // Into the open attempt, or a new one (one write).
    st.db
        .answer_quiz(s.e.id, key, new_attempt_of(quiz), question_key, &json, points)
        .await?
        .ok_or_else(|| AppError::invalid("attempt", "no_attempts_left"))?;
    Ok(())
}

/// Submit the open attempt (submitting again returns the same result); a pass marks the quiz done.
pub async fn submit_quiz(st: &AppState, s: &Studying, key: &str) -> Result<AttemptView, AppError> {
    let quiz = s.quiz(key)?;
    let item = s.item(key)?;
    let a = st.db.current_attempt(s.e.id, key).await?.ok_or_else(|| AppError::invalid("attempt", "no_attempt"))?;
    let newly = a.submitted_at.is_none();
    // Submitting again returns the result as it is: nothing to write. A pass marks the quiz done
    // in the submit's own transaction.
    let a = if newly {
        s.require_open()?;
        st.db.submit_quiz_attempt(a.id, key, item.required, bdtx_course::pass_mark(quiz)).await?
    } else {
        a
    };
    let passed = a.points.is_some_and(|pts| bdtx_course::passed(quiz, pts));
    // Only a newly submitted attempt that reaches the quiz's or the round's mark can change the
    // automatic assessment (a failed attempt never lowers the best one).
    let reaches_rule = a.percent.is_some_and(|p| p + 1e-9 >= f64::from(s.round.pass_rule().quiz_percent));
    if newly && (passed || reaches_rule) {
        reassess(st, s).await?;
    }
    view_of(st, quiz, a).await
}

/// A file a learner attaches.
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Submit an essay or the final assignment: text and (if allowed) files checked by content,
/// stored outside the database with their checksums. The same nonce is the same submission.
pub async fn submit_work(
    st: &AppState,
    s: &Studying,
    key: &str,
    body: &str,
    uploads: Vec<Upload>,
    nonce: &str,
) -> Result<Submission, AppError> {
    let a = s.assignment(key)?;
    let item = s.item(key)?;
    s.require_open()?;
    let nonce = nonce.trim();
    if nonce.is_empty() || nonce.len() > 64 {
        return Err(AppError::invalid("nonce", "invalid"));
    }
    // Plain text (shown escaped, line breaks kept), never HTML.
    let body = bdtx_domain::text::clean_multiline(body);
    if body.chars().count() > 50_000 {
        return Err(AppError::invalid("body", "too_long"));
    }
    let uploads: Vec<Upload> = uploads.into_iter().filter(|u| !(u.name.is_empty() && u.bytes.is_empty())).collect();
    if body.trim().is_empty() && uploads.is_empty() {
        return Err(AppError::invalid("body", "required"));
    }
    if !uploads.is_empty() && !a.allow_files {
        return Err(AppError::invalid("files", "not_allowed"));
    }
    if uploads.len() > 5 {
        return Err(AppError::invalid("files", "too_many"));
    }
    let mut files = Vec::new();
    for u in &uploads {
        let kind = bdtx_course::files::check_upload(&u.name, &u.bytes, &bdtx_course::files::SUBMISSION_POLICY)
            .map_err(|e| AppError::invalid("files", e.code()))?;
        files.push((u, kind));
    }
    let mut attached = Vec::new();
    for (u, kind) in files {
        let stored = st.files.put(&u.bytes).map_err(|e| AppError::Internal(format!("file store: {e}")))?;
        st.db.record_file(&stored.sha256, stored.size as i64, kind.mime()).await?;
        let name = crate::download::upload_name(&u.name, || format!("tep.{}", kind.extension()));
        attached.push(AttachedFile { sha256: stored.sha256, name, mime: kind.mime().into(), size: stored.size as i64 });
    }
    let sub = st.db.submit_work(s.e.id, key, &body, &attached, nonce, item.required).await?;
    reassess(st, s).await?;
    Ok(sub)
}

/// Recompute the LMS's automatic assessment of an enrollment from the round's pass rule.
pub async fn reassess(st: &AppState, s: &Studying) -> Result<bool, AppError> {
    let state = st.db.learner_state(s.e.id).await?;
    let rule = s.round.pass_rule();
    let required = s.course.sections.iter().flat_map(|sec| &sec.items).filter(|i| i.required).map(|i| {
        let k = i.key.as_str();
        let st = match &i.kind {
            ItemKind::Lesson { .. } => ActivityState::Lesson { done: state.done.contains(k) },
            ItemKind::Quiz(_) => ActivityState::Quiz { best_percent: state.best_quiz.get(k).copied() },
            ItemKind::Essay(_) => ActivityState::Essay { submitted: state.submissions.contains_key(k) },
            ItemKind::Final(_) => {
                let sub = state.submissions.get(k);
                ActivityState::Final {
                    submitted: sub.is_some_and(|(status, _)| status != "returned"),
                    graded_pass: sub.and_then(|(_, g)| *g),
                }
            }
        };
        (k, st)
    });
    let passed = lms_assessment(&rule, required).is_ok();
    if passed != s.e.lms_passed_at.is_some() {
        st.db.set_lms_passed(s.e.id, passed).await?;
    }
    Ok(passed)
}

/// How the caller is attached to a class.
pub async fn relation(st: &AppState, p: &Principal, class_id: i64) -> Result<Relation, AppError> {
    let Some(person) = p.person_id else { return Ok(Relation::None) };
    if st.db.is_class_staff(class_id, person).await? {
        return Ok(Relation::Staff);
    }
    let learner = st.db.enrollments_of(person).await?.iter().any(|e| e.class_id == Some(class_id));
    Ok(if learner { Relation::Learner } else { Relation::None })
}

/// The target for a class: its unit's chain and the caller's relation to it.
pub async fn class_target(
    st: &AppState,
    p: &Principal,
    class_id: i64,
) -> Result<(bdtx_store::rounds::Class, Target), AppError> {
    let class = st.db.class(class_id).await?.ok_or(AppError::NotFound)?;
    let unit = st.db.unit(class.unit_id).await?.ok_or(AppError::NotFound)?;
    let chain = st.db.unit_chain(&unit).await?;
    Ok((class, Target::class(chain, relation(st, p, class_id).await?)))
}

/// A submission with what a grader needs.
pub struct ToGrade {
    pub sub: Submission,
    pub e: Enrollment,
    pub course: Arc<Course>,
    pub item: Item,
    pub class: bdtx_store::rounds::Class,
}

/// A submission the caller may grade: the latest version by a main-subject learner of a class
/// the caller is assigned to. Anyone else gets 403 (or 404 when it does not exist).
pub async fn to_grade(st: &AppState, p: &Principal, submission_id: i64) -> Result<ToGrade, AppError> {
    let sub = st.db.submission(submission_id).await?.ok_or(AppError::NotFound)?;
    let e = st.db.enrollment(sub.enrollment_id).await?.ok_or(AppError::NotFound)?;
    let class_id = e.class_id.ok_or(AppError::Forbidden)?;
    let (class, target) = class_target(st, p, class_id).await?;
    require(p, Action::GradeClass, &target)?;
    if e.kind() != EnrollmentKind::Main {
        return Err(AppError::invalid("enrollment", "not_graded_by_reporters"));
    }
    let round = st.lms.round(st, e.round_id).await?;
    let course = st.lms.course(st, round.course_id).await?;
    let item = course
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .find(|i| i.key == sub.item_key)
        .cloned()
        .ok_or(AppError::NotFound)?;
    Ok(ToGrade { sub, e, course, item, class })
}

/// Grade with the rubric (every criterion, within its range) or return for revision with a
/// comment; the learner is notified and their automatic assessment updated.
pub async fn grade(
    st: &AppState,
    p: &Principal,
    actor: i64,
    submission_id: i64,
    returned: bool,
    scores: &[CriterionScore],
    comment: &str,
) -> Result<(), AppError> {
    let g = to_grade(st, p, submission_id).await?;
    let grader = p.person_id.ok_or(AppError::Forbidden)?;
    let (ItemKind::Essay(a) | ItemKind::Final(a)) = &g.item.kind else {
        return Err(AppError::invalid("item", "not_an_assignment"));
    };
    let (decision, points, passed, scores_json) = if returned {
        ("returned", None, None, "[]".to_string())
    } else {
        let total = a.rubric.score(scores).map_err(|e| AppError::invalid(&format!("score.{}", e.key()), e.code()))?;
        let json = serde_json::to_string(scores).map_err(|e| AppError::Internal(e.to_string()))?;
        ("graded", Some(total), Some(a.rubric.passed(total)), json)
    };
    st.db
        .grade_submission(
            Some(actor),
            submission_id,
            grader,
            decision,
            &scores_json,
            points,
            passed,
            comment,
            Some(g.class.unit_id),
        )
        .await?;
    let text = format!("{}: {}", g.item.title, if returned { "trả lại để sửa" } else { "đã chấm" });
    st.db.notify(g.e.person_id, "grade", &text, &format!("/learn/{}/item/{}", g.e.id, g.item.key)).await?;
    let round = st.lms.round(st, g.e.round_id).await?;
    let s = Studying { e: g.e, round, course: g.course, now: now_unix() };
    reassess(st, &s).await?;
    Ok(())
}
