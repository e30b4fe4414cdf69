//! A rebuild of a brand's lists from its reports holds what the reports list, and writes
//! each block about once whatever order the cases' references come in.

use super::*;
use crate::aggregates::report_figures as figures;

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

/// The rebuilt lists equal the lists the reports give, in full blocks (all but one or two a
/// list: the lists by date owed take a few entries out of order, a remediation's date among
/// later acknowledgements'); rebuilt 100 reports a batch, each batch writes the blocks its
/// entries fill and rewrites the block at the end of each list it adds to (a removal and a
/// write), and a few within the lists by date owed. Taken in the reports' own order (by
/// reference, at random), each batch rewrote most blocks of every long list: 33,329
/// records for these reports, against 4,004 (1,985 blocks, against 1,432). The lists of
/// the reports' figures (one per party and facet, `report_figures`) are rebuilt alike, with
/// them.
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
    figures::tests::check_held(&store, &all_reports(&store));
    let blocks = store.count(LISTS.table()).expect("count");
    let figure_blocks = store.count(figures::LISTS.table()).expect("count");
    let figure_ids = figures::LISTS
        .ids_prefixed(&store, &[], usize::MAX)
        .expect("read")
        .expect("all");
    let figure_entries = figure_ids.len();
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
        blocks <= entries.len().div_ceil(block) + 2 * lists,
        "{blocks} blocks for {} entries in {lists} lists",
        entries.len()
    );
    // One list of figures per party and facet.
    let figure_lists = figure_ids
        .iter()
        .map(|id| id[..id.len() - figures::ENTRY_LEN].to_vec())
        .collect::<BTreeSet<_>>()
        .len();
    assert!(
        figure_blocks <= figure_entries.div_ceil(block) + 2 * figure_lists,
        "{figure_blocks} blocks for {figure_entries} figures in {figure_lists} lists"
    );
    let (blocks, lists) = (blocks + figure_blocks, lists + figure_lists);
    assert!(
        written <= blocks + 3 * batches * lists,
        "{written} records written or removed for {blocks} blocks in {lists} lists"
    );
}

/// A store counted by a release whose cells are counted as now (`CELLS_SINCE`) but whose
/// lists lack the due-date lists of each category's, sector's and corridor's cases rebuilds
/// its lists alone at its next start: they come out as the reports give them, and its
/// cells are kept as found (one taken out stays out, where a recount would put it back),
/// and the lists of the reports' figures, which that release did not keep, are built.
/// The control: counted by a release before that, the cells are recounted too.
#[test]
fn a_start_after_a_release_changing_only_the_lists_rebuilds_them_alone() {
    use crate::aggregates::{BUILT, CELLS_SINCE, VERSION, built_version, ensure_built};
    let (_dir, store) = open_store();
    let mut batch = WriteBatch::new();
    let mut reports = scattered_reports();
    // A sector no query may name is on no list of a sector.
    reports[7].sector = Some("seafood.x".into());
    for r in reports.iter().take(300) {
        let id = schema::report_id(&r.case_ref, &r.cso, &r.supplier);
        batch.put(&schema::STATUS_REPORTS, &id, r).expect("put");
    }
    store.commit(batch).expect("commit");
    assert!(ensure_built(&store).expect("first count"));
    let expected = lists_of(&all_reports(&store));
    assert_eq!(lists_held(&store).expect("entries"), expected);
    let by_facet: Vec<Vec<u8>> = expected
        .iter()
        .filter(|id| id.starts_with(b"w"))
        .cloned()
        .collect();
    assert!(by_facet.len() > 100, "control: {} entries", by_facet.len());
    assert!(
        !expected
            .iter()
            .any(|id| id.windows(9).any(|w| w == b"seafood.x"))
    );
    let (cell, _) = store
        .scan_with_ids::<i64>(&schema::AGGREGATES)
        .expect("cells")
        .into_iter()
        .find(|(id, _)| id.as_slice() != BUILT.as_bytes())
        .expect("a cell");
    // As the release before this one left its store.
    let as_counted_at = |version: i64| {
        let mut gone = crate::aggregates::lists::Changes::new();
        for id in &by_facet {
            let key = crate::aggregates::lists::key_of::<KEY_LEN>(id).expect("key");
            gone.entry(id[..id.len() - KEY_LEN].to_vec())
                .or_default()
                .insert(key, false);
        }
        let mut batch = WriteBatch::new();
        LISTS.stage(&store, &mut batch, &gone).expect("stage");
        batch.remove(&schema::AGGREGATES, &cell);
        batch
            .put(&schema::AGGREGATES, BUILT.as_bytes(), &version)
            .expect("put");
        store.commit(batch).expect("commit");
        assert!(lists_held(&store).expect("entries").len() < expected.len());
        crate::aggregates::empty(&store, figures::LISTS.table()).expect("no figures");
    };
    let held = || store.get::<i64>(&schema::AGGREGATES, &cell).expect("cell");
    // This release changed the lists alone: its store counted at `CELLS_SINCE` is the one
    // before. (A release changing the cells takes this as the next release would, through
    // `ensure_built_as`.)
    as_counted_at(CELLS_SINCE);
    assert!(ensure_built(&store).expect("lists rebuilt"));
    assert_eq!(lists_held(&store).expect("entries"), expected);
    assert!(store.count(figures::LISTS.table()).expect("count") > 10);
    figures::tests::check_held(&store, &all_reports(&store));
    assert_eq!(held(), None, "the cells kept as found");
    assert_eq!(built_version(&store).expect("version"), Some(VERSION));
    assert!(!ensure_built(&store).expect("built"));
    as_counted_at(CELLS_SINCE - 1);
    assert!(ensure_built(&store).expect("recounted"));
    assert_eq!(lists_held(&store).expect("entries"), expected);
    assert!(held().is_some(), "the cells recounted");
}

/// A store counted by the release that kept one list of figures per party (every report of
/// it, read beside the join of its lists of facets) rebuilds its lists at its next start:
/// its lists of figures are then one per party and facet, and the old one is gone. The
/// control: before the start, the store holds the old list and none per facet.
#[test]
fn a_start_after_the_figures_per_party_keeps_them_per_facet() {
    use crate::aggregates::{BUILT, ensure_built};
    // The version of that release.
    const PER_PARTY: i64 = 25;
    let (_dir, store) = open_store();
    let mut batch = WriteBatch::new();
    for r in scattered_reports().iter().take(200) {
        let id = schema::report_id(&r.case_ref, &r.cso, &r.supplier);
        batch.put(&schema::STATUS_REPORTS, &id, r).expect("put");
    }
    store.commit(batch).expect("commit");
    assert!(ensure_built(&store).expect("first count"));
    let reports = all_reports(&store);
    figures::tests::check_held(&store, &reports);
    // As that release left it: its figures under each party's id alone.
    crate::aggregates::empty(&store, figures::LISTS.table()).expect("emptied");
    let mut old = crate::aggregates::lists::Changes::<{ figures::ENTRY_LEN }>::new();
    for r in &reports {
        let (_, key) = newest_entry(r);
        let mut entry = [0u8; figures::ENTRY_LEN];
        entry[..KEY_LEN].copy_from_slice(&key);
        entry[KEY_LEN] = 0x80;
        old.entry(r.supplier.as_bytes().to_vec())
            .or_default()
            .insert(entry, true);
    }
    let mut batch = WriteBatch::new();
    figures::LISTS
        .stage(&store, &mut batch, &old)
        .expect("stage");
    batch
        .put(&schema::AGGREGATES, BUILT.as_bytes(), &PER_PARTY)
        .expect("put");
    store.commit(batch).expect("commit");
    let per_facet = |store: &Store| {
        figures::LISTS
            .ids_prefixed(store, b"b", usize::MAX)
            .expect("read")
            .expect("all")
            .len()
    };
    assert_eq!(per_facet(&store), 0);
    assert!(store.count(figures::LISTS.table()).expect("count") > 0);

    assert!(ensure_built(&store).expect("lists rebuilt"));
    assert!(per_facet(&store) > reports.len());
    figures::tests::check_held(&store, &reports);
}
