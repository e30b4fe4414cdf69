//! A comparison narrowed by days, by one category, sector or corridor, by both, or by two
//! or three of those facets, read from each organisation's cells instead of its reports
//! (those of the whole months among the days and of the days at either end,
//! `aggregates::report_days`; those of the facet, of its days too,
//! `aggregates::report_facets`; those of the facets together, `aggregates::report_pairs`):
//! figures, open and overdue counted by the rules a read of the reports counts them by; its
//! newest reports that pass from its newest-first list, or its list of the facet (of the
//! facet fewest of its reports have), between the days; an attestation counted when its
//! case's report about it passes.

use super::{Narrowing, Parts};
use crate::aggregates::report_days::{self, Passing};
use crate::aggregates::report_facets::{self, Facet};
use crate::aggregates::report_pairs::{self, Together};
use crate::aggregates::reports;
use crate::store::{Store, StoreError};
use crate::views::ChainParty;
use ilm_protocol::{CaseRef, OrgId, Timestamp};
use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

/// What a filter narrows by, when cells count it.
pub(super) enum Counted {
    /// Some days and nothing else.
    Days(RangeInclusive<u64>),
    /// One category, sector or corridor, and nothing else.
    Facet(Facet),
    /// Some days and one category, sector or corridor.
    FacetDays(RangeInclusive<u64>, Facet),
    /// Two or three of a category, a sector and a corridor, and nothing else.
    Together(Together),
}

/// What cells count of `filter`, if they do: days, one facet, both, or two or three facets
/// (those and days have no cells together).
pub(super) fn counted(filter: &Narrowing) -> Option<Counted> {
    let dated = filter.from.is_some() || filter.to.is_some();
    match (dated, filter.facets().as_slice()) {
        (false, [one]) => Some(Counted::Facet(one.clone())),
        (true, []) => days_of(filter).map(Counted::Days),
        (true, [one]) => days_of(filter).map(|days| Counted::FacetDays(days, one.clone())),
        (false, some) => Together::new(some.to_vec()).map(Counted::Together),
        _ => None,
    }
}

/// The days a filter keeps, when its bounds are whole days (from the first second of its
/// first day to the last of its last, as `worklist::day` reads them); None otherwise.
fn days_of(filter: &Narrowing) -> Option<RangeInclusive<u64>> {
    let first = match filter.from {
        Some(f) if report_days::start_of(report_days::day_of(f)) != f => return None,
        Some(f) => report_days::day_of(f),
        None => 0,
    };
    let last = match filter.to {
        Some(t) if report_days::day_of(t.plus_secs(1)) == report_days::day_of(t) => {
            return None;
        }
        Some(t) => report_days::day_of(t),
        None => report_days::day_of(Timestamp(u64::MAX)),
    };
    Some(first..=last)
}

/// Each party's parts over its reports that pass (as `counted` says, from cells), as
/// `compare` reads them from the reports that pass: an organisation named twice counts
/// once, on its first line.
pub(super) fn parts(
    store: &Store,
    parties: &mut [ChainParty],
    filter: &Narrowing,
    counted: &Counted,
    now: Timestamp,
    recent: usize,
) -> Result<Vec<Parts>, StoreError> {
    let mut seen: HashSet<OrgId> = HashSet::new();
    let mut out = Vec::with_capacity(parties.len());
    for p in parties.iter_mut() {
        if !seen.insert(p.supplier) {
            p.attestations.clear();
            out.push(Parts {
                figures: Default::default(),
                overdue: 0,
                recent: Vec::new(),
            });
            continue;
        }
        let Passing { figures, overdue } = match counted {
            Counted::Days(days) => {
                report_days::escalated_on(store, &p.supplier, days.clone(), now)?
            }
            Counted::Facet(f) => report_facets::figures(store, &p.supplier, f, now)?,
            Counted::FacetDays(days, f) => {
                report_facets::escalated_on(store, &p.supplier, f, days.clone(), now)?
            }
            Counted::Together(set) => report_pairs::figures(store, &p.supplier, set, now)?,
        };
        // Each attested case read once (a case may hold several of its attestations).
        let mut passes: HashMap<CaseRef, bool> = HashMap::new();
        let mut kept = Vec::new();
        for a in std::mem::take(&mut p.attestations) {
            let held = match passes.get(&a.case_ref) {
                Some(held) => *held,
                None => {
                    let held = reports::reports_of(store, &a.case_ref)?
                        .iter()
                        .any(|r| r.supplier == p.supplier && filter.keeps(r));
                    passes.insert(a.case_ref, held);
                    held
                }
            };
            if held {
                kept.push(a);
            }
        }
        p.attestations = kept;
        out.push(Parts {
            figures,
            overdue,
            recent: newest(store, &p.supplier, filter, counted, recent)?,
        });
    }
    Ok(out)
}

/// `org`'s `n` newest reports that pass (newest escalation first, then by case; a case's
/// reports in id order), from its newest-first list or its list of the facet, between the
/// filter's days (every list holds the same keys).
fn newest(
    store: &Store,
    org: &OrgId,
    filter: &Narrowing,
    counted: &Counted,
    n: usize,
) -> Result<Vec<crate::records::StatusReport>, StoreError> {
    let mut out = Vec::new();
    if n == 0 {
        return Ok(out);
    }
    let (list, (lower, upper)) = match counted {
        Counted::Days(_) => (
            reports::newest_list(org),
            reports::escalated_between(filter.from, filter.to),
        ),
        Counted::Facet(f) => (
            report_facets::list(org, f),
            (Vec::new(), vec![0xFF; reports::KEY_LEN + 1]),
        ),
        Counted::FacetDays(_, f) => (
            report_facets::list(org, f),
            reports::escalated_between(filter.from, filter.to),
        ),
        Counted::Together(set) => (
            fewest(store, org, set.facets())?,
            (Vec::new(), vec![0xFF; reports::KEY_LEN + 1]),
        ),
    };
    let mut from = [list.as_slice(), &lower].concat();
    let end = [list.as_slice(), &upper].concat();
    while out.len() < n {
        let ids = reports::LISTS.ids_from(store, &list, &from, n)?;
        let Some(last) = ids.last() else {
            break;
        };
        from = [last.as_slice(), &[0]].concat();
        for id in ids.iter().take_while(|id| **id < end) {
            let Some(key) = crate::aggregates::lists::key_of::<{ reports::KEY_LEN }>(id) else {
                continue;
            };
            // Two reports about it in one case (two CSOs') are one entry when escalated at
            // once, two otherwise.
            let (at, case) = (reports::escalated_of(&key), reports::case_of(&key));
            out.extend(
                reports::reports_of(store, &case)?
                    .into_iter()
                    .filter(|r| r.supplier == *org && r.escalated_at == at && filter.keeps(r)),
            );
        }
        if ids.last().is_some_and(|id| *id >= end) {
            break;
        }
    }
    out.truncate(n);
    Ok(out)
}

/// `org`'s list of the one of `facets` (two or three) fewest of its reports have, by its
/// cells: the one with the fewest entries to walk past.
fn fewest(store: &Store, org: &OrgId, facets: &[Facet]) -> Result<Vec<u8>, StoreError> {
    let mut out: Option<(u64, &Facet)> = None;
    for f in facets {
        let n = report_facets::reports_with(store, org, f)?;
        if out.is_none_or(|(least, _)| n < least) {
            out = Some((n, f));
        }
    }
    // A set always names some; its newest-first list would do as well, walked further.
    Ok(out.map_or_else(
        || reports::newest_list(org),
        |(_, f)| report_facets::list(org, f),
    ))
}
