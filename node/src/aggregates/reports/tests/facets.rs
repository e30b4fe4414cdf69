//! A brand's scorecards narrowed only by one category, sector or corridor read each
//! organisation's cells of it (`aggregates::report_facets`) and its list of the reports that
//! have it, and equal those counted from every report; narrowed by two of them, the
//! cases both its lists name.

use super::in_dates::shown;
use super::scorecards::{ScoredBrand, scored_brand};
use super::*;
use crate::aggregates::report_facets::{self, Facet};
use crate::scorecard::{Comparison, Reading, compare_reading};

/// Delivers reports of a category and corridor of their own, escalated on day 250, falling
/// due on day 300 (after every drawn date) an hour and three hours into it; returns that
/// day. One of them gives its category twice; another CSO's report about the same party of
/// one case, escalated at the same second, has another category and corridor (one entry of
/// its newest-first list names both).
pub(super) fn deliver_due_on_one_day(b: &ScoredBrand) -> Timestamp {
    let due_day = T0.plus_days(300);
    let made = |n: u8, due: Timestamp, party: usize| {
        let mut r = b.reports[0].clone();
        r.case_ref = case_ref(180 + n, 1);
        r.cso = b.csos[1].org_id();
        r.supplier = b.parties[party];
        r.categories = vec![IssueCategory::ALL[9]];
        r.corridor = Some(("KH".parse().expect("c"), "TH".parse().expect("c")));
        r.sector = Some("construction".into());
        r.status = CaseStatus::Escalated;
        r.stage = PartyStage::Escalated;
        r.escalated_at = T0.plus_days(250);
        r.acknowledge_by = due;
        r.remediate_by = due.plus_days(30);
        r.reported_at = Timestamp(T0.0 + 960 + u64::from(n));
        r
    };
    let mut twice = made(1, due_day.plus_secs(3 * 3_600), 0);
    twice.categories = vec![IssueCategory::ALL[9], IssueCategory::ALL[9]];
    let mut beside = made(0, due_day.plus_secs(3_600), 0);
    beside.cso = b.csos[0].org_id();
    beside.categories = vec![IssueCategory::ALL[2]];
    beside.corridor = Some(("MM".parse().expect("c"), "TH".parse().expect("c")));
    deliver(
        &b.store,
        &[vec![
            made(0, due_day.plus_secs(3_600), 0),
            twice,
            made(2, due_day.plus_secs(3_600), 1),
            beside,
        ]],
    );
    due_day
}

/// Every category, sector and corridor alone (those the reports have, and some they do
/// not), in `days` or at any time.
pub(super) fn every_facet(days: &Filter) -> Vec<Filter> {
    let mut filters: Vec<Filter> = IssueCategory::ALL
        .iter()
        .map(|c| Filter {
            category: c.code().into(),
            ..days.clone()
        })
        .collect();
    for s in [
        "seafood",
        "fishing",
        "garment",
        "construction",
        "hospitality",
    ] {
        filters.push(Filter {
            sector: s.into(),
            ..days.clone()
        });
    }
    for c in ["MM-TH", "KH-TH", "LA-TH"] {
        filters.push(Filter {
            corridor: c.into(),
            ..days.clone()
        });
    }
    filters
}

/// Every category, sector and corridor alone, at several times, one of them a time some
/// reports fall due on before and after it: the cells give the comparison a read of every
/// report gives, overdue counts and newest cases included (a report giving a category
/// twice counted once; of two CSOs' reports in one case escalated at once, only the one
/// that has the facet shown).
#[test]
fn scorecards_of_one_category_sector_or_corridor_equal_every_reports() {
    let b = scored_brand();
    let due_day = deliver_due_on_one_day(&b);
    let (compared, some) = equal_every_reports(&b, due_day, &every_facet(&Filter::default()));
    assert!(some > 40 && some < compared, "{some} of {compared}");
    // The controls: at two hours into the day one of the supplier's reports of the category
    // is overdue (the other is due later that day), at four hours both.
    overdue_during_the_day(
        &b,
        due_day,
        &Filter {
            category: IssueCategory::ALL[9].code().into(),
            ..Filter::default()
        },
    );
}

/// Each of `filters` at several times, two of them hours into `due_day` (as
/// [`deliver_due_on_one_day`] gives it): read from the cells and as a page reads it, the
/// comparison a read of every report gives. How many were compared, and how many of those
/// kept some report.
pub(super) fn equal_every_reports(
    b: &ScoredBrand,
    due_day: Timestamp,
    filters: &[Filter],
) -> (usize, usize) {
    let times = [
        T0,
        T0.plus_days(8).plus_secs(5_000),
        T0.plus_days(45),
        due_day.plus_secs(2 * 3_600),
        due_day.plus_secs(4 * 3_600),
    ];
    let (mut compared, mut some) = (0, 0);
    for filter in filters {
        for now in times {
            let every = b
                .narrowed(filter, now, RECENT, Reading::Every)
                .expect("every");
            for reading in [Reading::Cells, Reading::Cheaper] {
                let got = b.narrowed(filter, now, RECENT, reading).expect("compare");
                assert_eq!(
                    shown(&got),
                    shown(&every),
                    "{filter:?} at {now:?}, {reading:?}"
                );
            }
            compared += 1;
            some += usize::from(every.overall.cases > 0);
        }
    }
    (compared, some)
}

/// `filter` keeps the supplier's two reports due on `due_day` (as
/// [`deliver_due_on_one_day`] delivers them): read from the cells, one more is overdue at
/// two hours into the day, and both at four.
pub(super) fn overdue_during_the_day(b: &ScoredBrand, due_day: Timestamp, filter: &Filter) {
    let late = |h: u64| {
        b.narrowed(filter, due_day.plus_secs(h * 3_600), RECENT, Reading::Cells)
            .expect("compare")
            .parties[0]
            .1
            .overdue
    };
    let base = late(0);
    assert_eq!(late(2), base + 1, "{filter:?}");
    assert_eq!(late(4), base + 2, "{filter:?}");
}

/// Without its cells of a facet an organisation's scorecard narrowed by it counts nothing,
/// and without its list of the facet shows none of its newest cases, while a read of every
/// report still finds them: both come from what is kept per facet. A sector outside the
/// list of sectors (which no filter takes) is kept no cells.
#[test]
fn scorecards_of_one_facet_come_from_its_cells_and_its_list() {
    let b = scored_brand();
    let me = b.brand.org_id();
    let now = T0.plus_days(45);
    let filter = Filter {
        sector: "seafood".into(),
        ..Filter::default()
    }
    .parse()
    .expect("filter");
    let compare = |reading: Reading| {
        compare_reading(&b.store, &b.membership, &me, now, &filter, RECENT, reading)
            .expect("compare")
    };
    let every = compare(Reading::Every);
    assert_eq!(shown(&compare(Reading::Cells)), shown(&every));
    assert!(every.parties[0].1.cases > 0 && !every.recent[0].is_empty());

    // The list of the facet emptied: the figures stay, the newest cases go.
    let facet = Facet::Sector("seafood".into());
    let list = report_facets::list(&b.parties[0], &facet);
    empty_list(&b.store, &list);
    let listless = compare(Reading::Cells);
    assert!(listless.recent[0].is_empty());
    let card = |c: &Comparison| serde_json::to_string(&c.parties[0].1).expect("json");
    assert_eq!(card(&listless), card(&every));

    // Its cells removed: nothing counted.
    remove_cells(
        &b.store,
        &format!("{}{}.sector:seafood.", report_facets::PREFIX, b.parties[0]),
    );
    assert_eq!(compare(Reading::Cells).parties[0].1.cases, 0);
    assert_eq!(
        compare(Reading::Every).parties[0].1.cases,
        every.parties[0].1.cases
    );

    // A sector no filter takes, with a name that would read as other cells.
    let mut odd = b.reports[0].clone();
    odd.case_ref = case_ref(190, 0);
    odd.sector = Some("seafood.category:forced".into());
    deliver(&b.store, &[vec![odd]]);
    let at = format!("{}{}.sector:seafood.", report_facets::PREFIX, b.parties[0]);
    assert!(
        crate::aggregates::with_prefix(&b.store, &at)
            .expect("cells")
            .is_empty()
    );
    assert!(
        Facet::of(&b.reports[0])
            .contains(&Facet::Sector(b.reports[0].sector.clone().expect("sector")))
    );
}

/// Narrowed by two facets (a sector and a corridor), an organisation's reports are read
/// from the shorter of its two lists, and only the cases whose entries the other list holds
/// too: with the entries both lists hold taken out of the longer one (which stays the
/// longer, padded with entries of cases the brand does not hold: a little, so that it is
/// read whole, and much, so that it is asked for each entry), nothing of the supplier's is
/// found from the lists, while a read of every report still finds them.
#[test]
fn scorecards_of_two_facets_read_only_the_cases_both_lists_name() {
    for padding in [1, 40] {
        let b = scored_brand();
        let now = T0.plus_days(45);
        let both = Filter {
            sector: "seafood".into(),
            corridor: "MM-TH".into(),
            ..Filter::default()
        };
        let compare = |reading: Reading| b.narrowed(&both, now, RECENT, reading).expect("compare");
        let every = compare(Reading::Every);
        assert!(every.parties[0].1.cases > 0, "the control: it has some");
        assert_eq!(shown(&compare(Reading::InLists)), shown(&every));
        let lists = [
            report_facets::list(&b.parties[0], &Facet::Sector("seafood".into())),
            report_facets::list(
                &b.parties[0],
                &Facet::Corridor("MM".parse().expect("c"), "TH".parse().expect("c")),
            ),
        ];
        let held = |list: &[u8]| -> BTreeSet<[u8; KEY_LEN]> {
            LISTS
                .ids_prefixed(&b.store, list, usize::MAX)
                .expect("ids")
                .expect("all")
                .iter()
                .filter_map(|id| crate::aggregates::lists::key_of::<KEY_LEN>(id))
                .collect()
        };
        // The sector's is read on a tie, as the filter names it first.
        let (shorter, other) = if held(&lists[0]).len() <= held(&lists[1]).len() {
            (&lists[0], &lists[1])
        } else {
            (&lists[1], &lists[0])
        };
        let shared: Vec<_> = held(shorter).intersection(&held(other)).copied().collect();
        assert!(!shared.is_empty());
        let mut changes = crate::aggregates::lists::Changes::new();
        let entries = changes.entry(other.clone()).or_default();
        for key in &shared {
            entries.insert(*key, false);
        }
        for n in 0..=shared.len() + held(shorter).len() * padding {
            let mut key = [0xEE; KEY_LEN];
            key[..8].copy_from_slice(&(n as u64).to_be_bytes());
            entries.insert(key, true);
        }
        let mut batch = WriteBatch::new();
        LISTS.stage(&b.store, &mut batch, &changes).expect("stage");
        b.store.commit(batch).expect("commit");
        assert!(held(other).len() > held(shorter).len() * padding);
        assert_eq!(
            compare(Reading::InLists).parties[0].1.cases,
            0,
            "padded {padding} times"
        );
        assert_eq!(
            compare(Reading::Every).parties[0].1.cases,
            every.parties[0].1.cases
        );
    }
}

/// Whether a report has a facet, read off the report, is whether the report's facets hold
/// it: for every facet of every drawn report, and a sector no filter takes, a corridor
/// turned round and a category none has.
#[test]
fn a_facet_held_by_a_report_is_one_of_its_facets() {
    let b = scored_brand();
    let mut odd = b.reports[0].clone();
    odd.sector = Some("seafood.category:forced".into());
    odd.categories.push(odd.categories[0]);
    let mut facets: Vec<Facet> = b.reports.iter().flat_map(Facet::of).collect();
    facets.extend([
        Facet::Sector("seafood.category:forced".into()),
        Facet::Corridor("TH".parse().expect("c"), "MM".parse().expect("c")),
        Facet::Category(IssueCategory::ALL[IssueCategory::ALL.len() - 1]),
    ]);
    let (mut held, mut not) = (0, 0);
    for r in b.reports.iter().chain([&odd]) {
        let of = Facet::of(r);
        for f in &facets {
            assert_eq!(f.held_by(r), of.contains(f), "{f:?} of {r:?}");
            if of.contains(f) {
                held += 1;
            } else {
                not += 1;
            }
        }
    }
    // The controls: both answers come up.
    assert!(held > 0 && not > 0, "{held} held, {not} not");
}
