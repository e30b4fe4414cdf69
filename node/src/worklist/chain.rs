//! A brand's case list searched, narrowed or in another order, read from the case-level lists
//! kept with its reports (`aggregates::chain`) instead of a row built from every report: each
//! condition of the query is the cases of a few of those lists, the lists are read newest
//! first and intersected by leaping (`stream`), and only the cases they share are looked at.
//!
//! A condition the lists hold exactly (not closed, a status, an organisation named, a category
//! (with an organisation named, as its own report gives them), a sector, a corridor, a word
//! found in a name, a category's label or a reference) needs no row: the page's rows alone
//! are built. The lists cannot say whether a case is overdue, nor, with one organisation
//! named, the rest of what its own report says (the days the case reached it, its sector and
//! corridor, as its scorecard counts): then each shared case's row is
//! built and checked by [`Filter::matches`], the rule a read of every report applies. The
//! overdue cases (the brand's, or the organisation named's) and the cases that reached the
//! organisation named in the query's days are read apart instead, from the due-date and
//! reports lists with each case's reports read for its key, when there are few enough that
//! this costs less ([`Apart`]); the overdue ones are then exact.
//!
//! Newest first, it stops counting once it has found the page and [`COUNTED`] more, as a
//! CSO's wide search does (`CasePage::more`), unless the cells count the query exactly
//! ([`known_total`]: one status; one category with closed cases; an organisation named and
//! nothing else; the overdue cases, perhaps of an organisation named): then it stops at the
//! page with their total. Soonest due first or by status, when the lists hold
//! every condition, walks the due-date list or the status lists among the cases they keep
//! (`ordered`); otherwise another order builds the row of every case the conditions share.
//! Another order is first tried without gathering the cases kept: along the due-date list
//! or the status lists, each case's row checked, when the cells say the page is likely
//! found within a budget of rows (`walk`).

mod row;

pub(super) use row::report_row;
pub use row::row_of;

use super::condition::Key;
use super::stream::{self, COUNTED, Found, Stream};
use super::walk::Limits;
use super::{CasePage, Filter, Sort};
use crate::aggregates::{chain, opened, reports};
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, IssueCategory, OrgId, Timestamp};

/// One condition: the cases of any of these case-level lists, or of these keys (found apart,
/// sorted).
#[derive(Default)]
struct Clause {
    names: Vec<Vec<u8>>,
    keys: Vec<Key>,
}

impl Clause {
    fn of(name: Vec<u8>) -> Clause {
        Clause {
            names: vec![name],
            keys: Vec::new(),
        }
    }
}

/// The conditions of `filter` that the lists answer, and whether what they find must still be
/// checked row by row (they hold more cases than the query keeps). `need` is how many cases
/// the page needs found (the walk may stop there).
fn clauses(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
    need: usize,
    apart: Apart,
) -> Result<(Vec<Clause>, bool), StoreError> {
    let mut out = Vec::new();
    let mut by_row = false;
    let named = !filter.party.is_empty();
    let party = filter.party_named();
    // The cells are read only by a query with a condition that may be read apart.
    let may_read_apart =
        filter.overdue || (party.is_some() && (filter.from.is_some() || filter.to.is_some()));
    let among = if may_read_apart {
        smallest_known(store, filter, party.as_ref())?
    } else {
        0
    };
    let apart = |n: usize| apart.reads(n, need, among);
    if named {
        out.push(Clause {
            names: party.iter().map(chain::cases_with).collect(),
            keys: Vec::new(),
        });
        // The days the case reached it: its own reports' window, when few. (A CSO is named by
        // cases no report concerns it in: its rows read the case's own days.)
        if let Some(p) = party
            && (filter.from.is_some() || filter.to.is_some())
            && membership
                .certificate(&p)
                .is_some_and(|c| c.role != ilm_protocol::Role::Cso)
            && let Some(keys) = reached_between(store, &p, filter, &apart)?
        {
            out.push(Clause {
                names: Vec::new(),
                keys,
            });
        }
    }
    // Overdue: the cases some party owes something in past its date, or with an
    // organisation named those it owes it in (an id not as written finds none already).
    if filter.overdue && (party.is_some() || !named) {
        match overdue(store, now, party.as_ref(), &apart)? {
            Some(keys) => out.push(Clause {
                names: Vec::new(),
                keys,
            }),
            None => by_row = true,
        }
    }
    // A status other than closed leaves closed cases out already.
    if !filter.status.is_empty() {
        out.push(Clause::of(chain::cases_in_status(&filter.status)));
    } else if !filter.closed {
        out.push(Clause::of(chain::OPEN_CASES.to_vec()));
    }
    // Any report's categories; with an organisation named, those of the case's report about
    // it (which may give fewer), as its row is read.
    if let Some(c) = filter.category {
        out.push(Clause::of(match &party {
            Some(p) => chain::cases_with_category(p, c),
            None => chain::cases_of_category(c),
        }));
    }
    // The case's sector and corridor; with an organisation named, its report's, which the
    // lists do not hold.
    if !named {
        if let Some(s) = &filter.sector {
            out.push(Clause::of(chain::cases_of_sector(s)));
        }
        if let Some((origin, work)) = &filter.corridor {
            out.push(Clause::of(chain::cases_of_corridor(origin, work)));
        }
    }
    for w in &filter.words {
        let clause = word(store, membership, w, label)?;
        // A word in hundreds of names or labels is checked on each row instead of merging as
        // many lists (each read once at its start).
        if clause.names.len() > MERGED_LISTS {
            by_row = true;
        } else {
            out.push(clause);
        }
    }
    if out.is_empty() {
        out.push(Clause::of(chain::ALL_CASES.to_vec()));
    }
    let by_own_report =
        named && (filter.from.is_some() || filter.to.is_some() || filter.narrows_profile());
    Ok((out, by_row || by_own_report))
}

/// Most lists one searched word is read from.
const MERGED_LISTS: usize = 256;

/// Whether the cases of a condition the lists do not hold in order (overdue; the days a case
/// reached the organisation named) are read apart, each case's reports read for its key, or
/// left to the row check (tests take each way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apart {
    /// Whichever costs less.
    Cheaper,
    /// Always read apart.
    Always,
    /// Never: each row is checked.
    Never,
}

impl Apart {
    /// Whether `n` cases are read apart rather than the `among` cases the other conditions
    /// keep checked row by row until `need` of them match, the `n` spread among them: the
    /// first costs `n` reads, the second about `need * among / n`, and never more than
    /// `among`.
    fn reads(self, n: usize, need: usize, among: usize) -> bool {
        match self {
            Apart::Cheaper => n <= among && n.saturating_mul(n) <= need.saturating_mul(among),
            Apart::Always => true,
            Apart::Never => false,
        }
    }
}

/// The keys of `cases`, read from their reports, sorted without repeats.
fn keys_of(store: &Store, cases: impl Iterator<Item = CaseRef>) -> Result<Vec<Key>, StoreError> {
    let mut out = Vec::new();
    for case in cases {
        if let Some(s) = chain::summary(&reports::reports_of(store, &case)?) {
            out.push(opened::key(s.opened_at, &case));
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The most cases the conditions a query's lists count keep (the others may keep fewer).
pub(super) fn smallest_known(
    store: &Store,
    filter: &Filter,
    party: Option<&OrgId>,
) -> Result<usize, StoreError> {
    let of_closed = |(all, open): (u64, u64)| if filter.closed { all } else { open };
    let mut n = of_closed(chain::case_totals(store, None)?);
    if let Some(p) = party {
        n = n.min(of_closed(chain::case_totals(store, Some(p))?));
    }
    let cell = |name: String| -> Result<u64, StoreError> {
        Ok(crate::aggregates::get(store, &name)?.max(0) as u64)
    };
    if !filter.status.is_empty() {
        n = n.min(cell(format!("{}status.{}", chain::CASES, filter.status))?);
    }
    if let Some(c) = filter.category {
        n = n.min(cell(format!("{}category.{}", chain::CASES, c.code()))?);
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The cases in which some party owes something past its date at `now` (as a row's
/// `overdue` says: the earliest date a report owes by is before `now`), or with `party`
/// those it owes something in past its date (as `overdue_with` says), when `apart` reads so
/// many; else None.
fn overdue(
    store: &Store,
    now: Timestamp,
    party: Option<&OrgId>,
    apart: &dyn Fn(usize) -> bool,
) -> Result<Option<Vec<Key>>, StoreError> {
    let (n, list) = match party {
        Some(p) => (reports::overdue(store, p, now)?, reports::due_list(p)),
        None => (chain::cases_overdue(store, now)?, chain::DUE_CASES.to_vec()),
    };
    if !apart(usize::try_from(n).unwrap_or(usize::MAX)) {
        return Ok(None);
    }
    let ids = reports::LISTS
        .ids_below(store, &list, &now.0.to_be_bytes(), usize::MAX)?
        .unwrap_or_default();
    keys_of_entries(store, &ids).map(Some)
}

/// The keys of the cases of these ids of reports' lists (a time, then a case), sorted
/// without repeats.
fn keys_of_entries(store: &Store, ids: &[Vec<u8>]) -> Result<Vec<Key>, StoreError> {
    let cases = ids
        .iter()
        .filter_map(|id| crate::aggregates::lists::key_of::<{ reports::KEY_LEN }>(id))
        .map(|k| reports::case_of(&k));
    keys_of(store, cases)
}

/// The cases that reached `party` in the filter's days (as any report about it says), when
/// `apart` reads so many; else None.
fn reached_between(
    store: &Store,
    party: &OrgId,
    filter: &Filter,
    apart: &dyn Fn(usize) -> bool,
) -> Result<Option<Vec<Key>>, StoreError> {
    let (lower, upper) = reports::escalated_between(filter.from, filter.to);
    let list = reports::newest_list(party);
    let n = reports::LISTS.count_between(store, &list, &lower, &upper)?;
    if !apart(n) {
        return Ok(None);
    }
    let ids = reports::LISTS.ids_between(store, &list, &lower, &upper)?;
    keys_of_entries(store, &ids).map(Some)
}

/// The cases a searched word finds at a brand, whose rows have no text of their own: those
/// naming an organisation whose name holds it, those of a category whose label holds it, and
/// those whose reference starts with it (8 hex digits or more).
fn word(
    store: &Store,
    membership: &MembershipState,
    w: &str,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<Clause, StoreError> {
    let mut clause = Clause::default();
    for cert in membership.known() {
        if cert.name.to_lowercase().contains(w) {
            clause.names.push(chain::cases_with(&cert.org_id));
        }
    }
    for c in IssueCategory::ALL {
        if label(*c).to_lowercase().contains(w) {
            clause.names.push(chain::cases_of_category(*c));
        }
    }
    if w.len() >= 8 && w.len() <= 32 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
        clause.keys = references(store, w)?;
    }
    Ok(clause)
}

/// The keys of the cases whose reference starts with these hex digits (8 or more, so few),
/// sorted.
fn references(store: &Store, hex: &str) -> Result<Vec<Key>, StoreError> {
    let Some(prefix) = super::condition::hex_prefix(hex) else {
        return Ok(Vec::new());
    };
    let mut cases: Vec<CaseRef> = Vec::new();
    // Reports are stored by case first.
    for id in store
        .ids_prefixed(&schema::STATUS_REPORTS, &prefix, usize::MAX)?
        .unwrap_or_default()
    {
        let Some(bytes) = id.get(..16).and_then(|b| <[u8; 16]>::try_from(b).ok()) else {
            continue;
        };
        let case = CaseRef(bytes);
        if case.to_hex().starts_with(hex) && !cases.contains(&case) {
            cases.push(case);
        }
    }
    keys_of(store, cases.into_iter())
}

/// The cell that counts exactly the cases `filter` keeps, when one does: one status, or one
/// category with closed cases, and nothing else.
fn counted_by(filter: &Filter) -> Option<String> {
    let only = filter.words.is_empty()
        && !filter.overdue
        && filter.party.is_empty()
        && filter.from.is_none()
        && filter.to.is_none()
        && !filter.narrows_profile();
    match (&filter.status, filter.category) {
        (s, None) if only && !s.is_empty() => Some(format!("{}status.{s}", chain::CASES)),
        (s, Some(c)) if only && s.is_empty() && filter.closed => {
            Some(format!("{}category.{}", chain::CASES, c.code()))
        }
        _ => None,
    }
}

/// How many cases `filter` keeps, when the cells count exactly that: one status, or one
/// category with closed cases ([`counted_by`]); no condition but an organisation named; or
/// the overdue cases, perhaps of an organisation named (closed cases owe nothing: asking for
/// them changes nothing).
pub(super) fn known_total(
    store: &Store,
    now: Timestamp,
    filter: &Filter,
) -> Result<Option<usize>, StoreError> {
    let total = |n: i64| usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    if let Some(cell) = counted_by(filter) {
        return Ok(Some(total(crate::aggregates::get(store, &cell)?)));
    }
    let party = filter.party_named();
    if party.is_none() && !filter.party.is_empty() {
        return Ok(None);
    }
    if filter.overdue && filter.only_party_or_overdue() {
        let n = match &party {
            // Its count is of reports: of cases unless two are about it in one case.
            Some(p) if chain::reported_twice(store, p)? => return Ok(None),
            Some(p) => reports::overdue(store, p, now)?,
            None => chain::cases_overdue(store, now)?,
        };
        return Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)));
    }
    if !filter.only_party() {
        return Ok(None);
    }
    // One organisation named: its cases, as its drill-down counts them.
    let (all, open) = chain::case_totals(store, party.as_ref())?;
    let kept = if filter.closed { all } else { open };
    Ok(Some(usize::try_from(kept).unwrap_or(usize::MAX)))
}

/// The page `filter` asks for of a brand's cases (a node whose rows all come from status
/// reports), read from the case-level lists.
pub fn page(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<CasePage, StoreError> {
    if super::walk::worth_walking(store, now, filter)?
        && let Some(page) =
            super::walk::walked(store, membership, now, filter, label, Limits::PAGE)?
    {
        return Ok(page);
    }
    page_reading(store, membership, now, filter, label, Apart::Cheaper)
}

/// [`page`], reading the conditions the lists do not hold in order as `apart` says.
pub fn page_reading(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
    apart: Apart,
) -> Result<CasePage, StoreError> {
    let row = |key: &Key| row_of(store, membership, now, key);
    // Newest first, a total the cells count spares counting past the page.
    let known = match filter.sort {
        Sort::Opened => known_total(store, now, filter)?,
        Sort::Due | Sort::Status => None,
    };
    let need = match filter.sort {
        Sort::Opened if known.is_some() => stream::needed(filter, 0),
        Sort::Opened => stream::needed(filter, COUNTED),
        Sort::Due | Sort::Status => usize::MAX,
    };
    let (Found { keys, more }, by_row) = found(store, membership, now, filter, label, need, apart)?;
    if filter.sort != Sort::Opened && !by_row {
        // The lists hold every condition: the cases they keep are the rows that pass.
        return super::ordered::page(store, filter, &keys, &row);
    }
    if filter.sort != Sort::Opened {
        // The order needs every row.
        let mut rows = Vec::with_capacity(keys.len());
        for key in &keys {
            rows.extend(row(key)?.filter(|r| filter.matches(r, label)));
        }
        return Ok(super::sorted_page(rows, filter));
    }
    let total = match known {
        Some(n) if more => n,
        _ => keys.len(),
    };
    super::built_page(&keys, total, more && known.is_none(), filter, row)
}

/// Every case `filter` keeps of a brand's, in its order, as keys: an export builds their
/// rows a chunk at a time, so what it holds grows with the cases kept, never with every row.
/// When the lists hold every condition, the order is read from them (`ordered`); otherwise,
/// or past the walk's budget, another order than newest first reads each case's reports for
/// its place, and again for its row.
pub fn selection(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<Vec<Key>, StoreError> {
    let (Found { keys, .. }, by_row) = found(
        store,
        membership,
        now,
        filter,
        label,
        usize::MAX,
        Apart::Cheaper,
    )?;
    if filter.sort == Sort::Opened {
        return Ok(keys);
    }
    if !by_row && let Some(ordered) = super::ordered::order(store, filter, &keys)? {
        return Ok(ordered);
    }
    // Another order: each kept case's place in it, from its row (dropped at once).
    let mut placed = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(r) = row_of(store, membership, now, &key)?.filter(|r| filter.matches(r, label))
        {
            placed.push((filter.sort_key(&r), key));
        }
    }
    placed.sort_unstable();
    Ok(placed.into_iter().map(|(_, k)| k).collect())
}

/// The cases the conditions of `filter` share, newest first, until `need` are found: those
/// that pass it (other orders checked row by row check the rows they build: the second
/// value says they must, the lists holding more than the query keeps).
#[allow(clippy::too_many_arguments)]
fn found(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
    need: usize,
    apart: Apart,
) -> Result<(Found, bool), StoreError> {
    let mut shared = shared(store, membership, now, filter, label, need, apart)?;
    let found = stream::leap(
        store,
        std::mem::take(&mut shared.streams),
        shared.oldest,
        need,
        usize::MAX,
        &mut |key| shared.keeps(key),
    )?;
    Ok((
        found.unwrap_or(Found {
            keys: Vec::new(),
            more: false,
        }),
        shared.by_row,
    ))
}

/// Every case a newest-first `filter` keeps of a brand's, handed to `each` as its lists are
/// read (false: stop), so that an export holds a chunk of each list, not the selection;
/// None, before anything is handed, for another order ([`selection`] then).
pub fn each_newest(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
    each: &mut dyn FnMut(&Key) -> Result<bool, StoreError>,
) -> Result<Option<()>, StoreError> {
    if filter.sort != Sort::Opened {
        return Ok(None);
    }
    let mut shared = shared(
        store,
        membership,
        now,
        filter,
        label,
        usize::MAX,
        Apart::Cheaper,
    )?;
    let mut streams = std::mem::take(&mut shared.streams);
    stream::leap_each(store, &mut streams, shared.oldest, usize::MAX, &mut |key| {
        if shared.keeps(key)? {
            each(key)
        } else {
            Ok(true)
        }
    })?;
    Ok(Some(()))
}

/// The lists a query's conditions read (each condition's, merged), the oldest case it
/// considers, and what checks each case they share.
struct Shared<'a> {
    streams: Vec<Stream>,
    oldest: Option<Timestamp>,
    /// The rows must be checked (the lists hold more than the query keeps).
    by_row: bool,
    store: &'a Store,
    membership: &'a MembershipState,
    now: Timestamp,
    filter: &'a Filter,
    label: &'a dyn Fn(IssueCategory) -> String,
}

impl Shared<'_> {
    /// Whether the query keeps a case every list holds (another order checked row by row
    /// checks the rows it builds, for their sort keys too).
    fn keeps(&self, key: &Key) -> Result<bool, StoreError> {
        if !self.by_row {
            Ok(stream::in_dates(self.filter, key))
        } else if self.filter.sort != Sort::Opened {
            Ok(true)
        } else {
            Ok(row_of(self.store, self.membership, self.now, key)?
                .is_some_and(|r| self.filter.matches(&r, self.label)))
        }
    }
}

/// The [`Shared`] lists of `filter`'s conditions.
#[allow(clippy::too_many_arguments)]
fn shared<'a>(
    store: &'a Store,
    membership: &'a MembershipState,
    now: Timestamp,
    filter: &'a Filter,
    label: &'a dyn Fn(IssueCategory) -> String,
    need: usize,
    apart: Apart,
) -> Result<Shared<'a>, StoreError> {
    let (clauses, by_row) = clauses(store, membership, now, filter, label, need, apart)?;
    let start = stream::start(filter);
    Ok(Shared {
        streams: clauses
            .into_iter()
            .map(|c| Stream::of_lists(&reports::LISTS, c.names, c.keys, &start))
            .collect(),
        // With an organisation named, `from` is the day the case reached it, which may come
        // after the case opened: no case can be passed over by its opening.
        oldest: filter.from.filter(|_| filter.party.is_empty()),
        by_row,
        store,
        membership,
        now,
        filter,
        label,
    })
}
