//! Roster pages: upload a list (.xlsx/.csv), see the preview (rows to add, to update, that look
//! like someone on record, in error, units held back), download the errors as .xlsx, apply; and
//! download the roster of one's scope. The import itself is `bdtx_roster::import`; this module
//! only decides the scope (through `access`) and renders.

use std::path::PathBuf;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_domain::authz::Action;
use bdtx_roster::columns::Field;
use bdtx_roster::import::{ImportError, Options, Report};
use bdtx_roster::read::Limits;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{AppError, Form, Query};
use crate::pages::Ctx;

/// Largest upload accepted from the web.
pub const MAX_UPLOAD: usize = 50 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roster", get(roster_page))
        .route("/roster/upload", post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD + 64 * 1024)))
        .route("/roster/map", post(map_columns))
        .route("/roster/apply", post(apply))
        .route("/roster/errors", get(errors_file))
        .route("/roster/export", get(export_file))
}

/// Uploads nobody applied within a day are removed (they hold personal data).
fn remove_stale_uploads() {
    let Ok(entries) = std::fs::read_dir(upload_dir()) else { return };
    let day = std::time::Duration::from_secs(24 * 3600);
    for e in entries.flatten() {
        let old =
            e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn upload_dir() -> PathBuf {
    std::env::temp_dir().join("bdtx-uploads")
}

/// Uploaded files are named by a random token and the uploader's account: nobody else can apply them.
fn upload_path(token: &str, account: i64, ext: &str) -> Result<PathBuf, AppError> {
    if token.len() != 32 || !token.chars().all(|c| c.is_ascii_hexdigit()) || !matches!(ext, "csv" | "xlsx") {
        return Err(AppError::NotFound);
    }
    Ok(upload_dir().join(format!("{token}-{account}.{ext}")))
}

fn find_upload(token: &str, account: i64) -> Result<(PathBuf, &'static str), AppError> {
    for ext in ["xlsx", "csv"] {
        let p = upload_path(token, account, ext)?;
        if p.exists() {
            return Ok((p, ext));
        }
    }
    Err(AppError::NotFound)
}

/// A column mapping chosen on the page, as "index:field,index:field", turned into the
/// (heading, field) overrides of the import.
fn overrides(path: &std::path::Path, map: &str) -> Result<Vec<(String, Field)>, AppError> {
    if map.trim().is_empty() {
        return Ok(vec![]);
    }
    let headers = bdtx_roster::read::headers(path, limits()).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut out = Vec::new();
    for pair in map.split(',').filter(|p| !p.is_empty()) {
        let (i, f) = pair.split_once(':').ok_or_else(|| AppError::invalid("map", "invalid"))?;
        let i: usize = i.parse().map_err(|_| AppError::invalid("map", "invalid"))?;
        let f = Field::parse(f).ok_or_else(|| AppError::invalid("map", "invalid"))?;
        let h = headers.get(i).ok_or_else(|| AppError::invalid("map", "invalid"))?;
        out.push((h.clone(), f));
    }
    Ok(out)
}

fn limits() -> Limits {
    Limits { max_bytes: MAX_UPLOAD as u64, ..Limits::default() }
}

fn options(
    within: Option<i64>,
    actor: i64,
    dry_run: bool,
    accept_similar: bool,
    overrides: Vec<(String, Field)>,
) -> Options {
    Options {
        create_units: false,
        accept_similar,
        dry_run,
        actor: Some(actor),
        within,
        overrides,
        limits: limits(),
        from: bdtx_domain::dates::today(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "roster.html")]
struct RosterPage {
    ctx: Ctx,
    scope_name: String,
    scope_id: Option<i64>,
    error: Option<String>,
}

async fn roster_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<RosterPage, AppError> {
    let within = crate::access::scope(&st, &auth.principal, None, Action::ViewPerson).await?;
    let scope_name = match within {
        Some(u) => st.db.unit(u).await?.map(|u| u.name).unwrap_or_default(),
        None => "Toàn quốc".into(),
    };
    Ok(RosterPage { ctx, scope_name, scope_id: within, error: None })
}

#[derive(Template, WebTemplate)]
#[template(path = "roster_preview.html")]
struct PreviewPage {
    ctx: Ctx,
    token: String,
    file_name: String,
    report: Report,
    applied: bool,
    map: String,
}

impl PreviewPage {
    fn message(&self, code: &str) -> &'static str {
        bdtx_roster::row::message(code)
    }
    fn heading(&self, f: &Option<bdtx_roster::columns::Field>) -> &'static str {
        f.map(|f| f.heading()).unwrap_or("")
    }
}

async fn upload(State(st): State<AppState>, ctx: Ctx, auth: Auth, mut form: Multipart) -> Result<Response, AppError> {
    let within = crate::access::scope(&st, &auth.principal, None, Action::AddPerson).await?;
    let mut saved: Option<(String, String)> = None;
    while let Some(field) = form.next_field().await.map_err(|_| AppError::invalid("file", "malformed"))? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("danh-sach").to_string();
        let bytes = field.bytes().await.map_err(|_| AppError::invalid("file", "too_long"))?;
        if bytes.is_empty() {
            return Err(AppError::invalid("file", "required"));
        }
        // The format is decided from the content by the reader; the extension only names the copy.
        let ext = if bytes.starts_with(b"PK\x03\x04") { "xlsx" } else { "csv" };
        let token = bdtx_store::accounts::random_token(16);
        std::fs::create_dir_all(upload_dir()).map_err(|e| AppError::Internal(e.to_string()))?;
        remove_stale_uploads();
        let path = upload_path(&token, auth.account.id, ext)?;
        tokio::fs::write(&path, &bytes).await.map_err(|e| AppError::Internal(e.to_string()))?;
        saved = Some((token, name));
    }
    let (token, file_name) = saved.ok_or_else(|| AppError::invalid("file", "required"))?;
    preview(&st, ctx, &auth, within, token, file_name, String::new()).await
}

/// The dry run shown before applying; a file whose headings are not recognised gets the
/// column-mapping page instead, any other unreadable file a clear message (and is removed).
async fn preview(
    st: &AppState,
    ctx: Ctx,
    auth: &Auth,
    within: Option<i64>,
    token: String,
    file_name: String,
    map: String,
) -> Result<Response, AppError> {
    let (path, _) = find_upload(&token, auth.account.id)?;
    let opts = options(within, auth.account.id, true, false, overrides(&path, &map)?);
    match bdtx_roster::import::import(&st.db, &path, &opts, &mut |_, _, _| {}).await {
        Ok(report) => Ok(PreviewPage { ctx, token, file_name, report, applied: false, map }.into_response()),
        Err(ImportError::Store(e)) => Err(e.into()),
        Err(ImportError::Mapping(e)) => {
            let headers = bdtx_roster::read::headers(&path, limits()).map_err(|e| AppError::Internal(e.to_string()))?;
            let fields = Field::ALL.iter().map(|f| (f.key(), f.heading())).collect();
            // each column offered as what its heading already names, if anything
            let headers = headers
                .into_iter()
                .map(|h| {
                    let known = bdtx_roster::columns::known(&h).map(|f| f.key()).unwrap_or("");
                    (h, known)
                })
                .collect();
            let page = MapPage { ctx, token, file_name, headers, fields, error: e.to_string() };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            roster_error(st, ctx, within, e.to_string(), axum::http::StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The roster page with a message instead of a preview (a file that cannot be imported, an
/// import stopped partway).
async fn roster_error(
    st: &AppState,
    ctx: Ctx,
    within: Option<i64>,
    error: String,
    status: axum::http::StatusCode,
) -> Result<Response, AppError> {
    let scope_name = match within {
        Some(u) => st.db.unit(u).await?.map(|u| u.name).unwrap_or_default(),
        None => "Toàn quốc".into(),
    };
    Ok((status, RosterPage { ctx, scope_name, scope_id: within, error: Some(error) }).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "roster_map.html")]
struct MapPage {
    ctx: Ctx,
    token: String,
    file_name: String,
    /// The file's headings, each with the field it names by itself ("" for none).
    headers: Vec<(String, &'static str)>,
    fields: Vec<(&'static str, &'static str)>,
    error: String,
}

#[derive(Deserialize)]
struct MapForm {
    token: String,
    file_name: Option<String>,
    #[serde(flatten)]
    columns: std::collections::BTreeMap<String, String>,
}

async fn map_columns(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Form(f): Form<MapForm>,
) -> Result<Response, AppError> {
    let within = crate::access::scope(&st, &auth.principal, None, Action::AddPerson).await?;
    let mut pairs = Vec::new();
    for (k, v) in &f.columns {
        if let (Some(i), false) = (k.strip_prefix("col_").and_then(|i| i.parse::<usize>().ok()), v.is_empty()) {
            Field::parse(v).ok_or_else(|| AppError::invalid("map", "invalid"))?;
            pairs.push(format!("{i}:{v}"));
        }
    }
    preview(&st, ctx, &auth, within, f.token, f.file_name.unwrap_or_default(), pairs.join(",")).await
}

#[derive(Deserialize)]
struct ApplyForm {
    token: String,
    file_name: Option<String>,
    accept_similar: Option<String>,
    map: Option<String>,
}

async fn apply(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Form(f): Form<ApplyForm>,
) -> Result<Response, AppError> {
    let within = crate::access::scope(&st, &auth.principal, None, Action::AddPerson).await?;
    let (path, _) = find_upload(&f.token, auth.account.id)?;
    let accept = f.accept_similar.is_some();
    let map = f.map.unwrap_or_default();
    let opts = options(within, auth.account.id, false, accept, overrides(&path, &map)?);
    let report = match bdtx_roster::import::import(&st.db, &path, &opts, &mut |_, _, _| {}).await {
        Ok(report) => report,
        Err(ImportError::Store(e)) => return Err(AppError::from(e)),
        Err(e @ ImportError::Interrupted { .. }) => {
            // what was written stays (whole schools): say so, and that the same file finishes it
            let status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            return roster_error(&st, ctx, within, e.to_string(), status).await;
        }
        Err(other) => return Err(AppError::Internal(other.to_string())),
    };
    let file_name = f.file_name.unwrap_or_default();
    Ok(PreviewPage { ctx, token: f.token, file_name, report, applied: true, map }.into_response())
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
    map: Option<String>,
}

fn attachment(name: &str, content_type: &'static str, body: Body) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Stream a finished temporary file and remove it.
async fn send_file(path: PathBuf, name: &str, content_type: &'static str) -> Result<Response, AppError> {
    let file = tokio::fs::File::open(&path).await.map_err(|e| AppError::Internal(e.to_string()))?;
    // Unlinking an open file keeps its data readable until the stream ends.
    let _ = std::fs::remove_file(&path);
    Ok(attachment(name, content_type, Body::from_stream(tokio_util::io::ReaderStream::new(file))))
}

async fn errors_file(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let within = crate::access::scope(&st, &auth.principal, None, Action::AddPerson).await?;
    let (path, _) = find_upload(&q.token, auth.account.id)?;
    let opts = options(within, auth.account.id, true, false, overrides(&path, q.map.as_deref().unwrap_or(""))?);
    let report = bdtx_roster::import::import(&st.db, &path, &opts, &mut |_, _, _| {})
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let out = upload_dir().join(format!("{}-loi.xlsx", bdtx_store::accounts::random_token(8)));
    bdtx_roster::import::write_errors_xlsx(&path, &report, opts.limits, &out)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    send_file(out, "danh-sach-loi.xlsx", XLSX).await
}

#[derive(Deserialize)]
struct ExportQuery {
    unit: Option<i64>,
    format: Option<String>,
}

async fn export_file(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let within = crate::access::scope(&st, &auth.principal, q.unit, Action::ViewPerson).await?;
    let csv = q.format.as_deref() == Some("csv");
    std::fs::create_dir_all(upload_dir()).map_err(|e| AppError::Internal(e.to_string()))?;
    let out =
        upload_dir().join(format!("{}.{}", bdtx_store::accounts::random_token(8), if csv { "csv" } else { "xlsx" }));
    bdtx_roster::export::export(&st.db, within, &out).await.map_err(|e| AppError::Internal(e.to_string()))?;
    let (name, ct) = if csv { ("danh-sach.csv", "text/csv; charset=utf-8") } else { ("danh-sach.xlsx", XLSX) };
    send_file(out, name, ct).await
}
