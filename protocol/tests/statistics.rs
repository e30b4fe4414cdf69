//! Published statistics: suppression against a reader who tries to recover suppressed cells,
//! and the rules every receiver checks.

use ilm_protocol::statistics::{self, Counts, MIN_K, StatTable, suppress};
use ilm_protocol::*;
use proptest::prelude::*;

/// What a reader can prove about the suppressed cells of a published table: a suppressed
/// non-zero cell whose value it pins down, or proves to be below k, with its range. The
/// reader knows every category of the dimension; with `knows_support` it also knows which of
/// them are non-zero (each other hidden non-zero cell is then at least 1), a stronger reader
/// than the rules promise to defeat when every cell of a table is hidden.
fn recover(
    table: &StatTable,
    counts: &Counts,
    k: u64,
    knows_support: bool,
) -> Option<(String, u64, u64)> {
    let total = table.total?;
    let hidden = total - table.cells.values().sum::<u64>();
    let nonzero: Vec<&String> = counts
        .iter()
        .filter(|(n, v)| **v > 0 && !table.cells.contains_key(*n))
        .map(|(n, _)| n)
        .collect();
    nonzero.iter().find_map(|c| {
        let (lo, hi) = if knows_support {
            (1, hidden.saturating_sub(nonzero.len() as u64 - 1))
        } else if counts.len() == 1 + table.cells.len() {
            (hidden, hidden)
        } else {
            (0, hidden)
        };
        (lo == hi || hi < k).then(|| ((*c).clone(), lo, hi))
    })
}

/// Suppression that hides only the small cells, as a first attempt would: the control that
/// shows the reader above does recover cells when the defence is missing.
fn primary_only(name: &str, counts: &Counts, k: u64) -> StatTable {
    StatTable {
        name: name.into(),
        total: Some(counts.values().sum()),
        cells: counts
            .iter()
            .filter(|(_, v)| **v >= k)
            .map(|(n, v)| (n.clone(), *v))
            .collect(),
    }
}

fn counts(pairs: &[(&str, u64)]) -> Counts {
    pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

fn publication(tables: Vec<StatTable>, k: u32) -> PublishedStatistics {
    let month: Month = "2026-10".parse().expect("month");
    PublishedStatistics {
        network_id: NetworkId([7; 16]),
        publisher: OrgKeys::from_secret_bytes([1; 32], [2; 32]).org_id(),
        month,
        k,
        published_at: month.end(),
        tables,
    }
}

#[test]
fn the_reader_recovers_cells_from_primary_suppression_but_not_from_ours() {
    let k = u64::from(MIN_K);
    let gender = counts(&[("female", 40), ("male", 30), ("other", 2)]);
    // Control: hiding only "other" lets the total give it away.
    let naive = primary_only("contacts.gender", &gender, k);
    assert_eq!(
        recover(&naive, &gender, k, false),
        Some(("other".to_string(), 2, 2))
    );
    assert_eq!(
        publication(vec![naive], MIN_K)
            .check()
            .map_err(|e| e.code()),
        Err("statistics.recoverable"),
        "receivers refuse what the reader could recover"
    );
    // Ours: "male" is hidden with it, and nothing can be proved below k.
    let ours = suppress("contacts.gender", &gender, MIN_K);
    assert_eq!(recover(&ours, &gender, k, false), None);
    assert_eq!(recover(&ours, &gender, k, true), None);
    publication(vec![ours], MIN_K).check().expect("valid");

    // Several small cells that add up to exactly k: a reader who knew they are non-zero
    // would know each is below k, so one more cell goes.
    let many = counts(&[("KH", 1), ("LA", 1), ("MM", 50), ("NP", 3), ("VN", 9)]);
    assert!(recover(&primary_only("n", &many, k), &many, k, true).is_some());
    let t = suppress("n", &many, MIN_K);
    assert_eq!(t.cells.keys().collect::<Vec<_>>(), ["MM"]);
    assert_eq!(recover(&t, &many, k, true), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// For any counts and any k >= MIN_K: no published count is below k, receivers accept the
    /// table, and the reader recovers no suppressed cell.
    #[test]
    fn no_small_cell_is_published_or_recoverable(
        values in proptest::collection::vec(0u64..40, 1..12),
        k in MIN_K..12,
    ) {
        let c: Counts = values.iter().enumerate().map(|(i, v)| (format!("c{i:02}"), *v)).collect();
        let t = suppress("t", &c, k);
        let kk = u64::from(k);
        prop_assert!(t.cells.values().all(|v| *v >= kk));
        prop_assert!(t.total.is_none_or(|total| total >= kk));
        let total: u64 = c.values().sum();
        if total >= kk {
            prop_assert_eq!(t.total, Some(total));
            prop_assert_eq!(recover(&t, &c, kk, false), None);
            if !t.cells.is_empty() {
                prop_assert_eq!(recover(&t, &c, kk, true), None);
            }
        } else {
            prop_assert!(t.cells.is_empty());
        }
        prop_assert!(publication(vec![t], k).check().is_ok());
    }
}

#[test]
fn receivers_refuse_publications_that_break_the_rules() {
    let ok = suppress("contacts.gender", &counts(&[("female", 9), ("male", 8)]), 5);
    let check =
        |tables: Vec<StatTable>, k: u32| publication(tables, k).check().map_err(|e| e.code());
    assert_eq!(check(vec![ok.clone()], 5), Ok(()));
    assert_eq!(check(vec![ok.clone()], 4), Err("statistics.k_too_small"));
    let mut small = ok.clone();
    small.cells.insert("other".into(), 3);
    small.total = Some(20);
    assert_eq!(check(vec![small], 5), Err("statistics.small_cell"));
    for small in [0, 3] {
        let small_total = StatTable {
            name: "cases.opened".into(),
            total: Some(small),
            cells: Default::default(),
        };
        assert_eq!(check(vec![small_total], 5), Err("statistics.small_cell"));
    }
    let mut huge = ok.clone();
    huge.total = Some(statistics::MAX_COUNT + 1);
    assert_eq!(check(vec![huge], 5), Err("statistics.malformed"));
    let mut over = ok.clone();
    over.total = Some(10);
    assert_eq!(check(vec![over], 5), Err("statistics.malformed"));
    assert_eq!(
        check(vec![ok.clone(), ok.clone()], 5),
        Err("statistics.duplicate_table")
    );
    // A higher k is the publisher's choice, and binds it: 8 is then too small.
    assert_eq!(check(vec![ok.clone()], 9), Err("statistics.small_cell"));

    let mut early = publication(vec![ok], 5);
    early.published_at = Timestamp(early.month.end().0 - 1);
    assert_eq!(
        early.check().map_err(|e| e.code()),
        Err("statistics.month_not_over")
    );
}

#[test]
fn a_publication_is_signed_by_its_publisher() {
    let keys = OrgKeys::from_secret_bytes([1; 32], [2; 32]);
    let other = OrgKeys::from_secret_bytes([3; 32], [4; 32]);
    let body = publication(
        vec![suppress(
            "contacts.gender",
            &counts(&[("female", 9), ("male", 8)]),
            5,
        )],
        5,
    );
    let rec = SignedRecord::sign(&body, &keys).expect("sign");
    rec.verify::<PublishedStatistics>().expect("verifies");
    let mut tampered = rec.clone();
    let text = String::from_utf8(tampered.body.clone()).expect("utf8");
    tampered.body = text.replace("\"female\":9", "\"female\":19").into_bytes();
    assert_ne!(tampered.body, rec.body, "the edit applied");
    assert_eq!(
        tampered
            .verify::<PublishedStatistics>()
            .map_err(|e| e.code()),
        Err("record.bad_signature")
    );
    let forged = SignedRecord::sign(&body, &other).expect("sign");
    assert_eq!(
        forged.verify::<PublishedStatistics>().map_err(|e| e.code()),
        Err("record.wrong_signers")
    );
    let _ = statistics::MAX_TABLES;
}
