//! CSV downloads of what a node counts and records: the aggregates, and at a CSO its contacts,
//! without personal data, or with the workers' identities only for operators who may read
//! them, only when asked for explicitly, and always logged.

use super::workflow::{contact_view, may_see};
use super::{ApiError, ApiState};
use crate::access::Principal;
use crate::intake::{Contact, SealedContact};
use crate::schema;
use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// The columns of a contact export without personal data.
pub const CONTACT_COLUMNS: [&str; 12] = [
    "id",
    "received_at",
    "channel",
    "language",
    "nationality",
    "gender",
    "age_band",
    "sector",
    "origin",
    "destination",
    "case_ref",
    "erased",
];

/// The columns a contact export with identities adds.
pub const IDENTITY_COLUMNS: [&str; 4] = ["name", "phone", "messenger_id", "id_numbers"];

fn csv(body: String, file: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/aggregates.csv`: every aggregate cell and its value.
pub(crate) async fn aggregates_csv(State(st): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let cells = crate::aggregates::held(&st.store)?;
    let mut out = String::new();
    crate::csv::push_row(&mut out, ["cell".to_string(), "value".to_string()]);
    for (k, v) in &cells {
        crate::csv::push_row(&mut out, [k.clone(), v.to_string()]);
    }
    Ok(csv(out, "aggregates.csv"))
}

/// The contacts this operator may see, oldest first.
fn contacts(st: &ApiState, p: &Principal) -> Result<Vec<Contact>, ApiError> {
    let mut all: Vec<Contact> = st
        .store
        .scan::<Contact>(&schema::CONTACTS, &[])?
        .into_iter()
        .filter(|c| may_see(p, c))
        .collect();
    all.sort_by_key(|c| c.received_at);
    Ok(all)
}

/// `GET /api/contacts.csv`: the contacts without any personal data (the statistics fields).
pub(crate) async fn contacts_csv(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Result<Response, ApiError> {
    let rows: Vec<serde_json::Value> = contacts(&st, &p)?.iter().map(contact_view).collect();
    Ok(csv(
        crate::csv::from_json(&CONTACT_COLUMNS, &rows),
        "contacts.csv",
    ))
}

/// The explicit flag the export with identities needs.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Confirm {
    #[serde(default)]
    confirm: String,
}

/// `GET /api/contacts-with-identities.csv?confirm=yes`: the contacts with the workers'
/// identities, for an operator who may read them; logged with the operator's name and the
/// number of contacts (never any of the data).
pub(crate) async fn contacts_with_identities_csv(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    q: Result<Query<Confirm>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad(e.body_text()))?;
    if q.confirm != "yes" {
        return Err(ApiError::bad(
            "this export holds workers' names, phone numbers and ID numbers: ask for it with confirm=yes (it is logged)",
        ));
    }
    let list = contacts(&st, &p)?;
    let mut rows = Vec::with_capacity(list.len());
    for c in &list {
        let sealed: SealedContact = st
            .vault
            .open_json(&c.id.0, &c.sealed)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let mut v = contact_view(c);
        v["name"] = serde_json::json!(sealed.identity.name);
        v["phone"] = serde_json::json!(sealed.identity.phone);
        v["messenger_id"] = serde_json::json!(sealed.identity.messenger_id);
        v["id_numbers"] = serde_json::json!(sealed.identity.id_numbers.join("; "));
        rows.push(v);
    }
    tracing::warn!(
        target: "ilm::audit",
        operator = %p.name,
        contacts = rows.len(),
        "exported contacts with workers' identities"
    );
    let columns: Vec<&str> = CONTACT_COLUMNS
        .iter()
        .chain(IDENTITY_COLUMNS.iter())
        .copied()
        .collect();
    Ok(csv(
        crate::csv::from_json(&columns, &rows),
        "contacts-with-identities.csv",
    ))
}
