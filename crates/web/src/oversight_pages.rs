//! Oversight: a round's dashboard for any unit (province → commune → cluster → school → class →
//! person) read from the tallies, the list behind every number (paged, .xlsx and .csv streamed),
//! reminders to a list (a job: notifications + e-mail), the jobs and outbox pages, a reporter's
//! Mẫu 1 and Mẫu 2, and the round reports units submit to the level above.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use bdtx_domain::authz::{Action, Target};
use bdtx_domain::dates::{show, show_instant, today};
use bdtx_store::jobs::{Job, Mail, NewJob};
use bdtx_store::oversight::{DashFilter, ListRow, Node, STAGE_COUNT, STAGES, StageCounts};
use bdtx_store::rounds::{Class, Round};
use bdtx_store::units::Unit;

use crate::AppState;
use crate::access::{require, scope, unit_target};
use crate::auth::Auth;
use crate::error::{AppError, Form, Path, Query};
use crate::learn::class_target;
use crate::pages::Ctx;
use crate::worker::ListJob;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rounds/{id}/dashboard", get(dashboard))
        .route("/rounds/{id}/list", get(list_page))
        .route("/rounds/{id}/list.xlsx", get(list_xlsx))
        .route("/rounds/{id}/list.csv", get(list_csv))
        .route("/rounds/{id}/remind", post(remind))
        .route("/rounds/{id}/reports", get(reports_page).post(report_submit))
        .route("/rounds/{id}/reports/due", post(report_due))
        .route("/jobs", get(jobs_page))
        .route("/jobs/{id}/retry", post(job_retry))
        .route("/jobs/{id}/file", get(job_file))
        .route("/outbox", get(outbox_page))
        .route("/outbox/{id}/retry", post(mail_retry))
        .route("/classes/{id}/mau-1.xlsx", get(form1_xlsx))
        .route("/classes/{id}/supplements", get(supplements_page).post(supplement_submit))
        .route("/classes/{id}/mau-2.xlsx", get(form2_xlsx))
}

/// The dashboard's columns: (label key, first stage counted). "Enrolled" counts everything;
/// the next three are single stages, the rest cumulative ("this stage or later").
pub const COLUMNS: [(&str, usize, usize); 8] = [
    ("dash.enrolled", 0, 6),
    ("dash.no_account", 0, 0),
    ("dash.not_started", 1, 1),
    ("dash.in_progress", 2, 2),
    ("dash.lms_passed", 3, 6),
    ("dash.core_passed", 4, 6),
    ("dash.confirmed", 5, 6),
    ("dash.certified", 6, 6),
];

fn column(c: &StageCounts, from: usize, to: usize) -> i64 {
    c.at[from..=to].iter().sum()
}

/// One row of a dashboard table: a unit or a class and its numbers.
pub struct DashRow {
    pub name: String,
    pub kind: String,
    /// Where the name leads (the child's dashboard, or a class's list).
    pub href: String,
    /// The query selecting this node in list links (`unit=5` or `class=7`).
    pub node: String,
    pub cells: Vec<i64>,
    /// Attended at least one professional-activity session.
    pub attended: i64,
    /// Percent LMS-passed or later (the bar).
    pub done_pct: i64,
    pub started_pct: i64,
}

fn dash_row(name: String, kind: String, href: String, node: String, c: &StageCounts) -> DashRow {
    let total = c.total().max(1);
    DashRow {
        name,
        kind,
        href,
        node,
        cells: COLUMNS.iter().map(|(_, a, b)| column(c, *a, *b)).collect(),
        attended: c.attended,
        done_pct: c.from(3) * 100 / total,
        started_pct: c.from(2) * 100 / total,
    }
}

#[derive(Debug, Default, Deserialize)]
struct DashQuery {
    unit: Option<i64>,
    class: Option<i64>,
    level: Option<String>,
    subject: Option<String>,
    kind: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    page: Option<i64>,
    /// `1`: only those who attended a professional-activity session.
    attended: Option<u8>,
}

impl DashQuery {
    fn filter(&self) -> DashFilter {
        let f = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        DashFilter {
            level: f(&self.level),
            subject: f(&self.subject),
            kind: f(&self.kind),
            attended: self.attended == Some(1),
        }
    }
    /// The dashboard filters as a query string suffix (`&level=THCS…`), for links.
    fn filter_qs(&self) -> String {
        let f = self.filter();
        let mut out = String::new();
        for (k, v) in [("level", f.level), ("subject", f.subject), ("kind", f.kind)] {
            if let Some(v) = v {
                out.push_str(&format!("&{k}={}", urlencoding::encode(&v)));
            }
        }
        out
    }
}

/// The unit a dashboard shows: the asked one (if the caller may view it), else the round's
/// owner, else the caller's own root.
async fn dash_unit(st: &AppState, auth: &Auth, round: &Round, unit: Option<i64>) -> Result<Unit, AppError> {
    if let Some(u) = unit {
        let (unit, t) = unit_target(st, u).await?;
        require(&auth.principal, Action::ViewRound, &t)?;
        return Ok(unit);
    }
    let (owner, t) = unit_target(st, round.owner_unit_id).await?;
    if auth.principal.can(Action::ViewRound, &t) {
        return Ok(owner);
    }
    let root = scope(st, &auth.principal, None, Action::ViewRound).await?.ok_or(AppError::Forbidden)?;
    Ok(unit_target(st, root).await?.0)
}

/// The node of a list: a class (its staff or those over it) or a unit.
async fn list_node(
    st: &AppState,
    auth: &Auth,
    round: &Round,
    q: &DashQuery,
) -> Result<(Node, String, Target), AppError> {
    if let Some(c) = q.class {
        let (class, t) = class_target(st, &auth.principal, c).await?;
        if class.round_id != round.id {
            return Err(AppError::NotFound);
        }
        require(&auth.principal, Action::ViewRound, &t)?;
        return Ok((Node::Class(c), class.name, t));
    }
    let unit = dash_unit(st, auth, round, q.unit).await?;
    let (_, t) = unit_target(st, unit.id).await?;
    Ok((Node::Unit(unit.id), unit.name, t))
}

async fn round_of(st: &AppState, id: i64) -> Result<Round, AppError> {
    st.db.round(id).await?.ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    round: Round,
    unit: Unit,
    crumbs: Vec<(i64, String)>,
    columns: Vec<&'static str>,
    total: DashRow,
    children: Vec<DashRow>,
    classes: Vec<DashRow>,
    levels: Vec<String>,
    subjects: Vec<String>,
    kinds: Vec<String>,
    q_level: String,
    q_subject: String,
    q_kind: String,
    filter_qs: String,
    /// (first, last) stage of each column, for list links.
    ranges: Vec<(usize, usize)>,
    can_remind: bool,
}

/// What a dashboard shows, for the page and the API alike.
pub struct DashData {
    pub round: Round,
    pub unit: Unit,
    pub total: StageCounts,
    /// Child units with enrollments, in tree order.
    pub children: Vec<(bdtx_store::units::TreeNode, StageCounts)>,
    /// Classes held by the unit.
    pub classes: Vec<(Class, StageCounts)>,
}

pub async fn dashboard_data(
    st: &AppState,
    auth: &Auth,
    id: i64,
    q_unit: Option<i64>,
    f: &DashFilter,
) -> Result<DashData, AppError> {
    let round = round_of(st, id).await?;
    let unit = dash_unit(st, auth, &round, q_unit).await?;
    let kids = st.db.subtree(unit.id, today(), 1).await?;
    let mut ids: Vec<i64> = kids.iter().map(|k| k.id).collect();
    ids.push(unit.id);
    let counts = st.db.node_counts(id, "u", &ids, f).await?;
    let own_classes: Vec<Class> = st.db.classes_of_unit(id, unit.id).await?;
    let class_ids: Vec<i64> = own_classes.iter().map(|c| c.id).collect();
    let ccounts = st.db.node_counts(id, "c", &class_ids, f).await?;
    Ok(DashData {
        total: counts.get(&unit.id).copied().unwrap_or_default(),
        children: kids
            .into_iter()
            .filter_map(|k| {
                let c = counts.get(&k.id).copied()?;
                (c.total() > 0).then_some((k, c))
            })
            .collect(),
        classes: own_classes
            .into_iter()
            .map(|c| {
                let n = ccounts.get(&c.id).copied().unwrap_or_default();
                (c, n)
            })
            .collect(),
        round,
        unit,
    })
}

async fn dashboard(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<DashQuery>,
) -> Result<DashboardPage, AppError> {
    let f = q.filter();
    let DashData { round, unit, total, children, classes } = dashboard_data(&st, &auth, id, q.unit, &f).await?;
    // Breadcrumb: from the caller's highest visible ancestor down to this unit.
    let mut crumbs = Vec::new();
    for a in st.db.ancestors(unit.id, today()).await?.into_iter().skip(1) {
        let (u, t) = unit_target(&st, a).await?;
        if !auth.principal.can(Action::ViewRound, &t) {
            break;
        }
        crumbs.push((u.id, u.name));
    }
    crumbs.reverse();
    let fqs = q.filter_qs();
    let total = dash_row(
        unit.name.clone(),
        unit.kind.clone(),
        format!("/rounds/{id}/dashboard?unit={}{fqs}", unit.id),
        format!("unit={}", unit.id),
        &total,
    );
    let children = children
        .iter()
        .map(|(k, c)| {
            dash_row(
                k.name.clone(),
                k.kind.clone(),
                format!("/rounds/{id}/dashboard?unit={}{fqs}", k.id),
                format!("unit={}", k.id),
                c,
            )
        })
        .collect();
    let classes = classes
        .iter()
        .map(|(c, n)| {
            dash_row(
                c.name.clone(),
                "class".into(),
                format!("/rounds/{id}/list?class={}{fqs}", c.id),
                format!("class={}", c.id),
                n,
            )
        })
        .collect();
    let dims = st.db.tally_dimensions(id, unit.id).await?;
    let uniq = |f: &dyn Fn(&(String, String, String)) -> &String| {
        let mut v: Vec<String> = dims.iter().map(|d| f(d).clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let (_, t) = unit_target(&st, unit.id).await?;
    Ok(DashboardPage {
        ctx,
        crumbs,
        columns: COLUMNS.iter().map(|c| c.0).collect(),
        total,
        children,
        classes,
        levels: uniq(&|d| &d.0),
        subjects: uniq(&|d| &d.1),
        kinds: uniq(&|d| &d.2),
        q_level: f.level.unwrap_or_default(),
        q_subject: f.subject.unwrap_or_default(),
        q_kind: f.kind.unwrap_or_default(),
        filter_qs: fqs,
        ranges: COLUMNS.iter().map(|c| (c.1, c.2)).collect(),
        can_remind: auth.principal.can(Action::Remind, &t),
        round,
        unit,
    })
}

/// Counts of a node in the API: every stage by name, and attendance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiCounts {
    pub enrolled: i64,
    pub no_account: i64,
    pub not_started: i64,
    pub in_progress: i64,
    /// At this stage or later, like the dashboard's columns.
    pub lms_passed: i64,
    pub core_passed: i64,
    pub confirmed: i64,
    pub certified: i64,
    pub attended_session: i64,
}

impl From<&StageCounts> for ApiCounts {
    fn from(c: &StageCounts) -> ApiCounts {
        ApiCounts {
            enrolled: c.total(),
            no_account: c.at[0],
            not_started: c.at[1],
            in_progress: c.at[2],
            lms_passed: c.from(3),
            core_passed: c.from(4),
            confirmed: c.from(5),
            certified: c.from(6),
            attended_session: c.attended,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiNode {
    pub id: i64,
    pub name: String,
    /// A unit kind, or `class`.
    pub kind: String,
    pub counts: ApiCounts,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiDashboard {
    pub round_id: i64,
    pub unit: ApiNode,
    pub children: Vec<ApiNode>,
    pub classes: Vec<ApiNode>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ApiDashQuery {
    /// The unit (default: the round's owner, or the caller's own unit).
    unit: Option<i64>,
    level: Option<String>,
    subject: Option<String>,
    /// main, concurrent or reference.
    kind: Option<String>,
}

/// A round's dashboard for a unit: its counts, its child units' and its classes'.
#[utoipa::path(get, path = "/api/v1/rounds/{id}/dashboard", tag = "oversight",
    params(("id" = i64, Path, description = "round"), ApiDashQuery), security(("bearer" = [])),
    responses((status = 200, body = ApiDashboard), (status = 403, body = crate::error::ApiErrorBody), (status = 404, body = crate::error::ApiErrorBody)))]
pub async fn api_dashboard(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<ApiDashQuery>,
) -> Result<crate::error::Json<ApiDashboard>, AppError> {
    let f = DashQuery { level: q.level, subject: q.subject, kind: q.kind, ..Default::default() }.filter();
    let d = dashboard_data(&st, &auth, id, q.unit, &f).await?;
    Ok(crate::error::Json(ApiDashboard {
        round_id: d.round.id,
        unit: ApiNode { id: d.unit.id, name: d.unit.name, kind: d.unit.kind, counts: (&d.total).into() },
        children: d
            .children
            .iter()
            .map(|(k, c)| ApiNode { id: k.id, name: k.name.clone(), kind: k.kind.clone(), counts: c.into() })
            .collect(),
        classes: d
            .classes
            .iter()
            .map(|(k, c)| ApiNode { id: k.id, name: k.name.clone(), kind: "class".into(), counts: c.into() })
            .collect(),
    }))
}

const PAGE: i64 = 100;

#[derive(Template, WebTemplate)]
#[template(path = "dash_list.html")]
struct ListPage {
    ctx: Ctx,
    round: Round,
    node_name: String,
    node_qs: String,
    stage_label: String,
    from: i64,
    to: i64,
    rows: Vec<ListRow>,
    page: i64,
    more: bool,
    filter_qs: String,
    scope: &'static str,
    scope_id: i64,
    f: DashFilter,
    can_remind: bool,
    stages: Vec<&'static str>,
    /// Fresh per page: the same form sent twice queues one reminder, a later one another.
    nonce: String,
}

fn stage_range(q: &DashQuery) -> (i64, i64) {
    let from = q.from.unwrap_or(0).clamp(0, STAGE_COUNT as i64 - 1);
    let to = q.to.unwrap_or(STAGE_COUNT as i64 - 1).clamp(from, STAGE_COUNT as i64 - 1);
    (from, to)
}

fn range_label(ctx: &Ctx, from: i64, to: i64) -> String {
    COLUMNS.iter().find(|c| c.1 as i64 == from && c.2 as i64 == to).map(|c| ctx.t.t(c.0).to_string()).unwrap_or_else(
        || format!("{} – {}", ctx.t.of("dash", STAGES[from as usize]), ctx.t.of("dash", STAGES[to as usize])),
    )
}

async fn list_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<DashQuery>,
) -> Result<ListPage, AppError> {
    let round = round_of(&st, id).await?;
    let (node, node_name, t) = list_node(&st, &auth, &round, &q).await?;
    let (from, to) = stage_range(&q);
    let page = q.page.unwrap_or(0).max(0);
    let f = q.filter();
    let mut rows = st.db.stage_list(id, node, from, to, &f, PAGE + 1, page * PAGE).await?;
    let attended_qs = if f.attended { "&attended=1" } else { "" };
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let (scope, scope_id) = match node {
        Node::Unit(u) => ("u", u),
        Node::Class(c) => ("c", c),
    };
    Ok(ListPage {
        stage_label: if f.attended {
            format!("{} · {}", range_label(&ctx, from, to), ctx.t.t("dash.attended"))
        } else {
            range_label(&ctx, from, to)
        },
        ctx,
        node_qs: if scope == "c" { format!("class={scope_id}") } else { format!("unit={scope_id}") },
        node_name,
        from,
        to,
        rows,
        page,
        more,
        filter_qs: format!("{}{attended_qs}", q.filter_qs()),
        scope,
        scope_id,
        can_remind: auth.principal.can(Action::Remind, &t),
        f,
        round,
        stages: STAGES.to_vec(),
        nonce: bdtx_store::accounts::random_token(12),
    })
}

pub(crate) const HEADINGS: [&str; 11] = [
    "STT",
    "Họ và tên",
    "Ngày sinh",
    "Điện thoại",
    "Email",
    "Đơn vị",
    "Lớp",
    "Cấp học",
    "Môn",
    "Tình trạng",
    "Tiến độ",
];

fn stage_vi(stage: i64) -> &'static str {
    match stage {
        0 => "Chưa kích hoạt tài khoản",
        1 => "Chưa vào học",
        2 => "Đang học",
        3 => "LMS đánh giá đạt",
        4 => "Báo cáo viên đánh giá đạt",
        5 => "Trường ĐH đã xác nhận",
        6 => "Đã cấp giấy chứng nhận",
        _ => "",
    }
}

pub(crate) fn list_cells(n: u64, r: &ListRow) -> Vec<String> {
    let subject = match r.kind.as_str() {
        "concurrent" => format!("{} (kiêm nhiệm)", r.subject),
        "reference" => format!("{} (tham khảo)", r.subject),
        _ => r.subject.clone(),
    };
    vec![
        n.to_string(),
        r.full_name.clone(),
        r.birth_date.as_deref().map(show).unwrap_or_default(),
        r.phone.clone().unwrap_or_default(),
        r.email.clone().unwrap_or_default(),
        r.unit_name.clone(),
        r.class_name.clone().unwrap_or_default(),
        r.level.clone(),
        subject,
        stage_vi(r.stage).to_string(),
        format!("{}/{}", r.items_done, r.items_required),
    ]
}

/// The list as CSV, streamed: the first bytes leave before the query has finished.
async fn list_csv(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<DashQuery>,
) -> Result<Response, AppError> {
    let round = round_of(&st, id).await?;
    let (node, _, _) = list_node(&st, &auth, &round, &q).await?;
    let (from, to) = stage_range(&q);
    let f = q.filter();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(16);
    tokio::spawn(async move {
        let mut head = csv::Writer::from_writer(Vec::from("\u{feff}".as_bytes()));
        let _ = head.write_record(HEADINGS);
        let _ = tx.send(Ok(head.into_inner().unwrap_or_default())).await;
        let mut buf = csv::Writer::from_writer(Vec::with_capacity(64 * 1024));
        let mut n = 0u64;
        let res = st
            .db
            .stream_stage_list_async(id, node, from, to, &f, |r| {
                n += 1;
                let cells = list_cells(n, &r);
                let mut ready = None;
                let written = buf.write_record(cells.iter().map(|c| bdtx_roster::export::neutralize(c).into_owned()));
                if written.is_ok() && n.is_multiple_of(500) {
                    let chunk = std::mem::replace(&mut buf, csv::Writer::from_writer(Vec::with_capacity(64 * 1024)));
                    ready = chunk.into_inner().ok();
                }
                let tx = tx.clone();
                async move {
                    written.map_err(std::io::Error::other)?;
                    match ready {
                        Some(bytes) => tx.send(Ok(bytes)).await.map_err(|_| std::io::Error::other("client gone")),
                        None => Ok(()),
                    }
                }
            })
            .await;
        match res {
            Ok(_) => {
                let _ = tx.send(Ok(buf.into_inner().unwrap_or_default())).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "list export stopped");
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
            }
        }
    });
    let mut rx = rx;
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Ok(crate::download::attachment_body(body, "text/csv; charset=utf-8", "danh-sach.csv"))
}

/// The list as .xlsx: written in constant memory to a temporary file and sent; a long list is
/// exported by a background job instead, and the caller is sent to the jobs page.
async fn list_xlsx(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<DashQuery>,
) -> Result<Response, AppError> {
    let round = round_of(&st, id).await?;
    let (node, _, _) = list_node(&st, &auth, &round, &q).await?;
    let (from, to) = stage_range(&q);
    let f = q.filter();
    let (scope, scope_id, unit_id) = match node {
        Node::Unit(u) => ("u", u, u),
        Node::Class(c) => ("c", c, st.db.class(c).await?.map(|c| c.unit_id).ok_or(AppError::NotFound)?),
    };
    let counts = st.db.node_counts(id, scope, &[scope_id], &f).await?.get(&scope_id).copied().unwrap_or_default();
    let expected = if f.attended { counts.attended } else { counts.at[from as usize..=to as usize].iter().sum() };
    if expected > st.cfg.xlsx_inline_rows {
        let spec =
            ListJob { round_id: id, scope: scope.into(), id: scope_id, from, to, filter: f, message: String::new() };
        let payload = serde_json::to_value(&spec).map_err(|e| AppError::Internal(e.to_string()))?;
        // The same export asked again within the hour is the same job.
        let hour = bdtx_domain::dates::now_unix() / 3600;
        let (job, _) = st
            .db
            .enqueue_job(&NewJob {
                kind: "export_list",
                dedupe_key: Some(format!("export:{}:{hour}:{payload}", auth.account.id)),
                payload,
                unit_id: Some(unit_id),
                created_by: Some(auth.account.id),
                run_at: None,
            })
            .await?;
        return Ok(Redirect::to(&format!("/jobs?highlight={job}")).into_response());
    }
    let path = std::env::temp_dir().join(format!("bdtx-list-{}.xlsx", bdtx_store::accounts::random_token(8)));
    let mut x = bdtx_roster::export::StreamingXlsx::create(&path, "Danh sách", &HEADINGS)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut n = 0u64;
    st.db
        .stream_stage_list(id, node, from, to, &q.filter(), |r| {
            n += 1;
            x.push(&list_cells(n, &r))
        })
        .await?;
    x.finish().map_err(|e| AppError::Internal(e.to_string()))?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| AppError::Internal(e.to_string()))?;
    let _ = tokio::fs::remove_file(&path).await;
    Ok(crate::download::attachment(bytes, crate::download::XLSX, "danh-sach.xlsx"))
}

#[derive(Deserialize)]
struct RemindForm {
    scope: String,
    id: i64,
    from: i64,
    to: i64,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    attended: Option<u8>,
    message: String,
    /// A token of the form: the same form sent twice queues one job.
    nonce: String,
}

/// Queue reminders to the learners of a list (one job; the worker sends them).
async fn remind(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RemindForm>,
) -> Result<Response, AppError> {
    let round = round_of(&st, id).await?;
    let q = DashQuery {
        unit: (f.scope != "c").then_some(f.id),
        class: (f.scope == "c").then_some(f.id),
        level: f.level.clone(),
        subject: f.subject.clone(),
        kind: f.kind.clone(),
        attended: f.attended,
        ..Default::default()
    };
    let (node, _, t) = list_node(&st, &auth, &round, &q).await?;
    require(&auth.principal, Action::Remind, &t)?;
    let message = bdtx_domain::text::clean_multiline(&f.message);
    if message.chars().count() < 5 || message.chars().count() > 1000 {
        return Err(AppError::invalid("message", "reminder_length"));
    }
    let (from, to) = stage_range(&DashQuery { from: Some(f.from), to: Some(f.to), ..Default::default() });
    let unit_id = match node {
        Node::Unit(u) => u,
        Node::Class(c) => st.db.class(c).await?.map(|c| c.unit_id).ok_or(AppError::NotFound)?,
    };
    let payload = ListJob {
        round_id: id,
        scope: if matches!(node, Node::Class(_)) { "c".into() } else { "u".into() },
        id: f.id,
        from,
        to,
        filter: q.filter(),
        message,
    };
    let nonce: String = f.nonce.chars().filter(|c| c.is_ascii_alphanumeric()).take(40).collect();
    let (job, _) = st
        .db
        .enqueue_job(&NewJob {
            kind: "remind",
            payload: serde_json::to_value(&payload).map_err(|e| AppError::Internal(e.to_string()))?,
            dedupe_key: (!nonce.is_empty()).then(|| format!("remind:{}:{nonce}", auth.account.id)),
            unit_id: Some(unit_id),
            created_by: Some(auth.account.id),
            run_at: None,
        })
        .await?;
    // Admins follow the job; a class's core people go back to their list.
    let (_, unit_t) = unit_target(&st, unit_id).await?;
    if auth.principal.can(Action::ManageJobs, &unit_t) {
        return Ok(Redirect::to(&format!("/jobs?highlight={job}")).into_response());
    }
    let node = match node {
        Node::Unit(u) => format!("unit={u}"),
        Node::Class(c) => format!("class={c}"),
    };
    Ok(Redirect::to(&format!("/rounds/{id}/list?{node}&from={from}&to={to}&ok=dash.reminder_queued")).into_response())
}

// ---------------------------------------------------------------- jobs and outbox

#[derive(Template, WebTemplate)]
#[template(path = "jobs.html")]
struct JobsPage {
    ctx: Ctx,
    jobs: Vec<Job>,
    highlight: i64,
}

#[derive(Deserialize)]
struct JobsQuery {
    highlight: Option<i64>,
}

async fn jobs_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<JobsQuery>,
) -> Result<JobsPage, AppError> {
    let root = scope(&st, &auth.principal, None, Action::ManageJobs).await?;
    Ok(JobsPage { ctx, jobs: st.db.jobs_under(root, 200).await?, highlight: q.highlight.unwrap_or(0) })
}

/// A job or message is handled by admins over the unit it is filed under.
async fn require_jobs(st: &AppState, auth: &Auth, unit: Option<i64>) -> Result<(), AppError> {
    match unit {
        Some(u) => {
            let (_, t) = unit_target(st, u).await?;
            require(&auth.principal, Action::ManageJobs, &t)
        }
        None => match scope(st, &auth.principal, None, Action::ManageJobs).await? {
            None => Ok(()),
            Some(_) => Err(AppError::Forbidden),
        },
    }
}

/// The file of a finished export job: for whoever asked for it and the admins over its unit.
async fn job_file(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let job = st.db.job(id).await?.ok_or(AppError::NotFound)?;
    if job.created_by != Some(auth.account.id) {
        require_jobs(&st, &auth, job.unit_id).await?;
    }
    if job.kind != "export_list" || job.status != "done" {
        return Err(AppError::NotFound);
    }
    let file = tokio::fs::File::open(crate::worker::export_path(&st, id)).await.map_err(|_| AppError::NotFound)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(crate::download::attachment_body(body, crate::download::XLSX, &format!("danh-sach-{id}.xlsx")))
}

async fn job_retry(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let job = st.db.job(id).await?.ok_or(AppError::NotFound)?;
    require_jobs(&st, &auth, job.unit_id).await?;
    if !st.db.retry_job(id).await? {
        return Err(AppError::invalid("job", "not_failed"));
    }
    Ok(Redirect::to(&format!("/jobs?highlight={id}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "outbox.html")]
struct OutboxPage {
    ctx: Ctx,
    mails: Vec<Mail>,
    counts: Vec<(String, i64)>,
    status: String,
    configured: bool,
}

#[derive(Deserialize)]
struct OutboxQuery {
    status: Option<String>,
}

async fn outbox_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<OutboxQuery>,
) -> Result<OutboxPage, AppError> {
    let root = scope(&st, &auth.principal, None, Action::ManageJobs).await?;
    let status = q.status.filter(|s| ["pending", "sent", "failed"].contains(&s.as_str()));
    Ok(OutboxPage {
        ctx,
        mails: st.db.outbox_under(root, status.as_deref(), 200).await?,
        counts: st.db.outbox_counts(root).await?,
        status: status.unwrap_or_default(),
        configured: st.mailer.configured(),
    })
}

async fn mail_retry(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let mail = st.db.mail(id).await?.ok_or(AppError::NotFound)?;
    require_jobs(&st, &auth, mail.unit_id).await?;
    if !st.db.retry_mail(id).await? {
        return Err(AppError::invalid("mail", "not_failed"));
    }
    Ok(Redirect::to("/outbox?status=pending").into_response())
}

// ---------------------------------------------------------------- Mẫu 1 and Mẫu 2

/// A class the caller reports on (its core people), or may read (those over it).
async fn reporting_class(st: &AppState, auth: &Auth, id: i64, write: bool) -> Result<(Class, Round), AppError> {
    let (class, t) = class_target(st, &auth.principal, id).await?;
    if write || !auth.principal.can(Action::ViewRound, &t) {
        require(&auth.principal, Action::ReportClass, &t)?;
    }
    let round = round_of(st, class.round_id).await?;
    Ok((class, round))
}

/// Mẫu số 1: the situation of the learners of a class.
async fn form1_xlsx(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (class, round) = reporting_class(&st, &auth, id, false).await?;
    let mut rows = Vec::new();
    st.db
        .stream_stage_list(round.id, Node::Class(id), 0, STAGE_COUNT as i64 - 1, &DashFilter::default(), |r| {
            rows.push(r);
            Ok(())
        })
        .await?;
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.full_name.clone(),
                r.unit_name.clone(),
                r.subject.clone(),
                if r.stage >= 1 { "Đã đăng nhập" } else { "Chưa đăng nhập" }.to_string(),
                format!("{}/{}", r.items_done, r.items_required),
                stage_vi(r.stage).to_string(),
                String::new(),
            ]
        })
        .collect();
    let title =
        format!("BÁO CÁO TÌNH HÌNH HỌC VIÊN TẠI LỚP {} – {}", class.name.to_uppercase(), round.title.to_uppercase());
    let bytes = bdtx_roster::forms::list_xlsx(
        "Mẫu số 1",
        &class.unit_name,
        &title,
        &["STT", "Họ và tên", "Đơn vị", "Môn", "Đăng nhập", "Tiến độ", "Tình trạng", "Ghi chú"],
        &table,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(crate::download::attachment(bytes, crate::download::XLSX, "mau-so-1.xlsx"))
}

#[derive(Template, WebTemplate)]
#[template(path = "supplements.html")]
struct SupplementsPage {
    ctx: Ctx,
    class: Class,
    round: Round,
    rows: Vec<bdtx_store::oversight::Supplement>,
    can_write: bool,
}

async fn supplements_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<SupplementsPage, AppError> {
    let (class, round) = reporting_class(&st, &auth, id, false).await?;
    let (_, t) = class_target(&st, &auth.principal, id).await?;
    Ok(SupplementsPage {
        ctx,
        rows: st.db.supplements(id).await?,
        can_write: auth.principal.can(Action::ReportClass, &t),
        class,
        round,
    })
}

#[derive(Deserialize)]
struct SupplementForm {
    full_name: String,
    #[serde(default)]
    birth_date: String,
    school: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    note: String,
}

async fn supplement_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<SupplementForm>,
) -> Result<Response, AppError> {
    reporting_class(&st, &auth, id, true).await?;
    let s = bdtx_store::oversight::NewSupplement {
        full_name: f.full_name,
        birth_date: f.birth_date,
        school: f.school,
        subject: f.subject,
        phone: f.phone,
        email: f.email,
        note: f.note,
    };
    st.db.add_supplement(Some(auth.account.id), id, auth.account.person_id, &s).await?;
    Ok(Redirect::to(&format!("/classes/{id}/supplements")).into_response())
}

/// Mẫu số 2: learners asked to be added to the class's list.
async fn form2_xlsx(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (class, round) = reporting_class(&st, &auth, id, false).await?;
    let rows = st.db.supplements(id).await?;
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.full_name.clone(),
                r.birth_date.as_deref().map(show).unwrap_or_default(),
                r.school.clone(),
                r.subject.clone(),
                r.phone.clone().unwrap_or_default(),
                r.email.clone().unwrap_or_default(),
                r.note.clone(),
            ]
        })
        .collect();
    let title = format!("DANH SÁCH XIN BỔ SUNG – LỚP {} – {}", class.name.to_uppercase(), round.title.to_uppercase());
    let bytes = bdtx_roster::forms::list_xlsx(
        "Mẫu số 2",
        &class.unit_name,
        &title,
        &["STT", "Họ và tên", "Ngày sinh", "Trường", "Môn", "Điện thoại", "Email", "Ghi chú"],
        &table,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(crate::download::attachment(bytes, crate::download::XLSX, "mau-so-2.xlsx"))
}

// ---------------------------------------------------------------- round reports

pub struct ReportRow {
    pub unit_id: i64,
    pub name: String,
    pub submitted: Option<String>,
    pub late: bool,
    pub note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "round_reports.html")]
struct ReportsPage {
    ctx: Ctx,
    round: Round,
    unit: Unit,
    rows: Vec<ReportRow>,
    own: Option<bdtx_store::oversight::RoundReport>,
    can_submit: bool,
    can_set_due: bool,
    due: String,
    submitted: usize,
    late: usize,
}

async fn reports_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<DashQuery>,
) -> Result<ReportsPage, AppError> {
    let round = round_of(&st, id).await?;
    let unit = dash_unit(&st, &auth, &round, q.unit).await?;
    let (_, t) = unit_target(&st, unit.id).await?;
    let (_, owner) = unit_target(&st, round.owner_unit_id).await?;
    let due = st.db.report_due(id).await?;
    // Children with learners in the round are expected to report.
    let kids = st.db.subtree(unit.id, today(), 1).await?;
    let ids: Vec<i64> = kids.iter().map(|k| k.id).collect();
    let counts = st.db.node_counts(id, "u", &ids, &DashFilter::default()).await?;
    let reports = st.db.round_reports(id, &ids).await?;
    let now = bdtx_domain::dates::now_unix();
    // Late: at or after 00:00 (Vietnam) of the day after the due date.
    let deadline = due
        .as_deref()
        .and_then(bdtx_domain::dates::parse_date)
        .and_then(|d| d.succ_opt())
        .map(bdtx_domain::round::day_start);
    let rows: Vec<ReportRow> = kids
        .iter()
        .filter(|k| counts.get(&k.id).is_some_and(|c| c.total() > 0))
        .map(|k| {
            let r = reports.iter().find(|r| r.unit_id == k.id);
            let late = match (deadline, r) {
                (Some(l), Some(r)) => r.submitted_at >= l,
                (Some(l), None) => now >= l,
                _ => false,
            };
            ReportRow {
                unit_id: k.id,
                name: k.name.clone(),
                submitted: r.map(|r| show_instant(r.submitted_at)),
                late,
                note: r.map(|r| r.note.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let own = st.db.round_reports(id, &[unit.id]).await?.into_iter().next();
    Ok(ReportsPage {
        ctx,
        submitted: rows.iter().filter(|r| r.submitted.is_some()).count(),
        late: rows.iter().filter(|r| r.late).count(),
        rows,
        own,
        can_submit: auth.principal.can(Action::SubmitRoundReport, &t),
        can_set_due: auth.principal.can(Action::ManageRound, &owner),
        due: due.map(|d| show(&d)).unwrap_or_default(),
        round,
        unit,
    })
}

#[derive(Deserialize)]
struct ReportForm {
    unit: i64,
    #[serde(default)]
    note: String,
}

async fn report_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ReportForm>,
) -> Result<Response, AppError> {
    let round = round_of(&st, id).await?;
    let (_, t) = unit_target(&st, f.unit).await?;
    require(&auth.principal, Action::SubmitRoundReport, &t)?;
    // The figures of the report are the unit's tallies at the time of submission.
    let counts = st.db.node_counts(round.id, "u", &[f.unit], &DashFilter::default()).await?;
    let c = counts.get(&f.unit).copied().unwrap_or_default();
    let figures = serde_json::json!(STAGES.iter().zip(c.at).collect::<std::collections::BTreeMap<_, _>>());
    st.db.submit_round_report(Some(auth.account.id), id, f.unit, &f.note, &figures).await?;
    Ok(Redirect::to(&format!("/rounds/{id}/reports?unit={}", f.unit)).into_response())
}

#[derive(Deserialize)]
struct DueForm {
    due: String,
}

async fn report_due(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<DueForm>,
) -> Result<Response, AppError> {
    let round = round_of(&st, id).await?;
    let (_, owner) = unit_target(&st, round.owner_unit_id).await?;
    require(&auth.principal, Action::ManageRound, &owner)?;
    let due = bdtx_domain::dates::parse_date(&f.due).ok_or_else(|| AppError::invalid("due", "invalid_date"))?;
    st.db.set_report_due(Some(auth.account.id), id, due).await?;
    Ok(Redirect::to(&format!("/rounds/{id}/reports")).into_response())
}
