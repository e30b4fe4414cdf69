//! Opening the engine: its settings (a bounded page cache), the wait for a lock this process
//! itself let go of a moment ago, and what each table holds.

use super::{Result, StoreError};
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
pub const CACHE_BYTES: u64 = 16 << 20;

/// Opens (or creates) the database at `path` with the node's settings.
pub(super) fn open_db(path: &Path) -> Result<sled::Db> {
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
