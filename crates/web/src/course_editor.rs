//! Course authoring in the web UI, for whoever may import course packages (ministry and province
//! admins): a new empty draft of a catalog module, its outline (sections and activities), and
//! forms for each activity. Lessons and prompts are Markdown (sanitized, links to the course's
//! own files as `media/<name>`), quizzes and rubrics are YAML in the package file format.
//!
//! A course version that no round uses is a draft and is changed in place; a version used by a
//! round never changes (409, with a button that copies it into a new, editable version). Every
//! save checks the whole course with `bdtx_course::validate`; a refused save changes nothing and
//! shows the form again with the author's text and the Vietnamese message. What the author typed
//! is kept next to the course (`course_sources`) so the forms show it again; for an imported
//! package the forms show the HTML (which Markdown passes through) and the quiz/rubric as YAML.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_course::model::{Assignment, Course, Item, ItemKind, Section};
use bdtx_course::package::{
    course_media, markdown_with_media, media_link, quiz_from_yaml_with, quiz_to_yaml, rubric_from_yaml, rubric_to_yaml,
};
use bdtx_course::{MediaFile, PackageError};
use bdtx_store::StoreError;
use bdtx_store::rounds::{CourseRow, CourseSource};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{AppError, Form, Path};
use crate::i18n::T;
use crate::pages::Ctx;
use crate::rounds_pages::manage_roots;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/new", get(index_page).post(create_submit))
        .route("/courses/{id}", get(outline_page))
        .route("/courses/{id}/settings", post(settings_submit))
        .route("/courses/{id}/version", post(version_submit))
        .route("/courses/{id}/sections", post(section_add))
        .route("/courses/{id}/sections/{s}/rename", post(section_rename))
        .route("/courses/{id}/sections/{s}/remove", post(section_remove))
        .route("/courses/{id}/sections/{s}/items", post(item_add))
        .route("/courses/{id}/items/{key}", get(item_page).post(item_save))
        .route("/courses/{id}/items/{key}/remove", post(item_remove))
        .route("/courses/{id}/items/{key}/move", post(item_move))
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Course authors: the same people as those who may import packages on /courses.
async fn author(st: &AppState, auth: &Auth) -> Result<(), AppError> {
    if manage_roots(st, &auth.principal).await?.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// A course version as the editor works on it.
struct Draft {
    row: CourseRow,
    course: Course,
    in_use: bool,
    rounds: Vec<(i64, String)>,
    sources: HashMap<(String, String), String>,
}

impl Draft {
    fn source(&self, key: &str, field: &str) -> Option<&str> {
        self.sources.get(&(key.to_string(), field.to_string())).map(String::as_str)
    }
}

async fn load(st: &AppState, id: i64) -> Result<Draft, AppError> {
    let row = st.db.course_row(id).await?.ok_or(AppError::NotFound)?;
    let course = st.db.course(id).await?.ok_or(AppError::NotFound)?;
    let rounds = st.db.course_rounds(id).await?;
    let sources = st.db.course_sources(id).await?.into_iter().map(|s| ((s.item_key, s.field), s.source)).collect();
    Ok(Draft { row, course, in_use: !rounds.is_empty(), rounds, sources })
}

/// Text from a browser's text area: LF line ends.
fn typed(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// A message for an error in one field of a form: "Bài kiểm tra, dòng 3: câu hỏi “c1”: …".
fn field_message(label: &str, e: &PackageError) -> String {
    match e.line {
        Some(line) => format!("{label}, dòng {line}: {}", e.message),
        None => format!("{label}: {}", e.message),
    }
}

fn kind_name(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::Lesson { .. } => "lesson",
        ItemKind::Quiz(_) => "quiz",
        ItemKind::Essay(_) => "essay",
        ItemKind::Final(_) => "final",
    }
}

fn find_item(course: &Course, key: &str) -> Option<(usize, usize)> {
    course.sections.iter().enumerate().find_map(|(s, sec)| sec.items.iter().position(|i| i.key == key).map(|i| (s, i)))
}

/// Saves a changed draft, checked whole. `Ok(Err(message))`: refused, nothing changed.
async fn save(
    st: &AppState,
    auth: &Auth,
    id: i64,
    course: &Course,
    sources: &[CourseSource],
) -> Result<Result<(), Refusal>, AppError> {
    if let Err(e) = bdtx_course::validate(course) {
        return Ok(Err(Refusal::Invalid(e.to_string())));
    }
    match st.db.save_course_draft(Some(auth.account.id), id, course, sources).await {
        Ok(()) => Ok(Ok(())),
        Err(StoreError::Conflict(_)) => Ok(Err(Refusal::InUse)),
        Err(e) => Err(e.into()),
    }
}

enum Refusal {
    /// The Vietnamese message of what is wrong.
    Invalid(String),
    /// A round uses the version.
    InUse,
}

// ---------------------------------------------------------------- index and new draft

pub struct VersionRow {
    pub c: CourseRow,
    pub in_use: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "course_new.html")]
struct IndexPage {
    ctx: Ctx,
    modules: Vec<(String, String)>,
    rows: Vec<VersionRow>,
    module_code: String,
    title: String,
    error: Option<String>,
}

async fn index(st: &AppState, ctx: Ctx, form: NewForm, error: Option<String>) -> Result<IndexPage, AppError> {
    let modules = st.db.modules(None).await?.into_iter().map(|m| (m.code, m.title_vi)).collect();
    let mut rows = Vec::new();
    for c in st.db.courses().await? {
        rows.push(VersionRow { in_use: st.db.course_in_use(c.id).await?, c });
    }
    Ok(IndexPage { ctx, modules, rows, module_code: form.module_code, title: form.title, error })
}

async fn index_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<IndexPage, AppError> {
    author(&st, &auth).await?;
    index(&st, ctx, NewForm::default(), None).await
}

#[derive(Deserialize, Default)]
struct NewForm {
    #[serde(default)]
    module_code: String,
    #[serde(default)]
    title: String,
}

async fn create_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Form(f): Form<NewForm>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    let code = f.module_code.trim().to_string();
    let title = bdtx_domain::text::clean(&f.title);
    let refuse = async |ctx: Ctx, f: NewForm, message: String| -> Result<Response, AppError> {
        Ok((StatusCode::UNPROCESSABLE_ENTITY, index(&st, ctx, f, Some(message)).await?).into_response())
    };
    if code.is_empty() || st.db.module(&code).await?.is_none() {
        let message = ctx.t.t("editor.unknown_module").to_string();
        return refuse(ctx, f, message).await;
    }
    let course = Course { module_code: code, title, summary_html: String::new(), sections: Vec::new() };
    if let Err(e) = bdtx_course::validate(&course) {
        return refuse(ctx, f, e.to_string()).await;
    }
    let row = st.db.create_course(Some(auth.account.id), &course).await?;
    Ok(see(&format!("/courses/{}?ok=editor.created", row.id)))
}

// ---------------------------------------------------------------- outline

pub struct ItemRow {
    pub key: String,
    pub title: String,
    pub kind: &'static str,
    pub required: bool,
}

pub struct SectionRow {
    pub title: String,
    pub items: Vec<ItemRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "course_outline.html")]
struct OutlinePage {
    ctx: Ctx,
    row: CourseRow,
    in_use: bool,
    rounds: Vec<(i64, String)>,
    sections: Vec<SectionRow>,
    summary: String,
    summary_html: String,
    media: Vec<(String, String)>,
    error: Option<String>,
}

fn outline(ctx: Ctx, d: Draft, error: Option<String>) -> OutlinePage {
    let sections = d
        .course
        .sections
        .iter()
        .map(|s| SectionRow {
            title: s.title.clone(),
            items: s
                .items
                .iter()
                .map(|i| ItemRow {
                    key: i.key.clone(),
                    title: i.title.clone(),
                    kind: kind_name(&i.kind),
                    required: i.required,
                })
                .collect(),
        })
        .collect();
    let summary = d.source("", "summary").map(str::to_string).unwrap_or_else(|| d.course.summary_html.clone());
    OutlinePage {
        ctx,
        in_use: d.in_use,
        rounds: d.rounds,
        sections,
        summary,
        summary_html: d.course.summary_html.clone(),
        media: media_list(&d.course),
        error,
        row: d.row,
    }
}

/// The course's files as (name to write in Markdown, URL).
fn media_list(course: &Course) -> Vec<(String, String)> {
    course_media(course).into_iter().map(|m| (m.name.clone(), m.url())).collect()
}

async fn outline_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<OutlinePage, AppError> {
    author(&st, &auth).await?;
    Ok(outline(ctx, load(&st, id).await?, None))
}

#[derive(Template, WebTemplate)]
#[template(path = "course_locked.html")]
struct LockedPage {
    ctx: Ctx,
    row: CourseRow,
    rounds: Vec<(i64, String)>,
}

fn locked(ctx: Ctx, d: Draft) -> Response {
    (StatusCode::CONFLICT, LockedPage { ctx, row: d.row, rounds: d.rounds }).into_response()
}

/// Apply a change to a draft from the outline page: saved, refused (the outline again with the
/// message) or locked (409).
async fn change(
    st: &AppState,
    ctx: Ctx,
    auth: &Auth,
    id: i64,
    edit: impl FnOnce(&mut Course, &T) -> Result<(), String>,
    sources: Vec<CourseSource>,
) -> Result<Response, AppError> {
    let mut d = load(st, id).await?;
    if d.in_use {
        return Ok(locked(ctx, d));
    }
    let mut course = d.course.clone();
    if let Err(message) = edit(&mut course, &ctx.t) {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, outline(ctx, d, Some(message))).into_response());
    }
    match save(st, auth, id, &course, &sources).await? {
        Ok(()) => Ok(see(&format!("/courses/{id}?ok=editor.saved"))),
        Err(Refusal::InUse) => {
            d.rounds = st.db.course_rounds(id).await?;
            Ok(locked(ctx, d))
        }
        Err(Refusal::Invalid(message)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, outline(ctx, d, Some(message))).into_response())
        }
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
}

async fn settings_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<SettingsForm>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    let summary = typed(&f.summary);
    let source = CourseSource { item_key: String::new(), field: "summary".into(), source: summary.clone() };
    let edit = |c: &mut Course, t: &T| {
        let media = course_media(c);
        c.summary_html =
            markdown_with_media(&summary, &media).map_err(|e| field_message(t.t("editor.f.summary"), &e))?;
        c.title = bdtx_domain::text::clean(&f.title);
        Ok(())
    };
    change(&st, ctx, &auth, id, edit, vec![source]).await
}

async fn version_submit(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    let row = st.db.new_course_version(Some(auth.account.id), id).await?;
    Ok(see(&format!("/courses/{}?ok=editor.version_created", row.id)))
}

#[derive(Deserialize)]
struct SectionForm {
    #[serde(default)]
    title: String,
}

async fn section_add(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<SectionForm>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    let edit = |c: &mut Course, _: &T| {
        c.sections.push(Section { title: bdtx_domain::text::clean(&f.title), items: Vec::new() });
        Ok(())
    };
    change(&st, ctx, &auth, id, edit, vec![]).await
}

async fn section_rename(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((id, s)): Path<(i64, usize)>,
    Form(f): Form<SectionForm>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    if st.db.course(id).await?.is_none_or(|c| s >= c.sections.len()) {
        return Err(AppError::NotFound);
    }
    let edit = |c: &mut Course, _: &T| {
        c.sections[s].title = bdtx_domain::text::clean(&f.title);
        Ok(())
    };
    change(&st, ctx, &auth, id, edit, vec![]).await
}

async fn section_remove(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((id, s)): Path<(i64, usize)>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    if st.db.course(id).await?.is_none_or(|c| s >= c.sections.len()) {
        return Err(AppError::NotFound);
    }
    let edit = |c: &mut Course, t: &T| {
        if !c.sections[s].items.is_empty() {
            return Err(t.t("editor.section_not_empty").to_string());
        }
        c.sections.remove(s);
        Ok(())
    };
    change(&st, ctx, &auth, id, edit, vec![]).await
}

async fn item_remove(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((id, key)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    if st.db.course(id).await?.is_none_or(|c| find_item(&c, &key).is_none()) {
        return Err(AppError::NotFound);
    }
    let edit = |c: &mut Course, _: &T| {
        if let Some((s, i)) = find_item(c, &key) {
            c.sections[s].items.remove(i);
        }
        Ok(())
    };
    change(&st, ctx, &auth, id, edit, vec![]).await
}

#[derive(Deserialize)]
struct MoveForm {
    dir: String,
}

/// Moves an item one place up or down; past the start or end of its section it goes to the end
/// of the section before or the start of the section after.
fn move_item(course: &mut Course, key: &str, up: bool) {
    let Some((s, i)) = find_item(course, key) else { return };
    let len = course.sections[s].items.len();
    if up {
        if i > 0 {
            course.sections[s].items.swap(i, i - 1);
        } else if s > 0 {
            let item = course.sections[s].items.remove(i);
            course.sections[s - 1].items.push(item);
        }
    } else if i + 1 < len {
        course.sections[s].items.swap(i, i + 1);
    } else if s + 1 < course.sections.len() {
        let item = course.sections[s].items.remove(i);
        course.sections[s + 1].items.insert(0, item);
    }
}

async fn item_move(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((id, key)): Path<(i64, String)>,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    let up = match f.dir.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::invalid("dir", "invalid")),
    };
    if st.db.course(id).await?.is_none_or(|c| find_item(&c, &key).is_none()) {
        return Err(AppError::NotFound);
    }
    let edit = |c: &mut Course, _: &T| {
        move_item(c, &key, up);
        Ok(())
    };
    change(&st, ctx, &auth, id, edit, vec![]).await
}

// ---------------------------------------------------------------- one activity

/// The fields of the activity form, as typed (or as pre-filled from the stored course).
#[derive(Deserialize, Default, Clone)]
pub struct ItemForm {
    /// "head" from the outline's short form: show the whole form, save nothing yet.
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: Option<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub video_title: String,
    #[serde(default)]
    pub video_url: String,
    #[serde(default)]
    pub documents: String,
    #[serde(default)]
    pub quiz: String,
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub allow_files: Option<String>,
    #[serde(default)]
    pub rubric: String,
}

impl ItemForm {
    /// The form of a stored activity: what the author typed if kept, else the stored HTML and
    /// the quiz/rubric written back as YAML.
    fn of(item: &Item, d: &Draft) -> ItemForm {
        let src = |field: &str, fallback: String| d.source(&item.key, field).map(str::to_string).unwrap_or(fallback);
        let mut f = ItemForm {
            key: item.key.clone(),
            title: item.title.clone(),
            kind: kind_name(&item.kind).into(),
            required: item.required.then(|| "1".into()),
            ..ItemForm::default()
        };
        match &item.kind {
            ItemKind::Lesson { body_html, video, documents } => {
                f.body = src("body", body_html.clone());
                if let Some(v) = video {
                    f.video_title = if v.title == item.title { String::new() } else { v.title.clone() };
                    f.video_url = v.url.clone();
                }
                f.documents = documents.iter().map(|m| format!("{} | {}\n", m.title, m.url)).collect();
            }
            ItemKind::Quiz(q) => f.quiz = src("quiz", quiz_to_yaml(q)),
            ItemKind::Essay(a) | ItemKind::Final(a) => {
                f.prompt = src("prompt", a.prompt_html.clone());
                f.rubric = src("rubric", rubric_to_yaml(&a.rubric));
                f.allow_files = a.allow_files.then(|| "1".into());
            }
        }
        f
    }

    /// The activity the form describes, and the texts to keep; or the message of the first
    /// field that is not right.
    fn build(&self, t: &T, media: &[MediaFile]) -> Result<(Item, Vec<CourseSource>), String> {
        let key = self.key.trim().to_string();
        let title = bdtx_domain::text::clean(&self.title);
        let source =
            |field: &str, text: &str| CourseSource { item_key: key.clone(), field: field.into(), source: typed(text) };
        let mut sources = Vec::new();
        let kind = match self.kind.as_str() {
            "lesson" => {
                let body_html =
                    markdown_with_media(&self.body, media).map_err(|e| field_message(t.t("editor.f.body"), &e))?;
                sources.push(source("body", &self.body));
                let video = match self.video_url.trim() {
                    "" => None,
                    url => Some(
                        media_link(url, &self.video_title, &title, true, media)
                            .map_err(|e| field_message(t.t("editor.f.video"), &e))?,
                    ),
                };
                let mut documents = Vec::new();
                for (n, line) in self.documents.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() {
                        continue;
                    }
                    let (title, src) = line.rsplit_once('|').unwrap_or(("", line));
                    let doc = media_link(src, title, "", false, media)
                        .map_err(|e| format!("{}, dòng {}: {}", t.t("editor.f.documents"), n + 1, e.message))?;
                    documents.push(doc);
                }
                ItemKind::Lesson { body_html, video, documents }
            }
            "quiz" => {
                let quiz =
                    quiz_from_yaml_with(&self.quiz, media).map_err(|e| field_message(t.t("editor.f.quiz"), &e))?;
                sources.push(source("quiz", &self.quiz));
                ItemKind::Quiz(quiz)
            }
            "essay" | "final" => {
                let prompt_html =
                    markdown_with_media(&self.prompt, media).map_err(|e| field_message(t.t("editor.f.prompt"), &e))?;
                let rubric = rubric_from_yaml(&self.rubric).map_err(|e| field_message(t.t("editor.f.rubric"), &e))?;
                sources.push(source("prompt", &self.prompt));
                sources.push(source("rubric", &self.rubric));
                let a = Assignment { prompt_html, allow_files: self.allow_files.is_some(), rubric };
                if self.kind == "essay" { ItemKind::Essay(a) } else { ItemKind::Final(a) }
            }
            _ => return Err(t.t("editor.bad_type").to_string()),
        };
        Ok((Item { key, title, required: self.required.is_some(), kind }, sources))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "course_item.html")]
struct ItemPage {
    ctx: Ctx,
    row: CourseRow,
    in_use: bool,
    /// Where the form is sent.
    action: String,
    is_new: bool,
    section: String,
    f: ItemForm,
    /// The stored activity's text as learners see it (sanitized HTML); empty for a new one.
    preview: String,
    media: Vec<(String, String)>,
    error: Option<String>,
}

fn item_view(ctx: Ctx, d: &Draft, key: Option<&str>, section: usize, f: ItemForm, error: Option<String>) -> ItemPage {
    let id = d.row.id;
    let stored = key.and_then(|k| find_item(&d.course, k)).map(|(s, i)| &d.course.sections[s].items[i]);
    let preview = match stored.map(|i| &i.kind) {
        Some(ItemKind::Lesson { body_html, .. }) => body_html.clone(),
        Some(ItemKind::Essay(a) | ItemKind::Final(a)) => a.prompt_html.clone(),
        Some(ItemKind::Quiz(q)) => q.questions.iter().map(|q| q.prompt_html.as_str()).collect(),
        None => String::new(),
    };
    let action = match key {
        Some(k) => format!("/courses/{id}/items/{}", urlencoding::encode(k)),
        None => format!("/courses/{id}/sections/{section}/items"),
    };
    ItemPage {
        ctx,
        row: d.row.clone(),
        in_use: d.in_use,
        action,
        is_new: key.is_none(),
        section: d.course.sections.get(section).map(|s| s.title.clone()).unwrap_or_default(),
        f,
        preview,
        media: media_list(&d.course),
        error,
    }
}

async fn item_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((id, key)): Path<(i64, String)>,
) -> Result<ItemPage, AppError> {
    author(&st, &auth).await?;
    let d = load(&st, id).await?;
    let (s, i) = find_item(&d.course, &key).ok_or(AppError::NotFound)?;
    let f = ItemForm::of(&d.course.sections[s].items[i], &d);
    Ok(item_view(ctx, &d, Some(&key), s, f, None))
}

fn refused(page: ItemPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// Add an activity at the end of a section. From the outline's short form (`stage=head`: key,
/// title, type, required) the whole form is shown, nothing saved; the whole form saves.
async fn item_add(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((id, s)): Path<(i64, usize)>,
    Form(mut f): Form<ItemForm>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    let d = load(&st, id).await?;
    if s >= d.course.sections.len() {
        return Err(AppError::NotFound);
    }
    if d.in_use {
        return Ok(locked(ctx, d));
    }
    if f.stage == "head" {
        f.stage.clear();
        // Check the key, title and type now rather than after the author wrote the content.
        let mut course = d.course.clone();
        let probe = Item {
            key: f.key.trim().to_string(),
            title: bdtx_domain::text::clean(&f.title),
            required: true,
            kind: ItemKind::Lesson { body_html: String::new(), video: None, documents: Vec::new() },
        };
        course.sections[s].items.push(probe);
        let error = if !matches!(f.kind.as_str(), "lesson" | "quiz" | "essay" | "final") {
            Some(ctx.t.t("editor.bad_type").to_string())
        } else if f.kind == "final"
            && d.course.sections.iter().flat_map(|x| &x.items).any(|i| kind_name(&i.kind) == "final")
        {
            Some(ctx.t.t("editor.one_final").to_string())
        } else {
            bdtx_course::validate(&course).err().map(|e| e.to_string())
        };
        let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        return Ok((status, item_view(ctx, &d, None, s, f, error)).into_response());
    }
    let media = course_media(&d.course);
    let (item, sources) = match f.build(&ctx.t, &media) {
        Ok(x) => x,
        Err(message) => return Ok(refused(item_view(ctx, &d, None, s, f, Some(message)))),
    };
    let mut course = d.course.clone();
    course.sections[s].items.push(item);
    match save(&st, &auth, id, &course, &sources).await? {
        Ok(()) => Ok(see(&format!("/courses/{id}?ok=editor.saved"))),
        Err(Refusal::InUse) => Ok(locked(ctx, load(&st, id).await?)),
        Err(Refusal::Invalid(message)) => Ok(refused(item_view(ctx, &d, None, s, f, Some(message)))),
    }
}

/// Save an activity; its type stays, its key may change (the draft has no learners yet).
async fn item_save(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path((id, key)): Path<(i64, String)>,
    Form(mut f): Form<ItemForm>,
) -> Result<Response, AppError> {
    author(&st, &auth).await?;
    let d = load(&st, id).await?;
    let (s, i) = find_item(&d.course, &key).ok_or(AppError::NotFound)?;
    if d.in_use {
        return Ok(locked(ctx, d));
    }
    f.kind = kind_name(&d.course.sections[s].items[i].kind).into();
    let media = course_media(&d.course);
    let (item, sources) = match f.build(&ctx.t, &media) {
        Ok(x) => x,
        Err(message) => return Ok(refused(item_view(ctx, &d, Some(&key), s, f, Some(message)))),
    };
    let new_key = item.key.clone();
    let mut course = d.course.clone();
    course.sections[s].items[i] = item;
    match save(&st, &auth, id, &course, &sources).await? {
        Ok(()) => Ok(see(&format!("/courses/{id}/items/{}?ok=editor.saved", urlencoding::encode(&new_key)))),
        Err(Refusal::InUse) => Ok(locked(ctx, load(&st, id).await?)),
        Err(Refusal::Invalid(message)) => Ok(refused(item_view(ctx, &d, Some(&key), s, f, Some(message)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(key: &str) -> Item {
        Item {
            key: key.into(),
            title: key.into(),
            required: true,
            kind: ItemKind::Lesson { body_html: String::new(), video: None, documents: Vec::new() },
        }
    }

    fn keys(c: &Course) -> Vec<Vec<&str>> {
        c.sections.iter().map(|s| s.items.iter().map(|i| i.key.as_str()).collect()).collect()
    }

    #[test]
    fn moving_crosses_sections_at_their_ends() {
        let mut c = Course {
            module_code: "GV4660-02".into(),
            title: "Thử".into(),
            summary_html: String::new(),
            sections: vec![
                Section { title: "1".into(), items: vec![lesson("a"), lesson("b")] },
                Section { title: "2".into(), items: vec![lesson("c")] },
            ],
        };
        move_item(&mut c, "b", false);
        assert_eq!(keys(&c), [vec!["a"], vec!["b", "c"]]);
        move_item(&mut c, "c", true);
        assert_eq!(keys(&c), [vec!["a"], vec!["c", "b"]]);
        move_item(&mut c, "a", true);
        assert_eq!(keys(&c), [vec!["a"], vec!["c", "b"]], "the first stays first");
        move_item(&mut c, "b", false);
        assert_eq!(keys(&c), [vec!["a"], vec!["c", "b"]], "the last stays last");
        move_item(&mut c, "c", true);
        assert_eq!(keys(&c), [vec!["a", "c"], vec!["b"]]);
    }
}
