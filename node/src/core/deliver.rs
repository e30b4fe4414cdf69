//! Delivery processing: validate each envelope, store its effect and its processed-marker
//! in one batch, flush once, then acknowledge (group commit).

use super::*;
use crate::schema;

impl Core {
    pub(super) async fn deliver_batch(&mut self, deliveries: Vec<Delivery>) {
        let mut batch = WriteBatch::new();
        let mut seen: HashSet<MessageId> = HashSet::new();
        let mut outcomes = Vec::with_capacity(deliveries.len());
        let mut sync_needed = Vec::new();
        let mut touched: HashSet<CaseRef> = HashSet::new();
        for d in &deliveries {
            let span = info_span!("deliver", peer = %d.org.short());
            let _g = span.enter();
            let outcome = self.process(d, &mut batch, &mut seen, &mut touched, &mut sync_needed);
            outcomes.push(outcome);
        }
        // The touched cases' states and status reports join the same batch.
        let committed = match self.stage_case_writes(&mut batch, touched.iter().copied()) {
            Ok(entries) => {
                self.to_push.extend(entries);
                self.store.commit(batch)
            }
            Err(e) => Err(StoreError::Engine(e.to_string())),
        };
        if let Err(e) = &committed {
            warn!("could not store a batch of deliveries: {e}");
            // In-memory histories may hold events that are not stored: drop them.
            for c in &touched {
                self.histories.remove(c);
            }
            self.to_push.clear();
        }
        for (d, outcome) in deliveries.into_iter().zip(outcomes) {
            let (message_id, outcome) = match (&committed, outcome) {
                (Err(e), (id, _)) => (id, AckOutcome::Retry(format!("storage error: {e}"))),
                (Ok(()), (id, o)) => (id, o),
            };
            match &outcome {
                AckOutcome::Accepted => self.metrics.received(),
                AckOutcome::Duplicate => self.metrics.received_duplicate(),
                AckOutcome::Rejected(_) => self.metrics.received_rejected(),
                AckOutcome::Retry(_) => {}
            }
            self.net
                .respond(
                    d.reply,
                    Response::Ack(Ack {
                        message_id,
                        outcome,
                    }),
                )
                .await;
        }
        for (peer, org, case) in sync_needed {
            self.sync_case_with(peer, org, case);
        }
        let offers = std::mem::take(&mut self.to_offer);
        if committed.is_ok() {
            self.offer_heads(offers);
        }
        self.push_committed().await;
        if committed.is_ok() {
            for cso in std::mem::take(&mut self.escalated_by) {
                self.share_links_with(cso).await;
                self.share_plan_with(cso).await;
            }
        } else {
            self.escalated_by.clear();
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn process(
        &mut self,
        d: &Delivery,
        batch: &mut WriteBatch,
        seen: &mut HashSet<MessageId>,
        touched: &mut HashSet<CaseRef>,
        sync_needed: &mut Vec<(PeerId, OrgId, CaseRef)>,
    ) -> (MessageId, AckOutcome) {
        let reject = |id, why: String| (id, AckOutcome::Rejected(why));
        let membership = Arc::clone(&self.membership);
        let keys = membership.key_book();
        let checked = match d.envelope.check_with(&keys) {
            Ok(c) => c,
            Err(e) => {
                // Echo the claimed id (unauthenticated) so the sender can match the refusal.
                let claimed = d
                    .envelope
                    .claimed_header()
                    .map(|h| h.message_id)
                    .unwrap_or(MessageId([0; 16]));
                return reject(claimed, e.to_string());
            }
        };
        let header = checked.header().clone();
        let id = header.message_id;
        // A redelivery of something already stored is a duplicate, whatever changed since.
        match self.store.contains(&schema::PROCESSED, id.as_bytes()) {
            Ok(true) => return (id, AckOutcome::Duplicate),
            Ok(false) if seen.contains(&id) => return (id, AckOutcome::Duplicate),
            Ok(false) => {}
            Err(e) => return (id, AckOutcome::Retry(e.to_string())),
        }
        if header.network_id != self.membership.network_id() {
            return reject(id, "message of another network".into());
        }
        if self.membership.current(&header.sender).is_none() {
            return reject(id, "sender is not a current member".into());
        }
        if !header.recipients.contains(&self.me) {
            return reject(id, "this node is not a recipient".into());
        }
        // Verified once by check(); opening only decrypts.
        let opened = match checked.open(&self.keys) {
            Ok(o) => o,
            Err(e) => return reject(id, e.to_string()),
        };
        match header.kind {
            MessageKind::CaseEvent => {
                let rec: SignedRecord = match serde_json::from_slice(&opened.payload) {
                    Ok(r) => r,
                    Err(e) => return reject(id, format!("payload is not a signed record: {e}")),
                };
                let event = match rec.verify_with::<CaseEvent>(&keys) {
                    Ok(e) => e,
                    Err(e) => return reject(id, e.to_string()),
                };
                if event.body().author != header.sender {
                    return reject(id, "a case event must be delivered by its author".into());
                }
                // A live node takes no event dated beyond tomorrow: deadlines and timelines
                // would be nonsense (offline bundle checks have no clock and skip this).
                if event.body().authored_at > now().plus_secs(MAX_FUTURE_SKEW_SECS) {
                    return reject(
                        id,
                        format!(
                            "the event claims to be authored at {}, in the future",
                            crate::clock::fmt_time(event.body().authored_at)
                        ),
                    );
                }
                let case = event.body().case_ref;
                let known = match self.history(&case) {
                    Ok(h) => h.is_some(),
                    Err(e) => return (id, AckOutcome::Retry(e.to_string())),
                };
                if !known {
                    self.histories
                        .insert(case, CaseHistory::new(self.membership.network_id(), case));
                }
                let membership = Arc::clone(&self.membership);
                let cert_of = |org: &OrgId, _at: Timestamp| membership.current(org);
                let Some(history) = self.histories.get_mut(&case) else {
                    return (id, AckOutcome::Retry("case not loaded".into()));
                };
                let result = history.insert_verified(event.clone(), &cert_of);
                let empty = history.is_empty();
                match result {
                    Ok(Inserted::New(hash)) => {
                        touched.insert(case);
                        if let Err(e) =
                            batch.put(&schema::EVENTS, &schema::event_id(&case, &hash), &rec)
                        {
                            return (id, AckOutcome::Retry(e.to_string()));
                        }
                        // Participants its author did not send it to (they joined later, or
                        // the author did not know them): offer them our heads after the flush.
                        if let Some(h) = self.histories.get(&case) {
                            for org in participants(h) {
                                if org != self.me
                                    && org != header.sender
                                    && !header.recipients.contains(&org)
                                {
                                    self.to_offer.push((org, case));
                                }
                            }
                        }
                        if let EventPayload::Escalation(e) = &event.body().payload
                            && e.to == self.me
                        {
                            self.escalated_by.insert(event.body().author);
                        }
                    }
                    Ok(Inserted::Duplicate(_)) => {}
                    Err(HistoryError::MissingParents(_)) => {
                        if empty {
                            self.histories.remove(&case);
                        }
                        sync_needed.push((d.peer, d.org, case));
                        return (
                            id,
                            AckOutcome::Retry("missing earlier events of the case; syncing".into()),
                        );
                    }
                    Err(e) => {
                        if empty {
                            self.histories.remove(&case);
                        }
                        return reject(id, e.to_string());
                    }
                }
            }
            MessageKind::HistorySync => {
                return reject(id, "history sync is not accepted by delivery".into());
            }
            _ => match self.receive_workflow(&header, &opened.payload, batch) {
                Ok(()) => {}
                Err(receive::Declined::Reject(why)) => return reject(id, why),
                Err(receive::Declined::Retry(why)) => return (id, AckOutcome::Retry(why)),
            },
        }
        let marker = ProcessedMarker {
            sender: header.sender,
            kind: header.kind,
            at: now(),
        };
        if let Err(e) = batch.put(&schema::PROCESSED, id.as_bytes(), &marker) {
            return (id, AckOutcome::Retry(e.to_string()));
        }
        seen.insert(id);
        (id, AckOutcome::Accepted)
    }
}
