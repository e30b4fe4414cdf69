//! At a brand, per supplier or agency of its supply chain, what its scorecard counts from the
//! status reports the CSOs send: its cases, open ones, remediations reported and confirmed,
//! days to acknowledge and to remediate, categories, months escalated, corridors; and two
//! lists of its reports: those owing something in a case not closed, by the earliest date
//! owed (its overdue count reads a few cells and today's entries; kept per case, with
//! `chain`, as a closed case owes nothing whatever an older report says), and all of them
//! newest first (its latest cases are read without reading the others). Kept with the other
//! aggregates (in the batch that stores the report, and in the recount), so that a brand's
//! scorecards read cells instead of every report it holds.

use super::lists::Lists;
use super::report_figures;
use super::{Cells, add, days_between, month};
use crate::records::StatusReport;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{CaseRef, OrgId, Timestamp};
use std::collections::BTreeMap;

/// Every per-report cell starts with this, then the party's id and a dot.
pub const PREFIX: &str = "report.";

/// Bytes in a [`ListKey`].
pub const KEY_LEN: usize = 8 + 16;

/// An entry of a party's lists: a time (big-endian), then the case.
pub type ListKey = [u8; KEY_LEN];

/// Per party, lists of its reports (see [`due_list`], [`newest_list`] and
/// `report_facets::list`), and the case-level lists (`chain`).
pub const LISTS: Lists<KEY_LEN> = Lists::new(&schema::REPORT_LISTS);

/// What the name of each party's due-date list starts with.
const DUE: &[u8] = b"d";

/// The name of `org`'s list of its reports owing something (in a case not closed:
/// `chain::owed_in`) by the earliest date it owes something by.
pub fn due_list(org: &OrgId) -> Vec<u8> {
    [DUE, org.as_bytes()].concat()
}

/// The name of `org`'s list of every report, newest escalation first (the time inverted).
pub fn newest_list(org: &OrgId) -> Vec<u8> {
    [b"n".as_slice(), org.as_bytes()].concat()
}

/// The bounds (the lower one in, the upper one out) in an organisation's newest-first list
/// ([`newest_list`]) of its reports escalated from `from` to `to`, both in (None: no bound).
pub fn escalated_between(from: Option<Timestamp>, to: Option<Timestamp>) -> (Vec<u8>, Vec<u8>) {
    // The list holds the time inverted.
    let lower = (u64::MAX - to.map_or(u64::MAX, |t| t.0))
        .to_be_bytes()
        .to_vec();
    let upper = match from.and_then(|f| (u64::MAX - f.0).checked_add(1)) {
        Some(u) => u.to_be_bytes().to_vec(),
        None => vec![0xFF; KEY_LEN + 1],
    };
    (lower, upper)
}

/// The entry of a time and a case.
pub(super) fn list_key(t: u64, case: &CaseRef) -> ListKey {
    let mut k = [0u8; KEY_LEN];
    k[..8].copy_from_slice(&t.to_be_bytes());
    k[8..].copy_from_slice(case.as_bytes());
    k
}

/// When the report of an entry of a newest-first list ([`newest_list`]) was escalated.
pub fn escalated_of(key: &ListKey) -> Timestamp {
    let mut t = [0u8; 8];
    t.copy_from_slice(&key[..8]);
    Timestamp(u64::MAX - u64::from_be_bytes(t))
}

/// The case of an entry.
pub fn case_of(key: &ListKey) -> CaseRef {
    let mut c = [0u8; 16];
    c.copy_from_slice(&key[8..]);
    CaseRef(c)
}

pub(super) const DAY: u64 = 86_400;

/// The start of `org`'s cells.
pub fn prefix(org: &OrgId) -> String {
    format!("{PREFIX}{org}.")
}

/// Every corridor (`MM-TH`) the brand's reports name, from their cells: those of each
/// organisation its cases name (read by its corridor cells' prefix, not every cell of it).
pub fn corridors(store: &Store) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let named = format!("{}with.", super::chain::CASES);
    let orgs: std::collections::BTreeSet<String> = super::with_prefix(store, &named)?
        .into_keys()
        .filter_map(|k| Some(k.split_once('.')?.0.to_string()))
        .collect();
    let mut out = std::collections::BTreeSet::new();
    for org in orgs {
        let at = format!("{PREFIX}{org}.corridor.");
        out.extend(
            super::with_prefix(store, &at)?
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(corridor, _)| corridor),
        );
    }
    Ok(out)
}

/// Adds to `c` what one status report counts for the party it concerns.
pub(super) fn add_report(c: &mut Cells, r: &StatusReport) {
    let at = prefix(&r.supplier);
    add_figures(c, &at, r);
    if r.status != ilm_protocol::CaseStatus::Closed {
        add(c, format!("{at}open"), 1);
    }
    add(c, format!("{at}month.{}", month(r.escalated_at)), 1);
}

/// Adds to `c`, each name after `at`, what one report counts whatever its case's other
/// reports say and whenever it was escalated: the case, remediation reported and confirmed,
/// categories, days to acknowledge and to remediate, corridor.
pub(super) fn add_figures(c: &mut Cells, at: &str, r: &StatusReport) {
    add(c, format!("{at}cases"), 1);
    if r.remediated_at.is_some() {
        add(c, format!("{at}remediated"), 1);
        if r.verified_at.is_some() {
            add(c, format!("{at}verified"), 1);
        }
    }
    for cat in &r.categories {
        add(c, format!("{at}category.{}", cat.code()), 1);
    }
    if let Some(a) = r.acknowledged_at {
        let d = days_between(r.escalated_at, a);
        add(c, format!("{at}ack.{d:03}"), 1);
    }
    if let Some(m) = r.remediated_at {
        let d = days_between(r.escalated_at, m);
        add(c, format!("{at}rem.{d:03}"), 1);
    }
    if let Some((o, d)) = &r.corridor {
        add(c, format!("{at}corridor.{}-{}", o.as_str(), d.as_str()), 1);
    }
}

/// A report's entry in its party's newest-first list (its entry in the due-date list
/// depends on the case's other reports: `chain::entries`).
pub(super) fn newest_entry(r: &StatusReport) -> (Vec<u8>, ListKey) {
    (
        newest_list(&r.supplier),
        list_key(u64::MAX - r.escalated_at.0, &r.case_ref),
    )
}

/// Stages a status report a brand received in `batch`, and what it changes in `pending`:
/// kept per (case, sender, party), so no report ever replaces another CSO's, nor one about
/// another party of the case; one held under the id of an earlier release for the same
/// party is replaced. What was held is read as the batch leaves it, else from `store`.
pub fn stage(
    store: &Store,
    batch: &mut WriteBatch,
    pending: &mut super::Pending,
    r: &StatusReport,
) -> Result<(), StoreError> {
    // Every read first: a failed read must leave the batch and `pending` as they were (the
    // message is retried; the batch is committed for the others).
    let before = group_of(store, batch, &r.case_ref)?;
    let legacy = schema::legacy_report_id(&r.case_ref, &r.cso);
    let id = schema::report_id(&r.case_ref, &r.cso, &r.supplier);
    let mut after = before.clone();
    let mut replaced: Vec<StatusReport> = Vec::new();
    let replaces_legacy = before
        .get(&legacy)
        .is_some_and(|h| h.supplier == r.supplier);
    if replaces_legacy {
        replaced.extend(after.remove(&legacy));
    }
    replaced.extend(after.insert(id.clone(), r.clone()));
    // The one write that can fail (encoding) comes before any other change.
    batch.put(&schema::STATUS_REPORTS, &id, r)?;
    if replaces_legacy {
        batch.remove(&schema::STATUS_REPORTS, &legacy);
    }
    pending.report(&replaced, r);
    let (before, after): (Vec<_>, Vec<_>) = (
        before.into_values().collect(),
        after.into_values().collect(),
    );
    pending.reported_case(&before, &after);
    Ok(())
}

/// The reports of a case as `batch` leaves them (else as `store` holds them), by id.
fn group_of(
    store: &Store,
    batch: &WriteBatch,
    case: &CaseRef,
) -> Result<BTreeMap<Vec<u8>, StatusReport>, StoreError> {
    let mut by_id: BTreeMap<Vec<u8>, StatusReport> = store
        .scan_with_ids_prefixed(&schema::STATUS_REPORTS, case.as_bytes())?
        .into_iter()
        .collect();
    for (id, v) in batch.leaves_prefixed(&schema::STATUS_REPORTS, case.as_bytes()) {
        match v {
            Some(r) => by_id.insert(id, r),
            None => by_id.remove(&id),
        };
    }
    Ok(by_id)
}

/// The reports of a case, in id order.
pub fn reports_of(store: &Store, case: &CaseRef) -> Result<Vec<StatusReport>, StoreError> {
    store.scan(&schema::STATUS_REPORTS, case.as_bytes())
}

/// `org`'s reports by escalation, newest first, from the `skip`-th on, at most `n`: when
/// each was escalated to it, and its case (two reports escalated at once, in one case,
/// share an entry).
pub fn newest_page(
    store: &Store,
    org: &OrgId,
    skip: usize,
    n: usize,
) -> Result<Vec<(Timestamp, CaseRef)>, StoreError> {
    let name = newest_list(org);
    Ok(LISTS
        .ids_in(store, &name, skip, n)?
        .iter()
        .filter_map(|id| super::lists::key_of::<KEY_LEN>(id))
        .map(|k| (escalated_of(&k), case_of(&k)))
        .collect())
}

/// Whether each of `lists` holds `key` (a report with every facet of a set has the same key
/// on each list of them), adding to `looked` the lists searched: it stops at the first that
/// lacks it.
pub fn on_every_list(
    store: &Store,
    lists: &[Vec<u8>],
    key: &ListKey,
    looked: &mut usize,
) -> Result<bool, StoreError> {
    for list in lists {
        *looked += 1;
        if !LISTS.contains(store, list, key)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether this node holds a report from `cso` about `org` of a case (under its id, or
/// under the id of an earlier release).
pub fn has_report(
    store: &Store,
    case: &CaseRef,
    cso: &OrgId,
    org: &OrgId,
) -> Result<bool, StoreError> {
    if store.contains(&schema::STATUS_REPORTS, &schema::report_id(case, cso, org))? {
        return Ok(true);
    }
    let legacy: Option<StatusReport> = store.get(
        &schema::STATUS_REPORTS,
        &schema::legacy_report_id(case, cso),
    )?;
    Ok(legacy.is_some_and(|r| r.supplier == *org))
}

/// One party's figures from the reports about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFigures {
    /// Reports (one per case).
    pub cases: u64,
    /// Of cases not closed.
    pub open: u64,
    /// Saying remediation was reported.
    pub remediated: u64,
    /// Of those, saying the workers' verdict was recorded.
    pub verified: u64,
    /// Issue categories, by code.
    pub categories: BTreeMap<String, u64>,
    /// By month first escalated (`YYYY-MM`).
    pub months: BTreeMap<String, u64>,
    /// Acknowledgements by whole days after the escalation (`ddd` to count).
    pub ack_days: BTreeMap<String, i64>,
    /// Remediations reported, by whole days after the escalation (`ddd` to count).
    pub remediate_days: BTreeMap<String, i64>,
    /// By corridor (`MM-TH`).
    pub corridors: BTreeMap<String, u64>,
}

impl ReportFigures {
    /// The figures of cells named as under [`prefix`], the prefix taken off.
    pub(super) fn of_cells(cells: &BTreeMap<String, i64>) -> ReportFigures {
        let mut f = ReportFigures::default();
        for (name, n) in cells {
            let count = u64::try_from(*n).unwrap_or(0);
            match name.split_once('.') {
                Some(("category", c)) => _ = f.categories.insert(c.to_string(), count),
                Some(("month", m)) => _ = f.months.insert(m.to_string(), count),
                Some(("ack", d)) => _ = f.ack_days.insert(d.to_string(), *n),
                Some(("rem", d)) => _ = f.remediate_days.insert(d.to_string(), *n),
                Some(("corridor", c)) => _ = f.corridors.insert(c.to_string(), count),
                _ if name == "cases" => f.cases = count,
                _ if name == "open" => f.open = count,
                _ if name == "remediated" => f.remediated = count,
                _ if name == "verified" => f.verified = count,
                _ => {}
            }
        }
        f
    }

    /// The figures of some reports (about one party or several), counted as the cells count
    /// them.
    pub fn of_reports<'a>(reports: impl IntoIterator<Item = &'a StatusReport>) -> ReportFigures {
        let mut mine: BTreeMap<String, i64> = BTreeMap::new();
        for r in reports {
            let mut c = Cells::new();
            add_report(&mut c, r);
            let at = prefix(&r.supplier);
            for (k, v) in c {
                if let Some(name) = k.strip_prefix(&at) {
                    *mine.entry(name.to_string()).or_default() += v;
                }
            }
        }
        ReportFigures::of_cells(&mine)
    }

    /// Adds `other`'s figures to these (the figures over two parties' reports).
    pub fn merge(&mut self, other: &ReportFigures) {
        fn sum<K: Ord + Clone, V: Copy + std::ops::AddAssign + Default>(
            into: &mut BTreeMap<K, V>,
            from: &BTreeMap<K, V>,
        ) {
            for (k, v) in from {
                *into.entry(k.clone()).or_default() += *v;
            }
        }
        self.cases += other.cases;
        self.open += other.open;
        self.remediated += other.remediated;
        self.verified += other.verified;
        sum(&mut self.categories, &other.categories);
        sum(&mut self.months, &other.months);
        sum(&mut self.ack_days, &other.ack_days);
        sum(&mut self.remediate_days, &other.remediate_days);
        sum(&mut self.corridors, &other.corridors);
    }
}

/// `org`'s figures: one read of its cells.
pub fn figures(store: &Store, org: &OrgId) -> Result<ReportFigures, StoreError> {
    Ok(ReportFigures::of_cells(&super::with_prefix(
        store,
        &prefix(org),
    )?))
}

/// `org`'s reports saying it owes something due before `now`, in cases not closed (as
/// `chain::overdue_in` says).
pub fn overdue(store: &Store, org: &OrgId, now: Timestamp) -> Result<u64, StoreError> {
    super::due::overdue_count(
        store,
        &format!("{}due.", prefix(org)),
        &LISTS,
        &due_list(org),
        now,
    )
}

/// Each party some report says owes something (in a case not closed), in id order.
pub fn owing_parties(store: &Store) -> Result<Vec<OrgId>, StoreError> {
    Ok(LISTS
        .terms(store, DUE)?
        .iter()
        .filter_map(|term| Some(OrgId(term.get(DUE.len()..)?.try_into().ok()?)))
        .collect())
}

/// What one status report adds: its party's figures.
pub fn of_report(report: &StatusReport) -> Cells {
    let mut c = Cells::new();
    add_report(&mut c, report);
    c
}

/// Calls `f` with the reports of each case in turn (in id order: stored by case first), one
/// case held at a time.
pub(super) fn for_each_case(
    store: &Store,
    mut f: impl FnMut(&[StatusReport]),
) -> Result<(), StoreError> {
    let mut group: Vec<StatusReport> = Vec::new();
    store.for_each::<StatusReport>(&schema::STATUS_REPORTS, &[], |r| {
        if group.first().is_some_and(|g| g.case_ref != r.case_ref) {
            f(&group);
            group.clear();
        }
        group.push(r);
    })?;
    if !group.is_empty() {
        f(&group);
    }
    Ok(())
}

/// Rebuilds a brand's lists of status reports ([`LISTS`], and those of their figures,
/// [`report_figures::LISTS`]) from every report.
pub(crate) fn rebuild_lists(store: &Store) -> Result<(), StoreError> {
    rebuild_lists_in(store, super::LIST_CHUNK).map(|_| ())
}

/// [`rebuild_lists`], staging the entries of about `chunk` reports per batch; returns how
/// many records of lists the batches wrote or removed.
pub(super) fn rebuild_lists_in(store: &Store, chunk: usize) -> Result<usize, StoreError> {
    // Not built until the cells are replaced (see `rebuild_indexes`), or, when only the
    // lists change, until they are all written (`ensure_built`).
    super::unmark(store)?;
    super::empty(store, LISTS.table())?;
    super::empty(store, report_figures::LISTS.table())?;
    // Each case by its opening, newest first (24 bytes per case held meanwhile), then its
    // reports read again in that order: each chunk's entries then add to one end of the
    // lists by opening, and mostly to one end of the others (newest-first lists by each
    // report's escalation at their end; those by date owed at their start, as those dates
    // follow the escalations, a remediation's a few weeks after an acknowledgement's), so
    // a block is written about once. In the reports' own order (by case reference, at
    // random) each chunk rewrote most blocks of every long list: hours for a million.
    let mut keys: Vec<super::opened::Key> = Vec::new();
    for_each_case(store, |group| {
        if let Some(opened) = group.iter().map(|r| r.escalated_at).min() {
            keys.push(super::opened::key(opened, &group[0].case_ref));
        }
    })?;
    keys.sort_unstable();
    let mut written = 0;
    let mut changes = super::lists::Changes::<KEY_LEN>::new();
    let mut figures = super::lists::Changes::<{ report_figures::ENTRY_LEN }>::new();
    let mut held = 0;
    let mut flush =
        |changes: &mut super::lists::Changes<KEY_LEN>,
         figures: &mut super::lists::Changes<{ report_figures::ENTRY_LEN }>| {
            let mut batch = WriteBatch::new();
            LISTS.stage(store, &mut batch, changes)?;
            report_figures::LISTS.stage(store, &mut batch, figures)?;
            written += batch.len();
            changes.clear();
            figures.clear();
            store.commit(batch)
        };
    for key in &keys {
        let group = reports_of(store, &super::opened::case_of(key))?;
        for (list, entry) in super::chain::entries(&group) {
            changes.entry(list).or_default().insert(entry, true);
        }
        for (list, entry) in report_figures::entries(&group) {
            figures.entry(list).or_default().insert(entry, true);
        }
        held += group.len();
        if held >= chunk.max(1) {
            held = 0;
            flush(&mut changes, &mut figures)?;
        }
    }
    flush(&mut changes, &mut figures)?;
    Ok(written)
}

#[cfg(test)]
mod tests;
