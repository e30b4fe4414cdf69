//! A rebuild of a brand's lists from its reports holds what the reports list, and writes
//! each block about once whatever order the cases' references come in.

use super::*;

/// 2,000 cases escalated an hour apart, one report each about one of the two parties,
/// their references in no order of time (as real ones, drawn at random).
fn scattered_reports() -> Vec<StatusReport> {
    (0..2_000u64)
        .map(|i| {
            let d = Drawn {
                case: 0,
                cso: (i % 2) as u8,
                party: (i % 3 % 2) as u8,
                status: (i % 11) as usize,
                stage: (i % 6) as usize,
                categories: (i % 7 + 1) as u8,
                escalated_hours: 0,
                acknowledged: (i % 4 == 0).then_some(30),
                remediated: None,
                verified: false,
                corridor: i % 5 != 0,
            };
            let mut r = report(&d, i);
            let mut reference = [0u8; 16];
            reference[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
            reference[8..].copy_from_slice(&i.to_be_bytes());
            r.case_ref = CaseRef(reference);
            let shift = i * 3_600;
            for t in [
                &mut r.escalated_at,
                &mut r.acknowledge_by,
                &mut r.remediate_by,
            ] {
                *t = Timestamp(t.0 + shift);
            }
            r.acknowledged_at = r.acknowledged_at.map(|t| Timestamp(t.0 + shift));
            r
        })
        .collect()
}

/// The rebuilt lists equal the lists the reports give, in full blocks (all but about one a
/// list); rebuilt 100 reports a batch, each batch writes the blocks its entries fill and
/// rewrites the block at the end of each list it adds to (a removal and a write), and a
/// few within the lists by date owed (a remediation's date among later acknowledgements').
/// Taken in the reports' own order (by reference, at random), each batch rewrote most
/// blocks of every long list: 29,923 records for these reports, against 3,388.
#[test]
fn a_rebuild_writes_each_block_about_once() {
    let (_dir, store) = open_store();
    let mut batch = WriteBatch::new();
    let reports = scattered_reports();
    for r in &reports {
        let id = schema::report_id(&r.case_ref, &r.cso, &r.supplier);
        batch.put(&schema::STATUS_REPORTS, &id, r).expect("put");
    }
    store.commit(batch).expect("commit");
    let written = rebuild_lists_in(&store, 100).expect("rebuild");
    let entries = lists_held(&store).expect("every entry");
    assert_eq!(entries, lists_of(&all_reports(&store)));
    let blocks = store.count(LISTS.table()).expect("count");
    let lists = entries
        .iter()
        .map(|id| &id[..id.len() - KEY_LEN])
        .collect::<BTreeSet<_>>()
        .len();
    let batches = reports.len().div_ceil(100) + 1;
    let block = crate::aggregates::lists::BLOCK;
    assert!(
        entries.len() > 10 * block * lists,
        "long lists: {} entries",
        entries.len()
    );
    assert!(
        blocks <= entries.len().div_ceil(block) + lists,
        "{blocks} blocks for {} entries in {lists} lists",
        entries.len()
    );
    assert!(
        written <= blocks + 3 * batches * lists,
        "{written} records written or removed for {blocks} blocks in {lists} lists"
    );
}
