//! Workers' ratings of employers and recruitment agencies: collected at a CSO (from the
//! portal, by a worker holding a receipt, or by a caseworker after a contact), kept there one
//! per contact and organisation, and published only as signed summaries of at least k
//! ratings (`core::rating`). This module holds the local ratings and what every node shows:
//! the summaries of all CSOs combined per organisation, with its answer.

use crate::intake::ContactId;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{Dimension, OrgId, RatingAnswer, RatingSummary, Role, SignedRecord, Timestamp};
use serde::{Deserialize, Serialize};

/// Where a rating came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingSource {
    /// A worker on the portal, with the receipt of a report.
    Portal,
    /// A caseworker, from what a worker said in a contact.
    Caseworker,
}

/// One worker's rating of one organisation, as the CSO keeps it (no identity: the contact
/// id only keys it, so that a contact rates an organisation once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRating {
    /// The organisation rated.
    pub org: OrgId,
    /// The score on each dimension, in [`Dimension::ALL`] order, 1 to 5.
    pub scores: Vec<u8>,
    /// When it was given.
    pub at: Timestamp,
    /// Where it came from.
    pub source: RatingSource,
}

/// Why a rating is not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RatingRefused {
    /// The organisation is not a current supplier or agency (or is this CSO).
    #[error("only current suppliers (employers) and recruitment agencies are rated")]
    NotRated,
    /// A score missing or out of 1 to 5.
    #[error("a score from 1 to 5 on each of the six questions")]
    Scores,
    /// This contact already rated this organisation.
    #[error("this contact already rated this organisation: a rating cannot be changed once given")]
    AlreadyRated,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The organisations workers may rate: current suppliers and agencies, by name.
pub fn rateable(membership: &MembershipState) -> Vec<(OrgId, String, Role)> {
    let mut out: Vec<(OrgId, String, Role)> = membership
        .known()
        .into_iter()
        .filter(|c| matches!(c.role, Role::Supplier | Role::Agency))
        .filter(|c| membership.current(&c.org_id).is_some())
        .map(|c| (c.org_id, c.name, c.role))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Records `rating` for `contact`, once (callers hold the intake lock).
pub fn record(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    contact: &ContactId,
    rating: StoredRating,
) -> Result<(), RatingRefused> {
    let role = membership.current(&rating.org).map(|c| c.role);
    if rating.org == *me || !matches!(role, Some(Role::Supplier | Role::Agency)) {
        return Err(RatingRefused::NotRated);
    }
    if rating.scores.len() != Dimension::ALL.len()
        || !rating
            .scores
            .iter()
            .all(|s| ilm_protocol::rating::SCORES.contains(s))
    {
        return Err(RatingRefused::Scores);
    }
    let id = schema::rating_id(&rating.org, contact);
    if store.contains(&schema::RATINGS, &id)? {
        return Err(RatingRefused::AlreadyRated);
    }
    let mut batch = WriteBatch::new();
    batch.put(&schema::RATINGS, &id, &rating)?;
    store.commit(batch)?;
    Ok(())
}

/// The ratings this CSO collected, per organisation: count and sums in dimension order.
pub fn collected(store: &Store) -> Result<Vec<(OrgId, u32, Vec<u64>)>, StoreError> {
    let mut out: Vec<(OrgId, u32, Vec<u64>)> = Vec::new();
    for r in store.scan::<StoredRating>(&schema::RATINGS, &[])? {
        if out.last().is_none_or(|(o, _, _)| *o != r.org) {
            out.push((r.org, 0, vec![0; Dimension::ALL.len()]));
        }
        if let Some((_, count, sums)) = out.last_mut() {
            *count += 1;
            for (sum, s) in sums.iter_mut().zip(&r.scores) {
                *sum += u64::from(*s);
            }
        }
    }
    Ok(out)
}

/// The summaries held of one organisation, one per CSO (the latest of each).
pub fn summaries_of(store: &Store, org: &OrgId) -> Result<Vec<RatingSummary>, StoreError> {
    Ok(store
        .scan::<SignedRecord>(&schema::RATING_SUMMARIES, org.as_bytes())?
        .into_iter()
        .filter_map(|r| serde_json::from_slice::<RatingSummary>(&r.body).ok())
        .collect())
}

/// An organisation's ratings as every node shows them: the CSOs' latest summaries added up.
#[derive(Debug, Clone, Serialize)]
pub struct OrgRatings {
    /// The organisation.
    pub org: OrgId,
    /// Its name in the member directory.
    pub name: String,
    /// Its role (supplier or agency).
    pub role: Role,
    /// Ratings counted, over every CSO.
    pub count: u32,
    /// The mean score per dimension, in [`Dimension::ALL`] order, one decimal.
    pub means: Vec<(Dimension, f64)>,
    /// How many CSOs' summaries are counted.
    pub csos: usize,
    /// When the latest counted summary was published.
    pub updated_at: Timestamp,
    /// The organisation's public answer, if it gave one.
    pub answer: Option<RatingAnswer>,
}

/// The ratings of every current supplier and agency that has any published summary (those
/// of former members are not shown), filtered by `keep`.
pub fn published(
    store: &Store,
    membership: &MembershipState,
    keep: &dyn Fn(&OrgId) -> bool,
) -> Result<Vec<OrgRatings>, StoreError> {
    let mut out = Vec::new();
    for (org, name, role) in rateable(membership) {
        if !keep(&org) {
            continue;
        }
        // Only summaries whose CSO is still a member count.
        let held: Vec<RatingSummary> = summaries_of(store, &org)?
            .into_iter()
            .filter(|s| membership.current(&s.publisher).is_some())
            .collect();
        let count: u32 = held.iter().map(|s| s.count).sum();
        if count == 0 {
            continue;
        }
        let means = Dimension::ALL
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let sum: u64 = held
                    .iter()
                    .filter_map(|s| s.sums.get(i))
                    .map(|s| s.sum)
                    .sum();
                let mean = sum as f64 / f64::from(count);
                (*d, (mean * 10.0).round() / 10.0)
            })
            .collect();
        out.push(OrgRatings {
            org,
            name,
            role,
            count,
            means,
            csos: held.len(),
            updated_at: held
                .iter()
                .map(|s| s.published_at)
                .max()
                .unwrap_or(Timestamp(0)),
            answer: answer_of(store, &org)?,
        });
    }
    Ok(out)
}

/// The public answer held of an organisation (None when it gave none or withdrew it).
pub fn answer_of(store: &Store, org: &OrgId) -> Result<Option<RatingAnswer>, StoreError> {
    Ok(store
        .get::<SignedRecord>(&schema::RATING_ANSWERS, org.as_bytes())?
        .and_then(|r| serde_json::from_slice::<RatingAnswer>(&r.body).ok())
        .filter(|a| !a.text.trim().is_empty()))
}
