//! Checking one case against a query's conditions by point reads of the indexes (is the
//! case under this term's ids? is it not closed?), without building its row: how a query
//! whose smallest condition is read whole, or one read in order, checks the others.

use super::condition::{Condition, Key, Source};
use crate::aggregates::{opened, terms};
use crate::store::{Store, StoreError};

/// The `candidates` that meet every condition of `probes`.
pub(super) fn probed(
    store: &Store,
    probes: &[Vec<Probe>],
    candidates: Vec<Key>,
) -> Result<Vec<Key>, StoreError> {
    let mut kept = Vec::with_capacity(candidates.len());
    for key in candidates {
        if passes(store, probes, &key)? {
            kept.push(key);
        }
    }
    Ok(kept)
}

/// Most distinct words one searched word may start (above it, cases are checked by their
/// rows instead of by point reads).
pub(super) const PROBED_TERMS: usize = 16;

/// How one source of a condition is checked for one case by a point read.
pub(super) enum Probe {
    /// The case holds this term (its ids start with it and a zero byte).
    Term(Vec<u8>),
    /// The case is not closed.
    NotClosed,
    /// Every case.
    Every,
    /// The case's reference starts with these hex digits.
    Reference(String),
}

/// The probes of every condition, or None when one cannot be checked by point reads (an
/// overdue filter: the due-date index is read by date; a word that starts too many words).
pub(super) fn probes(
    store: &Store,
    conditions: &[&Condition],
) -> Result<Option<Vec<Vec<Probe>>>, StoreError> {
    let mut out = Vec::with_capacity(conditions.len());
    for c in conditions {
        let mut these = Vec::new();
        for source in c.iter() {
            match source {
                Source::Term(term, _) => these.push(Probe::Term([term.as_slice(), &[0]].concat())),
                Source::Terms(prefix) => {
                    let Some(words) = terms::distinct(store, prefix, PROBED_TERMS)? else {
                        return Ok(None);
                    };
                    these.extend(words.into_iter().map(|mut w| {
                        w.push(0);
                        Probe::Term(w)
                    }));
                }
                Source::NotClosed => these.push(Probe::NotClosed),
                Source::Every => these.push(Probe::Every),
                Source::Reference(hex) => these.push(Probe::Reference(hex.clone())),
                Source::DueBefore(_) | Source::OwedBefore(..) => return Ok(None),
            }
        }
        out.push(these);
    }
    Ok(Some(out))
}

/// Whether the case of `key` meets every condition (one of each condition's probes).
pub(super) fn passes(
    store: &Store,
    conditions: &[Vec<Probe>],
    key: &Key,
) -> Result<bool, StoreError> {
    for c in conditions {
        let mut met = false;
        for p in c {
            met = match p {
                Probe::Term(term0) => terms::LISTS.contains(store, term0, key)?,
                Probe::NotClosed => opened::LISTS.contains(store, opened::ALL, key)?,
                Probe::Every => true,
                Probe::Reference(hex) => opened::case_of(key).to_hex().starts_with(hex.as_str()),
            };
            if met {
                break;
            }
        }
        if !met {
            return Ok(false);
        }
    }
    Ok(true)
}
