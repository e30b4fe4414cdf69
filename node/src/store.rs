//! The node's database. Architecture invariant: only this module knows sled; the rest of the
//! node sees typed methods, so the engine could be swapped.

use ilm_protocol::{OrgId, SignedRecord};
use std::path::Path;

/// Schema version written at creation; a node refuses databases from a newer version.
pub const SCHEMA_VERSION: u32 = 1;

const META: &str = "meta";
const REGISTER: &str = "register";
const REVOCATIONS: &str = "revocations";
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
            register: db.open_tree(REGISTER)?,
            revocations: db.open_tree(REVOCATIONS)?,
            db,
        })
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
        self.db.flush()?;
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

    /// Every revocation known.
    pub fn revocations(&self) -> Result<Vec<SignedRecord>> {
        Self::records(&self.revocations)
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
    fn a_second_opener_gets_a_locked_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let _first = Store::open(&path).expect("create");
        assert!(matches!(Store::open(&path), Err(StoreError::Locked)));
    }
}
