//! Sessions, CSRF and the login rate limit.
//!
//! - A session is a random token: in the `bdtx_session` cookie (HttpOnly, SameSite=Lax, Secure
//!   unless serving plain HTTP on loopback) for the web UI, or `Authorization: Bearer` for API
//!   clients. Only its SHA-256 is stored.
//! - CSRF: every state-changing request that relies on a cookie must carry the token bound to
//!   the session (form field `_csrf` or header `X-CSRF-Token`). Before login, the token is a
//!   random `bdtx_csrf` cookie echoed by the form (double submit). Bearer requests carry no
//!   ambient credentials and need no token; JSON requests without any cookie neither (browsers
//!   cannot send them cross-site without a CORS preflight, which BDTX never grants).

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;

use bdtx_domain::authz::Principal;
use bdtx_store::accounts::Account;

use crate::AppState;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "bdtx_session";
pub const CSRF_COOKIE: &str = "bdtx_csrf";
pub const LANG_COOKIE: &str = "bdtx_lang";

/// The signed-in caller, placed in request extensions by [`session_layer`].
#[derive(Clone, Debug)]
pub struct Auth {
    pub principal: Principal,
    pub account: Account,
    pub csrf: String,
    pub token: String,
    pub bearer: bool,
}

/// The CSRF token forms must echo when there is no session yet.
#[derive(Clone, Debug)]
pub struct AnonCsrf(pub String);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _st: &AppState) -> Result<Self, AppError> {
        parts.extensions.get::<Auth>().cloned().ok_or(AppError::Unauthenticated)
    }
}

impl OptionalFromRequestParts<AppState> for Auth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _st: &AppState) -> Result<Option<Self>, AppError> {
        Ok(parts.extensions.get::<Auth>().cloned())
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// How long a loaded session is trusted without asking the database again. A logout forgets
/// it at once; role, merge and coverage changes forget every cached session (`invalidate_all`);
/// the session's own expiry is checked on every use. A learner comes back every few minutes,
/// so a short delay would miss every time.
pub const AUTH_TTL: std::time::Duration = std::time::Duration::from_secs(300);
const AUTH_CACHE_MAX: usize = 200_000;

/// Sessions loaded recently, so that the learner's hot path does not read the session, the
/// account and its grants from the database on every request.
#[derive(Default)]
pub struct AuthCache {
    map: std::sync::RwLock<std::collections::HashMap<String, (Auth, std::time::Instant, u64, i64)>>,
    epoch: std::sync::atomic::AtomicU64,
}

impl AuthCache {
    fn get(&self, token: &str, bearer: bool) -> Option<Auth> {
        let epoch = self.epoch.load(std::sync::atomic::Ordering::Acquire);
        let map = self.map.read().expect("auth cache");
        let (auth, at, e, expires_at) = map.get(token)?;
        let fresh = *e == epoch && at.elapsed() < AUTH_TTL && bdtx_domain::dates::now_unix() < *expires_at;
        fresh.then(|| Auth { bearer, ..auth.clone() })
    }
    fn put(&self, token: &str, auth: &Auth, expires_at: i64) {
        let epoch = self.epoch.load(std::sync::atomic::Ordering::Acquire);
        let mut map = self.map.write().expect("auth cache");
        if map.len() >= AUTH_CACHE_MAX {
            map.retain(|_, (_, at, e, _)| *e == epoch && at.elapsed() < AUTH_TTL);
            if map.len() >= AUTH_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(token.to_string(), (auth.clone(), std::time::Instant::now(), epoch, expires_at));
    }
    /// Forget one session (logout).
    pub fn forget(&self, token: &str) {
        self.map.write().expect("auth cache").remove(token);
    }
    /// Forget every cached session (someone's roles or account changed).
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

async fn load(st: &AppState, token: &str, bearer: bool) -> Result<Option<Auth>, AppError> {
    if let Some(a) = st.auth_cache.get(token, bearer) {
        return Ok(Some(a));
    }
    let Some(s) = st.db.session(token).await? else {
        return Ok(None);
    };
    let Some(account) = st.db.account(s.account_id).await? else {
        return Ok(None);
    };
    let Some(principal) = st.db.principal_of(&account).await? else {
        return Ok(None);
    };
    let auth = Auth { principal, account, csrf: s.csrf, token: token.to_string(), bearer };
    st.auth_cache.put(token, &auth, s.expires_at);
    Ok(Some(auth))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const FORM_LIMIT: usize = 256 * 1024;

/// Load the session, enforce CSRF on state-changing requests, and hand out the pre-login CSRF
/// cookie. Applied to every route.
pub async fn session_layer(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let jar = CookieJar::from_headers(&parts.headers);
    let bearer_token = bearer(&parts.headers);
    let cookie_token = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    let auth = match (&bearer_token, &cookie_token) {
        (Some(t), _) => load(&st, t, true).await,
        (None, Some(t)) => load(&st, t, false).await,
        (None, None) => Ok(None),
    };
    let auth = match auth {
        Ok(a) => a,
        Err(e) => return crate::error::respond(&parts, &e),
    };
    if bearer_token.is_some() && auth.is_none() {
        return crate::error::respond(&parts, &AppError::Unauthenticated);
    }
    let anon_cookie = jar.get(CSRF_COOKIE).map(|c| c.value().to_string());
    let new_anon =
        if auth.is_none() && anon_cookie.is_none() { Some(bdtx_store::accounts::random_token(16)) } else { None };

    let mut body = body;
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && bearer_token.is_none() {
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let expected = match &auth {
            Some(a) => Some(a.csrf.clone()),
            None => anon_cookie.clone(),
        };
        let exempt = auth.is_none() && cookie_token.is_none() && is_json;
        if !exempt {
            let mut provided = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(String::from);
            if provided.is_none() {
                let is_form = parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
                if is_form {
                    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
                        Ok(b) => b,
                        Err(_) => {
                            return crate::error::respond(&parts, &AppError::invalid("body", "too_long"));
                        }
                    };
                    provided = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                        .ok()
                        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v));
                    body = Body::from(bytes);
                } else if parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("multipart/form-data"))
                {
                    // File uploads carry the token in the form's action URL.
                    provided = parts.uri.query().and_then(|q| {
                        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                            .ok()?
                            .into_iter()
                            .find(|(k, _)| k == "_csrf")
                            .map(|(_, v)| v)
                    });
                } else {
                    body = Body::empty();
                }
            }
            let ok = matches!((&expected, &provided), (Some(e), Some(p)) if constant_time_eq(e, p));
            if !ok {
                return crate::error::respond(&parts, &AppError::Csrf);
            }
        }
    }
    if let Some(a) = auth {
        parts.extensions.insert(a);
    }
    if let Some(t) = new_anon.clone().or(anon_cookie) {
        parts.extensions.insert(AnonCsrf(t));
    }
    let kept = parts.clone();
    let mut res = next.run(Request::from_parts(parts, body)).await;
    // Errors of the handlers are rendered here, where the request still knows who is signed in.
    if let Some(err) = res.extensions().get::<AppError>().cloned() {
        let cookies: Vec<_> = res.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
        res = crate::error::respond(&kept, &err);
        for c in cookies {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    if let Some(t) = new_anon {
        let cookie = format!(
            "{CSRF_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax{}",
            if st.cfg.secure_cookies { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

pub fn session_cookie(st: &AppState, token: &str) -> HeaderValue {
    let secure = if st.cfg.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        bdtx_store::accounts::SESSION_SECONDS
    ))
    .expect("cookie")
}

pub fn clear_session_cookie(st: &AppState) -> HeaderValue {
    let secure = if st.cfg.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .expect("cookie")
}

/// The client address for rate limiting (the socket peer; BDTX does not trust proxy headers).
pub fn client_ip(parts_ext: &axum::http::Extensions) -> IpAddr {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// Per-address login rate limit (on top of the per-account lockout in the store).
pub fn check_login_rate(st: &AppState, ip: IpAddr) -> Result<(), AppError> {
    st.login_limiter.check_key(&ip).map_err(|_| AppError::RateLimited)
}

/// Outcome of a login attempt, shared by the page and the API.
pub async fn login(st: &AppState, ip: IpAddr, username: &str, password: &str) -> Result<(String, String), LoginError> {
    check_login_rate(st, ip).map_err(|_| LoginError::RateLimited)?;
    if username.len() > 64 || password.len() > 256 {
        return Err(LoginError::Bad);
    }
    use bdtx_store::accounts::LoginOutcome;
    match st.db.login(username, password).await.map_err(|e| LoginError::Internal(e.to_string()))? {
        LoginOutcome::Ok(account_id) => {
            st.db.create_session(account_id).await.map_err(|e| LoginError::Internal(e.to_string()))
        }
        LoginOutcome::BadCredentials => Err(LoginError::Bad),
        LoginOutcome::Locked { .. } => Err(LoginError::Locked),
        LoginOutcome::NotActivated => Err(LoginError::NotActivated),
    }
}

#[derive(Debug)]
pub enum LoginError {
    Bad,
    Locked,
    NotActivated,
    RateLimited,
    Internal(String),
}

impl LoginError {
    pub fn key(&self) -> &'static str {
        match self {
            LoginError::Bad => "login.bad",
            LoginError::Locked => "login.locked",
            LoginError::NotActivated => "login.not_activated",
            LoginError::RateLimited => "login.rate_limited",
            LoginError::Internal(_) => "error.internal",
        }
    }
    pub fn code(&self) -> &'static str {
        match self {
            LoginError::Bad => "bad_credentials",
            LoginError::Locked => "locked",
            LoginError::NotActivated => "not_activated",
            LoginError::RateLimited => "rate_limited",
            LoginError::Internal(_) => "internal",
        }
    }
}

/// The language of a page: the `bdtx_lang` cookie, else Vietnamese (whatever the phone's locale).
pub fn lang_of(headers: &HeaderMap) -> crate::i18n::Lang {
    let jar = CookieJar::from_headers(headers);
    crate::i18n::Lang::from_cookie(jar.get(LANG_COOKIE).map(|c| c.value()))
}

/// The language of an API message: the cookie, else `Accept-Language: en…`, else Vietnamese.
pub fn api_lang_of(headers: &HeaderMap) -> crate::i18n::Lang {
    let jar = CookieJar::from_headers(headers);
    if let Some(c) = jar.get(LANG_COOKIE) {
        return crate::i18n::Lang::from_cookie(Some(c.value()));
    }
    let al = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if al.trim_start().starts_with("en") { crate::i18n::Lang::En } else { crate::i18n::Lang::Vi }
}
