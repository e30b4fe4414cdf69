//! What the storage engine keeps in memory, counted by this test's own allocator: for each
//! page of a database it opens, and after a read of every record. The engine holds an
//! entry per page from its opening to its close (its page table), and at a million cases
//! that is much of an idle node; the engine as published took room for four locations in
//! every entry where one is used. Its cache counts the pages read only once a queue of
//! 64 of them fills; the node's queues hold 4, so that what a read of everything (a check,
//! a compaction, a restore) read is given back as it goes (`vendor/sled/PATCHED.md`). The counts
//! are of bytes asked of the allocator: nothing here is timed.

use ilm_node::store::{Reads, Table, WriteBatch};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

/// The system's allocator, counting the bytes it holds for the program.
struct Counting;

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicI64 = AtomicI64::new(0);

/// The most [`LIVE`] has been since a measure reset it.
static PEAK: AtomicI64 = AtomicI64::new(0);

fn counted(bytes: i64) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn size(layout: Layout) -> i64 {
    i64::try_from(layout.size()).unwrap_or(i64::MAX)
}

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's promises about `layout` are the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            counted(size(layout));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            counted(size(layout));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        counted(-size(layout));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc` and `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let new = i64::try_from(new_size).unwrap_or(i64::MAX);
            counted(new - size(layout));
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A table of this test's own (no node table uses its prefix).
const ROWS: Table<Vec<u8>> = Table::new(b'~', "rows of the memory test");

/// A node database at `path` holding `n` records of 100 bytes, compacted as `ilm db
/// compact` leaves it (16 records a leaf page).
fn database(path: &std::path::Path, n: u32) {
    let store = ilm_node::schema::open(path).expect("open a new database");
    let mut batch = WriteBatch::new();
    for i in 0..n {
        // Spread over the key space, as the node's random ids are.
        let id = i.wrapping_mul(0x9e37_79b1).to_be_bytes();
        batch.put(&ROWS, &id, &vec![7u8; 100]).expect("stage a row");
        if batch.len() == 4_000 {
            store
                .commit(std::mem::take(&mut batch))
                .expect("write rows");
        }
    }
    store.commit(batch).expect("write rows");
    drop(store);
    ilm_node::store::compact(path).expect("compact");
}

/// Set in a child process of this test binary: what it measures, a tab, and the database.
const CHILD_MEASURES: &str = "ILM_TEST_ENGINE_MEMORY";

/// What a child process measures, each in bytes asked of the allocator, and a count that
/// shows the work was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// Kept by an opening; the rows of [`ROWS`] it reads back.
    Opening,
    /// Kept after every record was read once by the engine as published (its cache of
    /// [`Reads::Whole`]'s size, counting reads 64 at a time): the control.
    Published,
    /// Kept after every record was read once (`Store::check_all`, which `ilm db check`
    /// runs) by an opening for these reads; the records read.
    WholeRead(Reads),
    /// The peak of `ilm db check`'s work (`daemon::check_database`) over the data directory
    /// at the path; the records read.
    Check,
    /// The peak of a compaction of the database at the path; the keys copied.
    Compaction,
    /// The peak of a restore's import (`store::Import`, which `ilm restore` fills) of a
    /// snapshot of the database at the path, into a new one beside it; the records written.
    Restore,
}

impl Measure {
    const ALL: [Measure; 7] = [
        Measure::Opening,
        Measure::Published,
        Measure::WholeRead(Reads::Views),
        Measure::WholeRead(Reads::Whole),
        Measure::Check,
        Measure::Compaction,
        Measure::Restore,
    ];

    fn name(self) -> String {
        format!("{self:?}")
    }
}

/// In a process of its own (this test binary, running only the test `test`), `measure`
/// of the database (or data directory) at `path`: what it measured, and its count. A
/// process of its own: in this one, the engines the databases were written with leave
/// memory behind that is freed later (the engine frees some of it when some later thread
/// passes by), which would be counted against the measure.
fn in_child(test: &str, measure: Measure, path: &std::path::Path) -> (i64, i64) {
    let out = std::process::Command::new(std::env::current_exe().expect("this test's binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(
            CHILD_MEASURES,
            format!("{}\t{}", measure.name(), path.display()),
        )
        .output()
        .expect("run the measure in a process of its own");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("measured: ").map(|(_, m)| m))
        .unwrap_or_else(|| panic!("no measure in {stdout}"));
    let (a, b) = line.split_once(", ").expect("two numbers");
    (a.parse().expect("a number"), b.parse().expect("a number"))
}

/// In a child process: makes the measure its parent asked for, says it, and answers true.
fn measured_as_child() -> bool {
    let Some(asked) = std::env::var_os(CHILD_MEASURES) else {
        return false;
    };
    let asked = asked.to_string_lossy().into_owned();
    let (name, path) = asked.split_once('\t').expect("a measure and a path");
    let measure = Measure::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .expect("a known measure");
    let path = std::path::Path::new(path);
    let (bytes, count) = match measure {
        Measure::Opening => {
            let before = LIVE.load(Ordering::SeqCst);
            let store = opened(path, Reads::Views);
            let kept = LIVE.load(Ordering::SeqCst) - before;
            let rows = store.scan::<Vec<u8>>(&ROWS, &[]).expect("read the rows");
            (kept, rows.len() as i64)
        }
        Measure::Published => {
            drop(opened(path, Reads::Whole));
            // Opened without the node, so without its wait for the lock its own engine
            // may hold a moment after closing.
            let db = once_unlocked(
                || {
                    sled::Config::new()
                        .path(path)
                        .cache_capacity(Reads::Whole.cache_bytes())
                        .open()
                },
                |e| matches!(e, sled::Error::Io(io) if io.to_string().contains("lock")),
            );
            let before = LIVE.load(Ordering::SeqCst);
            let mut records = 0;
            for name in db.tree_names() {
                for kv in db.open_tree(name).expect("a tree").iter() {
                    kv.expect("a record");
                    records += 1;
                }
            }
            (LIVE.load(Ordering::SeqCst) - before, records)
        }
        Measure::WholeRead(reads) => {
            let store = opened(path, reads);
            let before = LIVE.load(Ordering::SeqCst);
            let records = store.check_all().expect("read every record");
            (LIVE.load(Ordering::SeqCst) - before, records as i64)
        }
        Measure::Check => {
            let dir = ilm_node::datadir::DataDir::new(path);
            drop(opened(&dir.db_path(), Reads::Whole));
            let records = at_peak(|| ilm_node::daemon::check_database(&dir).expect("check"));
            (records.0, records.1 as i64)
        }
        Measure::Compaction => {
            drop(opened(path, Reads::Whole));
            let done = at_peak(|| ilm_node::store::compact(path).expect("compact"));
            (done.0, done.1.keys as i64)
        }
        Measure::Restore => {
            let source = opened(path, Reads::Whole);
            let done = at_peak(|| {
                let mut import = ilm_node::store::Import::create(&path.with_file_name("restored"))
                    .expect("a new database");
                source
                    .snapshot(|item| import.add(item).map_err(std::io::Error::other))
                    .expect("copy every record");
                import.finish().expect("finish the restore")
            });
            (done.0, done.1 as i64)
        }
    };
    println!("measured: {bytes}, {count}");
    true
}

/// What `work` returns, and the most it held at once beyond what was held before it.
fn at_peak<T>(work: impl FnOnce() -> T) -> (i64, T) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let done = work();
    (PEAK.load(Ordering::SeqCst) - before, done)
}

/// The database at `path`, opened for `reads` in a child process. The engine the parent
/// wrote it with may hold its lock a moment after its last handle is gone (a process
/// waits for its own, not for another's), so a lock still held is waited for, a few
/// seconds at most. Once this process has opened and closed it, its later openings wait
/// for their own lock by themselves.
fn opened(path: &std::path::Path, reads: Reads) -> ilm_node::store::Store {
    once_unlocked(
        || ilm_node::schema::open_for(path, reads),
        |e| matches!(e, ilm_node::store::StoreError::Locked),
    )
}

/// What `open` opened, trying again while it fails `locked`, a few seconds at most.
fn once_unlocked<T, E: std::fmt::Debug>(
    open: impl Fn() -> Result<T, E>,
    locked: impl Fn(&E) -> bool,
) -> T {
    for _ in 0..100 {
        match open() {
            Err(e) if locked(&e) => std::thread::sleep(std::time::Duration::from_millis(50)),
            other => return other.expect("open"),
        }
    }
    panic!("the database stayed locked");
}

/// The test's name, for the child process to run it alone.
const TEST: &str = "the_engine_keeps_a_small_entry_for_each_page_it_opens";

#[test]
fn the_engine_keeps_a_small_entry_for_each_page_it_opens() {
    if measured_as_child() {
        return;
    }
    // The control: the counter sees what the program holds.
    let before = LIVE.load(Ordering::SeqCst);
    let held = std::hint::black_box(vec![1u8; 1 << 20]);
    assert!(LIVE.load(Ordering::SeqCst) - before >= 1 << 20);
    drop(held);

    let tmp = tempfile::tempdir().expect("tempdir");
    let n: u32 = 64_000;
    let (small, large) = (tmp.path().join("small"), tmp.path().join("large"));
    database(&small, 0);
    database(&large, n);
    // The same opening of a database with no rows and of one with `n`: what differs is the
    // pages the rows fill, about 4,000 leaves.
    let (kept_small, rows_small) = in_child(TEST, Measure::Opening, &small);
    let (kept_large, rows_large) = in_child(TEST, Measure::Opening, &large);
    assert_eq!((rows_small, rows_large), (0, i64::from(n)));
    let per_page = (kept_large - kept_small) as f64 / f64::from(n / 16);
    // The page's entry (32 bytes), one location (48) and the page table's slot and the
    // engine's list of the pages in each segment of its log (8 each): about 100 bytes.
    // The engine as published kept about 250 (247 measured): the vector of locations took
    // room for four.
    assert!(
        (50.0..150.0).contains(&per_page),
        "{per_page:.0} bytes kept for each page ({kept_small} for the database with no rows, {kept_large} with {n})"
    );
}

/// A node database at `path` holding `n` records of 1,000 bytes, as written (not compacted).
fn large_records(path: &std::path::Path, n: u32) {
    let store = ilm_node::schema::open(path).expect("open a new database");
    let mut batch = WriteBatch::new();
    for i in 0..n {
        let id = i.wrapping_mul(0x9e37_79b1).to_be_bytes();
        let value: Vec<u8> = (0..1_000u32)
            .map(|j| (i ^ j.wrapping_mul(31)) as u8)
            .collect();
        batch.put(&ROWS, &id, &value).expect("stage a row");
        if batch.len() == 1_000 {
            store
                .commit(std::mem::take(&mut batch))
                .expect("write rows");
        }
    }
    store.commit(batch).expect("write rows");
}

/// This test's name, for the child processes to run it alone.
const WHOLE: &str = "a_read_of_every_record_gives_back_what_it_read";

#[test]
fn a_read_of_every_record_gives_back_what_it_read() {
    if measured_as_child() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (n, mib) = (80_000u32, 1i64 << 20);
    let db = tmp.path().join("db");
    large_records(&db, n);
    let (cache, views_cache) = (
        Reads::Whole.cache_bytes() as i64,
        Reads::Views.cache_bytes() as i64,
    );
    let (published, read_published) = in_child(WHOLE, Measure::Published, &db);
    let (views, read) = in_child(WHOLE, Measure::WholeRead(Reads::Views), &db);
    let (whole, read_whole) = in_child(WHOLE, Measure::WholeRead(Reads::Whole), &db);
    let (check, checked) = in_child(WHOLE, Measure::Check, tmp.path());
    let (restore, restored) = in_child(WHOLE, Measure::Restore, &db);
    let (compaction, copied) = in_child(WHOLE, Measure::Compaction, &db);
    println!(
        "kept after a whole read, as published {} MiB, for views {} MiB, whole {} MiB; peak of the check {} MiB, of a restore {} MiB, of the compaction {} MiB; caches {} and {} MiB",
        published / mib,
        views / mib,
        whole / mib,
        check / mib,
        restore / mib,
        compaction / mib,
        cache / mib,
        views_cache / mib
    );
    assert!(read >= i64::from(n) && read == read_whole && read == checked);
    assert_eq!(read_published, read);
    assert_eq!((copied, restored), (read, read));
    // The control: as published, the store's pages stay (each shard of the cache has seen
    // too few to count them), more than any bound below.
    assert!(published > 6 * cache, "{published} bytes kept as published");
    // The node's: its cache and the few pages each shard's queue holds (about 1,000 of
    // about 14 KiB here); they stay so with more records (30 and 53 MiB at 128,000).
    assert!(whole < 3 * cache, "{whole} bytes kept by a whole read");
    assert!(
        views < views_cache + 2 * cache,
        "{views} bytes kept by a read for views"
    );
    // `ilm db check` (and a compaction, two engines) read whole, whatever the store's size.
    assert!(check < 3 * cache, "{check} bytes at the check's peak");
    assert!(
        compaction < 6 * cache,
        "{compaction} bytes at the compaction's peak"
    );
    // A restore writes one database, here from a snapshot of another opened whole in the
    // same process (`ilm restore` reads it from a file).
    assert!(restore < 4 * cache, "{restore} bytes at a restore's peak");
}
