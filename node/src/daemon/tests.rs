//! How a start opens, checks and compacts its database.
//!
//! The growth these tests make is six times the values (each written three times; the
//! engine's files of six times the values, compacted, are about 3.6 times the first
//! ones', measured), not the same values rewritten: the engine truncates its log on its
//! own threads once the segments at its end hold nothing live, so a log grown by rewrites
//! alone may be back near its live size at the next measure (a test suite's run found
//! such a log not due at all on a reopening, most likely so). So they check that a
//! compaction was made, and what it recorded, not how far the size on disk fell.

use super::*;
use crate::store::compact;

/// A start compacts a database whose log outgrew what the last compaction left, and only
/// then.
#[test]
fn a_start_compacts_a_database_whose_log_outgrew_its_last_compaction() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DataDir::new(tmp.path());
    crate::store::meta_tests::rewritten(&dir.db_path(), 1_000, 0);
    // Never measured, and small: measured, not compacted.
    let first = open_store_past(&dir, true, false, (2, u64::MAX / 2), &compact).expect("open");
    let measured = first.growth_past(2, 0).expect("growth");
    assert!(
        !measured.compaction_due && measured.bytes_after_compaction > 0,
        "{measured:?}"
    );
    drop(first);
    crate::store::meta_tests::rewritten(&dir.db_path(), 6_000, 2);
    // Not past the least growth that pays: the start leaves the log as it is.
    let kept = open_store_past(&dir, true, false, (2, u64::MAX / 2), &compact).expect("open");
    let grown = kept.growth_past(2, 0).expect("growth");
    assert!(grown.compaction_due, "{grown:?} (was {measured:?})");
    drop(kept);
    let compacted = open_store_past(&dir, true, false, (2, 0), &compact).expect("open");
    let after = compacted.growth_past(2, 0).expect("growth");
    assert!(!after.compaction_due, "{after:?}");
    // The size the compaction left recorded (six times the values first measured).
    assert!(
        after.bytes_after_compaction > 2 * measured.bytes_after_compaction,
        "{after:?} against {measured:?}"
    );
}

/// A database an earlier release compacted is compacted once more before a start, for its
/// pages (the control: as this release measured it, nothing is due), and not again.
#[test]
fn an_earlier_release_s_compaction_is_made_again_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DataDir::new(tmp.path());
    crate::store::meta_tests::rewritten(&dir.db_path(), 1_000, 0);
    let none = compact_if_due_past(&dir, (2, u64::MAX / 2), &compact).expect("if due");
    assert_eq!(none, None);
    assert_eq!(
        compact_if_due_past(&dir, (2, 0), &compact).expect("if due"),
        None
    );
    crate::store::meta_tests::as_an_earlier_release_compacted(&dir.db_path());
    let done = compact_if_due_past(&dir, (2, 0), &compact).expect("compacts");
    let Some((compaction::Reason::PagesNotFilled { .. }, compaction::Outcome::Compacted(_))) = done
    else {
        panic!("{done:?}");
    };
    assert_eq!(
        compact_if_due_past(&dir, (2, 0), &compact).expect("again"),
        None
    );
}

/// A compaction for size that fails leaves the database as it was and the node starts;
/// one for erased data that fails stops the start.
#[test]
fn a_failed_compaction_for_size_opens_the_database_as_it_is() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DataDir::new(tmp.path());
    crate::store::meta_tests::rewritten(&dir.db_path(), 1_000, 0);
    drop(open_store_past(&dir, true, false, (2, u64::MAX / 2), &compact).expect("open"));
    crate::store::meta_tests::rewritten(&dir.db_path(), 6_000, 2);
    let failing = |_: &std::path::Path| -> Result<crate::store::Compaction, StoreError> {
        Err(StoreError::Engine("no space left on device".into()))
    };
    let opened = open_store_past(&dir, true, false, (2, 0), &failing).expect("opens as it is");
    assert!(opened.growth_past(2, 0).expect("growth").compaction_due);
    assert!(opened.count(&schema::CONTACTS).is_ok());
    // The same failure when erased data waits to leave the disk.
    opened.mark_compaction_due().expect("mark");
    drop(opened);
    let refused = open_store_past(&dir, true, false, (2, 0), &failing)
        .err()
        .expect("the start stops");
    assert!(
        format!("{refused:#}").contains("no space left"),
        "{refused:#}"
    );
}

/// `ilm db compact --if-due` compacts what a start would, and says so; the start after
/// it (`tried`) finds nothing left to compact, and does not try again a compaction for
/// size that failed there, while erased data still stops it.
#[test]
fn a_compaction_made_before_the_start_is_not_made_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DataDir::new(tmp.path());
    crate::store::meta_tests::rewritten(&dir.db_path(), 1_000, 0);
    // Never measured and small: nothing due (its size is recorded).
    let none = compact_if_due_past(&dir, (2, u64::MAX / 2), &compact).expect("if due");
    assert_eq!(none, None);
    crate::store::meta_tests::rewritten(&dir.db_path(), 6_000, 2);
    let failing = |_: &std::path::Path| -> Result<crate::store::Compaction, StoreError> {
        Err(StoreError::Engine("no space left on device".into()))
    };
    let waits = compact_if_due_past(&dir, (2, 0), &failing).expect("waits");
    assert!(
        matches!(
            waits,
            Some((compaction::Reason::Outgrown { .. }, compaction::Outcome::Waits(ref why)))
                if why.contains("no space left")
        ),
        "{waits:?}"
    );
    // The start after it leaves the log as it is: the compaction it would make is the
    // one that just failed (positive control: not tried, it makes it).
    let panicking = |_: &std::path::Path| -> Result<crate::store::Compaction, StoreError> {
        panic!("the start compacted for size again")
    };
    let opened = open_store_past(&dir, true, true, (2, 0), &panicking).expect("opens");
    assert!(opened.growth_past(2, 0).expect("growth").compaction_due);
    drop(opened);
    let done = compact_if_due_past(&dir, (2, 0), &compact).expect("compacts");
    let Some((compaction::Reason::Outgrown { .. }, compaction::Outcome::Compacted(_))) = done
    else {
        panic!("{done:?}");
    };
    assert_eq!(
        compact_if_due_past(&dir, (2, 0), &compact).expect("again"),
        None
    );
    // Erased data: a compaction that fails before the start is an error, and the start
    // makes it whether tried or not.
    let store = open_db(&dir).expect("open");
    store.mark_compaction_due().expect("mark");
    drop(store);
    let refused = compact_if_due_past(&dir, (2, 0), &failing).expect_err("refused");
    assert!(
        format!("{refused:#}").contains("no space left"),
        "{refused:#}"
    );
    let opened = open_store_past(&dir, true, true, (2, 0), &compact).expect("compacts");
    assert!(!opened.compaction_due().expect("flag"));
}
