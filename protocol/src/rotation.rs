//! Key rotation: which key signs for an organisation at which time, the request that asks a
//! steward for a rotation, and the certificate that records it.
//!
//! An organisation's id stays the key it joined with; after a rotation its certificate names
//! the current signing key and lists every earlier key with the moment it stopped being
//! valid. The newest certificate alone therefore binds any signature the organisation ever
//! made: an earlier key verifies records dated up to its end, the current key verifies any.

use crate::identity::{EncryptionKey, OrgId, Timestamp};
use crate::membership::{MembershipCertificate, MembershipError, NetworkId};
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};

/// Most key rotations one certificate may record.
pub const MAX_EARLIER_KEYS: usize = 64;

/// A key an organisation signed with before a rotation, and the last second it was valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlierKey {
    /// The superseded ed25519 key.
    pub key: OrgId,
    /// Records dated up to and including this second may carry its signature; later ones
    /// are refused. (Times are whole seconds: the rotation request and the last record the
    /// old key signed may share one.)
    pub until: Timestamp,
}

/// Decides whether `key` may sign for `signer` on a record dated `at` (None: undated, so
/// only the signer's current key will do).
pub trait KeyBook {
    /// Whether the signature by `key` counts as `signer`'s.
    fn may_sign(&self, signer: &OrgId, key: &OrgId, at: Option<Timestamp>) -> bool;
}

/// The key book that knows no rotation: every organisation signs with its id.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnKeysOnly;

impl KeyBook for OwnKeysOnly {
    fn may_sign(&self, signer: &OrgId, key: &OrgId, _at: Option<Timestamp>) -> bool {
        signer == key
    }
}

/// A key book from a lookup of each organisation's newest certificate; an organisation with
/// no known certificate can only sign with its id.
impl<F> KeyBook for F
where
    F: Fn(&OrgId) -> Option<MembershipCertificate>,
{
    fn may_sign(&self, signer: &OrgId, key: &OrgId, at: Option<Timestamp>) -> bool {
        match self(signer) {
            Some(cert) => cert.key_valid_at(key, at),
            None => signer == key,
        }
    }
}

/// A key book from the certificate lookup that history checks use (`cert_of(org, at)`): the
/// certificate making a signer a member at the record's time says which keys it held.
pub struct CertKeys<'a>(pub &'a dyn Fn(&OrgId, Timestamp) -> Option<MembershipCertificate>);

impl KeyBook for CertKeys<'_> {
    fn may_sign(&self, signer: &OrgId, key: &OrgId, at: Option<Timestamp>) -> bool {
        match at.and_then(|t| (self.0)(signer, t)) {
            Some(cert) => cert.key_valid_at(key, at),
            None => signer == key,
        }
    }
}

impl MembershipCertificate {
    /// The key this member signs with now.
    pub fn current_key(&self) -> OrgId {
        self.signing_key.unwrap_or(self.org_id)
    }

    /// Whether `key` may sign a record dated `at` for this member: the current key always,
    /// an earlier key only for records dated up to its end.
    pub fn key_valid_at(&self, key: &OrgId, at: Option<Timestamp>) -> bool {
        if *key == self.current_key() {
            return true;
        }
        let Some(at) = at else { return false };
        self.earlier_keys
            .iter()
            .any(|e| e.key == *key && at <= e.until)
    }

    /// The certificate's key history is consistent: none without a signing key; otherwise it
    /// starts with the org id, ends strictly before the issue time, only moves forward, and
    /// never names a key twice.
    pub(crate) fn check_key_history(&self) -> Result<(), MembershipError> {
        let bad = |what| Err(MembershipError::Invalid(what));
        let Some(current) = self.signing_key else {
            return if self.earlier_keys.is_empty() {
                Ok(())
            } else {
                bad("certificate: earlier keys without a current signing key")
            };
        };
        if self.earlier_keys.is_empty() || self.earlier_keys.len() > MAX_EARLIER_KEYS {
            return bad("certificate: a rotated key needs 1 to 64 earlier keys");
        }
        if self.earlier_keys[0].key != self.org_id {
            return bad("certificate: the first earlier key must be the organisation's id");
        }
        let mut keys: Vec<OrgId> = self.earlier_keys.iter().map(|e| e.key).collect();
        keys.push(current);
        let count = keys.len();
        keys.sort();
        keys.dedup();
        if keys.len() != count {
            return bad("certificate: a signing key appears twice in its history");
        }
        if current.verifying_key().is_err() {
            return bad("certificate: the signing key is not an ed25519 key");
        }
        let ordered = self
            .earlier_keys
            .windows(2)
            .all(|w| w[0].until < w[1].until);
        let last = self.earlier_keys[self.earlier_keys.len() - 1].until;
        if !ordered || last > self.issued_at {
            return bad("certificate: key periods must end in order, before the issue time");
        }
        Ok(())
    }
}

/// An organisation's request for a certificate naming new keys: signed by the key it holds
/// now (it is who it claims) and by the new key (it holds that one too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotationRequest {
    /// Network of the membership.
    pub network_id: NetworkId,
    /// The organisation (its id does not change).
    pub org_id: OrgId,
    /// The ed25519 key it signs with from the rotation on.
    pub new_signing_key: OrgId,
    /// The X25519 key messages to it are encrypted to from the rotation on.
    pub new_encryption_key: EncryptionKey,
    /// When it stopped signing with its current key: records it signs after this second use
    /// the new one.
    pub requested_at: Timestamp,
}

impl RecordBody for KeyRotationRequest {
    const KIND: RecordKind = RecordKind::KeyRotationRequest;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.org_id, self.new_signing_key]
    }
}

/// Why a rotation request cannot be granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// Signatures or format of the request.
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    /// The request does not fit the certificate it would supersede.
    #[error("rotation request refused: {0}")]
    Invalid(&'static str),
}

impl RotationError {
    /// A stable code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            RotationError::Record(e) => e.code(),
            RotationError::Invalid(_) => "rotation.invalid",
        }
    }
}

/// The body of the certificate that grants `request` on top of `current` (the member's newest
/// certificate): same name, role, country and end of validity; the new keys; the key it
/// replaces listed as earlier, valid for records dated up to the request.
pub fn rotated_certificate(
    current: &MembershipCertificate,
    request: &KeyRotationRequest,
    issuer: OrgId,
    now: Timestamp,
) -> Result<MembershipCertificate, RotationError> {
    let bad = |what| Err(RotationError::Invalid(what));
    if request.org_id != current.org_id || request.network_id != current.network_id {
        return bad("it is for another organisation or network than the certificate");
    }
    if request.requested_at > now || request.requested_at < current.issued_at {
        return bad("its time is before the current certificate or in the future");
    }
    // Nodes keep the certificate with the later issue time: the same second would not win.
    if now <= current.issued_at {
        return bad("it is granted in the second the current certificate was issued: try again");
    }
    if let Some(last) = current.earlier_keys.last()
        && request.requested_at <= last.until
    {
        return bad("its time is not after the last rotation");
    }
    if request.new_signing_key == current.org_id
        || current
            .earlier_keys
            .iter()
            .any(|e| e.key == request.new_signing_key)
        || request.new_signing_key == current.current_key()
    {
        return bad("the new signing key was used before");
    }
    if request.new_encryption_key == current.encryption_key {
        return bad("the new encryption key is the current one");
    }
    if now >= current.not_after {
        return bad("the current certificate has expired: ask for a new membership");
    }
    let mut earlier_keys = current.earlier_keys.clone();
    earlier_keys.push(EarlierKey {
        key: current.current_key(),
        until: request.requested_at,
    });
    let cert = MembershipCertificate {
        signing_key: Some(request.new_signing_key),
        earlier_keys,
        encryption_key: request.new_encryption_key,
        issuer,
        issued_at: now,
        ..current.clone()
    };
    cert.check_key_history()
        .map_err(|_| RotationError::Invalid("the key history would be inconsistent"))?;
    Ok(cert)
}
