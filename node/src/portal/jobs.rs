//! Job listings as the portal shows them: only open listings whose signature verifies now
//! against the publisher's keys and whose publisher is a current agency or supplier, named as
//! its certificate names it. At the CSO, a listing is flagged when a case it opened later
//! against the publisher names recruitment fees the listing does not.

use super::pages::LangQuery;
use super::{Portal, language};
use crate::membership::{MembershipState, now};
use crate::schema;
use crate::store::{Store, StoreError};
use crate::worklist::{self, CaseQuery};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ilm_protocol::{
    CaseRef, IssueCategory, JobListing, Money, OrgId, Role, SignedRecord, Timestamp,
};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

/// A listing with its publisher as the member directory certifies it.
#[derive(Debug, Clone, Serialize)]
pub struct ListingView {
    /// The listing as its publisher signed it.
    #[serde(flatten)]
    pub listing: JobListing,
    /// The listing's key in URLs: publisher then listing id, in hex.
    pub key: String,
    /// The publisher's name on its current certificate.
    pub publisher_name: String,
    /// The publisher's role (agency or supplier).
    pub publisher_role: Role,
    /// The publisher's country.
    pub publisher_country: String,
    /// What the worker pays in all, per currency (empty: nothing, Employer Pays).
    pub worker_pays: Vec<Money>,
    /// Whether the listing is open now.
    pub open: bool,
    /// The description's paragraphs.
    pub paragraphs: Vec<String>,
}

/// The view of one stored listing, if it verifies now against the publisher's current keys
/// and the publisher is a current agency or supplier.
fn view(membership: &MembershipState, rec: &SignedRecord, t: Timestamp) -> Option<ListingView> {
    let listing = rec
        .verify_with::<JobListing>(&membership.key_book())
        .ok()?
        .into_parts()
        .1;
    let cert = membership.current(&listing.publisher)?;
    if !matches!(cert.role, Role::Agency | Role::Supplier)
        || listing.network_id != membership.network_id()
    {
        return None;
    }
    Some(ListingView {
        key: listing.key(),
        publisher_name: cert.name,
        publisher_role: cert.role,
        publisher_country: cert.country.as_str().to_string(),
        worker_pays: listing
            .worker_pays()
            .into_iter()
            .map(|(currency, minor_units)| Money {
                minor_units,
                currency,
            })
            .collect(),
        open: listing.is_open(t),
        paragraphs: super::paragraphs(&listing.description),
        listing,
    })
}

/// Every listing held whose publisher is current, newest first (closed ones too).
pub fn held(
    store: &Store,
    membership: &MembershipState,
    t: Timestamp,
) -> Result<Vec<ListingView>, StoreError> {
    let mut out: Vec<ListingView> = store
        .scan::<SignedRecord>(&schema::LISTINGS, &[])?
        .iter()
        .filter_map(|r| view(membership, r, t))
        .collect();
    out.sort_by_key(|l| std::cmp::Reverse(l.listing.published_at));
    Ok(out)
}

/// The listings the portal shows at `t`: open, verified, from a current publisher.
pub fn shown(
    store: &Store,
    membership: &MembershipState,
    t: Timestamp,
) -> Result<Vec<ListingView>, StoreError> {
    Ok(held(store, membership, t)?
        .into_iter()
        .filter(|l| l.open)
        .collect())
}

/// One listing by its key, if the portal shows it.
pub fn find(
    store: &Store,
    membership: &MembershipState,
    t: Timestamp,
    key: &str,
) -> Result<Option<ListingView>, StoreError> {
    let Some(id) = ilm_protocol::bytes::from_hex(key)
        .ok()
        .filter(|b| b.len() == 48)
    else {
        return Ok(None);
    };
    Ok(store
        .get::<SignedRecord>(&schema::LISTINGS, &id)?
        .and_then(|r| view(membership, &r, t))
        .filter(|l| l.open))
}

/// A case that contradicts a listing: opened after it first appeared, against its
/// publisher, on its corridor (when known), naming recruitment fees the listing does not
/// charge.
#[derive(Debug, Clone, Serialize)]
pub struct Contradiction {
    /// The case.
    pub case_ref: CaseRef,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// The fee the escalation names, if it names an amount.
    pub fee: Option<Money>,
}

/// The cases this CSO opened after `listing` against its publisher that name recruitment
/// fees it does not charge (at most one page of the case list's largest size).
pub fn contradictions(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    listing: &JobListing,
) -> Result<Vec<Contradiction>, worklist::ListError> {
    let query = CaseQuery {
        party: listing.publisher.to_hex(),
        from: crate::clock::fmt_day(listing.first_published_at),
        closed: true,
        per_page: worklist::MAX_PER_PAGE,
        ..CaseQuery::default()
    };
    let page = worklist::list(store, membership, me, now(), &query, &|c| {
        c.label().to_string()
    })?;
    let mut out = Vec::new();
    for row in page.rows {
        let Some(state) = crate::cases::state_of(store, &row.case_ref)? else {
            continue;
        };
        // Cases opened since the listing first appeared (republishing does not clear them),
        // on its corridor when the CSO knows the case's.
        if state.owner != *me || state.opened_at < listing.first_published_at {
            continue;
        }
        let corridor = crate::intake::case_profile(store, &state.case_ref)?.map(|(_, o, d)| (o, d));
        if corridor.is_some_and(|c| c != (listing.origin.clone(), listing.destination.clone())) {
            continue;
        }
        let Some(party) = state.party(&listing.publisher) else {
            continue;
        };
        let fee = party.escalation.recruitment_fees.clone();
        let named_fees = party.categories.contains(&IssueCategory::RecruitmentFees);
        let contradicts = match &fee {
            Some(f) => listing.contradicted_by_fee(f),
            None => named_fees && listing.worker_pays().is_empty(),
        };
        if contradicts {
            out.push(Contradiction {
                case_ref: state.case_ref,
                opened_at: state.opened_at,
                fee,
            });
        }
    }
    Ok(out)
}

type St = State<Arc<Portal>>;

/// `GET /jobs`: the open listings, newest first, optionally for one destination.
pub(super) async fn list(State(p): St, q: Query<LangQuery>, h: HeaderMap) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    let listings = match shown(&p.api.store, &p.api.membership, now()) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("job listings could not be read: {e}");
            return p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store");
        }
    };
    let mut ctx = p.ctx(lang, "/jobs");
    ctx["listings"] = json!(listings);
    p.render(StatusCode::OK, "portal/jobs.html", ctx)
}

/// `GET /jobs/{key}`: one open listing, with a way to ask the helpline about it.
pub(super) async fn show(
    State(p): St,
    Path(key): Path<String>,
    q: Query<LangQuery>,
    h: HeaderMap,
) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    match find(&p.api.store, &p.api.membership, now(), &key) {
        Ok(Some(l)) => {
            let mut ctx = p.ctx(lang, "/jobs");
            ctx["l"] = json!(l);
            p.render(StatusCode::OK, "portal/job.html", ctx)
        }
        Ok(None) => p.problem(lang, StatusCode::NOT_FOUND, "job_gone"),
        Err(e) => {
            tracing::warn!("a job listing could not be read: {e}");
            p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store")
        }
    }
}
