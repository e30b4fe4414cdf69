//! The local admin HTTP API (JSON), used by the CLI while the daemon runs.
//!
//! Handlers only parse, call the core or read views, and serialise; routes and permissions
//! are in `crate::edge::routes`.

use crate::cases;
use crate::membership::now;
use crate::outbox::{DeliveryState, OutboxEntry};
use crate::register::{self};
use crate::schema;
use crate::store::Store;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use ilm_protocol::event::Escalation;
use ilm_protocol::{CaseRef, EventPayload, IssueCategory, OrgId, Role, SignedRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) mod aggregates;
pub mod backup;
mod contacts;
mod errors;
pub mod exports;
pub mod improvements;
pub mod listings;
mod operators;
pub mod overdue;
pub mod portal;
pub mod ratings;
pub mod statistics;
pub mod workflow;

pub use errors::ApiError;
pub(crate) use operators::{add_operator, disable_operator, list_operators, set_password};

pub use crate::app::ApiState;

/// What handlers return.
pub type ApiResult = Result<Json<Value>, ApiError>;

/// Messages pending, delivered and rejected, counting those pruned from the outbox.
fn outbox_depth(store: &Store) -> Result<(u64, u64, u64), crate::store::StoreError> {
    let entries: Vec<OutboxEntry> = store.scan(&schema::OUTBOX, &[])?;
    let count = |s| entries.iter().filter(|e| e.state == s).count() as u64;
    let pruned = crate::outbox::pruned(store)?;
    Ok((
        count(DeliveryState::Pending),
        count(DeliveryState::Delivered) + pruned.delivered,
        count(DeliveryState::Rejected) + pruned.rejected,
    ))
}

/// What a read gave, or None when it failed because writes fail (the store refuses reads
/// until it is reopened): status and metrics must still answer then, showing the fault.
fn unless_writes_fail<T>(r: Result<T, crate::store::StoreError>) -> Result<Option<T>, ApiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(crate::store::StoreError::WriteFailed(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A database that cannot be read makes the node unhealthy: answered as 503, with the path
/// and what to do, never as a 500 that says nothing.
fn unhealthy(e: crate::store::StoreError) -> ApiError {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "unhealthy: the database cannot be read ({e}); stop the node and follow the recovery steps in docs/OPERATIONS.md"
        ),
    )
}

pub(crate) async fn status(State(st): State<Arc<ApiState>>) -> ApiResult {
    if let Some(d) = st.store.health().damaged {
        return Err(unhealthy(crate::store::StoreError::Corrupt(d)));
    }
    let net = st
        .net
        .status()
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let depth = unless_writes_fail(outbox_depth(&st.store))?;
    let received = unless_writes_fail(st.store.count(&schema::PROCESSED))?;
    let retention_state = unless_writes_fail(crate::retention::state(&st.store))?;
    let compaction_due = unless_writes_fail(st.store.compaction_due())?;
    let growth = unless_writes_fail(st.store.growth())?;
    let restore = unless_writes_fail(crate::backup::restore_state(&st.store))?;
    let own = st
        .membership
        .own_certificate()
        .verify::<ilm_protocol::MembershipCertificate>()
        .map(|c| c.body().clone())
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!({
        "org_id": st.keys.org_id(),
        "name": st.name,
        "role": st.role,
        "peer_id": net.peer_id,
        "listen_addresses": net.listen_addresses,
        "peers": net.peers.len(),
        "connected": net.connected,
        "refused_peers": net.refused,
        "network": { "id": st.membership.network_id(), "name": st.membership.network().name() },
        "membership": {
            "valid_until": own.not_after,
            "current": st.membership.current(&own.org_id).is_some(),
            "known_members": st.membership.known().len(),
            "revocations": st.membership.revocation_records().len(),
            // Each costs a bundle's signature checks; views reuse them until this changes.
            "attestation_checks": st.membership.attestation_checks_made(),
        },
        "outbox": depth.map(|(pending, delivered, rejected)| json!({
            "pending": pending, "delivered": delivered, "rejected": rejected,
        })),
        "received_messages": received,
        "health": {
            "healthy": st.store.health().healthy(),
            "store": st.store.health(),
        },
        // The next start compacts when `compaction_due`.
        "database": growth,
        "metrics": st.metrics.snapshot(),
        "retention": {
            "policy": st.retention,
            "state": retention_state,
            "compaction_due": compaction_due,
        },
        "restore": restore.flatten(),
    })))
}

pub(crate) async fn peers(State(st): State<Arc<ApiState>>) -> ApiResult {
    let net = st
        .net
        .status()
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let rows: Vec<Value> = net
        .peers
        .iter()
        .map(|p| {
            let cert = st.membership.current(&p.org_id);
            json!({
                "peer_id": p.peer_id,
                "org_id": p.org_id,
                "name": cert.as_ref().map(|c| c.name.clone()),
                "role": cert.as_ref().map(|c| c.role),
                "addresses": p.addresses,
            })
        })
        .collect();
    Ok(Json(json!({ "peers": rows, "connected": net.connected })))
}

#[derive(Deserialize)]
pub(crate) struct OutboxQuery {
    state: Option<DeliveryState>,
}

pub(crate) async fn outbox(
    State(st): State<Arc<ApiState>>,
    Query(q): Query<OutboxQuery>,
) -> ApiResult {
    let entries: Vec<OutboxEntry> = st.store.scan(&schema::OUTBOX, &[])?;
    let rows: Vec<Value> = entries
        .iter()
        .filter(|e| q.state.is_none_or(|s| s == e.state))
        .map(|e| {
            json!({
                "message_id": e.message_id,
                "recipient": e.recipient,
                "kind": e.kind,
                "case_ref": e.case_ref,
                "state": e.state,
                "attempts": e.attempts,
                "created_at": e.created_at,
                "last_attempt_at": e.last_attempt_at,
                "delivered_at": e.delivered_at,
                "last_error": e.last_error,
            })
        })
        .collect();
    Ok(Json(json!({ "entries": rows })))
}

/// Refuses an explicit authoring time unless this node runs sample data: operators sign
/// events as of now, so deadlines and overdue lists cannot be gamed by backdating.
pub fn check_at(st: &ApiState, at: Option<ilm_protocol::Timestamp>) -> Result<(), ApiError> {
    match at {
        None => Ok(()),
        Some(_) if !st.allow_backdating => Err(ApiError::bad(
            "`at` is accepted only on sample-data nodes (ilm demo)",
        )),
        Some(t) if t > now() => Err(ApiError::bad("`at` must not be in the future")),
        Some(_) => Ok(()),
    }
}

/// Parses a case reference from a path.
pub fn parse_case(s: &str) -> Result<CaseRef, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad("not a case reference (32 hex digits)"))
}

/// The case list: every case this node holds, searched, filtered, sorted and paged by the
/// same query as the web UI's list (closed cases only with `closed=true`).
pub(crate) async fn list_cases(
    State(st): State<Arc<ApiState>>,
    query: Result<Query<crate::worklist::CaseQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let (me, t) = (st.keys.org_id(), now());
    let en = st.i18n.table("en");
    let label = |c: IssueCategory| category_words(en, c);
    let page = crate::worklist::list(&st.store, &st.membership, &me, t, &query, &label)?;
    Ok(Json(json!({
        "cases": page.rows,
        "total": page.total,
        // A wide search stops counting: the total is then a lower bound.
        "total_at_least": page.more,
        "page": page.page,
        "pages": page.pages,
    })))
}

/// What a search matches for a category: its code and its label in one language.
pub(crate) fn category_words(
    t: &std::collections::HashMap<String, String>,
    c: IssueCategory,
) -> String {
    let label = t
        .get(&format!("cat_{}", c.code()))
        .cloned()
        .unwrap_or_default();
    format!("{} {label}", c.code())
}

pub(crate) async fn show_case(
    State(st): State<Arc<ApiState>>,
    Path(case): Path<String>,
) -> ApiResult {
    let case = parse_case(&case)?;
    let v = cases::load_view(&st.store, &st.membership, &case)?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no case {case}")))?;
    Ok(Json(json!(v)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenCase {
    escalation: Escalation,
}

pub(crate) async fn open_case(
    State(st): State<Arc<ApiState>>,
    body: Result<Json<OpenCase>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(ApiError::from)?;
    let done = st
        .core
        .append(None, EventPayload::Escalation(body.escalation))
        .await?;
    Ok(Json(json!(done)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppendEvent {
    event: EventPayload,
    /// Sign as authored at this time (sample data spread over time); defaults to now.
    #[serde(default)]
    at: Option<ilm_protocol::Timestamp>,
}

pub(crate) async fn append_event(
    State(st): State<Arc<ApiState>>,
    Path(case): Path<String>,
    body: Result<Json<AppendEvent>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let case = parse_case(&case)?;
    let Json(body) = body.map_err(ApiError::from)?;
    check_at(&st, body.at)?;
    let done = st.core.append_at(Some(case), body.event, body.at).await?;
    Ok(Json(json!(done)))
}

pub(crate) async fn members(State(st): State<Arc<ApiState>>) -> ApiResult {
    if st.role == Role::Steward {
        let rows = register::list(&st.membership.network(), &st.store, now())?;
        return Ok(Json(json!({ "members": rows })));
    }
    let rows: Vec<Value> = st
        .membership
        .known()
        .into_iter()
        .map(|c| {
            let revoked = st.membership.is_revoked(&c);
            json!({
                "org_id": c.org_id, "name": c.name, "role": c.role, "country": c.country,
                "not_after": c.not_after, "revoked": revoked,
            })
        })
        .collect();
    Ok(Json(json!({ "members": rows })))
}

pub(crate) async fn metrics(
    State(st): State<Arc<ApiState>>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    let m = st.metrics.snapshot();
    let peers = st.net.status().await.map(|n| n.peers.len()).unwrap_or(0);
    let depth = unless_writes_fail(outbox_depth(&st.store))?;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    let health = st.store.health();
    metric(
        "ilm_store_healthy",
        "gauge",
        "1 while the database reads and writes; 0 when damaged or writes fail.",
        u8::from(health.healthy()).to_string(),
    );
    metric(
        "ilm_store_writes_failing",
        "gauge",
        "1 while writes fail (a full or read-only disk): nothing new is acknowledged.",
        u8::from(health.write_failing.is_some()).to_string(),
    );
    metric(
        "ilm_attestation_checks_total",
        "counter",
        "Attestations checked in full (signatures, bundle); views reuse a check until the membership changes.",
        st.membership.attestation_checks_made().to_string(),
    );
    metric(
        "ilm_peers",
        "gauge",
        "Admitted member peers connected.",
        peers.to_string(),
    );
    // The outbox gauges are left out while the database cannot be read (writes fail).
    if let Some((pending, delivered, rejected)) = depth {
        metric(
            "ilm_outbox_pending",
            "gauge",
            "Messages waiting for acknowledgement.",
            pending.to_string(),
        );
        metric(
            "ilm_outbox_delivered",
            "gauge",
            "Messages acknowledged, kept in the outbox.",
            delivered.to_string(),
        );
        metric(
            "ilm_outbox_rejected",
            "gauge",
            "Messages refused for good by recipients.",
            rejected.to_string(),
        );
    }
    metric(
        "ilm_deliveries_total",
        "counter",
        "Deliveries acknowledged since start.",
        m.delivered.to_string(),
    );
    metric(
        "ilm_delivery_failures_total",
        "counter",
        "Failed delivery attempts since start (retried).",
        m.delivery_failures.to_string(),
    );
    metric(
        "ilm_received_total",
        "counter",
        "Messages received and stored since start.",
        m.received.to_string(),
    );
    metric(
        "ilm_received_duplicates_total",
        "counter",
        "Redeliveries received since start.",
        m.received_duplicates.to_string(),
    );
    metric(
        "ilm_received_rejected_total",
        "counter",
        "Messages received and refused since start.",
        m.received_rejected.to_string(),
    );
    metric(
        "ilm_cached_case_histories",
        "gauge",
        "Case histories the core keeps in memory (bounded).",
        m.cached_histories.to_string(),
    );
    metric(
        "ilm_delivery_latency_p50_milliseconds",
        "gauge",
        "Median delivery latency of recent deliveries.",
        m.delivery_p50_ms.unwrap_or(0).to_string(),
    );
    metric(
        "ilm_delivery_latency_p99_milliseconds",
        "gauge",
        "99th percentile delivery latency of recent deliveries.",
        m.delivery_p99_ms.unwrap_or(0).to_string(),
    );
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    ))
}

pub(crate) async fn revocations(State(st): State<Arc<ApiState>>) -> ApiResult {
    Ok(Json(
        json!({ "revocations": st.membership.revocation_records() }),
    ))
}

/// The signed records this node checks others' signatures by: the certificates it holds
/// (each organisation's newest it learned, after key rotations, and at a steward those it
/// issued) and the steward successions it learned, so that `ilm verify` beside a running
/// node reads what it would read in its database.
pub(crate) async fn certificates(State(st): State<Arc<ApiState>>) -> ApiResult {
    let certificates = register::held_certificates(&st.store)?;
    let successions: Vec<SignedRecord> = st.store.scan(&schema::SUCCESSIONS, &[])?;
    Ok(Json(
        json!({ "certificates": certificates, "successions": successions }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueBody {
    request: SignedRecord,
    valid_days: u64,
}

pub(crate) async fn issue(
    State(st): State<Arc<ApiState>>,
    body: Result<Json<IssueBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(ApiError::from)?;
    let (cert, c) = register::issue(
        &st.keys,
        &st.membership.network(),
        &st.store,
        &body.request,
        body.valid_days,
        now(),
    )?;
    let _ = st.membership.learn_certificate(&cert);
    // Certificates are public network state: spread them.
    st.net.publish(crate::datadir::record_json(&cert)).await;
    Ok(Json(json!({ "certificate": cert, "org_id": c.org_id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewBody {
    request: SignedRecord,
}

/// What a membership request asks for, checked, before the steward issues it.
pub(crate) async fn review_request(
    State(st): State<Arc<ApiState>>,
    body: Result<Json<ReviewBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(ApiError::from)?;
    let r = register::review(&st.keys, &st.membership.network(), &st.store, &body.request)?;
    Ok(Json(json!(r)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    org_id: OrgId,
    reason: String,
}

pub(crate) async fn revoke(
    State(st): State<Arc<ApiState>>,
    body: Result<Json<RevokeBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(ApiError::from)?;
    let rec = register::revoke(
        &st.keys,
        &st.membership.network(),
        &st.store,
        body.org_id,
        &body.reason,
        now(),
    )?;
    let _ = st.membership.learn_revocation(&rec);
    st.net.publish(crate::datadir::record_json(&rec)).await;
    if let Some(peer) = st.membership.peer_of(&body.org_id) {
        st.net.disconnect(peer).await;
    }
    Ok(Json(json!({ "revocation": rec })))
}

#[derive(Deserialize)]
pub(crate) struct HelloQuery {
    challenge: String,
}

/// Proves to the CLI that this is the node's daemon (it knows the admin token) before the
/// CLI sends the token: `crate::client::admin_proof` over the CLI's random challenge.
pub(crate) async fn hello(
    State(st): State<Arc<ApiState>>,
    Query(q): Query<HelloQuery>,
) -> ApiResult {
    let challenge = ilm_protocol::bytes::from_hex(&q.challenge)
        .ok()
        .filter(|c| (16..=64).contains(&c.len()))
        .ok_or_else(|| ApiError::bad("challenge: 16 to 64 bytes of lowercase hex"))?;
    let proof = crate::client::admin_proof(&st.token, &challenge);
    Ok(Json(
        json!({ "proof": ilm_protocol::bytes::to_hex(&proof) }),
    ))
}

/// The OpenAPI document, built by the edge from its route table and handed down as an
/// extension (the API knows no routes).
pub(crate) async fn openapi(Extension(doc): Extension<Arc<Value>>) -> Json<Value> {
    Json(doc.as_ref().clone())
}
