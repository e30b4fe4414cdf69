//! Case-history sync: participants exchange heads and send each other the events the other
//! lacks, in bounded batches (at most [`MAX_SYNC_CASES`] cases per request, one request in
//! flight per peer and trigger).

use super::*;
use crate::net::proto::{CaseEvents, CaseHeads, MAX_SYNC_CASES};
use crate::schema;

/// Rough cap on one sync answer, well under the response size limit.
const MAX_SYNC_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The events of `history` that a holder of `heads` lacks, in causal order, and whether
/// `heads` names events we lack.
pub fn missing_for(history: &CaseHistory, heads: &[EventHash]) -> (Vec<SignedRecord>, bool) {
    let unknown = heads.iter().any(|h| !history.contains(h));
    let mut theirs: HashSet<EventHash> = HashSet::new();
    let mut stack: Vec<EventHash> = heads
        .iter()
        .filter(|h| history.contains(h))
        .copied()
        .collect();
    while let Some(h) = stack.pop() {
        if theirs.insert(h)
            && let Some(ev) = history.get(&h)
        {
            stack.extend(ev.body().parents.iter().copied());
        }
    }
    let missing = history
        .ordered()
        .into_iter()
        .filter(|ev| !theirs.contains(&ev.digest()))
        .map(|ev| ev.record().clone())
        .collect();
    (missing, unknown)
}

/// The cases of a sync answer, each once, with the events of its repeated entries joined to
/// its first: processed twice in one batch, a case's change would be staged twice (and its
/// aggregates counted twice) from the same stored state.
pub fn one_entry_per_case(cases: impl IntoIterator<Item = CaseEvents>) -> Vec<CaseEvents> {
    let mut out: Vec<CaseEvents> = Vec::new();
    for c in cases {
        match out.iter_mut().find(|m| m.case_ref == c.case_ref) {
            Some(first) => first.events.extend(c.events),
            None => out.push(c),
        }
    }
    out
}

impl Core {
    /// Asks a steward for every certificate and revocation (public network state), so this
    /// node can encrypt to members it has not met yet.
    pub(super) fn fetch_directory(&self, peer: PeerId) {
        let net = self.net.clone();
        let tx = self.self_tx.clone();
        tokio::spawn(async move {
            match net.request(peer, Request::Directory).await {
                Ok(Response::Directory(records)) => {
                    let _ = tx.send(Command::Directory(records)).await;
                }
                Ok(_) => debug!("unexpected answer to a directory request"),
                Err(e) => debug!("directory request failed: {e}"),
            }
        });
    }

    /// Sends our heads of every case `org` takes part in, so both sides catch up.
    pub(super) fn start_sync_with(&mut self, peer: PeerId, org: OrgId) {
        // The search index's pair terms say which cases it takes part in, and each case's
        // record what our heads are: a read per shared case, not one of every case. The
        // record has the last word on who takes part.
        let cases = match crate::aggregates::terms::cases_with(&self.store, &org) {
            Ok(cases) => cases,
            Err(e) => return warn!("cannot list cases for sync: {e}"),
        };
        let mut shared = Vec::new();
        let mut without_heads = Vec::new();
        for case in cases {
            match crate::cases::record_of(&self.store, &case) {
                Ok(Some(r)) if !r.state.is_participant(&org) => {}
                Ok(Some(r)) if r.heads.is_empty() => without_heads.push(case),
                Ok(Some(r)) => shared.push(CaseHeads {
                    case_ref: case,
                    heads: r.heads,
                }),
                Ok(None) => {}
                Err(e) => return warn!("cannot read a case for sync: {e}"),
            }
        }
        for case in without_heads {
            // Heads not stored (the start-up check that builds them failed): from the
            // history, which is not kept (a node may hold many cases).
            let cached = self.histories.contains_key(&case);
            if let Ok(Some(h)) = self.history(&case)
                && participants(h).contains(&org)
            {
                shared.push(CaseHeads {
                    case_ref: case,
                    heads: h.heads(),
                });
            }
            if !cached {
                self.histories.remove(&case);
            }
        }
        self.sync_with(peer, org, shared);
    }

    /// Offers our heads of each case to a participant that may lack events we just stored:
    /// they were authored before it joined (or while it was away), so their author never
    /// sent them there. It pulls what it lacks; this stops once nobody learns anything new.
    pub(super) fn offer_heads(&mut self, offers: Vec<(OrgId, CaseRef)>) {
        let mut seen = BTreeSet::new();
        for (org, case) in offers {
            if !seen.insert((org, case)) || self.membership.current(&org).is_none() {
                continue;
            }
            if let Some(peer) = self.membership.peer_of(&org) {
                self.sync_case_with(peer, org, case);
            }
        }
    }

    /// Sends our heads of one case (e.g. after an event arrived before its parents).
    pub(super) fn sync_case_with(&mut self, peer: PeerId, org: OrgId, case: CaseRef) {
        let heads = match self.history(&case) {
            Ok(Some(h)) => h.heads(),
            _ => Vec::new(),
        };
        self.sync_with(
            peer,
            org,
            vec![CaseHeads {
                case_ref: case,
                heads,
            }],
        );
    }

    /// One task sends the heads in chunks, one request at a time, and hands answers back.
    fn sync_with(&self, peer: PeerId, org: OrgId, cases: Vec<CaseHeads>) {
        if cases.is_empty() {
            return;
        }
        let net = self.net.clone();
        let tx = self.self_tx.clone();
        let span = info_span!("sync", peer = %org.short(), cases = cases.len());
        tokio::spawn(
            async move {
                let mut cases = cases;
                while !cases.is_empty() {
                    let rest = cases.split_off(cases.len().min(MAX_SYNC_CASES));
                    let chunk = std::mem::replace(&mut cases, rest);
                    match net
                        .request(peer, Request::Sync(SyncRequest { cases: chunk }))
                        .await
                    {
                        Ok(Response::Sync(Some(envelope))) => {
                            if tx
                                .send(Command::SyncAnswer {
                                    from: org,
                                    envelope,
                                })
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        Ok(Response::Sync(None)) => debug!("nothing to catch up"),
                        Ok(_) => debug!("unexpected answer to sync"),
                        Err(e) => return debug!("sync request failed: {e}"),
                    }
                }
            }
            .instrument(span),
        );
    }

    /// Answers a participant's heads with the events it lacks, encrypted to it.
    pub(super) fn answer_sync(
        &mut self,
        peer: PeerId,
        org: OrgId,
        req: SyncRequest,
    ) -> Option<Envelope> {
        let mut out = Vec::new();
        let mut ask_back = Vec::new();
        let mut size = 0usize;
        for CaseHeads { case_ref, heads } in req.cases.into_iter().take(MAX_SYNC_CASES) {
            // The same heads on both sides: nothing to send or ask for, and no history to
            // load (what a reconnect mostly finds).
            if !heads.is_empty()
                && let Ok(Some(crate::records::CaseRecord {
                    heads: mut ours, ..
                })) = crate::cases::record_of(&self.store, &case_ref)
            {
                let mut theirs = heads.clone();
                ours.sort();
                theirs.sort();
                theirs.dedup();
                if ours == theirs {
                    continue;
                }
            }
            let history = match self.history(&case_ref) {
                Ok(Some(h)) => h,
                Ok(None) => {
                    // A case we do not hold at all but the requester does (it began while
                    // this node was away, or this node was restored from an older backup):
                    // ask for all of it; the other side sends it only if we take part. Never
                    // for empty heads, or two nodes lacking a case would ask each other on.
                    if !heads.is_empty() {
                        ask_back.push(CaseHeads {
                            case_ref,
                            heads: Vec::new(),
                        });
                    }
                    continue;
                }
                Err(_) => continue,
            };
            if !participants(history).contains(&org) {
                // Never reveal a case to someone outside it, not even that it exists.
                continue;
            }
            let (missing, unknown) = missing_for(history, &heads);
            if unknown {
                // They hold events we lack: ask for them too.
                ask_back.push(CaseHeads {
                    case_ref,
                    heads: history.heads(),
                });
            }
            if !missing.is_empty() {
                size += missing
                    .iter()
                    .map(|r| 2 * r.body.len() + 256)
                    .sum::<usize>();
                out.push(CaseEvents {
                    case_ref,
                    events: missing,
                });
                if size > MAX_SYNC_ANSWER_BYTES {
                    // The rest follows when the requester syncs again.
                    break;
                }
            }
        }
        self.sync_with(peer, org, ask_back);
        if out.is_empty() {
            return None;
        }
        let authors: BTreeSet<OrgId> = out
            .iter()
            .flat_map(|c| c.events.iter())
            .filter_map(|r| {
                r.verify_with::<CaseEvent>(&self.membership.key_book())
                    .ok()
                    .map(|e| e.body().author)
            })
            .collect();
        let certificates = authors
            .iter()
            .filter_map(|a| self.membership.certificate_record(a))
            .collect();
        let bytes = serde_json::to_vec(&SyncPayload {
            cases: out,
            certificates,
        })
        .ok()?;
        let recipient = self.recipient(&org).ok()?;
        Envelope::seal(
            &self.keys,
            self.membership.network_id(),
            MessageKind::HistorySync,
            &[recipient],
            now(),
            &bytes,
        )
        .ok()
    }

    /// Stores the events a participant sent in answer to our heads (all cases, one flush).
    pub(super) async fn on_sync_answer(&mut self, from: OrgId, envelope: Envelope) {
        let opened = match envelope.open_with(&self.keys, &self.membership.key_book()) {
            Ok(o) if o.header.sender == from && o.header.kind == MessageKind::HistorySync => o,
            Ok(_) => return warn!("sync answer from the wrong sender or of the wrong kind"),
            Err(e) => return warn!("sync answer refused: {e}"),
        };
        let payload: SyncPayload = match serde_json::from_slice(&opened.payload) {
            Ok(p) => p,
            Err(e) => return warn!("malformed sync answer: {e}"),
        };
        self.persist_membership(payload.certificates.iter());
        let network_id = self.membership.network_id();
        let membership = Arc::clone(&self.membership);
        let cert_of = |org: &OrgId, _at: Timestamp| membership.current(org);
        let mut batch = WriteBatch::new();
        let mut updated = Vec::new();
        for CaseEvents {
            case_ref: case,
            events,
        } in one_entry_per_case(payload.cases.into_iter().take(MAX_SYNC_CASES))
        {
            let mut history = match self.history(&case) {
                Ok(Some(h)) => h.clone(),
                Ok(None) => CaseHistory::new(network_id, case),
                Err(e) => {
                    warn!("cannot load case for sync: {e}");
                    continue;
                }
            };
            let mut todo = events;
            let mut added = 0usize;
            while !todo.is_empty() {
                let before = todo.len();
                let mut blocked = Vec::new();
                for rec in todo {
                    match history.insert(&rec, &cert_of) {
                        Ok(Inserted::New(hash)) => {
                            added += 1;
                            if let Err(e) =
                                batch.put(&schema::EVENTS, &schema::event_id(&case, &hash), &rec)
                            {
                                return warn!("synced events not stored: {e}");
                            }
                        }
                        Ok(Inserted::Duplicate(_)) => {}
                        Err(HistoryError::MissingParents(_)) => blocked.push(rec),
                        Err(e) => warn!(case = %case, "synced event refused: {e}"),
                    }
                }
                if blocked.len() == before {
                    break;
                }
                todo = blocked;
            }
            if added == 0 || history.is_empty() || !participants(&history).contains(&self.me) {
                // Nothing new, or a case this node takes no part in: keep nothing.
                continue;
            }
            updated.push((case, history));
        }
        if updated.is_empty() {
            return;
        }
        let cases: Vec<CaseRef> = updated.iter().map(|(c, _)| *c).collect();
        let mut others = Vec::new();
        for (case, history) in updated {
            for org in participants(&history) {
                if org != self.me && org != from {
                    others.push((org, case));
                }
            }
            self.histories.insert(case, history);
        }
        // The cases' states and status reports join the same batch.
        let staged = self.stage_case_writes(&mut batch, cases.iter().copied());
        let committed = match staged {
            Ok(entries) => self.store.commit(batch).map(|()| entries),
            Err(e) => Err(StoreError::Engine(e.to_string())),
        };
        match committed {
            Ok(entries) => {
                debug!(cases = cases.len(), "caught up");
                for e in entries {
                    self.outbox.push(e).await;
                }
                self.offer_heads(others);
            }
            Err(e) => {
                warn!("synced events not stored: {e}");
                for case in &cases {
                    self.histories.remove(case);
                }
            }
        }
    }
}
