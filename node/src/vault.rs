//! The CSO's vault: worker personal data sealed at rest with a node-local key.
//!
//! Architecture invariant: worker identity (name, phone, messenger id, ID numbers) is stored
//! only as [`Sealed`] bytes, never logged, and leaves the node only inside an end-to-end
//! encrypted consented disclosure.

pub mod binding;

use crate::datadir::{DataDir, DataDirError};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use ilm_protocol::bytes::{from_hex_array, to_hex};
use serde::{Deserialize, Serialize};

/// Bytes sealed with the vault key (ChaCha20-Poly1305, random nonce, record id as AAD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// 12-byte nonce.
    #[serde(with = "ilm_protocol::bytes::hex_bytes")]
    pub nonce: Vec<u8>,
    /// Ciphertext with tag.
    #[serde(with = "ilm_protocol::bytes::hex_bytes")]
    pub ciphertext: Vec<u8>,
}

/// Why the vault failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Key file problems.
    #[error(transparent)]
    Key(#[from] DataDirError),
    /// The key file's content is damaged.
    #[error("vault key file is damaged")]
    BadKey,
    /// Sealed data does not open with this key (altered, or another node's).
    #[error("sealed data does not open: altered or sealed by another node")]
    Open,
    /// Sealed data opened but is not the value expected (written by another release?).
    #[error("sealed data opened but does not read as the value expected")]
    Decode,
    /// No randomness.
    #[error("the random source failed")]
    Random,
}

/// The node-local key that seals worker personal data.
pub struct Vault {
    cipher: ChaCha20Poly1305,
    /// A key derived from the vault key for [`Vault::keyed_hash`] (never the sealing key).
    hash_key: [u8; 32],
}

impl Vault {
    /// Opens the vault of a data directory, creating its owner-only key on first use
    /// (sealed with the passphrase when the node has one).
    pub fn open(dir: &DataDir) -> Result<Vault, VaultError> {
        let path = dir.vault_key_path();
        if !path.exists() {
            let key =
                ilm_protocol::identity::random_bytes::<32>().map_err(|_| VaultError::Random)?;
            dir.write_new_protected(&path, to_hex(&key).as_bytes())?;
        }
        let raw = dir.read_protected(&path)?;
        let text = std::str::from_utf8(&raw).map_err(|_| VaultError::BadKey)?;
        let key = from_hex_array::<32>(text.trim()).map_err(|_| VaultError::BadKey)?;
        let hash_key: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::new()
                .chain_update(b"ilm-vault-keyed-hash\0")
                .chain_update(key)
                .finalize()
                .into()
        };
        Ok(Vault {
            cipher: ChaCha20Poly1305::new(&key.into()),
            hash_key,
        })
    }

    /// HMAC-SHA256 of `parts` under a key derived from the vault key, for `domain`: what the
    /// node keeps instead of a secret it must recognise (a portal receipt or passphrase), so
    /// that a copy of the database without the vault key cannot test guesses offline.
    pub fn keyed_hash(&self, domain: &str, parts: &[&[u8]]) -> Result<[u8; 32], VaultError> {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.hash_key)
            .map_err(|_| VaultError::BadKey)?;
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        Ok(mac.finalize().into_bytes().into())
    }

    /// Seals `plaintext`, bound to `record_id` (a sealed value cannot be moved to another record).
    pub fn seal(&self, record_id: &[u8], plaintext: &[u8]) -> Result<Sealed, VaultError> {
        let nonce = ilm_protocol::identity::random_bytes::<12>().map_err(|_| VaultError::Random)?;
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: record_id,
                },
            )
            .map_err(|_| VaultError::Random)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Opens what [`Vault::seal`] sealed for `record_id`.
    pub fn open_sealed(&self, record_id: &[u8], sealed: &Sealed) -> Result<Vec<u8>, VaultError> {
        let nonce: [u8; 12] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Open)?;
        self.cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: record_id,
                },
            )
            .map_err(|_| VaultError::Open)
    }

    /// Seals a value as JSON.
    pub fn seal_json<T: Serialize>(
        &self,
        record_id: &[u8],
        value: &T,
    ) -> Result<Sealed, VaultError> {
        let bytes = serde_json::to_vec(value).map_err(|_| VaultError::Decode)?;
        self.seal(record_id, &bytes)
    }

    /// Opens a sealed JSON value.
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        record_id: &[u8],
        sealed: &Sealed,
    ) -> Result<T, VaultError> {
        let bytes = self.open_sealed(record_id, sealed)?;
        // Not `Open`: what opens but does not decode is readable, and must not be taken for
        // a record nobody can read (a retention sweep seals those again as nothing).
        serde_json::from_slice(&bytes).map_err(|_| VaultError::Decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_for_its_record_and_key() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::new(tmp.path());
        let vault = Vault::open(&dir).expect("vault");
        let sealed = vault
            .seal(b"contact-1", b"Somchai, +66 81 234 5678")
            .expect("seal");
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"Somchai"));
        assert_eq!(
            vault.open_sealed(b"contact-1", &sealed).expect("open"),
            b"Somchai, +66 81 234 5678"
        );
        assert!(vault.open_sealed(b"contact-2", &sealed).is_err());
        let other = tempfile::tempdir().expect("tempdir");
        let other_vault = Vault::open(&DataDir::new(other.path())).expect("vault");
        assert!(other_vault.open_sealed(b"contact-1", &sealed).is_err());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.vault_key_path())
                .expect("stat")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    /// What opens but does not read as the value expected is not taken for a record nobody
    /// can read (a retention sweep seals those again as nothing): it says so apart.
    #[test]
    fn what_opens_but_does_not_decode_is_not_unreadable() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let vault = Vault::open(&DataDir::new(tmp.path())).expect("vault");
        let sealed = vault.seal(b"c1", b"{\"unknown\": 1}").expect("seal");
        assert!(matches!(
            vault.open_json::<crate::intake::SealedContact>(b"c1", &sealed),
            Err(VaultError::Decode)
        ));
        assert!(matches!(
            vault.open_json::<crate::intake::SealedContact>(b"c2", &sealed),
            Err(VaultError::Open)
        ));
    }
}
