//! Events authored by this node: signed, validated against the case's state, sealed to the
//! other participants and stored with their outbox entries in one flushed batch (group
//! commit: every append waiting shares the flush).

use super::*;
use crate::schema;

impl Core {
    /// Appends events authored by this node and queues them for the other participants, all
    /// in one flushed batch (group commit), then answers each caller.
    pub(super) async fn append_batch(&mut self, appends: Vec<PendingAppend>) {
        let mut batch = WriteBatch::new();
        let mut answers = Vec::with_capacity(appends.len());
        let mut entries = Vec::new();
        let mut touched = BTreeSet::new();
        let mut broken: Option<String> = None;
        for (case, payload, at, reply) in appends {
            if broken.is_some() {
                answers.push((
                    reply,
                    Err(CoreError::Storage(StoreError::Engine(
                        "not stored: the batch failed".into(),
                    ))),
                ));
                continue;
            }
            match self.prepare_append(&mut batch, case, payload, at) {
                Ok((appended, mut e)) => {
                    touched.insert(appended.case_ref);
                    entries.append(&mut e);
                    answers.push((reply, Ok(appended)));
                }
                Err(CoreError::Storage(e)) => {
                    // The batch may hold part of this append: none of it may be committed.
                    broken = Some(e.to_string());
                    answers.push((reply, Err(CoreError::Storage(e))));
                }
                Err(e) => answers.push((reply, Err(e))),
            }
        }
        // The touched cases' states and status reports join the same batch.
        if broken.is_none() {
            match self.stage_case_writes(&mut batch, touched.iter().copied()) {
                Ok(mut e) => entries.append(&mut e),
                Err(e) => broken = Some(e.to_string()),
            }
        }
        let committed = match broken {
            Some(e) => Err(e),
            None => self.store.commit(batch).map_err(|e| e.to_string()),
        };
        if let Err(e) = &committed {
            warn!("appends not stored: {e}");
            // Cached histories may hold events that are not stored: reload them on next use.
            for case in &touched {
                self.histories.remove(case);
            }
        } else {
            for e in entries {
                self.outbox.push(e).await;
            }
        }
        for (reply, answer) in answers {
            let answer = match (&committed, answer) {
                (Err(e), Ok(_)) => Err(CoreError::Storage(StoreError::Engine(format!(
                    "not stored: {e}"
                )))),
                (_, a) => a,
            };
            let _ = reply.send(answer);
        }
    }

    /// Builds one append into `batch`: signs the event, adds it to the cached history and
    /// seals it to the other participants. Everything that can be refused is checked before
    /// anything is written to the batch; a write error means the batch is unusable.
    pub(super) fn prepare_append(
        &mut self,
        batch: &mut WriteBatch,
        case: Option<CaseRef>,
        payload: EventPayload,
        at: Option<Timestamp>,
    ) -> Result<(Appended, Vec<OutboxEntry>), CoreError> {
        let network_id = self.membership.network_id();
        let me = self.me;
        let t = at.unwrap_or_else(now);
        let existing = match case {
            Some(c) => self.history(&c)?.cloned(),
            None => None,
        };
        // A new case's reference derives from this node's id and a nonce: its own (an
        // escalation of nothing), or the nonce the CSO's local case was opened with. Nobody
        // chooses a reference, so no case can take over another's.
        let (case_ref, nonce) = match (case, &existing) {
            (Some(c), Some(_)) => (c, None),
            (Some(c), None) => {
                let local: Option<crate::intake::LocalCase> =
                    self.store.get(&schema::LOCAL_CASES, c.as_bytes())?;
                match local.and_then(|l| l.nonce) {
                    Some(n) if CaseRef::derive(&me, &n) == c => (c, Some(n)),
                    _ => return Err(CoreError::UnknownCase(c)),
                }
            }
            (None, _) => {
                let n =
                    CaseNonce(ilm_protocol::identity::random_bytes().map_err(CoreError::refused)?);
                (CaseRef::derive(&me, &n), Some(n))
            }
        };
        if existing.is_none() && !matches!(payload, EventPayload::Escalation(_)) {
            return Err(CoreError::UnknownCase(case_ref));
        }
        let mut history = existing.unwrap_or_else(|| CaseHistory::new(network_id, case_ref));
        let event = CaseEvent {
            network_id,
            case_ref,
            case_nonce: nonce,
            parents: history.heads(),
            author: me,
            authored_at: t,
            payload,
        };
        let rec = SignedRecord::sign(&event, &self.keys).map_err(CoreError::refused)?;
        let hash = match history.insert(&rec, &self.cert_of()) {
            Ok(Inserted::New(h)) => h,
            Ok(Inserted::Duplicate(_)) => {
                return Err(CoreError::refused("event already recorded"));
            }
            Err(e) => return Err(CoreError::Refused(Refusal::Rules(e))),
        };
        let recipients: Vec<OrgId> = participants(&history)
            .into_iter()
            .filter(|o| *o != me)
            .collect();
        let bytes = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        let (message_id, entries) = self.seal_message(
            MessageKind::CaseEvent,
            &recipients,
            &bytes,
            Some(case_ref),
            t,
        )?;
        batch.put(&schema::EVENTS, &schema::event_id(&case_ref, &hash), &rec)?;
        for e in &entries {
            batch.put(
                &schema::OUTBOX,
                &schema::outbox_id(&e.message_id, &e.recipient),
                e,
            )?;
        }
        self.histories.insert(case_ref, history);
        Ok((
            Appended {
                case_ref,
                event: hash,
                message_id,
                recipients,
            },
            entries,
        ))
    }

    /// Seals `payload` to `recipients` and adds one outbox entry per recipient to `batch`.
    /// The caller commits the batch, then pushes the entries to the outbox worker.
    pub(super) fn queue_message(
        &self,
        batch: &mut WriteBatch,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
        t: Timestamp,
    ) -> Result<(Option<MessageId>, Vec<OutboxEntry>), CoreError> {
        let (id, entries) = self.seal_message(kind, recipients, payload, case_ref, t)?;
        for e in &entries {
            batch.put(
                &schema::OUTBOX,
                &schema::outbox_id(&e.message_id, &e.recipient),
                e,
            )?;
        }
        Ok((id, entries))
    }

    /// Queues `payload` to each of `recipients` in an envelope of its own, for messages that
    /// must not tell a recipient who the others are (an envelope names all its recipients:
    /// which brands buy from a supplier, which suppliers recruit through an agency).
    pub(super) fn queue_apart(
        &self,
        batch: &mut WriteBatch,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
        t: Timestamp,
    ) -> Result<Vec<OutboxEntry>, CoreError> {
        let mut entries = Vec::new();
        for r in recipients {
            let (_, mut e) =
                self.queue_message(batch, kind, std::slice::from_ref(r), payload, case_ref, t)?;
            entries.append(&mut e);
        }
        Ok(entries)
    }

    /// Seals `payload` to `recipients`: one envelope, one outbox entry per recipient (not
    /// stored yet).
    pub(super) fn seal_message(
        &self,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
        t: Timestamp,
    ) -> Result<(Option<MessageId>, Vec<OutboxEntry>), CoreError> {
        if recipients.is_empty() {
            return Ok((None, Vec::new()));
        }
        let rs = recipients
            .iter()
            .map(|o| self.recipient(o))
            .collect::<Result<Vec<_>, _>>()?;
        let env = Envelope::seal(
            &self.keys,
            self.membership.network_id(),
            kind,
            &rs,
            t,
            payload,
        )
        .map_err(CoreError::refused)?;
        // Our own envelope, just sealed: its header needs no signature check.
        let header = env.claimed_header().map_err(CoreError::refused)?;
        let entries = recipients
            .iter()
            .map(|r| OutboxEntry::new(env.clone(), *r, kind, header.message_id, case_ref, t))
            .collect();
        Ok((Some(header.message_id), entries))
    }
}
