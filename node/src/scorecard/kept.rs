//! The reports a narrowed comparison counts, found one of two ways: by reading every report
//! the brand holds, or by reading, per organisation, the shortest of the lists the filter
//! names (its reports newest first, `aggregates::reports::newest_list`, and those with the
//! filter's category, sector or corridor, `aggregates::report_facets::list`), between the
//! filter's days, and only the cases of those of its entries every list of a facet holds.
//! Each keeps a report the same way ([`Narrowing`]), and says whether each case met is
//! closed by the same reading of its newest report.

use super::Narrowing;
use crate::aggregates::{report_facets, reports};
use crate::records::StatusReport;
use crate::schema;
use crate::store::{Store, StoreError};
use crate::views::ChainParty;
use ilm_protocol::{CaseRef, CaseStatus, OrgId, Timestamp};
use std::collections::{BTreeSet, HashMap, HashSet};

/// How a narrowed comparison counts the reports that pass: from cells, or from the reports
/// found one way or another (tests take each way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The cells of the filter's days, of its one category, sector or corridor, of both, or
    /// of its two or three of those together (of its days too), when its days are whole
    /// (`super::cells`), else whichever reads fewer reports.
    Cheaper,
    /// Every report the brand holds.
    Every,
    /// Per organisation, the reports of the shortest list the filter names (of the filter's
    /// days, and of its category, sector or corridor, between its days) whose entries every
    /// other list of a facet it names holds too, when it names any.
    InLists,
    /// Each organisation's cells of the filter's days, of its one category, sector or
    /// corridor, of both, or of its two or three of those together (of its days too), when
    /// its days are whole (else as `Cheaper`).
    Cells,
}

/// The reports that pass a filter, by the organisation they concern.
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// Each organisation's reports that pass.
    pub by_party: HashMap<OrgId, Vec<StatusReport>>,
    /// Whether each case of those reports is closed, as its newest report says.
    pub closed: HashMap<CaseRef, bool>,
    /// Every corridor the brand's reports name (`MM-TH`), whatever the filter.
    pub corridors: BTreeSet<String>,
}

impl Kept {
    /// Notes where a case stands by its newest report: reports come in id order, as a case's
    /// summary reads them, so a tie goes to the later one there too.
    fn newest(newest: &mut HashMap<CaseRef, (Timestamp, bool)>, r: &StatusReport) {
        let closed = r.status == CaseStatus::Closed;
        let held = newest.entry(r.case_ref).or_insert((r.reported_at, closed));
        if r.reported_at >= held.0 {
            *held = (r.reported_at, closed);
        }
    }
}

/// The reports about `parties` that pass `filter`, read as `reading` says.
pub(super) fn kept(
    store: &Store,
    parties: &[ChainParty],
    filter: &Narrowing,
    reading: Reading,
) -> Result<Kept, StoreError> {
    let most = match reading {
        Reading::Every => return every(store, filter),
        Reading::InLists => usize::MAX,
        // A case's reports read apart cost about eight reports read in order (38 µs and
        // 4.5 µs at a million reports, `benches/brand.rs`).
        Reading::Cheaper | Reading::Cells => held(store, parties)? / 8,
    };
    match in_lists(store, parties, filter, most)? {
        Some(kept) => Ok(kept),
        None => every(store, filter),
    }
}

/// How many reports about `parties` the brand holds, from their cells.
fn held(store: &Store, parties: &[ChainParty]) -> Result<usize, StoreError> {
    let mut n: u64 = 0;
    for p in parties {
        let cell = format!("{}cases", reports::prefix(&p.supplier));
        n = n.saturating_add(crate::aggregates::get(store, &cell)?.max(0) as u64);
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Every report the brand holds read, those that pass kept.
fn every(store: &Store, filter: &Narrowing) -> Result<Kept, StoreError> {
    let mut out = Kept::default();
    let mut newest = HashMap::new();
    store.for_each(&schema::STATUS_REPORTS, &[], |r: StatusReport| {
        if let Some((o, d)) = &r.corridor {
            out.corridors
                .insert(format!("{}-{}", o.as_str(), d.as_str()));
        }
        Kept::newest(&mut newest, &r);
        if filter.keeps(&r) {
            out.by_party.entry(r.supplier).or_default().push(r);
        }
    })?;
    out.closed = newest
        .into_iter()
        .map(|(c, (_, closed))| (c, closed))
        .collect();
    Ok(out)
}

/// The lists of `org`'s reports a report that passes `filter` is in: its newest-first list
/// when the filter names days, and the list of each category, sector and corridor it names.
fn lists_of(org: &OrgId, filter: &Narrowing) -> Vec<Vec<u8>> {
    let mut lists = Vec::new();
    if filter.from.is_some() || filter.to.is_some() {
        lists.push(reports::newest_list(org));
    }
    lists.extend(filter.facets().iter().map(|f| report_facets::list(org, f)));
    lists
}

/// Each organisation's reports in the shortest list the filter names, between its days,
/// read from that list and each case of its entries every other list of a facet it names
/// holds too (`in_every`); None when the filter names no list, or the lists chosen name
/// more than `most`.
fn in_lists(
    store: &Store,
    parties: &[ChainParty],
    filter: &Narrowing,
    most: usize,
) -> Result<Option<Kept>, StoreError> {
    // Every list holds the same keys (the escalation time inverted, then the case), so the
    // same bounds give the filter's days in each.
    let (lower, upper) = reports::escalated_between(filter.from, filter.to);
    let mut lists = Vec::new();
    let mut named = 0usize;
    let mut orgs = HashSet::new();
    for p in parties.iter().filter(|p| orgs.insert(p.supplier)) {
        let mut counted = Vec::new();
        for list in lists_of(&p.supplier, filter) {
            let n = reports::LISTS.count_between(store, &list, &lower, &upper)?;
            counted.push((list, n));
        }
        // The first of the shortest.
        let Some(at) = (0..counted.len()).min_by_key(|i| counted[*i].1) else {
            return Ok(None);
        };
        let (list, n) = counted.remove(at);
        named = named.saturating_add(n);
        if named > most {
            return Ok(None);
        }
        // The others of a facet, each checked against (the newest-first list holds all).
        let newest_list = reports::newest_list(&p.supplier);
        counted.retain(|(l, _)| *l != newest_list);
        lists.push((p.supplier, list, counted));
    }
    let mut out = Kept {
        corridors: reports::corridors(store)?,
        ..Kept::default()
    };
    let mut newest = HashMap::new();
    let mut cases = Vec::new();
    // Which organisation's list named which case: a report is kept for the one whose list
    // names its case.
    let mut listed = HashSet::new();
    for (org, list, others) in &lists {
        out.by_party.insert(*org, Vec::new());
        for key in in_every(store, list, others, (&lower, &upper))? {
            let case = reports::case_of(&key);
            cases.push(case);
            listed.insert((case, *org));
        }
    }
    // Each case once (a supplier's and its agency's lists name many of the same), in the
    // order reports are stored (by case first), so that reads follow one another on disk.
    cases.sort_unstable();
    cases.dedup();
    for case in cases {
        for r in reports::reports_of(store, &case)? {
            Kept::newest(&mut newest, &r);
            if listed.contains(&(case, r.supplier))
                && filter.keeps(&r)
                && let Some(mine) = out.by_party.get_mut(&r.supplier)
            {
                mine.push(r);
            }
        }
    }
    out.closed = newest
        .into_iter()
        .map(|(c, (_, closed))| (c, closed))
        .collect();
    Ok(Some(out))
}

/// The entries of `shortest` between `lower` and `upper` that each of `others` (lists of a
/// category, sector or corridor, each with its count of entries between the bounds) holds
/// too: a report that passes has one key, the same in each list (its escalation and case),
/// so one a list lacks names no report that passes. A list much longer than the entries
/// left is asked for each of them; a shorter one is read whole.
fn in_every(
    store: &Store,
    shortest: &[u8],
    others: &[(Vec<u8>, usize)],
    (lower, upper): (&[u8], &[u8]),
) -> Result<Vec<reports::ListKey>, StoreError> {
    let keys = |list: &[u8]| -> Result<Vec<reports::ListKey>, StoreError> {
        Ok(reports::LISTS
            .ids_between(store, list, lower, upper)?
            .iter()
            .filter_map(|id| crate::aggregates::lists::key_of::<{ reports::KEY_LEN }>(id))
            .collect())
    };
    let mut kept = keys(shortest)?;
    for (list, n) in others {
        if kept.is_empty() {
            break;
        }
        if *n > kept.len().saturating_mul(POINT_READS) {
            let mut held = Vec::with_capacity(kept.len());
            for key in kept {
                if reports::LISTS.contains(store, list, &key)? {
                    held.push(key);
                }
            }
            kept = held;
        } else {
            let held: HashSet<reports::ListKey> = keys(list)?.into_iter().collect();
            kept.retain(|k| held.contains(k));
        }
    }
    Ok(kept)
}

/// A list longer than this many times the entries left to check is asked for each of them
/// (each ask finds its block) rather than read whole (every block read once, each id held).
const POINT_READS: usize = 16;
