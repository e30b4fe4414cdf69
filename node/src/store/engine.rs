//! Opening the engine: its settings (a bounded page cache), the wait for a lock this process
//! itself let go of a moment ago, the lock a compaction holds, and what each table holds.

use super::{Result, StoreError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Databases this process closed, and when: sled's background threads may keep the file lock
/// for a moment after the last handle is dropped, so reopening one of these right away waits
/// for them instead of reporting another process. A database this process never had open
/// answers `Locked` at once (the CLI relies on that to find its daemon).
static CLOSED_HERE: std::sync::Mutex<Vec<(std::path::PathBuf, std::time::Instant)>> =
    std::sync::Mutex::new(Vec::new());

/// How long after closing a database this process waits for its own lock to go.
const OWN_LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How many page reads each of the engine's 256 cache shards gathers before it counts them
/// against the cache's size (and evicts). sled's default, 64, holds up to 16,384 pages read
/// uncounted beyond the cache: 100 MB and more after a read of everything at a million
/// cases, and as much again kept by a busy node. With 4 the cache's size is about what it
/// holds (BENCHMARKS.md).
const ACCESS_QUEUE: usize = 4;

/// What an opening of the database is for, which sets the engine's page cache. sled's
/// default (1 GiB) lets a node with many cases grow past a gigabyte; reads beyond the
/// cache come from the operating system's file cache and are decoded again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// A node's views: 48 MiB. A search that reads a few thousand spread-out blocks of a
    /// million cases' lists needs about that much (with 16 MiB its median at a million
    /// cases was two to six times longer).
    Views,
    /// A read of every record in a process of its own (the start's check, a compaction, a
    /// restore): 16 MiB. It reads each page once, so what it read is given back as it
    /// goes and its memory stays near the cache's size whatever the store's.
    Whole,
}

impl Reads {
    /// The engine's page cache for this use, in bytes.
    pub fn cache_bytes(self) -> u64 {
        match self {
            Reads::Views => 48 << 20,
            Reads::Whole => 16 << 20,
        }
    }
}

/// The engine's settings for the database at `path`, opened for `reads`.
pub(super) fn config(path: &Path, reads: Reads) -> sled::Config {
    sled::Config::new()
        .path(path)
        .cache_capacity(reads.cache_bytes())
        .cache_access_queue(ACCESS_QUEUE)
}

/// The lock a compaction of the database at `path` holds from its start until the copy has
/// taken the original's place (a file beside it, [`compaction_lock_path`]). An opening holds
/// it shared for a moment, so that no process opens the database while it is out of place:
/// sled would make a new, empty one there, and the next recovery would then remove the
/// original as the older of two.
pub(super) struct CompactionLock {
    _file: std::fs::File,
}

/// How the compaction lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hold {
    /// By an opening: any number at once, none while a compaction or recovery runs.
    Shared,
    /// By a compaction or a recovery: alone.
    Alone,
}

/// The file whose lock a compaction of the database at `path` holds.
pub fn compaction_lock_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    path.with_file_name(format!("{name}.compaction-lock"))
}

/// Takes the compaction lock of the database at `path`; `Compacting` while another process
/// holds it alone (or, taken alone, while openings hold it for longer than the grace for
/// our own locks). None when its file can be neither made nor read (a read-only data
/// directory without it, where no compaction can run either).
pub(super) fn compaction_lock(path: &Path, hold: Hold) -> Result<Option<CompactionLock>> {
    let at = compaction_lock_path(path);
    let file = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&at)
        // A lock file this user cannot write (left by another user) still locks read-only.
        .or_else(|_| std::fs::File::open(&at))
    {
        Ok(f) => f,
        Err(_) => return Ok(None),
    };
    let started = std::time::Instant::now();
    loop {
        let got = match hold {
            Hold::Shared => file.try_lock_shared(),
            Hold::Alone => file.try_lock(),
        };
        match got {
            Ok(()) => return Ok(Some(CompactionLock { _file: file })),
            // An opening holds it for a moment; a compaction for as long as it runs.
            Err(std::fs::TryLockError::WouldBlock)
                if hold == Hold::Alone && started.elapsed() < OWN_LOCK_GRACE =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Compacting),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Engine(format!(
                    "lock {} for its compaction: {e}",
                    path.display()
                )));
            }
        }
    }
}

/// Opens (or creates) the database at `path` with the node's settings, unless a
/// compaction of it is under way in another process (`Compacting`). What a compaction that
/// crashed left is recovered first (`compact::recover`), so that nothing opens a
/// database while it is out of place.
pub(super) fn open_db(path: &Path, reads: Reads) -> Result<sled::Db> {
    if super::compact::left_over(path) {
        // Under way (its lock refuses this) or left by a crash (recovered now).
        let _alone = compaction_lock(path, Hold::Alone)?;
        super::compact::recover(path)?;
    }
    let _shared = compaction_lock(path, Hold::Shared)?;
    open_engine(path, reads)
}

/// [`open_db`] without the compaction lock: for the compaction itself, which holds it.
pub(super) fn open_engine(path: &Path, reads: Reads) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match config(path, reads).open().map_err(StoreError::from) {
            Err(StoreError::Locked) if closed_here_recently(path) => {
                if started.elapsed() > OWN_LOCK_GRACE {
                    return Err(StoreError::Locked);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn closed_here_recently(path: &Path) -> bool {
    let mut closed = CLOSED_HERE.lock().unwrap_or_else(|p| p.into_inner());
    closed.retain(|(_, at)| at.elapsed() < OWN_LOCK_GRACE);
    closed.iter().any(|(p, _)| p == path)
}

/// Records and bytes (keys and values, as the node writes them) of each table of the
/// database at `path`, by the table's key prefix; the node must be stopped.
pub fn table_sizes(path: &Path) -> Result<std::collections::BTreeMap<u8, (u64, u64)>> {
    let db = open_db(path, Reads::Whole)?;
    let mut tables: std::collections::BTreeMap<u8, (u64, u64)> = Default::default();
    for kv in db.open_tree(super::DATA)?.iter() {
        let (k, v) = kv?;
        let t = tables.entry(k.first().copied().unwrap_or(0)).or_default();
        t.0 += 1;
        t.1 += (k.len() + v.len()) as u64;
    }
    Ok(tables)
}

/// The bytes an unprivileged process may still write beside `path` (on the file system of
/// the directory holding it, where a compaction writes its copy; None when it cannot be
/// asked).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let beside = path.parent().filter(|p| !p.as_os_str().is_empty())?;
    let fs = rustix::fs::statvfs(beside).ok()?;
    Some(fs.f_bavail.saturating_mul(fs.f_frsize))
}

/// Notes that this process let go of the database at `path` now.
pub(super) fn closed(path: &Path) {
    let mut closed = CLOSED_HERE.lock().unwrap_or_else(|p| p.into_inner());
    closed.retain(|(p, at)| at.elapsed() < OWN_LOCK_GRACE && p != path);
    closed.push((path.to_path_buf(), std::time::Instant::now()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine takes queues of 1 to 64 accesses (the node's two among them) and refuses
    /// others with a message naming the setting, creating nothing.
    #[test]
    fn the_engine_takes_queues_of_1_to_64_accesses() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for queue in [1, 4, 64] {
            let path = tmp.path().join(format!("db{queue}"));
            let opened = sled::Config::new()
                .path(&path)
                .cache_access_queue(queue)
                .open();
            assert!(opened.is_ok(), "a queue of {queue}: {opened:?}");
        }
        for queue in [0, 65] {
            let path = tmp.path().join(format!("db{queue}"));
            let refused = sled::Config::new()
                .path(&path)
                .cache_access_queue(queue)
                .open();
            match refused {
                Err(sled::Error::Unsupported(why)) => {
                    assert!(why.contains("cache_access_queue"), "{why}");
                }
                other => panic!("a queue of {queue}: {other:?}"),
            }
            assert!(!path.exists(), "a refused opening made {}", path.display());
        }
        for reads in [Reads::Views, Reads::Whole] {
            let path = tmp.path().join(format!("{reads:?}"));
            config(&path, reads)
                .open()
                .expect("the node's settings open");
        }
    }
}
