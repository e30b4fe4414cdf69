//! A responding party's dashboard, read from its cells and its due-date list, shows what a
//! read of every case state counts for it.

use super::*;
use crate::inbox::tests::{Fixture, fixture, store_unindexed, store_with};
use crate::ui::figures::{Dashboard, responder};

const DAY: u64 = 86_400;

/// The tiles (key and value) and the charts (key and rows) of a dashboard.
type Shown = (
    Vec<(String, String)>,
    Vec<(String, Vec<(String, u64, bool)>)>,
);

fn shown(d: &Dashboard) -> Shown {
    (
        d.tiles
            .iter()
            .map(|t| (t.key.to_string(), t.value.clone()))
            .collect(),
        d.charts
            .iter()
            .map(|c| (c.key.to_string(), c.rows.clone()))
            .collect(),
    )
}

/// What the dashboard of `me` counts, from every case state: its acknowledgements owed, the
/// cases whose next deadline for it falls within a week (not overdue), its median whole days
/// to acknowledge, the remediations confirmed; its rounds by month first escalated, by
/// stage, by category.
fn counted(store: &Store, me: &OrgId, now: Timestamp) -> (Vec<String>, Vec<Vec<(String, u64)>>) {
    let (mut to_answer, mut this_week, mut remediated) = (0u64, 0u64, 0u64);
    let mut ack = Vec::new();
    let (mut months, mut stages, mut categories) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    crate::cases::for_each_state(store, |s| {
        let mine: Vec<_> = s
            .obligations(now)
            .into_iter()
            .filter(|o| o.party == *me)
            .collect();
        to_answer += mine
            .iter()
            .filter(|o| o.what == Owed::Acknowledgement)
            .count() as u64;
        if let Some(next) = mine.iter().map(|o| o.due).min() {
            this_week += u64::from(next.0 >= now.0 && next.0 <= now.0 + 7 * DAY);
        }
        let Some(p) = s.party(me) else {
            return;
        };
        ack.extend(
            p.acknowledged_at
                .map(|a| ((a.0 - p.escalated_at.0) / DAY) as f64),
        );
        remediated += u64::from(matches!(
            p.verdict,
            Some(Verdict::Resolved | Verdict::PartlyResolved)
        ));
        *months
            .entry(super::month(p.first_escalated_at))
            .or_insert(0u64) += 1;
        *stages.entry(p.stage.code().to_string()).or_insert(0u64) += 1;
        for c in &p.categories {
            *categories.entry(c.code().to_string()).or_insert(0u64) += 1;
        }
    })
    .expect("states");
    let median = crate::aggregates::median(ack).map(|d| format!("{d:.1}"));
    let as_rows = |m: BTreeMap<String, u64>| m.into_iter().collect::<Vec<_>>();
    (
        vec![
            to_answer.to_string(),
            this_week.to_string(),
            median.unwrap_or_else(|| "—".into()),
            remediated.to_string(),
        ],
        vec![as_rows(months), as_rows(stages), as_rows(categories)],
    )
}

/// The same figures from the dashboard as shown.
fn from_dashboard(s: &Shown) -> (Vec<String>, Vec<Vec<(String, u64)>>) {
    let tile = |key: &str| {
        s.0.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no tile {key}"))
    };
    let chart = |key: &str| {
        let mut rows: Vec<(String, u64)> =
            s.1.iter()
                .find(|(k, _)| k == key)
                .unwrap_or_else(|| panic!("no chart {key}"))
                .1
                .iter()
                .filter(|(_, n, _)| *n > 0)
                .map(|(label, n, _)| (label.clone(), *n))
                .collect();
        rows.sort();
        rows
    };
    (
        ["to_answer", "due_this_week", "median_ack", "remediated"]
            .map(tile)
            .to_vec(),
        [
            "escalations_by_month",
            "cases_by_stage",
            "issues_by_category",
        ]
        .map(chart)
        .to_vec(),
    )
}

#[test]
fn a_responding_party_s_dashboard_counts_what_every_case_state_counts() {
    let f: Fixture = fixture();
    let (_dir, store) = store_with(&f, 120);
    let mut checked = 0;
    for org in [f.me.org_id(), f.other.org_id()] {
        // Among and after the deadlines of the cases (opened over 60 days, the last due
        // about 110 days in), once every case is opened (the month chart shows past months).
        for day in [61, 66, 75, 90, 104, 140] {
            let now = crate::inbox::tests::T0.plus_days(day);
            let board = responder(&store, &org, now).expect("dashboard");
            let expected = counted(&store, &org, now);
            assert_eq!(from_dashboard(&shown(&board)), expected, "day {day}");
            checked += usize::from(expected.0[1] != "0");
        }
    }
    // Controls: some deadlines fell within the week asked at, and every figure is counted.
    assert!(checked >= 4, "{checked}");
    let me = figures(&store, &f.me.org_id()).expect("figures");
    assert!(me.owes_ack > 0 && me.remediated > 0, "{me:?}");
    assert!(me.stages.len() >= 5 && !me.ack_days.is_empty(), "{me:?}");
    assert_eq!(me.stages.values().sum::<u64>(), 90);
    // Nothing is counted for an organisation with no case here.
    let none = figures(&store, &OrgId([0x42; 32])).expect("figures");
    assert_eq!(none, PartyFigures::default());
}

/// A case state stored without its cells is not counted: the dashboard reads the cells, not
/// every case (a count over every state finds it: the control).
#[test]
fn the_dashboard_reads_the_cells_not_every_case() {
    let f = fixture();
    let (_dir, store) = store_with(&f, 8);
    let me = f.me.org_id();
    store_unindexed(&f, &store, 10);
    let now = crate::inbox::tests::T0.plus_days(61);
    let by_stage = |rows: &[(String, u64)]| rows.iter().map(|(_, n)| n).sum::<u64>();
    assert_eq!(by_stage(&counted(&store, &me, now).1[1]), 7, "control");
    let shown = from_dashboard(&shown(&responder(&store, &me, now).expect("dashboard")));
    assert_eq!(by_stage(&shown.1[1]), 6);
}
