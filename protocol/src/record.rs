//! Signed records: exact body bytes, a domain-separated signing input, one or more signatures.
//!
//! A record carries the bytes that were signed as they are. Verification checks the signatures
//! over those bytes first and only then parses them, so nothing is ever re-serialised.

use crate::identity::{Digest, OrgId, OrgKeys, SignatureBytes, Timestamp, verify_raw};
use crate::rotation::{KeyBook, OwnKeysOnly};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Which kind of record a body is; each kind has its own signing-input prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// The network's founding record: name and steward keys.
    NetworkGenesis,
    /// An organisation asking to join, signed with its own key.
    MembershipRequest,
    /// A steward's statement admitting an organisation with a role.
    MembershipCertificate,
    /// A steward's statement ending an organisation's membership.
    Revocation,
    /// One step in a case's history.
    CaseEvent,
    /// The closing record of a remediation, co-signed.
    RemediationAttestation,
    /// A brand-supplier or supplier-agency relationship, signed by both sides.
    SupplyChainLink,
    /// A member asking a steward to certify new keys, signed by its current and new key.
    KeyRotationRequest,
    /// A steward's place passing to a new key, signed by every steward in office.
    StewardSuccession,
    /// A CSO's monthly statistics, small counts suppressed.
    PublishedStatistics,
    /// One activity of a supplier's or agency's improvement plan.
    ImprovementActivity,
    /// A job an agency or supplier offers, with every cost to the worker.
    JobListing,
    /// A CSO's summary of workers' ratings of one organisation.
    RatingSummary,
    /// A rated organisation's public answer to its ratings.
    RatingAnswer,
    /// A warning about illegal brokers, published by the CSO that reviewed it.
    BrokerAlert,
    /// An agency's proposed broker alert, for a CSO to review.
    AlertProposal,
}

impl RecordKind {
    /// The name used in the signing-input prefix and in files.
    pub fn tag(&self) -> &'static str {
        match self {
            RecordKind::NetworkGenesis => "network-genesis",
            RecordKind::MembershipRequest => "membership-request",
            RecordKind::MembershipCertificate => "membership-certificate",
            RecordKind::Revocation => "revocation",
            RecordKind::CaseEvent => "case-event",
            RecordKind::RemediationAttestation => "remediation-attestation",
            RecordKind::SupplyChainLink => "supply-chain-link",
            RecordKind::KeyRotationRequest => "key-rotation-request",
            RecordKind::StewardSuccession => "steward-succession",
            RecordKind::PublishedStatistics => "published-statistics",
            RecordKind::ImprovementActivity => "improvement-activity",
            RecordKind::JobListing => "job-listing",
            RecordKind::RatingSummary => "rating-summary",
            RecordKind::RatingAnswer => "rating-answer",
            RecordKind::BrokerAlert => "broker-alert",
            RecordKind::AlertProposal => "alert-proposal",
        }
    }

    /// The exact bytes an ed25519 signature covers: `"ilm/v1/" || tag || "\n" || body`.
    pub fn signing_input(&self, body: &[u8]) -> Vec<u8> {
        let tag = self.tag().as_bytes();
        let mut out = Vec::with_capacity(8 + tag.len() + body.len());
        out.extend_from_slice(b"ilm/v1/");
        out.extend_from_slice(tag);
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    }
}

/// One signer's signature on a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSignature {
    /// Who signed.
    pub signer: OrgId,
    /// The key that made the signature, when it is not the signer's id (after a key
    /// rotation); absent otherwise, so records signed before rotations existed are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<OrgId>,
    /// ed25519 signature over the kind's signing input.
    pub signature: SignatureBytes,
}

/// A record as it is stored and sent: kind, exact body bytes and signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRecord {
    /// What the body is.
    pub kind: RecordKind,
    /// The signed bytes: UTF-8 JSON of the body type, carried as they are.
    #[serde(with = "crate::bytes::hex_bytes")]
    pub body: Vec<u8>,
    /// Signatures, in the order the body type requires.
    pub signatures: Vec<RecordSignature>,
}

/// Why a record failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record is of another kind than expected.
    #[error("expected a {expected} record, found {found}")]
    WrongKind {
        /// Kind the caller asked for.
        expected: &'static str,
        /// Kind the record claims.
        found: &'static str,
    },
    /// The signers are not exactly the ones the body requires.
    #[error("record must be signed by [{expected}] in that order, but is signed by [{found}]")]
    WrongSigners {
        /// Required signers (short ids).
        expected: String,
        /// Present signers (short ids).
        found: String,
    },
    /// A signature does not verify.
    #[error("signature by {0} does not verify: the record was altered or forged")]
    BadSignature(String),
    /// A signature made with a key that was not the signer's at the record's time.
    #[error("signature by {0} was made with a key that was not its key at that time")]
    UnboundKey(String),
    /// The body bytes are not a valid body of this kind.
    #[error("record body is malformed: {0}")]
    MalformedBody(String),
    /// The body could not be encoded (only when signing).
    #[error("record body could not be encoded: {0}")]
    Encode(String),
}

impl RecordError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::WrongKind { .. } => "record.wrong_kind",
            RecordError::WrongSigners { .. } => "record.wrong_signers",
            RecordError::BadSignature(_) => "record.bad_signature",
            RecordError::UnboundKey(_) => "record.unbound_key",
            RecordError::MalformedBody(_) => "record.malformed_body",
            RecordError::Encode(_) => "record.encode",
        }
    }
}

/// A body type that travels as a signed record.
pub trait RecordBody: Serialize + DeserializeOwned {
    /// The kind tag of records holding this body.
    const KIND: RecordKind;
    /// Who must sign, in order; verification requires exactly these signers.
    fn required_signers(&self) -> Vec<OrgId>;
    /// The time the record speaks for, which decides which of a signer's keys may sign it
    /// (None: only each signer's current key).
    fn signed_at(&self) -> Option<Timestamp> {
        None
    }
}

/// A record whose signatures have been checked, with its parsed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T> {
    record: SignedRecord,
    body: T,
}

impl<T> Verified<T> {
    /// The parsed body.
    pub fn body(&self) -> &T {
        &self.body
    }
    /// The record as carried.
    pub fn record(&self) -> &SignedRecord {
        &self.record
    }
    /// The record's digest (see [`SignedRecord::digest`]).
    pub fn digest(&self) -> Digest {
        self.record.digest()
    }
    /// Splits into the record and its body.
    pub fn into_parts(self) -> (SignedRecord, T) {
        (self.record, self.body)
    }
}

fn short_list(ids: &[OrgId]) -> String {
    ids.iter().map(OrgId::short).collect::<Vec<_>>().join(", ")
}

impl SignedRecord {
    /// Encodes `body` and signs it with the first required signer's keys.
    ///
    /// Bodies with several required signers get the others with [`SignedRecord::cosign`].
    pub fn sign<T: RecordBody>(body: &T, keys: &OrgKeys) -> Result<SignedRecord, RecordError> {
        let bytes = serde_json::to_vec(body).map_err(|e| RecordError::Encode(e.to_string()))?;
        let mut record = SignedRecord {
            kind: T::KIND,
            body: bytes,
            signatures: Vec::new(),
        };
        record.cosign(keys);
        Ok(record)
    }

    /// Adds a signature by `keys` over this record's signing input.
    pub fn cosign(&mut self, keys: &OrgKeys) {
        let signature = keys.sign_raw(&self.kind.signing_input(&self.body));
        let key = keys.signing_key_id();
        self.signatures.push(RecordSignature {
            signer: keys.org_id(),
            key: (key != keys.org_id()).then_some(key),
            signature,
        });
    }

    /// SHA-256 of the signing input: the record's identity (event hashes, certificate ids).
    pub fn digest(&self) -> Digest {
        Digest::of(&[&self.kind.signing_input(&self.body)])
    }

    /// Checks the kind, parses the body, and checks that exactly the required signers signed,
    /// each with its own id as key: a signature by a rotated key is refused here (see
    /// [`SignedRecord::verify_with`]).
    pub fn verify<T: RecordBody>(&self) -> Result<Verified<T>, RecordError> {
        self.verify_with(&OwnKeysOnly)
    }

    /// Like [`SignedRecord::verify`], accepting each signature made with a key that `keys`
    /// says the signer held at the record's time.
    pub fn verify_with<T: RecordBody>(
        &self,
        keys: &dyn KeyBook,
    ) -> Result<Verified<T>, RecordError> {
        let body: T = self.verify_partial_with(keys)?;
        let required = body.required_signers();
        if self.signatures.len() != required.len() {
            return Err(RecordError::WrongSigners {
                expected: short_list(&required),
                found: short_list(&self.signers()),
            });
        }
        Ok(Verified {
            record: self.clone(),
            body,
        })
    }

    /// Who signed so far, in order.
    pub fn signers(&self) -> Vec<OrgId> {
        self.signatures.iter().map(|s| s.signer).collect()
    }

    /// Checks that the signatures present so far verify and are a prefix of the required
    /// signers (for a record still awaiting co-signers), each made with the signer's id.
    pub fn verify_partial<T: RecordBody>(&self) -> Result<T, RecordError> {
        self.verify_partial_with(&OwnKeysOnly)
    }

    /// Like [`SignedRecord::verify_partial`], with the signers' keys taken from `keys`.
    pub fn verify_partial_with<T: RecordBody>(&self, keys: &dyn KeyBook) -> Result<T, RecordError> {
        if self.kind != T::KIND {
            return Err(RecordError::WrongKind {
                expected: T::KIND.tag(),
                found: self.kind.tag(),
            });
        }
        let body: T = serde_json::from_slice(&self.body)
            .map_err(|e| RecordError::MalformedBody(e.to_string()))?;
        // The body names the signers; nothing else from it is used before they all verify.
        let required = body.required_signers();
        let input = self.kind.signing_input(&self.body);
        let present = self.signers();
        if present.len() > required.len() || required[..present.len()] != present[..] {
            return Err(RecordError::WrongSigners {
                expected: short_list(&required),
                found: short_list(&present),
            });
        }
        let at = body.signed_at();
        for sig in &self.signatures {
            let key = sig.key.unwrap_or(sig.signer);
            if !verify_raw(&key, &input, &sig.signature) {
                return Err(RecordError::BadSignature(sig.signer.short()));
            }
            // After the signature, so a forged record is named as forged, not as unbound.
            if !keys.may_sign(&sig.signer, &key, at) {
                return Err(RecordError::UnboundKey(sig.signer.short()));
            }
        }
        Ok(body)
    }
}
