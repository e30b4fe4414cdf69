//! Opening the engine: its settings (a bounded page cache), the wait for a lock this process
//! itself let go of a moment ago, the lock a compaction holds, and what each table holds.

use super::{Result, StoreError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Databases this process closed, and when: sled's background threads may keep the file lock
/// for a moment after the last handle is dropped, so reopening one of these right away waits
/// for them instead of reporting another process. A database this process never had open
/// answers `Locked` at once (the CLI relies on that to find its daemon).
pub(super) static CLOSED_HERE: std::sync::Mutex<Vec<(std::path::PathBuf, std::time::Instant)>> =
    std::sync::Mutex::new(Vec::new());

/// How long after closing a database this process waits for its own lock to go.
const OWN_LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The engine's page cache, in bytes. sled's default (1 GiB) lets a node with many cases
/// grow past a gigabyte; reads beyond this come from the operating system's file cache.
/// sled 0.34 counts an access only once a shard's queue of 64 fills (256 shards), so up to
/// about 16,000 pages read once stay cached beyond this (tens of MB; see BENCHMARKS.md).
pub const CACHE_BYTES: u64 = 16 << 20;

/// The lock a compaction of the database at `path` holds from its start until the copy has
/// taken the original's place (a file beside it). An opening takes it for a moment, so that
/// no process opens the database while it is out of place: sled would make a new, empty one
/// there, and the next recovery would then remove the original as the older of two.
pub(super) struct CompactionLock {
    _file: std::fs::File,
}

/// Takes the compaction lock of the database at `path`; `Locked` while another process
/// holds it. None when its file cannot be made (a read-only data directory, where no
/// compaction can run either): the engine's own opening then says what is wrong.
pub(super) fn compaction_lock(path: &Path) -> Result<Option<CompactionLock>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    let file = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path.with_file_name(format!("{name}.compaction-lock")))
    {
        Ok(f) => f,
        Err(_) => return Ok(None),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(CompactionLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Engine(format!(
            "lock {} for its compaction: {e}",
            path.display()
        ))),
    }
}

/// Opens (or creates) the database at `path` with the node's settings, unless a
/// compaction of it is under way in another process (`Locked`).
pub(super) fn open_db(path: &Path) -> Result<sled::Db> {
    let _compaction = compaction_lock(path)?;
    open_engine(path)
}

/// [`open_db`] without the compaction lock: for the compaction itself, which holds it.
pub(super) fn open_engine(path: &Path) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(StoreError::from)
        {
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
    let db = open_db(path)?;
    let mut tables: std::collections::BTreeMap<u8, (u64, u64)> = Default::default();
    for kv in db.open_tree(super::DATA)?.iter() {
        let (k, v) = kv?;
        let t = tables.entry(k.first().copied().unwrap_or(0)).or_default();
        t.0 += 1;
        t.1 += (k.len() + v.len()) as u64;
    }
    Ok(tables)
}

/// Notes that this process let go of the database at `path` now.
pub(super) fn closed(path: &Path) {
    let mut closed = CLOSED_HERE.lock().unwrap_or_else(|p| p.into_inner());
    closed.retain(|(p, at)| at.elapsed() < OWN_LOCK_GRACE && p != path);
    closed.push((path.to_path_buf(), std::time::Instant::now()));
}
