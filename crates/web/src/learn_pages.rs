//! Learner and core-person pages: my courses, a course's outline and activities (lessons,
//! quizzes, essays, the final assignment), grading, class Q&A, notifications, and course files.
//! The JSON API of the same actions is in [`crate::learn_api`].

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_course::model::{Answer, CriterionScore, Item, ItemKind, Rubric};
use bdtx_course::{PublicKind, PublicQuestion};
use bdtx_domain::authz::{Action, Relation};
use bdtx_domain::round::{EnrollmentKind, WindowState};
use bdtx_store::lms::{Grade, Notification, Post, QueueRow, Submission, Thread};
use bdtx_store::rounds::{Class, EnrollmentRow, StaffRow};

use crate::AppState;
use crate::access::require;
use crate::auth::Auth;
use crate::error::{AppError, Form, Path, Query};
use crate::learn::{self, AttemptView, Studying, Upload};
use crate::pages::Ctx;

/// Upload limit of a submission request (5 files of at most 20 MB are checked one by one).
const MAX_SUBMISSION: usize = 25 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/learn", get(my_courses))
        .route("/learn/{e}", get(outline))
        .route("/learn/{e}/subjects", post(add_subject))
        .route("/learn/{e}/item/{key}", get(item_page))
        .route("/learn/{e}/item/{key}/done", post(lesson_done))
        .route("/learn/{e}/item/{key}/quiz", post(quiz_submit))
        .route("/learn/{e}/item/{key}/submit", post(work_submit).layer(DefaultBodyLimit::max(MAX_SUBMISSION)))
        .route("/files/{sha}/{name}", get(file))
        .route("/submissions/{id}/files/{sha}", get(submission_file))
        .route("/grading", get(queue_page))
        .route("/grading/{id}", get(grade_page).post(grade_submit))
        .route("/classes/{id}", get(class_page))
        .route("/classes/{id}/threads", post(thread_create))
        .route("/threads/{id}", get(thread_page))
        .route("/threads/{id}/reply", post(thread_reply))
        .route("/notifications", get(notifications_page))
        .route("/rounds/{id}/space", get(space_page).post(space_create))
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---------------------------------------------------------------- my courses

#[derive(Template, WebTemplate)]
#[template(path = "learn.html")]
struct MyCourses {
    ctx: Ctx,
    rows: Vec<EnrollmentRow>,
    classes: Vec<Class>,
    /// Reporters' spaces: (round, subject) of the classes the person supports.
    spaces: Vec<(i64, String)>,
    certs: Vec<bdtx_store::certificates::Certificate>,
    queue: usize,
    unread: i64,
}

async fn my_courses(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<MyCourses, AppError> {
    let Some(person) = auth.principal.person_id else {
        return Ok(MyCourses {
            ctx,
            rows: vec![],
            classes: vec![],
            spaces: vec![],
            certs: vec![],
            queue: 0,
            unread: 0,
        });
    };
    let classes = st.db.classes_of_staff(person).await?;
    let mut spaces: Vec<(i64, String)> = classes.iter().map(|c| (c.round_id, c.subject.clone())).collect();
    spaces.sort();
    spaces.dedup();
    Ok(MyCourses {
        ctx,
        rows: st.db.my_enrollments(person).await?,
        classes,
        spaces,
        certs: st.db.person_certificates(person).await?,
        queue: st.db.grading_queue(person).await?.len(),
        unread: st.db.unread_notifications(person).await?,
    })
}

// ---------------------------------------------------------------- outline

pub struct OutlineItem {
    pub key: String,
    pub title: String,
    pub kind: &'static str,
    pub required: bool,
    pub done: bool,
}

pub struct OutlineSection {
    pub title: String,
    pub items: Vec<OutlineItem>,
}

#[derive(Template, WebTemplate)]
#[template(path = "course.html")]
struct OutlinePage {
    ctx: Ctx,
    s: Studying,
    sections: Vec<OutlineSection>,
    state: &'static str,
    percent: i64,
    lock_at: String,
    extra: Vec<EnrollmentRow>,
    /// Professional-activity sessions of the learner's unit in this round, and how many attended.
    sessions: Vec<bdtx_store::sessions::LearnerSession>,
    attended: usize,
}

pub(crate) fn kind_name(i: &Item) -> &'static str {
    match i.kind {
        ItemKind::Lesson { .. } => "lesson",
        ItemKind::Quiz(_) => "quiz",
        ItemKind::Essay(_) => "essay",
        ItemKind::Final(_) => "final",
    }
}

pub(crate) fn state_name(s: WindowState) -> &'static str {
    match s {
        WindowState::NotYet => "not_yet",
        WindowState::Open => "open",
        WindowState::Locked => "locked",
    }
}

async fn outline(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(e): Path<i64>,
) -> Result<OutlinePage, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    let done = st.db.learner_state(s.e.id).await?.done;
    let sections = s
        .course
        .sections
        .iter()
        .map(|sec| OutlineSection {
            title: sec.title.clone(),
            items: sec
                .items
                .iter()
                .map(|i| OutlineItem {
                    key: i.key.clone(),
                    title: i.title.clone(),
                    kind: kind_name(i),
                    required: i.required,
                    done: done.contains(&i.key),
                })
                .collect(),
        })
        .collect();
    let percent = if s.e.items_required > 0 { s.e.items_done * 100 / s.e.items_required } else { 0 };
    let lock_at = bdtx_domain::dates::show_instant(s.e.window().lock_at());
    let extra = st
        .db
        .my_enrollments(s.e.person_id)
        .await?
        .into_iter()
        .filter(|r| r.round_id == s.e.round_id && r.id != s.e.id)
        .collect();
    let (sessions, attended) = crate::sessions_pages::learner_summary(&st, s.e.id).await?;
    Ok(OutlinePage { ctx, state: state_name(s.state()), percent, lock_at, sections, extra, sessions, attended, s })
}

#[derive(Deserialize)]
struct SubjectForm {
    subject: String,
    kind: String,
}

async fn add_subject(
    State(st): State<AppState>,
    auth: Auth,
    Path(e): Path<i64>,
    Form(f): Form<SubjectForm>,
) -> Result<Response, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    s.require_open()?;
    let kind = EnrollmentKind::parse(&f.kind).ok_or_else(|| AppError::invalid("kind", "invalid"))?;
    let id = st.db.add_extra_subject(&s.e, &f.subject, kind).await?;
    Ok(see(&format!("/learn/{id}?ok=learn.subject_added")))
}

// ---------------------------------------------------------------- one activity

pub struct QuestionView {
    pub q: PublicQuestion,
    /// Option indexes chosen (single/multiple), "true"/"false", or per left index the right index.
    pub chosen: Vec<usize>,
    pub tf: Option<bool>,
    pub matched: HashMap<usize, usize>,
}

impl QuestionView {
    fn new(q: PublicQuestion, saved: Option<&String>) -> Self {
        let a: Option<Answer> = saved.and_then(|s| serde_json::from_str(s).ok());
        let mut v = QuestionView { q, chosen: vec![], tf: None, matched: HashMap::new() };
        match a {
            Some(Answer::Single(i)) => v.chosen = vec![i],
            Some(Answer::Multiple(is)) => v.chosen = is,
            Some(Answer::TrueFalse(b)) => v.tf = Some(b),
            Some(Answer::Matching(m)) => v.matched = m.into_iter().enumerate().collect(),
            None => {}
        }
        v
    }
    pub fn options(&self) -> &[(usize, String)] {
        match &self.q.kind {
            PublicKind::Single { options } | PublicKind::Multiple { options } => options,
            _ => &[],
        }
    }
    pub fn lefts(&self) -> &[(usize, String)] {
        match &self.q.kind {
            PublicKind::Matching { lefts, .. } => lefts,
            _ => &[],
        }
    }
    pub fn rights(&self) -> &[(usize, String)] {
        match &self.q.kind {
            PublicKind::Matching { rights, .. } => rights,
            _ => &[],
        }
    }
    pub fn kind(&self) -> &'static str {
        match self.q.kind {
            PublicKind::Single { .. } => "single",
            PublicKind::Multiple { .. } => "multiple",
            PublicKind::TrueFalse => "true_false",
            PublicKind::Matching { .. } => "matching",
        }
    }
    pub fn is_chosen(&self, i: &usize) -> bool {
        self.chosen.contains(i)
    }
    pub fn is_matched(&self, left: &usize, right: &usize) -> bool {
        self.matched.get(left) == Some(right)
    }
}

pub struct WorkView {
    pub sub: Submission,
    pub grade: Option<Grade>,
}

#[derive(Template, WebTemplate)]
#[template(path = "item.html")]
struct ItemPage {
    ctx: Ctx,
    s: Studying,
    item: Item,
    state: &'static str,
    done: bool,
    attempt: Option<AttemptView>,
    questions: Vec<QuestionView>,
    work: Vec<WorkView>,
    can_submit_work: bool,
    nonce: String,
    rubric: Option<Rubric>,
    next: Option<String>,
    prompt_html: String,
    allow_files: bool,
}

#[derive(Deserialize)]
struct ItemQuery {
    again: Option<String>,
}

async fn item_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
    Query(q): Query<ItemQuery>,
) -> Result<ItemPage, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    let item = s.item(&key)?.clone();
    learn::visit(&st, &s, &key).await?;
    let done = st.db.learner_state(s.e.id).await?.done.contains(&key);
    let mut attempt = None;
    let mut questions = Vec::new();
    let mut work = Vec::new();
    let mut can_submit_work = false;
    let (mut rubric, mut prompt_html, mut allow_files) = (None, String::new(), false);
    match &item.kind {
        ItemKind::Quiz(_) => {
            attempt = learn::attempt_view(&st, &s, &key, q.again.is_some()).await?;
            if let Some(a) = &attempt {
                questions =
                    a.questions.iter().cloned().map(|q| QuestionView::new(q.clone(), a.saved.get(&q.key))).collect();
            }
        }
        ItemKind::Essay(a) | ItemKind::Final(a) => {
            for sub in st.db.submissions(s.e.id, &key).await? {
                let grade = st.db.grade_of(sub.id).await?;
                work.push(WorkView { sub, grade });
            }
            can_submit_work = s.state() == WindowState::Open && work.last().is_none_or(|w| w.sub.status == "returned");
            rubric = Some(a.rubric.clone());
            prompt_html = a.prompt_html.clone();
            allow_files = a.allow_files;
        }
        ItemKind::Lesson { .. } => {}
    }
    let keys: Vec<&str> = s.course.sections.iter().flat_map(|x| &x.items).map(|i| i.key.as_str()).collect();
    let next = keys.iter().position(|k| *k == key).and_then(|i| keys.get(i + 1)).map(|k| k.to_string());
    Ok(ItemPage {
        ctx,

        state: state_name(s.state()),
        item,
        done,
        attempt,
        questions,
        work,
        can_submit_work,
        nonce: bdtx_store::accounts::random_token(12),
        rubric,
        next,
        prompt_html,
        allow_files,
        s,
    })
}

async fn lesson_done(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    learn::complete_lesson(&st, &s, &key).await?;
    Ok(see(&format!("/learn/{e}/item/{key}?ok=learn.saved")))
}

/// Answers from the quiz form: `q.<key>` (single: index; multiple: several; true_false:
/// true/false) and `m.<key>.<left>` (matching: right index).
fn answers_from_form(pairs: &[(String, String)], questions: &[PublicQuestion]) -> Vec<(String, Answer)> {
    let mut out = Vec::new();
    for q in questions {
        let name = format!("q.{}", q.key);
        let values: Vec<&str> = pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.as_str()).collect();
        let a = match &q.kind {
            PublicKind::Single { .. } => values.first().and_then(|v| v.parse().ok()).map(Answer::Single),
            PublicKind::Multiple { .. } => {
                let v: Vec<usize> = values.iter().filter_map(|v| v.parse().ok()).collect();
                (!v.is_empty()).then_some(Answer::Multiple(v))
            }
            PublicKind::TrueFalse => values.first().map(|v| Answer::TrueFalse(*v == "true")),
            PublicKind::Matching { lefts, .. } => {
                let mut m = vec![usize::MAX; lefts.len()];
                for (left, _) in lefts {
                    let field = format!("m.{}.{left}", q.key);
                    if let Some(r) = pairs.iter().find(|(k, _)| *k == field).and_then(|(_, v)| v.parse().ok()) {
                        if *left < m.len() {
                            m[*left] = r;
                        }
                    }
                }
                (!m.contains(&usize::MAX)).then_some(Answer::Matching(m))
            }
        };
        if let Some(a) = a {
            out.push((q.key.clone(), a));
        }
    }
    out
}

async fn quiz_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| AppError::invalid("answer", "malformed"))?;
    let view =
        learn::attempt_view(&st, &s, &key, false).await?.ok_or_else(|| AppError::invalid("attempt", "no_attempt"))?;
    let attempt_id: Option<i64> = pairs.iter().find(|(k, _)| k == "attempt").and_then(|(_, v)| v.parse().ok());
    if view.submitted || attempt_id != Some(view.attempt_id) {
        // A second click on a submitted attempt: show the result, change nothing.
        return Ok(see(&format!("/learn/{e}/item/{key}")));
    }
    for (q, a) in answers_from_form(&pairs, &view.questions) {
        learn::answer(&st, &s, &key, &q, &a).await?;
    }
    learn::submit_quiz(&st, &s, &key).await?;
    Ok(see(&format!("/learn/{e}/item/{key}?ok=learn.quiz_submitted")))
}

async fn work_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    let (mut body, mut nonce, mut uploads) = (String::new(), String::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(|_| AppError::invalid("files", "file_too_large"))? {
        match field.name() {
            Some("body") => body = field.text().await.map_err(|_| AppError::invalid("body", "malformed"))?,
            Some("nonce") => nonce = field.text().await.map_err(|_| AppError::invalid("nonce", "malformed"))?,
            Some("files") => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::invalid("files", "file_too_large"))?;
                uploads.push(Upload { name, bytes: bytes.to_vec() });
            }
            _ => {}
        }
    }
    learn::submit_work(&st, &s, &key, &body, uploads, &nonce).await?;
    Ok(see(&format!("/learn/{e}/item/{key}?ok=learn.work_submitted")))
}

/// A course's media file, for signed-in users. Content-addressed, so it can be cached for good.
/// Learners' work is never served here (see [`submission_file`]).
async fn file(
    State(st): State<AppState>,
    _auth: Auth,
    Path((sha, _name)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let mime = st.db.media_mime(&sha).await?.ok_or(AppError::NotFound)?;
    send_file(&st, &sha, &mime).await
}

/// A file attached to a submission: for the learner, the class's core people and those who
/// may see the class; anyone else gets 404.
async fn submission_file(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, sha)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let sub = st.db.submission(id).await?.ok_or(AppError::NotFound)?;
    let f = sub.attached().into_iter().find(|f| f.sha256 == sha).ok_or(AppError::NotFound)?;
    let e = st.db.enrollment(sub.enrollment_id).await?.ok_or(AppError::NotFound)?;
    let own = auth.principal.person_id == Some(e.person_id);
    let allowed = own
        || match e.class_id {
            Some(c) => {
                let (_, target) = learn::class_target(&st, &auth.principal, c).await?;
                auth.principal.can(Action::GradeClass, &target) || auth.principal.can(Action::ViewRound, &target)
            }
            None => false,
        };
    if !allowed {
        return Err(AppError::NotFound);
    }
    let mut res = send_file(&st, &f.sha256, &f.mime).await?;
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{}", urlencoding::encode(&f.name))) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

async fn send_file(st: &AppState, sha: &str, mime: &str) -> Result<Response, AppError> {
    let path = st.files.path(sha).ok_or(AppError::NotFound)?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| AppError::NotFound)?;
    let mut res = Body::from(bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; media-src 'self'"),
    );
    Ok(res)
}

// ---------------------------------------------------------------- grading

#[derive(Template, WebTemplate)]
#[template(path = "grading.html")]
struct QueuePage {
    ctx: Ctx,
    rows: Vec<QueueRow>,
}

async fn queue_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<QueuePage, AppError> {
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    Ok(QueuePage { ctx, rows: st.db.grading_queue(person).await? })
}

#[derive(Template, WebTemplate)]
#[template(path = "grade.html")]
struct GradePage {
    ctx: Ctx,
    g: learn::ToGrade,
    learner: String,
    rubric: Rubric,
    prompt_html: String,
}

async fn grade_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<GradePage, AppError> {
    let g = learn::to_grade(&st, &auth.principal, id).await?;
    let learner = st.db.person(g.e.person_id).await?.map(|p| p.full_name).unwrap_or_default();
    let (ItemKind::Essay(a) | ItemKind::Final(a)) = &g.item.kind else { return Err(AppError::NotFound) };
    let (rubric, prompt_html) = (a.rubric.clone(), a.prompt_html.clone());
    Ok(GradePage { ctx, g, learner, rubric, prompt_html })
}

async fn grade_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| AppError::invalid("score", "malformed"))?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string());
    let returned = get("decision").as_deref() == Some("returned");
    let mut scores = Vec::new();
    for (k, v) in &pairs {
        if let Some(key) = k.strip_prefix("c.") {
            let points: f64 = v
                .trim()
                .replace(',', ".")
                .parse()
                .map_err(|_| AppError::invalid(&format!("score.{key}"), "invalid"))?;
            scores.push(CriterionScore { key: key.to_string(), points });
        }
    }
    learn::grade(&st, &auth.principal, auth.account.id, id, returned, &scores, &get("comment").unwrap_or_default())
        .await?;
    Ok(see("/grading?ok=learn.graded"))
}

// ---------------------------------------------------------------- classes and Q&A

#[derive(Template, WebTemplate)]
#[template(path = "class.html")]
struct ClassPage {
    ctx: Ctx,
    class: Class,
    staff: Vec<StaffRow>,
    learners: Vec<EnrollmentRow>,
    threads: Vec<Thread>,
    can_announce: bool,
    can_manage: bool,
    /// Other classes of the round a learner can be moved to (for those who manage it).
    others: Vec<(i64, String)>,
}

async fn class_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<ClassPage, AppError> {
    let (class, target) = learn::class_target(&st, &auth.principal, id).await?;
    require(&auth.principal, Action::Discuss, &target)?;
    let sees_list = auth.principal.can(Action::ViewRound, &target);
    let learners =
        if sees_list { st.db.round_enrollments(class.round_id, Some(id), None, 2000).await? } else { vec![] };
    let round = st.lms.round(&st, class.round_id).await?;
    let owner = st.db.unit(round.owner_unit_id).await?.ok_or(AppError::NotFound)?;
    let can_manage =
        auth.principal.can(Action::ManageRound, &bdtx_domain::authz::Target::unit(st.db.unit_chain(&owner).await?));
    let others = if can_manage {
        st.db
            .classes_of_round(class.round_id)
            .await?
            .into_iter()
            .filter(|c| c.id != id)
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        vec![]
    };
    Ok(ClassPage {
        ctx,
        others,
        staff: st.db.class_staff(id).await?,
        learners,
        threads: st.db.class_threads(id).await?,
        can_announce: auth.principal.can(Action::Announce, &target),
        can_manage,
        class,
    })
}

#[derive(Deserialize)]
struct ThreadForm {
    title: String,
    body: String,
    kind: Option<String>,
}

async fn thread_create(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ThreadForm>,
) -> Result<Response, AppError> {
    let (class, target) = learn::class_target(&st, &auth.principal, id).await?;
    require(&auth.principal, Action::Discuss, &target)?;
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    let kind = if f.kind.as_deref() == Some("announcement") {
        require(&auth.principal, Action::Announce, &target)?;
        "announcement"
    } else {
        "question"
    };
    let body = text_to_html(&f.body);
    let t = st.db.create_thread(class.round_id, Some(id), &class.subject, kind, &f.title, person, &body).await?;
    if kind == "announcement" {
        st.db.notify_class(id, "announcement", &bdtx_domain::text::clean(&f.title), &format!("/threads/{t}")).await?;
    }
    Ok(see(&format!("/threads/{t}")))
}

/// Plain text typed by a user → safe HTML paragraphs.
fn text_to_html(s: &str) -> String {
    let text = bdtx_domain::text::clean_multiline(s);
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            format!(
                "<p>{}</p>",
                askama::filters::escape(p, askama::filters::Html)
                    .map(|e| e.to_string())
                    .unwrap_or_default()
                    .replace('\n', "<br>")
            )
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "thread.html")]
struct ThreadPage {
    ctx: Ctx,
    thread: Thread,
    posts: Vec<Post>,
}

async fn thread_access(st: &AppState, auth: &Auth, id: i64) -> Result<Thread, AppError> {
    let thread = st.db.thread(id).await?.ok_or(AppError::NotFound)?;
    match thread.class_id {
        Some(c) => {
            let (_, target) = learn::class_target(st, &auth.principal, c).await?;
            require(&auth.principal, Action::Discuss, &target)?;
        }
        None => {
            space_access(st, auth, thread.round_id).await?;
        }
    }
    Ok(thread)
}

async fn thread_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<ThreadPage, AppError> {
    let thread = thread_access(&st, &auth, id).await?;
    Ok(ThreadPage { ctx, posts: st.db.posts(id).await?, thread })
}

#[derive(Deserialize)]
struct ReplyForm {
    body: String,
}

async fn thread_reply(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ReplyForm>,
) -> Result<Response, AppError> {
    thread_access(&st, &auth, id).await?;
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    st.db.reply(id, person, &text_to_html(&f.body), &format!("/threads/{id}")).await?;
    Ok(see(&format!("/threads/{id}")))
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    ctx: Ctx,
    rows: Vec<Notification>,
}

async fn notifications_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<NotificationsPage, AppError> {
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    let rows = st.db.notifications(person, 100).await?;
    st.db.mark_notifications_read(person).await?;
    Ok(NotificationsPage { ctx, rows })
}

// ---------------------------------------------------------------- reporters' shared space

/// The reporters of a round share one space per subject to agree on answers: open to the core
/// people assigned to a class of the round.
async fn space_access(st: &AppState, auth: &Auth, round_id: i64) -> Result<i64, AppError> {
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    let staff = st.db.classes_of_staff(person).await?.iter().any(|c| c.round_id == round_id);
    let rel = if staff { Relation::Staff } else { Relation::None };
    require(&auth.principal, Action::GradeClass, &bdtx_domain::authz::Target::class(vec![], rel))?;
    Ok(person)
}

#[derive(Deserialize)]
struct SpaceQuery {
    subject: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "space.html")]
struct SpacePage {
    ctx: Ctx,
    round_id: i64,
    round_title: String,
    subject: String,
    threads: Vec<Thread>,
}

async fn space_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<SpaceQuery>,
) -> Result<SpacePage, AppError> {
    space_access(&st, &auth, id).await?;
    let round = st.lms.round(&st, id).await?;
    let subject = bdtx_domain::text::clean(q.subject.as_deref().unwrap_or(""));
    Ok(SpacePage {
        ctx,
        round_id: id,
        round_title: round.title.clone(),
        threads: st.db.space_threads(id, &subject).await?,
        subject,
    })
}

#[derive(Deserialize)]
struct SpaceForm {
    subject: String,
    title: String,
    body: String,
}

async fn space_create(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<SpaceForm>,
) -> Result<Response, AppError> {
    let person = space_access(&st, &auth, id).await?;
    let subject = bdtx_domain::text::clean(&f.subject);
    let t = st.db.create_thread(id, None, &subject, "question", &f.title, person, &text_to_html(&f.body)).await?;
    Ok(see(&format!("/threads/{t}")))
}
