//! Workers' ratings of employers and recruitment agencies: collected at a CSO (from the
//! portal, by a worker holding a receipt, or by a caseworker after a contact), kept there one
//! per contact and organisation, and published only as signed summaries of at least k
//! ratings (`core::rating`). This module holds the local ratings and what every node shows:
//! the summaries of all CSOs combined per organisation, with its answer.

use crate::intake::ContactId;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use crate::vault::Vault;
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

/// One worker's rating of one organisation, as the CSO keeps it. No identity: it is keyed by
/// the organisation and a hash of the contact keyed with the vault key (so that a contact
/// rates an organisation once, and a copy of the database alone cannot tell whose it is),
/// and dated to the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRating {
    /// The organisation rated.
    pub org: OrgId,
    /// The score on each dimension, in [`Dimension::ALL`] order, 1 to 5.
    pub scores: Vec<u8>,
    /// The day it was given (its first second, UTC).
    pub at: Timestamp,
    /// Where it came from.
    pub source: RatingSource,
    /// A portal rating of a report no caseworker has answered yet: not counted, so that
    /// reports made up to rate (an organisation rating itself, or a reader outnumbering one
    /// worker's rating with its own) need a caseworker to take them up first.
    #[serde(default)]
    pub awaiting_triage: bool,
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
    /// The vault could not key the rating.
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
}

/// The id of `contact`'s rating of `org`: the organisation, then the contact keyed with the
/// vault key.
pub fn rating_id(
    vault: &Vault,
    org: &OrgId,
    contact: &ContactId,
) -> Result<Vec<u8>, crate::vault::VaultError> {
    let keyed = vault.keyed_hash("rating", &[&contact.0])?;
    Ok([org.as_bytes().as_slice(), &keyed].concat())
}

/// Whether `contact` rated `org` already.
pub fn rated(
    store: &Store,
    vault: &Vault,
    org: &OrgId,
    contact: &ContactId,
) -> Result<bool, RatingRefused> {
    Ok(store.contains(&schema::RATINGS, &rating_id(vault, org, contact)?)?)
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
    vault: &Vault,
    contact: &ContactId,
    mut rating: StoredRating,
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
    let id = rating_id(vault, &rating.org, contact)?;
    if store.contains(&schema::RATINGS, &id)? {
        return Err(RatingRefused::AlreadyRated);
    }
    rating.at = Timestamp(rating.at.0 - rating.at.0 % 86_400);
    let mut batch = WriteBatch::new();
    batch.put(&schema::RATINGS, &id, &rating)?;
    store.commit(batch)?;
    Ok(())
}

/// Counts the portal ratings of `contact`'s report from now on: a caseworker answered it.
/// Returns how many were waiting.
pub fn triaged(store: &Store, vault: &Vault, contact: &ContactId) -> Result<usize, RatingRefused> {
    let keyed = vault.keyed_hash("rating", &[&contact.0])?;
    let mut batch = WriteBatch::new();
    let mut n = 0;
    for (id, mut r) in store.scan_with_ids::<StoredRating>(&schema::RATINGS)? {
        if r.awaiting_triage && id.ends_with(&keyed) {
            r.awaiting_triage = false;
            batch.put(&schema::RATINGS, &id, &r)?;
            n += 1;
        }
    }
    if n > 0 {
        store.commit(batch)?;
    }
    Ok(n)
}

/// The ratings this CSO collected and counts, per organisation: count and sums in dimension
/// order (portal ratings awaiting triage are left out; [`awaiting`] counts them).
pub fn collected(store: &Store) -> Result<Vec<(OrgId, u32, Vec<u64>)>, StoreError> {
    let mut out: Vec<(OrgId, u32, Vec<u64>)> = Vec::new();
    for r in store.scan::<StoredRating>(&schema::RATINGS, &[])? {
        if r.awaiting_triage {
            continue;
        }
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

/// Portal ratings awaiting triage, per organisation.
pub fn awaiting(store: &Store) -> Result<std::collections::BTreeMap<OrgId, u32>, StoreError> {
    let mut out = std::collections::BTreeMap::new();
    for r in store.scan::<StoredRating>(&schema::RATINGS, &[])? {
        if r.awaiting_triage {
            *out.entry(r.org).or_default() += 1;
        }
    }
    Ok(out)
}

/// The summaries held of one organisation, one per CSO (the latest of each), those that
/// verify against their CSO's keys.
pub fn summaries_of(
    store: &Store,
    membership: &MembershipState,
    org: &OrgId,
) -> Result<Vec<RatingSummary>, StoreError> {
    let book = membership.key_book();
    Ok(store
        .scan::<SignedRecord>(&schema::RATING_SUMMARIES, org.as_bytes())?
        .iter()
        .filter_map(|r| r.verify_with::<RatingSummary>(&book).ok())
        .map(|v| v.into_parts().1)
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
    pub count: u64,
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
        let held: Vec<RatingSummary> = summaries_of(store, membership, &org)?
            .into_iter()
            .filter(|s| membership.current(&s.publisher).is_some())
            .collect();
        let count: u64 = held.iter().map(|s| u64::from(s.count)).sum();
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
                let mean = sum as f64 / count as f64;
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
            answer: answer_of(store, membership, &org)?,
        });
    }
    Ok(out)
}

/// The public answer held of an organisation (None when it gave none or withdrew it), if it
/// verifies against the organisation's keys.
pub fn answer_of(
    store: &Store,
    membership: &MembershipState,
    org: &OrgId,
) -> Result<Option<RatingAnswer>, StoreError> {
    Ok(store
        .get::<SignedRecord>(&schema::RATING_ANSWERS, org.as_bytes())?
        .and_then(|r| r.verify_with::<RatingAnswer>(&membership.key_book()).ok())
        .map(|v| v.into_parts().1)
        .filter(|a| !a.text.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::DataDir;

    fn vault(dir: &std::path::Path) -> Vault {
        std::fs::create_dir_all(dir).expect("dir");
        Vault::open(&DataDir::new(dir)).expect("vault")
    }

    fn rating(org: OrgId) -> StoredRating {
        StoredRating {
            org,
            scores: vec![3; 6],
            at: Timestamp(1_800_000_000),
            source: RatingSource::Portal,
            awaiting_triage: true,
        }
    }

    #[test]
    fn a_rating_is_keyed_by_the_contact_only_through_the_vault_and_counts_once_triaged() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (a, b) = (vault(&tmp.path().join("a")), vault(&tmp.path().join("b")));
        let store = crate::schema::open(&tmp.path().join("db")).expect("store");
        let (org, contact, other) = (OrgId([7; 32]), ContactId([9; 16]), ContactId([8; 16]));
        let id = rating_id(&a, &org, &contact).expect("id");
        assert!(
            !id.windows(16).any(|w| w == contact.0),
            "the contact id itself is not in it"
        );
        assert_ne!(
            id,
            rating_id(&b, &org, &contact).expect("id"),
            "another vault, another id"
        );
        let mut batch = WriteBatch::new();
        batch.put(&schema::RATINGS, &id, &rating(org)).expect("put");
        let theirs = rating_id(&a, &org, &other).expect("id");
        batch
            .put(&schema::RATINGS, &theirs, &rating(org))
            .expect("put");
        store.commit(batch).expect("commit");
        assert!(
            collected(&store).expect("collected").is_empty(),
            "awaiting triage"
        );
        assert_eq!(awaiting(&store).expect("awaiting").get(&org), Some(&2));
        assert_eq!(triaged(&store, &a, &contact).expect("triaged"), 1);
        assert_eq!(
            collected(&store).expect("collected")[0].1,
            1,
            "only that report's"
        );
        assert_eq!(triaged(&store, &a, &contact).expect("triaged"), 0, "once");
    }
}
