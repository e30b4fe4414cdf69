//! `GET /api/aggregates`: the incremental aggregates, as the dashboards read them (counts
//! and histograms only, never personal data).

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
