//! Workflow routes: local cases, consent, escalation, verification, inbox and overdue
//! lists, attestations, supply-chain links and the brand's supply-chain view (the contact
//! intake and list are in `contacts`).

use super::{ApiError, ApiResult, ApiState, parse_case};
use crate::access::Principal;
use crate::cases;
use crate::core::{Disclosure, ReceivedDisclosure};
use crate::intake::{Consent, Contact, ContactId, LocalCase, OpenCaseInput, SealedContact};
use crate::membership::now;
use crate::schema;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use ilm_protocol::event::Escalation;
use ilm_protocol::{CaseRef, Digest, LinkKind, OrgId, Verdict};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

type St = State<Arc<ApiState>>;

pub(crate) use super::contacts::{
    add_contact, contact_page, contact_view, erase_contact, list_contacts, seen, show_contact,
};

/// An internal failure, as the API answers it.
pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A sealed part that does not open: sealed with a vault key this node no longer holds (one
/// lost for good and replaced), or damaged; said as such, not as a fault of the node.
pub(super) fn unsealed(e: crate::vault::VaultError) -> ApiError {
    match e {
        crate::vault::VaultError::Open => ApiError(
            StatusCode::CONFLICT,
            "this record's sealed part does not open with this node's vault key (sealed with a key lost and replaced, or damaged): its identity and notes cannot be read".into(),
        ),
        other => internal(other),
    }
}

/// A JSON body, or the error that says what is wrong with it.
pub(super) fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(ApiError::from)
}

pub(crate) async fn open_local_case(
    State(st): St,
    b: Result<Json<OpenCaseInput>, JsonRejection>,
) -> ApiResult {
    let input = body(b)?;
    input.validate().map_err(|e| ApiError::bad(e.0))?;
    let nonce = ilm_protocol::CaseNonce(ilm_protocol::identity::random_bytes().map_err(internal)?);
    let case_ref = CaseRef::derive(&st.keys.org_id(), &nonce);
    // Two requests must not both claim the same contact for different cases.
    let _guard = st.intake_lock.lock().await;
    let mut batch = crate::store::WriteBatch::new();
    for id in &input.contacts {
        let mut c: Contact = st
            .store
            .get(&schema::CONTACTS, &id.0)?
            .ok_or_else(|| ApiError::bad(format!("no contact {id}")))?;
        if c.case_ref.is_some() {
            return Err(ApiError::bad(format!(
                "contact {id} already belongs to a case"
            )));
        }
        c.case_ref = Some(case_ref);
        batch.put(&schema::CONTACTS, &id.0, &c)?;
    }
    for org in input.supplier.iter().chain(input.agencies.iter()) {
        if st.membership.current(org).is_none() {
            return Err(ApiError::bad(format!(
                "{} is not a current member",
                org.short()
            )));
        }
    }
    let local = LocalCase {
        case_ref,
        nonce: Some(nonce),
        opened_at: now(),
        contacts: input.contacts,
        workers: input.workers,
        issues: input.issues,
        supplier: input.supplier,
        agencies: input.agencies,
        site: input.site,
        consent: Vec::new(),
        opened_by: None,
    };
    batch.put(&schema::LOCAL_CASES, case_ref.as_bytes(), &local)?;
    st.store.commit(batch)?;
    Ok(Json(json!({ "case_ref": case_ref })))
}

pub(crate) async fn list_local_cases(State(st): St) -> ApiResult {
    let local: Vec<LocalCase> = st.store.scan(&schema::LOCAL_CASES, &[])?;
    let mut out = Vec::new();
    for l in local {
        let status = cases::state_of(&st.store, &l.case_ref)?
            .map(|s| json!(s.status()))
            .unwrap_or(json!("open"));
        out.push(json!({
            "case_ref": l.case_ref, "opened_at": l.opened_at, "workers": l.workers,
            "contacts": l.contacts.len(), "issues": l.issues, "supplier": l.supplier,
            "agencies": l.agencies, "site": l.site, "consent": l.consent, "status": status,
        }));
    }
    Ok(Json(json!({ "cases": out })))
}

fn load_local(st: &ApiState, case: &CaseRef) -> Result<LocalCase, ApiError> {
    st.store
        .get(&schema::LOCAL_CASES, case.as_bytes())?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no local case {case}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentBody {
    recipient: OrgId,
    /// The workers (contacts of the case) who consented, or withdraw their consent.
    contacts: Vec<ContactId>,
}

/// Records, per worker, consent for their identity to go to one recipient.
pub(crate) async fn record_consent(
    State(st): St,
    Extension(p): Extension<Principal>,
    Path(case): Path<String>,
    b: Result<Json<ConsentBody>, JsonRejection>,
) -> ApiResult {
    change_consent(&st, &p, &case, body(b)?, true).await
}

/// Withdraws workers' consent for one recipient (what was already disclosed stays with it).
pub(crate) async fn withdraw_consent(
    State(st): St,
    Extension(p): Extension<Principal>,
    Path(case): Path<String>,
    b: Result<Json<ConsentBody>, JsonRejection>,
) -> ApiResult {
    change_consent(&st, &p, &case, body(b)?, false).await
}

pub(crate) async fn change_consent(
    st: &ApiState,
    p: &Principal,
    case: &str,
    ConsentBody {
        recipient,
        contacts,
    }: ConsentBody,
    give: bool,
) -> ApiResult {
    let case = parse_case(case)?;
    if contacts.is_empty() {
        return Err(ApiError::bad(
            "name the workers (contacts) whose consent this is: consent is per worker",
        ));
    }
    if give && st.membership.current(&recipient).is_none() {
        return Err(ApiError::bad("the recipient is not a current member"));
    }
    // Read-modify-write of the CSO's intake records happens one request at a time.
    let _guard = st.intake_lock.lock().await;
    let mut local = load_local(st, &case)?;
    if let Some(c) = contacts.iter().find(|c| !local.contacts.contains(c)) {
        return Err(ApiError::bad(format!(
            "contact {c} is not a worker of this case"
        )));
    }
    let t = now();
    for contact in &contacts {
        let active = local
            .consent
            .iter_mut()
            .find(|k| k.allows(contact, &recipient));
        match (give, active) {
            (true, None) => local.consent.push(Consent {
                contact: Some(*contact),
                recipient,
                recorded_at: t,
                recorded_by: Some(p.name.clone()),
                withdrawn_at: None,
                withdrawn_by: None,
            }),
            (false, Some(k)) => {
                k.withdrawn_at = Some(t);
                k.withdrawn_by = Some(p.name.clone());
            }
            _ => {}
        }
    }
    let mut batch = crate::store::WriteBatch::new();
    batch.put(&schema::LOCAL_CASES, case.as_bytes(), &local)?;
    st.store.commit(batch)?;
    Ok(Json(json!({ "case_ref": case, "consent": local.consent })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscalateBody {
    to: OrgId,
    requested_remedy: String,
    description: String,
    #[serde(default = "default_ack_days")]
    ack_days: u64,
    #[serde(default = "default_remediate_days")]
    remediate_days: u64,
    /// Sign as authored at this time (sample data); defaults to now.
    #[serde(default)]
    at: Option<ilm_protocol::Timestamp>,
}

fn default_ack_days() -> u64 {
    7
}
fn default_remediate_days() -> u64 {
    60
}

/// Escalates a local case: the redacted escalation event, plus the identities of the workers
/// to the recipient only if consent for it was recorded.
pub(crate) async fn escalate(
    State(st): St,
    Path(case): Path<String>,
    b: Result<Json<EscalateBody>, JsonRejection>,
) -> ApiResult {
    let case = parse_case(&case)?;
    let e = body(b)?;
    if e.ack_days > e.remediate_days || e.remediate_days > 3650 {
        return Err(ApiError::bad(
            "ack_days must not exceed remediate_days (at most 3650)",
        ));
    }
    super::check_at(&st, e.at)?;
    let local = load_local(&st, &case)?;
    let t = e.at.unwrap_or_else(now);
    let fees = local.issues.iter().find_map(|i| i.fee.clone());
    let escalation = Escalation {
        to: e.to,
        categories: local.issues.iter().map(|i| i.category).collect(),
        workers_affected: local.workers,
        site: local.site.clone(),
        requested_remedy: e.requested_remedy,
        description: e.description,
        recruitment_fees: fees,
        acknowledge_by: t.plus_days(e.ack_days),
        remediate_by: t.plus_days(e.remediate_days),
    };
    // Only the workers who consented to this recipient, each for themselves.
    let consented = local.consented(&e.to);
    let disclosure = if consented.is_empty() {
        None
    } else {
        let mut identities = Vec::new();
        for id in &consented {
            if let Some(c) = st.store.get(&schema::CONTACTS, &id.0)? {
                let s: SealedContact = st.vault.open_json(&id.0, &c.sealed).map_err(unsealed)?;
                identities.push(s.identity);
            }
        }
        let payload = serde_json::to_vec(&Disclosure {
            case_ref: case,
            identities,
        })
        .map_err(internal)?;
        Some((payload, consented.len()))
    };
    let disclosed = disclosure.as_ref().map_or(0, |(_, n)| *n);
    let done = st
        .core
        .escalate(case, escalation, e.at, disclosure.map(|(p, _)| p))
        .await?;
    Ok(Json(json!({
        "escalated": done.escalated, "identity_disclosed": done.identity_disclosed,
        "identities_disclosed": disclosed,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    verdict: Verdict,
    workers_consulted: u32,
    #[serde(default)]
    note: String,
    #[serde(default)]
    at: Option<ilm_protocol::Timestamp>,
}

/// Records the workers' verdict, with what follows from it in the same batch: not resolved,
/// the case reopens and goes again to the parties the verdict judged; otherwise the
/// attestation is drafted and sent for co-signature.
pub(crate) async fn verify(
    State(st): St,
    Path(case): Path<String>,
    b: Result<Json<VerifyBody>, JsonRejection>,
) -> ApiResult {
    let case = parse_case(&case)?;
    let v = body(b)?;
    super::check_at(&st, v.at)?;
    let done = st
        .core
        .record_verdict(case, v.verdict, v.workers_consulted, v.note, v.at)
        .await?;
    Ok(Json(json!({
        "verified": done.verified, "reopened": done.reopened,
        "re_escalated": done.re_escalated, "attestation_draft": done.attestation_draft,
    })))
}

/// A page of the inbox: `{inbox, total, owing, page, pages}`.
pub(crate) async fn inbox(
    State(st): St,
    q: Result<Query<crate::inbox::InboxQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let p = crate::inbox::page(&st.store, &st.keys.org_id(), now(), q)?;
    Ok(Json(json!({
        "inbox": p.items, "total": p.total, "owing": p.owing, "page": p.page, "pages": p.pages,
    })))
}

pub(crate) async fn list_attestations(State(st): St) -> ApiResult {
    let all = crate::views::attestations(&st.store, &st.membership, &st.keys.org_id())?;
    Ok(Json(json!({ "attestations": all })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CosignBody {
    /// The digest of the draft the operator was shown (`AttestationView::digest`).
    #[serde(default)]
    draft: Option<String>,
}

pub(crate) async fn cosign(
    State(st): St,
    Path(case): Path<String>,
    b: Result<Json<Option<CosignBody>>, JsonRejection>,
) -> ApiResult {
    let case = parse_case(&case)?;
    // What was shown is what is signed: a draft that changed since the page loaded is not.
    if let Some(shown) = body(b)?.and_then(|b| b.draft) {
        let stored = st
            .store
            .get(&schema::ATTESTATIONS, case.as_bytes())?
            .map(|a| crate::views::attestation_digest(&a));
        if stored.as_deref() != Some(shown.as_str()) {
            return Err(ApiError(
                StatusCode::CONFLICT,
                "the attestation changed since it was shown; reload the page and read it again"
                    .into(),
            ));
        }
    }
    let rec = st.core.cosign_attestation(case).await?;
    Ok(Json(json!({ "attestation": rec })))
}

impl From<crate::views::BundleError> for ApiError {
    fn from(e: crate::views::BundleError) -> Self {
        use crate::views::BundleError as B;
        let status = match &e {
            B::NotFound | B::NoHistory => StatusCode::NOT_FOUND,
            B::NotComplete => StatusCode::CONFLICT,
            B::Invalid(_) | B::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

pub(crate) async fn bundle(State(st): St, Path(case): Path<String>) -> ApiResult {
    let case = parse_case(&case)?;
    let b = crate::views::bundle(&st.store, &st.membership, &case)?;
    Ok(Json(json!(b)))
}

pub(crate) async fn list_links(State(st): St) -> ApiResult {
    Ok(Json(json!({ "links": crate::views::links(&st.store)? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkBody {
    kind: LinkKind,
    counterparty: OrgId,
}

pub(crate) async fn propose_link(
    State(st): St,
    b: Result<Json<LinkBody>, JsonRejection>,
) -> ApiResult {
    let LinkBody { kind, counterparty } = body(b)?;
    let link = st.core.propose_link(kind, counterparty).await?;
    Ok(Json(json!(crate::views::link(&link))))
}

pub(crate) async fn accept_link(State(st): St, Path(id): Path<String>) -> ApiResult {
    let id: Digest = id
        .parse()
        .map_err(|_| ApiError::bad("not a link id (64 hex digits)"))?;
    let link = st.core.accept_link(id).await?;
    Ok(Json(json!(crate::views::link(&link))))
}

/// Which organisation of a brand's supply chain, and which page of each one's status
/// reports, `/api/supply-chain` shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SupplyChainQuery {
    /// Only this organisation (its id; empty: every one).
    supplier: String,
    /// The page of each organisation's reports, from 1 (0: the first).
    page: usize,
    /// Reports per page (0: 100; at most 10,000).
    per_page: usize,
}

/// The brand's view: linked suppliers and the agencies they recruit through, their
/// attestations and a page of their cases' status reports (newest escalation first, with
/// how many there are).
pub(crate) async fn supply_chain(
    State(st): St,
    query: Result<Query<SupplyChainQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query?;
    let only: Option<OrgId> = match q.supplier.trim() {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| ApiError::bad("supplier: an organisation id (64 hex digits)"))?,
        ),
    };
    let per_page = match q.per_page {
        0 => crate::views::ReportsPage::default().per_page,
        n if n <= crate::worklist::MAX_PER_PAGE => n,
        _ => return Err(ApiError::bad("per_page: 1 to 10000")),
    };
    let window = crate::views::ReportsPage {
        page: q.page.max(1),
        per_page,
    };
    let me = st.keys.org_id();
    let suppliers =
        crate::views::supply_chain(&st.store, &st.membership, &me, only.as_ref(), window)?;
    if only.is_some() && suppliers.is_empty() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "supplier: not a supplier or agency of this brand's supply chain".into(),
        ));
    }
    Ok(Json(json!({
        "suppliers": suppliers,
        "page": window.page,
        "per_page": window.per_page,
    })))
}

pub(crate) async fn list_disclosures(State(st): St) -> ApiResult {
    let sealed: Vec<(Vec<u8>, crate::vault::Sealed)> =
        st.store.scan_with_ids(&schema::DISCLOSURES)?;
    let mut out = Vec::new();
    for (id, s) in sealed {
        let d: ReceivedDisclosure = st.vault.open_json(&id, &s).map_err(internal)?;
        let name = st.membership.certificate(&d.from).map(|c| c.name);
        out.push(json!({
            "case_ref": d.disclosure.case_ref, "identities": d.disclosure.identities,
            "from": d.from, "from_name": name, "received_at": d.received_at,
        }));
    }
    Ok(Json(json!({ "disclosures": out })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::DataDir;
    use crate::vault::Vault;

    /// A contact sealed with a key the node no longer holds answers 409 saying why; any
    /// other failure of the vault stays a fault of the node.
    #[test]
    fn a_sealed_part_that_does_not_open_is_said_as_such() {
        let (a, b) = (
            tempfile::tempdir().expect("tmp"),
            tempfile::tempdir().expect("tmp"),
        );
        let lost = Vault::open(&DataDir::new(a.path())).expect("vault");
        let now = Vault::open(&DataDir::new(b.path())).expect("vault");
        let sealed = lost.seal(b"c1", b"{}").expect("seal");
        let e = now
            .open_json::<crate::intake::SealedContact>(b"c1", &sealed)
            .map_err(unsealed)
            .expect_err("does not open");
        assert_eq!(e.0, StatusCode::CONFLICT);
        assert!(
            e.1.contains("does not open with this node's vault key"),
            "{}",
            e.1
        );
        let other = unsealed(crate::vault::VaultError::BadKey);
        assert_eq!(other.0, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
