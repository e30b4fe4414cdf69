//! The node's view of the network's membership: its own certificate, the certificates it has
//! learned, and the revocations it knows. Decides admission at the door.

use crate::net::Gatekeeper;
use crate::net::proto::Hello;
use ilm_protocol::{
    MembershipCertificate, MembershipError, Network, NetworkId, OrgId, RecordKind,
    RemediationAttestation, RevocationList, SignedRecord, Timestamp,
};
use libp2p::PeerId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The libp2p peer id of a signing key (a node's libp2p identity is its current signing
/// key). For an organisation, whose key may have been rotated, use
/// [`MembershipState::peer_of`].
pub fn peer_id_of(key: &OrgId) -> Option<PeerId> {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(pk).to_peer_id())
}

pub use crate::clock::now;

/// Adds steward successions to a network in whatever order they come: each is tried until
/// none more fits (a succession needs the ones before it). Returns how many were new.
pub fn add_successions(network: &mut Network, recs: &[SignedRecord]) -> usize {
    let mut todo: Vec<&SignedRecord> = recs.iter().collect();
    let mut learned = 0;
    loop {
        let before = todo.len();
        todo.retain(|rec| match network.add_succession(rec) {
            Ok(new) => {
                learned += usize::from(new);
                false
            }
            Err(_) => true,
        });
        if todo.is_empty() || todo.len() == before {
            return learned;
        }
    }
}

/// What is known of the network. Every change to it calls [`MembershipState::changed`]: the
/// attestation checks remembered were made against what it held before.
struct Inner {
    /// The genesis and the steward successions learned since.
    network: Network,
    revocations: RevocationList,
    certs: HashMap<OrgId, (SignedRecord, MembershipCertificate)>,
}

/// Membership state shared by the network task, the node core and the admin API.
pub struct MembershipState {
    network_id: NetworkId,
    own: SignedRecord,
    me: OrgId,
    inner: RwLock<Inner>,
    checks: Mutex<Checks>,
    checks_made: AtomicU64,
    derivations_made: AtomicU64,
}

/// Attestation checks made against the membership as it is now: a bundle costs dozens of
/// signature checks, and every brand page shows every attestation of its supply chain.
#[derive(Default)]
struct Checks {
    /// Changes of the membership so far: a check begun before one is not remembered.
    generation: u64,
    /// By [`AttestationCheck`] key (a digest of everything checked).
    done: HashMap<[u8; 32], AttestationCheck>,
    /// One value derived from the membership and a table of the store, with the count of
    /// the table's changes it was read at (see [`MembershipState::remembered`]).
    derived: Option<(u64, Arc<dyn std::any::Any + Send + Sync>)>,
}

/// Most attestation checks remembered; past it the memo starts again.
const MAX_CHECKS: usize = 100_000;

/// What checking a stored attestation against the membership found.
#[derive(Debug, Clone)]
pub struct AttestationCheck {
    /// The body, when the signatures made so far check out.
    pub body: Option<RemediationAttestation>,
    /// Whether it is complete and checks out whole (with its bundle, if it has one).
    pub verified: bool,
}

/// What learning a record changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Learned {
    /// A certificate newer than what was known for this organisation.
    Certificate(OrgId),
    /// A revocation not known before.
    Revocation(OrgId),
    /// A steward succession not known before.
    Succession,
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
            network_id: network.id(),
            own: own.clone(),
            me,
            inner: RwLock::new(Inner {
                network,
                revocations: RevocationList::new(),
                certs: HashMap::new(),
            }),
            checks: Mutex::new(Checks::default()),
            checks_made: AtomicU64::new(0),
            derivations_made: AtomicU64::new(0),
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

    /// The network as known now (genesis and successions).
    pub fn network(&self) -> Network {
        self.read().network.clone()
    }

    /// The network id.
    pub fn network_id(&self) -> NetworkId {
        self.network_id
    }

    /// Learns the steward successions stored or received (in any order: each is tried
    /// until none more fits). Returns how many were new.
    pub fn learn_successions(&self, recs: &[SignedRecord]) -> usize {
        let learned = add_successions(&mut self.write().network, recs);
        if learned > 0 {
            self.changed();
        }
        learned
    }

    /// The check of an attestation whose records, bundle and completeness digest to `key`:
    /// made by `check` once per state of the membership, since its outcome depends on nothing
    /// else (certificates, revocations and successions; never the clock).
    pub fn check_attestation(
        &self,
        key: [u8; 32],
        check: impl FnOnce() -> AttestationCheck,
    ) -> AttestationCheck {
        let generation = {
            let checks = self.checks();
            if let Some(done) = checks.done.get(&key) {
                return done.clone();
            }
            checks.generation
        };
        let done = check();
        self.checks_made.fetch_add(1, Ordering::Relaxed);
        let mut checks = self.checks();
        // A change while checking may have come before or after the reads it made.
        if checks.generation == generation {
            if checks.done.len() >= MAX_CHECKS {
                checks.done.clear();
            }
            checks.done.insert(key, done.clone());
        }
        done
    }

    /// A value built from the membership as it is now and from a table of the store as of
    /// its change count `changes` ([`crate::store::Store::changes`]), built again only when
    /// either changed: a brand's pages show every attestation it holds, and reading each one
    /// with its bundle costs more than the rest of a page.
    pub fn remembered<V: std::any::Any + Send + Sync, E>(
        &self,
        changes: u64,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let generation = {
            let checks = self.checks();
            if let Some((at, v)) = &checks.derived
                && *at == changes
                && let Ok(v) = Arc::clone(v).downcast::<V>()
            {
                return Ok(v);
            }
            checks.generation
        };
        let built = Arc::new(build()?);
        self.derivations_made.fetch_add(1, Ordering::Relaxed);
        let mut checks = self.checks();
        // A change of the membership while building may have come before or after its reads.
        if checks.generation == generation {
            let v: Arc<dyn std::any::Any + Send + Sync> = built.clone();
            checks.derived = Some((changes, v));
        }
        Ok(built)
    }

    /// Values [`MembershipState::remembered`] built since the node started.
    pub fn derivations_made(&self) -> u64 {
        self.derivations_made.load(Ordering::Relaxed)
    }

    /// Attestation checks made since the node started (each cost their signature checks).
    pub fn attestation_checks_made(&self) -> u64 {
        self.checks_made.load(Ordering::Relaxed)
    }

    fn checks(&self) -> std::sync::MutexGuard<'_, Checks> {
        self.checks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the checks made against the membership as it was (called after each change,
    /// once the change is visible).
    fn changed(&self) {
        let mut checks = self.checks();
        checks.generation += 1;
        checks.done.clear();
        checks.derived = None;
    }

    /// The libp2p peer id an organisation connects with: that of the current key its newest
    /// known certificate names.
    pub fn peer_of(&self, org: &OrgId) -> Option<PeerId> {
        let key = self
            .read()
            .certs
            .get(org)
            .map_or(*org, |(_, c)| c.current_key());
        peer_id_of(&key)
    }

    /// The peer id the organisation of a certificate record connects with now, if its
    /// certificate is known (before learning a newer one).
    pub fn peer_of_cert(&self, rec: &SignedRecord) -> Option<PeerId> {
        let org = serde_json::from_slice::<MembershipCertificate>(&rec.body)
            .ok()?
            .org_id;
        self.read()
            .certs
            .get(&org)
            .and_then(|(_, c)| peer_id_of(&c.current_key()))
    }

    /// Which key signs for whom: each organisation's newest known certificate.
    pub fn key_book(&self) -> impl Fn(&OrgId) -> Option<MembershipCertificate> + '_ {
        |org| self.certificate(org)
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
        let mut inner = self.write();
        let cert = inner.network.verify_certificate(rec)?;
        let body = cert.body().clone();
        // Newest by issue time, then by digest: every node keeps the same one whatever order
        // they arrive in.
        let newer = inner.certs.get(&body.org_id).is_none_or(|(old_rec, old)| {
            (body.issued_at, rec.digest()) > (old.issued_at, old_rec.digest())
        });
        if newer {
            let org = body.org_id;
            inner.certs.insert(org, (rec.clone(), body));
            drop(inner);
            self.changed();
            return Ok(Learned::Certificate(org));
        }
        Ok(Learned::Nothing)
    }

    /// Verifies and remembers a revocation, unless the one held for that organisation is newer
    /// (a revocation is never replaced by an older one: see `RevocationList`).
    pub fn learn_revocation(&self, rec: &SignedRecord) -> Result<Learned, MembershipError> {
        let mut inner = self.write();
        let rev = inner.network.check_revocation(rec)?;
        let org = rev.body().org_id;
        if inner.revocations.add(&rev) {
            drop(inner);
            self.changed();
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
            RecordKind::StewardSuccession => {
                let added = self.write().network.add_succession(rec);
                match added {
                    Ok(true) => {
                        self.changed();
                        Ok(Learned::Succession)
                    }
                    Ok(false) => Ok(Learned::Nothing),
                    Err(e) => Err(e.to_string()),
                }
            }
            other => Err(format!("{} records are not membership state", other.tag())),
        }
    }
}

impl Gatekeeper for MembershipState {
    fn hello(&self) -> Hello {
        Hello {
            certificate: self.own.clone(),
            revocations: self.revocation_records(),
            successions: self.read().network.successions().cloned().collect(),
        }
    }

    fn admit(&self, peer: &PeerId, hello: &Hello) -> Result<OrgId, String> {
        // Successions first: the certificate may come from a successor steward.
        self.learn_successions(&hello.successions);
        // Revocations next, so a revoked peer cannot slip in with an old certificate.
        for rec in &hello.revocations {
            self.learn_revocation(rec)
                .map_err(|e| format!("invalid revocation in hello: {e}"))?;
        }
        let cert = {
            let inner = self.read();
            inner
                .network
                .check_certificate(&hello.certificate, now(), &inner.revocations)
                .map_err(|e| format!("membership certificate refused: {e}"))?
        };
        let org = cert.body().org_id;
        if peer_id_of(&cert.body().current_key()) != Some(*peer) {
            return Err("the certificate belongs to another key than the peer's".into());
        }
        self.learn_certificate(&hello.certificate)
            .map_err(|e| e.to_string())?;
        // An older certificate is still validly signed: after a rotation, the key it names
        // (perhaps stolen) must not get in with it.
        if self.peer_of(&org) != Some(*peer) {
            return Err(
                "the peer connects with a key this organisation has rotated away from".into(),
            );
        }
        Ok(org)
    }

    fn is_current(&self, org: &OrgId) -> bool {
        self.current(org).is_some()
    }

    fn directory(&self) -> Vec<SignedRecord> {
        let inner = self.read();
        inner
            .network
            .successions()
            .cloned()
            .chain(inner.certs.values().map(|(r, _)| r.clone()))
            .chain(inner.revocations.iter().map(|r| r.record().clone()))
            .collect()
    }

    fn check_gossip(&self, data: &[u8]) -> Result<SignedRecord, String> {
        let rec: SignedRecord =
            serde_json::from_slice(data).map_err(|e| format!("not a signed record: {e}"))?;
        let mut network = self.network();
        match rec.kind {
            RecordKind::MembershipCertificate => network
                .verify_certificate(&rec)
                .map(|_| rec)
                .map_err(|e| e.to_string()),
            RecordKind::Revocation => network
                .check_revocation(&rec)
                .map(|_| rec)
                .map_err(|e| e.to_string()),
            RecordKind::StewardSuccession => network
                .add_succession(&rec)
                .map(|_| rec)
                .map_err(|e| e.to_string()),
            other => Err(format!("{} records are not gossiped", other.tag())),
        }
    }
}

#[cfg(test)]
mod tests;
