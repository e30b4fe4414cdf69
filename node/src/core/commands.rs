//! Intent-level workflows that take several steps: each builds one batch, validated by the
//! protocol's rules step by step, and commits it with one flush, so a crash or a refusal
//! never leaves half of a workflow behind (a verdict without its reopen, an escalation
//! without the disclosure the workers consented to).

use super::*;
use ilm_protocol::event::Escalation;
use ilm_protocol::{Verdict, event::MAX_TEXT_LEN};
use serde::Serialize;

/// What an escalation of a local case did.
#[derive(Debug, Clone, Serialize)]
pub struct Escalated {
    /// The escalation event.
    pub escalated: Appended,
    /// Whether worker identities went to the recipient (with their consent).
    pub identity_disclosed: bool,
}

/// What recording the workers' verdict did.
#[derive(Debug, Clone, Serialize)]
pub struct Verdicted {
    /// The verification event.
    pub verified: Appended,
    /// Whether the case was reopened (a not-resolved verdict).
    pub reopened: bool,
    /// The escalations sent again, one per party the verdict judged.
    pub re_escalated: Vec<Appended>,
    /// The attestation drafted and sent for co-signature (a resolved or partly resolved
    /// verdict).
    pub attestation_draft: Option<EventHash>,
}

/// `text` cut to at most `max` bytes, at a character boundary (Thai or Burmese text is several
/// bytes per character).
pub fn truncate_text(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

impl Core {
    /// Runs `steps` on one batch; commits it if every step succeeded, else writes nothing and
    /// forgets what the steps added to the case's cached history.
    async fn in_one_batch<T>(
        &mut self,
        case: CaseRef,
        steps: impl FnOnce(&mut Core, &mut WriteBatch) -> Result<(T, Vec<OutboxEntry>), CoreError>,
    ) -> Result<T, CoreError> {
        let mut batch = WriteBatch::new();
        let staged = steps(self, &mut batch).and_then(|(answer, mut entries)| {
            entries.append(&mut self.stage_case_writes(&mut batch, [case])?);
            Ok((answer, entries))
        });
        let (answer, entries) = match staged {
            Ok(s) => s,
            Err(e) => {
                self.histories.remove(&case);
                return Err(e);
            }
        };
        if let Err(e) = self.store.commit(batch) {
            self.histories.remove(&case);
            return Err(e.into());
        }
        for e in entries {
            self.outbox.push(e).await;
        }
        Ok(answer)
    }

    /// Escalates a case and, in the same batch, sends the recipient the identities of the
    /// workers who consented (`disclosure`, a sealed-to-nobody-else payload).
    pub(super) async fn escalate(
        &mut self,
        case: CaseRef,
        escalation: Escalation,
        at: Option<Timestamp>,
        disclosure: Option<Vec<u8>>,
    ) -> Result<Escalated, CoreError> {
        let to = escalation.to;
        self.in_one_batch(case, move |core, batch| {
            let (escalated, mut entries) =
                core.prepare_append(batch, Some(case), EventPayload::Escalation(escalation), at)?;
            let identity_disclosed = disclosure.is_some();
            if let Some(payload) = disclosure {
                let (_, mut e) = core.queue_message(
                    batch,
                    MessageKind::ConsentedDisclosure,
                    &[to],
                    &payload,
                    Some(case),
                    at.unwrap_or_else(now),
                )?;
                entries.append(&mut e);
            }
            Ok((
                Escalated {
                    escalated,
                    identity_disclosed,
                },
                entries,
            ))
        })
        .await
    }

    /// Records the workers' verdict. Not resolved: in the same batch the case reopens and is
    /// escalated again to every party the verdict judged. Resolved or partly resolved: the
    /// attestation is drafted and sent for co-signature in the same batch.
    pub(super) async fn record_verdict(
        &mut self,
        case: CaseRef,
        verdict: Verdict,
        workers_consulted: u32,
        note: String,
        at: Option<Timestamp>,
    ) -> Result<Verdicted, CoreError> {
        self.in_one_batch(case, move |core, batch| {
            let (verified, mut entries) = core.prepare_append(
                batch,
                Some(case),
                EventPayload::WorkerVerification {
                    verdict,
                    workers_consulted,
                    note,
                },
                at,
            )?;
            let mut answer = Verdicted {
                verified,
                reopened: false,
                re_escalated: Vec::new(),
                attestation_draft: None,
            };
            if verdict != Verdict::NotResolved {
                let (rec, mut e) = core.prepare_attestation(batch, case)?;
                entries.append(&mut e);
                answer.attestation_draft = Some(rec.digest());
                return Ok((answer, entries));
            }
            let state = core
                .history(&case)?
                .and_then(|h| h.state().cloned())
                .ok_or(CoreError::UnknownCase(case))?;
            let (_, mut e) = core.prepare_append(
                batch,
                Some(case),
                EventPayload::Reopened {
                    reason: "Workers say the remediation did not happen".into(),
                },
                at,
            )?;
            entries.append(&mut e);
            answer.reopened = true;
            let judged = state
                .verification
                .as_ref()
                .map(|v| v.parties.clone())
                .unwrap_or_default();
            let t = at.unwrap_or_else(now);
            for party in judged.iter().filter_map(|o| state.party(o)) {
                let mut esc = party.escalation.clone();
                let span = esc.remediate_by.0.saturating_sub(esc.acknowledge_by.0);
                esc.description = truncate_text(
                    &format!(
                        "Re-escalated: the workers report the remediation did not happen. {}",
                        esc.description
                    ),
                    MAX_TEXT_LEN,
                );
                esc.acknowledge_by = t.plus_days(7);
                esc.remediate_by = t.plus_days(7).plus_secs(span.max(86_400 * 14));
                let (appended, mut e) =
                    core.prepare_append(batch, Some(case), EventPayload::Escalation(esc), at)?;
                entries.append(&mut e);
                answer.re_escalated.push(appended);
            }
            Ok((answer, entries))
        })
        .await
    }
}
