//! `GET /api/improvements` (the improvement-plan activities this node holds: its own, or
//! those of the suppliers and agencies it buys from or works with) and
//! `POST /api/improvements` (a supplier or agency records or updates one of its own) and
//! `POST /api/improvements/withdraw` (takes one out of its plan).

use super::{ApiError, ApiResult, ApiState};
use crate::core::ActivityInput;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use ilm_protocol::{ActivityId, ActivityKind, ImprovementActivity, OrgId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// One activity as the API and the pages show it: the signed activity's fields and the
/// organisation's name.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityView {
    /// The activity as its organisation signed it.
    #[serde(flatten)]
    pub activity: ImprovementActivity,
    /// The organisation's name in the member directory.
    pub org_name: Option<String>,
}

/// Every activity held (signatures were verified when each was stored), by organisation,
/// then the date its chart marks.
pub fn held(store: &Store, membership: &MembershipState) -> Result<Vec<ActivityView>, StoreError> {
    let mut out: Vec<ActivityView> = store
        .scan::<ilm_protocol::SignedRecord>(&schema::IMPROVEMENTS, &[])?
        .into_iter()
        .filter_map(|r| serde_json::from_slice::<ImprovementActivity>(&r.body).ok())
        // A withdrawn activity is no longer part of the plan, nor a marker on any chart.
        .filter(|a| !a.withdrawn)
        .map(|a| ActivityView {
            org_name: membership.certificate(&a.org).map(|c| c.name),
            activity: a,
        })
        .collect();
    out.sort_by_key(|a| (a.activity.org, a.activity.marker_date()));
    Ok(out)
}

/// The activities of one organisation's plan.
pub fn of_org(
    store: &Store,
    membership: &MembershipState,
    org: &OrgId,
) -> Result<Vec<ActivityView>, StoreError> {
    Ok(held(store, membership)?
        .into_iter()
        .filter(|a| a.activity.org == *org)
        .collect())
}

/// Every activity this node holds.
pub(crate) async fn list(State(st): State<Arc<ApiState>>) -> ApiResult {
    Ok(Json(
        json!({ "activities": held(&st.store, &st.membership)? }),
    ))
}

/// What `POST /api/improvements` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivityBody {
    /// The activity to update (absent: a new one).
    #[serde(default)]
    id: Option<String>,
    kind: ActivityKind,
    title: String,
    #[serde(default)]
    description: String,
    /// YYYY-MM-DD.
    planned_for: String,
    /// YYYY-MM-DD, when completed.
    #[serde(default)]
    completed_at: Option<String>,
}

/// A day written YYYY-MM-DD, as its first second (UTC).
pub fn parse_day(s: &str, what: &str) -> Result<Timestamp, ApiError> {
    let bad = || ApiError::bad(format!("{what}: a day as YYYY-MM-DD"));
    let t = humantime::parse_rfc3339(&format!("{}T00:00:00Z", s.trim())).map_err(|_| bad())?;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad())?
        .as_secs();
    Ok(Timestamp(secs))
}

/// Records or updates one activity of this organisation's plan, signed and sent.
pub(crate) async fn record(
    State(st): State<Arc<ApiState>>,
    b: Result<Json<ActivityBody>, JsonRejection>,
) -> ApiResult {
    let b = b.map(|Json(v)| v).map_err(ApiError::from)?;
    let id = match b.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<ActivityId>()
                .map_err(|_| ApiError::bad("id: an activity id (32 hex digits)"))?,
        ),
        None => None,
    };
    let completed_at = match b.completed_at.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => Some(parse_day(d, "completed_at")?),
        _ => None,
    };
    let input = ActivityInput {
        id,
        kind: b.kind,
        title: b.title,
        description: b.description,
        planned_for: parse_day(&b.planned_for, "planned_for")?,
        completed_at,
        withdraw: false,
    };
    let rec = st.core.record_activity(input).await?;
    let a: ImprovementActivity = serde_json::from_slice(&rec.body).map_err(|e| {
        ApiError(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the activity just signed is unreadable: {e}"),
        )
    })?;
    Ok(Json(json!({ "id": a.id, "activity": a, "record": rec })))
}

/// Which activity to withdraw.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WithdrawBody {
    id: String,
}

/// Withdraws one activity of this organisation's plan: a new version, signed and sent to
/// the same organisations, after which no chart marks it.
pub(crate) async fn withdraw(
    State(st): State<Arc<ApiState>>,
    b: Result<Json<WithdrawBody>, JsonRejection>,
) -> ApiResult {
    let Json(b) = b.map_err(ApiError::from)?;
    let id =
        b.id.trim()
            .parse::<ActivityId>()
            .map_err(|_| ApiError::bad("id: an activity id (32 hex digits)"))?;
    let held = crate::core::activity(&st.store, &st.keys.org_id(), &id)?
        .and_then(|r| serde_json::from_slice::<ImprovementActivity>(&r.body).ok())
        .ok_or_else(|| {
            ApiError(
                axum::http::StatusCode::NOT_FOUND,
                "no such activity in this plan".into(),
            )
        })?;
    let input = ActivityInput {
        id: Some(id),
        kind: held.kind,
        title: held.title,
        description: held.description,
        planned_for: held.planned_for,
        completed_at: held.completed_at,
        withdraw: true,
    };
    st.core.record_activity(input).await?;
    Ok(Json(json!({ "withdrawn": id })))
}
