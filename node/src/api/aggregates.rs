//! `GET /api/aggregates` (the incremental aggregates, as the dashboards read them: counts and
//! histograms only, never personal data) and `GET /api/scorecards` (a brand's figures per
//! linked supplier).

use super::{ApiResult, ApiState};
use axum::Json;
use axum::extract::State;
use serde_json::json;
use std::sync::Arc;

/// Every aggregate cell and its value.
pub(crate) async fn aggregates(State(st): State<Arc<ApiState>>) -> ApiResult {
    let cells = crate::aggregates::held(&st.store)?;
    Ok(Json(json!({ "aggregates": cells })))
}

/// A brand's scorecard of each linked supplier (empty for other roles: they link no
/// supplier as a brand).
pub(crate) async fn scorecards(State(st): State<Arc<ApiState>>) -> ApiResult {
    let cards = crate::scorecard::scorecards(
        &st.store,
        &st.membership,
        &st.keys.org_id(),
        crate::membership::now(),
    )?;
    Ok(Json(json!({ "scorecards": cards })))
}
