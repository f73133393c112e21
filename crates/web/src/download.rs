//! Files sent for download (.xlsx lists, PDFs, ZIPs, credentials, uploads kept in the file store):
//! one way to name them, with a plain ASCII file name for old browsers and the Vietnamese one
//! (RFC 6266 `filename*`), and one way to keep an uploaded file's name.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn ascii_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

pub fn attachment(bytes: Vec<u8>, mime: &'static str, name: &str) -> Response {
    attachment_body(Body::from(bytes), mime, name)
}

/// [`attachment`] for a body of any kind (e.g. a stream).
pub fn attachment_body(body: Body, mime: &'static str, name: &str) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let v = format!("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii_name(name), urlencoding::encode(name));
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The name an upload is kept under: cleaned, without path or quote characters, at most 120
/// characters; `fallback` when nothing is left.
pub fn upload_name(raw: &str, fallback: impl FnOnce() -> String) -> String {
    let name: String =
        bdtx_domain::text::clean(raw).chars().filter(|c| !matches!(c, '/' | '\\' | '"')).take(120).collect();
    if name.is_empty() { fallback() } else { name }
}

/// An upload kept in the file store (a signed scan, minutes, evidence), shown inline to those
/// allowed to see it: private, never cached by others, not able to run scripts.
pub async fn stored_upload(
    files: &bdtx_course::FileStore,
    sha256: &str,
    mime: Option<&str>,
    name: &str,
) -> Result<Response, AppError> {
    let path = files.path(sha256).ok_or(AppError::NotFound)?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| AppError::NotFound)?;
    let mut res = Body::from(bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime.unwrap_or("application/octet-stream"))
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}\"", ascii_name(name))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; img-src 'self'"));
    Ok(res)
}
