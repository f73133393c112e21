//! The yearly cycle as JSON (documented in the OpenAPI of `/api/v1`): a person's yearly plan and
//! results, and the classified list of a unit, with the same access rules as `/yearly`
//! (`ViewYearly` through `decide`: people outside one's scope are 404, units 403; a draft plan is
//! its author's only).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use bdtx_domain::authz::Action;
use bdtx_store::yearly::{YearItem, YearPlan, YearlyReport, current_school_year};

use crate::AppState;
use crate::access::{require, unit_target};
use crate::auth::Auth;
use crate::error::ApiErrorBody;
use crate::error::{AppError, Json, Path, Query};
use crate::yearly_pages::{person_target, plan_access};

#[derive(Deserialize, IntoParams)]
pub struct YearParam {
    /// School year, e.g. 2024-2025 (default: the current one).
    year: Option<String>,
}

fn year_of(q: &YearParam) -> Result<String, AppError> {
    let y = q.year.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(current_school_year);
    let start =
        bdtx_domain::scoring::parse_school_year(&y).ok_or_else(|| AppError::invalid("school_year", "school_year"))?;
    Ok(format!("{start}-{}", start + 1))
}

/// A person's plan of a year (none yet: `plan` is null) with its items and scores (hundredths).
#[derive(Serialize, ToSchema)]
pub struct ApiYearPlan {
    school_year: String,
    plan: Option<YearPlan>,
    items: Vec<YearItem>,
}

/// A person's yearly BDTX plan and results: themselves and admins over them (others: 404).
#[utoipa::path(get, path = "/api/v1/yearly/people/{id}", tag = "yearly", params(("id" = i64, Path, description = "person"), YearParam), security(("bearer" = [])),
    responses((status = 200, body = ApiYearPlan), (status = 404, body = ApiErrorBody)))]
pub async fn api_person_year(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<YearParam>,
) -> Result<Json<ApiYearPlan>, AppError> {
    let year = year_of(&q)?;
    st.db.person(id).await?.ok_or(AppError::NotFound)?;
    require(&auth.principal, Action::ViewYearly, &person_target(&st, id).await?)?;
    let (plan, items) = match st.db.year_plan_of(id, &year).await? {
        Some(p) => {
            // The plan's own rules: its approver's admins too, a draft its author only.
            let (plan, _) = plan_access(&st, &auth, p.id).await?;
            let items = st.db.year_items(plan.id).await?;
            (Some(plan), items)
        }
        None => (None, vec![]),
    };
    Ok(Json(ApiYearPlan { school_year: year, plan, items }))
}

/// One row of a unit's classified list.
#[derive(Serialize, ToSchema)]
pub struct ApiClassified {
    plan_id: i64,
    person_id: i64,
    person_name: String,
    position: String,
    unit_name: Option<String>,
    policy: String,
    /// Hundredths (850 = 8,5); null until classified.
    average: Option<i64>,
    class_key: Option<String>,
    class_label: Option<String>,
    exemption: Option<String>,
}

/// A unit's classified list of a year and what it sent upward.
#[derive(Serialize, ToSchema)]
pub struct ApiClassifiedList {
    unit_id: i64,
    school_year: String,
    rows: Vec<ApiClassified>,
    report: Option<YearlyReport>,
}

/// The classified list of a unit (approved plans in its subtree): admins over the unit (others: 403).
#[utoipa::path(get, path = "/api/v1/yearly/units/{id}/classified", tag = "yearly", params(("id" = i64, Path, description = "unit"), YearParam), security(("bearer" = [])),
    responses((status = 200, body = ApiClassifiedList), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn api_unit_classified(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<YearParam>,
) -> Result<Json<ApiClassifiedList>, AppError> {
    let year = year_of(&q)?;
    let (_, target) = unit_target(&st, id).await?;
    require(&auth.principal, Action::ViewYearly, &target)?;
    let rows = st
        .db
        .year_plans_in(Some(id), &year)
        .await?
        .into_iter()
        .filter(|p| p.status == "approved")
        .map(|p| ApiClassified {
            plan_id: p.id,
            person_id: p.person_id,
            person_name: p.person_name,
            position: p.position,
            unit_name: p.unit_name,
            policy: p.policy,
            average: p.result_average,
            class_key: p.result_class,
            class_label: p.result_label,
            exemption: p.exemption,
        })
        .collect();
    let report = st.db.yearly_report(id, &year).await?;
    Ok(Json(ApiClassifiedList { unit_id: id, school_year: year, rows, report }))
}
