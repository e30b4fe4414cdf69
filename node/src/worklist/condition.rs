//! A case-list query's conditions as sets of case keys in the indexes kept with the
//! aggregates: which index lists each stands for ([`Source`]; a word is found in the text,
//! in a counterparty's name or a category's label, or at the start of a reference), and a
//! condition read whole and two sets intersected. How a page combines them is `indexed`'s.

use super::Filter;
use crate::aggregates::{due, opened, terms};
use crate::cases;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, IssueCategory, OrgId, Timestamp};

/// A case's key in the indexes.
pub(super) type Key = [u8; opened::KEY_LEN];

/// Where a condition's cases are read from.
pub(super) enum Source {
    /// Every case holding this term (its ids start with the term and a zero byte, in the
    /// newest-first order of their keys), and the aggregate cell that counts them, if one
    /// does.
    Term(Vec<u8>, Option<String>),
    /// Every case holding a term that starts with these bytes (a word's start, or every
    /// status).
    Terms(Vec<u8>),
    /// Every case not closed.
    NotClosed,
    /// Every case.
    Every,
    /// Every open case with something due before this time.
    DueBefore(Timestamp),
    /// Every open case in which this organisation owes something due before this time.
    OwedBefore(OrgId, Timestamp),
    /// Every case whose reference starts with these hex digits.
    Reference(String),
}

/// One condition: the cases of any of its sources.
pub(super) type Condition = Vec<Source>;

/// The conditions of a filter that the indexes answer (the dates are checked on the keys).
pub(super) fn conditions(
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = Vec::new();
    if !filter.status.is_empty() {
        out.push(vec![Source::Term(
            terms::status(&filter.status),
            Some(format!("cases.status.{}", filter.status)),
        )]);
    }
    // A status other than closed already leaves closed cases out.
    if !filter.closed && filter.status.is_empty() {
        out.push(vec![Source::NotClosed]);
    }
    let party = filter.party_named();
    if filter.overdue {
        out.push(match party {
            // Overdue between the two, whichever owes it (the other condition keeps the
            // cases between them).
            Some(p) => vec![Source::OwedBefore(p, now), Source::OwedBefore(*me, now)],
            None => vec![Source::DueBefore(now)],
        });
    }
    if !filter.party.is_empty() {
        out.push(match party {
            Some(p) => between(me, &p),
            None => Vec::new(),
        });
    }
    if let Some(c) = filter.category {
        out.push(vec![Source::Term(
            terms::category(c),
            Some(format!("cases.category.{}", c.code())),
        )]);
    }
    for w in &filter.words {
        let mut c = vec![Source::Terms(terms::word(w))];
        for cert in membership.known() {
            if cert.name.to_lowercase().contains(w.as_str()) {
                c.extend(between(me, &cert.org_id));
            }
        }
        for cat in IssueCategory::ALL {
            if label(*cat).to_lowercase().contains(w.as_str()) {
                c.push(Source::Term(terms::category(*cat), None));
            }
        }
        if w.len() >= 8 && w.len() <= 32 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
            c.push(Source::Reference(w.clone()));
        }
        out.push(c);
    }
    if out.is_empty() {
        out.push(vec![Source::Every]);
    }
    out
}

/// The cases between this node and another organisation, whichever owns them (the
/// counterparty of a case is its parties at the owner, its owner at a party).
fn between(me: &OrgId, other: &OrgId) -> Condition {
    vec![
        Source::Term(terms::pair(me, other), None),
        Source::Term(terms::pair(other, me), None),
    ]
}

/// The keys of a condition's cases, sorted without repeats; None when more than `max`.
pub(super) fn read(
    store: &Store,
    condition: &Condition,
    max: usize,
) -> Result<Option<Vec<Key>>, StoreError> {
    let mut out: Vec<Key> = Vec::new();
    for source in condition {
        let room = max.saturating_sub(out.len());
        let found = match source {
            Source::Term(term, _) => terms::keys(store, &[term.as_slice(), &[0]].concat(), room)?,
            Source::Terms(prefix) => terms::keys(store, prefix, room)?,
            // Each case holds one status term.
            Source::Every => terms::keys(store, terms::ANY_STATUS, room)?,
            Source::NotClosed => opened::LISTS
                .ids_prefixed(store, opened::ALL, room)?
                .map(|ids| ids.iter().filter_map(|id| opened::key_of(id)).collect()),
            Source::DueBefore(t) => due::overdue_keys(store, *t, room)?,
            Source::OwedBefore(party, t) => due::owed_keys(store, party, *t, room)?,
            Source::Reference(hex) => Some(references(store, hex)?),
        };
        let Some(found) = found else {
            return Ok(None);
        };
        out.extend(found);
        if out.len() > max {
            return Ok(None);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

/// The keys of the cases whose reference starts with these hex digits (8 or more, so few).
fn references(store: &Store, hex: &str) -> Result<Vec<Key>, StoreError> {
    let Some(prefix) = hex_prefix(hex) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for id in store
        .ids_prefixed(&schema::CASE_STATES, &prefix, usize::MAX)?
        .unwrap_or_default()
    {
        let Ok(bytes) = <[u8; 16]>::try_from(id.as_slice()) else {
            continue;
        };
        let case = CaseRef(bytes);
        if !case.to_hex().starts_with(hex) {
            continue;
        }
        if let Some(state) = cases::state_of(store, &case)? {
            out.push(opened::key(state.opened_at, &case));
        }
    }
    Ok(out)
}

/// The bytes the hex digits of a reference's start stand for (an odd last digit left
/// out: the references found are checked against every digit); None for a non-hex digit.
pub(super) fn hex_prefix(hex: &str) -> Option<Vec<u8>> {
    let even = hex.get(..hex.len() / 2 * 2)?;
    (0..even.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(even.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The common keys of two sorted lists.
pub(super) fn intersect(a: &[Key], b: &[Key]) -> Vec<Key> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}
