//! The CSO's side of the workers' portal: the reports raised through it and their threads
//! (read and answered by caseworkers), the know-your-rights pages, and the broker alerts it
//! publishes to every CSO's portal after review (its own, or agencies' proposals); and an
//! agency's proposals.

use super::{ApiError, ApiResult, ApiState};
use crate::access::Principal;
use crate::core::AlertInput;
use crate::intake::ContactId;
use crate::membership::now;
use crate::portal::alerts;
use crate::portal::rights::{self, RightsPage};
use crate::portal::thread::{self, Message, PortalError, Side, Thread, WorkerStatus};
use crate::vault::VaultError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use ilm_protocol::{AlertId, AlertProposal, AlertText, BrokerAlert, Country, OrgId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

type St = State<Arc<ApiState>>;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn portal_error(e: PortalError) -> ApiError {
    match e {
        PortalError::Invalid(why) => ApiError::bad(why),
        PortalError::NotFound => ApiError(
            StatusCode::NOT_FOUND,
            "no portal report for this contact".into(),
        ),
        PortalError::TooManyMessages => ApiError(
            StatusCode::CONFLICT,
            format!(
                "this thread holds {} messages, the most it may",
                thread::MAX_MESSAGES
            ),
        ),
        PortalError::Vault(e) => super::workflow::unsealed(e),
        other => internal(other),
    }
}

/// A thread without its messages.
fn summary(st: &ApiState, t: &Thread) -> Result<Value, ApiError> {
    let status = WorkerStatus::of(&st.store, t)?;
    Ok(json!({
        "contact": t.contact,
        "created_at": t.created_at,
        "language": t.language,
        "messages": t.messages,
        "last_worker_at": t.last_worker_at,
        "last_cso_at": t.last_cso_at,
        "awaiting_answer": t.awaiting_answer(),
        "worker_status": status,
    }))
}

/// What the worker reported and how to reach them (the contact's sealed part), or null once
/// erased.
fn report(st: &ApiState, t: &Thread) -> Result<Value, ApiError> {
    let Some(c) = st
        .store
        .get::<crate::intake::Contact>(&crate::schema::CONTACTS, &t.contact.0)?
    else {
        return Ok(Value::Null);
    };
    let sealed: crate::intake::SealedContact = st
        .vault
        .open_json(&c.id.0, &c.sealed)
        .map_err(super::workflow::unsealed)?;
    Ok(json!({
        "notes": sealed.notes,
        "name": sealed.identity.name,
        "phone": sealed.identity.phone,
        "messenger_id": sealed.identity.messenger_id,
        "case_ref": c.case_ref,
    }))
}

/// Every thread, those awaiting an answer first, with their messages when `with_messages`.
pub(crate) fn threads(st: &ApiState, with_messages: bool) -> Result<Vec<Value>, ApiError> {
    views(st, thread::all(&st.store)?, with_messages)
}

/// The views of `threads` (with their reports and messages, opened, when asked for).
pub(crate) fn views(
    st: &ApiState,
    threads: Vec<Thread>,
    with_messages: bool,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for t in threads {
        let mut v = summary(st, &t)?;
        if with_messages {
            match thread::messages(&st.vault, &t) {
                Ok(messages) => {
                    v["thread"] = json!(messages);
                    v["report"] = report(st, &t)?;
                }
                // Sealed with a key lost and replaced: listed without its words, rather than
                // every thread of the page failing for it.
                Err(PortalError::Vault(VaultError::Open)) => {
                    v["thread"] = json!([]);
                    v["report"] = Value::Null;
                    v["unreadable"] = json!(true);
                }
                Err(e) => return Err(portal_error(e)),
            }
        }
        out.push(v);
    }
    Ok(out)
}

pub(crate) async fn list_threads(State(st): St) -> ApiResult {
    Ok(Json(json!({ "threads": threads(&st, false)? })))
}

fn parse_contact(id: &str) -> Result<ContactId, ApiError> {
    id.parse().map_err(|_| ApiError::bad("not a contact id"))
}

pub(crate) async fn show_thread(State(st): St, Path(id): Path<String>) -> ApiResult {
    let id = parse_contact(&id)?;
    let t: Thread = st
        .store
        .get(&crate::schema::PORTAL_THREADS, &id.0)?
        .ok_or_else(|| portal_error(PortalError::NotFound))?;
    let mut v = summary(&st, &t)?;
    v["thread"] = json!(thread::messages(&st.vault, &t).map_err(portal_error)?);
    v["report"] = report(&st, &t)?;
    Ok(Json(v))
}

/// A caseworker's answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reply {
    text: String,
}

pub(crate) async fn reply(
    State(st): St,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    b: Result<Json<Reply>, JsonRejection>,
) -> ApiResult {
    let id = parse_contact(&id)?;
    let Json(reply) = b.map_err(ApiError::from)?;
    let message = Message {
        from: Side::Cso,
        at: now(),
        text: reply.text,
        by: Some(p.name.clone()),
    };
    let _guard = st.intake_lock.lock().await;
    let (store, vault) = (st.store.clone(), st.vault.clone());
    let t = thread::blocking(move || {
        let t = thread::append(&store, &vault, &id, message)?;
        // Answered by a caseworker: the report's portal ratings count from now on.
        crate::ratings::triaged(&store, &vault, &id)
            .map_err(|e| PortalError::Task(e.to_string()))?;
        Ok(t)
    })
    .await
    .map_err(portal_error)?;
    Ok(Json(summary(&st, &t)?))
}

pub(crate) async fn list_rights(State(st): St) -> ApiResult {
    Ok(Json(json!({ "pages": rights::all(&st.store)? })))
}

/// A know-your-rights page as an operator writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageInput {
    origin: Country,
    destination: Country,
    language: String,
    title: String,
    body: String,
}

pub(crate) async fn save_rights(
    State(st): St,
    Extension(p): Extension<Principal>,
    b: Result<Json<PageInput>, JsonRejection>,
) -> ApiResult {
    let Json(input) = b.map_err(ApiError::from)?;
    let page = RightsPage {
        origin: input.origin,
        destination: input.destination,
        language: input.language,
        title: input.title.trim().to_string(),
        body: input.body,
        updated_at: Some(now()),
        updated_by: Some(p.name.clone()),
    };
    page.validate().map_err(|e| ApiError::bad(e.0))?;
    rights::save(&st.store, &page)?;
    Ok(Json(
        json!({ "saved": page.corridor(), "language": page.language }),
    ))
}

/// Which page to delete.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageKey {
    origin: Country,
    destination: Country,
    language: String,
}

pub(crate) async fn delete_rights(
    State(st): St,
    b: Result<Json<PageKey>, JsonRejection>,
) -> ApiResult {
    let Json(k) = b.map_err(ApiError::from)?;
    if !rights::delete(&st.store, &k.origin, &k.destination, &k.language)? {
        return Err(ApiError(StatusCode::NOT_FOUND, "no such page".into()));
    }
    Ok(Json(
        json!({ "deleted": rights::corridor(&k.origin, &k.destination), "language": k.language }),
    ))
}

pub(crate) async fn list_alerts(State(st): St) -> ApiResult {
    Ok(Json(json!({
        "alerts": alerts::held(&st.store, &st.membership, now())?,
        "proposals": alerts::proposals(&st.store, &st.membership)?,
    })))
}

/// A broker alert as an operator writes it: shown for `days` from publication.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertBody {
    origin: Country,
    destination: Country,
    language: String,
    title: String,
    body: String,
    days: u32,
}

impl AlertBody {
    /// The checked input (a portal language, lengths in characters, 1 to 365 days).
    fn input(self) -> Result<AlertInput, ApiError> {
        let text = AlertText {
            origin: self.origin,
            destination: self.destination,
            language: self.language,
            title: self.title.trim().to_string(),
            body: self.body.replace("\r\n", "\n"),
        };
        alerts::check_text(&text).map_err(ApiError::bad)?;
        if !(1..=ilm_protocol::alert::MAX_DAYS).contains(&self.days) {
            return Err(ApiError::bad("days: 1 to 365"));
        }
        Ok(AlertInput {
            text,
            days: self.days,
        })
    }
}

fn alert_answer(rec: &ilm_protocol::SignedRecord) -> ApiResult {
    let a: BrokerAlert = serde_json::from_slice(&rec.body).map_err(internal)?;
    Ok(Json(
        json!({ "id": a.id, "expires_at": a.expires_at, "withdrawn": a.withdrawn }),
    ))
}

/// Publishes an alert the CSO's caseworker wrote (and so reviewed), signed, to every CSO.
pub(crate) async fn publish_alert(
    State(st): St,
    b: Result<Json<AlertBody>, JsonRejection>,
) -> ApiResult {
    let Json(b) = b.map_err(ApiError::from)?;
    let rec = st.core.publish_alert(Some(b.input()?), None).await?;
    alert_answer(&rec)
}

fn parse_alert_id(s: &str) -> Result<AlertId, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::bad("id: an alert id (32 hex digits)"))
}

/// Which alert to take down.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertKey {
    id: String,
}

/// Takes one of this CSO's alerts down on every portal.
pub(crate) async fn delete_alert(
    State(st): St,
    b: Result<Json<AlertKey>, JsonRejection>,
) -> ApiResult {
    let Json(k) = b.map_err(ApiError::from)?;
    let rec = st.core.withdraw_alert(parse_alert_id(&k.id)?).await?;
    alert_answer(&rec)
}

/// Which proposal a caseworker decides on, and the digest of the version they read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProposalKey {
    proposer: OrgId,
    id: String,
    #[serde(default)]
    digest: Option<ilm_protocol::Digest>,
}

/// Publishes an agency's proposal as proposed, after a caseworker reviewed that version.
pub(crate) async fn approve_proposal(
    State(st): St,
    b: Result<Json<ProposalKey>, JsonRejection>,
) -> ApiResult {
    let Json(k) = b.map_err(ApiError::from)?;
    let id = parse_alert_id(&k.id)?;
    let digest = k
        .digest
        .ok_or_else(|| ApiError::bad("digest: the digest of the proposal reviewed"))?;
    let rec = st
        .core
        .publish_alert(None, Some((k.proposer, id, digest)))
        .await?;
    alert_answer(&rec)
}

/// Declines an agency's proposal: nothing is published, and it stays declined if the agency
/// sends it again.
pub(crate) async fn decline_proposal(
    State(st): St,
    b: Result<Json<ProposalKey>, JsonRejection>,
) -> ApiResult {
    let Json(k) = b.map_err(ApiError::from)?;
    let id = crate::schema::alert_id(&k.proposer, &parse_alert_id(&k.id)?);
    let _guard = st.intake_lock.lock().await;
    let Some(mut held) = st
        .store
        .get::<crate::records::StoredProposal>(&crate::schema::ALERT_PROPOSALS, &id)?
        .filter(|p| !p.declined)
    else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "no such proposal waiting for review".into(),
        ));
    };
    held.declined = true;
    let mut batch = crate::store::WriteBatch::new();
    batch.put(&crate::schema::ALERT_PROPOSALS, &id, &held)?;
    st.store.commit(batch)?;
    Ok(Json(json!({ "declined": k.id })))
}

/// What an agency proposes, and to which CSO.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProposalBody {
    to: OrgId,
    origin: Country,
    destination: Country,
    language: String,
    title: String,
    body: String,
    days: u32,
}

/// An agency proposes a broker alert to a CSO, which reviews it before publishing.
pub(crate) async fn propose_alert(
    State(st): St,
    b: Result<Json<ProposalBody>, JsonRejection>,
) -> ApiResult {
    let Json(b) = b.map_err(ApiError::from)?;
    let alert = AlertBody {
        origin: b.origin,
        destination: b.destination,
        language: b.language,
        title: b.title,
        body: b.body,
        days: b.days,
    };
    let rec = st.core.propose_alert(b.to, alert.input()?).await?;
    let p: AlertProposal = serde_json::from_slice(&rec.body).map_err(internal)?;
    Ok(Json(json!({ "proposed": p.id, "to": p.reviewer })))
}
