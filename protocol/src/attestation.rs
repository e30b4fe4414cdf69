//! Remediation attestations (co-signed by the CSO and the remediating party) and the
//! self-contained bundle that anyone can verify offline.

use crate::codebook::{IssueCategory, Money};
use crate::event::{CaseRef, EventHash, EventPayload, Verdict};
use crate::history::{CaseHistory, HistoryError};
use crate::identity::{OrgId, Role, Timestamp};
use crate::membership::{MembershipCertificate, MembershipError, Network, NetworkId};
use crate::record::{RecordBody, RecordError, RecordKind, SignedRecord, Verified};
use crate::rules::is_responder;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The closing record of a remediation. Contains no worker identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationAttestation {
    /// Network of the case.
    pub network_id: NetworkId,
    /// The case (pseudonymous).
    pub case_ref: CaseRef,
    /// The CSO that verified with the workers; signs first.
    pub cso: OrgId,
    /// The party that remediated; co-signs.
    pub remediating_party: OrgId,
    /// Issue categories remediated.
    pub categories: Vec<IssueCategory>,
    /// What was done.
    pub summary: String,
    /// Workers who benefited.
    pub workers_benefited: u32,
    /// Money returned to workers.
    pub amounts_repaid: Vec<Money>,
    /// When remediation was reported complete.
    pub remediated_at: Timestamp,
    /// What the workers said.
    pub verdict: Verdict,
    /// When the workers' verdict was recorded.
    pub verified_at: Timestamp,
    /// Every event of the case history this attestation covers.
    pub events: Vec<EventHash>,
    /// When the CSO issued it.
    pub issued_at: Timestamp,
}

impl RecordBody for RemediationAttestation {
    const KIND: RecordKind = RecordKind::RemediationAttestation;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.cso, self.remediating_party]
    }
}

/// The format tag of attestation bundle files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BundleFormat {
    /// Version 1.
    #[serde(rename = "ilm-attestation-bundle/1")]
    V1,
}

/// A self-contained file: an attestation, the events it covers and the certificates needed to
/// check every signature, rooted in the network genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationBundle {
    /// Format tag.
    pub format: BundleFormat,
    /// The network's genesis (trust root: compare its id with the one you know).
    pub genesis: SignedRecord,
    /// Certificates of every signer.
    pub certificates: Vec<SignedRecord>,
    /// The case events the attestation covers.
    pub events: Vec<SignedRecord>,
    /// The co-signed attestation.
    pub attestation: SignedRecord,
}

/// Why a bundle failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Genesis or certificate invalid.
    #[error("membership: {0}")]
    Membership(#[from] MembershipError),
    /// The attestation's own signatures or format.
    #[error("attestation: {0}")]
    Attestation(RecordError),
    /// A case event is invalid.
    #[error("case event: {0}")]
    Event(#[from] HistoryError),
    /// Something does not fit together.
    #[error("{0}")]
    Inconsistent(String),
}

/// What a valid bundle says, for a one-line summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleSummary {
    /// Network id.
    pub network_id: NetworkId,
    /// Network name.
    pub network_name: String,
    /// Case reference.
    pub case_ref: CaseRef,
    /// CSO name.
    pub cso_name: String,
    /// Remediating party name.
    pub remediating_party_name: String,
    /// Remediating party role.
    pub remediating_party_role: Role,
    /// Categories.
    pub categories: Vec<IssueCategory>,
    /// Workers benefited.
    pub workers_benefited: u32,
    /// Verdict.
    pub verdict: Verdict,
    /// Events covered.
    pub events: usize,
    /// When issued.
    pub issued_at: Timestamp,
}

fn inconsistent<T>(msg: impl Into<String>) -> Result<T, BundleError> {
    Err(BundleError::Inconsistent(msg.into()))
}

impl AttestationBundle {
    /// Verifies everything in the bundle against its genesis, offline.
    ///
    /// Certificates are checked at the time each signature was made (an attestation stays
    /// valid after certificates expire). Revocations cannot be known offline: a verifier that
    /// is a member should also check its own revocation list.
    pub fn verify(&self) -> Result<BundleSummary, BundleError> {
        let network = Network::from_genesis(&self.genesis)?;
        let mut certs: BTreeMap<OrgId, Vec<MembershipCertificate>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for rec in &self.certificates {
            if !seen.insert(rec.digest()) {
                return inconsistent("the same certificate appears twice");
            }
            let (_, body) = network.verify_certificate(rec)?.into_parts();
            certs.entry(body.org_id).or_default().push(body);
        }
        let cert_at = |org: &OrgId, at: Timestamp| -> Option<MembershipCertificate> {
            certs
                .get(org)?
                .iter()
                .find(|c| c.not_before <= at && at < c.not_after)
                .cloned()
        };

        let att: Verified<RemediationAttestation> = self
            .attestation
            .verify()
            .map_err(BundleError::Attestation)?;
        let a = att.body();
        if a.network_id != network.id() {
            return inconsistent("attestation belongs to another network");
        }
        let Some(cso) = cert_at(&a.cso, a.issued_at).filter(|c| c.role == Role::Cso) else {
            return inconsistent(
                "no certificate showing the attestation's CSO was a CSO member when it signed",
            );
        };
        let Some(party) =
            cert_at(&a.remediating_party, a.issued_at).filter(|c| is_responder(c.role))
        else {
            return inconsistent(
                "no certificate showing the remediating party was an agency, supplier, brand or government member when it signed",
            );
        };
        if a.verdict == Verdict::NotResolved {
            return inconsistent("an attestation cannot record a not-resolved verdict");
        }

        let history = self.replay_events(network.id(), a.case_ref, &cert_at)?;
        let held: BTreeSet<EventHash> = self.events.iter().map(SignedRecord::digest).collect();
        let covered: BTreeSet<EventHash> = a.events.iter().copied().collect();
        if covered.len() != a.events.len()
            || held.len() != self.events.len()
            || held != covered
            || history.len() != held.len()
        {
            return inconsistent(
                "the bundle's events are not exactly the events the attestation covers",
            );
        }
        let ctx = history
            .context_for(&history.heads())
            .ok_or_else(|| BundleError::Inconsistent("the bundle holds no case events".into()))?;
        if ctx.owner != a.cso {
            return inconsistent("the attestation's CSO does not own the case");
        }
        if !ctx.responders.contains(&a.remediating_party) {
            return inconsistent("the remediating party was never escalated to in this case");
        }
        let verified = history
            .ordered()
            .into_iter()
            .rev()
            .find_map(|ev| match ev.body().payload {
                EventPayload::WorkerVerification { verdict, .. } => Some(verdict),
                _ => None,
            });
        if verified != Some(a.verdict) {
            return inconsistent(
                "the attestation's verdict is not the workers' latest verdict in the history",
            );
        }
        Ok(BundleSummary {
            network_id: network.id(),
            network_name: network.name().to_string(),
            case_ref: a.case_ref,
            cso_name: cso.name,
            remediating_party_name: party.name,
            remediating_party_role: party.role,
            categories: a.categories.clone(),
            workers_benefited: a.workers_benefited,
            verdict: a.verdict,
            events: history.len(),
            issued_at: a.issued_at,
        })
    }

    /// Rebuilds the case history from the bundle's events, in whatever order they are listed.
    fn replay_events(
        &self,
        network_id: NetworkId,
        case_ref: CaseRef,
        cert_at: &dyn Fn(&OrgId, Timestamp) -> Option<MembershipCertificate>,
    ) -> Result<CaseHistory, BundleError> {
        let mut history = CaseHistory::new(network_id, case_ref);
        let mut todo: Vec<&SignedRecord> = self.events.iter().collect();
        while !todo.is_empty() {
            let before = todo.len();
            let mut blocked = Vec::new();
            let mut last_missing = None;
            for rec in todo {
                match history.insert(rec, cert_at) {
                    Ok(_) => {}
                    Err(HistoryError::MissingParents(m)) => {
                        last_missing = Some(HistoryError::MissingParents(m));
                        blocked.push(rec);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if blocked.len() == before {
                return Err(last_missing
                    .unwrap_or(HistoryError::MissingParents(Vec::new()))
                    .into());
            }
            todo = blocked;
        }
        Ok(history)
    }
}
