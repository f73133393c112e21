//! Requests pages: schools file corrections/support needs (Mẫu số 3) and additions (Mẫu số 4) to
//! the level above, which resolves or rejects them; lists show deadlines and what is late; both
//! forms download as .xlsx laid out like the official forms.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_store::requests::Request;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{AppError, Form, Path, Query};
use crate::pages::Ctx;
use crate::service::{self, RequestInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/requests", get(list).post(file))
        .route("/requests/export", get(export))
        .route("/requests/{id}/resolve", post(resolve))
}

#[derive(Deserialize)]
struct ListQuery {
    kind: Option<String>,
    unit: Option<i64>,
}

pub struct Row {
    pub r: Request,
    pub late: bool,
    pub can_resolve: bool,
    pub proposed: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "requests.html")]
struct ListPage {
    ctx: Ctx,
    kind: String,
    rows: Vec<Row>,
}

fn kind_of(k: Option<&str>) -> String {
    if k == Some("addition") { "addition".into() } else { "correction".into() }
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> Result<ListPage, AppError> {
    let kind = kind_of(q.kind.as_deref());
    let mut rows = Vec::new();
    for r in service::requests(&st, &auth.principal, &kind, q.unit).await? {
        let can_resolve = r.status == "open" && service::can_resolve(&st, &auth.principal, r.to_unit_id).await?;
        let proposed = r
            .proposed()
            .map(|f| {
                let birth = f.birth_date.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default();
                format!("{} {birth} {}", f.full_name, f.national_id.unwrap_or_default())
            })
            .unwrap_or_default();
        rows.push(Row { late: r.late(), can_resolve, proposed, r });
    }
    Ok(ListPage { ctx, kind, rows })
}

async fn file(State(st): State<AppState>, auth: Auth, Form(f): Form<RequestInput>) -> Result<Response, AppError> {
    service::file_request(&st, &auth.principal, &f).await?;
    Ok(Redirect::to(&format!("/requests?kind={}&ok=requests.filed", kind_of(Some(&f.kind)))).into_response())
}

#[derive(Deserialize)]
struct ResolveForm {
    accept: Option<String>,
    resolution: Option<String>,
}

async fn resolve(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ResolveForm>,
) -> Result<Response, AppError> {
    let accept = f.accept.as_deref() == Some("1");
    let r = st.db.request(id).await?.ok_or(AppError::NotFound)?;
    service::resolve_request(&st, &auth.principal, id, accept, f.resolution.as_deref().unwrap_or("")).await?;
    Ok(Redirect::to(&format!("/requests?kind={}&ok=requests.resolved", r.kind)).into_response())
}

async fn export(State(st): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Result<Response, AppError> {
    let kind = kind_of(q.kind.as_deref());
    let rows = service::requests(&st, &auth.principal, &kind, q.unit).await?;
    let within = crate::access::scope(&st, &auth.principal, q.unit, bdtx_domain::authz::Action::ViewPerson).await?;
    let unit_name = match within {
        Some(u) => st.db.unit(u).await?.map(|u| u.name).unwrap_or_default(),
        None => "Bộ Giáo dục và Đào tạo".into(),
    };
    let bytes =
        bdtx_roster::forms::form_xlsx(&kind, &unit_name, &rows).map_err(|e| AppError::Internal(e.to_string()))?;
    let name = if kind == "addition" { "mau-so-4.xlsx" } else { "mau-so-3.xlsx" };
    Ok(crate::download::attachment(bytes, crate::download::XLSX, name))
}
