//! A brand's case list in another order than newest first, read along the case-level lists
//! that hold the order, each case met checked on its row as a read of every report checks
//! it ([`Filter::matches`]; past the page, not when the lists hold every condition, see
//! below): the cases the conditions keep are never gathered. Soonest due
//! first walks the due-date list (`aggregates::chain::DUE_CASES`), or that of the cases of
//! the sector, category or corridor the query names (`chain::due_cases_of`), each entry
//! looked up on the others' before its case is read ([`due_lists`]); by status, each
//! status's list (`chain::cases_in_status`, newest first as the order wants within a
//! status) in lifecycle order, or only the one status named.
//!
//! Gathering the kept cases first (`ordered`) reads every key the conditions keep, up to a
//! million for "every case not closed": 0.8 s at a million cases for any page. Walking costs
//! a row per case met until the page is found, about `need * cases / kept`, so it is tried
//! first and gives up past a budget of rows (an entry looked up on other lists costs a part
//! of one, [`CHECKS_PER_ROW`]), leaving the page to the gathered cases (exact,
//! and cheap then: few cases are kept). Past the page, soonest due first, a case on every
//! list the walk reads is counted without its row when those lists hold every condition
//! the query names ([`lists_hold`]). Like a wide search newest first, it counts the page
//! and [`COUNTED`] more, or what the budget reaches, and its total is then a lower bound
//! (`CasePage::more`), unless the cells count the query exactly: then it stops at the page
//! with their total. A walk that reaches the end of its lists leaves the page to the
//! gathered cases too: soonest due first, the cases owing nothing come after the list, by
//! reference, and they alone can say how many there are; by status, a case on no list (the
//! lists out of step with the reports) is placed by its row. The overdue cases soonest due
//! first end at the first date owed not yet past: there the total is exact.

use super::stream::COUNTED;
use super::{CasePage, CaseRow, Filter, Sort};
use crate::aggregates::{chain, due, lists, opened, reports};
use crate::membership::MembershipState;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, IssueCategory, Timestamp};
use std::collections::HashSet;

/// Rows a walk builds before it gives up (or stops counting, once the page is found).
pub const ROWS: usize = super::indexed::CHECKED;

/// Entries of a list read at a time.
const CHUNK: usize = 256;

/// How far a walk goes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Matching cases counted past the page.
    pub counted: usize,
    /// Rows built, at most.
    pub rows: usize,
}

impl Limits {
    /// A page's: the page and [`COUNTED`] more, within [`ROWS`] rows.
    pub const PAGE: Limits = Limits {
        counted: COUNTED,
        rows: ROWS,
    };
}

/// Where an entry puts its case in the order. Soonest due first, cases owing at the same
/// second are ordered by what the list does not hold (newest first), so a page ends only
/// after every case sharing its last place; by status the list holds the whole order.
type Place = (u64, u64);

/// Lists searched for an entry's key, counted as one row built: each reads a block the
/// engine most likely caches and halves it, where a row reads and decodes a case's reports.
/// An estimate, kept low: a walk that checks more than it builds gives up no later than one
/// that builds rows alone would.
const CHECKS_PER_ROW: usize = 4;

/// One list the walk reads, in turn.
struct Walked {
    /// Its name.
    name: Vec<u8>,
    /// The first part of the place its entries give (a status's rank in lifecycle order).
    rank: u64,
    /// Lists each entry's key must be on too, or its case is passed over unread.
    others: Vec<Vec<u8>>,
}

/// Whether the due-date lists a walk soonest due first reads for `filter` hold every
/// condition it names: a sector, a category or a corridor (at least one, each list of one
/// named), whether closed cases are kept (a case that owes something is not closed), and
/// overdue (the walk ends at the first date not past). Then every case on each of them
/// passes, as the gathered cases take them (`ordered`), and its row need not be read to
/// count it. What is counted so is what the lists say as each is read: a case written
/// during the walk (closed, or owing by another date) may be counted as it was.
fn lists_hold(filter: &Filter) -> bool {
    let facet = filter.sector.is_some() || filter.category.is_some() || filter.corridor.is_some();
    facet
        && filter.words.is_empty()
        && filter.status.is_empty()
        && filter.party.is_empty()
        && filter.from.is_none()
        && filter.to.is_none()
}

/// The due-date list a walk soonest due first reads, and the lists each of its entries
/// must be on too: with no organisation named (whose sector and corridor its own report
/// gives, which these lists do not hold), that of the cases of the sector the filter
/// names, else of its category, else of its corridor, the others' by the same key;
/// otherwise the list of every case owing something. A case the filter keeps is on each.
pub(super) fn due_lists(filter: &Filter) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut facets = Vec::new();
    if filter.party.is_empty() {
        facets.extend(filter.sector.as_deref().map(chain::cases_of_sector));
        facets.extend(filter.category.map(chain::cases_of_category));
        facets.extend(
            (filter.corridor.as_ref()).map(|(origin, work)| chain::cases_of_corridor(origin, work)),
        );
    }
    let mut lists = facets.iter().map(|f| chain::due_cases_of(f));
    match lists.next() {
        Some(walked) => (walked, lists.collect()),
        None => (chain::DUE_CASES.to_vec(), Vec::new()),
    }
}

/// The lists `filter`'s order is read along, in turn; None for newest first.
fn lists_of(filter: &Filter) -> Option<Vec<Walked>> {
    match filter.sort {
        Sort::Opened => None,
        Sort::Due => {
            let (name, others) = due_lists(filter);
            Some(vec![Walked {
                name,
                rank: 0,
                others,
            }])
        }
        Sort::Status => Some(
            super::query::status_codes()
                .into_iter()
                .filter(|code| match filter.status.as_str() {
                    // Closed cases are on the last list: not read unless they are kept.
                    "" => filter.closed || *code != ilm_protocol::CaseStatus::Closed.code(),
                    named => named == *code,
                })
                .map(|code| Walked {
                    name: chain::cases_in_status(code),
                    rank: super::stage(code),
                    others: Vec::new(),
                })
                .collect(),
        ),
    }
}

/// The case an entry of `list` names and its place; None for an entry not as written.
fn entry(list: &Walked, due_order: bool, id: &[u8]) -> Option<(Place, CaseRef)> {
    if due_order {
        let at = due::due_of(&list.name, id)?;
        let key = lists::key_of::<{ reports::KEY_LEN }>(id)?;
        Some(((at.0, 0), reports::case_of(&key)))
    } else {
        let key = opened::key_of(id)?;
        Some((
            (list.rank, opened::opened_of(&key).0),
            opened::case_of(&key),
        ))
    }
}

/// The page `filter` asks for in another order than newest first, from a walk within
/// `limits`, each case's row built from its reports (None: see [`page`]).
pub(crate) fn walked(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
    limits: Limits,
) -> Result<Option<CasePage>, StoreError> {
    let name = super::member_name(membership);
    let row = |case: &CaseRef| -> Result<Option<CaseRow>, StoreError> {
        let group = reports::reports_of(store, case)?;
        Ok(super::chain::report_row(&group, &name, now).filter(|r| filter.matches(r, label)))
    };
    let known = super::chain::known_total(store, now, filter)?;
    page(store, filter, now, limits, known, &row)
}

/// Whether the page `filter` asks for may be found by a walk within its budget of rows:
/// spread among every case, the cases kept (at most what the cells count) are met after
/// about `need * cases / kept` rows.
pub(crate) fn worth_walking(
    store: &Store,
    now: Timestamp,
    filter: &Filter,
) -> Result<bool, StoreError> {
    if filter.sort == Sort::Opened {
        return Ok(false);
    }
    let party = filter.party_named();
    if party.is_none() && !filter.party.is_empty() {
        // Not as written: the query finds nothing, which the gathered cases say at once.
        return Ok(false);
    }
    let mut kept = super::chain::smallest_known(store, filter, party.as_ref())?;
    if filter.overdue {
        let overdue = match &party {
            Some(p) => reports::overdue(store, p, now)?,
            None => chain::cases_overdue(store, now)?,
        };
        kept = kept.min(usize::try_from(overdue).unwrap_or(usize::MAX));
    }
    let cases = usize::try_from(chain::case_totals(store, None)?.0).unwrap_or(usize::MAX);
    let need = filter.page.max(1).saturating_mul(filter.per_page);
    // The overdue cases soonest due first are where the walk ends: it builds no more rows.
    let to_their_end = filter.overdue && filter.sort == Sort::Due && kept <= ROWS;
    Ok(kept > 0 && (to_their_end || need.saturating_mul(cases) / kept <= ROWS))
}

/// The page `filter` asks for in its order, found by walking the lists that hold it, each
/// case met once, `row` giving its row when it passes the filter (a `row` stricter than
/// [`Filter::matches`] would be wrong here: past the page, a case the lists keep is
/// counted unread when they hold every condition, [`lists_hold`]); None when the query asks
/// for newest first, when the walk would build more rows than `limits` allow before the
/// page is found, or when it reaches the end of its lists (see the module's doc). Its total
/// is `known`, when the cells know it (then it stops at the page), or exact when every case
/// it could keep was met: overdue, soonest due first, at the first date owed not past
/// `now` or the end of the list.
pub(crate) fn page(
    store: &Store,
    filter: &Filter,
    now: Timestamp,
    limits: Limits,
    known: Option<usize>,
    row: &dyn Fn(&CaseRef) -> Result<Option<CaseRow>, StoreError>,
) -> Result<Option<CasePage>, StoreError> {
    let need = filter.page.max(1).saturating_mul(filter.per_page);
    let Some(walked) = lists_of(filter) else {
        return Ok(None);
    };
    if need > limits.rows {
        return Ok(None);
    }
    let due_order = filter.sort == Sort::Due;
    let unread = due_order && lists_hold(filter);
    // The rows up to the page's last place, every one sharing it included.
    let mut rows: Vec<CaseRow> = Vec::new();
    let mut last: Option<Place> = None;
    let mut counted = 0usize;
    let mut built = 0usize;
    let mut checked = 0usize;
    // Each once, though a case that moves on during the walk may be met twice.
    let mut met: HashSet<CaseRef> = HashSet::new();
    for list in &walked {
        let mut from = list.name.clone();
        loop {
            let ids = reports::LISTS.ids_from(store, &list.name, &from, CHUNK)?;
            for id in &ids {
                let Some((place, case)) = entry(list, due_order, id) else {
                    continue;
                };
                if due_order && filter.overdue && place.0 >= now.0 {
                    // No case owing nothing yet, or nothing at all, is overdue.
                    let total = rows.len() + counted;
                    return finish(filter, rows, total, false);
                }
                let found = last.is_some_and(|l| l != place);
                if found && let Some(total) = known {
                    return finish(filter, rows, total, false);
                }
                if built + checked / CHECKS_PER_ROW >= limits.rows {
                    // Within budget the page was found, or it is left to the gathered cases.
                    let total = rows.len() + counted;
                    return if found {
                        finish(filter, rows, total, true)
                    } else {
                        Ok(None)
                    };
                }
                if !list.others.is_empty() {
                    let Some(key) = lists::key_of::<{ reports::KEY_LEN }>(id) else {
                        continue;
                    };
                    if !reports::on_every_list(store, &list.others, &key, &mut checked)? {
                        continue;
                    }
                }
                if !met.insert(case) {
                    continue;
                }
                if found && unread {
                    // Past the page, a case on every list passes: counted, not read.
                    if counted == limits.counted {
                        let total = rows.len() + counted;
                        return finish(filter, rows, total, true);
                    }
                    counted += 1;
                    continue;
                }
                built += 1;
                let Some(r) = row(&case)? else {
                    continue;
                };
                // A case that moved on since its entry was read is placed at its new entry,
                // if the walk meets it there (reads are not snapshots).
                let moved = if due_order {
                    r.next_due.map(|d| d.0) != Some(place.0)
                } else {
                    super::stage(&r.status) != place.0
                };
                if moved {
                    met.remove(&case);
                    continue;
                }
                if !found {
                    rows.push(r);
                    if rows.len() == need {
                        last = Some(place);
                    }
                } else if counted == limits.counted {
                    // One more than it counts: more cases match than the total says.
                    let total = rows.len() + counted;
                    return finish(filter, rows, total, true);
                } else {
                    counted += 1;
                }
            }
            match ids.last() {
                Some(id) if ids.len() == CHUNK => from = [id.as_slice(), &[0]].concat(),
                _ => break,
            }
        }
    }
    // Soonest due first, the cases owing nothing are on no list (but none is overdue); by
    // status, every case is on one, but the lists may be out of step with the reports: the
    // gathered cases say.
    if due_order && filter.overdue {
        let total = rows.len() + counted;
        return finish(filter, rows, total, false);
    }
    Ok(None)
}

/// The page of `rows` (every case kept up to the page's last place, in the lists' order)
/// among `total`, and whether counting stopped before the end.
fn finish(
    filter: &Filter,
    mut rows: Vec<CaseRow>,
    total: usize,
    more: bool,
) -> Result<Option<CasePage>, StoreError> {
    rows.sort_by_key(|r| filter.sort_key(r));
    super::built_page(rows, total, more, filter, |r| Ok(Some(r))).map(Some)
}
