//! The sealed container of a backup: a clear header saying what it is and how its key is
//! found, then the archive encrypted in chunks (ChaCha20-Poly1305, the STREAM construction):
//! each chunk's nonce holds its number and whether it is the last, and the header is the
//! associated data of every chunk, so chunks cannot be dropped, reordered, cut off or moved
//! to another backup, and the header cannot be changed, without the reader noticing.

use crate::secrets::{KdfParams, Passphrase, SecretError};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use ilm_protocol::bytes::{from_hex_array, to_hex};
use ilm_protocol::{OrgId, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// A backup file's first bytes.
pub const MAGIC: &[u8; 12] = b"ILM-BACKUP\x00\x01";
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 1 << 20;
const LAST: u32 = 1 << 31;
const MAX_HEADER: usize = 64 * 1024;

/// The clear header of a backup file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SealedHeader {
    /// Always 1.
    pub version: u32,
    /// When the backup was made.
    pub created_at: Timestamp,
    /// Whose node it is.
    pub org_id: OrgId,
    /// How the key is found.
    pub protection: Protection,
    /// Seven random bytes, hex: the first part of every chunk's nonce.
    pub nonce_prefix: String,
}

/// How a backup's key is found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Protection {
    /// From a passphrase, with argon2id.
    Passphrase {
        /// The derivation's parameters.
        kdf: KdfParams,
    },
    /// From a recovery key (`ilm recovery-key new`).
    RecoveryKey {
        /// Which recovery key (a hash of it, hex), so the wrong one is named as such.
        key_id: String,
    },
}

/// A recovery key: 32 random bytes, kept offline (or split among trusted parties).
pub struct RecoveryKey(Zeroizing<[u8; 32]>);

const RECOVERY_KEY_PREFIX: &str = "ilm-recovery-key-1:";

impl RecoveryKey {
    /// A fresh random key.
    pub fn generate() -> Result<RecoveryKey, SecretError> {
        let bytes = ilm_protocol::identity::random_bytes::<32>()
            .map_err(|e| SecretError::Kdf(e.to_string()))?;
        Ok(RecoveryKey(Zeroizing::new(bytes)))
    }

    /// The key as raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> RecoveryKey {
        RecoveryKey(Zeroizing::new(bytes))
    }

    /// The raw bytes (to split into shares).
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key file's text.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{RECOVERY_KEY_PREFIX}{}\n",
            to_hex(self.0.as_ref())
        ))
    }

    /// Reads a key file's text.
    pub fn parse(text: &str) -> Result<RecoveryKey, String> {
        let hex = text
            .trim()
            .strip_prefix(RECOVERY_KEY_PREFIX)
            .ok_or("not an ilm recovery key (it should start with ilm-recovery-key-1:)")?;
        let bytes = from_hex_array::<32>(hex).map_err(|_| "the recovery key is damaged")?;
        Ok(RecoveryKey::from_bytes(bytes))
    }

    /// Its public name: a hash, so a backup can say which key it needs.
    pub fn key_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"ilm recovery key id v1");
        h.update(self.0.as_ref());
        to_hex(&h.finalize()[..8])
    }

    fn content_key(&self) -> Zeroizing<[u8; 32]> {
        let mut h = Sha256::new();
        h.update(b"ilm backup key v1");
        h.update(self.0.as_ref());
        Zeroizing::new(h.finalize().into())
    }
}

/// What unlocks a backup.
pub enum BackupSecret {
    /// An operator's backup passphrase.
    Passphrase(Passphrase),
    /// A recovery key.
    RecoveryKey(RecoveryKey),
}

/// Why a backup file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Not a backup file, or a damaged header.
    #[error("not an ilm backup file, or its header is damaged: {0}")]
    NotABackup(String),
    /// It needs another kind of secret.
    #[error("{0}")]
    WrongKind(String),
    /// A key derivation failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

fn key_for(
    protection: &Protection,
    secret: &BackupSecret,
    file: &Path,
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    match (protection, secret) {
        (Protection::Passphrase { kdf }, BackupSecret::Passphrase(p)) => Ok(kdf.derive(p, file)?),
        (Protection::RecoveryKey { key_id }, BackupSecret::RecoveryKey(k)) => {
            if &k.key_id() != key_id {
                return Err(SealError::WrongKind(format!(
                    "this backup is sealed to recovery key {key_id}, not to {}",
                    k.key_id()
                )));
            }
            Ok(k.content_key())
        }
        (Protection::Passphrase { .. }, BackupSecret::RecoveryKey(_)) => Err(SealError::WrongKind(
            "this backup is sealed with a passphrase, not a recovery key".into(),
        )),
        (Protection::RecoveryKey { key_id }, BackupSecret::Passphrase(_)) => {
            Err(SealError::WrongKind(format!(
                "this backup is sealed to recovery key {key_id}; pass it with --recovery-key"
            )))
        }
    }
}

fn nonce(prefix: &[u8; 7], counter: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Writes a sealed backup: the header at once, then the archive in chunks.
pub struct SealWriter<W: Write> {
    w: W,
    cipher: ChaCha20Poly1305,
    prefix: [u8; 7],
    aad: Vec<u8>,
    counter: u32,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write> SealWriter<W> {
    /// Starts a backup file for `org_id`, sealed with `secret` (`file` names it in errors).
    pub fn new(
        mut w: W,
        org_id: OrgId,
        created_at: Timestamp,
        secret: &BackupSecret,
        file: &Path,
    ) -> Result<SealWriter<W>, SealError> {
        let protection = match secret {
            BackupSecret::Passphrase(_) => Protection::Passphrase {
                kdf: KdfParams::fresh()?,
            },
            BackupSecret::RecoveryKey(k) => Protection::RecoveryKey { key_id: k.key_id() },
        };
        let prefix = ilm_protocol::identity::random_bytes::<7>()
            .map_err(|e| SecretError::Kdf(e.to_string()))?;
        let header = SealedHeader {
            version: 1,
            created_at,
            org_id,
            protection,
            nonce_prefix: to_hex(&prefix),
        };
        let key = key_for(&header.protection, secret, file)?;
        let aad = serde_json::to_vec(&header).map_err(io::Error::other)?;
        w.write_all(MAGIC)?;
        w.write_all(&(aad.len() as u32).to_be_bytes())?;
        w.write_all(&aad)?;
        Ok(SealWriter {
            w,
            cipher: ChaCha20Poly1305::new(&(*key).into()),
            prefix,
            aad,
            counter: 0,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK)),
        })
    }

    fn emit(&mut self, last: bool) -> io::Result<()> {
        let sealed = self
            .cipher
            .encrypt(
                &nonce(&self.prefix, self.counter, last).into(),
                Payload {
                    msg: &self.buf,
                    aad: &self.aad,
                },
            )
            .map_err(|_| io::Error::other("encryption failed"))?;
        let len = sealed.len() as u32 | if last { LAST } else { 0 };
        self.w.write_all(&len.to_be_bytes())?;
        self.w.write_all(&sealed)?;
        self.buf.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("backup too large"))?;
        Ok(())
    }

    /// Seals what is buffered as the last chunk and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.emit(true)?;
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.emit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Chunks are sealed when full or at `finish`; a partial one stays buffered.
        Ok(())
    }
}

/// Reads a backup file's clear header (to say what it is before asking for its secret).
pub fn read_header(r: &mut impl Read) -> Result<(SealedHeader, Vec<u8>), SealError> {
    let not = |why: &str| SealError::NotABackup(why.to_string());
    let mut magic = [0u8; 12];
    r.read_exact(&mut magic).map_err(|_| not("too short"))?;
    if &magic != MAGIC {
        return Err(not("wrong magic bytes"));
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|_| not("too short"))?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_HEADER {
        return Err(not("header too long"));
    }
    let mut aad = vec![0u8; len];
    r.read_exact(&mut aad).map_err(|_| not("too short"))?;
    let header: SealedHeader =
        serde_json::from_slice(&aad).map_err(|e| SealError::NotABackup(e.to_string()))?;
    if header.version != 1 {
        return Err(not("unknown version"));
    }
    Ok((header, aad))
}

/// Reads the archive out of a sealed backup, chunk by chunk; every byte it returns was
/// authenticated, and it fails rather than end early.
pub struct OpenReader<R: Read> {
    r: R,
    cipher: ChaCha20Poly1305,
    prefix: [u8; 7],
    aad: Vec<u8>,
    counter: u32,
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    done: bool,
}

impl<R: Read> OpenReader<R> {
    /// Opens the chunks that follow a header read with [`read_header`].
    pub fn new(
        r: R,
        header: &SealedHeader,
        aad: Vec<u8>,
        secret: &BackupSecret,
        file: &Path,
    ) -> Result<OpenReader<R>, SealError> {
        let prefix = from_hex_array::<7>(&header.nonce_prefix)
            .map_err(|_| SealError::NotABackup("nonce prefix".into()))?;
        let key = key_for(&header.protection, secret, file)?;
        Ok(OpenReader {
            r,
            cipher: ChaCha20Poly1305::new(&(*key).into()),
            prefix,
            aad,
            counter: 0,
            buf: Zeroizing::new(Vec::new()),
            pos: 0,
            done: false,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let cut = || io::Error::new(io::ErrorKind::InvalidData, "the backup file is cut off");
        let mut len = [0u8; 4];
        self.r.read_exact(&mut len).map_err(|_| cut())?;
        let word = u32::from_be_bytes(len);
        let last = word & LAST != 0;
        let len = (word & !LAST) as usize;
        if len > CHUNK + 16 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a chunk is too long: the backup file is damaged",
            ));
        }
        let mut sealed = vec![0u8; len];
        self.r.read_exact(&mut sealed).map_err(|_| cut())?;
        let clear = self
            .cipher
            .decrypt(
                &nonce(&self.prefix, self.counter, last).into(),
                Payload {
                    msg: &sealed,
                    aad: &self.aad,
                },
            )
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, WRONG_KEY))?;
        self.counter = self.counter.checked_add(1).ok_or_else(cut)?;
        self.buf.zeroize();
        *self.buf = clear;
        self.pos = 0;
        if last {
            let mut extra = [0u8; 1];
            if self.r.read(&mut extra)? != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bytes after the end of the backup: the file was changed",
                ));
            }
            self.done = true;
        }
        Ok(())
    }
}

/// The message of a chunk that does not authenticate.
pub const WRONG_KEY: &str =
    "the backup does not open: wrong passphrase or recovery key, or the file was changed";

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(data: &[u8], key: &RecoveryKey) -> Vec<u8> {
        let secret = BackupSecret::RecoveryKey(RecoveryKey::from_bytes(*key.bytes()));
        let mut w = SealWriter::new(
            Vec::new(),
            OrgId([1; 32]),
            Timestamp(1),
            &secret,
            Path::new("t"),
        )
        .expect("seal");
        w.write_all(data).expect("write");
        w.finish().expect("finish")
    }

    fn open(bytes: &[u8], key: &RecoveryKey) -> Result<Vec<u8>, String> {
        let mut r = bytes;
        let (header, aad) = read_header(&mut r).map_err(|e| e.to_string())?;
        let secret = BackupSecret::RecoveryKey(RecoveryKey::from_bytes(*key.bytes()));
        let mut reader =
            OpenReader::new(r, &header, aad, &secret, Path::new("t")).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn sealed_data_opens_with_its_key_only_and_whole() {
        let key = RecoveryKey::generate().expect("key");
        let data: Vec<u8> = (0..(CHUNK * 2 + 123)).map(|i| (i % 251) as u8).collect();
        let bytes = seal(&data, &key);
        assert_eq!(open(&bytes, &key).expect("open"), data);
        // The plaintext is not in the file (positive control: it is in `data`).
        assert!(data.windows(64).any(|w| w == &data[1000..1064]));
        assert!(!bytes.windows(64).any(|w| w == &data[1000..1064]));
        // Another key is named as such.
        let other = RecoveryKey::generate().expect("key");
        assert!(
            open(&bytes, &other)
                .expect_err("refused")
                .contains("not to")
        );
        // Cut off at a chunk boundary or inside one, a changed byte, trailing bytes.
        let header_len = bytes.len() - (data.len() + 3 * (4 + 16));
        for cut in [header_len, header_len + 4 + CHUNK + 16, bytes.len() - 1] {
            assert!(open(&bytes[..cut], &key).is_err(), "cut at {cut} opened");
        }
        let mut changed = bytes.clone();
        changed[header_len + 100] ^= 1;
        assert!(
            open(&changed, &key)
                .expect_err("refused")
                .contains("changed")
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(open(&longer, &key).is_err());
        // Dropping the last chunk's flag (making it look like a middle chunk) fails too.
        let mut unflagged = bytes.clone();
        let last_len_at = header_len + 2 * (4 + CHUNK + 16);
        unflagged[last_len_at] &= 0x7f;
        assert!(open(&unflagged, &key).is_err());
    }

    #[test]
    fn a_recovery_key_file_round_trips_and_bad_ones_are_refused() {
        let key = RecoveryKey::generate().expect("key");
        let back = RecoveryKey::parse(&key.to_text()).expect("parse");
        assert_eq!(back.bytes(), key.bytes());
        assert!(RecoveryKey::parse("ilm-recovery-key-1:zz").is_err());
        assert!(RecoveryKey::parse("hello").is_err());
    }
}
