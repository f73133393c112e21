//! Completion: the core person's and the university's sign-offs on a class (one learner or the
//! whole class at once, undo with a reason), a key lecturer's list of classes to confirm, and a
//! round's completers approved by the province and exported as .xlsx.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use bdtx_domain::authz::{Action, Role};
use bdtx_domain::completion::Gate;
use bdtx_store::completion::{Approval, SignOffRow};
use bdtx_store::rounds::{Class, Round};

use crate::AppState;
use crate::access::{require, unit_target};
use crate::auth::Auth;
use crate::error::{AppError, Path, Query};
use crate::learn::class_target;
use crate::pages::Ctx;
use crate::rounds_pages::round_access;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/classes/{id}/signoff", get(signoff_page).post(signoff_submit))
        .route("/classes/{id}/signoff/undo", post(undo_submit))
        .route("/confirm", get(confirm_page))
        .route("/rounds/{id}/completers", get(completers_page).post(approve_submit))
        .route("/rounds/{id}/completers.xlsx", get(completers_xlsx))
        .route("/rounds/{id}/periods", get(periods_page))
        .route("/rounds/{id}/periods.xlsx", get(periods_xlsx))
        .route("/rounds/{id}/concurrent", get(concurrent_page))
        .route("/rounds/{id}/concurrent.xlsx", get(concurrent_xlsx))
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// What the caller may do on a class's sign-off page.
struct Rights {
    core: bool,
    university: bool,
}

async fn rights(st: &AppState, auth: &Auth, class_id: i64) -> Result<(Class, Rights), AppError> {
    let (class, target) = class_target(st, &auth.principal, class_id).await?;
    let r = Rights {
        core: auth.principal.can(Action::SignOffCore, &target),
        university: auth.principal.can(Action::SignOffUniversity, &target),
    };
    if !r.core && !r.university {
        require(&auth.principal, Action::ViewRound, &target)?;
    }
    Ok((class, r))
}

#[derive(Template, WebTemplate)]
#[template(path = "signoff.html")]
struct SignOffPage {
    ctx: Ctx,
    class: Class,
    rows: Vec<SignOffRow>,
    can_core: bool,
    can_university: bool,
}

async fn signoff_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<SignOffPage, AppError> {
    let (class, r) = rights(&st, &auth, id).await?;
    Ok(SignOffPage {
        ctx,
        rows: st.db.class_signoffs(id).await?,
        class,
        can_core: r.core,
        can_university: r.university,
    })
}

/// A sign-off form: the class, its fields, and the step named by `gate`, which the caller must
/// be allowed to give (the core step for the class's core people, the university's for key
/// lecturers).
async fn gate_form(
    st: &AppState,
    auth: &Auth,
    class_id: i64,
    body: &[u8],
) -> Result<(Class, Vec<(String, String)>, Gate), AppError> {
    let (class, r) = rights(st, auth, class_id).await?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| AppError::invalid("signoff", "malformed"))?;
    let gate = pairs
        .iter()
        .find(|(k, _)| k == "gate")
        .and_then(|(_, v)| Gate::parse(v))
        .ok_or_else(|| AppError::invalid("gate", "invalid"))?;
    let allowed = match gate {
        Gate::Core => r.core,
        Gate::University => r.university,
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    Ok((class, pairs, gate))
}

async fn signoff_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (class, pairs, gate) = gate_form(&st, &auth, id, &body).await?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let pass = get("pass") == Some("1");
    let rows = st.db.class_signoffs(id).await?;
    let ids: Vec<i64> = if get("all") == Some("1") {
        // The whole class: everyone the step can be given to now.
        rows.iter().filter(|x| x.state().check_mark(gate, pass).is_ok()).map(|x| x.enrollment_id).collect()
    } else {
        let chosen: Vec<i64> = pairs.iter().filter(|(k, _)| k == "e").filter_map(|(_, v)| v.parse().ok()).collect();
        if chosen.iter().any(|e| !rows.iter().any(|x| x.enrollment_id == *e)) {
            return Err(AppError::invalid("enrollment", "not_in_class"));
        }
        chosen
    };
    st.db
        .sign_off(
            Some(auth.account.id),
            auth.principal.person_id,
            &ids,
            gate,
            pass,
            get("comment").unwrap_or(""),
            Some(class.unit_id),
        )
        .await?;
    Ok(see(&format!("/classes/{id}/signoff?ok=completion.marked")))
}

async fn undo_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (class, pairs, gate) = gate_form(&st, &auth, id, &body).await?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let e: i64 = get("e").and_then(|v| v.parse().ok()).ok_or_else(|| AppError::invalid("enrollment", "invalid"))?;
    if !st.db.class_signoffs(id).await?.iter().any(|x| x.enrollment_id == e) {
        return Err(AppError::invalid("enrollment", "not_in_class"));
    }
    st.db.undo_sign_off(Some(auth.account.id), e, gate, get("reason").unwrap_or(""), Some(class.unit_id)).await?;
    Ok(see(&format!("/classes/{id}/signoff?ok=completion.undone")))
}

#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    ctx: Ctx,
    classes: Vec<Class>,
}

/// A key lecturer's classes: those of rounds in the provinces their university covers.
async fn confirm_page(State(st): State<AppState>, ctx: Ctx, auth: Auth) -> Result<ConfirmPage, AppError> {
    let provinces: Vec<i64> =
        auth.principal.grants.iter().filter(|g| g.role == Role::KeyLecturer).flat_map(|g| g.reach.clone()).collect();
    if provinces.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(ConfirmPage { ctx, classes: st.db.classes_in_provinces(&provinces).await? })
}

#[derive(Template, WebTemplate)]
#[template(path = "completers.html")]
struct CompletersPage {
    ctx: Ctx,
    round: Round,
    rows: Vec<SignOffRow>,
    approvals: Vec<Approval>,
    can_approve: bool,
}

async fn completers_scope(st: &AppState, auth: &Auth, id: i64) -> Result<(Round, Option<i64>, bool), AppError> {
    let round = st.db.round(id).await?.ok_or(AppError::NotFound)?;
    let access = round_access(st, &auth.principal, &round).await?;
    let (_, owner) = unit_target(st, round.owner_unit_id).await?;
    let can_approve = access.within.is_none() && auth.principal.can(Action::ApproveCompleters, &owner);
    Ok((round, access.within, can_approve))
}

async fn completers_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<CompletersPage, AppError> {
    let (round, within, can_approve) = completers_scope(&st, &auth, id).await?;
    Ok(CompletersPage {
        ctx,
        rows: st.db.round_completers(id, within).await?,
        approvals: st.db.approvals(id).await?,
        can_approve,
        round,
    })
}

async fn approve_submit(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (round, _, can_approve) = completers_scope(&st, &auth, id).await?;
    if !can_approve {
        return Err(AppError::Forbidden);
    }
    st.db.approve_completers(Some(auth.account.id), id, round.owner_unit_id).await?;
    Ok(see(&format!("/rounds/{id}/completers?ok=completion.approved")))
}

async fn completers_xlsx(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (round, within, _) = completers_scope(&st, &auth, id).await?;
    let rows = st.db.round_completers(id, within).await?;
    let unit = st.db.unit(within.unwrap_or(round.owner_unit_id)).await?.map(|u| u.name).unwrap_or_default();
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.full_name.clone(),
                r.unit_name.clone(),
                r.subject.clone(),
                r.core_at.map(bdtx_domain::dates::show_instant).unwrap_or_default(),
                r.university_at.map(bdtx_domain::dates::show_instant).unwrap_or_default(),
            ]
        })
        .collect();
    let title = format!("DANH SÁCH HỌC VIÊN HOÀN THÀNH {}", round.title.to_uppercase());
    let bytes = bdtx_roster::forms::list_xlsx(
        "Hoàn thành",
        &unit,
        &title,
        &["STT", "Họ và tên", "Đơn vị", "Môn", "Báo cáo viên đánh giá đạt", "Trường ĐH xác nhận"],
        &table,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(xlsx(bytes, "hoan-thanh.xlsx"))
}

fn xlsx(bytes: Vec<u8>, name: &'static str) -> Response {
    crate::download::attachment(bytes, crate::download::XLSX, name)
}

/// The rules of the round's province: periods per group of learners and the payer by level.
async fn stipend_rules(
    st: &AppState,
    round: &Round,
) -> Result<(bdtx_domain::stipend::PeriodRule, std::collections::HashMap<String, String>), AppError> {
    let settings = st.db.stipend_settings(round.owner_unit_id).await?;
    let mut rule = bdtx_domain::stipend::PeriodRule::default();
    if let Some(v) = settings.get("periods_per_group").and_then(|v| v.parse().ok()) {
        rule.periods_per_group = v;
    }
    if let Some(v) = settings.get("group_size").and_then(|v| v.parse().ok()) {
        rule.group_size = v;
    }
    Ok((rule, settings))
}

async fn periods_rows(
    st: &AppState,
    auth: &Auth,
    id: i64,
) -> Result<(Round, Vec<bdtx_store::stipends::PeriodsRow>, bdtx_domain::stipend::PeriodRule), AppError> {
    let round = st.db.round(id).await?.ok_or(AppError::NotFound)?;
    let access = round_access(st, &auth.principal, &round).await?;
    let (rule, settings) = stipend_rules(st, &round).await?;
    let payer_of = |level: Option<bdtx_domain::org::Level>| {
        level
            .and_then(|l| settings.get(&format!("payer_{}", l.as_str())))
            .and_then(|v| bdtx_domain::stipend::Payer::parse(v))
            .unwrap_or_else(|| bdtx_domain::stipend::Payer::default_for(level))
    };
    let rows = st.db.round_periods(id, access.within, rule, &payer_of).await?;
    Ok((round, rows, rule))
}

#[derive(Template, WebTemplate)]
#[template(path = "periods.html")]
struct PeriodsPage {
    ctx: Ctx,
    round: Round,
    rows: Vec<bdtx_store::stipends::PeriodsRow>,
    rule: bdtx_domain::stipend::PeriodRule,
}

async fn periods_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<PeriodsPage, AppError> {
    let (round, rows, rule) = periods_rows(&st, &auth, id).await?;
    Ok(PeriodsPage { ctx, round, rows, rule })
}

#[derive(serde::Deserialize)]
struct PayerQuery {
    payer: Option<String>,
}

/// The stipend sheet: by payer (`?payer=school` or `province`), or everyone.
async fn periods_xlsx(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<PayerQuery>,
) -> Result<Response, AppError> {
    let (round, rows, _) = periods_rows(&st, &auth, id).await?;
    let payer = q.payer.as_deref().and_then(bdtx_domain::stipend::Payer::parse);
    let table: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| payer.is_none_or(|p| r.payer == p.as_str()))
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.full_name.clone(),
                r.unit_name.clone(),
                r.level.clone().unwrap_or_default(),
                r.classes.join("; "),
                format!("{}", r.learners),
                format!("{}", r.periods),
                if r.payer == "school" { "Trường".into() } else { "Sở GDĐT".into() },
            ]
        })
        .collect();
    let unit = st.db.unit(round.owner_unit_id).await?.map(|u| u.name).unwrap_or_default();
    let bytes = bdtx_roster::forms::list_xlsx(
        "Tiết quy đổi",
        &unit,
        &format!("BẢNG TỔNG HỢP TIẾT QUY ĐỔI HỖ TRỢ ĐỒNG NGHIỆP – {}", round.title.to_uppercase()),
        &["STT", "Họ và tên", "Đơn vị", "Cấp học", "Lớp hỗ trợ", "Số học viên", "Số tiết quy đổi", "Đơn vị chi trả"],
        &table,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(xlsx(bytes, "tiet-quy-doi.xlsx"))
}

#[derive(Template, WebTemplate)]
#[template(path = "concurrent.html")]
struct ConcurrentPage {
    ctx: Ctx,
    round: Round,
    rows: Vec<bdtx_store::stipends::ConcurrentRow>,
}

async fn concurrent_rows(
    st: &AppState,
    auth: &Auth,
    id: i64,
) -> Result<(Round, Vec<bdtx_store::stipends::ConcurrentRow>), AppError> {
    let round = st.db.round(id).await?.ok_or(AppError::NotFound)?;
    let access = round_access(st, &auth.principal, &round).await?;
    let rows = st.db.round_concurrent(id, access.within).await?;
    Ok((round, rows))
}

async fn concurrent_page(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<ConcurrentPage, AppError> {
    let (round, rows) = concurrent_rows(&st, &auth, id).await?;
    Ok(ConcurrentPage { ctx, round, rows })
}

async fn concurrent_xlsx(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (round, rows) = concurrent_rows(&st, &auth, id).await?;
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.full_name.clone(),
                r.birth_date.as_deref().map(bdtx_domain::dates::show).unwrap_or_default(),
                r.unit_name.clone(),
                r.main_subject.clone(),
                r.subject.clone(),
                format!("{}/{}", r.items_done, r.items_required),
            ]
        })
        .collect();
    let unit = st.db.unit(round.owner_unit_id).await?.map(|u| u.name).unwrap_or_default();
    let bytes = bdtx_roster::forms::list_xlsx(
        "Môn kiêm nhiệm",
        &unit,
        &format!("DANH SÁCH THAM GIA HỌC MÔN KIÊM NHIỆM – {}", round.title.to_uppercase()),
        &["STT", "Họ và tên", "Ngày sinh", "Đơn vị", "Môn chính", "Môn kiêm nhiệm", "Hoạt động đã hoàn thành"],
        &table,
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(xlsx(bytes, "mon-kiem-nhiem.xlsx"))
}
