//! Synthetic cases for scale tests and the demo: real case events, signed by the real keys of
//! a CSO and its counterparties and validated like any other, written straight through the
//! store's batch API (events, case index, read model and aggregates in one batch per chunk),
//! much faster than through the network. Every generated case says it is sample data, in
//! its site and description.

use crate::aggregates::Pending;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::event::Escalation;
use ilm_protocol::{
    CaseEvent, CaseHistory, CaseNonce, CaseRef, EventPayload, IssueCategory, MembershipCertificate,
    NetworkId, OrgId, OrgKeys, SignedRecord, Timestamp, Verdict,
};

/// The words every generated case carries, so no one mistakes it for a real one.
pub const SAMPLE_MARK: &str = "SAMPLE DATA";

/// Cases written per batch.
const CHUNK: usize = 1_000;

const DAY: u64 = 86_400;

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A generated event was refused by the protocol's rules (a bug in the generator, or
    /// certificates that do not cover the period).
    #[error("a generated event was refused: {0}")]
    Refused(String),
}

/// Who the cases are between and when they happen.
pub struct Cast<'a> {
    /// The network.
    pub network_id: NetworkId,
    /// The CSO that owns the cases.
    pub cso: &'a OrgKeys,
    /// The organisations escalated to (suppliers, agencies), picked in turn.
    pub parties: &'a [&'a OrgKeys],
    /// Certificates of the CSO and every party.
    pub certificates: &'a [MembershipCertificate],
    /// Cases are opened between this time and `until` (both inside every certificate).
    pub from: Timestamp,
    /// The latest time any generated event is authored.
    pub until: Timestamp,
}

/// A small, fixed pseudo-random sequence (SplitMix64): the same seed, the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Writes `n` synthetic cases owned by `cast.cso` into `store`; `progress` is told how many
/// are written. Returns how many were written.
pub fn generate(
    store: &Store,
    cast: &Cast,
    n: u64,
    seed: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, GenerateError> {
    let cert_of =
        |org: &OrgId, _at: Timestamp| cast.certificates.iter().find(|c| c.org_id == *org).cloned();
    // The cases' cells and index ids are staged with each batch below: count what the store
    // already holds first, so that the node does not recount everything at its next start.
    crate::aggregates::ensure_built(store)?;
    let mut rng = Rng(seed);
    let span = cast.until.0.saturating_sub(cast.from.0).max(1);
    let mut written = 0u64;
    while written < n {
        let mut batch = WriteBatch::new();
        let mut aggregates = Pending::new();
        let chunk = (n - written).min(CHUNK as u64);
        for _ in 0..chunk {
            let i = written;
            written += 1;
            let party = cast.parties[(i as usize) % cast.parties.len().max(1)];
            // Leave room after the opening for the later steps, all before `until`. Cases
            // come in the order they were opened, as a helpline records them (each in its
            // own slot of the period, at a random time in it).
            let usable = span.saturating_sub(60 * DAY).max(1);
            let slot = u64::try_from(u128::from(i) * u128::from(usable) / u128::from(n.max(1)))
                .unwrap_or(usable);
            let opened = Timestamp(cast.from.0 + slot + rng.below(usable / n.max(1)));
            let mut nonce = [0u8; 16];
            nonce[..8].copy_from_slice(&rng.next().to_be_bytes());
            nonce[8..].copy_from_slice(&i.to_be_bytes());
            let case_nonce = CaseNonce(nonce);
            let case_ref = CaseRef::derive(&cast.cso.org_id(), &case_nonce);
            let mut history = CaseHistory::new(cast.network_id, case_ref);
            let categories = {
                let all = IssueCategory::ALL;
                let a = all[rng.below(all.len() as u64) as usize];
                let b = all[rng.below(all.len() as u64) as usize];
                let mut c = vec![a, b];
                c.sort();
                c.dedup();
                c
            };
            let mut steps: Vec<(&OrgKeys, u64, EventPayload)> = vec![(
                cast.cso,
                0,
                EventPayload::Escalation(Escalation {
                    to: party.org_id(),
                    categories,
                    workers_affected: 1 + rng.below(40) as u32,
                    site: format!("{SAMPLE_MARK}: site {}", i % 997),
                    requested_remedy: "Repay the withheld wages".into(),
                    description: format!("{SAMPLE_MARK}: a generated case, not a real one"),
                    recruitment_fees: None,
                    acknowledge_by: opened.plus_days(7),
                    remediate_by: opened.plus_days(45),
                }),
            )];
            let stage = rng.below(10);
            if stage >= 3 {
                steps.push((
                    party,
                    1 + rng.below(10),
                    EventPayload::Acknowledgement {
                        note: String::new(),
                    },
                ));
            }
            if stage >= 6 {
                steps.push((
                    party,
                    15 + rng.below(30),
                    EventPayload::RemediationReported {
                        summary: format!("{SAMPLE_MARK}: wages repaid"),
                    },
                ));
            }
            if stage >= 8 {
                steps.push((
                    cast.cso,
                    50,
                    EventPayload::WorkerVerification {
                        verdict: if stage == 9 {
                            Verdict::NotResolved
                        } else {
                            Verdict::Resolved
                        },
                        workers_consulted: 3,
                        note: String::new(),
                    },
                ));
            }
            let mut records = Vec::with_capacity(steps.len());
            for (k, (author, days, payload)) in steps.into_iter().enumerate() {
                let event = CaseEvent {
                    network_id: cast.network_id,
                    case_ref,
                    case_nonce: (k == 0).then_some(case_nonce),
                    parents: history.heads(),
                    author: author.org_id(),
                    authored_at: opened.plus_days(days),
                    payload,
                };
                let rec = SignedRecord::sign(&event, author)
                    .map_err(|e| GenerateError::Refused(e.to_string()))?;
                history
                    .insert(&rec, &cert_of)
                    .map_err(|e| GenerateError::Refused(e.to_string()))?;
                records.push(rec);
            }
            for rec in &records {
                batch.put(
                    &schema::EVENTS,
                    &schema::event_id(&case_ref, &rec.digest()),
                    rec,
                )?;
            }
            if let Some(state) = history.state() {
                aggregates.case(None, state);
                crate::cases::put_record(&mut batch, state, &history.heads())?;
            }
        }
        aggregates.stage(store, &mut batch)?;
        store.commit(batch)?;
        progress(written);
    }
    Ok(written)
}
