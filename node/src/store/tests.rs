//! The store's own tests: reads stay in their table, records read as their type now or
//! before, failed commits leave nothing, snapshots, locking and health.

use super::*;

const VALUES: Table<String> = Table::new(b'x', "values");
const MARKERS: Table<String> = Table::new(b'y', "markers");

/// Reading on from an id stops at the end of the table, even where the next table's
/// first id starts with the same bytes.
#[test]
fn reads_from_an_id_stay_in_their_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open_unversioned(&dir.path().join("db")).expect("create");
    let mut batch = WriteBatch::new();
    for id in [&b"w:ab1"[..], b"w:ab2", b"w:ac"] {
        batch.put(&VALUES, id, &String::new()).expect("put");
    }
    batch.put(&MARKERS, b"w:ab9", &String::new()).expect("put");
    s.commit(batch).expect("commit");
    let ids = |from: &[u8], n| s.ids_from(&VALUES, b"w:ab", from, n).expect("read");
    assert_eq!(ids(b"w:ab", 10), vec![b"w:ab1".to_vec(), b"w:ab2".to_vec()]);
    assert_eq!(ids(b"w:ab2", 10), vec![b"w:ab2".to_vec()]);
    assert_eq!(ids(b"w:ab", 1), vec![b"w:ab1".to_vec()]);
    assert_eq!(ids(b"w:ab3", 10), Vec::<Vec<u8>>::new());
    // Past the table's last id: the marker table's id starts with the prefix too.
    assert_eq!(
        s.ids_from(&VALUES, b"w:ab", b"w:ad", 10).expect("read"),
        Vec::<Vec<u8>>::new()
    );
    assert_eq!(
        s.first_id_from(&VALUES, b"w:ab", b"w:ad").expect("read"),
        None
    );
    // Control: read from the marker table, the same id is there.
    assert_eq!(
        s.first_id_from(&MARKERS, b"w:ab", b"w:").expect("read"),
        Some(b"w:ab9".to_vec())
    );
}

/// A record read as either of two types says which one it is, and reading the one type
/// does not take the other for damage; a record of neither is.
#[test]
fn a_record_reads_as_its_type_now_or_before() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Now {
        value: String,
        extra: u32,
    }
    // One table as its records were before and after their type changed, and a third.
    const NOW: Table<Now> = Table::new(b'x', "values");
    const BEFORE: Table<String> = Table::new(b'x', "values");
    const OTHER: Table<u64> = Table::new(b'x', "values");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open_unversioned(&dir.path().join("db")).expect("create");
    let now = Now {
        value: "b".into(),
        extra: 2,
    };
    let mut batch = WriteBatch::new();
    batch.put(&NOW, b"now", &now).expect("put");
    batch.put(&BEFORE, b"old", &"a".to_string()).expect("put");
    batch.put(&OTHER, b"neither", &7u64).expect("put");
    s.commit(batch).expect("commit");
    let read = |id: &[u8]| s.get_either::<Now, String>(&NOW, id);
    assert_eq!(read(b"now").expect("read"), Some(Ok(now)));
    assert_eq!(read(b"old").expect("read"), Some(Err("a".to_string())));
    assert_eq!(read(b"absent").expect("read"), None);
    assert!(s.health().healthy(), "the type before is not damage");
    assert!(matches!(read(b"neither"), Err(StoreError::Corrupt(_))));
    assert!(!s.health().healthy(), "a record of neither type is damage");
}

/// Records are written binary (byte strings raw), and those an earlier release wrote as
/// JSON still read, also in the start-up check; a damaged record of either kind is refused.
#[test]
fn records_are_written_binary_and_json_ones_still_read() {
    const RECORDS: Table<SignedRecord> = Table::new(b'z', "records");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open_unversioned(&dir.path().join("db")).expect("create");
    let keys = ilm_protocol::OrgKeys::from_secret_bytes([3; 32], [4; 32]);
    let rec = SignedRecord::sign(
        &ilm_protocol::NetworkGenesis {
            name: "Encoding".into(),
            stewards: vec![keys.org_id()],
            created_at: ilm_protocol::Timestamp(1_700_000_000),
        },
        &keys,
    )
    .expect("sign");
    let mut batch = WriteBatch::new();
    batch.put(&RECORDS, b"new", &rec).expect("put");
    s.commit(batch).expect("commit");
    let json = serde_json::to_vec(&rec).expect("json");
    let h = s.h().expect("open");
    h.data
        .insert(RECORDS.key(b"old"), json.clone())
        .expect("insert");
    let binary = h.data.get(RECORDS.key(b"new")).expect("get").expect("held");
    assert_eq!(binary.first(), Some(&codec::BINARY));
    assert!(
        binary.len() * 3 < json.len() * 2,
        "binary {} bytes, JSON {} bytes",
        binary.len(),
        json.len()
    );
    assert_eq!(s.get(&RECORDS, b"new").expect("read"), Some(rec.clone()));
    assert_eq!(s.get(&RECORDS, b"old").expect("read"), Some(rec.clone()));
    assert!(s.check_all().is_ok());
    // A truncated record of either encoding is damage, found by the check.
    for (id, bytes) in [(b"new", binary.to_vec()), (b"old", json)] {
        h.data
            .insert(RECORDS.key(id), &bytes[..bytes.len() - 3])
            .expect("insert");
        assert!(matches!(s.get(&RECORDS, id), Err(StoreError::Corrupt(_))));
        assert!(s.check_all().is_err());
        h.data.insert(RECORDS.key(id), bytes).expect("insert");
    }
}

#[test]
fn a_commit_whose_flush_fails_leaves_nothing_visible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open_unversioned(&dir.path().join("db")).expect("create");
    let id = b"message-7";
    let mut first = WriteBatch::new();
    first
        .put(&VALUES, b"kept", &"old value".into())
        .expect("put");
    s.commit(first).expect("commit");
    let mut batch = WriteBatch::new();
    batch.put(&MARKERS, id, &"marker".into()).expect("mark");
    batch
        .put(&VALUES, b"kept", &"new value".into())
        .expect("put");
    batch
        .put(&VALUES, b"kept", &"newer value".into())
        .expect("put");
    s.inject_flush_failures(1);
    assert!(s.commit(batch).is_err());
    assert!(
        !s.contains(&MARKERS, id).expect("read"),
        "marker visible after a failed flush"
    );
    assert_eq!(
        s.get(&VALUES, b"kept").expect("read"),
        Some("old value".into())
    );
    // The same batch commits once flushes work again.
    let mut again = WriteBatch::new();
    again.put(&MARKERS, id, &"marker".into()).expect("mark");
    s.commit(again).expect("commit");
    assert!(s.contains(&MARKERS, id).expect("read"));
}

/// A database imported from a snapshot does not take what the original recorded of its own
/// files (its size after compaction, how its pages were laid out): its first start
/// measures or compacts its own (the control: the original has both, and the import
/// keeps its other records).
#[test]
fn an_import_leaves_out_what_the_original_recorded_of_its_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let original = Store::open_unversioned(&tmp.path().join("a")).expect("open");
    let mut batch = WriteBatch::new();
    batch.put(&VALUES, b"k", &"kept".to_string()).expect("put");
    original.commit(batch).expect("commit");
    let measured = original.growth_past(2, u64::MAX / 2).expect("growth");
    assert!(measured.bytes_after_compaction > 0 && measured.pages_filled);
    original.mark_compaction_due().expect("mark");
    let mut import = Import::create(&tmp.path().join("b")).expect("create");
    let taken = original
        .snapshot(|item| {
            import
                .add(item)
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .expect("snapshot");
    let held = import.finish().expect("finish");
    assert_eq!(held, taken - 3, "{taken} records taken, {held} held");
    let restored = Store::open_unversioned(&tmp.path().join("b")).expect("open");
    let growth = restored.growth().expect("growth");
    assert!(
        growth.bytes_after_compaction == 0 && !growth.pages_filled,
        "{growth:?}"
    );
    assert!(!restored.compaction_due().expect("read"));
    assert_eq!(
        restored.get(&VALUES, b"k").expect("read"),
        Some("kept".to_string())
    );
}

#[test]
fn a_snapshot_sees_each_batch_whole_while_writes_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open_unversioned(&dir.path().join("db")).expect("create");
    let keys: Vec<String> = (0..64).map(|i| format!("key-{i:02}")).collect();
    let write = |round: u32| {
        let mut batch = WriteBatch::new();
        for k in &keys {
            batch
                .put(&VALUES, k.as_bytes(), &round.to_string())
                .expect("put");
        }
        s.commit(batch).expect("commit");
    };
    write(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Stops the writer however the checks end (a failed one must not hang the test).
    struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut round = 1;
            while !stop.load(Ordering::Relaxed) {
                write(round);
                round += 1;
            }
        });
        let _stop = StopOnDrop(&stop);
        let mut rounds_seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let mut values = std::collections::BTreeSet::new();
            s.snapshot(|item| {
                if let SnapshotItem::Record { key, value } = item
                    && key.first() == Some(&b'x')
                {
                    values.insert(value.to_vec());
                }
                Ok(())
            })
            .expect("snapshot");
            assert_eq!(values.len(), 1, "a snapshot saw two rounds: {values:?}");
            rounds_seen.extend(values);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // The writes did go on between snapshots (else the check above proves nothing).
        assert!(rounds_seen.len() > 1, "writes never ran: {rounds_seen:?}");
    });
}

#[test]
fn a_second_opener_gets_a_locked_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let _first = Store::open_unversioned(&path).expect("create");
    assert!(matches!(
        Store::open_unversioned(&path),
        Err(StoreError::Locked)
    ));
}

/// Damage is found at start by the whole-store check and, at run time, by the first read
/// that meets it; it makes the store unhealthy (a positive control first: a sound store
/// passes). A failing flush marks writes failing until one succeeds.
#[test]
fn damage_and_write_failures_make_the_store_unhealthy() {
    const T: Table<String> = Table::new(b'x', "test");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_unversioned(&dir.path().join("db")).expect("open");
    let mut batch = WriteBatch::new();
    batch.put(&T, b"a", &"fine".to_string()).expect("put");
    store.commit(batch).expect("commit");
    assert_eq!(store.check_all().expect("sound store"), 1);
    assert!(store.health().healthy());

    store
        .h()
        .expect("handles")
        .data
        .insert(T.key(b"b"), b"{not json".to_vec())
        .expect("raw");
    let err = store.check_all().expect_err("damage found");
    assert!(err.to_string().contains("does not decode"), "{err}");
    let damaged = store.health().damaged.expect("damaged");
    assert!(
        damaged.contains(&dir.path().display().to_string()),
        "{damaged}"
    );
    assert!(store.scan(&T, &[]).is_err());
    assert_eq!(store.count(&T).expect("keys still count"), 2);

    let fresh = tempfile::tempdir().expect("tempdir");
    let store = Store::open_unversioned(&fresh.path().join("db")).expect("open");
    store.inject_flush_failures(1);
    let mut batch = WriteBatch::new();
    batch.put(&T, b"a", &"lost".to_string()).expect("put");
    assert!(store.commit(batch).is_err());
    assert!(store.health().write_failing.is_some());
    assert_eq!(
        store.get(&T, b"a").expect("get"),
        None,
        "nothing acknowledged"
    );
    let mut batch = WriteBatch::new();
    batch.put(&T, b"a", &"kept".to_string()).expect("put");
    store.commit(batch).expect("commit after the fault");
    assert!(store.health().healthy());
}

/// `try_for_each` gives each record with its id in id order, and stops at the first error
/// its caller returns (the store's errors are tested with the damaged store above).
#[test]
fn try_for_each_streams_records_with_their_ids_and_stops_at_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open_unversioned(&dir.path().join("db")).expect("create");
    let mut batch = WriteBatch::new();
    for k in ["c", "a", "b"] {
        batch
            .put(&VALUES, k.as_bytes(), &k.to_uppercase())
            .expect("put");
    }
    s.commit(batch).expect("commit");
    let mut seen = Vec::new();
    s.try_for_each(&VALUES, |id, v| {
        seen.push((String::from_utf8_lossy(&id).into_owned(), v));
        Ok(())
    })
    .expect("read");
    assert_eq!(
        seen,
        [("a", "A"), ("b", "B"), ("c", "C")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let mut read = 0;
    let stopped = s.try_for_each(&VALUES, |_, _| {
        read += 1;
        if read == 2 {
            return Err(StoreError::Corrupt("stop here".into()));
        }
        Ok(())
    });
    assert!(matches!(stopped, Err(StoreError::Corrupt(m)) if m == "stop here"));
    assert_eq!(read, 2);
}
