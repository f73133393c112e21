//! One error type for pages and API. Handlers return `Result<_, AppError>`; the response
//! carries the error in its extensions and the session middleware (one place for the whole
//! app, [`respond`]) turns it into a page in the user's language, or a structured JSON body under `/api/`. Nothing is changed when an error is returned: storage
//! functions validate before they write and write in one transaction.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use bdtx_domain::{FieldError, Invalid};
use bdtx_store::StoreError;

#[derive(Debug, Clone)]
pub enum AppError {
    /// No valid session: pages redirect to the login page, the API answers 401.
    Unauthenticated,
    Forbidden,
    NotFound,
    Invalid(Vec<FieldError>),
    Conflict(&'static str),
    Csrf,
    RateLimited,
    /// A failed API login: bad_credentials, locked or not_activated (with its message key).
    LoginFailed(&'static str, &'static str),
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::LoginFailed(..) => StatusCode::UNAUTHORIZED,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Invalid(_) => "invalid",
            AppError::Conflict(_) => "conflict",
            AppError::Csrf => "csrf",
            AppError::RateLimited => "rate_limited",
            AppError::LoginFailed(code, _) => code,
            AppError::Internal(_) => "internal",
        }
    }
    pub fn invalid(field: &str, code: &'static str) -> Self {
        AppError::Invalid(Invalid::one(field, code).errors)
    }
    /// Key of the message shown to people.
    pub fn message_key(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "login.title",
            AppError::Forbidden => "error.forbidden",
            AppError::NotFound => "error.not_found",
            AppError::Invalid(_) => "error.invalid",
            AppError::Conflict(_) => "error.conflict",
            AppError::Csrf => "error.csrf",
            AppError::RateLimited => "login.rate_limited",
            AppError::LoginFailed(_, key) => key,
            AppError::Internal(_) => "error.internal",
        }
    }
    /// The field errors to list (a conflict is shown as an error on the conflicting field).
    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            AppError::Invalid(e) => e.clone(),
            AppError::Conflict(f) => vec![FieldError { field: f.to_string(), code: "conflict" }],
            _ => vec![],
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(i) => AppError::Invalid(i.errors),
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(f) => AppError::Conflict(f),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::Invalid(e.errors)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(msg) = &self {
            tracing::error!(error = %msg, "internal error");
        }
        let mut res = self.status().into_response();
        res.extensions_mut().insert(self);
        res
    }
}

/// The JSON body of an API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// Stable machine code: unauthenticated, forbidden, not_found, invalid, conflict, csrf, rate_limited, internal.
    pub code: String,
    /// Human message in the requested language.
    pub message: String,
    /// Per-field problems for `invalid` and `conflict`.
    pub fields: Vec<ApiFieldError>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiFieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};

impl From<JsonRejection> for AppError {
    fn from(_: JsonRejection) -> Self {
        AppError::invalid("body", "malformed")
    }
}
impl From<FormRejection> for AppError {
    fn from(_: FormRejection) -> Self {
        AppError::invalid("body", "malformed")
    }
}
impl From<QueryRejection> for AppError {
    fn from(_: QueryRejection) -> Self {
        AppError::invalid("query", "malformed")
    }
}
impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::NotFound
    }
}

/// `Json`, `Form`, `Query` and `Path` whose rejections become [`AppError`]s (structured 4xx).
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct Form<T>(pub T);

#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// Render an error for this request: JSON under `/api/`, a page elsewhere.
pub fn respond(parts: &axum::http::request::Parts, err: &AppError) -> Response {
    if parts.uri.path().starts_with("/api/") {
        crate::api::error_json(&parts.headers, err)
    } else {
        crate::pages::error_page(parts, err)
    }
}
