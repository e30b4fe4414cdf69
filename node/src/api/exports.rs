//! CSV downloads of what a node counts and records: the aggregates, and at a CSO its contacts,
//! without personal data, or with the workers' identities only for operators who may read
//! them, only when asked for explicitly, and always logged.

use super::workflow::{contact_view, seen};
use super::{ApiError, ApiState};
use crate::access::Principal;
use crate::intake::{Contact, SealedContact};
use crate::schema;
use crate::store::Store;
use crate::vault::Vault;
use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
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

/// Bytes of CSV gathered before they are sent on.
pub(crate) const CHUNK: usize = 64 * 1024;

/// How a contact export ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Every row was handed on.
    Complete,
    /// The receiver stopped taking chunks (the download was abandoned).
    Abandoned,
    /// Reading failed mid-way (said why).
    Failed(String),
}

/// Writes the contacts `p` may see as CSV (in storage order), handing `send` a chunk each
/// time `chunk` bytes are gathered and the rest at the end; `send` returns false when the
/// receiver is gone, which stops the scan. Returns how it ended and how many rows it wrote.
fn write_contacts(
    store: &Store,
    vault: &Vault,
    p: &Principal,
    identities: bool,
    chunk: usize,
    send: &mut dyn FnMut(String) -> bool,
) -> (Ended, u64) {
    let columns: Vec<&str> = if identities {
        CONTACT_COLUMNS
            .iter()
            .chain(IDENTITY_COLUMNS.iter())
            .copied()
            .collect()
    } else {
        CONTACT_COLUMNS.to_vec()
    };
    let mut buf = String::new();
    crate::csv::push_row(&mut buf, columns.iter().map(|c| c.to_string()));
    let (mut rows, mut ended) = (0u64, None::<Ended>);
    let seen = seen(p);
    let scanned = store.for_each::<Contact>(&schema::CONTACTS, &[], |c| {
        if ended.is_some() || !seen.allows(&c) {
            return;
        }
        let mut v = contact_view(&c);
        if identities {
            match vault.open_json::<SealedContact>(&c.id.0, &c.sealed) {
                Ok(sealed) => {
                    v["name"] = serde_json::json!(sealed.identity.name);
                    v["phone"] = serde_json::json!(sealed.identity.phone);
                    v["messenger_id"] = serde_json::json!(sealed.identity.messenger_id);
                    v["id_numbers"] = serde_json::json!(sealed.identity.id_numbers.join("; "));
                }
                Err(e) => {
                    ended = Some(Ended::Failed(format!(
                        "a contact's sealed data did not open: {e}"
                    )));
                    return;
                }
            }
        }
        crate::csv::push_json_row(&mut buf, &columns, &v);
        rows += 1;
        if buf.len() >= chunk && !send(std::mem::take(&mut buf)) {
            ended = Some(Ended::Abandoned);
        }
    });
    if let Err(e) = scanned {
        ended = Some(Ended::Failed(e.to_string()));
    }
    match ended {
        Some(e) => (e, rows),
        None if send(buf) => (Ended::Complete, rows),
        None => (Ended::Abandoned, rows),
    }
}

/// A download produced by a blocking task a chunk at a time: `produce` hands each chunk to
/// its `send` (false: the receiver is gone, so stop), and an error it returns breaks the
/// download rather than end it as if complete.
pub(crate) fn streamed(
    file: &str,
    content_type: &'static str,
    produce: impl FnOnce(&mut dyn FnMut(String) -> bool) -> Result<(), String> + Send + 'static,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut send = |chunk: String| tx.blocking_send(Ok(chunk)).is_ok();
        if let Err(why) = produce(&mut send) {
            tracing::warn!("a download stopped: {why}");
            let _ = tx.blocking_send(Err(std::io::Error::other(why)));
        }
    });
    let body = axum::body::Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The contacts this operator may see as a CSV download, streamed a chunk at a time from
/// the store, so an export of a large intake never holds every contact; with the workers'
/// identities when `identities` (logged once it ends, with the count).
fn contacts_stream(st: Arc<ApiState>, p: Principal, identities: bool, file: &str) -> Response {
    streamed(file, "text/csv; charset=utf-8", move |send| {
        let (ended, rows) = write_contacts(&st.store, &st.vault, &p, identities, CHUNK, send);
        if identities {
            tracing::warn!(
                target: "ilm::audit",
                operator = %p.name,
                contacts = rows,
                complete = ended == Ended::Complete,
                "exported contacts with workers' identities"
            );
        }
        match ended {
            Ended::Failed(why) => Err(why),
            Ended::Complete | Ended::Abandoned => Ok(()),
        }
    })
}

/// Which encoding a case-list export is in.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CaseFormat {
    /// One line per case, the columns of [`crate::csv::CASE_COLUMNS`].
    #[default]
    Csv,
    /// `{"cases": [row, ...]}`, each row as `/api/cases` gives it.
    Json,
}

/// The encoding a case-list export asks for (the rest of its query is the worklist's; serde's
/// `flatten` cannot read numbers and booleans from a query string, so the two are read apart).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CaseExport {
    #[serde(default)]
    format: CaseFormat,
}

/// `GET /api/cases/export`: every case the query selects (its page aside), streamed as CSV
/// or JSON in the list's order, a chunk of rows at a time (`ilm export cases` reads it).
pub(crate) async fn cases_export(
    State(st): State<Arc<ApiState>>,
    format: Result<Query<CaseExport>, QueryRejection>,
    query: Result<Query<crate::worklist::CaseQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(CaseExport { format }) = format.map_err(|e| ApiError::bad(e.body_text()))?;
    let Query(query) = query.map_err(|e| ApiError::bad(e.body_text()))?;
    // A bad query answers 400 before anything is sent.
    crate::worklist::Filter::parse_at(&query, &st.membership, &st.keys.org_id())
        .map_err(|e| ApiError::bad(e.to_string()))?;
    let (file, content_type) = match format {
        CaseFormat::Csv => ("cases.csv", "text/csv; charset=utf-8"),
        CaseFormat::Json => ("cases.json", "application/json"),
    };
    Ok(streamed(file, content_type, move |send| {
        let en = st.i18n.table("en");
        let label = |c: ilm_protocol::IssueCategory| super::category_words(en, c);
        let mut buf = match format {
            CaseFormat::Csv => {
                let mut b = String::new();
                crate::csv::push_row(
                    &mut b,
                    crate::csv::CASE_COLUMNS.iter().map(|c| c.to_string()),
                );
                b
            }
            CaseFormat::Json => "{\"cases\":[".to_string(),
        };
        let mut first = true;
        let mut gone = false;
        crate::worklist::export::each_row(
            &st.store,
            &st.membership,
            &st.keys.org_id(),
            crate::membership::now(),
            &query,
            &label,
            &mut |r| {
                let v = serde_json::json!(r);
                match format {
                    CaseFormat::Csv => {
                        crate::csv::push_json_row(&mut buf, &crate::csv::CASE_COLUMNS, &v)
                    }
                    CaseFormat::Json => {
                        if !std::mem::take(&mut first) {
                            buf.push(',');
                        }
                        buf.push_str(&v.to_string());
                    }
                }
                if buf.len() >= CHUNK && !send(std::mem::take(&mut buf)) {
                    gone = true;
                }
                !gone
            },
        )
        .map_err(|e| e.to_string())?;
        if format == CaseFormat::Json {
            buf.push_str("]}");
        }
        if !gone {
            send(buf);
        }
        Ok(())
    }))
}

/// `GET /api/contacts.csv`: the contacts without any personal data (the statistics fields).
pub(crate) async fn contacts_csv(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    contacts_stream(st, p, false, "contacts.csv")
}

/// The explicit flag the export with identities needs.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Confirm {
    #[serde(default)]
    confirm: String,
}

/// `GET /api/contacts-with-identities.csv?confirm=yes`: the contacts with the workers'
/// identities, for an operator who may read them; logged with the operator's name and the
/// number of contacts (never any of the data) once the download ends.
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
    Ok(contacts_stream(st, p, true, "contacts-with-identities.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::OperatorRole;

    #[test]
    fn a_contact_export_comes_in_chunks_holding_every_row_once_and_stops_when_abandoned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::schema::open(&dir.path().join("db")).expect("store");
        let vault = Vault::open(&crate::datadir::DataDir::new(dir.path())).expect("vault");
        let report = || crate::portal::thread::Report {
            reporter: crate::portal::thread::Reporter::Worker,
            language: "my".into(),
            what_happened: "wages".into(),
            place: String::new(),
            employer: String::new(),
            workers: None,
            sector: "seafood".into(),
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            gender: crate::intake::Gender::Undisclosed,
            age_band: crate::intake::AgeBand::Unknown,
            name: "EXPORT-CANARY".into(),
            phone: String::new(),
            messenger_id: String::new(),
            may_contact: false,
            may_raise: false,
        };
        let mut ids = Vec::new();
        for i in 0..40 {
            let made = crate::portal::thread::create(
                &store,
                &vault,
                report(),
                ilm_protocol::Timestamp(1_767_225_600 + i),
            )
            .expect("contact");
            ids.push(made.contact.to_string());
        }
        let p = Principal {
            name: "ana".into(),
            role: OperatorRole::Admin,
            session: None,
            csrf: String::new(),
            lang: "en".into(),
        };
        // Chunks of about 500 bytes: several, and together every row once.
        let mut chunks: Vec<String> = Vec::new();
        let (ended, rows) = write_contacts(&store, &vault, &p, true, 500, &mut |c| {
            chunks.push(c);
            true
        });
        assert_eq!((ended, rows), (Ended::Complete, 40));
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        let all = chunks.concat();
        assert_eq!(all.lines().count(), 41, "a header and a line per contact");
        for id in &ids {
            assert_eq!(all.matches(id.as_str()).count(), 1, "{id}");
        }
        assert_eq!(all.matches("EXPORT-CANARY").count(), 40);
        // Without identities, none of them.
        let mut plain = String::new();
        write_contacts(&store, &vault, &p, false, 500, &mut |c| {
            plain.push_str(&c);
            true
        });
        assert!(!plain.contains("EXPORT-CANARY") && plain.contains(ids[0].as_str()));
        // A receiver that stops after the first chunk stops the scan.
        let mut taken = 0;
        let (ended, rows) = write_contacts(&store, &vault, &p, true, 500, &mut |_| {
            taken += 1;
            false
        });
        assert_eq!(ended, Ended::Abandoned);
        assert_eq!(taken, 1);
        assert!(rows < 40, "{rows} rows written after the receiver left");
    }
}
