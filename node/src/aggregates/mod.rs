//! Incremental aggregates: counts the dashboards and exports read instead of scanning every
//! case. Each case state and each contact contributes a fixed set of cells (a pure function of
//! it); the store keeps the sum. When a case's state changes, the cells of its old state are
//! taken away and those of its new state added, in the batch that stores the state, so the
//! sums can never disagree with the states after a crash. `ilm reindex` recounts them.
//!
//! Only what does not depend on the clock is aggregated (overdue items are computed from the
//! open cases' deadlines at read time).

pub mod chain;
pub mod due;
pub mod lists;
pub mod opened;
pub mod party;
mod quantiles;
pub mod report_days;
pub mod report_facets;
pub mod report_figures;
pub mod report_pairs;
pub mod reports;
mod tally;
pub mod terms;
mod units;

pub use quantiles::{by_month, median, median_days, quantile_days};
pub use tally::Tally;

use crate::intake::Contact;
use crate::records::StatusReport;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{CaseState, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// Cell name to value: a count, a sum (amounts repaid) or a histogram bucket.
pub type Cells = BTreeMap<String, i64>;

/// Longest time bucket, in days; slower answers are counted in the last one.
pub const MAX_DAYS: u64 = 400;

const DAY: u64 = 86_400;

/// (year, month) of a timestamp (UTC, proleptic Gregorian).
pub fn year_month(t: Timestamp) -> (i64, i64) {
    let m = ilm_protocol::Month::of(t);
    (i64::from(m.year()), i64::from(m.number()))
}

/// `YYYY-MM` of a timestamp.
pub fn month(t: Timestamp) -> String {
    ilm_protocol::Month::of(t).to_string()
}

/// The snake_case code of a serialised enum.
fn code<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn add(cells: &mut Cells, key: String, n: i64) {
    *cells.entry(key).or_default() += n;
}

fn days_between(from: Timestamp, to: Timestamp) -> u64 {
    (to.0.saturating_sub(from.0) / DAY).min(MAX_DAYS)
}

/// What one case adds to the aggregates: the case by month opened and by status; each issue
/// category (and its ILO indicator) once per case, overall and by month opened; per party, days to acknowledge and to
/// report remediation (by month escalated), workers' verdicts, and amounts repaid.
pub fn of_case(state: &CaseState) -> Cells {
    let mut c = Cells::new();
    add(&mut c, "cases".into(), 1);
    add(&mut c, format!("cases.month.{}", month(state.opened_at)), 1);
    add(&mut c, format!("cases.status.{}", code(state.status())), 1);
    // Cases that owe something (what the due-date index holds), for the case list's total.
    if let Some(due) = state.next_due(Timestamp(0)) {
        add(&mut c, "cases.owing".into(), 1);
        // Per due day, so the overdue count sums a few hundred cells instead of counting
        // every overdue case's index id.
        add(&mut c, format!("{}{:06}", due::DAY_CELL, due.0 / DAY), 1);
    }
    for (party, due) in due::party_dues(state) {
        add(&mut c, due::party_day_cell(&party, due), 1);
    }
    party::add_case(&mut c, state);
    // Per case, as the dashboards count: remediated (a party's remediation confirmed by the
    // workers), reported (a party reported remediation), and both.
    let confirmed = state.parties.iter().any(|p| {
        matches!(
            p.verdict,
            Some(ilm_protocol::Verdict::Resolved | ilm_protocol::Verdict::PartlyResolved)
        )
    });
    let reported = state.parties.iter().any(|p| p.reported_at.is_some());
    add(&mut c, "cases.remediated".into(), i64::from(confirmed));
    add(&mut c, "cases.reported".into(), i64::from(reported));
    add(
        &mut c,
        "cases.reported_confirmed".into(),
        i64::from(reported && confirmed),
    );
    c.retain(|_, v| *v != 0);
    let mut categories: Vec<_> = state
        .parties
        .iter()
        .flat_map(|p| p.categories.iter().copied())
        .collect();
    categories.sort();
    categories.dedup();
    let opened = month(state.opened_at);
    for cat in &categories {
        add(&mut c, format!("cases.category.{}", cat.code()), 1);
        add(
            &mut c,
            format!("cases.m.{opened}.category.{}", cat.code()),
            1,
        );
        if let Some(ilo) = cat.ilo_indicator() {
            add(&mut c, format!("cases.ilo.{}", code(ilo)), 1);
        }
    }
    for p in &state.parties {
        let m = month(p.escalated_at);
        add(&mut c, format!("parties.month.{m}"), 1);
        if let Some(a) = p.acknowledged_at {
            let d = days_between(p.escalated_at, a);
            add(&mut c, format!("ack.days.{m}.{d:03}"), 1);
        }
        if let Some(r) = p.reported_at {
            let m = month(p.first_escalated_at);
            let d = days_between(p.first_escalated_at, r);
            add(&mut c, format!("remediated.days.{m}.{d:03}"), 1);
        }
        if let Some(v) = p.verdict {
            add(&mut c, format!("verdict.{}", code(v)), 1);
        }
        for money in &p.amounts_repaid {
            let units = i64::try_from(money.minor_units).unwrap_or(i64::MAX);
            add(&mut c, format!("repaid.{}", money.currency), units);
        }
    }
    c
}

/// What one contact adds: by month received, channel, language, nationality, gender, age
/// band, sector, migration corridor and country of work, and each of those per month.
pub fn of_contact(contact: &Contact) -> Cells {
    let dimensions = [
        ("month", month(contact.received_at)),
        ("channel", code(contact.channel)),
        ("language", contact.language.clone()),
        ("nationality", contact.nationality.to_string()),
        ("gender", code(contact.gender)),
        ("age_band", code(contact.age_band)),
        ("sector", contact.sector.clone()),
        (
            "corridor",
            format!("{}-{}", contact.origin, contact.destination),
        ),
        ("destination", contact.destination.to_string()),
    ];
    let mut c = Cells::new();
    add(&mut c, "contacts".into(), 1);
    let m = &dimensions[0].1;
    for (dimension, value) in &dimensions {
        add(&mut c, format!("contacts.{dimension}.{value}"), 1);
    }
    // Each dimension again per month, for the published statistics.
    for (dimension, value) in &dimensions[1..] {
        add(&mut c, format!("contacts.m.{m}.{dimension}.{value}"), 1);
    }
    c
}

/// The change from `old` to `new` (cells that cancel out are left out).
pub fn delta(old: &Cells, new: &Cells) -> Cells {
    let mut d = new.clone();
    for (k, v) in old {
        add(&mut d, k.clone(), -v);
    }
    d.retain(|_, v| *v != 0);
    d
}

/// A case state's entries in one table's lists: each a list's name and a key.
type Entries<const N: usize> = fn(&CaseState) -> Vec<(Vec<u8>, [u8; N])>;

/// Records how a case's entries (of `entries`) change from `old` to `new` in `changes`.
fn diff<const N: usize>(
    changes: &mut lists::Changes<N>,
    entries: Entries<N>,
    old: Option<&CaseState>,
    new: &CaseState,
) {
    let was: BTreeSet<_> = old.map(entries).unwrap_or_default().into_iter().collect();
    let is: BTreeSet<_> = entries(new).into_iter().collect();
    diff_sets(changes, &was, &is);
}

/// Records in `changes` the entries of `was` no longer held and those of `is` now held.
fn diff_sets<const N: usize>(
    changes: &mut lists::Changes<N>,
    was: &BTreeSet<(Vec<u8>, [u8; N])>,
    is: &BTreeSet<(Vec<u8>, [u8; N])>,
) {
    for ((term, key), holds) in was
        .difference(is)
        .map(|e| (e, false))
        .chain(is.difference(was).map(|e| (e, true)))
    {
        changes.entry(term.clone()).or_default().insert(*key, holds);
    }
}

/// Changes to write in one batch: accumulates deltas (a case may change twice before the
/// batch is flushed), then adds them to what the store holds.
#[derive(Default)]
pub struct Pending {
    deltas: Cells,
    /// Changes of the indexes kept in lists (the last change of a key wins): the search
    /// terms, the cases not closed, the due dates, the due dates per party, the cases each
    /// party owes nothing in.
    terms: lists::Changes<{ opened::KEY_LEN }>,
    opened: lists::Changes<{ opened::KEY_LEN }>,
    due: lists::Changes<{ due::DUE_KEY_LEN }>,
    party_due: lists::Changes<{ due::DUE_KEY_LEN }>,
    party_settled: lists::Changes<{ opened::KEY_LEN }>,
    report_lists: lists::Changes<{ reports::KEY_LEN }>,
    report_figures: lists::Changes<{ report_figures::ENTRY_LEN }>,
}

impl Pending {
    /// Nothing to write yet.
    pub fn new() -> Pending {
        Pending::default()
    }

    /// A case whose state goes from `old` (None: new case) to `new`. A case keeps its key
    /// (its opening time and reference never change); were it to change, every entry would
    /// move to the new key, as the entries differ.
    pub fn case(&mut self, old: Option<&CaseState>, new: &CaseState) {
        self.entries(old, new);
        let old = old.map(of_case).unwrap_or_default();
        self.add(&delta(&old, &of_case(new)));
    }

    /// The changes of a case's entries in the indexes kept in lists.
    fn entries(&mut self, old: Option<&CaseState>, new: &CaseState) {
        diff(&mut self.terms, terms::entries, old, new);
        diff(&mut self.opened, opened::entries, old, new);
        diff(&mut self.due, due::entries, old, new);
        diff(&mut self.party_due, due::party_entries, old, new);
        diff(&mut self.party_settled, due::settled_entries, old, new);
    }

    /// A status report stored at a brand, replacing `old` (those it replaces: none, or the
    /// one held under its id, or under the id of an earlier release): its party's cells (its
    /// list entries change with its case's, [`Pending::reported_case`]).
    pub fn report(&mut self, old: &[StatusReport], new: &StatusReport) {
        let mut cells = Cells::new();
        for (k, v) in old.iter().flat_map(reports::of_report) {
            add(&mut cells, k, v);
        }
        self.add(&delta(&cells, &reports::of_report(new)));
    }

    /// A case a brand knows from its reports, whose reports go from `before` to `after`
    /// (each in id order): its case-level cells, and its entries in the case-level lists and
    /// in its parties' lists. Entries are compared over all of the case's reports: two
    /// reports about one party (two CSOs') may share an entry, which stays while either
    /// holds it.
    pub fn reported_case(&mut self, before: &[StatusReport], after: &[StatusReport]) {
        let entries =
            |group: &[StatusReport]| -> BTreeSet<_> { chain::entries(group).into_iter().collect() };
        diff_sets(&mut self.report_lists, &entries(before), &entries(after));
        let figures = |group: &[StatusReport]| -> BTreeSet<_> {
            report_figures::entries(group).into_iter().collect()
        };
        diff_sets(&mut self.report_figures, &figures(before), &figures(after));
        self.add(&delta(&chain::of_case(before), &chain::of_case(after)));
    }

    /// A new contact.
    pub fn contact(&mut self, contact: &Contact) {
        self.add(&of_contact(contact));
    }

    fn add(&mut self, cells: &Cells) {
        for (k, v) in cells {
            add(&mut self.deltas, k.clone(), *v);
        }
    }

    /// Puts the new sums into `batch`, reading the current ones from `store`. The caller is
    /// the node's only writer of aggregates (the core, or the API under the intake lock), so
    /// no other change can come between the read and the batch's commit.
    pub fn stage(self, store: &Store, batch: &mut WriteBatch) -> Result<(), StoreError> {
        let mut units = units::Changes::default();
        let mut cells = Vec::new();
        for (k, d) in self.deltas.iter().filter(|(_, d)| **d != 0) {
            match units::split(k) {
                Some((unit, name)) => units.add(unit, name, *d),
                None => cells.push((k, *d)),
            }
        }
        // Each sum is read from the store, not the batch: a second staging into one batch
        // would write over the first one's. Refused before anything is staged.
        if !cells.is_empty() && batch.touches(&schema::AGGREGATES) {
            return Err(staged_twice(&schema::AGGREGATES));
        }
        units.check(batch)?;
        self.stage_lists(store, batch)?;
        for (k, d) in cells {
            let held: i64 = store.get(&schema::AGGREGATES, k.as_bytes())?.unwrap_or(0);
            let sum = held.saturating_add(d);
            if sum == 0 {
                batch.remove(&schema::AGGREGATES, k.as_bytes());
            } else {
                batch.put(&schema::AGGREGATES, k.as_bytes(), &sum)?;
            }
        }
        units.stage(store, batch)
    }

    /// Puts the changes of the indexes kept in lists into `batch`.
    pub(super) fn stage_lists(
        &self,
        store: &Store,
        batch: &mut WriteBatch,
    ) -> Result<(), StoreError> {
        terms::LISTS.stage(store, batch, &self.terms)?;
        opened::LISTS.stage(store, batch, &self.opened)?;
        due::LISTS.stage(store, batch, &self.due)?;
        due::BY_PARTY.stage(store, batch, &self.party_due)?;
        due::SETTLED.stage(store, batch, &self.party_settled)?;
        reports::LISTS.stage(store, batch, &self.report_lists)?;
        report_figures::LISTS.stage(store, batch, &self.report_figures)
    }
}

/// The error of a table of aggregates staged twice into one batch.
fn staged_twice<T>(table: &crate::store::Table<T>) -> StoreError {
    StoreError::Corrupt(format!("{}: staged twice in one batch", table.name()))
}

/// The cell that says the aggregates cover every stored record, holding the version of the
/// cells' definitions they were counted with (absent in a database of an earlier release, or
/// before the first start).
const BUILT: &str = "_built";

/// The version of what `of_case` and `of_contact` count (and of the indexes kept with them): raise it
/// whenever they change, and every node brings them up to date at its next start (see
/// [`ensure_built`]).
pub const VERSION: i64 = 26;

/// The first [`VERSION`] whose cells are counted as they are now: a store counted at this
/// version or later keeps its cells when only the brand's report lists change, and rebuilds
/// those alone (a recount reads every report and holds every cell: about 4 of a million-
/// report brand's 6.5 minutes, `benches/brand.rs`). Raise it to `VERSION` when what the
/// cells count changes.
const CELLS_SINCE: i64 = 23;

/// The first [`VERSION`] whose indexes are built as they are now: a store counted at this
/// version or later keeps its indexes when only the cells change (rebuilding them reads and
/// rewrites every case's entries: minutes at a million cases). Raise it to `VERSION` when
/// what the indexes hold changes.
const INDEXES_SINCE: i64 = 14;

/// The cells whose names start with `prefix`, keyed by the rest of the name (those kept per
/// unit too).
pub fn with_prefix(store: &Store, prefix: &str) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut out = units::with_prefix(store, prefix)?;
    for (id, v) in store.scan_with_ids_prefixed(&schema::AGGREGATES, prefix.as_bytes())? {
        let key = String::from_utf8_lossy(&id).into_owned();
        if let Some(rest) = key.strip_prefix(prefix) {
            out.insert(rest.to_string(), v);
        }
    }
    Ok(out)
}

/// One cell's value (0 when absent).
pub fn get(store: &Store, cell: &str) -> Result<i64, StoreError> {
    if units::split(cell).is_some() {
        return Ok(units::with_prefix(store, cell)?
            .get("")
            .copied()
            .unwrap_or(0));
    }
    Ok(store
        .get(&schema::AGGREGATES, cell.as_bytes())?
        .unwrap_or(0))
}

/// Every aggregate the store holds (those kept per unit named in full).
pub fn held(store: &Store) -> Result<Cells, StoreError> {
    let mut out = units::with_prefix(store, "")?;
    for (id, v) in store.scan_with_ids(&schema::AGGREGATES)? {
        let key = String::from_utf8_lossy(&id).into_owned();
        if key != BUILT {
            out.insert(key, v);
        }
    }
    Ok(out)
}

/// The version of the cells' definitions the stored aggregates were counted with (None
/// when they never were).
pub fn built_version(store: &Store) -> Result<Option<i64>, StoreError> {
    store.get(&schema::AGGREGATES, BUILT.as_bytes())
}

/// Counts the aggregates from scratch if they were never built, or built with other cell
/// definitions (a new database, or one of an earlier release), or only rebuilds a brand's
/// report lists when the cells are counted as now ([`CELLS_SINCE`]); from then on they are
/// kept incrementally. Returns whether it counted or rebuilt anything.
pub fn ensure_built(store: &Store) -> Result<bool, StoreError> {
    ensure_built_as(store, VERSION, INDEXES_SINCE, CELLS_SINCE)
}

/// [`ensure_built`] for `version`, with indexes built as they are since `indexes_since` and
/// cells counted as they are since `cells_since` (tests take a version after this one's,
/// whatever its indexes and cells).
fn ensure_built_as(
    store: &Store,
    version: i64,
    indexes_since: i64,
    cells_since: i64,
) -> Result<bool, StoreError> {
    let built = built_version(store)?;
    if built == Some(version) {
        return Ok(false);
    }
    if built.is_some_and(|v| (cells_since.max(indexes_since)..version).contains(&v)) {
        // Only the brand's report lists changed. Rebuilding them marks the store unbuilt
        // first: a start stopped half way leaves it so, and the next start counts and
        // rebuilds everything (the dearer way, but never a store marked built with lists
        // half rebuilt).
        reports::rebuild_lists(store)?;
        mark(store, version)?;
        return Ok(true);
    }
    let cells = recount(store, &mut |_| {})?;
    if built.is_some_and(|v| (indexes_since..version).contains(&v)) {
        // The brand's report lists are rebuilt with every recount: a recount reads every
        // report anyway, and only a brand holds any.
        reports::rebuild_lists(store)?;
    } else {
        rebuild_indexes(store)?;
    }
    replace_as(store, &cells, 10_000, version)?;
    Ok(true)
}

/// Ids removed (or records written) per batch by a rebuild.
const CHUNK: usize = 50_000;

/// Removes every record of `table`, a chunk at a time (an index may hold tens of ids per
/// case).
pub(crate) fn empty<T>(store: &Store, table: &crate::store::Table<T>) -> Result<(), StoreError> {
    loop {
        let ids = store.ids_after(table, 0, CHUNK)?;
        if ids.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        for id in ids {
            batch.remove(table, &id);
        }
        store.commit(batch)?;
    }
}

/// Rebuilds the indexes kept with the aggregates from every stored case state and status
/// report, streaming them. The store is marked unbuilt first, so that a rebuild stopped
/// half way (`ilm reindex` interrupted) is done again at the next start instead of leaving
/// the lists short; [`replace`] marks it built again.
pub fn rebuild_indexes(store: &Store) -> Result<(), StoreError> {
    unmark(store)?;
    rebuild_indexes_in(store, LIST_CHUNK)?;
    reports::rebuild_lists(store)
}

/// Marks the aggregates and their indexes as not built.
pub(crate) fn unmark(store: &Store) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    batch.remove(&schema::AGGREGATES, BUILT.as_bytes());
    store.commit(batch)
}

/// [`rebuild_indexes`], staging the entries of `chunk` cases per batch.
fn rebuild_indexes_in(store: &Store, chunk: usize) -> Result<(), StoreError> {
    // A database of an earlier release may hold one record per id here, not blocks.
    for lists in [
        &schema::TERMS,
        &schema::OPENED,
        &schema::DUE,
        &schema::PARTY_DUE,
        &schema::PARTY_SETTLED,
    ] {
        empty(store, lists)?;
    }
    let mut keys: Vec<opened::Key> = Vec::new();
    crate::cases::for_each_state(store, |s| {
        keys.push(opened::key(s.opened_at, &s.case_ref));
    })?;
    // The lists are written in key order (24 bytes per case held meanwhile): each chunk then
    // adds to the end of the search terms' lists and the list of cases not closed, so a
    // block is written about once, where the states' own order (by case) would rewrite most
    // blocks of a common term per chunk. Due dates mostly follow opening dates.
    keys.sort_unstable();
    for part in keys.chunks(chunk.max(1)) {
        let mut pending = Pending::new();
        for key in part {
            let case = opened::case_of(key);
            if let Some(state) = crate::cases::state_of(store, &case)? {
                pending.entries(None, &state);
            }
        }
        let mut batch = WriteBatch::new();
        pending.stage_lists(store, &mut batch)?;
        store.commit(batch)?;
    }
    Ok(())
}

/// Cases whose entries a rebuild stages per batch.
pub(super) const LIST_CHUNK: usize = 5_000;

/// The aggregates recounted from every stored case state, contact and status report; `progress` is told
/// how many records were read.
pub fn recount(store: &Store, progress: &mut dyn FnMut(u64)) -> Result<Tally, StoreError> {
    let mut total = Tally::default();
    let mut n = 0u64;
    // One record at a time: a recount must not hold every case in memory.
    crate::cases::for_each_state(store, |state| {
        for (k, v) in of_case(&state) {
            total.add(&k, v);
        }
        n += 1;
        progress(n);
    })?;
    store.for_each::<Contact>(&schema::CONTACTS, &[], |contact| {
        for (k, v) in of_contact(&contact) {
            total.add(&k, v);
        }
        n += 1;
        progress(n);
    })?;
    reports::for_each_case(store, |group| {
        for (k, v) in group
            .iter()
            .flat_map(reports::of_report)
            .chain(chain::of_case(group))
        {
            total.add(&k, v);
        }
        n += group.len() as u64;
        progress(n);
    })?;
    total.drop_zeros();
    Ok(total)
}

/// Replaces the stored aggregates with `cells` (in batches of about `chunk` cells), marking
/// them built once all are written. Marked unbuilt first: a replacement stopped half way is
/// counted again at the next start.
pub fn replace(store: &Store, cells: &Tally, chunk: usize) -> Result<(), StoreError> {
    replace_as(store, cells, chunk, VERSION)
}

/// [`replace`], marking the cells counted with the definitions of `version`.
fn replace_as(store: &Store, cells: &Tally, chunk: usize, version: i64) -> Result<(), StoreError> {
    unmark(store)?;
    empty(store, &schema::AGGREGATES)?;
    empty(store, &schema::AGGREGATE_UNITS)?;
    units::write(store, cells.by_unit(), chunk)?;
    let cells: Vec<(&String, &i64)> = cells.plain().iter().collect();
    for part in cells.chunks(chunk.max(1)) {
        let mut batch = WriteBatch::new();
        for (k, v) in part {
            batch.put(&schema::AGGREGATES, k.as_bytes(), *v)?;
        }
        store.commit(batch)?;
    }
    mark(store, version)
}

/// Marks the aggregates and their indexes as built with the cells' definitions of `version`.
fn mark(store: &Store, version: i64) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    batch.put(&schema::AGGREGATES, BUILT.as_bytes(), &version)?;
    store.commit(batch)
}

#[cfg(test)]
pub(crate) mod tests;
