//! The contact handlers: intake, the contact list and one contact, erasure at a worker's
//! request.

use super::workflow::{body, internal, unsealed};
use super::{ApiError, ApiResult, ApiState};
use crate::access::{OperatorRole, Principal};
use crate::contact_list::{ContactListError, ContactQuery, Seen};
use crate::intake::{Contact, ContactId, ContactInput, SealedContact};
use crate::membership::now;
use crate::schema;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{Value, json};
use std::sync::Arc;

type St = State<Arc<ApiState>>;

/// A contact without personal data.
pub(crate) fn contact_view(c: &Contact) -> Value {
    json!({
        "id": c.id, "received_at": c.received_at, "channel": c.channel, "language": c.language,
        "nationality": c.nationality, "gender": c.gender, "age_band": c.age_band, "sector": c.sector,
        "origin": c.origin, "destination": c.destination, "case_ref": c.case_ref,
        "erased": c.erased,
    })
}

pub(crate) async fn add_contact(
    State(st): St,
    Extension(p): Extension<Principal>,
    b: Result<Json<ContactInput>, JsonRejection>,
) -> ApiResult {
    let input = body(b)?;
    input.validate().map_err(|e| ApiError::bad(e.0))?;
    // One contact per form: a second submit with the same key gets the first answer.
    let _guard = st.intake_lock.lock().await;
    let key_id = input
        .idempotency_key
        .as_deref()
        .map(|k| schema::intake_key_id(&p.name, k));
    let digest: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(serde_json::to_vec(&input).map_err(internal)?).into()
    };
    if let Some(k) = &key_id
        && let Some(seen) = st.store.get(&schema::INTAKE_KEYS, k)?
    {
        if seen.input != digest {
            return Err(ApiError(
                StatusCode::CONFLICT,
                "this form was already saved with other content; reload the intake page to record a new contact".into(),
            ));
        }
        return Ok(Json(json!({ "id": seen.contact, "repeat": true })));
    }
    let id = ContactId(ilm_protocol::identity::random_bytes().map_err(internal)?);
    let sealed = SealedContact {
        identity: input.identity,
        notes: input.notes,
    };
    let indexed = crate::contact_list::groups::Indexed::of(&st.vault, &sealed).map_err(internal)?;
    let sealed = st.vault.seal_json(&id.0, &sealed).map_err(internal)?;
    let contact = Contact {
        id,
        received_at: input.received_at.unwrap_or_else(now),
        channel: input.channel,
        language: input.language,
        nationality: input.nationality,
        gender: input.gender,
        age_band: input.age_band,
        sector: input.sector,
        origin: input.origin,
        destination: input.destination,
        case_ref: None,
        recorded_by: Some(p.name.clone()),
        sealed,
        erased: None,
    };
    let mut batch = crate::store::WriteBatch::new();
    // Under the intake lock: the only writer of contact aggregates and of the contact index.
    crate::intake::stage_new(&st.store, &mut batch, &contact, indexed)?;
    if let Some(k) = &key_id {
        batch.put(
            &schema::INTAKE_KEYS,
            k,
            &crate::records::IntakeKey {
                contact: id,
                input: digest,
            },
        )?;
    }
    st.store.commit(batch)?;
    // Whether this worker got in touch before (matched on the keyed hashes of the phone or
    // messenger id inside the node; only the count goes back).
    // The contact is stored already: a failed read only leaves the count out.
    let earlier = crate::contact_list::groups::group_size(&st.store, &id)
        .map(|n| n.saturating_sub(1))
        .unwrap_or(0);
    Ok(Json(json!({ "id": id, "earlier_contacts": earlier })))
}

/// Which contacts an operator may see: intake operators only their own.
pub(crate) fn seen(p: &Principal) -> Seen {
    if p.role == OperatorRole::Intake {
        Seen::RecordedBy(p.name.clone())
    } else {
        Seen::All
    }
}

/// Whether an operator may see a contact: intake operators only their own.
pub(crate) fn may_see(p: &Principal, c: &Contact) -> bool {
    seen(p).allows(c)
}

/// Contacts without personal data, newest first, searched and paged; repeat callers are
/// counted from the sealed identities inside the node.
pub(crate) async fn list_contacts(
    State(st): St,
    Extension(p): Extension<Principal>,
    query: Result<Query<ContactQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let mut page = contact_page(&st, &p, &query)?;
    // The API lists contacts without personal data, whoever asks (the CLI prints it, scripts
    // store it); a worker's identity comes only from GET /api/contacts/{id}.
    for c in &mut page.contacts {
        c.name = None;
    }
    Ok(Json(json!(page)))
}

/// The contacts `query` selects for this operator (the API's and the web UI's list).
pub(crate) fn contact_page(
    st: &ApiState,
    p: &Principal,
    query: &ContactQuery,
) -> Result<crate::contact_list::ContactPage, ApiError> {
    let identities = crate::access::Permission::Intake.allows(p.role);
    // Search matches the values and their labels, in English and the operator's language.
    let (en, own) = (st.i18n.table("en"), st.i18n.table(&p.lang));
    let labels =
        |c: &crate::contact_list::ContactSummary| crate::contact_list::labels::labelled(en, own, c);
    crate::contact_list::select(&st.store, &st.vault, query, &seen(p), identities, &labels).map_err(
        |e| match e {
            ContactListError::Store(e) => ApiError::from(e),
            ContactListError::Vault(e) => internal(e),
            e => ApiError::bad(e.to_string()),
        },
    )
}

pub(crate) async fn show_contact(
    State(st): St,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    let id: ContactId = id.parse().map_err(|_| ApiError::bad("not a contact id"))?;
    let c: Contact = st
        .store
        .get(&schema::CONTACTS, &id.0)?
        .filter(|c| may_see(&p, c))
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no such contact".into()))?;
    let sealed: SealedContact = st.vault.open_json(&id.0, &c.sealed).map_err(unsealed)?;
    let mut v = contact_view(&c);
    v["identity"] = json!(sealed.identity);
    v["notes"] = json!(sealed.notes);
    Ok(Json(v))
}

/// Erases a contact's identity and notes at the worker's request (the statistics and the
/// case's signed events stay).
pub(crate) async fn erase_contact(State(st): St, Path(id): Path<String>) -> ApiResult {
    let id: ContactId = id.parse().map_err(|_| ApiError::bad("not a contact id"))?;
    let _guard = st.intake_lock.lock().await;
    let (store, vault) = (st.store.clone(), st.vault.clone());
    let erased =
        tokio::task::spawn_blocking(move || crate::retention::erase_contact(&store, &vault, id))
            .await
            .map_err(internal)?;
    match erased {
        Ok(now_erased) => Ok(Json(json!({
            "id": id,
            "erased": now_erased,
            "already_erased": !now_erased,
            "compaction": "the sealed bytes leave the disk when the node next starts (it compacts the database then)",
        }))),
        Err(crate::retention::RetentionError::NoContact(_)) => {
            Err(ApiError(StatusCode::NOT_FOUND, "no such contact".into()))
        }
        Err(e) => Err(internal(e)),
    }
}
