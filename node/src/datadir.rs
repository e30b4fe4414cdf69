//! The node's data directory: key file, configuration, membership files and database.
//!
//! Architecture invariant: secret files are created owner-only (0600) in an owner-only
//! directory (0700), and are refused when someone else can read them.

use crate::config::{Config, ConfigError};
use crate::secrets::{self, Passphrase, SecretError, Unlocker};
use ilm_protocol::bytes::{from_hex_array, to_hex};
use ilm_protocol::{MembershipCertificate, Network, OrgId, OrgKeys, SignedRecord, Verified};
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Filesystem failure.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `ilm init` was not run for this directory.
    #[error("no node identity in {0} (run `ilm init` first, or pass --data-dir)")]
    NotInitialised(PathBuf),
    /// `ilm init` ran already.
    #[error("{0} already holds a node identity; refusing to overwrite it")]
    AlreadyInitialised(PathBuf),
    /// A secret file others can read.
    #[error("{0} is readable by other users; run `chmod 600` on it")]
    InsecurePermissions(PathBuf),
    /// A data directory others can enter or read.
    #[error(
        "the data directory {0} is open to other users (it holds worker data and keys); run `chmod 700` on it"
    )]
    OpenDirectory(PathBuf),
    /// Key file content is damaged.
    #[error("key file {path} is damaged: {reason}")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// config.toml is invalid. (Not a `source`: the message already says it all, and a
    /// chained error would print it twice.)
    #[error("{path}: {problem}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        problem: ConfigError,
    },
    /// The node has not joined a network yet.
    #[error(
        "this node has not joined a network yet (steward: `ilm network create`; others: `ilm member join`)"
    )]
    NotJoined,
    /// A passphrase-protected secret could not be unlocked or written.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Stored membership files fail verification.
    #[error("stored membership file {path} is invalid: {reason}")]
    BadMembership {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, DataDirError>;

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError {
    let path = path.to_path_buf();
    move |source| DataDirError::Io {
        action,
        path,
        source,
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    signing_seed: String,
    encryption_secret: String,
    /// The organisation's id, once a key rotation made it differ from the signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org_id: Option<String>,
    /// X25519 secrets of before rotations, oldest first (messages sealed to them still open).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    earlier_encryption_secrets: Vec<String>,
}

impl KeyFile {
    fn of(keys: &OrgKeys) -> KeyFile {
        let rotated = keys.org_id() != keys.signing_key_id();
        KeyFile {
            version: 1,
            signing_seed: to_hex(&keys.signing_seed()),
            encryption_secret: to_hex(&keys.encryption_secret()),
            org_id: rotated.then(|| keys.org_id().to_hex()),
            earlier_encryption_secrets: keys
                .earlier_encryption_secrets()
                .iter()
                .map(|s| to_hex(s))
                .collect(),
        }
    }

    fn keys(&self) -> std::result::Result<OrgKeys, String> {
        if self.version != 1 {
            return Err(format!("unknown key file version {}", self.version));
        }
        let seed = from_hex_array::<32>(&self.signing_seed).map_err(|e| e.to_string())?;
        let enc = from_hex_array::<32>(&self.encryption_secret).map_err(|e| e.to_string())?;
        let keys = OrgKeys::from_secret_bytes(seed, enc);
        let org = match &self.org_id {
            Some(hex) => hex.parse::<OrgId>().map_err(|e| format!("org_id: {e}"))?,
            None => keys.org_id(),
        };
        let earlier = self
            .earlier_encryption_secrets
            .iter()
            .map(|h| from_hex_array::<32>(h).map_err(|e| e.to_string()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(keys.rotated(org, earlier))
    }
}

/// A node's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    unlock: Unlocker,
}

impl DataDir {
    /// The directory at `root` (not touched until used).
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir {
            root: root.into(),
            unlock: Unlocker::default(),
        }
    }

    /// The same directory, unlocking protected secrets (and protecting new ones) with the
    /// passphrase `unlock` provides.
    pub fn with_unlocker(mut self, unlock: Unlocker) -> DataDir {
        self.unlock = unlock;
        self
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The owner-only file holding the organisation's secret keys.
    pub fn key_path(&self) -> PathBuf {
        self.root.join("identity.key")
    }

    /// The node's configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The network genesis this node belongs to.
    pub fn network_path(&self) -> PathBuf {
        self.root.join("network.json")
    }

    /// This node's membership certificate.
    pub fn certificate_path(&self) -> PathBuf {
        self.root.join("certificate.json")
    }

    /// The owner-only key that seals worker personal data at rest.
    pub fn vault_key_path(&self) -> PathBuf {
        self.root.join("vault.key")
    }

    /// The owner-only admin API token.
    pub fn token_path(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// Where a running daemon writes its admin API address.
    pub fn admin_addr_path(&self) -> PathBuf {
        self.root.join("admin.addr")
    }

    /// Loads the admin token, creating it (owner-only) if this node has none yet.
    pub fn admin_token(&self) -> Result<String> {
        let path = self.token_path();
        if !path.exists() {
            let bytes = ilm_protocol::identity::random_bytes::<32>().map_err(|e| {
                DataDirError::BadKeyFile {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?;
            Self::write_secret_file(&path, to_hex(&bytes).as_bytes())?;
        }
        let raw = Self::read_secret_file(&path)?;
        let token = String::from_utf8(raw).map_err(|_| DataDirError::BadKeyFile {
            path: path.clone(),
            reason: "not text".into(),
        })?;
        let token = token.trim().to_string();
        if token.len() < 32 {
            return Err(DataDirError::BadKeyFile {
                path,
                reason: "token too short".into(),
            });
        }
        Ok(token)
    }

    /// The node's database directory.
    pub fn db_path(&self) -> PathBuf {
        self.root.join("db")
    }

    /// Whether an identity exists here.
    pub fn is_initialised(&self) -> bool {
        self.key_path().exists()
    }

    /// Creates the directory (owner-only) if needed.
    pub fn create_dir(&self) -> Result<()> {
        fs::create_dir_all(&self.root).map_err(io_err("create directory", &self.root))?;
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))
            .map_err(io_err("set permissions on", &self.root))
    }

    /// Refuses a data directory that group or others can read or enter.
    pub fn check_private(&self) -> Result<()> {
        let meta = fs::metadata(&self.root).map_err(io_err("read", &self.root))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(DataDirError::OpenDirectory(self.root.clone()));
        }
        Ok(())
    }

    /// Makes everything below `path` owner-only: directories 0700, files 0600 (the database
    /// engine creates its files with the process's umask).
    pub fn restrict(path: &Path) -> Result<()> {
        let meta = fs::symlink_metadata(path).map_err(io_err("read", path))?;
        if meta.is_dir() {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(io_err("set permissions on", path))?;
            for entry in fs::read_dir(path).map_err(io_err("read", path))? {
                let entry = entry.map_err(io_err("read", path))?;
                Self::restrict(&entry.path())?;
            }
        } else if meta.is_file() {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                .map_err(io_err("set permissions on", path))?;
        }
        Ok(())
    }

    /// Writes a new file that only the owner can read; fails if it exists.
    pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io_err("create", path))?;
        f.write_all(contents).map_err(io_err("write", path))?;
        f.sync_all().map_err(io_err("sync", path))
    }

    /// Reads a secret file, refusing it when group or others can read it.
    pub fn read_secret_file(path: &Path) -> Result<Vec<u8>> {
        let meta = fs::metadata(path).map_err(io_err("read", path))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(DataDirError::InsecurePermissions(path.to_path_buf()));
        }
        fs::read(path).map_err(io_err("read", path))
    }

    /// Writes a file that is not secret atomically (temp file, fsync, rename), still
    /// owner-only: everything in a data directory is.
    pub fn write_public_file(path: &Path, contents: &[u8]) -> Result<()> {
        let tmp = path.with_extension("tmp");
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err("create", &tmp))?;
            f.write_all(contents).map_err(io_err("write", &tmp))?;
            f.sync_all().map_err(io_err("sync", &tmp))?;
        }
        fs::rename(&tmp, path).map_err(io_err("rename into", path))
    }

    /// Stores new secret keys; refuses if an identity exists.
    pub fn write_keys(&self, keys: &OrgKeys) -> Result<()> {
        if self.is_initialised() {
            return Err(DataDirError::AlreadyInitialised(self.root.clone()));
        }
        self.write_new_protected(&self.key_path(), &key_file_bytes(&self.key_path(), keys)?)
    }

    /// Where the keys of a rotation not yet granted wait.
    pub fn next_key_path(&self) -> PathBuf {
        self.root.join("identity.next.key")
    }

    /// Whether a key rotation was started and its certificate not yet installed.
    pub fn rotation_pending(&self) -> bool {
        self.next_key_path().exists()
    }

    /// Stores the keys of a rotation until the steward's certificate arrives (sealed with the
    /// passphrase when this run has one); refuses if a rotation is already pending.
    pub fn write_next_keys(&self, next: &OrgKeys) -> Result<()> {
        let path = self.next_key_path();
        self.write_new_protected(&path, &key_file_bytes(&path, next)?)
    }

    /// The keys of the pending rotation, if one is pending.
    pub fn load_next_keys(&self) -> Result<Option<OrgKeys>> {
        let path = self.next_key_path();
        if !path.exists() {
            return Ok(None);
        }
        self.load_key_file(&path).map(Some)
    }

    /// Drops a pending rotation's keys (the current ones stay).
    pub fn cancel_rotation(&self) -> Result<()> {
        let path = self.next_key_path();
        fs::remove_file(&path).map_err(io_err("remove", &path))?;
        fs::File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(io_err("sync", &self.root))
    }

    /// Makes the pending rotation's keys the organisation's keys: they act for the same
    /// organisation and keep every earlier decryption secret. The identity file is replaced
    /// atomically (sealed as the old one was) before the pending file is removed, so a crash
    /// leaves either the old keys with the rotation still pending, or the new keys.
    pub fn promote_next_keys(&self) -> Result<OrgKeys> {
        let current = self.load_keys()?;
        let next = self
            .load_next_keys()?
            .ok_or_else(|| DataDirError::BadKeyFile {
                path: self.next_key_path(),
                reason: "no key rotation is pending".into(),
            })?;
        // Promoted already (a crash before the pending file's removal reached the disk).
        if current.signing_key_id() == next.signing_key_id() {
            self.cancel_rotation()?;
            return Ok(current);
        }
        let mut earlier = current.earlier_encryption_secrets().to_vec();
        earlier.push(current.encryption_secret());
        let promoted = OrgKeys::from_secret_bytes(next.signing_seed(), next.encryption_secret())
            .rotated(current.org_id(), earlier);
        let path = self.key_path();
        let clear = zeroize::Zeroizing::new(key_file_bytes(&path, &promoted)?);
        let contents = if self.keys_protected()? {
            let pass = self.unlock.passphrase(&path)?;
            secrets::protect(&path, &clear, &pass)?
        } else {
            clear.to_vec()
        };
        Self::replace_secret_file(&path, &contents)?;
        self.cancel_rotation()?;
        Ok(promoted)
    }

    /// Writes a new secret file, sealed with the passphrase when this run has one.
    pub fn write_new_protected(&self, path: &Path, clear: &[u8]) -> Result<()> {
        if self.unlock.has_source() {
            let pass = self.unlock.passphrase(path)?;
            Self::write_secret_file(path, &secrets::protect(path, clear, &pass)?)
        } else {
            Self::write_secret_file(path, clear)
        }
    }

    /// Reads a secret file, opening it with the passphrase if it is protected; a passphrase
    /// given for a file in the clear is refused (the operator believes the keys are locked).
    pub fn read_protected(&self, path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let raw = zeroize::Zeroizing::new(Self::read_secret_file(path)?);
        if !secrets::is_protected(&raw) {
            if self.unlock.has_source() {
                return Err(SecretError::NotProtected(path.to_path_buf()).into());
            }
            return Ok(raw);
        }
        let pass = self.unlock.passphrase(path)?;
        Ok(secrets::unprotect(path, &raw, &pass)?)
    }

    /// Whether the identity key file is passphrase-protected.
    pub fn keys_protected(&self) -> Result<bool> {
        if !self.is_initialised() {
            return Err(DataDirError::NotInitialised(self.root.clone()));
        }
        Ok(secrets::is_protected(&Self::read_secret_file(
            &self.key_path(),
        )?))
    }

    /// Re-seals the identity and vault keys under `new` (or stores them in the clear with
    /// `None`); each file is replaced atomically, so a crash leaves the old or the new form.
    pub fn change_passphrase(&self, new: Option<&Passphrase>) -> Result<Vec<PathBuf>> {
        if !self.is_initialised() {
            return Err(DataDirError::NotInitialised(self.root.clone()));
        }
        let mut changed = Vec::new();
        for path in [self.key_path(), self.vault_key_path(), self.next_key_path()] {
            if !path.exists() {
                continue;
            }
            let clear = self.read_protected(&path)?;
            let contents = match new {
                Some(p) => secrets::protect(&path, &clear, p)?,
                None => clear.to_vec(),
            };
            Self::replace_secret_file(&path, &contents)?;
            changed.push(path);
        }
        Ok(changed)
    }

    /// Replaces a secret file atomically (owner-only temp file, fsync, rename, fsync dir).
    fn replace_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
        let tmp = path.with_extension("new");
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err("remove", &tmp)(e));
            }
            _ => {}
        }
        Self::write_secret_file(&tmp, contents)?;
        fs::rename(&tmp, path).map_err(io_err("rename into", path))?;
        if let Some(parent) = path.parent() {
            fs::File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(io_err("sync", parent))?;
        }
        Ok(())
    }

    /// Loads the organisation's secret keys.
    pub fn load_keys(&self) -> Result<OrgKeys> {
        let path = self.key_path();
        if !path.exists() {
            return Err(DataDirError::NotInitialised(self.root.clone()));
        }
        self.load_key_file(&path)
    }

    fn load_key_file(&self, path: &Path) -> Result<OrgKeys> {
        let bytes = self.read_protected(path)?;
        let bad = |reason: String| DataDirError::BadKeyFile {
            path: path.to_path_buf(),
            reason,
        };
        let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        file.keys().map_err(bad)
    }

    /// Loads and checks `config.toml`.
    pub fn load_config(&self) -> Result<Config> {
        let path = self.config_path();
        if !self.is_initialised() {
            return Err(DataDirError::NotInitialised(self.root.clone()));
        }
        let text = fs::read_to_string(&path).map_err(io_err("read", &path))?;
        Config::parse(&text).map_err(|problem| DataDirError::Config { path, problem })
    }

    /// Loads the network genesis, if the node has joined one.
    pub fn load_network(&self) -> Result<Option<Network>> {
        let path = self.network_path();
        if !path.exists() {
            return Ok(None);
        }
        let rec = read_record(&path)?;
        Network::from_genesis(&rec)
            .map(Some)
            .map_err(|e| DataDirError::BadMembership {
                path,
                reason: e.to_string(),
            })
    }

    /// Loads the network and this node's certificate (checked against it, not for time).
    pub fn load_membership(&self) -> Result<(Network, Verified<MembershipCertificate>)> {
        self.load_membership_with(&[])
    }

    /// Like [`DataDir::load_membership`], with the steward successions the node stored
    /// (the certificate may come from a successor steward).
    pub fn load_membership_with(
        &self,
        successions: &[SignedRecord],
    ) -> Result<(Network, Verified<MembershipCertificate>)> {
        let mut network = self.load_network()?.ok_or(DataDirError::NotJoined)?;
        crate::membership::add_successions(&mut network, successions);
        let path = self.certificate_path();
        if !path.exists() {
            return Err(DataDirError::NotJoined);
        }
        let rec = read_record(&path)?;
        let cert = network
            .verify_certificate(&rec)
            .map_err(|e| DataDirError::BadMembership {
                path,
                reason: e.to_string(),
            })?;
        Ok((network, cert))
    }

    /// Stores the network genesis and this node's certificate (both already verified).
    pub fn store_membership(&self, network: &SignedRecord, cert: &SignedRecord) -> Result<()> {
        Self::write_public_file(&self.network_path(), &record_json(network))?;
        Self::write_public_file(&self.certificate_path(), &record_json(cert))
    }
}

/// A key file's JSON for `keys`.
fn key_file_bytes(path: &Path, keys: &OrgKeys) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(&KeyFile::of(keys)).map_err(|e| DataDirError::BadKeyFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads a signed record from a JSON file.
pub fn read_record(path: &Path) -> Result<SignedRecord> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|e| DataDirError::BadMembership {
        path: path.to_path_buf(),
        reason: format!("not a signed record: {e}"),
    })
}

/// A record as pretty JSON, the form used for every record file.
pub fn record_json(record: &SignedRecord) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail and every field of a SignedRecord serialises.
    if serde_json::to_writer_pretty(&mut out, record).is_err() {
        out.clear();
    }
    out.push(b'\n');
    out
}
