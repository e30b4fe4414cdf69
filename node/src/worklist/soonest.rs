//! A brand's case list soonest due first, read along the case-level due-date list
//! (`aggregates::chain::DUE_CASES`) with each case met checked on its row, as a read of every
//! report checks it ([`Filter::matches`]): the cases the conditions keep are never gathered.
//!
//! Gathering them first (`ordered`) reads every key the conditions keep, up to a million for
//! "every case not closed": 0.8 s at a million cases for any page. Walking the due-date list
//! costs a row per case met until the page is found, about `need * cases / kept`, so it is
//! tried first and gives up past a budget of rows, leaving the page to the gathered cases
//! (exact, and cheap then: few cases are kept). Like a wide search newest first, it counts
//! the page and [`COUNTED`] more, or what the budget reaches, and its total is then a lower
//! bound (`CasePage::more`). A walk that reaches the end of the list leaves the page to the
//! gathered cases too: the cases owing nothing come after the list, by reference, and only
//! they can say how many there are.

use super::stream::COUNTED;
use super::{CasePage, CaseRow, Filter, Sort};
use crate::aggregates::{chain, due, lists, reports};
use crate::store::{Store, StoreError};
use ilm_protocol::CaseRef;
use std::collections::HashSet;

/// Rows a walk builds before it gives up (or stops counting, once the page is found).
pub const ROWS: usize = super::indexed::CHECKED;

/// Entries of the list read at a time.
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

/// The page `filter` asks for soonest due first, found by walking the due-date list, each
/// case met once, `row` giving its row when it passes the filter; None when the query asks
/// for another order, when the walk would build more rows than `limits` allow before the
/// page is found, or when it reaches the end of the list (see the module's doc).
pub fn page(
    store: &Store,
    filter: &Filter,
    limits: Limits,
    row: &dyn Fn(&CaseRef) -> Result<Option<CaseRow>, StoreError>,
) -> Result<Option<CasePage>, StoreError> {
    let need = filter.page.max(1).saturating_mul(filter.per_page);
    if filter.sort != Sort::Due || need > limits.rows {
        return Ok(None);
    }
    // The rows up to the page's last date owed, every one tied with it included (ties are
    // ordered by opening, which the list does not hold).
    let mut rows: Vec<CaseRow> = Vec::new();
    let mut last: Option<u64> = None;
    let mut counted = 0usize;
    let mut built = 0usize;
    // Each once, though a case whose date moves during the walk may be met twice.
    let mut met: HashSet<CaseRef> = HashSet::new();
    let mut from = chain::DUE_CASES.to_vec();
    loop {
        let ids = reports::LISTS.ids_from(store, chain::DUE_CASES, &from, CHUNK)?;
        for id in &ids {
            let (Some(at), Some(entry)) = (
                due::due_of(chain::DUE_CASES, id),
                lists::key_of::<{ reports::KEY_LEN }>(id),
            ) else {
                continue;
            };
            let found = last.is_some_and(|l| l != at.0);
            if built >= limits.rows {
                // Within budget the page was found, or it is left to the gathered cases.
                return Ok(found.then(|| finish(filter, rows, counted)));
            }
            let case = reports::case_of(&entry);
            if !met.insert(case) {
                continue;
            }
            built += 1;
            let Some(r) = row(&case)? else {
                continue;
            };
            if !found {
                rows.push(r);
                if rows.len() == need {
                    last = Some(at.0);
                }
            } else if counted == limits.counted {
                // One more than it counts: more cases match than the total says.
                return Ok(Some(finish(filter, rows, counted)));
            } else {
                counted += 1;
            }
        }
        match ids.last() {
            Some(id) if ids.len() == CHUNK => from = [id.as_slice(), &[0]].concat(),
            _ => return Ok(None),
        }
    }
}

/// The page of `rows` (every case kept up to the page's last date owed, in the list's
/// order), with `counted` more found after them.
fn finish(filter: &Filter, mut rows: Vec<CaseRow>, counted: usize) -> CasePage {
    rows.sort_by_key(|r| filter.sort_key(r));
    let total = rows.len().saturating_add(counted);
    let pages = total.div_ceil(filter.per_page).max(1);
    let page = filter.page.clamp(1, pages);
    let rows = rows
        .into_iter()
        .skip((page - 1) * filter.per_page)
        .take(filter.per_page)
        .collect();
    CasePage {
        rows,
        total,
        page,
        pages,
        more: true,
    }
}
