//! End-to-end encrypted, signed envelopes to one or more named recipients.
//!
//! Construction (see docs/PROTOCOL.md): a fresh 32-byte content key encrypts the payload once
//! with ChaCha20-Poly1305 (zero nonce: the key is used once) and the header bytes as associated
//! data; the content key is sealed to each recipient with HPKE base mode (RFC 9180,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305), again with the header as
//! associated data; the sender signs everything with its ed25519 key.

use crate::bytes::byte_newtype;
use crate::identity::{
    EncryptionKey, OrgId, OrgKeys, RandomError, SignatureBytes, Timestamp, random_bytes, verify_raw,
};
use crate::membership::NetworkId;
use crate::rotation::{KeyBook, OwnKeysOnly};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use serde::{Deserialize, Serialize};

type HpkeKem = hpke::kem::X25519HkdfSha256;
type HpkeKdf = hpke::kdf::HkdfSha256;
type HpkeAead = hpke::aead::ChaCha20Poly1305;

/// HPKE `info` for content-key wraps.
pub const HPKE_INFO: &[u8] = b"ilm/v1/envelope-key";
/// Prefix of the envelope signature input.
pub const SIGNING_PREFIX: &[u8] = b"ilm/v1/envelope\n";
/// Most recipients one envelope may name.
pub const MAX_RECIPIENTS: usize = 32;
/// Size of one sealed content key: 32-byte key plus 16-byte tag.
pub const WRAPPED_KEY_LEN: usize = 48;

byte_newtype!(
    /// A message id: random, unique per message; receivers process each id at most once.
    MessageId,
    16
);

/// What an envelope's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A signed case event.
    CaseEvent,
    /// A supply-chain link to co-sign, or co-signed.
    SupplyChainLink,
    /// A remediation attestation to co-sign, or co-signed.
    Attestation,
    /// Worker identity disclosed to a recipient the worker consented to.
    ConsentedDisclosure,
    /// Case events a participant asked for while catching up.
    HistorySync,
    /// A CSO's redacted status of a case, for brands linked to the supplier.
    StatusReport,
    /// A CSO's signed monthly statistics, for every member.
    PublishedStatistics,
    /// An activity of an improvement plan, for linked brands and the CSOs it works with.
    ImprovementActivity,
    /// An agency's or supplier's job listing, for every CSO.
    JobListing,
    /// A CSO's summary of ratings of one organisation, for every member.
    RatingSummary,
    /// A rated organisation's public answer, for every member.
    RatingAnswer,
    /// A broker alert a CSO reviewed and publishes, for every CSO (and its proposer).
    BrokerAlert,
    /// An agency's proposed broker alert, for the CSO it asks to review it.
    AlertProposal,
}

/// The envelope header: sent in clear, authenticated by the AEAD and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Network of sender and recipients.
    pub network_id: NetworkId,
    /// Unique message id.
    pub message_id: MessageId,
    /// Who sent it (and signed it).
    pub sender: OrgId,
    /// The key the sender signed with, when it is not the sender's id (after a rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_key: Option<OrgId>,
    /// Who can read it, in the order of the key wraps.
    pub recipients: Vec<OrgId>,
    /// What the payload is.
    pub kind: MessageKind,
    /// When it was sealed.
    pub created_at: Timestamp,
}

/// One recipient's sealed copy of the content key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyWrap {
    /// HPKE encapsulated key (ephemeral X25519 public key).
    pub enc: EncryptionKey,
    /// HPKE ciphertext of the content key.
    #[serde(with = "crate::bytes::hex_bytes")]
    pub sealed_key: Vec<u8>,
}

/// A signed, encrypted message as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The header's exact bytes (JSON), carried as they are.
    #[serde(with = "crate::bytes::hex_bytes")]
    pub header: Vec<u8>,
    /// One key wrap per recipient, same order as `Header::recipients`.
    pub wraps: Vec<KeyWrap>,
    /// Payload ciphertext with its 16-byte tag.
    #[serde(with = "crate::bytes::hex_bytes")]
    pub ciphertext: Vec<u8>,
    /// Sender's ed25519 signature over [`Envelope::signing_input`].
    pub signature: SignatureBytes,
}

/// A recipient: who, and the key to seal to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The recipient's id.
    pub org_id: OrgId,
    /// Its certified encryption key.
    pub encryption_key: EncryptionKey,
}

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Header bytes are not a valid header.
    #[error("malformed envelope header: {0}")]
    MalformedHeader(String),
    /// Structure does not fit the header.
    #[error("malformed envelope: {0}")]
    Malformed(&'static str),
    /// Signature does not verify for the named sender.
    #[error("envelope signature does not verify: altered or forged")]
    BadSignature,
    /// Signed with a key that was not the sender's when the envelope was sealed.
    #[error("envelope signed with a key that was not the sender's at that time")]
    UnboundKey,
    /// This node is not a named recipient.
    #[error("this node is not a recipient of the message")]
    NotARecipient,
    /// Decryption failed (wrong key, or header or ciphertext altered).
    #[error("decryption failed: wrong recipient key or altered message")]
    Decrypt,
    /// Sealing failed.
    #[error("encryption failed: {0}")]
    Seal(String),
    /// No randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// An envelope whose signature was verified, not yet decrypted.
#[derive(Debug)]
pub struct Checked<'a> {
    envelope: &'a Envelope,
    header: Header,
}

impl Checked<'_> {
    /// The authenticated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Decrypts as recipient `me` (the signature was checked by [`Envelope::check`]).
    pub fn open(self, me: &OrgKeys) -> Result<Opened, EnvelopeError> {
        self.envelope.decrypt(self.header, me)
    }
}

/// A verified and decrypted envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The parsed header.
    pub header: Header,
    /// The plaintext payload.
    pub payload: Vec<u8>,
}

fn payload_cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&(*key).into())
}

const ZERO_NONCE: [u8; 12] = [0u8; 12];

fn distinct(ids: &[OrgId]) -> bool {
    let set: std::collections::BTreeSet<&OrgId> = ids.iter().collect();
    set.len() == ids.len()
}

impl Envelope {
    /// Encrypts `payload` to `recipients` and signs it as `sender`.
    pub fn seal(
        sender: &OrgKeys,
        network_id: NetworkId,
        kind: MessageKind,
        recipients: &[Recipient],
        created_at: Timestamp,
        payload: &[u8],
    ) -> Result<Envelope, EnvelopeError> {
        if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
            return Err(EnvelopeError::Malformed("needs 1 to 32 recipients"));
        }
        let ids: Vec<OrgId> = recipients.iter().map(|r| r.org_id).collect();
        if !distinct(&ids) {
            return Err(EnvelopeError::Malformed("a recipient is named twice"));
        }
        let header = Header {
            network_id,
            message_id: MessageId(random_bytes()?),
            sender: sender.org_id(),
            sender_key: (sender.signing_key_id() != sender.org_id())
                .then(|| sender.signing_key_id()),
            recipients: recipients.iter().map(|r| r.org_id).collect(),
            kind,
            created_at,
        };
        let header_bytes =
            serde_json::to_vec(&header).map_err(|e| EnvelopeError::Seal(e.to_string()))?;
        let content_key: [u8; 32] = random_bytes()?;
        let ciphertext = payload_cipher(&content_key)
            .encrypt(
                &ZERO_NONCE.into(),
                Payload {
                    msg: payload,
                    aad: &header_bytes,
                },
            )
            .map_err(|e| EnvelopeError::Seal(e.to_string()))?;
        let mut wraps = Vec::with_capacity(recipients.len());
        for r in recipients {
            let pk = <HpkeKem as hpke::Kem>::PublicKey::from_bytes(&r.encryption_key.0)
                .map_err(|e| EnvelopeError::Seal(format!("recipient key: {e}")))?;
            let (enc, sealed_key) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, HpkeKem>(
                &OpModeS::Base,
                &pk,
                HPKE_INFO,
                &content_key,
                &header_bytes,
            )
            .map_err(|e| EnvelopeError::Seal(e.to_string()))?;
            let mut enc_bytes = [0u8; 32];
            enc_bytes.copy_from_slice(&enc.to_bytes());
            wraps.push(KeyWrap {
                enc: EncryptionKey(enc_bytes),
                sealed_key,
            });
        }
        let mut env = Envelope {
            header: header_bytes,
            wraps,
            ciphertext,
            signature: SignatureBytes([0u8; 64]),
        };
        env.signature = sender.sign_raw(&env.signing_input());
        Ok(env)
    }

    /// The bytes the sender signs: prefix, then header, key wraps and ciphertext, each
    /// length-prefixed with a 4-byte big-endian count.
    pub fn signing_input(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            SIGNING_PREFIX.len()
                + 12
                + self.header.len()
                + self.wraps.len() * 84
                + self.ciphertext.len(),
        );
        out.extend_from_slice(SIGNING_PREFIX);
        out.extend_from_slice(&(self.header.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&(self.wraps.len() as u32).to_be_bytes());
        for w in &self.wraps {
            out.extend_from_slice(&w.enc.0);
            out.extend_from_slice(&(w.sealed_key.len() as u32).to_be_bytes());
            out.extend_from_slice(&w.sealed_key);
        }
        out.extend_from_slice(&(self.ciphertext.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses the header and checks the envelope's shape and the sender's signature, made
    /// with the sender's id; no decryption. Callers then check the sender's membership
    /// before opening.
    pub fn verify(&self) -> Result<Header, EnvelopeError> {
        self.verify_with(&OwnKeysOnly)
    }

    /// Like [`Envelope::verify`], accepting a signature by a key that `keys` says was the
    /// sender's when the envelope was sealed.
    pub fn verify_with(&self, keys: &dyn KeyBook) -> Result<Header, EnvelopeError> {
        let header: Header = serde_json::from_slice(&self.header)
            .map_err(|e| EnvelopeError::MalformedHeader(e.to_string()))?;
        if header.recipients.is_empty() || header.recipients.len() > MAX_RECIPIENTS {
            return Err(EnvelopeError::Malformed("needs 1 to 32 recipients"));
        }
        if header.recipients.len() != self.wraps.len() {
            return Err(EnvelopeError::Malformed("one key wrap per recipient"));
        }
        if self
            .wraps
            .iter()
            .any(|w| w.sealed_key.len() != WRAPPED_KEY_LEN)
        {
            return Err(EnvelopeError::Malformed("sealed key must be 48 bytes"));
        }
        let key = header.sender_key.unwrap_or(header.sender);
        if !verify_raw(&key, &self.signing_input(), &self.signature) {
            return Err(EnvelopeError::BadSignature);
        }
        if !keys.may_sign(&header.sender, &key, Some(header.created_at)) {
            return Err(EnvelopeError::UnboundKey);
        }
        Ok(header)
    }

    /// Verifies the signature (made with the sender's id), then decrypts as recipient `me`.
    pub fn open(&self, me: &OrgKeys) -> Result<Opened, EnvelopeError> {
        self.open_with(me, &OwnKeysOnly)
    }

    /// Like [`Envelope::open`], with the sender's keys taken from `keys`.
    pub fn open_with(&self, me: &OrgKeys, keys: &dyn KeyBook) -> Result<Opened, EnvelopeError> {
        let header = self.verify_with(keys)?;
        self.decrypt(header, me)
    }

    /// Verifies the shape and signature once (made with the sender's id); the result can be
    /// inspected (sender, recipients, id) before it is opened, without verifying again.
    pub fn check(&self) -> Result<Checked<'_>, EnvelopeError> {
        self.check_with(&OwnKeysOnly)
    }

    /// Like [`Envelope::check`], with the sender's keys taken from `keys`.
    pub fn check_with(&self, keys: &dyn KeyBook) -> Result<Checked<'_>, EnvelopeError> {
        let header = self.verify_with(keys)?;
        Ok(Checked {
            envelope: self,
            header,
        })
    }

    /// The header as the envelope claims it, NOT authenticated: for the sender's own
    /// envelopes and for echoing an id in a refusal. Use [`Envelope::check`] otherwise.
    pub fn claimed_header(&self) -> Result<Header, EnvelopeError> {
        serde_json::from_slice(&self.header)
            .map_err(|e| EnvelopeError::MalformedHeader(e.to_string()))
    }

    /// Decrypts without checking the outer signature (the AEADs still bind the header).
    /// Only for tests and tools that show what the AEAD alone guarantees.
    pub fn open_unsigned(&self, me: &OrgKeys) -> Result<Opened, EnvelopeError> {
        let header: Header = serde_json::from_slice(&self.header)
            .map_err(|e| EnvelopeError::MalformedHeader(e.to_string()))?;
        if header.recipients.len() != self.wraps.len() {
            return Err(EnvelopeError::Malformed("one key wrap per recipient"));
        }
        self.decrypt(header, me)
    }

    fn decrypt(&self, header: Header, me: &OrgKeys) -> Result<Opened, EnvelopeError> {
        let index = header
            .recipients
            .iter()
            .position(|r| *r == me.org_id())
            .ok_or(EnvelopeError::NotARecipient)?;
        let wrap = &self.wraps[index];
        let enc = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(&wrap.enc.0)
            .map_err(|_| EnvelopeError::Decrypt)?;
        // Sealed before a rotation reached the sender, a message is to an earlier key.
        let key = me
            .decryption_secrets()
            .find_map(|secret| {
                let sk = <HpkeKem as hpke::Kem>::PrivateKey::from_bytes(secret).ok()?;
                hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
                    &OpModeR::Base,
                    &sk,
                    &enc,
                    HPKE_INFO,
                    &wrap.sealed_key,
                    &self.header,
                )
                .ok()
            })
            .ok_or(EnvelopeError::Decrypt)?;
        let key: [u8; 32] = key.try_into().map_err(|_| EnvelopeError::Decrypt)?;
        let payload = payload_cipher(&key)
            .decrypt(
                &ZERO_NONCE.into(),
                Payload {
                    msg: &self.ciphertext,
                    aad: &self.header,
                },
            )
            .map_err(|_| EnvelopeError::Decrypt)?;
        Ok(Opened { header, payload })
    }
}

// Keeps the `Kem` trait import used on every feature set.
#[allow(dead_code)]
fn _kem_name() -> u16 {
    HpkeKem::KEM_ID
}
