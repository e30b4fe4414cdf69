//! A brand's scorecards narrowed by some days and two or three of a category, a sector and
//! a corridor read each organisation's cells of the facets together and the reports of the
//! side of the days with fewer of them (`aggregates::report_pairs::escalated_on`), and equal
//! those counted from every report.

use super::facets::{deliver_due_on_one_day, equal_every_reports, overdue_during_the_day};
use super::scorecards::scored_brand;
use super::*;
use crate::aggregates::report_facets::{self, Facet};
use crate::scorecard::Reading;

/// The days `from` to `to` after T0 (both in; T0 is the first of a month), either left
/// open when None.
fn days(from: Option<u64>, to: Option<u64>) -> (String, String) {
    let day = |d: Option<u64>| d.map(|d| crate::clock::fmt_day(T0.plus_days(d)));
    (day(from).unwrap_or_default(), day(to).unwrap_or_default())
}

/// Sets of two or three facets the reports have (and one they do not), each over days of
/// no whole month, of whole months, of both, around the reports falling due on one day, or
/// left open at either end, at times before, while and after some of them fall due: the
/// cells and the reports read beside them give the comparison a read of every report gives,
/// overdue counts and newest cases included.
#[test]
fn scorecards_of_some_days_and_two_or_three_facets_equal_every_reports() {
    let b = scored_brand();
    let due_day = deliver_due_on_one_day(&b);
    let category = IssueCategory::ALL[9].code();
    let sets = [
        ("", "seafood", "MM-TH"),
        (IssueCategory::ALL[1].code(), "garment", ""),
        (IssueCategory::ALL[2].code(), "", "MM-TH"),
        (category, "construction", "KH-TH"),
        (category, "construction", ""),
        ("", "hospitality", "LA-TH"),
    ];
    let windows = [
        days(Some(20), Some(25)),
        days(Some(5), Some(58)),
        days(Some(0), Some(58)),
        days(Some(31), Some(40)),
        days(Some(245), Some(255)),
        days(Some(10), None),
        days(None, Some(40)),
    ];
    let mut filters = Vec::new();
    for (from, to) in &windows {
        for (category, sector, corridor) in sets {
            filters.push(Filter {
                from: from.clone(),
                to: to.clone(),
                category: category.into(),
                sector: sector.into(),
                corridor: corridor.into(),
            });
        }
    }
    let (compared, some) = equal_every_reports(&b, due_day, &filters);
    assert!(some > 60 && some < compared, "{some} of {compared}");
    // The controls: in days around their escalation, at two hours into the day one of the
    // supplier's reports of the category, sector and corridor is overdue (the other is due
    // later that day), at four hours both (read from the days' side; the window open at
    // its end above takes the other side at those times).
    overdue_during_the_day(
        &b,
        due_day,
        &Filter {
            category: category.into(),
            sector: "construction".into(),
            corridor: "KH-TH".into(),
            from: windows[4].0.clone(),
            to: windows[4].1.clone(),
        },
    );
}

/// Takes out of the supplier's lists of `facets` the entries of its reports escalated on
/// days `kept` says.
fn take_out(b: &super::scorecards::ScoredBrand, facets: &[Facet], kept: impl Fn(u64) -> bool) {
    use crate::aggregates::lists::{Changes, Lists, key_of};
    use crate::aggregates::report_figures::{self as figures, ENTRY_LEN};
    /// The entries of `lists` of the facets whose keys (their first bytes) are of the days.
    fn gone<const N: usize>(
        b: &super::scorecards::ScoredBrand,
        lists: &Lists<N>,
        facets: &[Facet],
        kept: &impl Fn(u64) -> bool,
    ) -> Changes<N> {
        let mut gone = Changes::new();
        for f in facets {
            let list = report_facets::list(&b.parties[0], f);
            let held = lists
                .ids_prefixed(&b.store, &list, usize::MAX)
                .expect("ids")
                .expect("all");
            for id in held {
                let entry = key_of::<N>(&id).expect("entry");
                let key: ListKey = entry[..KEY_LEN].try_into().expect("key");
                if kept((escalated_of(&key).0 - T0.0) / 86_400) {
                    gone.entry(list.clone()).or_default().insert(entry, false);
                }
            }
        }
        assert!(!gone.is_empty());
        gone
    }
    // The lists of keys, and those of figures a scorecard of days and two facets joins.
    let mut batch = WriteBatch::new();
    let keys = gone(b, &LISTS, facets, &kept);
    LISTS.stage(&b.store, &mut batch, &keys).expect("stage");
    let entries = gone::<ENTRY_LEN>(b, &figures::LISTS, facets, &kept);
    figures::LISTS
        .stage(&b.store, &mut batch, &entries)
        .expect("stage");
    b.store.commit(batch).expect("commit");
}

/// Over most of the days (5 to 58: the drawn reports fall in the 60 days from the first of
/// January, a few in its first days or on the first of March) the supplier's figures of a
/// sector and a corridor are its cells of the two less the reports escalated on other days:
/// with its lists' entries of the days taken out they stay, while the reports read from the
/// lists (the way before) lose them.
/// Over a few days (20 to 25) they are the reports of those days alone: with the entries
/// of other days taken out too, they stay, while the figures of most days, which read
/// those, change.
#[test]
fn scorecards_of_days_and_two_facets_read_the_side_with_fewer_reports() {
    let b = scored_brand();
    let now = T0.plus_days(45);
    let facets = [
        Facet::Sector("seafood".into()),
        Facet::Corridor("MM".parse().expect("c"), "TH".parse().expect("c")),
    ];
    let narrowed = |(from, to): (String, String)| Filter {
        from,
        to,
        sector: "seafood".into(),
        corridor: "MM-TH".into(),
        ..Filter::default()
    };
    let (most, few) = (
        narrowed(days(Some(5), Some(58))),
        narrowed(days(Some(20), Some(25))),
    );
    let compare =
        |f: &Filter, reading: Reading| b.narrowed(f, now, RECENT, reading).expect("compare");
    let card =
        |c: &crate::scorecard::Comparison| serde_json::to_string(&c.parties[0].1).expect("json");
    let (every_most, every_few) = (
        compare(&most, Reading::Every),
        compare(&few, Reading::Every),
    );
    // The controls: the supplier has reports of both in either, more over most days, and
    // some of those before them.
    let cases = |c: &crate::scorecard::Comparison| c.parties[0].1.cases;
    assert!(cases(&every_few) > 0 && cases(&every_most) > cases(&every_few));
    let all = compare(&narrowed((String::new(), String::new())), Reading::Every);
    assert!(cases(&all) > cases(&every_most));
    assert_eq!(card(&compare(&most, Reading::Cells)), card(&every_most));
    assert_eq!(card(&compare(&few, Reading::Cells)), card(&every_few));

    take_out(&b, &facets, |day| (5..=58).contains(&day));
    assert_eq!(card(&compare(&most, Reading::Cells)), card(&every_most));
    assert_eq!(cases(&compare(&most, Reading::InLists)), 0);

    let b = scored_brand();
    let compare =
        |f: &Filter, reading: Reading| b.narrowed(f, now, RECENT, reading).expect("compare");
    take_out(&b, &facets, |day| !(20..=25).contains(&day));
    assert_eq!(card(&compare(&few, Reading::Cells)), card(&every_few));
    assert_ne!(card(&compare(&most, Reading::Cells)), card(&every_most));
}

/// An organisation none of whose reports has a set reads none of its lists for it, however
/// many of its reports have one of the facets: with its cells of a sector and a corridor
/// taken out, its figures of a few days of them are nothing, while its reports read from
/// the lists (the way before) still find some.
#[test]
fn scorecards_of_days_and_a_set_no_report_has_read_no_list() {
    let b = scored_brand();
    let now = T0.plus_days(45);
    let (from, to) = days(Some(20), Some(25));
    let few = Filter {
        from,
        to,
        sector: "seafood".into(),
        corridor: "MM-TH".into(),
        ..Filter::default()
    };
    let compare = |reading: Reading| {
        b.narrowed(&few, now, RECENT, reading)
            .expect("compare")
            .parties[0]
            .1
            .cases
    };
    assert!(compare(Reading::Cells) > 0, "the control: it has some");
    remove_cells(
        &b.store,
        &format!(
            "{}{}.sector:seafood+corridor:MM-TH.",
            crate::aggregates::report_pairs::PREFIX,
            b.parties[0]
        ),
    );
    assert_eq!(compare(Reading::Cells), 0);
    assert!(compare(Reading::InLists) > 0);
}

/// A scorecard of days and two facets counts each report the lists of figures it joins share
/// from its figures (`report_figures`), reading no case: the cells of the set over all
/// time, and with the figures taken off the entries (the control) the same cells from every
/// case. A key two CSOs' reports share holds no figures: its case is read, and both count.
#[test]
fn scorecards_of_days_and_two_facets_count_figures_not_cases() {
    use crate::aggregates::report_pairs;
    let set = report_pairs::Together::new(vec![
        Facet::Sector("seafood".into()),
        Facet::Corridor("MM".parse().expect("c"), "TH".parse().expect("c")),
    ])
    .expect("set");
    let (lower, upper) = escalated_between(None, None);
    let read = |b: &super::scorecards::ScoredBrand| {
        let org = b.parties[0];
        let lists = report_pairs::fewest(&b.store, &org, set.facets()).expect("lists");
        let mut cells = crate::aggregates::Cells::new();
        let cases =
            report_pairs::each_listed(&b.store, &org, &set, &lists, (&lower, &upper), &mut cells)
                .expect("read");
        let at = format!(
            "{}{org}.sector:seafood+corridor:MM-TH.",
            report_pairs::PREFIX
        );
        let kept = crate::aggregates::with_prefix(&b.store, &at).expect("cells");
        assert_eq!(cells, kept);
        (cases, cells.get("cases").copied().unwrap_or(0))
    };
    let b = scored_brand();
    let (cases, counted) = read(&b);
    assert_eq!(cases, 0);
    assert!(counted > 2, "{counted}");
    unpack(&b.store);
    assert_eq!(read(&b), (counted as usize, counted));

    let b = scored_brand();
    let held = all_reports(&b.store);
    let first = held
        .iter()
        .find(|r| r.supplier == b.parties[0] && set.held_by(r))
        .expect("a report of the set")
        .clone();
    let other = b.csos.iter().map(OrgKeys::org_id).find(|c| *c != first.cso);
    let shared = StatusReport {
        cso: other.expect("the other CSO"),
        ..first
    };
    deliver(&b.store, &[vec![shared]]);
    assert_eq!(read(&b), (1, counted + 1));
}

/// Takes the figures off every entry of the lists of figures (as for a key two reports
/// share: only its key left).
fn unpack(store: &Store) {
    use crate::aggregates::report_figures::{ENTRY_LEN, LISTS as FIGURES};
    let mut changes = crate::aggregates::lists::Changes::<ENTRY_LEN>::new();
    for id in FIGURES
        .ids_prefixed(store, &[], usize::MAX)
        .expect("read")
        .expect("all")
    {
        let (list, entry) = id.split_at(id.len() - ENTRY_LEN);
        let entry: [u8; ENTRY_LEN] = entry.try_into().expect("entry");
        let mut bare = [0u8; ENTRY_LEN];
        bare[..KEY_LEN].copy_from_slice(&entry[..KEY_LEN]);
        let of_list = changes.entry(list.to_vec()).or_default();
        of_list.insert(entry, false);
        of_list.insert(bare, true);
    }
    let mut batch = WriteBatch::new();
    FIGURES.stage(store, &mut batch, &changes).expect("stage");
    store.commit(batch).expect("commit");
}

/// A report acknowledged after it was stored has its entry rewritten on each of its lists
/// of figures (one per facet it has: its categories, sector and corridor), none left as it
/// was; the reports counted from the join of its sector's and corridor's lists are then
/// the set's cells, which count the acknowledgement (`check_read_joined`). The control:
/// before, the entries on each of those lists say it is not acknowledged.
#[test]
fn an_acknowledgement_rewrites_the_reports_entry_on_each_of_its_lists() {
    use crate::aggregates::report_figures::tests::{
        acknowledged_days, check_held, check_read_joined,
    };
    use crate::aggregates::report_figures::{ENTRY_LEN, LISTS as FIGURES};
    let b = scored_brand();
    let held = all_reports(&b.store);
    let first = held
        .iter()
        .find(|r| {
            r.acknowledged_at.is_none()
                && r.remediated_at.is_none()
                && r.sector.as_deref() == Some("seafood")
                && r.corridor.is_some()
                && !r.categories.is_empty()
        })
        .expect("a report not acknowledged, of a sector and corridor")
        .clone();
    let (_, key) = newest_entry(&first);
    let facets = Facet::of(&first);
    assert!(facets.len() >= 3, "{facets:?}");
    // Each of its lists' entries of its key.
    let entries = |store: &Store| -> Vec<[u8; ENTRY_LEN]> {
        let mut out = Vec::new();
        for f in &facets {
            let list = report_facets::list(&first.supplier, f);
            let ids = FIGURES
                .ids_prefixed(store, &list, usize::MAX)
                .expect("read")
                .expect("all");
            let of_key: Vec<[u8; ENTRY_LEN]> = ids
                .iter()
                .filter_map(|id| crate::aggregates::lists::key_of::<ENTRY_LEN>(id))
                .filter(|e| e.starts_with(&key))
                .collect();
            assert_eq!(of_key.len(), 1, "one entry of the key on {f:?}'s list");
            out.extend(of_key);
        }
        out
    };
    let before = entries(&b.store);
    assert!(
        before
            .iter()
            .all(|e| *e == before[0] && acknowledged_days(e).is_none())
    );
    let ack = StatusReport {
        acknowledged_at: Some(first.escalated_at.plus_days(3)),
        stage: PartyStage::Acknowledged,
        reported_at: Timestamp(first.reported_at.0 + 1),
        ..first.clone()
    };
    deliver(&b.store, &[vec![ack]]);
    let after = entries(&b.store);
    assert!(
        after
            .iter()
            .all(|e| *e == after[0] && acknowledged_days(e) == Some(3))
    );
    check_held(&b.store, &all_reports(&b.store));
    check_read_joined(&b.store, &b.parties);
}
