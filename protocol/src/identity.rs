//! Organisation identities: keys, ids, roles, countries and timestamps.

use crate::bytes::byte_newtype;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

byte_newtype!(
    /// An organisation's id: its long-term ed25519 public key.
    OrgId,
    32
);
byte_newtype!(
    /// An organisation's X25519 public key, used to encrypt messages to it (HPKE).
    EncryptionKey,
    32
);
byte_newtype!(
    /// An ed25519 signature.
    SignatureBytes,
    64
);
byte_newtype!(
    /// A SHA-256 digest.
    Digest,
    32
);

impl OrgId {
    /// The ed25519 verifying key this id names; fails for bytes that are not a curve point.
    pub fn verifying_key(&self) -> Result<VerifyingKey, ed25519_dalek::SignatureError> {
        VerifyingKey::from_bytes(&self.0)
    }

    /// A short form for humans (first 8 hex digits); never use it as an identifier.
    pub fn short(&self) -> String {
        self.to_hex()[..8].to_string()
    }
}

impl Digest {
    /// SHA-256 of the given parts, concatenated.
    pub fn of(parts: &[&[u8]]) -> Digest {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for p in parts {
            h.update(p);
        }
        Digest(h.finalize().into())
    }
}

/// What an organisation is in the network; decides what it may author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Keeps the membership register; admits and revokes members.
    Steward,
    /// Civil-society organisation running a helpline; the only holder of worker identity.
    Cso,
    /// Recruitment agency, in the sending or receiving country.
    Agency,
    /// Employer or industry association.
    Supplier,
    /// Retailer, importer or buyer.
    Brand,
    /// Government office receiving referrals.
    Government,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 6] = [
        Role::Steward,
        Role::Cso,
        Role::Agency,
        Role::Supplier,
        Role::Brand,
        Role::Government,
    ];

    /// The lowercase name used in files and on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Steward => "steward",
            Role::Cso => "cso",
            Role::Agency => "agency",
            Role::Supplier => "supplier",
            Role::Brand => "brand",
            Role::Government => "government",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A role name that is not one of the six roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected one of steward, cso, agency, supplier, brand, government")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// An ISO 3166-1 alpha-2 country code (two uppercase ASCII letters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(String);

/// A country code that is not two uppercase letters. It does not carry what was given: a
/// coded field may have been handed a worker's name by mistake, and errors leave the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid country code: expected two uppercase letters (ISO 3166-1 alpha-2, e.g. TH)")]
pub struct InvalidCountry;

impl Country {
    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Country {
    type Error = InvalidCountry;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Country(s))
        } else {
            Err(InvalidCountry)
        }
    }
}

impl From<Country> for String {
    fn from(c: Country) -> String {
        c.0
    }
}

impl FromStr for Country {
    type Err = InvalidCountry;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::try_from(s.to_string())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Seconds since the Unix epoch (UTC).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// This many seconds later (saturating).
    pub fn plus_secs(self, secs: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }
    /// This many days later (saturating).
    pub fn plus_days(self, days: u64) -> Timestamp {
        self.plus_secs(days.saturating_mul(86_400))
    }
}

/// The random source failed; keys cannot be made safely.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(pub String);

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| RandomError(e.to_string()))?;
    Ok(out)
}

/// An organisation's secret keys: ed25519 for signing, X25519 for decryption, and the
/// organisation they act for (the key it joined with, which a rotation does not change).
pub struct OrgKeys {
    org: OrgId,
    signing: SigningKey,
    encryption_secret: [u8; 32],
    /// X25519 secrets of before key rotations: messages sealed to them still open.
    earlier_encryption: Vec<[u8; 32]>,
}

impl fmt::Debug for OrgKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgKeys")
            .field("org_id", &self.org_id())
            .finish_non_exhaustive()
    }
}

impl Drop for OrgKeys {
    fn drop(&mut self) {
        // SigningKey zeroizes itself; the X25519 secret is a plain array, wiped in a way the
        // compiler may not elide.
        zeroize::Zeroize::zeroize(&mut self.encryption_secret);
        for s in &mut self.earlier_encryption {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

impl OrgKeys {
    /// Fresh keys from the operating system's random source.
    pub fn generate() -> Result<OrgKeys, RandomError> {
        Ok(OrgKeys::from_secret_bytes(
            random_bytes::<32>()?,
            random_bytes::<32>()?,
        ))
    }

    /// Keys from their 32-byte secrets (ed25519 seed, X25519 scalar).
    pub fn from_secret_bytes(signing_seed: [u8; 32], encryption_secret: [u8; 32]) -> OrgKeys {
        let signing = SigningKey::from_bytes(&signing_seed);
        OrgKeys {
            org: OrgId(signing.verifying_key().to_bytes()),
            signing,
            encryption_secret,
            earlier_encryption: Vec::new(),
        }
    }

    /// These keys acting for `org` after a rotation, still able to open messages sealed to
    /// the `earlier` encryption secrets.
    pub fn rotated(mut self, org: OrgId, earlier: Vec<[u8; 32]>) -> OrgKeys {
        self.org = org;
        self.earlier_encryption = earlier;
        self
    }

    /// The X25519 secrets of before key rotations, oldest first.
    pub fn earlier_encryption_secrets(&self) -> &[[u8; 32]] {
        &self.earlier_encryption
    }

    /// Every X25519 secret that may open a message to this organisation, current first.
    pub(crate) fn decryption_secrets(&self) -> impl Iterator<Item = &[u8; 32]> {
        std::iter::once(&self.encryption_secret).chain(self.earlier_encryption.iter().rev())
    }

    /// The ed25519 seed, for writing the owner-only key file.
    pub fn signing_seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The X25519 secret scalar, for writing the owner-only key file.
    pub fn encryption_secret(&self) -> [u8; 32] {
        self.encryption_secret
    }

    /// This organisation's id (the ed25519 public key it joined with).
    pub fn org_id(&self) -> OrgId {
        self.org
    }

    /// The ed25519 public key these keys sign with (the org id until a rotation).
    pub fn signing_key_id(&self) -> OrgId {
        OrgId(self.signing.verifying_key().to_bytes())
    }

    /// This organisation's X25519 public key.
    pub fn encryption_key(&self) -> EncryptionKey {
        let secret = x25519_dalek::StaticSecret::from(self.encryption_secret);
        EncryptionKey(x25519_dalek::PublicKey::from(&secret).to_bytes())
    }

    /// Signs raw bytes (callers add the domain-separation prefix).
    pub(crate) fn sign_raw(&self, msg: &[u8]) -> SignatureBytes {
        SignatureBytes(self.signing.sign(msg).to_bytes())
    }
}

/// Checks an ed25519 signature strictly (no malleable or small-order keys).
pub(crate) fn verify_raw(signer: &OrgId, msg: &[u8], sig: &SignatureBytes) -> bool {
    let Ok(key) = signer.verifying_key() else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
    key.verify_strict(msg, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused country code's error and its JSON refusal say what is accepted, not what
    /// was given (a worker's name typed into the wrong field, say).
    #[test]
    fn a_refused_country_is_not_echoed() {
        assert_eq!(
            "TH".parse::<Country>().map(|c| c.to_string()).ok(),
            Some("TH".into())
        );
        let refused = "Somchai Jaidee".parse::<Country>().map(|_| ()).unwrap_err();
        assert!(!format!("{refused} {refused:?}").contains("Somchai"));
        let json = serde_json::from_str::<Country>("\"Somchai\"")
            .map(|_| ())
            .unwrap_err();
        assert!(json.to_string().contains("two uppercase letters"), "{json}");
        assert!(!json.to_string().contains("Somchai"), "{json}");
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().ok(), Some(r));
            assert_eq!(
                serde_json::to_string(&r).ok(),
                Some(format!("\"{}\"", r.as_str()))
            );
        }
        assert!("CSO".parse::<Role>().is_err());
    }

    #[test]
    fn country_codes_are_validated() {
        assert!("TH".parse::<Country>().is_ok());
        for bad in ["th", "THA", "T", "", "1H"] {
            assert!(bad.parse::<Country>().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Country>("\"mm\"").is_err());
    }
}
