//! A brand's case list searched, narrowed and ordered is read from its case-level lists, and
//! equals the list a read of every report gives; a wide one stops counting; a store of the
//! release before those lists gets them at its first start.

use super::*;
use crate::worklist::chain::Apart;
use crate::worklist::{CaseQuery, CaseRow, select};

/// The keys of test member `n`.
fn keys(n: u8) -> OrgKeys {
    OrgKeys::from_secret_bytes([n; 32], [100 + n; 32])
}

/// A brand that knows its CSOs and parties by name, holding some reports about them.
pub(super) struct Named {
    _dir: tempfile::TempDir,
    pub(super) store: Store,
    pub(super) membership: MembershipState,
    pub(super) me: OrgId,
    pub(super) now: Timestamp,
    pub(super) csos: [OrgId; 2],
    pub(super) parties: [OrgId; 2],
}

/// The CSOs (1, 2) and parties (3, a supplier; 4, an agency) by name.
const NAMES: [(u8, Role, &str); 4] = [
    (1, Role::Cso, "Migrant Help Line"),
    (2, Role::Cso, "Fishers Rights Network"),
    (3, Role::Supplier, "Andaman Seafood Ltd"),
    (4, Role::Agency, "Golden Recruitment"),
];

/// A brand (member 10) knowing [`NAMES`], holding the reports `make` draws about them.
pub(super) fn brand_knowing(
    name: &str,
    make: impl FnOnce([OrgId; 2], [OrgId; 2]) -> Vec<Vec<StatusReport>>,
) -> Named {
    let (dir, store) = open_store();
    let steward = keys(9);
    let network = network(name, &steward);
    let signed = |k: &OrgKeys, role: Role, name: &str| {
        let mut c = certificate(&network, &steward, k, role);
        c.name = name.into();
        SignedRecord::sign(&c, &steward).expect("sign")
    };
    let others = NAMES
        .iter()
        .map(|(n, role, name)| signed(&keys(*n), *role, name))
        .collect();
    let brand = keys(10);
    let own = signed(&brand, Role::Brand, "Brand");
    let membership = MembershipState::new(network, own, others, vec![]).expect("membership");
    let (csos, parties) = (
        [keys(1).org_id(), keys(2).org_id()],
        [keys(3).org_id(), keys(4).org_id()],
    );
    deliver(&store, &make(parties, csos));
    Named {
        _dir: dir,
        store,
        membership,
        me: brand.org_id(),
        now: T0.plus_days(30),
        csos,
        parties,
    }
}

/// 240 drawn reports, as `case_list` draws them, about the named members, of up to 192
/// cases (more than a list's block holds, so its reads cross blocks); some of a case's
/// reports give another sector than the others.
pub(super) fn drawn_about(parties: [OrgId; 2], csos: [OrgId; 2]) -> Vec<Vec<StatusReport>> {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..40u8)
        .map(|b| {
            (0..6u8)
                .map(|i| {
                    let d = drawn().new_tree(&mut runner).expect("draw").current();
                    let mut r = report_about(&d, u64::from(b) * 10 + u64::from(i), parties, csos);
                    r.case_ref = case_ref(d.case + 12 * (b % 8), d.cso);
                    if d.verified && d.party == 1 {
                        r.sector = Some("garment".into());
                    }
                    r
                })
                .collect()
        })
        .collect()
}

/// Every case `query` keeps (its page and page size aside), in its order, from `all` the
/// rows read from every report: what its export must hand over.
pub(super) fn read_whole(all: &[CaseRow], query: &CaseQuery) -> Vec<CaseRef> {
    let whole = CaseQuery {
        page: 1,
        per_page: crate::worklist::MAX_PER_PAGE,
        ..query.clone()
    };
    select(all.to_vec(), &whole, &label)
        .expect("select")
        .rows
        .iter()
        .map(|r| r.case_ref)
        .collect()
}

/// The cases a case-list export of `query` hands over, in order.
pub(super) fn exported(
    b: &Named,
    query: &CaseQuery,
) -> Result<Vec<CaseRef>, crate::worklist::ListError> {
    let mut out = Vec::new();
    crate::worklist::export::each_row(
        &b.store,
        &b.membership,
        &b.me,
        b.now,
        query,
        &label,
        &mut |r| {
            out.push(r.case_ref);
            true
        },
    )?;
    Ok(out)
}

pub(super) fn label(c: IssueCategory) -> String {
    c.code().to_string()
}

pub(super) fn json(rows: &[CaseRow]) -> String {
    serde_json::to_string(rows).expect("json")
}

/// A query as drawn: an index into the choices of each field.
type QueryDrawn = (
    (usize, usize, usize, usize, usize, usize),
    (usize, usize, bool, bool, usize, usize),
);

fn query_drawn() -> impl Strategy<Value = QueryDrawn> {
    (
        (
            // Each field is left empty about half the time, else a query keeps nothing.
            0..22usize,
            0..26usize,
            0..12usize,
            0..10usize,
            0..8usize,
            0..8usize,
        ),
        (
            0..6usize,
            0..3usize,
            any::<bool>(),
            any::<bool>(),
            0..4usize,
            0..12usize,
        ),
    )
}

/// Every query drawn (search words, status, overdue, organisation, category, dates, sector,
/// corridor, closed cases, order and page) gives, from the lists, the page a read of every
/// report gives: rows, total and pages.
#[test]
fn a_brands_searches_and_filters_from_its_lists_equal_a_read_of_every_report() {
    let b = brand_knowing("Searches", drawn_about);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let first = all.first().expect("a case").case_ref.to_hex();
    let category = IssueCategory::ALL[1];
    let long = format!("{first}00");
    let words: [&str; 11] = [
        "",
        "seafood",
        "golden line",
        "ltd",
        &category.code()[..4],
        &first[..8],
        &first[..9],
        &long,
        "deadbeef",
        "e",
        "nothing",
    ];
    let statuses: Vec<&str> = std::iter::once("")
        .chain(std::iter::once("open"))
        .chain(CaseStatus::ALL.iter().map(|s| s.code()))
        .collect();
    let parties = [
        String::new(),
        b.parties[0].to_string(),
        b.parties[1].to_string(),
        b.csos[1].to_string(),
        b.parties[0].to_string().to_uppercase(),
        "nonsense".into(),
    ];
    let day = crate::clock::fmt_day;
    let dates = [
        (String::new(), String::new()),
        (day(T0.plus_days(10)), String::new()),
        (String::new(), day(T0.plus_days(40))),
        (day(T0.plus_days(15)), day(T0.plus_days(45))),
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut found, mut checked_by_row) = (0, 0);
    for _ in 0..3_000 {
        let ((w, s, p, c, d, sector), (corridor, sort, overdue, closed, per, page)) =
            query_drawn().new_tree(&mut runner).expect("draw").current();
        let empty = (String::new(), String::new());
        let query = CaseQuery {
            q: words.get(w).copied().unwrap_or_default().into(),
            status: statuses.get(s).copied().unwrap_or_default().into(),
            overdue: overdue && s % 2 == 0,
            party: parties.get(p).cloned().unwrap_or_default(),
            category: match c {
                0 | 1 => String::new(),
                2 => category.code().into(),
                n if n < 5 => IssueCategory::ALL[n].code().into(),
                _ => String::new(),
            },
            from: dates.get(d).unwrap_or(&empty).0.clone(),
            to: dates.get(d).unwrap_or(&empty).1.clone(),
            sector: ["", "seafood", "garment", "fishing"]
                .get(sector)
                .copied()
                .unwrap_or_default()
                .into(),
            corridor: ["", "MM-TH", "KH-TH"]
                .get(corridor)
                .copied()
                .unwrap_or_default()
                .into(),
            closed,
            sort: ["", "due", "status"][sort].into(),
            per_page: [1, 3, 7, 25][per],
            page: page / 4 + 1,
        };
        let filter = crate::worklist::Filter::parse(&query).expect("filter");
        let listed =
            crate::worklist::reported::page(&b.store, &b.membership, b.now, &filter, &label)
                .expect("page")
                .expect("a brand's list is read from its lists");
        let read = select(all.clone(), &query, &label).expect("select");
        assert_eq!(
            (listed.total, listed.page, listed.pages, listed.more),
            (read.total, read.page, read.pages, false),
            "{query:?}"
        );
        assert_eq!(json(&listed.rows), json(&read.rows), "{query:?}");
        // Overdue and the days a case reached the organisation named, read apart or checked
        // row by row, whichever way would cost less.
        for apart in [Apart::Always, Apart::Never] {
            let other = crate::worklist::chain::page_reading(
                &b.store,
                &b.membership,
                b.now,
                &filter,
                &label,
                apart,
            )
            .expect("page");
            assert_eq!(
                (other.total, json(&other.rows)),
                (read.total, json(&read.rows)),
                "{query:?} {apart:?}"
            );
        }
        // The export of the same query: every row it keeps, in its order.
        if found % 4 == 0 {
            assert_eq!(
                exported(&b, &query).expect("export"),
                read_whole(&all, &query),
                "export {query:?}"
            );
        }
        found += usize::from(read.total > 0);
        checked_by_row += usize::from(
            read.total > 0
                && (query.overdue
                    || (!query.party.is_empty()
                        && (!query.from.is_empty()
                            || !query.to.is_empty()
                            || !query.sector.is_empty()
                            || !query.corridor.is_empty()))),
        );
    }
    // The positive control: many queries find something, some of them checked row by row.
    assert!(
        found > 600 && checked_by_row > 50,
        "{found} {checked_by_row}"
    );
}

/// 1,300 open cases reported about one supplier, the newest escalated last; every other one
/// overdue.
pub(super) fn many_about(parties: [OrgId; 2], csos: [OrgId; 2]) -> Vec<Vec<StatusReport>> {
    let d = drawn().new_tree(&mut proptest::test_runner::TestRunner::deterministic());
    let d = d.expect("draw").current();
    (0..13u32)
        .map(|b| {
            (0..100u32)
                .map(|i| {
                    let n = b * 100 + i;
                    let mut r = report_about(&d, u64::from(n), parties, csos);
                    let mut c = [0u8; 16];
                    c[..4].copy_from_slice(&n.to_be_bytes());
                    c[4] = 0xC5;
                    r.case_ref = CaseRef(c);
                    r.cso = csos[0];
                    r.supplier = parties[0];
                    r.status = CaseStatus::Acknowledged;
                    // Every other case owes its acknowledgement, past its date.
                    r.stage = if n % 2 == 0 {
                        PartyStage::Escalated
                    } else {
                        PartyStage::Resolved
                    };
                    r.escalated_at = Timestamp(T0.0 + u64::from(n) * 60);
                    r.acknowledge_by = r.escalated_at.plus_days(7);
                    r.remediate_by = r.escalated_at.plus_days(30);
                    r
                })
                .collect()
        })
        .collect()
}

/// A search that finds more cases than a page and the 1,000 a wide search counts past it
/// stops counting once it has them, as a CSO's does: it reads the lists, not every report.
/// One status alone keeps its exact total, from the cells.
#[test]
fn a_wide_search_at_a_brand_reads_its_lists_and_stops_counting() {
    let b = brand_knowing("Wide", many_about);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    assert_eq!(all.len(), 1_300);
    let list = |query: &CaseQuery| {
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, query, &label).expect("list")
    };
    let wide = CaseQuery {
        q: "seafood".into(),
        status: "acknowledged".into(),
        ..Default::default()
    };
    let listed = list(&wide);
    let read = select(all.clone(), &wide, &label).expect("select");
    assert_eq!(read.total, 1_300, "every case matches");
    assert_eq!((listed.total, listed.more), (25 + 1_000, true));
    assert_eq!(json(&listed.rows), json(&read.rows), "the newest page");
    // One status alone counts all, from its cell.
    let status = CaseQuery {
        status: "acknowledged".into(),
        page: 3,
        ..Default::default()
    };
    let listed = list(&status);
    assert_eq!(
        (listed.total, listed.pages, listed.more),
        (1_300, 52, false)
    );
    let read = select(all.clone(), &status, &label).expect("select");
    assert_eq!(json(&listed.rows), json(&read.rows), "page 3");
    // One category with closed cases counts all, from its cell.
    let category = CaseQuery {
        category: all[0].categories[0].code().into(),
        closed: true,
        ..Default::default()
    };
    let listed = list(&category);
    assert_eq!((listed.total, listed.more), (1_300, false));
    // Each row checked (the organisation named, and the days its report gives), it stops
    // counting too.
    let reached = CaseQuery {
        party: b.parties[0].to_string(),
        from: crate::clock::fmt_day(T0),
        ..Default::default()
    };
    let listed = list(&reached);
    let read = select(all.clone(), &reached, &label).expect("select");
    assert_eq!(
        (listed.total, listed.more, read.total),
        (1_025, true, 1_300)
    );
    assert_eq!(json(&listed.rows), json(&read.rows));
    // Every other case overdue: read apart and leapt through beside a search, or checked
    // row by row, the same 650.
    for q in ["", "seafood"] {
        let overdue = CaseQuery {
            q: q.into(),
            overdue: true,
            page: 2,
            ..Default::default()
        };
        let read = select(all.clone(), &overdue, &label).expect("select");
        assert_eq!(read.total, 650);
        let filter = crate::worklist::Filter::parse(&overdue).expect("filter");
        for apart in [Apart::Cheaper, Apart::Always, Apart::Never] {
            let listed = crate::worklist::chain::page_reading(
                &b.store,
                &b.membership,
                b.now,
                &filter,
                &label,
                apart,
            )
            .expect("page");
            assert_eq!(
                (listed.total, listed.more, json(&listed.rows)),
                (650, false, json(&read.rows)),
                "{q:?} {apart:?}"
            );
        }
    }
    // Its export holds every case, however many, newest first.
    let every = read_whole(&all, &wide);
    assert_eq!(every.len(), 1_300);
    assert!(exported(&b, &wide).expect("export") == every);
    // The page comes from the lists: with them emptied, the search and its export find
    // nothing, though every report is still held.
    crate::aggregates::empty(&b.store, LISTS.table()).expect("emptied");
    assert!(list(&wide).rows.is_empty());
    assert!(exported(&b, &wide).expect("export").is_empty());
    assert_eq!(
        crate::worklist::rows(&b.store, &b.membership, &b.me, b.now)
            .expect("rows")
            .len(),
        1_300
    );
}

/// A brand's store counted by the release before the case lists by status, category, sector
/// and corridor (version 14) gets them at its first start.
#[test]
fn a_store_counted_before_the_case_lists_by_status_builds_them_at_its_first_start() {
    let b = brand_knowing("Upgrade", drawn_about);
    let reports = all_reports(&b.store);
    let status = CaseStatus::ALL[1].code();
    let new_list = cases_in_status(status);
    let held = LISTS.count(&b.store, &new_list).expect("count");
    assert!(held > 0, "control: some case is {status}");
    crate::aggregates::empty(&b.store, LISTS.table()).expect("emptied");
    let mut batch = WriteBatch::new();
    batch
        .put(
            &schema::AGGREGATES,
            crate::aggregates::BUILT.as_bytes(),
            &14i64,
        )
        .expect("put");
    b.store.commit(batch).expect("commit");
    assert!(crate::aggregates::ensure_built(&b.store).expect("recounted"));
    assert_eq!(LISTS.count(&b.store, &new_list).expect("count"), held);
    assert_eq!(lists_held(&b.store), Some(lists_of(&reports)));
}

/// A brand's supply-chain view (`/api/supply-chain`) holds a page of each organisation's
/// status reports, newest escalation first, and how many there are: its pages together hold
/// every report about it, each once, and what a view reads grows with its page.
#[test]
fn the_supply_chain_view_pages_each_organisations_reports() {
    let b = brand_knowing("Pages", many_about);
    super::store_links(
        &b.store,
        &b.membership.network(),
        &[(LinkKind::BrandSupplier, &keys(10), &keys(3))],
    );
    let view = |only: Option<&OrgId>, page: usize, per_page: usize| {
        crate::views::supply_chain(
            &b.store,
            &b.membership,
            &b.me,
            only,
            crate::views::ReportsPage { page, per_page },
        )
        .expect("view")
    };
    // A second CSO's report about the supplier in one of the cases, escalated later: two
    // entries of its list, each on its own page.
    let mut second = all_reports(&b.store).remove(0);
    second.cso = b.csos[1];
    second.escalated_at = T0.plus_days(3);
    deliver(&b.store, &[vec![second]]);
    let first = view(None, 1, 100);
    assert_eq!(first.len(), 1, "the one supplier linked");
    assert_eq!((first[0].cases.len(), first[0].cases_total), (100, 1_301));
    assert_eq!(
        first[0].cases[0].cso, b.csos[1],
        "the newest escalation first"
    );
    let newest: Vec<Timestamp> = first[0].cases.iter().map(|r| r.escalated_at).collect();
    let mut sorted = newest.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(newest, sorted, "newest escalation first");
    let pages: Vec<Vec<StatusReport>> = (1..=14)
        .map(|page| view(None, page, 100).remove(0).cases)
        .collect();
    assert!(pages.iter().all(|p| p.len() <= 100));
    let mut every: Vec<(CaseRef, OrgId)> = pages
        .iter()
        .flatten()
        .map(|r| (r.case_ref, r.cso))
        .collect();
    let held = every.len();
    every.sort();
    every.dedup();
    let mut want: Vec<(CaseRef, OrgId)> = all_reports(&b.store)
        .iter()
        .map(|r| (r.case_ref, r.cso))
        .collect();
    want.sort();
    // Compared as counts first: a difference shows without printing every reference.
    assert_eq!(
        (held, every.len()),
        (1_301, want.len()),
        "every report once"
    );
    assert!(every == want, "every report once");
    assert!(
        view(None, 15, 100)[0].cases.is_empty(),
        "past the last page"
    );
    // One organisation asked for: the supplier, or one not in the supply chain.
    assert_eq!(view(Some(&b.parties[0]), 2, 7)[0].cases.len(), 7);
    assert!(view(Some(&b.parties[1]), 1, 100).is_empty());
}
