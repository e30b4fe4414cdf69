//! Secret key files protected by an operator passphrase (argon2id, then ChaCha20-Poly1305).
//!
//! A protected file keeps what the clear file held, sealed under a key derived from the
//! passphrase with the parameters stored beside it; the file's own name is the associated
//! data, so a protected vault key cannot pass for an identity key. The passphrase comes from
//! a credential file, a file descriptor or the terminal, never from an argument or the
//! environment (other local users can read both through `/proc`).
//!
//! Architecture invariant: a passphrase-protected node never writes its secret keys in the
//! clear, and the passphrase itself is never written anywhere.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use ilm_protocol::bytes::{from_hex, from_hex_array, to_hex};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// The systemd credential name `ilm run` looks for in `$CREDENTIALS_DIRECTORY`.
pub const CREDENTIAL_NAME: &str = "ilm-passphrase";

/// Shortest passphrase accepted when one is set.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Version tag of a protected key file (clear key files are version 1 or bare hex).
const PROTECTED_VERSION: u32 = 2;

/// Why a protected secret could not be read, written or unlocked.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file is protected and no passphrase source was given.
    #[error(
        "{0} is protected by a passphrase: give it with --passphrase-file PATH, --passphrase-fd N, a systemd credential named `ilm-passphrase`, or at the prompt on a terminal"
    )]
    NeedPassphrase(PathBuf),
    /// A passphrase was given for a node whose keys are stored in the clear.
    #[error(
        "a passphrase was given but {0} is not protected by one; set it with `ilm key passphrase`, or give none"
    )]
    NotProtected(PathBuf),
    /// The passphrase does not open the file (or the file was altered).
    #[error("the passphrase does not open {0} (wrong passphrase, or the file was altered)")]
    WrongPassphrase(PathBuf),
    /// The protected file is not in the expected form.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading the passphrase failed.
    #[error("cannot read the passphrase from {from}: {reason}")]
    Source {
        /// Where it was read from.
        from: String,
        /// What went wrong.
        reason: String,
    },
    /// The passphrase is too short or empty.
    #[error("a passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")]
    TooShort,
    /// Key derivation or randomness failed.
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

/// An operator passphrase, wiped from memory when dropped.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// A passphrase from text (the first line; the line ending is not part of it).
    pub fn new(text: &str) -> Result<Passphrase, SecretError> {
        let line = text.lines().next().unwrap_or("");
        if line.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(SecretError::TooShort);
        }
        Ok(Passphrase(Zeroizing::new(line.to_string())))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether two passphrases are the same (for "type it again").
    pub fn same_as(&self, other: &Passphrase) -> bool {
        self.0.as_bytes() == other.0.as_bytes()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

/// Where a passphrase is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseSource {
    /// A file (such as a systemd credential): its first line.
    File(PathBuf),
    /// An inherited file descriptor: its first line.
    Fd(u32),
    /// The controlling terminal, without echo.
    Prompt,
}

impl PassphraseSource {
    /// Reads the passphrase once.
    pub fn read(&self, prompt: &str) -> Result<Passphrase, SecretError> {
        let text = match self {
            PassphraseSource::File(p) => read_limited(p, &p.display().to_string())?,
            // /dev/fd/N opens the inherited descriptor without unsafe code.
            PassphraseSource::Fd(n) => {
                read_limited(Path::new(&format!("/dev/fd/{n}")), &format!("fd {n}"))?
            }
            PassphraseSource::Prompt => {
                Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| {
                    SecretError::Source {
                        from: "the terminal".into(),
                        reason: format!(
                            "{e} (no terminal? use --passphrase-file or --passphrase-fd)"
                        ),
                    }
                })?)
            }
        };
        Passphrase::new(&text)
    }

    /// The source named by flags, else a systemd credential if one is present.
    pub fn from_flags(file: Option<PathBuf>, fd: Option<u32>) -> Option<PassphraseSource> {
        if let Some(f) = file {
            return Some(PassphraseSource::File(f));
        }
        if let Some(n) = fd {
            return Some(PassphraseSource::Fd(n));
        }
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
        let cred = PathBuf::from(dir).join(CREDENTIAL_NAME);
        cred.exists().then_some(PassphraseSource::File(cred))
    }
}

fn read_limited(path: &Path, from: &str) -> Result<Zeroizing<String>, SecretError> {
    let err = |reason: String| SecretError::Source {
        from: from.to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut buf = Zeroizing::new(Vec::new());
    file.take(4096)
        .read_to_end(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    let text = std::str::from_utf8(&buf).map_err(|_| err("not UTF-8 text".into()))?;
    Ok(Zeroizing::new(text.to_string()))
}

/// The passphrase of one command or daemon run: read at most once, when first needed.
#[derive(Clone, Default)]
pub struct Unlocker {
    source: Option<PassphraseSource>,
    cached: Arc<Mutex<Option<Arc<Passphrase>>>>,
}

impl std::fmt::Debug for Unlocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocker")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Unlocker {
    /// An unlocker reading from `source`; with none, it prompts only on a terminal.
    pub fn new(source: Option<PassphraseSource>) -> Unlocker {
        Unlocker {
            source,
            cached: Arc::default(),
        }
    }

    /// An unlocker holding a passphrase already read.
    pub fn with(passphrase: Passphrase) -> Unlocker {
        Unlocker {
            source: None,
            cached: Arc::new(Mutex::new(Some(Arc::new(passphrase)))),
        }
    }

    /// Whether a passphrase was given (so new secrets are written protected).
    pub fn has_source(&self) -> bool {
        self.source.is_some() || self.cached_value().is_some()
    }

    fn cached_value(&self) -> Option<Arc<Passphrase>> {
        self.cached.lock().ok().and_then(|c| c.clone())
    }

    /// The passphrase, reading it on first use; `for_file` names the file that needs it.
    pub fn passphrase(&self, for_file: &Path) -> Result<Arc<Passphrase>, SecretError> {
        if let Some(p) = self.cached_value() {
            return Ok(p);
        }
        let source = match &self.source {
            Some(s) => s.clone(),
            None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => PassphraseSource::Prompt,
            None => return Err(SecretError::NeedPassphrase(for_file.to_path_buf())),
        };
        let p = Arc::new(source.read("Passphrase for this node's keys: ")?);
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(p.clone());
        }
        Ok(p)
    }
}

/// The argon2id parameters stored in a protected file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always "argon2id".
    pub alg: String,
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
    /// 16 random bytes, hex.
    pub salt: String,
}

impl KdfParams {
    /// Fresh parameters for a new protected file: 64 MiB, 3 passes (OWASP's argon2id advice
    /// is at least 19 MiB and 2 passes; a node unlocks once per start).
    pub(crate) fn fresh() -> Result<KdfParams, SecretError> {
        let salt = ilm_protocol::identity::random_bytes::<16>()
            .map_err(|e| SecretError::Kdf(e.to_string()))?;
        Ok(KdfParams {
            alg: "argon2id".into(),
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
            salt: to_hex(&salt),
        })
    }

    pub(crate) fn derive(
        &self,
        pass: &Passphrase,
        path: &Path,
    ) -> Result<Zeroizing<[u8; 32]>, SecretError> {
        let damaged = |reason: &str| SecretError::Damaged {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        if self.alg != "argon2id" {
            return Err(damaged("unknown key derivation"));
        }
        // Bounds keep a crafted file from asking for gigabytes or hours.
        if !(8 * 1024..=1024 * 1024).contains(&self.m_cost_kib)
            || !(1..=16).contains(&self.t_cost)
            || !(1..=8).contains(&self.p_cost)
        {
            return Err(damaged("key derivation parameters out of range"));
        }
        let salt = from_hex(&self.salt).map_err(|_| damaged("salt is not hex"))?;
        if salt.len() < 16 {
            return Err(damaged("salt too short"));
        }
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| SecretError::Kdf(e.to_string()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(pass.bytes(), &salt, key.as_mut())
            .map_err(|e| SecretError::Kdf(e.to_string()))?;
        Ok(key)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectedFile {
    version: u32,
    kdf: KdfParams,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

/// Whether file contents are a passphrase-protected secret.
pub fn is_protected(contents: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        version: u32,
        kdf: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(contents)
        .map(|p| p.version == PROTECTED_VERSION && p.kdf.is_some())
        .unwrap_or(false)
}

fn aad(path: &Path) -> Vec<u8> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("ilm protected secret v2: {name}").into_bytes()
}

/// Seals clear secret file contents for `path` under `pass`.
pub fn protect(path: &Path, clear: &[u8], pass: &Passphrase) -> Result<Vec<u8>, SecretError> {
    let kdf = KdfParams::fresh()?;
    let key = kdf.derive(pass, path)?;
    let nonce = ilm_protocol::identity::random_bytes::<12>()
        .map_err(|e| SecretError::Kdf(e.to_string()))?;
    let ciphertext = ChaCha20Poly1305::new(&(*key).into())
        .encrypt(
            &nonce.into(),
            Payload {
                msg: clear,
                aad: &aad(path),
            },
        )
        .map_err(|_| SecretError::Kdf("encryption failed".into()))?;
    let file = ProtectedFile {
        version: PROTECTED_VERSION,
        kdf,
        cipher: "chacha20poly1305".into(),
        nonce: to_hex(&nonce),
        ciphertext: to_hex(&ciphertext),
    };
    let mut out = serde_json::to_vec_pretty(&file).map_err(|e| SecretError::Kdf(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// Opens what [`protect`] sealed for `path`.
pub fn unprotect(
    path: &Path,
    contents: &[u8],
    pass: &Passphrase,
) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let damaged = |reason: String| SecretError::Damaged {
        path: path.to_path_buf(),
        reason,
    };
    let file: ProtectedFile =
        serde_json::from_slice(contents).map_err(|e| damaged(e.to_string()))?;
    if file.version != PROTECTED_VERSION || file.cipher != "chacha20poly1305" {
        return Err(damaged("unknown protected file version or cipher".into()));
    }
    let nonce = from_hex_array::<12>(&file.nonce).map_err(|e| damaged(e.to_string()))?;
    let ciphertext = from_hex(&file.ciphertext).map_err(|e| damaged(e.to_string()))?;
    let key = file.kdf.derive(pass, path)?;
    ChaCha20Poly1305::new(&(*key).into())
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &ciphertext,
                aad: &aad(path),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SecretError::WrongPassphrase(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s).expect("passphrase")
    }

    #[test]
    fn protected_secret_opens_only_with_its_passphrase_and_name() {
        let path = Path::new("/data/identity.key");
        let clear = b"{\"signing_seed\":\"00112233\"}";
        let sealed = protect(path, clear, &pass("correct horse battery")).expect("protect");
        assert!(is_protected(&sealed));
        assert!(!is_protected(clear));
        assert!(!sealed.windows(8).any(|w| w == b"00112233"));
        let opened = unprotect(path, &sealed, &pass("correct horse battery")).expect("open");
        assert_eq!(opened.as_slice(), clear);
        assert!(matches!(
            unprotect(path, &sealed, &pass("wrong horse battery")),
            Err(SecretError::WrongPassphrase(_))
        ));
        // The same bytes under another file name do not open: no swapping vault for identity.
        assert!(matches!(
            unprotect(
                Path::new("/data/vault.key"),
                &sealed,
                &pass("correct horse battery")
            ),
            Err(SecretError::WrongPassphrase(_))
        ));
    }

    #[test]
    fn crafted_parameters_and_short_passphrases_are_refused() {
        assert!(matches!(
            Passphrase::new("short"),
            Err(SecretError::TooShort)
        ));
        assert!(matches!(
            Passphrase::new("\nlong enough later"),
            Err(SecretError::TooShort)
        ));
        let path = Path::new("identity.key");
        let sealed = protect(path, b"secret", &pass("correct horse battery")).expect("protect");
        let mut file: serde_json::Value = serde_json::from_slice(&sealed).expect("json");
        file["kdf"]["m_cost_kib"] = serde_json::json!(u32::MAX);
        let crafted = serde_json::to_vec(&file).expect("json");
        let Err(err) = unprotect(path, &crafted, &pass("correct horse battery")) else {
            panic!("crafted parameters accepted");
        };
        assert!(err.to_string().contains("out of range"), "{err}");
    }
}
