//! A report's packed figures count what its cells count; the figures a store holds are
//! those of the reports it holds.

use super::*;
use crate::aggregates::report_facets;
use crate::store::Store;
use ilm_protocol::{CaseNonce, CaseRef, CaseStatus, OrgId, PartyStage};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// A report escalated `escalated` seconds after 2026-01-01, of the categories at `cats` in
/// the codebook (a place named twice names it twice), acknowledged and remediated so many
/// days after (`verified` confirmed), of a corridor when `corridor` names its codes.
fn report(
    escalated: u64,
    cats: &[usize],
    ack: Option<u64>,
    rem: Option<u64>,
    verified: bool,
    corridor: Option<(&str, &str)>,
) -> StatusReport {
    let at = Timestamp(1_767_225_600 + escalated);
    let after = |d: u64| Timestamp(at.0 + d * 86_400 + 5);
    StatusReport {
        case_ref: CaseRef([7; 16]),
        case_nonce: CaseNonce([8; 16]),
        cso: OrgId([1; 32]),
        supplier: OrgId([3; 32]),
        status: CaseStatus::Escalated,
        stage: PartyStage::Escalated,
        categories: cats.iter().map(|i| IssueCategory::ALL[*i]).collect(),
        workers_affected: 1,
        escalated_at: at,
        acknowledge_by: at.plus_days(7),
        remediate_by: at.plus_days(30),
        acknowledged_at: ack.map(after),
        remediated_at: rem.map(after),
        verified_at: verified.then(|| after(500)),
        reported_at: at,
        sector: Some("seafood".into()),
        corridor: corridor.map(|(o, w)| (o.parse().expect("code"), w.parse().expect("code"))),
    }
}

/// The entry of a report's key and its packed figures (None: not packed).
fn entry(r: &StatusReport, packed: Option<[u8; PACKED_LEN]>) -> Entry {
    let (_, key) = reports::newest_entry(r);
    let mut e = [0u8; ENTRY_LEN];
    e[..KEY_LEN].copy_from_slice(&key);
    e[KEY_LEN..].copy_from_slice(&packed.unwrap_or_default());
    e
}

/// Adds to `c` what the report of `entry` counts, as [`Counted`] counts it alone.
fn add_packed(c: &mut Cells, entry: &Entry) -> bool {
    let mut counted = Counted::default();
    let added = counted.add(entry);
    counted.add_to(c);
    added
}

proptest! {
    /// Whatever a report holds and its case says, its packed figures add the cells its
    /// report adds; only a report naming a category twice (counted twice) is not packed,
    /// and an entry not packed adds nothing.
    #[test]
    fn packed_figures_count_as_the_report_does(
        escalated in 0u64..3_000 * 86_400,
        cats in proptest::collection::vec(0..IssueCategory::ALL.len(), 0..4),
        ack in proptest::option::of(0u64..600),
        rem in proptest::option::of(0u64..600),
        verified in any::<bool>(),
        corridor in proptest::option::of(0usize..3),
        closed in any::<bool>(),
        due in proptest::option::of(0u64..4_000 * 86_400),
    ) {
        let codes = [("MM", "TH"), ("KH", "TH"), ("NP", "MY")];
        let r = report(escalated, &cats, ack, rem, verified, corridor.map(|i| codes[i]));
        let due = due.map(|d| Timestamp(1_767_225_600 + d));
        let named_twice = cats.iter().collect::<BTreeSet<_>>().len() < cats.len();
        let packed = pack(&r, closed, due);
        prop_assert_eq!(packed.is_none(), named_twice);
        let from_packed = &mut Cells::new();
        let added = add_packed(from_packed, &entry(&r, packed));
        prop_assert_eq!(added, packed.is_some());
        if added {
            let mut from_report = Cells::new();
            report_facets::add_at(&mut from_report, "", &r, closed, due);
            prop_assert_eq!(from_packed, &from_report);
        } else {
            prop_assert!(from_packed.is_empty());
        }
    }
}

/// A report's entry, the same on its list of each facet it has (the lists of its keys per
/// facet); two CSOs' reports about one party of a case escalated at once share a key, whose
/// entries hold no figures (each has its own); one of them alone has its figures packed.
#[test]
fn reports_sharing_a_key_are_not_packed() {
    let one = report(0, &[0, 3], Some(2), None, false, Some(("MM", "TH")));
    let other = StatusReport {
        cso: OrgId([2; 32]),
        categories: vec![IssueCategory::ALL[5]],
        ..one.clone()
    };
    let alone = entries(std::slice::from_ref(&one));
    let lists: Vec<Vec<u8>> = report_facets::entries(&one)
        .into_iter()
        .map(|(list, _)| list)
        .collect();
    assert_eq!(lists.len(), 4, "two categories, a sector, a corridor");
    assert_eq!(
        alone.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>(),
        lists
    );
    assert!(alone.iter().all(|(_, e)| *e == alone[0].1));
    assert!(add_packed(&mut Cells::new(), &alone[0].1));

    let shared = entries(&[one.clone(), other.clone()]);
    assert_eq!(
        shared.len(),
        4 + 3,
        "the other's category, sector and corridor"
    );
    assert!(shared.iter().all(|(_, e)| *e == shared[0].1));
    assert!(!add_packed(&mut Cells::new(), &shared[0].1));
    // The control: escalated a second apart, each has its own, packed.
    let later = StatusReport {
        escalated_at: Timestamp(one.escalated_at.0 + 1),
        ..other
    };
    let apart = entries(&[one.clone(), later]);
    assert_eq!(apart[..4], alone[..]);
    assert_ne!(apart[4].1, apart[0].1);
    assert!(apart.iter().all(|(_, e)| add_packed(&mut Cells::new(), e)));
}

/// The days to acknowledge an entry packs (None: not acknowledged, or not packed), read
/// as [`Counted`] reads them.
pub(in crate::aggregates) fn acknowledged_days(entry: &Entry) -> Option<u16> {
    let mut counted = Counted::default();
    counted.add(entry);
    counted.ack.keys().next().copied()
}

/// Checks the figures `store` holds against the reports it holds (`reports`, in id order):
/// one entry per key of each party's lists per facet, named alike, each adding what its
/// report adds (by its case: closed, and the earliest date it owes by), or, for a key two
/// reports share, not packed.
pub(in crate::aggregates) fn check_held(store: &Store, reports: &[StatusReport]) {
    let held = LISTS
        .ids_prefixed(store, &[], usize::MAX)
        .expect("read")
        .expect("all");
    let of_facets = reports::LISTS
        .ids_prefixed(store, b"b", usize::MAX)
        .expect("read")
        .expect("all");
    let keys: Vec<Vec<u8>> = held
        .iter()
        .map(|id| id[..id.len() - PACKED_LEN].to_vec())
        .collect();
    assert_eq!(keys, of_facets, "one entry per key of the lists per facet");
    for id in &held {
        let entry: Entry = super::super::lists::key_of(id).expect("entry");
        let org = OrgId(id[1..33].try_into().expect("org"));
        let key: reports::ListKey = entry[..KEY_LEN].try_into().expect("key");
        let group: Vec<&StatusReport> = reports
            .iter()
            .filter(|r| r.case_ref == reports::case_of(&key))
            .collect();
        let owned: Vec<StatusReport> = group.iter().map(|r| (*r).clone()).collect();
        let closed = chain::closed(&owned);
        let of_key: Vec<&StatusReport> = group
            .iter()
            .copied()
            .filter(|r| r.supplier == org && r.escalated_at == reports::escalated_of(&key))
            .collect();
        let mut from_packed = Cells::new();
        let added = add_packed(&mut from_packed, &entry);
        match of_key.as_slice() {
            [r] => {
                assert!(added, "a key of one report is packed");
                let due = (!closed)
                    .then(|| r.owed().iter().map(|(_, due)| *due).min())
                    .flatten();
                let mut from_report = Cells::new();
                report_facets::add_at(&mut from_report, "", r, closed, due);
                assert_eq!(from_packed, from_report);
            }
            [] => panic!("an entry of no report"),
            _ => assert!(!added, "a key two reports share is not packed"),
        }
    }
}

/// A packed entry names a category by its place in the codebook: the places are stored, so
/// the order must not change under them (a category added at the end takes a new bit;
/// reordering, or inserting one, must raise `aggregates::VERSION` so that every node
/// rebuilds its figures, and this list with it).
#[test]
fn the_codebook_order_the_figures_are_packed_by_is_pinned() {
    let codes: Vec<&str> = IssueCategory::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(
        codes,
        [
            "abuse_of_vulnerability",
            "deception",
            "restriction_of_movement",
            "isolation",
            "physical_and_sexual_violence",
            "intimidation_and_threats",
            "retention_of_identity_documents",
            "withholding_of_wages",
            "debt_bondage",
            "abusive_working_and_living_conditions",
            "excessive_overtime",
            "recruitment_fees",
            "contracts",
            "wages_and_benefits",
            "health_and_safety",
            "living_conditions",
            "discrimination_and_harassment",
            "freedom_of_association",
            "child_labour",
            "information_request",
        ]
    );
    assert!(codes.len() <= 32, "a category's bit is one of 32");
}

/// Checks, for each of `parties` and a few sets of two or three facets, that its reports of
/// the set counted from the join of the set's lists of figures (each from its figures, or
/// from its case where they are not packed) are the set's cells.
pub(in crate::aggregates) fn check_read_joined(store: &Store, parties: &[OrgId]) {
    use crate::aggregates::report_facets::Facet;
    use crate::aggregates::report_pairs::{self, Together};
    let corridor = Facet::Corridor("MM".parse().expect("c"), "TH".parse().expect("c"));
    let category = |i: usize| Facet::Category(IssueCategory::ALL[i]);
    let sets = [
        vec![Facet::Sector("seafood".into()), corridor.clone()],
        vec![category(0), Facet::Sector("fishing".into())],
        vec![category(1), Facet::Sector("garment".into()), corridor],
    ];
    let end = [0xFF; KEY_LEN + 1];
    for org in parties {
        for facets in &sets {
            let set = Together::new(facets.clone()).expect("set");
            let lists = report_pairs::fewest(store, org, set.facets()).expect("lists");
            let read = |bounds: (&[u8], &[u8]), cells: &mut Cells| {
                report_pairs::each_listed(store, org, &set, &lists, bounds, cells).expect("read")
            };
            let mut cells = Cells::new();
            read((&[], &end), &mut cells);
            let names: Vec<String> = facets.iter().map(Facet::name).collect();
            let at = format!("{}{org}.{}.", report_pairs::PREFIX, names.join("+"));
            let kept = crate::aggregates::with_prefix(store, &at).expect("cells");
            assert_eq!(cells, kept, "{at}");
            // Read in two, either side of the key of its middle report (or of its second),
            // the same: bounds of a key's first bytes, or of a whole key.
            let newest = reports::LISTS
                .ids_prefixed(store, &reports::newest_list(org), usize::MAX)
                .expect("read")
                .expect("all");
            if let Some(mid) = newest.get(newest.len() / 2) {
                let key = &mid[mid.len() - KEY_LEN..];
                for bound in [&key[..8], key] {
                    let mut halves = Cells::new();
                    read((&[], bound), &mut halves);
                    read((bound, &end), &mut halves);
                    halves.retain(|_, n| *n != 0);
                    assert_eq!(halves, kept, "{at} read in two at {bound:?}");
                }
            }
        }
    }
}
