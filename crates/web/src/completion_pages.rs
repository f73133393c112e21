//! Completion: the core person's and the university's sign-offs on a class (one learner or the
//! whole class at once, undo with a reason), a key lecturer's list of classes to confirm, and a
//! round's completers approved by the province and exported as .xlsx.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use bdtx_domain::authz::{Action, Role};
use bdtx_domain::completion::Gate;
use bdtx_store::completion::{Approval, SignOffRow};
use bdtx_store::rounds::{Class, Round};

use crate::AppState;
use crate::access::{require, unit_target};
use crate::auth::Auth;
use crate::error::{AppError, Path};
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

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_bytes(body).map_err(|_| AppError::invalid("signoff", "malformed"))
}

async fn signoff_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (class, r) = rights(&st, &auth, id).await?;
    let pairs = form_pairs(&body)?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let gate = Gate::parse(get("gate").unwrap_or("")).ok_or_else(|| AppError::invalid("gate", "invalid"))?;
    match gate {
        Gate::Core if !r.core => return Err(AppError::Forbidden),
        Gate::University if !r.university => return Err(AppError::Forbidden),
        _ => {}
    }
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
    let n = st
        .db
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
    let _ = n;
    Ok(see(&format!("/classes/{id}/signoff?ok=completion.marked")))
}

async fn undo_submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (class, r) = rights(&st, &auth, id).await?;
    let pairs = form_pairs(&body)?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let gate = Gate::parse(get("gate").unwrap_or("")).ok_or_else(|| AppError::invalid("gate", "invalid"))?;
    match gate {
        Gate::Core if !r.core => return Err(AppError::Forbidden),
        Gate::University if !r.university => return Err(AppError::Forbidden),
        _ => {}
    }
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
    let mut res = Body::from(bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"hoan-thanh.xlsx\""));
    Ok(res)
}
