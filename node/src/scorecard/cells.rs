//! A comparison narrowed by days, by one category, sector or corridor, by both, or by two
//! or three of those facets, with or without days, read from each organisation's cells
//! instead of its reports (those of the whole months among the days and of the days at
//! either end, `aggregates::report_days`; those of the facet, of its days too,
//! `aggregates::report_facets`; those of the facets together, `aggregates::report_pairs`,
//! with the reports of the side of the days likely to hold fewer read beside them when
//! days narrow them too):
//! figures, open and overdue counted by the rules a read of the reports counts them by; its
//! newest reports that pass from its newest-first list, or its list of the facet (of a set,
//! the entries its lists of the facets share, `aggregates::lists::joined`, before each case
//! is read), between the days, walked no further than the cells' count of them;
//! an attestation counted when its case's report about it passes.

use super::{Narrowing, Parts};
use crate::aggregates::report_days::{self, Passing};
use crate::aggregates::report_facets::{self, Facet};
use crate::aggregates::report_pairs::{self, Together, each_key_on_all, fewest};
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
    /// Some days and two or three of a category, a sector and a corridor: their cells
    /// together, with some of their reports read (`report_pairs::escalated_on`).
    TogetherDays(RangeInclusive<u64>, Together),
}

/// What cells count of `filter`, if they do: days, one facet, both, or two or three facets
/// with or without days.
pub(super) fn counted(filter: &Narrowing) -> Option<Counted> {
    let dated = filter.from.is_some() || filter.to.is_some();
    match (dated, filter.facets().as_slice()) {
        (false, [one]) => Some(Counted::Facet(one.clone())),
        (true, []) => days_of(filter).map(Counted::Days),
        (true, [one]) => days_of(filter).map(|days| Counted::FacetDays(days, one.clone())),
        (false, some) => Together::new(some.to_vec()).map(Counted::Together),
        (true, some) => days_of(filter)
            .zip(Together::new(some.to_vec()))
            .map(|(days, set)| Counted::TogetherDays(days, set)),
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
            Counted::TogetherDays(days, set) => {
                report_pairs::escalated_on(store, &p.supplier, set, days.clone(), now)?
            }
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
        // No more pass than its figures count: the walk stops once it has found them all.
        let most = recent.min(usize::try_from(figures.cases).unwrap_or(usize::MAX));
        out.push(Parts {
            recent: newest(store, &p.supplier, filter, counted, most)?,
            figures,
            overdue,
        });
    }
    Ok(out)
}

/// `org`'s `n` newest reports that pass (newest escalation first, then by case; a case's
/// reports in id order), from its newest-first list, its list of the facet, or its list of
/// the facets of a set (the entries they share, that of the facet fewest of its reports
/// have named first), between the filter's days (every list holds the same keys).
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
    let always = (Vec::new(), vec![0xFF; reports::KEY_LEN + 1]);
    let between = || reports::escalated_between(filter.from, filter.to);
    let ((list, others), (lower, upper)) = match counted {
        Counted::Days(_) => ((reports::newest_list(org), Vec::new()), between()),
        Counted::Facet(f) => ((report_facets::list(org, f), Vec::new()), always),
        Counted::FacetDays(_, f) => ((report_facets::list(org, f), Vec::new()), between()),
        Counted::Together(set) => (fewest(store, org, set.facets())?, always),
        Counted::TogetherDays(_, set) => (fewest(store, org, set.facets())?, between()),
    };
    each_key_on_all(store, (&list, &others), (&lower, &upper), |key| {
        // Two reports about it in one case (two CSOs') are one entry when escalated at
        // once, two otherwise.
        let (at, case) = (reports::escalated_of(key), reports::case_of(key));
        out.extend(
            reports::reports_of(store, &case)?
                .into_iter()
                .filter(|r| r.supplier == *org && r.escalated_at == at && filter.keeps(r)),
        );
        Ok(out.len() < n)
    })?;
    out.truncate(n);
    Ok(out)
}
