//! The node's view of the network's membership: its own certificate, the certificates it has
//! learned, and the revocations it knows. Decides admission at the door.

use crate::net::Gatekeeper;
use crate::net::proto::Hello;
use ilm_protocol::{
    MembershipCertificate, MembershipError, Network, NetworkId, OrgId, RecordKind, RevocationList,
    SignedRecord, Timestamp,
};
use libp2p::PeerId;
use std::collections::HashMap;
use std::sync::RwLock;

/// The libp2p peer id of an organisation (both come from the same ed25519 key).
pub fn peer_id_of(org: &OrgId) -> Option<PeerId> {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(org.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(pk).to_peer_id())
}

pub use crate::clock::now;

struct Inner {
    revocations: RevocationList,
    certs: HashMap<OrgId, (SignedRecord, MembershipCertificate)>,
}

/// Membership state shared by the network task, the node core and the admin API.
pub struct MembershipState {
    network: Network,
    own: SignedRecord,
    me: OrgId,
    inner: RwLock<Inner>,
}

/// What learning a record changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Learned {
    /// A certificate newer than what was known for this organisation.
    Certificate(OrgId),
    /// A revocation not known before.
    Revocation(OrgId),
    /// Nothing new.
    Nothing,
}

impl MembershipState {
    /// State from the network, our own certificate and what the database holds.
    pub fn new(
        network: Network,
        own: SignedRecord,
        certificates: Vec<SignedRecord>,
        revocations: Vec<SignedRecord>,
    ) -> Result<MembershipState, MembershipError> {
        let me = network.verify_certificate(&own)?.body().org_id;
        let state = MembershipState {
            network,
            own: own.clone(),
            me,
            inner: RwLock::new(Inner {
                revocations: RevocationList::new(),
                certs: HashMap::new(),
            }),
        };
        state.learn_certificate(&own)?;
        for rec in &revocations {
            state.learn_revocation(rec)?;
        }
        for rec in &certificates {
            state.learn_certificate(rec)?;
        }
        Ok(state)
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network id.
    pub fn network_id(&self) -> NetworkId {
        self.network.id()
    }

    /// This node's organisation.
    pub fn me(&self) -> OrgId {
        self.me
    }

    /// Our own certificate record.
    pub fn own_certificate(&self) -> &SignedRecord {
        &self.own
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The certificate making `org` a member at `at`, if it is one (valid, unrevoked).
    pub fn member_at(&self, org: &OrgId, at: Timestamp) -> Option<MembershipCertificate> {
        let inner = self.read();
        // Certificates are verified (signature, issuer, network) before they are stored here,
        // so only time and revocation remain to check: no signature check on the hot path.
        let (_, cert) = inner.certs.get(org)?;
        let valid =
            cert.not_before <= at && at < cert.not_after && !inner.revocations.revokes(cert, at);
        valid.then(|| cert.clone())
    }

    /// The certificate making `org` a member now.
    pub fn current(&self, org: &OrgId) -> Option<MembershipCertificate> {
        self.member_at(org, now())
    }

    /// The known certificate of an organisation (verified when learned), current or not.
    pub fn certificate(&self, org: &OrgId) -> Option<MembershipCertificate> {
        self.read().certs.get(org).map(|(_, c)| c.clone())
    }

    /// The stored certificate record of an organisation, current or not.
    pub fn certificate_record(&self, org: &OrgId) -> Option<SignedRecord> {
        self.read().certs.get(org).map(|(r, _)| r.clone())
    }

    /// Every known certificate (parsed), current or not.
    pub fn known(&self) -> Vec<MembershipCertificate> {
        self.read().certs.values().map(|(_, c)| c.clone()).collect()
    }

    /// Whether a revocation names this organisation and is in force now.
    pub fn is_revoked(&self, cert: &MembershipCertificate) -> bool {
        self.read().revocations.revokes(cert, now())
    }

    /// The newest revocation held for an organisation.
    pub fn revocation_of(
        &self,
        org: &OrgId,
    ) -> Option<ilm_protocol::Verified<ilm_protocol::Revocation>> {
        self.read().revocations.get(org).cloned()
    }

    /// The revocations known, to check signatures against (bundles).
    pub fn revocations(&self) -> RevocationList {
        self.read().revocations.clone()
    }

    /// Every revocation record known (the newest per organisation).
    pub fn revocation_records(&self) -> Vec<SignedRecord> {
        self.read()
            .revocations
            .iter()
            .map(|r| r.record().clone())
            .collect()
    }

    /// Verifies and remembers a certificate (the newest per organisation wins).
    pub fn learn_certificate(&self, rec: &SignedRecord) -> Result<Learned, MembershipError> {
        let cert = self.network.verify_certificate(rec)?;
        let body = cert.body().clone();
        let mut inner = self.write();
        let newer = inner
            .certs
            .get(&body.org_id)
            .is_none_or(|(_, old)| body.issued_at > old.issued_at);
        if newer {
            let org = body.org_id;
            inner.certs.insert(org, (rec.clone(), body));
            return Ok(Learned::Certificate(org));
        }
        Ok(Learned::Nothing)
    }

    /// Verifies and remembers a revocation, unless the one held for that organisation is newer
    /// (a revocation is never replaced by an older one: see `RevocationList`).
    pub fn learn_revocation(&self, rec: &SignedRecord) -> Result<Learned, MembershipError> {
        let rev = self.network.check_revocation(rec)?;
        let org = rev.body().org_id;
        if self.write().revocations.add(&rev) {
            Ok(Learned::Revocation(org))
        } else {
            Ok(Learned::Nothing)
        }
    }

    /// Learns a certificate or revocation, whichever the record is.
    pub fn learn(&self, rec: &SignedRecord) -> Result<Learned, String> {
        match rec.kind {
            RecordKind::MembershipCertificate => {
                self.learn_certificate(rec).map_err(|e| e.to_string())
            }
            RecordKind::Revocation => self.learn_revocation(rec).map_err(|e| e.to_string()),
            other => Err(format!("{} records are not membership state", other.tag())),
        }
    }
}

impl Gatekeeper for MembershipState {
    fn hello(&self) -> Hello {
        Hello {
            certificate: self.own.clone(),
            revocations: self.revocation_records(),
        }
    }

    fn admit(&self, peer: &PeerId, hello: &Hello) -> Result<OrgId, String> {
        // Revocations first, so a revoked peer cannot slip in with an old certificate.
        for rec in &hello.revocations {
            self.learn_revocation(rec)
                .map_err(|e| format!("invalid revocation in hello: {e}"))?;
        }
        let cert = {
            let inner = self.read();
            self.network
                .check_certificate(&hello.certificate, now(), &inner.revocations)
                .map_err(|e| format!("membership certificate refused: {e}"))?
        };
        let org = cert.body().org_id;
        if peer_id_of(&org) != Some(*peer) {
            return Err("the certificate belongs to another key than the peer's".into());
        }
        self.learn_certificate(&hello.certificate)
            .map_err(|e| e.to_string())?;
        Ok(org)
    }

    fn is_current(&self, org: &OrgId) -> bool {
        self.current(org).is_some()
    }

    fn directory(&self) -> Vec<SignedRecord> {
        let inner = self.read();
        inner
            .certs
            .values()
            .map(|(r, _)| r.clone())
            .chain(inner.revocations.iter().map(|r| r.record().clone()))
            .collect()
    }

    fn check_gossip(&self, data: &[u8]) -> Result<SignedRecord, String> {
        let rec: SignedRecord =
            serde_json::from_slice(data).map_err(|e| format!("not a signed record: {e}"))?;
        match rec.kind {
            RecordKind::MembershipCertificate => self
                .network
                .verify_certificate(&rec)
                .map(|_| rec)
                .map_err(|e| e.to_string()),
            RecordKind::Revocation => self
                .network
                .check_revocation(&rec)
                .map(|_| rec)
                .map_err(|e| e.to_string()),
            other => Err(format!("{} records are not gossiped", other.tag())),
        }
    }
}
