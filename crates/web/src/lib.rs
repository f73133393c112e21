//! BDTX web: server-rendered pages (Vietnamese first) and the JSON API under `/api/v1/`, side by
//! side over the same service functions. Handlers never build SQL and never decide access on
//! their own: they call [`service`], which asks [`access`].

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use bdtx_store::Db;

pub mod access;
pub mod api;
pub mod auth;
pub mod certificates_pages;
pub mod completion_pages;
pub mod course_editor;
pub mod download;
pub mod error;
pub mod i18n;
pub mod learn;
pub mod learn_api;
pub mod learn_pages;
pub mod oversight_pages;
pub mod pages;
pub mod plans_pages;
pub mod requests;
pub mod roster;
pub mod rounds_pages;
pub mod service;
pub mod sessions_pages;
pub mod worker;
pub mod yearly_api;
pub mod yearly_pages;

#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` (on unless serving plain HTTP on a loopback address).
    pub secure_cookies: bool,
    /// Login attempts per minute from one address.
    pub login_per_minute: u32,
    /// Where course media and uploads are kept (content-addressed, outside the database).
    pub files_dir: std::path::PathBuf,
    /// The address people reach BDTX at (in certificates' QR codes and verification links).
    pub public_url: String,
    /// Where e-mail goes (`smtp://host:port`, see [`worker::Mailer`]); `None` keeps it queued.
    pub smtp_url: Option<String>,
    /// The sender of BDTX's e-mail.
    pub mail_from: String,
    /// Lists longer than this are exported to .xlsx by a background job.
    pub xlsx_inline_rows: i64,
}

impl Config {
    pub fn for_listen(addr: &SocketAddr) -> Config {
        Config {
            secure_cookies: !addr.ip().is_loopback(),
            login_per_minute: 20,
            files_dir: "data/files".into(),
            public_url: format!("http://{addr}"),
            smtp_url: None,
            mail_from: "BDTX <no-reply@bdtx.local>".into(),
            xlsx_inline_rows: 20_000,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub cfg: Arc<Config>,
    pub login_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pub metrics: PrometheusHandle,
    pub files: Arc<bdtx_course::FileStore>,
    pub lms: Arc<learn::LmsCache>,
    pub auth_cache: Arc<auth::AuthCache>,
    pub mailer: Arc<worker::Mailer>,
}

fn metrics_handle() -> PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Several apps may live in one test process; only the first installs the global recorder.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
    .clone()
}

impl AppState {
    pub fn new(db: Db, cfg: Config) -> AppState {
        let per_minute = NonZeroU32::new(cfg.login_per_minute.max(1)).expect("non-zero");
        AppState {
            db,
            files: Arc::new(bdtx_course::FileStore::new(cfg.files_dir.clone())),
            lms: Arc::new(learn::LmsCache::default()),
            auth_cache: Arc::new(auth::AuthCache::default()),
            mailer: Arc::new(worker::Mailer::new(cfg.smtp_url.as_deref(), &cfg.mail_from).unwrap_or_else(|e| {
                tracing::error!(error = %e, "e-mail disabled");
                worker::Mailer::new(None, "BDTX <no-reply@bdtx.local>").expect("default sender")
            })),
            login_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            cfg: Arc::new(cfg),
            metrics: metrics_handle(),
        }
    }
}

static CSS: &str = include_str!("../static/app.css");

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=86400")], CSS)
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.db.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok", "database": st.db.backend()})))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "unavailable"}))).into_response()
        }
    }
}

async fn metrics_endpoint(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render())
}

/// Count and time every request by route template (never by raw path, which holds ids).
async fn track(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("bdtx_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("bdtx_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// The whole application.
pub fn app(st: AppState) -> Router {
    let (api_router, openapi) = api::router(st.clone());
    Router::new()
        .merge(pages::router(st.clone()))
        .merge(roster::router())
        .merge(requests::router())
        .merge(learn_pages::router())
        .merge(rounds_pages::router())
        .merge(completion_pages::router())
        .merge(plans_pages::router())
        .merge(yearly_pages::router())
        .merge(sessions_pages::router())
        .merge(certificates_pages::router())
        .merge(course_editor::router())
        .merge(oversight_pages::router())
        .merge(api_router)
        .merge(api::docs(openapi))
        .route("/static/app.css", get(css))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_endpoint))
        .layer(middleware::from_fn_with_state(st.clone(), auth::session_layer))
        .layer(middleware::from_fn(track))
        // Hard cap; extractors keep axum's 2 MB default, the roster upload allows 50 MB.
        .layer(RequestBodyLimitLayer::new(roster::MAX_UPLOAD + 1024 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .with_state(st)
}

/// Serve until the process is stopped (Ctrl-C / SIGTERM finish in-flight requests).
pub async fn serve(listener: tokio::net::TcpListener, st: AppState) -> std::io::Result<()> {
    axum::serve(listener, app(st).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
