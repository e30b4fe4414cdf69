//! The node's database. Architecture invariant: only this module knows sled; the rest of the
//! node sees typed methods, so the engine could be swapped.

use ilm_protocol::{CaseRef, EventHash, MessageId, OrgId, SignedRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Schema version written at creation; a node refuses databases from a newer version.
pub const SCHEMA_VERSION: u32 = 1;

const META: &str = "meta";
const REGISTER: &str = "register";
const REVOCATIONS: &str = "revocations";
/// Everything written together with a received message lives in one tree, so one atomic
/// batch covers an effect and the marker that makes its redelivery a no-op.
const DATA: &str = "data";

/// Key prefixes in the data tree.
mod prefix {
    pub const PROCESSED: u8 = b'm';
    pub const EVENT: u8 = b'e';
    pub const CASE: u8 = b'c';
    pub const OUTBOX: u8 = b'o';
    pub const CERT: u8 = b'k';
}

/// Workflow records kept in the data tree, each under its own key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Worker contacts (CSO; personal data sealed with the node's vault key).
    Contact,
    /// The CSO's own view of a case (workers, issues, consent, sealed notes).
    LocalCase,
    /// Remediation attestations, drafts and complete, by case.
    Attestation,
    /// Supply-chain links, proposed and complete.
    Link,
    /// Worker identity disclosed with consent (recipient side; sealed).
    Disclosure,
    /// Case status reports received (brands).
    StatusReport,
    /// Operator accounts of the admin UI.
    Operator,
    /// Counters kept across pruning (e.g. messages delivered, by outcome).
    Counter,
    /// The read model: each case's lifecycle state, written in the same batch as its events.
    CaseState,
}

impl Table {
    fn prefix(self) -> u8 {
        match self {
            Table::Contact => b'w',
            Table::LocalCase => b'L',
            Table::Attestation => b'a',
            Table::Link => b'l',
            Table::Disclosure => b'd',
            Table::StatusReport => b's',
            Table::Operator => b'O',
            Table::Counter => b'n',
            Table::CaseState => b'C',
        }
    }
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}
const SCHEMA_KEY: &[u8] = b"schema_version";

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database.
    #[error(
        "the database is in use by another process (is `ilm run` running for this data directory?)"
    )]
    Locked,
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
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match &e {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                StoreError::Locked
            }
            sled::Error::Io(io) if io.to_string().contains("lock") => StoreError::Locked,
            _ => StoreError::Engine(e.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// An open node database.
pub struct Store {
    db: sled::Db,
    register: sled::Tree,
    revocations: sled::Tree,
    data: sled::Tree,
    /// Flushes still to fail on purpose (fault injection, see [`Store::inject_flush_failures`]).
    failing_flushes: AtomicU32,
    /// Successful flushes, for operators and for tests that a group commit shares one.
    flushes: AtomicU64,
    /// Milliseconds each flush is delayed on purpose (load tests of a slow node).
    flush_delay_ms: AtomicU64,
}

/// Writes to apply atomically with [`Store::commit`].
#[derive(Default)]
pub struct WriteBatch {
    /// Key and new value (None removes), in order: kept so that a commit whose flush fails
    /// can be undone.
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Number of writes queued.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn put_json<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.ops.push((key, Some(bytes)));
        Ok(())
    }

    /// Marks a received message as processed (its redelivery becomes a no-op).
    pub fn mark_processed<T: Serialize>(&mut self, id: &MessageId, marker: &T) -> Result<()> {
        self.put_json(key(prefix::PROCESSED, &[id.as_bytes()]), marker)
    }

    /// Stores a verified case event.
    pub fn put_event(
        &mut self,
        case: &CaseRef,
        hash: &EventHash,
        rec: &SignedRecord,
    ) -> Result<()> {
        self.put_json(key(prefix::EVENT, &[case.as_bytes(), hash.as_bytes()]), rec)
    }

    /// Stores a case's metadata.
    pub fn put_case<T: Serialize>(&mut self, case: &CaseRef, meta: &T) -> Result<()> {
        self.put_json(key(prefix::CASE, &[case.as_bytes()]), meta)
    }

    /// Stores an outbox entry for one recipient of a message.
    pub fn put_outbox<T: Serialize>(
        &mut self,
        id: &MessageId,
        recipient: &OrgId,
        entry: &T,
    ) -> Result<()> {
        self.put_json(
            key(prefix::OUTBOX, &[id.as_bytes(), recipient.as_bytes()]),
            entry,
        )
    }

    /// Removes an outbox entry (pruning delivered messages).
    pub fn remove_outbox(&mut self, id: &MessageId, recipient: &OrgId) {
        self.ops.push((
            key(prefix::OUTBOX, &[id.as_bytes(), recipient.as_bytes()]),
            None,
        ));
    }

    /// Stores a member's certificate (already verified).
    pub fn put_certificate(&mut self, org: &OrgId, rec: &SignedRecord) -> Result<()> {
        self.put_json(key(prefix::CERT, &[org.as_bytes()]), rec)
    }

    /// Stores a workflow record under `table` and `id`.
    pub fn put<T: Serialize>(&mut self, table: Table, id: &[u8], value: &T) -> Result<()> {
        self.put_json(key(table.prefix(), &[id]), value)
    }
}

impl Store {
    /// Opens (or creates) the database at `path`, checking its schema version.
    pub fn open(path: &Path) -> Result<Store> {
        let db = sled::Config::new().path(path).open()?;
        let meta = db.open_tree(META)?;
        match meta.get(SCHEMA_KEY)? {
            None => {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
            Some(v) => {
                let bytes: [u8; 4] = v
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("schema version".into()))?;
                let found = u32::from_be_bytes(bytes);
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
            }
        }
        Ok(Store {
            data: db.open_tree(DATA)?,
            register: db.open_tree(REGISTER)?,
            revocations: db.open_tree(REVOCATIONS)?,
            db,
            failing_flushes: AtomicU32::new(0),
            flushes: AtomicU64::new(0),
            flush_delay_ms: AtomicU64::new(0),
        })
    }

    /// Fault injection for tests: the next `n` flushes fail as if the disk were full (0 ends
    /// it). Only callable in-process, by code that embeds a node.
    pub fn inject_flush_failures(&self, n: u32) {
        self.failing_flushes.store(n, Ordering::SeqCst);
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

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u32> {
        let meta = self.db.open_tree(META)?;
        let v = meta
            .get(SCHEMA_KEY)?
            .ok_or_else(|| StoreError::Corrupt("missing schema version".into()))?;
        let bytes: [u8; 4] = v
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("schema version".into()))?;
        Ok(u32::from_be_bytes(bytes))
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<()> {
        let injected = self
            .failing_flushes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if injected {
            return Err(StoreError::Engine(
                "No space left on device (os error 28) [injected]".into(),
            ));
        }
        let delay = self.flush_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
        self.db.flush()?;
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
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
        Self::put_record(&self.register, org.as_bytes(), rec)?;
        self.flush()
    }

    /// Steward register: every certificate issued, one per organisation.
    pub fn issued_certificates(&self) -> Result<Vec<SignedRecord>> {
        Self::records(&self.register)
    }

    /// Records a verified revocation (durably).
    pub fn put_revocation(&self, org: &OrgId, rec: &SignedRecord) -> Result<()> {
        Self::put_record(&self.revocations, org.as_bytes(), rec)?;
        self.flush()
    }

    /// The revocation stored for an organisation.
    pub fn revocation(&self, org: &OrgId) -> Result<Option<SignedRecord>> {
        match self.revocations.get(org.as_bytes())? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
        }
    }

    /// Every revocation known.
    pub fn revocations(&self) -> Result<Vec<SignedRecord>> {
        Self::records(&self.revocations)
    }

    /// Applies a batch atomically and makes it durable before returning.
    ///
    /// If the flush fails, the batch is undone before the error is returned: nothing of it
    /// stays visible to reads, so no acknowledgement can ever be based on writes that did not
    /// reach the disk (a redelivered message is processed again, not taken for a duplicate).
    /// Only the core writes this tree, so the values read for the undo are not raced.
    pub fn commit(&self, batch: WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut redo = sled::Batch::default();
        let mut undo = sled::Batch::default();
        let mut undone = std::collections::HashSet::new();
        // The value a key had before its first write in the batch is what the undo restores.
        for (key, value) in &batch.ops {
            if undone.insert(key.clone()) {
                match self.data.get(key)? {
                    Some(old) => undo.insert(key.clone(), old),
                    None => undo.remove(key.clone()),
                }
            }
            match value {
                Some(v) => redo.insert(key.clone(), v.clone()),
                None => redo.remove(key.clone()),
            }
        }
        self.data.apply_batch(redo)?;
        if let Err(e) = self.flush() {
            if let Err(undo_err) = self.data.apply_batch(undo) {
                tracing::error!("could not undo a batch whose flush failed: {undo_err}");
            }
            return Err(e);
        }
        Ok(())
    }

    fn get_json<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.data.get(key)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
        }
    }

    fn scan_json<T: DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>> {
        self.data
            .scan_prefix(prefix)
            .values()
            .map(|v| {
                let v = v?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Whether a message id was processed already.
    pub fn is_processed(&self, id: &MessageId) -> Result<bool> {
        Ok(self
            .data
            .contains_key(key(prefix::PROCESSED, &[id.as_bytes()]))?)
    }

    /// Number of messages processed.
    pub fn processed_count(&self) -> usize {
        self.data.scan_prefix([prefix::PROCESSED]).count()
    }

    /// Every stored event of a case.
    pub fn events(&self, case: &CaseRef) -> Result<Vec<SignedRecord>> {
        self.scan_json(&key(prefix::EVENT, &[case.as_bytes()]))
    }

    /// Whether an event is stored.
    pub fn has_event(&self, case: &CaseRef, hash: &EventHash) -> Result<bool> {
        Ok(self
            .data
            .contains_key(key(prefix::EVENT, &[case.as_bytes(), hash.as_bytes()]))?)
    }

    /// A case's metadata.
    pub fn case<T: DeserializeOwned>(&self, case: &CaseRef) -> Result<Option<T>> {
        self.get_json(&key(prefix::CASE, &[case.as_bytes()]))
    }

    /// Every case's metadata.
    pub fn cases<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.scan_json(&[prefix::CASE])
    }

    /// Every outbox entry (oldest message ids are random, so order is by id).
    pub fn outbox<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.scan_json(&[prefix::OUTBOX])
    }

    /// One outbox entry.
    pub fn outbox_entry<T: DeserializeOwned>(
        &self,
        id: &MessageId,
        recipient: &OrgId,
    ) -> Result<Option<T>> {
        self.get_json(&key(prefix::OUTBOX, &[id.as_bytes(), recipient.as_bytes()]))
    }

    /// A member's certificate, if known.
    pub fn certificate(&self, org: &OrgId) -> Result<Option<SignedRecord>> {
        self.get_json(&key(prefix::CERT, &[org.as_bytes()]))
    }

    /// Every known member certificate.
    pub fn certificates(&self) -> Result<Vec<SignedRecord>> {
        self.scan_json(&[prefix::CERT])
    }

    /// A workflow record.
    pub fn get<T: DeserializeOwned>(&self, table: Table, id: &[u8]) -> Result<Option<T>> {
        self.get_json(&key(table.prefix(), &[id]))
    }

    /// Every record of a table whose id starts with `id_prefix`.
    pub fn scan<T: DeserializeOwned>(&self, table: Table, id_prefix: &[u8]) -> Result<Vec<T>> {
        self.scan_json(&key(table.prefix(), &[id_prefix]))
    }

    /// Every record of a table with its id.
    pub fn scan_with_ids<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<(Vec<u8>, T)>> {
        self.data
            .scan_prefix([table.prefix()])
            .map(|kv| {
                let (k, v) = kv?;
                let value =
                    serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((k[1..].to_vec(), value))
            })
            .collect()
    }

    /// Test and tooling hook: writes a schema version (to simulate databases from the future).
    pub fn force_schema_version(path: &Path, version: u32) -> Result<()> {
        let db = sled::Config::new().path(path).open()?;
        db.open_tree(META)?
            .insert(SCHEMA_KEY, &version.to_be_bytes())?;
        db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let s = Store::open(&path).expect("create");
            assert_eq!(s.schema_version().expect("version"), SCHEMA_VERSION);
        }
        Store::force_schema_version(&path, SCHEMA_VERSION + 1).expect("force");
        match Store::open(&path) {
            Err(StoreError::NewerSchema { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a newer database was opened"),
        }
    }

    #[test]
    fn a_commit_whose_flush_fails_leaves_nothing_visible() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("db")).expect("create");
        let id = MessageId([7; 16]);
        let mut first = WriteBatch::new();
        first.put(Table::Link, b"kept", &"old value").expect("put");
        s.commit(first).expect("commit");
        let mut batch = WriteBatch::new();
        batch.mark_processed(&id, &"marker").expect("mark");
        batch.put(Table::Link, b"kept", &"new value").expect("put");
        batch
            .put(Table::Link, b"kept", &"newer value")
            .expect("put");
        s.inject_flush_failures(1);
        assert!(s.commit(batch).is_err());
        assert!(
            !s.is_processed(&id).expect("read"),
            "marker visible after a failed flush"
        );
        assert_eq!(
            s.get::<String>(Table::Link, b"kept").expect("read"),
            Some("old value".into())
        );
        // The same batch commits once flushes work again.
        let mut again = WriteBatch::new();
        again.mark_processed(&id, &"marker").expect("mark");
        s.commit(again).expect("commit");
        assert!(s.is_processed(&id).expect("read"));
    }

    #[test]
    fn a_second_opener_gets_a_locked_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let _first = Store::open(&path).expect("create");
        assert!(matches!(Store::open(&path), Err(StoreError::Locked)));
    }
}
