//! The node's database. Architecture invariant: only this module knows sled; the rest of the
//! node sees typed methods, so the engine could be swapped.

use ilm_protocol::{OrgId, SignedRecord};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

mod codec;
mod compact;
mod engine;
mod fill;
mod meta;
#[cfg(test)]
pub(crate) use meta::tests as meta_tests;
pub use meta::{GROWTH_FACTOR, Growth, MIN_GROWTH};
mod batch;
mod reads;
mod repack;
mod snapshot;

pub use batch::WriteBatch;

use codec::decode_any;
pub use codec::{Dictionary, records_in};
pub use compact::{Compaction, compact};
use engine::open_db;
pub use engine::{Reads, compaction_lock_path, free_bytes, table_sizes};
use meta::COMPACTION_KEY;
pub use snapshot::{Import, SnapshotItem};

const META: &str = "meta";
const REGISTER: &str = "register";
const REVOCATIONS: &str = "revocations";
/// Everything written together with a received message lives in one tree, so one atomic
/// batch covers an effect and the marker that makes its redelivery a no-op.
const DATA: &str = "data";

/// A typed table of the data tree: records of type `T`, stored as JSON under a one-byte key
/// prefix and an id. The tables themselves are declared in one place, `crate::schema`.
pub struct Table<T> {
    prefix: u8,
    name: &'static str,
    /// The dictionary its records are written compressed against, if any (`codec.rs`).
    dictionary: Option<Dictionary>,
    record: PhantomData<fn() -> T>,
}

impl<T> Table<T> {
    /// A table under key prefix `prefix`.
    pub const fn new(prefix: u8, name: &'static str) -> Table<T> {
        Table {
            prefix,
            name,
            dictionary: None,
            record: PhantomData,
        }
    }

    /// A table under key prefix `prefix` whose records are written compressed against
    /// `dictionary` (records of every encoding read from any table).
    pub const fn compressed(prefix: u8, name: &'static str, dictionary: Dictionary) -> Table<T> {
        Table {
            dictionary: Some(dictionary),
            ..Table::new(prefix, name)
        }
    }

    /// Its key prefix.
    pub const fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Its name, for messages.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    fn key(&self, id: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + id.len());
        k.push(self.prefix);
        k.extend_from_slice(id);
        k
    }
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database.
    #[error(
        "the database is in use by another process (is `ilm run` running for this data directory?)"
    )]
    Locked,
    /// A compaction of the database is under way in another process (or a recovery of
    /// one that a crash stopped).
    #[error(
        "a compaction of the database is under way in another process (`ilm db compact`, or `ilm run` before it starts); wait for it to end and try again"
    )]
    Compacting,
    /// The database was written by a newer version of ilm.
    #[error(
        "the database has schema version {found}, newer than this ilm supports ({supported}); upgrade ilm"
    )]
    NewerSchema {
        /// Version found on disk.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// Stored bytes do not decode.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The engine failed.
    #[error("database error: {0}")]
    Engine(String),
    /// A write could not be made: the disk is full or read-only, or a size limit or quota
    /// was reached. Nothing of it was kept; it works again once the fault is gone.
    #[error("the database cannot write: {0}")]
    WriteFailed(String),
    /// A snapshot's records could not be written out (the database itself is fine).
    #[error("the snapshot could not be written: {0}")]
    Snapshot(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match &e {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                StoreError::Locked
            }
            sled::Error::Io(io) if io.to_string().contains("lock") => StoreError::Locked,
            sled::Error::Io(io) if is_write_fault(io) => StoreError::WriteFailed(io.to_string()),
            _ => StoreError::Engine(e.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// Whether an I/O error says that writes cannot be made now (a fault of the disk's state,
/// not damage of what is stored): no space, a file size limit, a quota, a read-only mount.
fn is_write_fault(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        StorageFull | FileTooLarge | QuotaExceeded | ReadOnlyFilesystem
    ) || matches!(e.raw_os_error(), Some(27 | 28 | 30 | 122))
}

impl Drop for Store {
    fn drop(&mut self) {
        engine::closed(&self.path);
    }
}

/// The engine's handles of one opening of the database.
struct Handles {
    db: sled::Db,
    register: sled::Tree,
    revocations: sled::Tree,
    data: sled::Tree,
}

impl Handles {
    fn open(path: &Path, reads: Reads) -> Result<Handles> {
        let db = open_db(path, reads)?;
        Ok(Handles {
            data: db.open_tree(DATA)?,
            register: db.open_tree(REGISTER)?,
            revocations: db.open_tree(REVOCATIONS)?,
            db,
        })
    }
}

/// Shortest wait between two attempts to reopen a database whose writes failed.
const REOPEN_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// An open node database.
pub struct Store {
    /// Where it lives (to note when this process lets go of it).
    path: std::path::PathBuf,
    /// What it was opened for (a reopen keeps it).
    reads: Reads,
    /// The current opening. sled keeps an I/O error for good once it met one (a full disk
    /// stays "full" after space is freed), so a failed write marks the store `poisoned` and
    /// the next use reopens it: what was flushed is all there, and nothing else was ever
    /// acknowledged.
    handles: std::sync::RwLock<Option<Arc<Handles>>>,
    /// A write failed in the engine: reopen before the next use.
    poisoned: std::sync::atomic::AtomicBool,
    /// When a reopen was last tried.
    last_reopen: std::sync::Mutex<Option<std::time::Instant>>,
    /// Flushes still to fail on purpose (fault injection, see [`Store::inject_flush_failures`]).
    failing_flushes: AtomicU32,
    /// The count of successful flushes at which the next flush fails (injected; MAX: none).
    failing_flush_at: AtomicU64,
    /// Successful flushes, for operators and for tests that a group commit shares one.
    flushes: AtomicU64,
    /// Milliseconds each flush is delayed on purpose (load tests of a slow node).
    flush_delay_ms: AtomicU64,
    /// The first damage a read found (stored bytes that do not read or decode).
    damage: std::sync::Mutex<Option<String>>,
    /// The last write failure (a full disk), cleared by the next flush that succeeds.
    write_failure: std::sync::Mutex<Option<String>>,
    /// Every write holds this shared; a snapshot holds it alone, so that what it copies is
    /// the database as of one moment (sled's iterators are not snapshots).
    gate: std::sync::RwLock<()>,
    /// Per table prefix, how many commits wrote to it (see [`Store::changes`]).
    changes: Box<[AtomicU64]>,
}

/// What the node can say about its database's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreHealth {
    /// Damage a read found; the node should be stopped and its database restored.
    pub damaged: Option<String>,
    /// Writes fail (a full or read-only disk): nothing new is acknowledged until they work.
    pub write_failing: Option<String>,
}

impl StoreHealth {
    /// Whether the database reads and writes.
    pub fn healthy(&self) -> bool {
        self.damaged.is_none() && self.write_failing.is_none()
    }
}

fn decode<T: DeserializeOwned>(table: &Table<T>, bytes: &[u8]) -> Result<T> {
    decode_any(bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", table.name)))
}

impl Store {
    /// [`Store::open_unversioned_for`] a node's views (tests).
    #[cfg(test)]
    pub(crate) fn open_unversioned(path: &Path) -> Result<Store> {
        Self::open_unversioned_for(path, Reads::Views)
    }

    /// Opens (or creates) the database at `path` for `reads`, without looking at its schema
    /// version: nodes open it through `crate::schema::open`, which checks and migrates it.
    pub(crate) fn open_unversioned_for(path: &Path, reads: Reads) -> Result<Store> {
        Ok(Store {
            path: path.to_path_buf(),
            reads,
            handles: std::sync::RwLock::new(Some(Arc::new(Handles::open(path, reads)?))),
            poisoned: std::sync::atomic::AtomicBool::new(false),
            last_reopen: std::sync::Mutex::new(None),
            failing_flushes: AtomicU32::new(0),
            failing_flush_at: AtomicU64::new(u64::MAX),
            flushes: AtomicU64::new(0),
            flush_delay_ms: AtomicU64::new(0),
            damage: std::sync::Mutex::new(None),
            write_failure: std::sync::Mutex::new(None),
            gate: std::sync::RwLock::new(()),
            changes: (0..=u8::MAX).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// The database's health as reads and writes found it.
    pub fn health(&self) -> StoreHealth {
        let get = |m: &std::sync::Mutex<Option<String>>| {
            m.lock().unwrap_or_else(|p| p.into_inner()).clone()
        };
        StoreHealth {
            damaged: get(&self.damage),
            write_failing: get(&self.write_failure),
        }
    }

    /// Held by every write for its duration (see `gate`). While a snapshot holds the gate,
    /// a write called from an async task waits with `block_in_place`, so the runtime moves
    /// its other tasks (networking, the API) to another thread instead of stalling.
    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        match self.gate.try_read() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let wait = || self.gate.read().unwrap_or_else(|p| p.into_inner());
                match tokio::runtime::Handle::try_current() {
                    Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                        tokio::task::block_in_place(wait)
                    }
                    _ => wait(),
                }
            }
        }
    }

    /// The current handles, reopening the database first when a write failed in the engine.
    fn h(&self) -> Result<Arc<Handles>> {
        if self.poisoned.load(Ordering::SeqCst) {
            if let Err(e) = self.reopen() {
                tracing::warn!(path = %self.path.display(), "could not reopen the database yet: {e}");
            }
            if self.poisoned.load(Ordering::SeqCst) {
                // Memory may still hold a batch whose flush failed (its undo is a write, and
                // fails too while the engine refuses writes): nothing is read from it, or a
                // redelivery could be answered `Duplicate` from a write that never reached
                // the disk. Reads work again once the database is reopened.
                let why = self
                    .write_failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone()
                    .unwrap_or_else(|| "a write failed".into());
                return Err(StoreError::WriteFailed(format!(
                    "{why}; the database is reopened once writes work again"
                )));
            }
        }
        self.handles
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Engine("the database is being reopened".into()))
    }

    /// Closes and reopens the database (at most every [`REOPEN_EVERY`]; sooner calls do
    /// nothing).
    fn reopen(&self) -> Result<()> {
        {
            let mut last = self.last_reopen.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < REOPEN_EVERY) {
                return Ok(()); // tried a moment ago
            }
            *last = Some(std::time::Instant::now());
        }
        // Closing the database is only worth it once writes work again: until then the old
        // handles keep serving reads.
        self.probe_writes()?;
        let mut slot = self.handles.write().unwrap_or_else(|p| p.into_inner());
        if !self.poisoned.load(Ordering::SeqCst) {
            return Ok(()); // another caller reopened it meanwhile
        }
        drop(slot.take());
        engine::closed(&self.path);
        let fresh = Handles::open(&self.path, self.reads)?;
        *slot = Some(Arc::new(fresh));
        self.poisoned.store(false, Ordering::SeqCst);
        // The probe wrote and synced: writes work again (an idle node would otherwise show
        // the old failure until its next flush).
        *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!(path = %self.path.display(), "database reopened after a write failure");
        Ok(())
    }

    /// Whether the database's directory takes a durable write of a segment's worth of bytes
    /// again (the engine appends in segments of this order), at the offset where the
    /// database file would grow: the probe file is sparse up to the database file's length,
    /// so it costs a segment of space, and it also fails where only large files cannot grow
    /// (a file-size limit or quota), which a small probe file passed while the database's
    /// next segment still could not be written.
    fn probe_writes(&self) -> Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        let probe = self.path.join(".write-probe");
        let grows_at = std::fs::metadata(self.path.join("db"))
            .map(|m| m.len())
            .unwrap_or(0);
        let attempt = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&probe)?;
            f.seek(SeekFrom::Start(grows_at))?;
            f.write_all(&[0u8; 512 * 1024])?;
            f.sync_all()
        })();
        let _ = std::fs::remove_file(&probe);
        attempt.map_err(|e| {
            StoreError::Engine(format!("{}: writes still fail: {e}", self.path.display()))
        })
    }

    /// Records a failed write: shown as unhealthy, and (as sled keeps the error for good) the
    /// next use reopens the database.
    fn write_failed(&self, e: &StoreError) {
        *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(format!("{}: {e}", self.path.display()));
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// Notes damage a read ran into (once, with the path and what to do).
    fn seen<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e @ StoreError::WriteFailed(_)) = &r {
            // sled reports a failed background write to the next operation, often a read.
            self.write_failed(e);
            return r;
        }
        let Err(e @ (StoreError::Corrupt(_) | StoreError::Engine(_))) = &r else {
            return r;
        };
        // While writes fail, reads fail with the same error: that is not damage.
        let writes_failing = self.poisoned.load(Ordering::SeqCst)
            || self
                .write_failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some();
        if !writes_failing {
            let mut d = self.damage.lock().unwrap_or_else(|p| p.into_inner());
            if d.is_none() {
                tracing::error!(
                    path = %self.path.display(),
                    "the database is damaged: {e}; stop the node and follow the recovery steps in docs/OPERATIONS.md"
                );
                *d = Some(format!("{}: {e}", self.path.display()));
            }
        }
        r
    }

    /// Reads every record of every tree (decoding those of the data tree), so that damage is
    /// found at start, with the path, rather than by a request later.
    pub fn check_all(&self) -> Result<u64> {
        let h = self.h()?;
        let mut n = 0u64;
        for name in h.db.tree_names() {
            let tree = self.seen(h.db.open_tree(&name).map_err(StoreError::from))?;
            let is_data = name.as_ref() == DATA.as_bytes();
            for kv in tree.iter() {
                let (k, v) = self.seen(kv.map_err(StoreError::from))?;
                if is_data {
                    self.seen(decode_any::<serde::de::IgnoredAny>(&v).map_err(|e| {
                        StoreError::Corrupt(format!(
                            "record {} of table {:?} does not decode: {e}",
                            n,
                            k.first().map(|b| *b as char).unwrap_or('?')
                        ))
                    }))?;
                }
                n += 1;
            }
        }
        Ok(n)
    }

    /// Fault injection for tests: the next `n` flushes fail as if the disk were full (0 ends
    /// it). Only callable in-process, by code that embeds a node.
    pub fn inject_flush_failures(&self, n: u32) {
        self.failing_flushes.store(n, Ordering::SeqCst);
        if n == 0 {
            self.failing_flush_at.store(u64::MAX, Ordering::SeqCst);
        }
    }

    /// Fault injection for tests: after `passing` more flushes succeed, one fails as if the
    /// disk were full (so a test can fail each step of a long job in turn). For one writer
    /// at a time: flushes racing it may step past the one meant to fail.
    pub fn inject_flush_failure_after(&self, passing: u64) {
        self.failing_flush_at
            .store(self.flush_count() + passing, Ordering::SeqCst);
    }

    /// Load testing: every flush takes `delay` longer (a slow disk, a busy node). Blocks the
    /// caller, as a slow disk would. Only callable in-process.
    pub fn inject_flush_delay(&self, delay: std::time::Duration) {
        self.flush_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Successful flushes since the database was opened.
    pub fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<()> {
        let h = self.h()?;
        let at = self.flushes.load(Ordering::SeqCst);
        let injected = self
            .failing_flushes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
            || self
                .failing_flush_at
                .compare_exchange(at, u64::MAX, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok();
        let result = if injected {
            Err(StoreError::WriteFailed(
                "No space left on device (os error 28) [injected]".into(),
            ))
        } else {
            let delay = self.flush_delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                std::thread::sleep(std::time::Duration::from_millis(delay));
            }
            h.db.flush().map(|_| ()).map_err(StoreError::from)
        };
        let mut failing = self.write_failure.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(()) => {
                self.flushes.fetch_add(1, Ordering::Relaxed);
                *failing = None;
            }
            Err(e) => {
                drop(failing);
                self.write_failed(e);
            }
        }
        result
    }

    fn put_record(tree: &sled::Tree, key: &[u8], rec: &SignedRecord) -> Result<()> {
        let bytes = serde_json::to_vec(rec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tree.insert(key, bytes)?;
        Ok(())
    }

    fn records(tree: &sled::Tree) -> Result<Vec<SignedRecord>> {
        tree.iter()
            .values()
            .map(|v| {
                let v = v?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Steward register: records the latest certificate issued to `org` (durably).
    pub fn put_issued_certificate(&self, org: &OrgId, rec: &SignedRecord) -> Result<()> {
        let _writing = self.writing();
        let h = self.h()?;
        Self::put_record(&h.register, org.as_bytes(), rec)?;
        self.flush()
    }

    /// Steward register: every certificate issued, one per organisation.
    pub fn issued_certificates(&self) -> Result<Vec<SignedRecord>> {
        let h = self.h()?;
        Self::records(&h.register)
    }

    /// Records a verified revocation (durably).
    pub fn put_revocation(&self, org: &OrgId, rec: &SignedRecord) -> Result<()> {
        let _writing = self.writing();
        let h = self.h()?;
        Self::put_record(&h.revocations, org.as_bytes(), rec)?;
        self.flush()
    }

    /// The revocation stored for an organisation.
    pub fn revocation(&self, org: &OrgId) -> Result<Option<SignedRecord>> {
        let h = self.h()?;
        match h.revocations.get(org.as_bytes())? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
        }
    }

    /// Every revocation known.
    pub fn revocations(&self) -> Result<Vec<SignedRecord>> {
        let h = self.h()?;
        Self::records(&h.revocations)
    }

    /// How many commits of this process wrote to `table`: what a reader remembering
    /// something it read from the table compares, to know whether it may have changed since
    /// (only this process writes while it holds the store).
    pub fn changes<T>(&self, table: &Table<T>) -> u64 {
        self.changes[usize::from(table.prefix)].load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests;
