//! A brand's case list searched, narrowed or in another order, read from the case-level lists
//! kept with its reports (`aggregates::chain`) instead of a row built from every report: each
//! condition of the query is the cases of a few of those lists, the lists are read newest
//! first and intersected by leaping (`stream`), and only the cases they share are looked at.
//!
//! A condition the lists hold exactly (not closed, a status, an organisation named, a category,
//! a sector, a corridor, a word found in a name, a category's label or a reference) needs no
//! row: the page's rows alone are built. The lists cannot say whether a case is overdue, nor,
//! with one organisation named, what its own report says (the days the case reached it, its
//! categories, sector and corridor, as its scorecard counts): then each shared case's row is
//! built and checked by [`Filter::matches`], the rule a read of every report applies.
//!
//! Newest first, it stops counting once it has found the page and [`COUNTED`] more, as a
//! CSO's wide search does (`CasePage::more`); one status, or one category with closed cases,
//! takes its exact total from the cells. Another order reads every case the conditions share.

use super::condition::Key;
use super::reported::report_row;
use super::stream::{self, COUNTED, Found, Stream};
use super::{CasePage, CaseRow, Filter, Sort, member_name, paginate};
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
/// checked row by row (they hold more cases than the query keeps).
fn clauses(
    store: &Store,
    membership: &MembershipState,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<(Vec<Clause>, bool), StoreError> {
    let mut out = Vec::new();
    let named = !filter.party.is_empty();
    if named {
        // The list compares the id as written: one that does not read back the same finds
        // nothing.
        let party = filter
            .party
            .parse::<OrgId>()
            .ok()
            .filter(|p| p.to_string() == filter.party);
        out.push(Clause {
            names: party.iter().map(chain::cases_with).collect(),
            keys: Vec::new(),
        });
    }
    // A status other than closed leaves closed cases out already.
    if !filter.status.is_empty() {
        out.push(Clause::of(chain::cases_in_status(&filter.status)));
    } else if !filter.closed {
        out.push(Clause::of(chain::OPEN_CASES.to_vec()));
    }
    // Any report's categories: with an organisation named, the case's report about it may
    // give fewer, so its row is checked.
    if let Some(c) = filter.category {
        out.push(Clause::of(chain::cases_of_category(c)));
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
        out.push(word(store, membership, w, label)?);
    }
    if out.is_empty() {
        out.push(Clause::of(chain::ALL_CASES.to_vec()));
    }
    let by_own_report = named
        && (filter.category.is_some()
            || filter.from.is_some()
            || filter.to.is_some()
            || filter.narrows_profile());
    Ok((out, filter.overdue || by_own_report))
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
    let even = &hex[..hex.len() / 2 * 2];
    let Some(prefix) = (0..even.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&even[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
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
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        if let Some(s) = chain::summary(&reports::reports_of(store, &case)?) {
            out.push(opened::key(s.opened_at, &case));
        }
    }
    out.sort_unstable();
    Ok(out)
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

/// The page `filter` asks for of a brand's cases (a node whose rows all come from status
/// reports), read from the case-level lists.
pub(super) fn page(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<CasePage, StoreError> {
    let name = member_name(membership);
    let row = |key: &Key| -> Result<Option<CaseRow>, StoreError> {
        let reports = reports::reports_of(store, &opened::case_of(key))?;
        Ok(report_row(&reports, &name, now))
    };
    let (clauses, by_row) = clauses(store, membership, filter, label)?;
    let start = stream::start(filter);
    let streams: Vec<Stream> = clauses
        .into_iter()
        .map(|c| Stream::of_lists(&reports::LISTS, c.names, c.keys, &start))
        .collect();
    // With an organisation named, `from` is the day the case reached it, which may come after
    // the case opened: no case can be passed over by its opening.
    let oldest = if filter.party.is_empty() {
        filter.from
    } else {
        None
    };
    let mut check = |key: &Key| -> Result<bool, StoreError> {
        if by_row {
            Ok(row(key)?.is_some_and(|r| filter.matches(&r, label)))
        } else {
            Ok(stream::in_dates(filter, key))
        }
    };
    let need = match filter.sort {
        Sort::Opened => stream::needed(filter, COUNTED),
        Sort::Due | Sort::Status => usize::MAX,
    };
    let Found { keys, mut more } =
        stream::leap(store, streams, oldest, need, usize::MAX, &mut check)?.unwrap_or(Found {
            keys: Vec::new(),
            more: false,
        });
    if filter.sort != Sort::Opened {
        // The order needs every row.
        let mut rows = Vec::with_capacity(keys.len());
        for key in &keys {
            rows.extend(row(key)?.filter(|r| filter.matches(r, label)));
        }
        rows.sort_by_key(|r| filter.sort_key(r));
        let (rows, total, page, pages) = paginate(rows, filter.page, filter.per_page);
        return Ok(CasePage {
            rows,
            total,
            page,
            pages,
            more: false,
        });
    }
    let mut total = keys.len();
    if more && let Some(cell) = counted_by(filter) {
        total = crate::aggregates::get(store, &cell)?.max(0) as usize;
        more = false;
    }
    let pages = total.div_ceil(filter.per_page).max(1);
    let page = filter.page.clamp(1, pages);
    let mut rows = Vec::with_capacity(filter.per_page);
    for key in keys
        .iter()
        .skip((page - 1) * filter.per_page)
        .take(filter.per_page)
    {
        rows.extend(row(key)?);
    }
    Ok(CasePage {
        rows,
        total,
        page,
        pages,
        more,
    })
}
