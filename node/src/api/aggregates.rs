//! `GET /api/aggregates` (the incremental aggregates, as the dashboards read them: counts and
//! histograms only, never personal data) and `GET /api/scorecards` (a brand's figures per
//! linked supplier).

use super::{ApiError, ApiResult, ApiState};
use crate::scorecard::Filter;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde_json::json;
use std::sync::Arc;

/// Every aggregate cell and its value.
pub(crate) async fn aggregates(State(st): State<Arc<ApiState>>) -> ApiResult {
    let cells = crate::aggregates::held(&st.store)?;
    Ok(Json(json!({ "aggregates": cells })))
}

/// This node's scorecards now (empty but at a brand: no other role links suppliers),
/// narrowed by the query's `from`, `to` and `category`.
fn cards(
    st: &ApiState,
    q: Result<Query<Filter>, QueryRejection>,
) -> Result<Vec<crate::scorecard::Scorecard>, ApiError> {
    let Query(filter) = q.map_err(|e| ApiError::bad(e.body_text()))?;
    let narrowing = filter.parse().map_err(|e| ApiError::bad(e.to_string()))?;
    Ok(crate::scorecard::scorecards(
        &st.store,
        &st.membership,
        &st.keys.org_id(),
        crate::membership::now(),
        &narrowing,
    )?)
}

/// A brand's scorecard of each linked supplier.
pub(crate) async fn scorecards(
    State(st): State<Arc<ApiState>>,
    q: Result<Query<Filter>, QueryRejection>,
) -> ApiResult {
    Ok(Json(json!({ "scorecards": cards(&st, q)? })))
}

/// The scorecards as a CSV download (the Supply chain page links to it).
pub(crate) async fn scorecards_csv(
    State(st): State<Arc<ApiState>>,
    q: Result<Query<Filter>, QueryRejection>,
) -> Result<axum::response::Response, super::ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let rows: Vec<serde_json::Value> = cards(&st, q)?.iter().map(|c| json!(c)).collect();
    let body = crate::csv::from_json(&crate::csv::SCORECARD_COLUMNS, &rows);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"scorecards.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
