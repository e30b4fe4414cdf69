//! A brand's scorecards narrowed to some days, a category, a sector or a corridor, or
//! several, read each organisation's reports from the shortest list the filter names (or,
//! narrowed only by days, its cells of those days), and equal those counted from every
//! report.

use super::scorecards::scored_brand;
use super::*;
use crate::scorecard::{Comparison, Reading};

/// What a comparison shows: each card and the overall one, each one's newest cases, the
/// corridors offered, the attestations each counts.
pub(super) fn shown(c: &Comparison) -> String {
    let cards: Vec<&Scorecard> = c.parties.iter().map(|(_, s)| s).collect();
    let attested: Vec<Vec<CaseRef>> = c
        .parties
        .iter()
        .map(|(p, _)| p.attestations.iter().map(|a| a.case_ref).collect())
        .collect();
    serde_json::to_string(&(cards, &c.overall, &c.recent, &c.corridors, attested)).expect("json")
}

/// Filters naming days, a category, a sector or a corridor, alone or together, at several
/// times: the reports read from each organisation's shortest list the filter names (of its
/// days, of its category, sector or corridor between its days), or its cells of those days
/// when the filter names nothing else, give the comparison a read of every report gives, a
/// case two entries name counted once, a report escalated at the first or last second of
/// the days kept. With the supplier's list emptied, its reports of a few days are found
/// from it no more; its cells of those days count them still.
#[test]
fn scorecards_of_some_days_read_each_organisations_list_and_equal_every_reports() {
    let b = scored_brand();
    // A second CSO's report about the supplier in one of its cases, escalated a day later:
    // two entries of its list name the case.
    let mut other = b.reports[0].clone();
    other.cso = b.csos[usize::from(other.cso == b.csos[0].org_id())].org_id();
    other.escalated_at = other.escalated_at.plus_days(1);
    other.reported_at = Timestamp(T0.0 + 500);
    // Two cases of their own, escalated at the first second of a day a filter starts on and
    // at the last of one a filter ends on.
    let midnight = |d: u64| (T0.0 + d * 86_400) / 86_400 * 86_400;
    let edges: Vec<StatusReport> = [(1, midnight(20)), (2, midnight(31) - 1)]
        .into_iter()
        .map(|(n, at)| {
            let mut r = b.reports[n].clone();
            r.case_ref = case_ref(150 + n as u8, 0);
            r.cso = b.csos[0].org_id();
            r.escalated_at = Timestamp(at);
            r.reported_at = Timestamp(T0.0 + 500 + n as u64);
            r
        })
        .collect();
    deliver(&b.store, &[vec![other], edges]);
    let day = |d: i64| crate::clock::fmt_day(Timestamp((T0.0 as i64 + d * 86_400) as u64));
    let froms = [String::new(), day(-3), day(5), day(20), day(59), day(70)];
    let tos = [String::new(), day(-1), day(10), day(30), day(61)];
    let category = IssueCategory::ALL[1].code();
    let narrowed = [
        ("", "", ""),
        (category, "", ""),
        ("", "seafood", ""),
        ("", "", "MM-TH"),
        (category, "garment", "MM-TH"),
        (category, "", "MM-TH"),
        ("", "seafood", "MM-TH"),
    ];
    let compare = |filter: &Filter, now: Timestamp, reading: Reading| {
        b.narrowed(filter, now, RECENT, reading).expect("compare")
    };
    let (mut compared, mut some) = (0, 0);
    for from in &froms {
        for to in &tos {
            for (category, sector, corridor) in narrowed {
                if from.is_empty() && to.is_empty() && (category, sector, corridor) == ("", "", "")
                {
                    continue;
                }
                let filter = Filter {
                    from: from.clone(),
                    to: to.clone(),
                    category: category.into(),
                    sector: sector.into(),
                    corridor: corridor.into(),
                };
                for days in [0, 8, 45, 120] {
                    let now = T0.plus_days(days).plus_secs(5_000);
                    let every = compare(&filter, now, Reading::Every);
                    for reading in [Reading::InLists, Reading::Cheaper, Reading::Cells] {
                        assert_eq!(
                            shown(&compare(&filter, now, reading)),
                            shown(&every),
                            "{filter:?} at day {days}, {reading:?}"
                        );
                    }
                    compared += 1;
                    some += usize::from(every.overall.cases > 0);
                }
            }
        }
    }
    // The positive control: most filters keep some reports, some none.
    assert!(
        compared > 700 && some > 250 && some < compared,
        "{compared} {some}"
    );

    // The supplier's list emptied: its reports of some days are found from it no more.
    let list = newest_list(&b.parties[0]);
    empty_list(&b.store, &list);
    let few = Filter {
        from: day(20),
        to: day(22),
        ..Filter::default()
    };
    let now = T0.plus_days(45);
    let every = compare(&few, now, Reading::Every);
    assert!(every.parties[0].1.cases > 0, "the control: it has some");
    let listed = compare(&few, now, Reading::InLists);
    assert_eq!(listed.parties[0].1.cases, 0);
    assert_eq!(listed.parties[1].1.cases, every.parties[1].1.cases);
    // With a category too: read from its lists, they miss them; the cheaper reading counts
    // them from its cells of the category, its newest cases from its list of the category.
    let of_category = |category: &str| Filter {
        category: category.into(),
        ..few.clone()
    };
    let kept = IssueCategory::ALL
        .iter()
        .map(|c| of_category(c.code()))
        .find(|f| compare(f, now, Reading::Every).parties[0].1.cases > 0)
        .expect("the control: some category has some");
    assert_eq!(compare(&kept, now, Reading::InLists).parties[0].1.cases, 0);
    assert_eq!(
        shown(&compare(&kept, now, Reading::Cheaper)),
        shown(&compare(&kept, now, Reading::Every))
    );
    // Narrowed only by days, the figures come from the cells of those days (its newest cases
    // from the list).
    for reading in [Reading::Cheaper, Reading::Cells] {
        let counted = compare(&few, now, reading);
        assert_eq!(counted.parties[0].1.cases, every.parties[0].1.cases);
        assert!(counted.recent[0].is_empty() && !every.recent[0].is_empty());
    }

    // A category's list is read when it is the shortest the filter names: emptied, the
    // supplier's reports of that category are found from the lists no more, of a few days
    // or of all (every report read still counts them).
    let b = scored_brand();
    let compare = |filter: &Filter, reading: Reading| {
        b.narrowed(filter, now, RECENT, reading).expect("compare")
    };
    let (c, with_days) = IssueCategory::ALL
        .iter()
        .map(|c| (*c, of_category(c.code())))
        .find(|(_, f)| compare(f, Reading::Every).parties[0].1.cases > 0)
        .expect("the control: some category has some");
    let alone = Filter {
        category: c.code().into(),
        ..Filter::default()
    };
    for f in [&with_days, &alone] {
        assert_eq!(
            shown(&compare(f, Reading::InLists)),
            shown(&compare(f, Reading::Every))
        );
    }
    let list = crate::aggregates::report_facets::list(
        &b.parties[0],
        &crate::aggregates::report_facets::Facet::Category(c),
    );
    empty_list(&b.store, &list);
    for f in [&with_days, &alone] {
        assert!(compare(f, Reading::Every).parties[0].1.cases > 0);
        assert_eq!(compare(f, Reading::InLists).parties[0].1.cases, 0, "{f:?}");
    }
}

/// A rebuild of the indexes (what `ilm reindex` runs before it replaces the cells) marks the
/// store unbuilt from its start: stopped half way, with its lists emptied, the store is
/// rebuilt at its next start, and the lists the scorecards read are whole again.
#[test]
fn a_rebuild_stopped_half_way_is_done_again_at_the_next_start() {
    let b = scored_brand();
    crate::aggregates::ensure_built(&b.store).expect("built");
    assert_eq!(
        crate::aggregates::built_version(&b.store).expect("read"),
        Some(crate::aggregates::VERSION)
    );
    let whole = |store: &Store| {
        LISTS
            .ids_prefixed(store, &newest_list(&b.parties[0]), usize::MAX)
            .expect("ids")
            .expect("all")
    };
    let before = whole(&b.store);
    assert!(!before.is_empty());
    // A damaged case state stops the rebuild after it emptied the case lists, before it
    // reaches the reports' lists.
    let damaged: crate::store::Table<u8> = crate::store::Table::new(b'C', "case states");
    let mut batch = WriteBatch::new();
    batch.put(&damaged, &[7; 16], &1).expect("put");
    b.store.commit(batch).expect("commit");
    assert!(crate::aggregates::rebuild_indexes(&b.store).is_err());
    assert_eq!(
        crate::aggregates::built_version(&b.store).expect("read"),
        None,
        "not built until the cells are replaced"
    );
    let mut batch = WriteBatch::new();
    batch.remove(&damaged, &[7; 16]);
    b.store.commit(batch).expect("commit");
    // Stopped later, its reports' lists emptied too.
    crate::aggregates::empty(&b.store, LISTS.table()).expect("empty");
    assert!(whole(&b.store).is_empty());
    assert!(crate::aggregates::ensure_built(&b.store).expect("start"));
    assert_eq!(whole(&b.store), before);
    assert!(!crate::aggregates::ensure_built(&b.store).expect("start again"));
}
