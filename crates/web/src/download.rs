//! Files sent for download (.xlsx lists, PDFs, ZIPs, credentials): one way to name them, with
//! a plain ASCII file name for old browsers and the Vietnamese one (RFC 6266 `filename*`).

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn attachment(bytes: Vec<u8>, mime: &'static str, name: &str) -> Response {
    let mut res = Body::from(bytes).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    let v = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", urlencoding::encode(name));
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
