//! The learner's hot path and grading as JSON (documented in the OpenAPI of `/api/v1`): the
//! same [`crate::learn`] functions as the pages.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use axum::extract::State;

use bdtx_course::model::{Answer, CriterionScore, ItemKind};
use bdtx_store::lms::Submission;

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiErrorBody;
use crate::error::{AppError, Json, Path};
use crate::learn::{self, AttemptView};
use crate::learn_pages::{kind_name, state_name};

/// A learner's enrollment and the course outline.
#[derive(Serialize, ToSchema)]
pub struct ApiOutline {
    enrollment: bdtx_store::rounds::Enrollment,
    state: &'static str,
    lock_at: i64,
    course_title: String,
    items: Vec<ApiItemRef>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiItemRef {
    key: String,
    title: String,
    kind: &'static str,
    required: bool,
}

/// A learner's enrollment: dates, lock instant, progress and the course's activities.
#[utoipa::path(get, path = "/api/v1/learn/{e}", tag = "learning", params(("e" = i64, Path, description = "enrollment")), security(("bearer" = [])),
    responses((status = 200, body = ApiOutline), (status = 404, body = ApiErrorBody)))]
pub async fn api_outline(
    State(st): State<AppState>,
    auth: Auth,
    Path(e): Path<i64>,
) -> Result<Json<ApiOutline>, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    let items = s
        .course
        .sections
        .iter()
        .flat_map(|x| &x.items)
        .map(|i| ApiItemRef { key: i.key.clone(), title: i.title.clone(), kind: kind_name(i), required: i.required })
        .collect();
    Ok(Json(ApiOutline {
        state: state_name(s.state()),
        lock_at: s.e.window().lock_at(),
        course_title: s.course.title.clone(),
        items,
        enrollment: s.e,
    }))
}

/// One activity: a lesson's text, a quiz attempt (never with the answers), or an assignment
/// with the learner's submissions.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ApiItem {
    Lesson { key: String, title: String, body_html: String },
    Quiz { key: String, title: String, attempt: Option<AttemptView> },
    Assignment { key: String, title: String, prompt_html: String, submissions: Vec<Submission> },
}

/// Open an activity (remembered as the place to resume); a quiz starts its first attempt.
#[utoipa::path(get, path = "/api/v1/learn/{e}/items/{key}", tag = "learning", params(("e" = i64, Path), ("key" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ApiItem), (status = 404, body = ApiErrorBody)))]
pub async fn api_item(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
) -> Result<Json<ApiItem>, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    let item = s.item(&key)?;
    learn::visit(&st, &s, &key).await?;
    Ok(Json(match &item.kind {
        ItemKind::Lesson { body_html, .. } => {
            ApiItem::Lesson { key, title: item.title.clone(), body_html: body_html.clone() }
        }
        ItemKind::Quiz(_) => {
            let attempt = learn::attempt_view(&st, &s, &key, false).await?;
            ApiItem::Quiz { key, title: item.title.clone(), attempt }
        }
        ItemKind::Essay(a) | ItemKind::Final(a) => ApiItem::Assignment {
            title: item.title.clone(),
            prompt_html: a.prompt_html.clone(),
            submissions: st.db.submissions(s.e.id, &key).await?,
            key,
        },
    }))
}

/// Mark a lesson read (idempotent). Refused after the learner's window locks.
#[utoipa::path(post, path = "/api/v1/learn/{e}/items/{key}/progress", tag = "learning", params(("e" = i64, Path), ("key" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = ApiErrorBody)))]
pub async fn api_progress(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
) -> Result<Json<serde_json::Value>, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    let new = learn::complete_lesson(&st, &s, &key).await?;
    Ok(Json(serde_json::json!({"recorded": new})))
}

/// Answer one question of the open attempt: `{"type": "single", "value": 2}`, `multiple` (list),
/// `true_false` (bool) or `matching` (for each left item, the right item's index).
#[utoipa::path(put, path = "/api/v1/learn/{e}/items/{key}/answers/{q}", tag = "learning", params(("e" = i64, Path), ("key" = String, Path), ("q" = String, Path)),
    request_body = Object, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = ApiErrorBody)))]
pub async fn api_answer(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key, q)): Path<(i64, String, String)>,
    Json(a): Json<Answer>,
) -> Result<Json<serde_json::Value>, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    learn::answer(&st, &s, &key, &q, &a).await?;
    Ok(Json(serde_json::json!({"saved": true})))
}

/// Submit the open attempt; submitting again returns the same result.
#[utoipa::path(post, path = "/api/v1/learn/{e}/items/{key}/submit", tag = "learning", params(("e" = i64, Path), ("key" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = AttemptView), (status = 422, body = ApiErrorBody)))]
pub async fn api_quiz_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
) -> Result<Json<AttemptView>, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    Ok(Json(learn::submit_quiz(&st, &s, &key).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct WorkBody {
    body: String,
    nonce: String,
}

/// Submit an essay or final assignment as text; the same nonce returns the same submission.
#[utoipa::path(post, path = "/api/v1/learn/{e}/items/{key}/work", tag = "learning", params(("e" = i64, Path), ("key" = String, Path)),
    request_body = WorkBody, security(("bearer" = [])),
    responses((status = 200, body = Submission), (status = 422, body = ApiErrorBody)))]
pub async fn api_work(
    State(st): State<AppState>,
    auth: Auth,
    Path((e, key)): Path<(i64, String)>,
    Json(w): Json<WorkBody>,
) -> Result<Json<Submission>, AppError> {
    let s = learn::studying(&st, &auth.principal, e).await?;
    Ok(Json(learn::submit_work(&st, &s, &key, &w.body, vec![], &w.nonce).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct GradeBody {
    #[serde(default)]
    returned: bool,
    /// One score per rubric criterion: `{"key": "...", "points": 2.5}`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    scores: Vec<CriterionScore>,
    #[serde(default)]
    comment: String,
}

/// Grade a submission with the rubric, or return it for revision (the class's core people only).
#[utoipa::path(post, path = "/api/v1/grading/{id}", tag = "learning", params(("id" = i64, Path, description = "submission")),
    request_body = GradeBody, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
pub async fn api_grade(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(g): Json<GradeBody>,
) -> Result<Json<serde_json::Value>, AppError> {
    learn::grade(&st, &auth.principal, auth.account.id, id, g.returned, &g.scores, &g.comment).await?;
    let sub = st.db.submission(id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(serde_json::json!({"status": sub.status, "grade": st.db.grade_of(id).await?})))
}
