//! Remediation attestations (co-signed by the CSO and the remediating party) and the
//! self-contained bundle that anyone can verify offline.

use crate::codebook::{IssueCategory, Money};
use crate::event::{CaseEvent, CaseRef, EventHash, MAX_ITEMS, Verdict};
use crate::history::{CaseHistory, HistoryError};
use crate::identity::{OrgId, Role, Timestamp};
use crate::lifecycle::{CaseState, PartyStage};
use crate::limits::{check_text, check_time};
use crate::membership::{
    MembershipCertificate, MembershipError, Network, NetworkId, RevocationList,
};
use crate::record::{RecordBody, RecordError, RecordKind, SignedRecord, Verified};
use crate::rotation::CertKeys;
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
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.issued_at)
    }
}

/// Most events one attestation may cover.
pub const MAX_EVENTS: usize = 4_096;

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
    /// The steward successions since the genesis, oldest first (a signer's certificate may
    /// come from a successor steward).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successions: Vec<SignedRecord>,
    /// Certificates of every signer.
    pub certificates: Vec<SignedRecord>,
    /// The case events the attestation covers.
    pub events: Vec<SignedRecord>,
    /// The co-signed attestation.
    pub attestation: SignedRecord,
}

/// Longest attestation summary, in bytes.
pub const MAX_SUMMARY_LEN: usize = 8_000;

impl RemediationAttestation {
    /// The attestation a case's owner drafts once the workers' latest verdict confirms a
    /// party's remediation: that party (the first escalated to, when the verdict judged
    /// several), covering `events`, issued at `now` or at the verdict if later.
    pub fn draft(
        state: &CaseState,
        events: Vec<EventHash>,
        network_id: NetworkId,
        now: Timestamp,
    ) -> Result<RemediationAttestation, &'static str> {
        let verification = state
            .verification
            .as_ref()
            .ok_or("the workers have not verified the remediation yet")?;
        let party = verification
            .parties
            .iter()
            .filter_map(|o| state.party(o))
            .find(|p| matches!(p.stage, PartyStage::Resolved | PartyStage::PartlyResolved))
            .ok_or("the workers' latest verdict confirms no party's remediation")?;
        let (Some(verdict), Some(verified_at), Some(remediated_at)) =
            (party.verdict, party.verified_at, party.reported_at)
        else {
            return Err("the party's remediation was not verified");
        };
        let summary = party
            .report_summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "Remediation reported and verified with the workers".into());
        Ok(RemediationAttestation {
            network_id,
            case_ref: state.case_ref,
            cso: state.owner,
            remediating_party: party.party,
            categories: party.categories.clone(),
            summary,
            workers_benefited: party.workers_benefited(),
            amounts_repaid: party.amounts_repaid.clone(),
            remediated_at,
            verdict,
            verified_at,
            events,
            issued_at: now.max(verified_at),
        })
    }

    /// The attestation's own field rules (section 4.7): 1 to 64 categories without repeats,
    /// a summary of at most 8000 bytes without control characters but line feed and tab, at
    /// most one amount per currency (at most 64), at least one worker benefited, 1 to 4096
    /// covered events without repeats, and times before the year 10000.
    pub fn check_well_formed(&self) -> Result<(), &'static str> {
        if self.categories.is_empty() || self.categories.len() > MAX_ITEMS {
            return Err("an attestation needs 1 to 64 issue categories");
        }
        if self.categories.iter().collect::<BTreeSet<_>>().len() != self.categories.len() {
            return Err("duplicate issue category");
        }
        check_text(&self.summary, MAX_SUMMARY_LEN, false)?;
        if self.amounts_repaid.len() > MAX_ITEMS {
            return Err("too many amounts");
        }
        let currencies: BTreeSet<_> = self.amounts_repaid.iter().map(|m| &m.currency).collect();
        if currencies.len() != self.amounts_repaid.len() {
            return Err("more than one amount in the same currency");
        }
        if self.workers_benefited == 0 {
            return Err("workers_benefited must be at least 1");
        }
        if self.events.is_empty() || self.events.len() > MAX_EVENTS {
            return Err("an attestation covers 1 to 4096 events");
        }
        if self.events.iter().collect::<BTreeSet<_>>().len() != self.events.len() {
            return Err("an event is listed twice");
        }
        for t in [self.remediated_at, self.verified_at, self.issued_at] {
            check_time(t)?;
        }
        Ok(())
    }

    /// Whether the attestation states what the case history shows (section 8, rule 12): the
    /// remediating party's remediation was verified resolved or partly resolved, and the
    /// verdict, its time, the report time, the amounts, the categories and the worker count
    /// agree with the state folded from exactly the events the attestation covers.
    pub fn check_against(&self, state: &CaseState) -> Result<(), AttestationMismatch> {
        use AttestationMismatch as M;
        if state.owner != self.cso {
            return Err(M::NotCaseOwner);
        }
        let p = state
            .party(&self.remediating_party)
            .ok_or(M::NeverEscalatedTo)?;
        if !matches!(p.stage, PartyStage::Resolved | PartyStage::PartlyResolved) {
            return Err(M::NotVerified(p.stage));
        }
        if p.verdict != Some(self.verdict) || p.verified_at != Some(self.verified_at) {
            return Err(M::Verdict);
        }
        if p.reported_at != Some(self.remediated_at) {
            return Err(M::RemediatedAt);
        }
        if self.issued_at < self.verified_at {
            return Err(M::IssuedBeforeVerdict);
        }
        if p.amounts_repaid != self.amounts_repaid {
            return Err(M::Amounts);
        }
        if self.workers_benefited > p.workers_affected {
            return Err(M::Workers);
        }
        if self.categories.iter().any(|c| !p.categories.contains(c)) {
            return Err(M::Categories);
        }
        Ok(())
    }
}

/// How an attestation disagrees with the history it covers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationMismatch {
    /// Its CSO does not own the case.
    #[error("the attestation's CSO does not own the case")]
    NotCaseOwner,
    /// The case was never escalated to the remediating party.
    #[error("the remediating party was never escalated to in this case")]
    NeverEscalatedTo,
    /// The party's remediation was not verified resolved or partly resolved.
    #[error("the workers have not verified the remediating party's remediation as resolved or partly resolved (its stage is {})", .0.code())]
    NotVerified(PartyStage),
    /// Verdict or verification time differ from the history.
    #[error(
        "the attestation's verdict or verified_at is not the workers' latest verdict on the remediating party"
    )]
    Verdict,
    /// `remediated_at` is not the party's latest report.
    #[error("remediated_at is not the time of the remediating party's latest remediation report")]
    RemediatedAt,
    /// Issued before the verdict it attests.
    #[error("the attestation is issued before the verdict it attests")]
    IssuedBeforeVerdict,
    /// Amounts differ from the party's recorded repayments.
    #[error(
        "amounts_repaid is not the per-currency total of the remediating party's recorded repayments"
    )]
    Amounts,
    /// More workers benefited than were affected.
    #[error("workers_benefited exceeds the workers affected in the party's escalations")]
    Workers,
    /// A category that was never escalated to the party.
    #[error("the attestation names a category never escalated to the remediating party")]
    Categories,
}

impl AttestationMismatch {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            AttestationMismatch::NotCaseOwner => "attestation.not_case_owner",
            AttestationMismatch::NeverEscalatedTo => "attestation.never_escalated_to",
            AttestationMismatch::NotVerified(_) => "attestation.not_verified",
            AttestationMismatch::Verdict => "attestation.verdict",
            AttestationMismatch::RemediatedAt => "attestation.remediated_at",
            AttestationMismatch::IssuedBeforeVerdict => "attestation.issued_before_verdict",
            AttestationMismatch::Amounts => "attestation.amounts",
            AttestationMismatch::Workers => "attestation.workers",
            AttestationMismatch::Categories => "attestation.categories",
        }
    }
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
    /// The attestation breaks a field rule of section 4.7.
    #[error("attestation: {0}")]
    MalformedAttestation(&'static str),
    /// A case event is invalid.
    #[error("case event: {0}")]
    Event(#[from] HistoryError),
    /// The attestation disagrees with the history it covers.
    #[error("attestation: {0}")]
    Mismatch(#[from] AttestationMismatch),
    /// A signer's membership was revoked before it signed.
    #[error("{name} ({}) signed {what} at {signed_at}, but its membership was revoked at {revoked_at} ({reason})", org.short())]
    Revoked {
        /// The revoked signer.
        org: OrgId,
        /// Its name, from its certificate.
        name: String,
        /// What it signed.
        what: &'static str,
        /// The time the signature claims.
        signed_at: u64,
        /// When its membership was revoked.
        revoked_at: u64,
        /// The revocation's reason.
        reason: String,
    },
    /// Something does not fit together.
    #[error("{0}")]
    Inconsistent(String),
}

impl BundleError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Membership(e) => e.code(),
            BundleError::Attestation(e) => e.code(),
            BundleError::MalformedAttestation(_) => "attestation.malformed",
            BundleError::Event(e) => e.code(),
            BundleError::Mismatch(e) => e.code(),
            BundleError::Revoked { .. } => "bundle.signer_revoked",
            BundleError::Inconsistent(_) => "bundle.inconsistent",
        }
    }
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
    /// Verifies everything in the bundle against its genesis, offline, knowing no revocation.
    ///
    /// Certificates are checked at the time each signature was made (an attestation stays
    /// valid after certificates expire). A verifier that knows revocations (a member node, or
    /// someone given the steward's revocation records) should use
    /// [`AttestationBundle::verify_with_revocations`].
    pub fn verify(&self) -> Result<BundleSummary, BundleError> {
        self.verify_with_revocations(&RevocationList::new())
    }

    /// Like [`AttestationBundle::verify`], refusing every signature made at or after its
    /// signer's revocation (section 8, rule 6).
    pub fn verify_with_revocations(
        &self,
        revocations: &RevocationList,
    ) -> Result<BundleSummary, BundleError> {
        let mut network = Network::from_genesis(&self.genesis)?;
        for s in &self.successions {
            network.add_succession(s)?;
        }
        let mut certs: BTreeMap<OrgId, Vec<MembershipCertificate>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for rec in &self.certificates {
            if !seen.insert(rec.digest()) {
                return inconsistent("the same certificate appears twice");
            }
            let (_, body) = network.verify_certificate(rec)?.into_parts();
            certs.entry(body.org_id).or_default().push(body);
        }
        // The newest certificate valid at a time: after a key rotation it is the one that
        // knows the organisation's key history.
        let held_at = |org: &OrgId, at: Timestamp| -> Option<&MembershipCertificate> {
            certs
                .get(org)?
                .iter()
                .filter(|c| c.not_before <= at && at < c.not_after)
                .max_by_key(|c| c.issued_at)
        };
        // Every signature made by a revoked signer is named, before anything else is replayed.
        let revoked = |org: &OrgId, at: Timestamp, what: &'static str| -> Result<(), BundleError> {
            let Some(cert) = held_at(org, at) else {
                return Ok(());
            };
            match revocations.revoking(cert, at) {
                Some(r) => Err(BundleError::Revoked {
                    org: *org,
                    name: cert.name.clone(),
                    what,
                    signed_at: at.0,
                    revoked_at: r.revoked_at.0,
                    reason: r.reason.clone(),
                }),
                None => Ok(()),
            }
        };
        let cert_at = |org: &OrgId, at: Timestamp| -> Option<MembershipCertificate> {
            held_at(org, at)
                .filter(|c| !revocations.revokes(c, at))
                .cloned()
        };

        let att: Verified<RemediationAttestation> = self
            .attestation
            .verify_with(&CertKeys(&|org: &OrgId, at: Timestamp| {
                held_at(org, at).cloned()
            }))
            .map_err(BundleError::Attestation)?;
        let a = att.body();
        a.check_well_formed()
            .map_err(BundleError::MalformedAttestation)?;
        if a.network_id != network.id() {
            return inconsistent("attestation belongs to another network");
        }
        revoked(&a.cso, a.issued_at, "the attestation")?;
        revoked(&a.remediating_party, a.issued_at, "the attestation")?;
        for rec in &self.events {
            if let Ok(ev) = serde_json::from_slice::<CaseEvent>(&rec.body) {
                revoked(&ev.author, ev.authored_at, "a case event")?;
            }
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
        if held.len() != self.events.len() || held != covered || history.len() != held.len() {
            return inconsistent(
                "the bundle's events are not exactly the events the attestation covers",
            );
        }
        let state = history
            .state()
            .ok_or_else(|| BundleError::Inconsistent("the bundle holds no case events".into()))?;
        a.check_against(state)?;
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
