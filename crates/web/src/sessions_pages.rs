//! Professional-activity sessions (sinh hoạt chuyên môn) and 7-2-7 in-person days: a round's
//! sessions and the form to schedule one at a school or cluster (default dates prefilled), a
//! session's page (attendance ticked on a list, minutes), the facilitator's rotating QR code,
//! the learner's check-in from a phone, and "my sessions". Every permission comes from `decide`
//! (`ManageSessions`, `ViewSession`, `TakeAttendance`, `CheckIn`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_course::files::{PLAN_SCAN_POLICY, UploadError, check_upload};
use bdtx_domain::activity::{QR_ROTATE_SECS, SessionKind, checkin_open, default_dates, qr_expiry, qr_sign, qr_verify};
use bdtx_domain::authz::{Action, Relation, Target};
use bdtx_domain::dates::{iso, now_unix, show, today};
use bdtx_domain::org::{UnitKind, parse_levels};
use bdtx_domain::round::Delivery;
use bdtx_store::rounds::{EnrollmentRow, Round};
use bdtx_store::sessions::{ActivitySession, CheckIn, LearnerSession, NewSession, QR_SECRET};

use crate::AppState;
use crate::access::{require, unit_target};
use crate::auth::Auth;
use crate::error::{AppError, Path, Query};
use crate::pages::Ctx;

/// The largest request a minutes upload may be (the file itself: 10 MB, like plans' scans).
const MAX_MINUTES_REQUEST: usize = 10 * 1024 * 1024 + 256 * 1024;
/// At most this many schools and clusters are offered in the unit picker.
const MAX_UNIT_CHOICES: usize = 400;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(my_sessions))
        .route("/rounds/{id}/sessions", get(round_sessions).post(create_submit))
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/attendance", post(attendance_submit))
        .route("/sessions/{id}/qr", get(qr_page))
        .route("/sessions/{id}/checkin", get(checkin_page).post(checkin_submit))
        .route(
            "/sessions/{id}/minutes",
            get(minutes_file).post(minutes_submit).layer(DefaultBodyLimit::max(MAX_MINUTES_REQUEST)),
        )
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_bytes(body).map_err(|_| AppError::invalid("body", "malformed"))
}

fn field<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("")
}

// ---------------------------------------------------------------- access

/// The target of a session: its unit's chain, with the caller as its facilitator or not.
async fn session_target(
    st: &AppState,
    auth: &Auth,
    id: i64,
) -> Result<(ActivitySession, Vec<i64>, Relation), AppError> {
    let s = st.db.activity_session(id).await?.ok_or(AppError::NotFound)?;
    let (_, t) = unit_target(st, s.unit_id).await?;
    let rel = if auth.principal.person_id == Some(s.facilitator_person_id) { Relation::Staff } else { Relation::None };
    Ok((s, t.units, rel))
}

/// Open a session the caller may see; also says whether they may take its attendance.
async fn session_access(st: &AppState, auth: &Auth, id: i64) -> Result<(ActivitySession, bool), AppError> {
    let (s, chain, rel) = session_target(st, auth, id).await?;
    let t = Target::class(chain, rel);
    require(&auth.principal, Action::ViewSession, &t)?;
    Ok((s, auth.principal.can(Action::TakeAttendance, &t)))
}

// ---------------------------------------------------------------- a round's sessions

#[derive(Deserialize)]
struct RoundSessionsQuery {
    unit: Option<i64>,
}

/// A school or cluster the caller may schedule for.
pub struct UnitChoice {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

/// The form for the chosen unit, prefilled.
pub struct ScheduleForm {
    pub unit_id: i64,
    pub unit_name: String,
    pub kind: &'static str,
    pub blended: bool,
    pub starts_on: String,
    pub ends_on: String,
    pub facilitators: Vec<(i64, String)>,
}

pub struct SessionRow {
    pub s: ActivitySession,
    pub present: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "sessions.html")]
struct RoundSessionsPage {
    ctx: Ctx,
    round: Round,
    rows: Vec<SessionRow>,
    units: Vec<UnitChoice>,
    form: Option<ScheduleForm>,
    chosen: Option<i64>,
}

/// The subtree of the round the caller sees sessions of: `None` = all of it.
async fn sessions_scope(st: &AppState, auth: &Auth, round: &Round, unit: Option<i64>) -> Result<Option<i64>, AppError> {
    let p = &auth.principal;
    if let Some(u) = unit {
        let (_, t) = unit_target(st, u).await?;
        require(p, Action::ViewSession, &Target::class(t.units, Relation::None))?;
        return Ok(Some(u));
    }
    let (_, owner) = unit_target(st, round.owner_unit_id).await?;
    if p.can(Action::ViewSession, &Target::class(owner.units, Relation::None)) {
        return Ok(None);
    }
    for r in p.browse_roots() {
        let (_, t) = unit_target(st, r).await?;
        if p.can(Action::ViewSession, &Target::class(t.units, Relation::None)) {
            return Ok(Some(r));
        }
    }
    Err(AppError::Forbidden)
}

impl RoundSessionsPage {
    fn is_chosen(&self, id: &i64) -> bool {
        self.chosen == Some(*id)
    }
}

async fn round_sessions(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<RoundSessionsQuery>,
) -> Result<RoundSessionsPage, AppError> {
    let round = st.db.round(id).await?.ok_or(AppError::NotFound)?;
    let within = match sessions_scope(&st, &auth, &round, q.unit).await {
        Ok(w) => w,
        // A facilitator without an admin role sees the sessions of the round they facilitate.
        Err(AppError::Forbidden) if q.unit.is_none() => {
            let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
            let mut rows = Vec::new();
            for s in st.db.sessions_facilitated(person).await?.into_iter().filter(|s| s.round_id == id) {
                let present = st.db.attendance_count(s.id).await?;
                rows.push(SessionRow { s, present });
            }
            if rows.is_empty() {
                return Err(AppError::Forbidden);
            }
            return Ok(RoundSessionsPage { ctx, round, rows, units: vec![], form: None, chosen: None });
        }
        Err(e) => return Err(e),
    };
    let mut rows = Vec::new();
    for s in st.db.sessions_of_round(id, within).await? {
        let present = st.db.attendance_count(s.id).await?;
        rows.push(SessionRow { s, present });
    }
    // Schools and clusters under the scope where the caller may schedule.
    let p = &auth.principal;
    let root = match within {
        Some(u) => Some(u),
        None => Some(round.owner_unit_id),
    };
    let mut units = Vec::new();
    if let Some(root) = root {
        let (ru, rt) = unit_target(&st, root).await?;
        if matches!(UnitKind::parse(&ru.kind), Some(UnitKind::School | UnitKind::Cluster))
            && p.can(Action::ManageSessions, &rt)
        {
            units.push(UnitChoice { id: ru.id, name: ru.name.clone(), kind: ru.kind.clone() });
        }
        for n in st.db.subtree(root, today(), 6).await? {
            if units.len() >= MAX_UNIT_CHOICES {
                break;
            }
            if matches!(UnitKind::parse(&n.kind), Some(UnitKind::School | UnitKind::Cluster)) {
                units.push(UnitChoice { id: n.id, name: n.name, kind: n.kind });
            }
        }
        if !units.is_empty() && !p.can(Action::ManageSessions, &rt) {
            // Admin below the root (e.g. a school under a commune the caller only views).
            let mut keep = Vec::new();
            for u in units {
                let (_, t) = unit_target(&st, u.id).await?;
                if p.can(Action::ManageSessions, &t) {
                    keep.push(u);
                }
            }
            units = keep;
        }
    }
    let mut form = None;
    if let Some(u) = q.unit {
        let (unit, t) = unit_target(&st, u).await?;
        if matches!(UnitKind::parse(&unit.kind), Some(UnitKind::School | UnitKind::Cluster))
            && p.can(Action::ManageSessions, &t)
        {
            let windows: Vec<_> = st.db.windows(id).await?.iter().filter_map(|w| w.window()).collect();
            let levels = parse_levels(&unit.levels).unwrap_or_default();
            let delivery = Delivery::parse(&round.delivery).unwrap_or(Delivery::SelfStudy);
            let in_person = round
                .in_person_from
                .as_deref()
                .and_then(bdtx_domain::dates::parse_date)
                .zip(round.in_person_to.as_deref().and_then(bdtx_domain::dates::parse_date));
            let (a, b) = default_dates(delivery, &windows, &levels, in_person)
                .map(|(a, b)| (show(&iso(a)), show(&iso(b))))
                .unwrap_or_default();
            form = Some(ScheduleForm {
                unit_id: unit.id,
                unit_name: unit.name,
                kind: SessionKind::default_for(delivery).as_str(),
                blended: delivery == Delivery::Blended727,
                starts_on: a,
                ends_on: b,
                facilitators: st.db.facilitator_choices(id, u).await?,
            });
        }
    }
    Ok(RoundSessionsPage { ctx, round, rows, units, form, chosen: q.unit })
}

async fn create_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    st.db.round(id).await?.ok_or(AppError::NotFound)?;
    let pairs = form_pairs(&body)?;
    let unit: i64 = field(&pairs, "unit").parse().map_err(|_| AppError::invalid("session_unit", "required"))?;
    let (_, t) = unit_target(&st, unit).await?;
    require(&auth.principal, Action::ManageSessions, &t)?;
    let facilitator = field(&pairs, "facilitator").trim();
    let n = NewSession {
        round_id: id,
        unit_id: unit,
        kind: field(&pairs, "kind").into(),
        topic: field(&pairs, "topic").into(),
        facilitator_person_id: if facilitator.is_empty() {
            None
        } else {
            Some(facilitator.parse().map_err(|_| AppError::invalid("session_facilitator", "invalid"))?)
        },
        place: field(&pairs, "place").into(),
        starts_on: field(&pairs, "starts_on").into(),
        ends_on: field(&pairs, "ends_on").into(),
    };
    let sid = st.db.create_activity_session(Some(auth.account.id), &n).await?;
    let s = st.db.activity_session(sid).await?.ok_or(AppError::NotFound)?;
    let text = format!(
        "{}: bạn được phân công chủ trì {} ({} – {})",
        s.round_title,
        s.topic,
        show(&s.starts_on),
        show(&s.ends_on)
    );
    st.db.notify(s.facilitator_person_id, "session", &text, &format!("/sessions/{sid}")).await?;
    Ok(see(&format!("/sessions/{sid}?ok=sessions.created")))
}

// ---------------------------------------------------------------- one session

pub struct LearnerRow {
    pub e: EnrollmentRow,
    pub present: bool,
    pub method: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "session.html")]
struct SessionPage {
    ctx: Ctx,
    s: ActivitySession,
    learners: Vec<LearnerRow>,
    present: usize,
    take: bool,
}

async fn session_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<SessionPage, AppError> {
    let (s, take) = session_access(&st, &auth, id).await?;
    let attendance = st.db.session_attendance(id).await?;
    let learners: Vec<LearnerRow> = st
        .db
        .session_learners(&s)
        .await?
        .into_iter()
        .map(|e| {
            let a = attendance.iter().find(|a| a.enrollment_id == e.id);
            LearnerRow { present: a.is_some(), method: a.map(|a| a.method.clone()).unwrap_or_default(), e }
        })
        .collect();
    let present = learners.iter().filter(|l| l.present).count();
    Ok(SessionPage { ctx, s, learners, present, take })
}

async fn attendance_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (_, chain, rel) = session_target(&st, &auth, id).await?;
    require(&auth.principal, Action::TakeAttendance, &Target::class(chain, rel))?;
    let pairs = form_pairs(&body)?;
    let mut present = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "present") {
        present.push(v.trim().parse().map_err(|_| AppError::invalid("attendance", "invalid"))?);
    }
    st.db.set_attendance(Some(auth.account.id), id, &present).await?;
    Ok(see(&format!("/sessions/{id}?ok=sessions.attendance_saved")))
}

// ---------------------------------------------------------------- QR code

#[derive(Template, WebTemplate)]
#[template(path = "session_qr.html")]
struct QrPage {
    ctx: Ctx,
    s: ActivitySession,
    svg: String,
    url: String,
    expires: String,
    refresh: i64,
    present: i64,
}

/// The QR code as an SVG drawing: one path of dark modules, a 4-module quiet zone.
fn qr_svg(data: &str) -> Result<String, AppError> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    let n = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == Color::Dark {
                path.push_str(&format!("M{} {}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    let size = n + 8;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"320\" height=\"320\" \
         shape-rendering=\"crispEdges\" role=\"img\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// Whether today (in Vietnam) is one of the session's days; else a clear message.
fn require_session_day(s: &ActivitySession) -> Result<(), AppError> {
    let d = |x: &str| bdtx_domain::dates::parse_date(x).ok_or(AppError::NotFound);
    if checkin_open(d(&s.starts_on)?, d(&s.ends_on)?, today()) {
        Ok(())
    } else {
        Err(AppError::invalid("checkin", "qr_not_session_day"))
    }
}

async fn qr_page(State(st): State<AppState>, ctx: Ctx, auth: Auth, Path(id): Path<i64>) -> Result<QrPage, AppError> {
    let (s, chain, rel) = session_target(&st, &auth, id).await?;
    require(&auth.principal, Action::TakeAttendance, &Target::class(chain, rel))?;
    require_session_day(&s)?;
    let key = st.db.app_secret(QR_SECRET).await?;
    let now = now_unix();
    let expires = qr_expiry(now);
    let nonce = bdtx_store::accounts::random_token(8);
    let token = qr_sign(&key, id, expires, &nonce);
    let url = format!("{}/sessions/{id}/checkin?t={}", st.cfg.public_url.trim_end_matches('/'), token);
    let svg = qr_svg(&url)?;
    let present = st.db.attendance_count(id).await?;
    Ok(QrPage {
        ctx,
        s,
        svg,
        url,
        expires: bdtx_domain::dates::show_instant(expires),
        refresh: QR_ROTATE_SECS,
        present,
    })
}

// ---------------------------------------------------------------- check-in

#[derive(Deserialize)]
struct CheckinQuery {
    t: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "checkin.html")]
struct CheckinPage {
    ctx: Ctx,
    s: ActivitySession,
    token: String,
    already: bool,
    enrollment: i64,
}

/// Verify a token for session `id` and find the caller's enrollment in it. A bad token, or a
/// caller who is not among the session's learners, is a clear message and nothing changes.
async fn checkin_check(
    st: &AppState,
    auth: &Auth,
    id: i64,
    token: &str,
) -> Result<(ActivitySession, i64, String), AppError> {
    let key = st.db.app_secret(QR_SECRET).await?;
    let claims = qr_verify(&key, token, id, now_unix()).map_err(|e| AppError::invalid("checkin", e.code()))?;
    let s = st.db.activity_session(id).await?.ok_or(AppError::NotFound)?;
    require_session_day(&s)?;
    let person = auth.principal.person_id.ok_or_else(|| AppError::invalid("checkin", "session_not_learner"))?;
    let enrollment = st
        .db
        .session_enrollment_of(&s, person)
        .await?
        .ok_or_else(|| AppError::invalid("checkin", "session_not_learner"))?;
    let (_, t) = unit_target(st, s.unit_id).await?;
    require(
        &auth.principal,
        Action::CheckIn,
        &Target { units: t.units, person_id: Some(person), relation: Relation::Learner },
    )?;
    Ok((s, enrollment, claims.nonce))
}

async fn checkin_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<CheckinQuery>,
) -> Result<CheckinPage, AppError> {
    let token = q.t.unwrap_or_default();
    let (s, enrollment, _) = checkin_check(&st, &auth, id, &token).await?;
    let already = st.db.session_attendance(id).await?.iter().any(|a| a.enrollment_id == enrollment);
    Ok(CheckinPage { ctx, s, token, already, enrollment })
}

async fn checkin_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let (_, enrollment, nonce) = checkin_check(&st, &auth, id, field(&pairs, "t")).await?;
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    let ok = match st.db.check_in(Some(auth.account.id), id, person, &nonce).await? {
        CheckIn::Recorded => "sessions.checked_in",
        CheckIn::Already => "sessions.already_recorded",
    };
    Ok(see(&format!("/learn/{enrollment}?ok={ok}")))
}

// ---------------------------------------------------------------- minutes

fn minutes_error(e: &UploadError) -> &'static str {
    match e {
        UploadError::Empty { .. } => "file_empty",
        UploadError::TooLarge { .. } => "plan_scan_too_large",
        UploadError::Type { .. } => "plan_scan_type",
    }
}

/// Upload the minutes (biên bản): PDF, JPEG or PNG by content, at most 10 MB. A refused file is
/// neither stored nor recorded.
async fn minutes_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let (_, chain, rel) = session_target(&st, &auth, id).await?;
    require(&auth.principal, Action::TakeAttendance, &Target::class(chain, rel))?;
    let mut upload = None;
    while let Some(f) =
        form.next_field().await.map_err(|_| AppError::invalid("session_minutes", "plan_scan_too_large"))?
    {
        if f.name() == Some("minutes") {
            let name = f.file_name().unwrap_or("").to_string();
            let bytes = f.bytes().await.map_err(|_| AppError::invalid("session_minutes", "plan_scan_too_large"))?;
            upload = Some((name, bytes));
        }
    }
    let (name, bytes) = upload.ok_or_else(|| AppError::invalid("session_minutes", "required"))?;
    let kind = check_upload(&name, &bytes, &PLAN_SCAN_POLICY)
        .map_err(|e| AppError::invalid("session_minutes", minutes_error(&e)))?;
    let stored = st.files.put(&bytes).map_err(|e| AppError::Internal(format!("file store: {e}")))?;
    st.db.record_file(&stored.sha256, stored.size as i64, kind.mime()).await?;
    let name = crate::download::upload_name(&name, || format!("bien-ban.{}", kind.extension()));
    st.db.attach_session_minutes(Some(auth.account.id), id, &stored.sha256, &name, kind.mime()).await?;
    Ok(see(&format!("/sessions/{id}?ok=sessions.minutes_saved")))
}

async fn minutes_file(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (s, _) = session_access(&st, &auth, id).await?;
    let sha = s.minutes_sha256.ok_or(AppError::NotFound)?;
    crate::download::stored_upload(&st.files, &sha, s.minutes_mime.as_deref(), &s.minutes_name.unwrap_or_default())
        .await
}

// ---------------------------------------------------------------- my sessions

#[derive(Template, WebTemplate)]
#[template(path = "my_sessions.html")]
struct MySessionsPage {
    ctx: Ctx,
    facilitated: Vec<SessionRow>,
    attending: Vec<LearnerSession>,
}

async fn my_sessions(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<MySessionsPage, AppError> {
    let person = auth.principal.person_id.ok_or(AppError::Forbidden)?;
    let mut facilitated = Vec::new();
    for s in st.db.sessions_facilitated(person).await? {
        let present = st.db.attendance_count(s.id).await?;
        facilitated.push(SessionRow { s, present });
    }
    let mut attending = Vec::new();
    for e in st.db.enrollments_of(person).await? {
        attending.extend(st.db.learner_sessions(e.id).await?);
    }
    Ok(MySessionsPage { ctx, facilitated, attending })
}

/// One enrollment on a person's record, with its professional-activity attendance.
pub struct TrainingRow {
    pub e: EnrollmentRow,
    pub sessions: usize,
    pub attended: usize,
}

/// A person's enrollments and their attendance, for their record (the caller already may view
/// the person).
pub async fn person_training(st: &AppState, person_id: i64) -> Result<Vec<TrainingRow>, AppError> {
    let mut out = Vec::new();
    for e in st.db.my_enrollments(person_id).await? {
        let (sessions, attended) = learner_summary(st, e.id).await?;
        out.push(TrainingRow { e, sessions: sessions.len(), attended });
    }
    Ok(out)
}

/// The learner's sessions of one enrollment and how many they attended, for the course page.
pub async fn learner_summary(st: &AppState, enrollment: i64) -> Result<(Vec<LearnerSession>, usize), AppError> {
    let sessions = st.db.learner_sessions(enrollment).await?;
    let attended = sessions.iter().filter(|s| s.attended).count();
    Ok((sessions, attended))
}
