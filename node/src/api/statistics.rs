//! `GET /api/statistics` (the network-wide picture of published statistics, and at a CSO
//! the months it may still publish) and `POST /api/statistics/publish`.

use super::{ApiError, ApiResult, ApiState};
use crate::statistics;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use ilm_protocol::{Month, Role};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// How many ended months a CSO is offered to publish, counting back from the last one.
pub const PUBLISHABLE_MONTHS: usize = 12;

/// The ended months of the last year this node has not published, newest first (none but at
/// a CSO).
pub fn publishable(st: &ApiState) -> Result<Vec<Month>, ApiError> {
    if st.role != Role::Cso {
        return Ok(Vec::new());
    }
    let me = st.keys.org_id();
    let mut out = Vec::new();
    let mut m = Month::of(crate::membership::now()).previous();
    for _ in 0..PUBLISHABLE_MONTHS {
        let Some(month) = m else { break };
        if statistics::publication(&st.store, month, &me)?.is_none() {
            out.push(month);
        }
        m = month.previous();
    }
    Ok(out)
}

/// The network-wide picture, the threshold this node publishes with, and what it may still
/// publish.
pub(crate) async fn statistics(State(st): State<Arc<ApiState>>) -> ApiResult {
    let months = statistics::network_picture(&st.store, &st.membership)?;
    Ok(Json(json!({
        "k": st.statistics.k,
        "months": months,
        "publishable": publishable(&st)?,
    })))
}

/// What `POST /api/statistics/publish` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishBody {
    month: String,
    /// The fingerprint of the tables the operator reviewed (the Statistics page sends it).
    #[serde(default)]
    expect: Option<String>,
}

/// Publishes this CSO's statistics of an ended month to every member.
pub(crate) async fn publish(
    State(st): State<Arc<ApiState>>,
    b: Result<Json<PublishBody>, JsonRejection>,
) -> ApiResult {
    let b = b.map(|Json(v)| v).map_err(ApiError::from)?;
    let month: Month = b
        .month
        .parse()
        .map_err(|e: ilm_protocol::StatisticsError| ApiError::bad(e.to_string()))?;
    let expect = match b.expect.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(
            e.parse::<ilm_protocol::Digest>()
                .map_err(|_| ApiError::bad("expect: a fingerprint of 64 hex digits"))?,
        ),
        None => None,
    };
    let stored = st
        .core
        .publish_statistics(month, st.statistics.k, expect)
        .await?;
    let body: ilm_protocol::PublishedStatistics = serde_json::from_slice(&stored.record.body)
        .map_err(|e| {
            ApiError(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("the publication just signed is unreadable: {e}"),
            )
        })?;
    Ok(Json(json!({
        "month": body.month,
        "k": body.k,
        "published_at": crate::clock::fmt_time(body.published_at),
        "tables": body.tables,
        "record": stored.record,
    })))
}
