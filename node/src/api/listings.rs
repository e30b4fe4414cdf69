//! `GET /api/listings` (the job listings this node holds: an agency's or supplier's own, or
//! at a CSO those its portal shows, each with the cases that contradict it),
//! `POST /api/listings` (an agency or supplier publishes or replaces one) and
//! `POST /api/listings/withdraw` (takes one down).

use super::{ApiError, ApiResult, ApiState};
use crate::core::ListingInput;
use crate::membership::now;
use crate::portal::jobs::{self, ListingView};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use ilm_protocol::{
    Country, DocumentsKeeper, JobListing, ListingId, Money, Role, WagePeriod, WorkerCost,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

type St = State<Arc<ApiState>>;

/// A listing as the API and the CSO's page show it: at a CSO, with the cases it opened later
/// against the publisher that name fees the listing does not charge.
#[derive(Debug, Clone, Serialize)]
pub struct HeldListing {
    /// The listing and its publisher.
    #[serde(flatten)]
    pub view: ListingView,
    /// The contradicting cases (at a CSO; empty elsewhere).
    pub contradictions: Vec<jobs::Contradiction>,
}

/// Every listing this node holds from a current publisher, newest first, with the
/// contradictions a CSO finds.
pub fn held(st: &ApiState) -> Result<Vec<HeldListing>, ApiError> {
    let me = st.keys.org_id();
    let mut out = Vec::new();
    for view in jobs::held(&st.store, &st.membership, now())? {
        let contradictions = if st.role == Role::Cso {
            jobs::contradictions(&st.store, &st.membership, &me, &view.listing)
                .map_err(|e| ApiError(axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
        } else {
            Vec::new()
        };
        out.push(HeldListing {
            view,
            contradictions,
        });
    }
    Ok(out)
}

pub(crate) async fn list(State(st): St) -> ApiResult {
    Ok(Json(json!({ "listings": held(&st)? })))
}

/// One cost as the API takes it (a row with neither item nor amount is left out).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CostBody {
    #[serde(default)]
    item: String,
    #[serde(default)]
    amount: Option<Money>,
}

/// What `POST /api/listings` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListingBody {
    /// The listing to replace (absent: a new one).
    #[serde(default)]
    id: Option<String>,
    employer: String,
    site: String,
    job: String,
    #[serde(default)]
    description: String,
    origin: Country,
    destination: Country,
    workers_wanted: u32,
    wage: Money,
    wage_period: WagePeriod,
    hours_per_week: u32,
    contract_months: u32,
    /// Comma-separated, or a list.
    contract_languages: Languages,
    #[serde(default)]
    costs: Vec<CostBody>,
    documents_kept_by: DocumentsKeeper,
    /// Days from now until it ends (1 to 180).
    days: u32,
}

/// Contract languages as a list or one comma-separated text (as a form sends them).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Languages {
    List(Vec<String>),
    Text(String),
}

impl Languages {
    fn into_list(self) -> Vec<String> {
        let all = match self {
            Languages::List(l) => l,
            Languages::Text(t) => t.split(',').map(str::to_string).collect(),
        };
        all.into_iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

fn parse_id(s: &str) -> Result<ListingId, ApiError> {
    s.trim()
        .parse::<ListingId>()
        .map_err(|_| ApiError::bad("id: a listing id (32 hex digits)"))
}

fn answer(rec: &ilm_protocol::SignedRecord) -> ApiResult {
    let l: JobListing = serde_json::from_slice(&rec.body)
        .map_err(|e| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!({ "listing": l, "key": l.key() })))
}

/// Publishes (or replaces) one of this organisation's listings, signed and sent to every
/// CSO.
pub(crate) async fn publish(
    State(st): St,
    b: Result<Json<ListingBody>, JsonRejection>,
) -> ApiResult {
    let b = b.map(|Json(v)| v).map_err(ApiError::from)?;
    let id = match b.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_id(s)?),
        None => None,
    };
    if !(1..=180).contains(&b.days) {
        return Err(ApiError::bad("days: 1 to 180"));
    }
    let mut costs = Vec::new();
    for c in b.costs {
        match (c.item.trim(), c.amount) {
            ("", None) => {}
            (item, Some(amount)) if !item.is_empty() => costs.push(WorkerCost {
                item: item.to_string(),
                amount,
            }),
            _ => {
                return Err(ApiError::bad(
                    "costs: each cost needs what it is for and an amount",
                ));
            }
        }
    }
    let input = ListingInput {
        id,
        employer: b.employer,
        site: b.site,
        job: b.job,
        description: b.description.replace("\r\n", "\n"),
        origin: b.origin,
        destination: b.destination,
        workers_wanted: b.workers_wanted,
        wage: b.wage,
        wage_period: b.wage_period,
        hours_per_week: b.hours_per_week,
        contract_months: b.contract_months,
        contract_languages: b.contract_languages.into_list(),
        costs,
        documents_kept_by: b.documents_kept_by,
        days: b.days,
    };
    let rec = st.core.publish_listing(input).await?;
    answer(&rec)
}

/// Which listing to take down.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListingKey {
    id: String,
}

/// Takes one of this organisation's listings down (a withdrawn version, sent to every CSO).
pub(crate) async fn withdraw(
    State(st): St,
    b: Result<Json<ListingKey>, JsonRejection>,
) -> ApiResult {
    let Json(k) = b.map_err(ApiError::from)?;
    let rec = st.core.withdraw_listing(parse_id(&k.id)?).await?;
    answer(&rec)
}
