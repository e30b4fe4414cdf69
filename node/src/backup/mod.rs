//! Backups and restores of a node: `ilm backup` takes a consistent snapshot of the running
//! node (its database and the data directory's files) and seals it to a recovery key or a
//! passphrase; `ilm restore` opens one into a new data directory and marks the database as
//! restored, so that the node asks its peers for what reached it after the snapshot.
//!
//! Architecture invariant: a restore writes only into a data directory that holds none of
//! the files it would write, and only the files of [`archive::FILES`]; what it wrote is
//! removed again if the backup does not open whole, and `identity.key` is written last, so
//! an interrupted restore never leaves a directory that starts as a node.

pub mod archive;
pub mod progress;
pub mod sealed;
pub mod shares;

use crate::datadir::DataDir;
use crate::schema;
use crate::store::{Import, Store, StoreError, WriteBatch};
use archive::{ArchiveError, ArchiveHeader, ArchiveReader, ArchiveSummary, ArchiveWriter, Item};
use ilm_protocol::{OrgId, Timestamp};
pub use sealed::{BackupSecret, RecoveryKey};
use sealed::{OpenReader, SealError, SealWriter};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Filesystem failure.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sealed layer refused the file.
    #[error(transparent)]
    Sealed(#[from] SealError),
    /// The archive inside is not whole or not of this format.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The target already holds a node, or files a restore would write.
    #[error(
        "{0} already holds a node or part of one (identity.key, vault.key, config.toml, network.json, certificate.json or db; an interrupted restore leaves db behind): restore into a new, empty data directory"
    )]
    TargetInUse(PathBuf),
    /// The data directory could not be prepared.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

/// The record a restore leaves in the database: the node catches up from it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RestoreState {
    /// When the snapshot restored was taken: what peers delivered after it is asked for.
    pub backup_at: Timestamp,
    /// When the restore ran.
    pub restored_at: Timestamp,
    /// Peers that answered the request to deliver again, and how many messages each queued.
    pub answered: BTreeMap<OrgId, Redelivery>,
}

/// One peer's answer to a restored node's request to deliver again.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Redelivery {
    /// When it answered.
    pub at: Timestamp,
    /// Messages it queued again.
    pub requeued: u64,
    /// Whether it still held everything delivered since the backup (its outbox keeps
    /// delivered entries only for `[retention] delivered_outbox_days`).
    pub complete: bool,
}

/// The id of the one record of [`schema::RESTORE`].
pub const RESTORE_ID: &[u8] = b"restore";

/// The node's restore record, if its database came from a backup.
pub fn restore_state(store: &Store) -> Result<Option<RestoreState>, StoreError> {
    store.get(&schema::RESTORE, RESTORE_ID)
}

/// Writes a snapshot of the node (data directory files, then the database as of one moment)
/// into an unnamed temporary file in the data directory, and returns it rewound with its
/// length. Runs inside the daemon; writes wait while the database is copied.
pub fn write_archive(
    dir: &DataDir,
    store: &Store,
    org_id: OrgId,
    now: Timestamp,
) -> Result<(File, u64, ArchiveSummary), BackupError> {
    let tmp_path = dir.root().join(format!(
        ".backup-{}.tmp",
        ilm_protocol::bytes::to_hex(&ilm_protocol::identity::random_bytes::<8>().map_err(|e| {
            BackupError::Io {
                action: "make a name for",
                path: dir.root().to_path_buf(),
                source: io::Error::other(e.to_string()),
            }
        })?)
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp_path)
        .map_err(io_err("create", &tmp_path))?;
    // Unnamed from here on: nothing is left behind if the node stops half way.
    std::fs::remove_file(&tmp_path).map_err(io_err("remove", &tmp_path))?;
    let header = ArchiveHeader {
        format: archive::FORMAT,
        created_at: now,
        org_id,
        schema_version: store.schema_version()?,
    };
    let mut w =
        ArchiveWriter::new(BufWriter::new(file), &header).map_err(io_err("write", &tmp_path))?;
    for name in archive::FILES {
        let path = dir.root().join(name);
        match std::fs::read(&path) {
            Ok(bytes) => w.file(name, &bytes).map_err(io_err("write", &tmp_path))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("read", &path)(e)),
        }
    }
    store.snapshot(|item| w.snapshot_item(item))?;
    let (buffered, summary) = w.finish().map_err(io_err("write", &tmp_path))?;
    let mut file = buffered
        .into_inner()
        .map_err(|e| io_err("write", &tmp_path)(e.into_error()))?;
    let len = file
        .stream_position()
        .map_err(io_err("measure", &tmp_path))?;
    file.rewind().map_err(io_err("rewind", &tmp_path))?;
    Ok((file, len, summary))
}

/// Seals an archive read from `archive` into `out` (the CLI's side of `ilm backup`);
/// `progress` hears how many archive bytes were sealed so far.
pub fn seal(
    mut archive: impl Read,
    out: impl Write,
    org_id: OrgId,
    created_at: Timestamp,
    secret: &BackupSecret,
    out_path: &Path,
    mut progress: impl FnMut(u64),
) -> Result<u64, BackupError> {
    let mut w = SealWriter::new(out, org_id, created_at, secret, out_path)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = archive
            .read(&mut buf)
            .map_err(io_err("receive the snapshot for", out_path))?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n]).map_err(io_err("write", out_path))?;
        total += n as u64;
        progress(total);
    }
    w.finish().map_err(io_err("write", out_path))?;
    Ok(total)
}

/// What a restore wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// Whose node it is.
    pub org_id: OrgId,
    /// When the backup was taken.
    pub backup_at: Timestamp,
    /// Data directory files written.
    pub files: Vec<&'static str>,
    /// Database records written.
    pub records: u64,
    /// Cases the restored database holds.
    pub cases: usize,
    /// Outbox entries still waiting for delivery (they go out when the node starts).
    pub outbox_pending: usize,
}

/// Reads a backup file's clear header: whose it is, when it was made, how it is sealed.
pub fn inspect(file: &Path) -> Result<sealed::SealedHeader, BackupError> {
    let mut f = BufReader::new(File::open(file).map_err(io_err("open", file))?);
    Ok(sealed::read_header(&mut f)?.0)
}

/// Restores a backup into `target`, which must hold no node; on failure nothing of it stays.
/// `progress` hears how many bytes of the file were read so far.
pub fn restore(
    file: &Path,
    secret: &BackupSecret,
    target: &DataDir,
    now: Timestamp,
    progress: impl FnMut(u64),
) -> Result<Restored, BackupError> {
    let occupied = target.db_path().exists()
        || archive::FILES
            .iter()
            .any(|f| target.root().join(f).exists());
    if occupied {
        return Err(BackupError::TargetInUse(target.root().to_path_buf()));
    }
    let existed = target.root().exists();
    target.create_dir()?;
    let mut written: Vec<PathBuf> = Vec::new();
    let result = restore_into(file, secret, target, now, progress, &mut written);
    if result.is_err() {
        // Leave the directory as it was: nothing half-restored may pass for a node.
        let _ = std::fs::remove_dir_all(target.db_path());
        let _ = std::fs::remove_file(crate::store::compaction_lock_path(&target.db_path()));
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
        if !existed {
            let _ = std::fs::remove_dir(target.root());
        }
    }
    result
}

fn restore_into(
    file: &Path,
    secret: &BackupSecret,
    target: &DataDir,
    now: Timestamp,
    mut progress: impl FnMut(u64),
    written: &mut Vec<PathBuf>,
) -> Result<Restored, BackupError> {
    let f = File::open(file).map_err(io_err("open", file))?;
    let mut counted = BufReader::new(Counted {
        inner: f,
        read: 0,
        report: &mut progress,
    });
    let (header, aad) = sealed::read_header(&mut counted)?;
    let opened = OpenReader::new(counted, &header, aad, secret, file)?;
    let mut archive = ArchiveReader::new(BufReader::new(opened))?;
    if archive.header().org_id != header.org_id {
        return Err(
            ArchiveError::Malformed("the archive is of another organisation".into()).into(),
        );
    }
    let backup_at = archive.header().created_at;
    let mut files = Vec::new();
    let mut identity: Option<Zeroizing<Vec<u8>>> = None;
    let mut import: Option<Import> = None;
    while let Some(item) = archive.next_item()? {
        match item {
            // The identity key is written last, once everything else is in place: until then
            // the directory is not a node, so an interrupted restore never starts as one.
            Item::File {
                name: "identity.key",
                contents,
            } => identity = Some(Zeroizing::new(contents)),
            Item::File { name, contents } => {
                let path = target.root().join(name);
                DataDir::write_secret_file(&path, &contents)?;
                written.push(path);
                files.push(name);
            }
            Item::Tree(name) => {
                let imp = match import.as_mut() {
                    Some(i) => i,
                    None => import.insert(Import::create(&target.db_path())?),
                };
                imp.add(crate::store::SnapshotItem::Tree(&name))?;
            }
            Item::Record { key, value } => {
                let imp = import
                    .as_mut()
                    .ok_or_else(|| ArchiveError::Malformed("a record before any tree".into()))?;
                imp.add(crate::store::SnapshotItem::Record {
                    key: &key,
                    value: &value,
                })?;
            }
        }
    }
    let Some(import) = import else {
        return Err(ArchiveError::Malformed("the archive holds no database".into()).into());
    };
    let Some(identity) = identity else {
        return Err(ArchiveError::Malformed("the archive holds no identity key".into()).into());
    };
    let records = import.finish()?;
    // Its outbox and every case state are read next, in this process of its own.
    let store = schema::open_for(&target.db_path(), crate::store::Reads::Whole)?;
    let state = RestoreState {
        backup_at,
        restored_at: now,
        answered: BTreeMap::new(),
    };
    let mut batch = WriteBatch::new();
    batch.put(&schema::RESTORE, RESTORE_ID, &state)?;
    store.commit(batch)?;
    let outbox_pending = store
        .scan(&schema::OUTBOX, &[])?
        .iter()
        .filter(|e| e.state == crate::records::DeliveryState::Pending)
        .count();
    let cases = store.count(&schema::CASE_STATES)?;
    drop(store);
    // The commit point: with the identity key the directory becomes a node.
    let key_path = target.key_path();
    DataDir::write_secret_file(&key_path, &identity)?;
    written.push(key_path);
    files.push("identity.key");
    Ok(Restored {
        org_id: header.org_id,
        backup_at,
        files,
        records,
        cases,
        outbox_pending,
    })
}

/// A reader that reports how many bytes went through it.
struct Counted<'a, R, F: FnMut(u64)> {
    inner: R,
    read: u64,
    report: &'a mut F,
}

impl<R: Read, F: FnMut(u64)> Read for Counted<'_, R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.report)(self.read);
        Ok(n)
    }
}
