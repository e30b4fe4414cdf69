//! Ratings at the admin listener: `GET /api/ratings` (the published ratings this node may
//! see: every one at a CSO or steward, an organisation's own, a brand's linked suppliers';
//! at a CSO also what it collected and published), `POST /api/ratings` (a caseworker
//! records a worker's rating after a contact), `POST /api/ratings/publish` (the CSO's
//! summaries with at least k new ratings) and `POST /api/ratings/answer` (a rated
//! organisation's public answer).

use super::{ApiError, ApiResult, ApiState};
use crate::intake::ContactId;
use crate::membership::now;
use crate::ratings::{self, OrgRatings, RatingRefused, RatingSource, StoredRating};
use crate::schema;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use ilm_protocol::{OrgId, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

type St = State<Arc<ApiState>>;

/// The organisations a brand buys from: the suppliers it holds a complete link with and the
/// agencies they told it they recruit through.
fn supply_chain(st: &ApiState) -> Result<BTreeSet<OrgId>, ApiError> {
    let chain = crate::views::chain_members(&st.store, &st.keys.org_id())?;
    Ok(chain
        .suppliers
        .into_iter()
        .chain(chain.agencies.into_keys())
        .collect())
}

/// The published ratings this node's operators see.
pub fn visible(st: &ApiState) -> Result<Vec<OrgRatings>, ApiError> {
    let me = st.keys.org_id();
    let linked = if st.role == Role::Brand {
        supply_chain(st)?
    } else {
        BTreeSet::new()
    };
    let keep = |org: &OrgId| match st.role {
        Role::Cso | Role::Steward => true,
        Role::Brand => linked.contains(org),
        _ => *org == me,
    };
    Ok(ratings::published(&st.store, &st.membership, &keep)?)
}

/// What a CSO collected about one organisation, and how much of it is published.
#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    /// The organisation rated.
    pub org: OrgId,
    /// Its name.
    pub name: Option<String>,
    /// Ratings collected and counted.
    pub count: u32,
    /// Portal ratings of reports no caseworker answered yet (not counted).
    pub awaiting_triage: u32,
    /// Ratings counted in this CSO's latest published summary.
    pub published: u32,
}

/// At a CSO: the ratings collected per organisation.
pub fn collected(st: &ApiState) -> Result<Vec<Collected>, ApiError> {
    let me = st.keys.org_id();
    let mut out = Vec::new();
    let awaiting = ratings::awaiting(&st.store)?;
    let mut orgs: BTreeSet<OrgId> = awaiting.keys().copied().collect();
    let counted: std::collections::BTreeMap<OrgId, u32> = ratings::collected(&st.store)?
        .into_iter()
        .map(|(org, count, _)| (org, count))
        .collect();
    orgs.extend(counted.keys().copied());
    for org in orgs {
        let count = counted.get(&org).copied().unwrap_or(0);
        let published = ratings::summaries_of(&st.store, &st.membership, &org)?
            .into_iter()
            .find(|s| s.publisher == me)
            .map_or(0, |s| s.count);
        out.push(Collected {
            org,
            name: st.membership.certificate(&org).map(|c| c.name),
            count,
            awaiting_triage: awaiting.get(&org).copied().unwrap_or(0),
            published,
        });
    }
    Ok(out)
}

pub(crate) async fn list(State(st): St) -> ApiResult {
    let collected = if st.role == Role::Cso {
        collected(&st)?
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "ratings": visible(&st)?,
        "collected": collected,
        "k": st.statistics.k,
    })))
}

/// The six scores, 1 to 5.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScoresBody {
    recruitment_fees: u8,
    honest_contract: u8,
    wages_paid: u8,
    documents_kept: u8,
    freedom_to_leave: u8,
    treatment: u8,
}

/// What `POST /api/ratings` takes: the contact the worker spoke in, whom they rate, and how.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RatingBody {
    contact: String,
    org: OrgId,
    scores: ScoresBody,
}

pub(crate) async fn record(State(st): St, b: Result<Json<RatingBody>, JsonRejection>) -> ApiResult {
    let Json(b) = b.map_err(ApiError::from)?;
    let contact: ContactId = b
        .contact
        .trim()
        .parse()
        .map_err(|_| ApiError::bad("contact: a contact id"))?;
    let s = b.scores;
    let scores = vec![
        s.recruitment_fees,
        s.honest_contract,
        s.wages_paid,
        s.documents_kept,
        s.freedom_to_leave,
        s.treatment,
    ];
    let _guard = st.intake_lock.lock().await;
    if !st.store.contains(&schema::CONTACTS, &contact.0)? {
        return Err(ApiError(StatusCode::NOT_FOUND, "no such contact".into()));
    }
    let me = st.keys.org_id();
    let refused = |e: RatingRefused| match e {
        RatingRefused::Store(s) => ApiError::from(s),
        RatingRefused::Vault(v) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, v.to_string()),
        RatingRefused::AlreadyRated => ApiError(StatusCode::CONFLICT, e.to_string()),
        other => ApiError(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    };
    let rating = StoredRating {
        org: b.org,
        scores,
        at: now(),
        source: RatingSource::Caseworker,
        awaiting_triage: false,
    };
    ratings::record(&st.store, &st.membership, &me, &st.vault, &contact, rating)
        .map_err(refused)?;
    Ok(Json(
        json!({ "recorded": { "org": b.org, "contact": contact.to_string() } }),
    ))
}

pub(crate) async fn publish(State(st): St) -> ApiResult {
    let outcomes = st.core.publish_ratings(st.statistics.k).await?;
    Ok(Json(json!({ "outcomes": outcomes, "k": st.statistics.k })))
}

/// What `POST /api/ratings/answer` takes (empty text withdraws the answer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerBody {
    text: String,
}

pub(crate) async fn answer(State(st): St, b: Result<Json<AnswerBody>, JsonRejection>) -> ApiResult {
    let Json(b) = b.map_err(ApiError::from)?;
    let rec = st.core.answer_ratings(b.text).await?;
    let a: ilm_protocol::RatingAnswer = serde_json::from_slice(&rec.body)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!({ "answer": a })))
}
