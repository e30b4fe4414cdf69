//! Network genesis, membership requests, certificates, revocations, and the rules that
//! decide whether an organisation is a current member.

use crate::bytes::byte_newtype;
use crate::identity::{Country, EncryptionKey, OrgId, Role, Timestamp};
use crate::record::{RecordBody, RecordError, RecordKind, SignedRecord, Verified};
use crate::rotation::EarlierKey;
use crate::succession::StewardSuccession;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

byte_newtype!(
    /// A network's id: the first 16 bytes of its signed genesis record's digest.
    NetworkId,
    16
);

/// Longest name accepted for a network or organisation.
pub const MAX_NAME_LEN: usize = 200;
/// Longest reason accepted in a revocation, in bytes.
pub const MAX_REASON_LEN: usize = 1_000;

/// The founding record of a network: its name and the stewards who may admit members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkGenesis {
    /// Human-readable network name.
    pub name: String,
    /// Organisations allowed to issue certificates and revocations; all sign the genesis.
    pub stewards: Vec<OrgId>,
    /// When the network was created.
    pub created_at: Timestamp,
}

impl RecordBody for NetworkGenesis {
    const KIND: RecordKind = RecordKind::NetworkGenesis;
    fn required_signers(&self) -> Vec<OrgId> {
        self.stewards.clone()
    }
}

/// An organisation's request to join, signed with its own key (proof of possession).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipRequest {
    /// The requester's id (its signing key).
    pub org_id: OrgId,
    /// Legal or common name.
    pub name: String,
    /// Role asked for.
    pub role: Role,
    /// Country of operation.
    pub country: Country,
    /// Key that messages to this organisation are encrypted to.
    pub encryption_key: EncryptionKey,
    /// When the request was made.
    pub requested_at: Timestamp,
}

impl RecordBody for MembershipRequest {
    const KIND: RecordKind = RecordKind::MembershipRequest;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.org_id]
    }
}

/// A steward's statement that binds an organisation's key to a name, role, country and
/// encryption key for a validity period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipCertificate {
    /// Network this certificate belongs to.
    pub network_id: NetworkId,
    /// The member's id.
    pub org_id: OrgId,
    /// The member's name.
    pub name: String,
    /// The member's role; receivers enforce what it may author.
    pub role: Role,
    /// Country of operation.
    pub country: Country,
    /// Key that messages to this member are encrypted to.
    pub encryption_key: EncryptionKey,
    /// First second of validity.
    pub not_before: Timestamp,
    /// First second after validity.
    pub not_after: Timestamp,
    /// The steward who issued it.
    pub issuer: OrgId,
    /// When it was issued; a revocation covers certificates issued at or before it.
    pub issued_at: Timestamp,
    /// The key the member signs with, when a rotation replaced its id as signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<OrgId>,
    /// Keys the member signed with before, oldest first, each with the end of its validity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_keys: Vec<EarlierKey>,
}

impl RecordBody for MembershipCertificate {
    const KIND: RecordKind = RecordKind::MembershipCertificate;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.issuer]
    }
}

/// A steward's statement that an organisation's certificates issued so far are void.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Network this revocation belongs to.
    pub network_id: NetworkId,
    /// The organisation revoked.
    pub org_id: OrgId,
    /// Why (free text; no personal data).
    pub reason: String,
    /// When; certificates issued at or before this moment are revoked.
    pub revoked_at: Timestamp,
    /// The steward who revoked.
    pub issuer: OrgId,
}

impl RecordBody for Revocation {
    const KIND: RecordKind = RecordKind::Revocation;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.issuer]
    }
}

/// Why a membership record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// Signatures or format.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Genesis without stewards, or a name that is empty or too long.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// Record of another network.
    #[error("belongs to network {found}, not this network {expected}")]
    WrongNetwork {
        /// This network.
        expected: NetworkId,
        /// The record's network.
        found: NetworkId,
    },
    /// Signed by someone who is not a steward of this network.
    #[error("issuer {0} is not a steward of this network")]
    NotASteward(String),
    /// A steward certificate for an organisation that never held a steward's place.
    #[error("only the genesis stewards and their successors can hold the steward role")]
    StewardRoleNotInGenesis,
    /// Outside its validity period.
    #[error("certificate is not yet valid (valid from {not_before}, now {now})")]
    NotYetValid {
        /// Start of validity (Unix seconds).
        not_before: u64,
        /// The time checked (Unix seconds).
        now: u64,
    },
    /// Past its validity period.
    #[error("certificate expired (valid until {not_after}, now {now})")]
    Expired {
        /// End of validity (Unix seconds).
        not_after: u64,
        /// The time checked (Unix seconds).
        now: u64,
    },
    /// Revoked by a steward.
    #[error("membership of {0} was revoked")]
    Revoked(String),
    /// A certificate whose validity period is empty.
    #[error("empty validity period (not_before must be before not_after)")]
    EmptyValidity,
}

impl MembershipError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            MembershipError::Record(e) => e.code(),
            MembershipError::Invalid(_) => "membership.invalid",
            MembershipError::WrongNetwork { .. } => "membership.wrong_network",
            MembershipError::NotASteward(_) => "membership.not_a_steward",
            MembershipError::StewardRoleNotInGenesis => "membership.steward_role_not_in_genesis",
            MembershipError::NotYetValid { .. } => "membership.not_yet_valid",
            MembershipError::Expired { .. } => "membership.expired",
            MembershipError::Revoked(_) => "membership.revoked",
            MembershipError::EmptyValidity => "membership.empty_validity",
        }
    }
}

fn check_name(name: &str, what: &'static str) -> Result<(), MembershipError> {
    if name.trim().is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(MembershipError::Invalid(what));
    }
    Ok(())
}

/// A verified network genesis, and the steward successions since: the trust root every
/// member checks against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    genesis: Verified<NetworkGenesis>,
    id: NetworkId,
    /// Accepted successions, in the order of their times.
    successions: Vec<Verified<StewardSuccession>>,
}

impl Network {
    /// Verifies a genesis record (all listed stewards signed it) and derives the network id.
    pub fn from_genesis(record: &SignedRecord) -> Result<Network, MembershipError> {
        let genesis = record.verify::<NetworkGenesis>()?;
        if genesis.body().stewards.is_empty() {
            return Err(MembershipError::Invalid("genesis: it names no steward"));
        }
        check_name(&genesis.body().name, "genesis: network name")?;
        let digest = genesis.digest();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest.0[..16]);
        Ok(Network {
            genesis,
            id: NetworkId(id),
            successions: Vec::new(),
        })
    }

    /// The network id.
    pub fn id(&self) -> NetworkId {
        self.id
    }

    /// The network name.
    pub fn name(&self) -> &str {
        &self.genesis.body().name
    }

    /// The genesis as carried (for bundles and joining).
    pub fn genesis_record(&self) -> &SignedRecord {
        self.genesis.record()
    }

    /// The stewards in office at `at`: the genesis stewards, each replaced by its successors
    /// whose succession took effect by then, in the genesis order.
    pub fn stewards_at(&self, at: Timestamp) -> Vec<OrgId> {
        self.stewards_after(at, true)
    }

    /// The stewards once the successions up to `at` (included or not) took effect.
    fn stewards_after(&self, at: Timestamp, included: bool) -> Vec<OrgId> {
        let mut stewards = self.genesis.body().stewards.clone();
        for s in self.successions.iter().map(Verified::body) {
            if s.at > at || (s.at == at && !included) {
                break;
            }
            for st in stewards.iter_mut().filter(|st| **st == s.old) {
                *st = s.new;
            }
        }
        stewards
    }

    /// Whether `org` is a steward of this network now (after every known succession).
    pub fn is_steward(&self, org: &OrgId) -> bool {
        self.stewards_at(Timestamp(u64::MAX)).contains(org)
    }

    /// Whether `org` was a steward at `at`. Times are whole seconds, so in the second of a
    /// succession both keys count: what the outgoing steward signed just before handing
    /// over may share that second.
    pub fn is_steward_at(&self, org: &OrgId, at: Timestamp) -> bool {
        self.stewards_at(at).contains(org) || self.stewards_after(at, false).contains(org)
    }

    /// Whether `org` ever held or holds a steward's place (genesis or successor): it may
    /// hold the steward role in a certificate.
    fn ever_steward(&self, org: &OrgId) -> bool {
        self.genesis.body().stewards.contains(org)
            || self.successions.iter().any(|s| s.body().new == *org)
    }

    /// The successions accepted so far, oldest first (to pass on to other nodes).
    pub fn successions(&self) -> impl Iterator<Item = &SignedRecord> {
        self.successions.iter().map(Verified::record)
    }

    /// Checks a succession against the stewards in office at its time and adds it. Returns
    /// whether it was new. Successions must arrive in the order of their times: one that
    /// does not follow the newest known is refused (its sender offers it again later).
    pub fn add_succession(&mut self, record: &SignedRecord) -> Result<bool, MembershipError> {
        let s = record.verify::<StewardSuccession>()?;
        if self.successions.iter().any(|k| k.digest() == s.digest()) {
            return Ok(false);
        }
        let body = s.body();
        if body.network_id != self.id {
            return Err(MembershipError::WrongNetwork {
                expected: self.id,
                found: body.network_id,
            });
        }
        if let Some(last) = self.successions.last()
            && body.at <= last.body().at
        {
            return Err(MembershipError::Invalid(
                "succession: not after the newest known succession",
            ));
        }
        crate::limits::check_time(body.at)
            .map_err(|_| MembershipError::Invalid("succession: time"))?;
        let in_office = self.stewards_at(body.at);
        if !in_office.contains(&body.old) {
            return Err(MembershipError::NotASteward(body.old.short()));
        }
        if self.ever_steward(&body.new) || body.new.verifying_key().is_err() {
            return Err(MembershipError::Invalid(
                "succession: the incoming key is or was a steward, or is no ed25519 key",
            ));
        }
        let others: Vec<OrgId> = in_office.into_iter().filter(|o| *o != body.old).collect();
        if body.cosigners != others {
            return Err(MembershipError::Invalid(
                "succession: it must be co-signed by every other steward in office",
            ));
        }
        self.successions.push(s);
        Ok(true)
    }

    fn check_issuer(
        &self,
        network_id: NetworkId,
        issuer: &OrgId,
        at: Timestamp,
    ) -> Result<(), MembershipError> {
        if network_id != self.id {
            return Err(MembershipError::WrongNetwork {
                expected: self.id,
                found: network_id,
            });
        }
        if !self.is_steward_at(issuer, at) {
            return Err(MembershipError::NotASteward(issuer.short()));
        }
        Ok(())
    }

    /// Checks a certificate's signature, issuer and network, ignoring time and revocation.
    ///
    /// Use [`Network::check_certificate`] to decide whether someone is a member now.
    pub fn verify_certificate(
        &self,
        record: &SignedRecord,
    ) -> Result<Verified<MembershipCertificate>, MembershipError> {
        let cert = record.verify::<MembershipCertificate>()?;
        let body = cert.body();
        self.check_issuer(body.network_id, &body.issuer, body.issued_at)?;
        check_name(&body.name, "certificate: organisation name")?;
        if body.not_before >= body.not_after {
            return Err(MembershipError::EmptyValidity);
        }
        if body.role == Role::Steward && !self.ever_steward(&body.org_id) {
            return Err(MembershipError::StewardRoleNotInGenesis);
        }
        body.check_key_history()?;
        Ok(cert)
    }

    /// Decides whether a certificate makes its holder a member at `at`: valid signature by a
    /// steward of this network, within its validity period, and not revoked.
    pub fn check_certificate(
        &self,
        record: &SignedRecord,
        at: Timestamp,
        revocations: &RevocationList,
    ) -> Result<Verified<MembershipCertificate>, MembershipError> {
        let cert = self.verify_certificate(record)?;
        let body = cert.body();
        if at < body.not_before {
            return Err(MembershipError::NotYetValid {
                not_before: body.not_before.0,
                now: at.0,
            });
        }
        if at >= body.not_after {
            return Err(MembershipError::Expired {
                not_after: body.not_after.0,
                now: at.0,
            });
        }
        if revocations.revokes(body, at) {
            return Err(MembershipError::Revoked(body.org_id.short()));
        }
        Ok(cert)
    }

    /// Checks a revocation's signature, issuer and network.
    pub fn check_revocation(
        &self,
        record: &SignedRecord,
    ) -> Result<Verified<Revocation>, MembershipError> {
        let rev = record.verify::<Revocation>()?;
        self.check_issuer(
            rev.body().network_id,
            &rev.body().issuer,
            rev.body().revoked_at,
        )?;
        crate::limits::check_text(&rev.body().reason, MAX_REASON_LEN, true)
            .map_err(|_| MembershipError::Invalid("revocation: reason"))?;
        crate::limits::check_time(rev.body().revoked_at)
            .map_err(|_| MembershipError::Invalid("revocation: time"))?;
        Ok(rev)
    }
}

/// The revocations a node knows of: per organisation, the newest one it accepted.
///
/// "Newest" is a total order, so every node keeps the same record whatever order revocations
/// arrive in: the later `revoked_at` wins, and at equal times the larger record digest. A
/// revocation is therefore never replaced by an older one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    newest: BTreeMap<OrgId, Verified<Revocation>>,
}

/// Whether `a` is newer than `b` in the order revocations are kept by.
pub fn revocation_newer(a: &Verified<Revocation>, b: &Verified<Revocation>) -> bool {
    (a.body().revoked_at, a.digest()) > (b.body().revoked_at, b.digest())
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> RevocationList {
        RevocationList::default()
    }

    /// Adds a revocation that [`Network::check_revocation`] accepted. Returns whether the list
    /// changed (it was newer than the one held for that organisation).
    pub fn add(&mut self, rev: &Verified<Revocation>) -> bool {
        let org = rev.body().org_id;
        match self.newest.get(&org) {
            Some(held) if !revocation_newer(rev, held) => false,
            _ => {
                self.newest.insert(org, rev.clone());
                true
            }
        }
    }

    /// The revocation in force against this certificate at time `at`, if any: a revocation of
    /// its holder made at or after the certificate was issued, and already in force at `at`.
    /// Signatures made before the revocation stay valid; nothing after it is.
    pub fn revoking(&self, cert: &MembershipCertificate, at: Timestamp) -> Option<&Revocation> {
        self.newest
            .get(&cert.org_id)
            .map(Verified::body)
            .filter(|r| cert.issued_at <= r.revoked_at && r.revoked_at <= at)
    }

    /// Whether this certificate is revoked at time `at` (see [`RevocationList::revoking`]).
    pub fn revokes(&self, cert: &MembershipCertificate, at: Timestamp) -> bool {
        self.revoking(cert, at).is_some()
    }

    /// The newest revocation of an organisation.
    pub fn get(&self, org: &OrgId) -> Option<&Verified<Revocation>> {
        self.newest.get(org)
    }

    /// Every revocation held, one per organisation.
    pub fn iter(&self) -> impl Iterator<Item = &Verified<Revocation>> {
        self.newest.values()
    }

    /// Whether any revocation names this organisation.
    pub fn contains(&self, org: &OrgId) -> bool {
        self.newest.contains_key(org)
    }

    /// Number of revoked organisations.
    pub fn len(&self) -> usize {
        self.newest.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.newest.is_empty()
    }
}

/// Validates a membership request's signature and contents before a steward issues for it.
pub fn verify_request(
    record: &SignedRecord,
) -> Result<Verified<MembershipRequest>, MembershipError> {
    verify_request_with(record, &crate::rotation::OwnKeysOnly)
}

/// Like [`verify_request`], for a member that may have rotated its key: `keys` says which
/// key it signs with now (a renewal).
pub fn verify_request_with(
    record: &SignedRecord,
    keys: &dyn crate::rotation::KeyBook,
) -> Result<Verified<MembershipRequest>, MembershipError> {
    let req = record.verify_with::<MembershipRequest>(keys)?;
    check_name(&req.body().name, "request: organisation name")?;
    Ok(req)
}
