//! A brand's per-party cells and lists, kept batch by batch as its core keeps them, equal a
//! recount of the reports it holds; the scorecards read from them equal those counted from
//! every report.

use super::*;
use crate::aggregates::chain::*;
use crate::aggregates::tests::{T0, certificate, network};
use crate::aggregates::{Pending, held, recount, replace};
use crate::membership::MembershipState;
use crate::scorecard::{Filter, RECENT, Scorecard, compare};
use ilm_protocol::{
    CaseNonce, CaseStatus, IssueCategory, LinkKind, OrgKeys, PartyStage, Role, SignedRecord,
    SupplyChainLink,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::collections::BTreeSet;

const STAGES: [PartyStage; 6] = [
    PartyStage::Escalated,
    PartyStage::Acknowledged,
    PartyStage::Disputed,
    PartyStage::Remediating,
    PartyStage::RemediationReported,
    PartyStage::Resolved,
];

/// One report as drawn: which case, sender and party; where it stands; when things happened
/// (in hours after the escalation).
#[derive(Debug, Clone)]
struct Drawn {
    case: u8,
    cso: u8,
    party: u8,
    status: usize,
    stage: usize,
    categories: u8,
    escalated_hours: u32,
    acknowledged: Option<u32>,
    remediated: Option<u32>,
    verified: bool,
    corridor: bool,
}

fn drawn() -> impl Strategy<Value = Drawn> {
    (
        (0u8..12, 0u8..2, 0u8..2, 0usize..11, 0usize..6, 1u8..8),
        (
            0u32..24 * 60,
            proptest::option::of(0u32..24 * 20),
            proptest::option::of(0u32..24 * 90),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (case, cso, party, status, stage, categories),
                (escalated_hours, acknowledged, remediated, verified, corridor),
            )| Drawn {
                case,
                cso,
                party,
                status,
                stage,
                categories,
                escalated_hours,
                acknowledged,
                remediated,
                verified,
                corridor,
            },
        )
}

/// The CSOs (1 and 2) and the parties (3, a supplier, and 4, an agency).
fn org(n: u8) -> OrgId {
    OrgId([n; 32])
}

fn report(d: &Drawn, reported: u64) -> StatusReport {
    report_about(d, reported, [org(3), org(4)], [org(1), org(2)])
}

/// A case's reference names its CSO, as a real one derives from it (the proptest's echoes
/// copy another CSO's reference: two CSOs' reports about one case).
fn report_about(d: &Drawn, reported: u64, parties: [OrgId; 2], csos: [OrgId; 2]) -> StatusReport {
    let escalated_at = Timestamp(T0.0 + u64::from(d.escalated_hours) * 3_600 + 17);
    let after = |h: u32| Timestamp(escalated_at.0 + u64::from(h) * 3_600 + 1_234);
    let categories = IssueCategory::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 8 && d.categories & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect();
    StatusReport {
        case_ref: case_ref(d.case, d.cso),
        case_nonce: CaseNonce([d.case; 16]),
        cso: csos[usize::from(d.cso)],
        supplier: parties[usize::from(d.party)],
        status: CaseStatus::ALL[d.status],
        stage: STAGES[d.stage],
        categories,
        workers_affected: 2,
        escalated_at,
        acknowledge_by: escalated_at.plus_days(7),
        remediate_by: escalated_at.plus_days(30),
        acknowledged_at: d.acknowledged.map(after),
        remediated_at: d.remediated.map(after),
        verified_at: d.verified.then(|| after(24 * 95)),
        reported_at: Timestamp(T0.0 + reported),
        // Every report of a case names its sector, as the CSO gives the same profile to all
        // (an echo, another CSO's, may name another).
        sector: Some(["seafood", "fishing", "garment"][usize::from(d.case % 3)].into()),
        corridor: d
            .corridor
            .then(|| ("MM".parse().expect("c"), "TH".parse().expect("c"))),
    }
}

fn case_ref(case: u8, cso: u8) -> CaseRef {
    let mut c = [case; 16];
    c[0] = cso;
    CaseRef(c)
}

fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    (dir, store)
}

/// Stores each batch's reports as a brand's core does (`stage`, then the batch's cells).
fn deliver(store: &Store, batches: &[Vec<StatusReport>]) {
    for reports in batches {
        let mut batch = WriteBatch::new();
        let mut pending = Pending::new();
        for r in reports {
            stage(store, &mut batch, &mut pending, r).expect("stage");
        }
        pending.stage(store, &mut batch).expect("cells");
        store.commit(batch).expect("commit");
    }
}

/// Stores complete supply-chain links (kind, upstream, downstream), each signed by its
/// upstream side.
fn store_links(
    store: &Store,
    network: &ilm_protocol::Network,
    links: &[(LinkKind, &OrgKeys, &OrgKeys)],
) {
    let mut batch = WriteBatch::new();
    for (kind, upstream, downstream) in links {
        let rec = SignedRecord::sign(
            &SupplyChainLink {
                network_id: network.id(),
                kind: *kind,
                upstream: upstream.org_id(),
                downstream: downstream.org_id(),
                established_at: T0,
            },
            upstream,
        )
        .expect("link");
        let link = crate::core::StoredLink {
            id: rec.digest(),
            record: rec,
            complete: true,
        };
        batch
            .put(&schema::LINKS, link.id.as_bytes(), &link)
            .expect("put");
    }
    store.commit(batch).expect("commit");
}

fn all_reports(store: &Store) -> Vec<StatusReport> {
    store.scan(&schema::STATUS_REPORTS, &[]).expect("scan")
}

/// Takes every entry out of the list `list` (which holds some), as a store that lost them.
fn empty_list(store: &Store, list: &[u8]) {
    let held = LISTS
        .ids_prefixed(store, list, usize::MAX)
        .expect("ids")
        .expect("all");
    assert!(!held.is_empty());
    let mut gone = crate::aggregates::lists::Changes::new();
    let entries = gone.entry(list.to_vec()).or_default();
    for id in &held {
        entries.insert(
            crate::aggregates::lists::key_of::<KEY_LEN>(id).expect("key"),
            false,
        );
    }
    let mut batch = WriteBatch::new();
    LISTS.stage(store, &mut batch, &gone).expect("stage");
    store.commit(batch).expect("commit");
}

/// Takes every cell whose name starts with `prefix` (which holds some) out of the store, as
/// a store that lost them: those kept a record each, and the units (`aggregates::units`) of
/// those kept per unit, whose prefixes name whole units.
fn remove_cells(store: &Store, prefix: &str) {
    assert!(
        !crate::aggregates::with_prefix(store, prefix)
            .expect("cells")
            .is_empty(),
        "{prefix}"
    );
    let mut batch = WriteBatch::new();
    for (name, _) in store
        .scan_with_ids_prefixed::<i64>(&schema::AGGREGATES, prefix.as_bytes())
        .expect("cells")
    {
        batch.remove(&schema::AGGREGATES, &name);
    }
    for unit in store
        .ids_prefixed(&schema::AGGREGATE_UNITS, prefix.as_bytes(), usize::MAX)
        .expect("units")
        .expect("fewer than the maximum")
    {
        batch.remove(&schema::AGGREGATE_UNITS, &unit);
    }
    store.commit(batch).expect("commit");
    assert!(
        crate::aggregates::with_prefix(store, prefix)
            .expect("cells")
            .is_empty(),
        "{prefix}"
    );
}

/// What the lists hold, every id in order.
fn lists_held(store: &Store) -> Option<Vec<Vec<u8>>> {
    LISTS.ids_prefixed(store, &[], usize::MAX).expect("read")
}

/// The summary of each case of `reports` (held in id order).
fn summaries(reports: &[StatusReport]) -> Vec<CaseSummary> {
    reports
        .chunk_by(|a, b| a.case_ref == b.case_ref)
        .filter_map(summary)
        .collect()
}

/// The cases of `reports` closed as their newest reports say, where nothing is owed.
fn closed_cases(reports: &[StatusReport]) -> BTreeSet<CaseRef> {
    summaries(reports)
        .iter()
        .filter(|s| s.closed())
        .map(|s| s.case_ref)
        .collect()
}

/// Whether a report owes something past its date at `now` in a case not closed.
fn late(r: &StatusReport, closed: &BTreeSet<CaseRef>, now: Timestamp) -> bool {
    !closed.contains(&r.case_ref) && !r.overdue(now).is_empty()
}

/// The ids the lists must hold for `reports`: each party's (every report newest first, and
/// those of each category, sector and corridor; by the earliest date it owes by, in a case
/// not closed), and the cases' (by each organisation named and category too).
fn lists_of(reports: &[StatusReport]) -> Vec<Vec<u8>> {
    let closed = closed_cases(reports);
    let mut ids: Vec<Vec<u8>> = Vec::new();
    for r in reports {
        let newest = list_key(u64::MAX - r.escalated_at.0, &r.case_ref);
        ids.push([newest_list(&r.supplier).as_slice(), &newest].concat());
        let due = r.owed().iter().map(|(_, due)| due.0).min();
        if let Some(due) = due.filter(|_| !closed.contains(&r.case_ref)) {
            let key = list_key(due, &r.case_ref);
            ids.push([due_list(&r.supplier).as_slice(), &key].concat());
        }
        // Its party's reports of each of its categories, its sector (one of the sectors a
        // filter takes) and its corridor.
        let mut facets: BTreeSet<String> = r
            .categories
            .iter()
            .map(|c| format!("category:{}", c.code()))
            .collect();
        facets.extend(
            r.sector
                .iter()
                .filter(|s| crate::intake::SECTORS.contains(&s.as_str()))
                .map(|s| format!("sector:{s}")),
        );
        facets.extend(
            r.corridor
                .iter()
                .map(|(o, w)| format!("corridor:{}-{}", o.as_str(), w.as_str())),
        );
        for f in facets {
            ids.push(
                [
                    b"b".as_slice(),
                    r.supplier.as_bytes(),
                    f.as_bytes(),
                    &[0],
                    &newest,
                ]
                .concat(),
            );
        }
    }
    for group in reports.chunk_by(|a, b| a.case_ref == b.case_ref) {
        let Some(s) = summary(group) else { continue };
        let key = crate::aggregates::opened::key(s.opened_at, &s.case_ref);
        let mut lists = vec![ALL_CASES.to_vec(), cases_in_status(s.status.code())];
        // Each organisation named, by the categories of the first report about it, or the
        // case's.
        for org in &s.counterparties {
            let mine = group.iter().find(|r| r.supplier == *org);
            let categories = mine.map_or(&s.categories, |r| &r.categories);
            lists.extend(categories.iter().map(|c| cases_with_category(org, *c)));
        }
        if !s.closed() {
            lists.push(OPEN_CASES.to_vec());
        }
        for org in &s.counterparties {
            lists.push(cases_with(org));
            if !s.closed() {
                lists.push(open_cases_with(org));
            }
        }
        let mut facets: Vec<Vec<u8>> = s.categories.iter().map(|c| cases_of_category(*c)).collect();
        facets.extend(
            (s.sector.as_deref())
                .filter(|s| crate::intake::SECTORS.contains(s))
                .map(cases_of_sector),
        );
        facets.extend(s.corridor.iter().map(|(o, w)| cases_of_corridor(o, w)));
        lists.extend(facets.iter().cloned());
        ids.extend(lists.into_iter().map(|l| [l.as_slice(), &key].concat()));
        if let Some(due) = s.next_due {
            // On the due-date list of every case owing something, and on its facets'.
            let owed = list_key(due.0, &s.case_ref);
            ids.push([DUE_CASES, &owed].concat());
            ids.extend(
                facets
                    .iter()
                    .map(|f| [due_cases_of(f).as_slice(), &owed].concat()),
            );
        }
    }
    // Two reports about one party of a case may share an entry.
    ids.sort();
    ids.dedup();
    ids
}

/// Which reports a figure is over.
type Keeps<'a> = &'a dyn Fn(&StatusReport) -> bool;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever reports arrive, in whatever batches (a case's report replaced, in the same
    /// batch or later; one held under an earlier release's id replaced by the next about
    /// the same party), the cells and lists kept equal a recount and a rebuild of the held
    /// reports.
    #[test]
    fn cells_and_lists_kept_with_reports_equal_a_recount(
        earlier in proptest::collection::vec(drawn(), 0..6),
        batches in proptest::collection::vec(proptest::collection::vec(drawn(), 1..6), 1..8),
        echoes in proptest::collection::vec((0usize..40, 0usize..8, drawn()), 0..4),
    ) {
        let (_dir, store) = open_store();
        // An earlier release's reports, under the ids of then, counted at the upgrade.
        let mut batch = WriteBatch::new();
        for (i, d) in earlier.iter().enumerate() {
            let r = report(d, i as u64);
            let id = schema::legacy_report_id(&r.case_ref, &r.cso);
            batch.put(&schema::STATUS_REPORTS, &id, &r).expect("put");
        }
        store.commit(batch).expect("commit");
        replace(&store, &recount(&store, &mut |_| {}).expect("recount"), 100).expect("replace");
        rebuild_lists(&store).expect("rebuild");
        let mut at = 100;
        let mut batches: Vec<Vec<StatusReport>> = batches
            .iter()
            .map(|b| b.iter().map(|d| { at += 1; report(d, at) }).collect())
            .collect();
        // The other CSO's report about the same party of a case, escalated at once: the
        // two share an entry (until one is replaced by a report escalated at another time).
        // Reported after it, or (for an odd place drawn) just before: not always the newest.
        let drawn_reports: Vec<StatusReport> = batches.iter().flatten().cloned().collect();
        for (of, into, d) in &echoes {
            let r = &drawn_reports[of % drawn_reports.len()];
            at += 1;
            let reported = if of % 2 == 1 { r.reported_at.0 - T0.0 - 1 } else { at };
            let echo = StatusReport {
                cso: if r.cso == org(1) { org(2) } else { org(1) },
                case_ref: r.case_ref,
                case_nonce: r.case_nonce,
                supplier: r.supplier,
                escalated_at: r.escalated_at,
                ..report(d, reported)
            };
            let n = batches.len();
            batches[into % n].push(echo);
        }
        deliver(&store, &batches);
        let reports = all_reports(&store);
        prop_assert_eq!(
            held(&store).expect("held"),
            recount(&store, &mut |_| {}).expect("recount").into_cells()
        );
        prop_assert_eq!(lists_held(&store), Some(lists_of(&reports)));
        crate::aggregates::report_figures::tests::check_held(&store, &reports);
        crate::aggregates::report_figures::tests::check_read_joined(&store, &[org(3), org(4)]);
        // The cases, each once: in all, open, overdue (as the case list's rows count them),
        // and a page at a time newest first.
        let cases = summaries(&reports);
        let closed = closed_cases(&reports);
        let open = cases.iter().filter(|c| !c.closed()).count() as u64;
        prop_assert_eq!(case_totals(&store, None).expect("totals"), (cases.len() as u64, open));
        for hours in (0..24 * 100).step_by(37) {
            let now = Timestamp(T0.0 + hours * 3_600 + 600);
            let overdue_cases = reports
                .chunk_by(|a, b| a.case_ref == b.case_ref)
                .filter(|g| g.iter().any(|r| late(r, &closed, now)))
                .count() as u64;
            prop_assert_eq!(cases_overdue(&store, now).expect("overdue"), overdue_cases);
        }
        let mut newest: Vec<&CaseSummary> = cases.iter().collect();
        newest.sort_by_key(|c| (std::cmp::Reverse(c.opened_at), c.case_ref));
        let listed = |closed_too| -> Vec<CaseRef> {
            (0..cases.len().div_ceil(3))
                .flat_map(|p| cases_page(&store, None, closed_too, p * 3, 3).expect("page"))
                .collect()
        };
        prop_assert_eq!(listed(true), newest.iter().map(|c| c.case_ref).collect::<Vec<_>>());
        prop_assert_eq!(
            listed(false),
            newest.iter().filter(|c| !c.closed()).map(|c| c.case_ref).collect::<Vec<_>>()
        );
        // Reading them: each party's figures and overdue count, at times across the days
        // its reports fall due (and within a day, before and after some of them).
        for party in [org(3), org(4)] {
            let mine: Vec<&StatusReport> = reports.iter().filter(|r| r.supplier == party).collect();
            let f = figures(&store, &party).expect("figures");
            prop_assert_eq!(&f, &ReportFigures::of_reports(mine.iter().copied()));
            for hours in (0..24 * 100).step_by(37) {
                let now = Timestamp(T0.0 + hours * 3_600 + 600);
                let scanned = mine.iter().filter(|r| late(r, &closed, now)).count() as u64;
                prop_assert_eq!(overdue(&store, &party, now).expect("overdue"), scanned);
            }
            // Its figures of some days, and of one category, sector or corridor, from their
            // cells, as the reports that pass count them (open and overdue by the case rule).
            let counted = |kept: Keeps, now: Timestamp| {
                let theirs: Vec<&StatusReport> =
                    mine.iter().copied().filter(|r| kept(r)).collect();
                let mut f = ReportFigures::of_reports(theirs.iter().copied());
                f.open = theirs.iter().filter(|r| !closed.contains(&r.case_ref)).count() as u64;
                let overdue = theirs.iter().filter(|r| late(r, &closed, now)).count() as u64;
                crate::aggregates::report_days::Passing { figures: f, overdue }
            };
            let first = T0.0 / 86_400;
            for (from, to) in [(first + 10, first + 40), (first - 3, first + 61)] {
                let on = |r: &StatusReport| (from..=to).contains(&(r.escalated_at.0 / 86_400));
                for hours in (0..24 * 100).step_by(161) {
                    let now = Timestamp(T0.0 + hours * 3_600 + 600);
                    let got = crate::aggregates::report_days::escalated_on(
                        &store, &party, from..=to, now,
                    )
                    .expect("days");
                    prop_assert_eq!(got, counted(&on, now));
                }
            }
            use crate::aggregates::report_facets::{self, Facet};
            let mm_th: (ilm_protocol::Country, ilm_protocol::Country) =
                ("MM".parse().expect("c"), "TH".parse().expect("c"));
            let category = IssueCategory::ALL[1];
            let facets: [(Facet, Keeps); 3] = [
                (Facet::Category(category), &|r| r.categories.contains(&category)),
                (Facet::Sector("seafood".into()), &|r| r.sector.as_deref() == Some("seafood")),
                (
                    Facet::Corridor(mm_th.0.clone(), mm_th.1.clone()),
                    &|r| r.corridor.as_ref() == Some(&mm_th),
                ),
            ];
            for (facet, has) in &facets {
                for hours in (0..24 * 100).step_by(161) {
                    let now = Timestamp(T0.0 + hours * 3_600 + 600);
                    let got = report_facets::figures(&store, &party, facet, now).expect("facet");
                    prop_assert_eq!(got, counted(*has, now));
                }
                // And of some days: its cells of the facet per day and per month.
                for (from, to) in [(first + 10, first + 40), (first - 3, first + 61)] {
                    let on = |r: &StatusReport| {
                        (from..=to).contains(&(r.escalated_at.0 / 86_400)) && has(r)
                    };
                    for hours in (0..24 * 100).step_by(322) {
                        let now = Timestamp(T0.0 + hours * 3_600 + 600);
                        let got =
                            report_facets::escalated_on(&store, &party, facet, from..=to, now)
                                .expect("facet of days");
                        prop_assert_eq!(got, counted(&on, now));
                    }
                }
            }
            // And of two or three of them together: its cells of each set.
            use crate::aggregates::report_pairs::{self, Together};
            for (a, b, c) in [(0, 1, None), (0, 2, None), (1, 2, None), (0, 1, Some(2))] {
                let picked: Vec<usize> = [Some(a), Some(b), c].into_iter().flatten().collect();
                let set = Together::new(picked.iter().map(|i| facets[*i].0.clone()).collect())
                    .expect("a set");
                let has = |r: &StatusReport| picked.iter().all(|i| (facets[*i].1)(r));
                for hours in (0..24 * 100).step_by(161) {
                    let now = Timestamp(T0.0 + hours * 3_600 + 600);
                    let got = report_pairs::figures(&store, &party, &set, now).expect("set");
                    prop_assert_eq!(got, counted(&has, now));
                }
            }
        }
    }
}

/// Stages a draft attestation, signed by the CSO `cso`, of `party`'s remediation of a case.
fn put_draft(
    batch: &mut WriteBatch,
    network: &ilm_protocol::Network,
    cso: &OrgKeys,
    case: CaseRef,
    party: OrgId,
) {
    let body = ilm_protocol::RemediationAttestation {
        network_id: network.id(),
        case_ref: case,
        cso: cso.org_id(),
        remediating_party: party,
        categories: vec![IssueCategory::WithholdingOfWages],
        summary: "Wages repaid".into(),
        workers_benefited: 2,
        amounts_repaid: vec![],
        remediated_at: T0,
        verdict: ilm_protocol::Verdict::Resolved,
        verified_at: T0,
        events: vec![],
        issued_at: T0,
    };
    let stored = crate::core::StoredAttestation {
        case_ref: case,
        record: SignedRecord::sign(&body, cso).expect("sign"),
        complete: false,
        stored_at: T0,
        bundle: None,
    };
    batch
        .put(&schema::ATTESTATIONS, case.as_bytes(), &stored)
        .expect("put");
}

/// A brand's plain case list, read a page at a time from the case lists, shows the rows a
/// read of every report gives, page by page (every case, or those not closed), with the
/// same totals.
mod case_list;
/// A closed case owes nothing, whatever an older report of it says.
mod closed;
/// A brand's scorecards narrowed only by days, from each organisation's cells per day.
mod days;
/// A brand's scorecards narrowed by some days and one category, sector or corridor, from
/// each organisation's cells of the facet per day and per month.
mod facet_days;
/// A brand's scorecards narrowed only by a category, a sector or a corridor, from each
/// organisation's cells of it.
mod facets;
/// A brand's scorecards of some days, from each organisation's list of its reports.
mod in_dates;
/// A brand's case list in another order, walked among the cases its conditions keep.
mod ordered;
/// A brand's overdue cases, from its lists, equal those a read of every report finds.
mod overdue;
/// A brand's scorecards narrowed by some days and two or three facets, from the cells of
/// those together and the reports of the side of the days with fewer of them.
mod pair_days;
/// A brand's scorecards narrowed by two or three facets, from each organisation's cells of
/// them together.
mod pairs;
/// A rebuild of a brand's lists writes each block about once.
mod rebuilt;
/// A brand's scorecards from cells equal those counted from every report.
mod scorecards;
mod searches;
/// What a brand counts and lists comes from its cells and lists, kept with each report.
mod stored;
/// A brand's cells per day and month, one record a unit.
mod units;
/// A brand's case list in another order, walked along the lists that hold it.
mod walk;
