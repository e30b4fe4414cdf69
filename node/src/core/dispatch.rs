//! The core's loop: commands from the API and events from the network, one at a time, each
//! to the step that handles it (appends waiting together share one flush).

use super::*;

impl Core {
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::Receiver<NetEvent>,
    ) {
        if let Err(e) = self.backfill_states() {
            warn!("case states not built: {e}");
        }
        // The check above read every case (tens of megabytes at a million): give that back
        // now rather than at the next periodic trim.
        crate::memory::trim();
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Append { case, payload, at, reply }) => {
                        // Group commit: every append already waiting shares one flush.
                        let mut appends = vec![(case, payload, at, reply)];
                        let mut next = None;
                        while appends.len() < MAX_BATCH {
                            match commands.try_recv() {
                                Ok(Command::Append { case, payload, at, reply }) => {
                                    appends.push((case, payload, at, reply))
                                }
                                Ok(other) => {
                                    next = Some(other);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        self.append_batch(appends).await;
                        if let Some(cmd) = next {
                            self.on_command(cmd).await;
                        }
                    }
                    Some(cmd) => self.on_command(cmd).await,
                    None => break,
                },
                ev = events.recv() => match ev {
                    Some(ev) => self.on_net_event(ev, &mut events).await,
                    None => break,
                },
            }
            // Between commands no batch is open, so every cached history is what is stored.
            self.trim_histories();
        }
        if let Err(e) = self.store.flush() {
            warn!("final flush failed: {e}");
        }
    }

    pub(super) async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Append {
                case,
                payload,
                at,
                reply,
            } => self.append_batch(vec![(case, payload, at, reply)]).await,
            Command::Workflow(cmd) => self.on_workflow(cmd).await,
            Command::SyncAnswer { from, envelope } => self.on_sync_answer(from, envelope).await,
            Command::Redelivered { from, answer } => self.on_redelivered(from, answer),
            Command::Directory(records) => {
                // New certificates, and every revocation (persisting keeps only the newest
                // one per organisation and stores it if it is not on disk yet).
                let new: Vec<&SignedRecord> = records
                    .iter()
                    .filter(|r| {
                        r.kind == ilm_protocol::RecordKind::Revocation
                            || !matches!(
                                self.membership.learn(r),
                                Ok(crate::membership::Learned::Nothing) | Err(_)
                            )
                    })
                    .collect();
                debug!(learned = new.len(), "directory");
                self.persist_membership(new.into_iter());
            }
        }
    }

    pub(super) async fn on_net_event(
        &mut self,
        ev: NetEvent,
        events: &mut mpsc::Receiver<NetEvent>,
    ) {
        match ev {
            NetEvent::Admitted { peer, org, hello } => {
                self.metrics.saw(org, crate::membership::now());
                // What waits for it goes now, not after each message's own backoff.
                self.outbox.peer_ready(org).await;
                self.persist_membership(
                    hello
                        .successions
                        .iter()
                        .chain(std::iter::once(&hello.certificate))
                        .chain(hello.revocations.iter()),
                );
                if self.membership.network().is_steward(&org) {
                    self.fetch_directory(peer);
                }
                self.start_sync_with(peer, org);
                self.ask_redelivery(peer, org);
                self.share_listings_with(org).await;
                self.share_ratings_with(org).await;
                self.share_alerts_with(org).await;
                self.share_agencies_on_admission(org).await;
            }
            NetEvent::Gossip(rec) => {
                // Stores what is new and disconnects a peer a new revocation names.
                self.persist_membership(std::iter::once(&rec));
            }
            NetEvent::Inbound {
                peer,
                org,
                request,
                reply,
            } => {
                self.metrics.saw(org, crate::membership::now());
                self.on_request(peer, org, request, reply, events).await;
            }
        }
    }

    /// One request from an admitted member.
    pub(super) async fn on_request(
        &mut self,
        peer: PeerId,
        org: OrgId,
        request: Request,
        reply: InboundId,
        events: &mut mpsc::Receiver<NetEvent>,
    ) {
        match request {
            Request::Deliver(envelope) => {
                let mut batch = vec![Delivery {
                    org,
                    peer,
                    envelope,
                    reply,
                }];
                // Group commit: take every delivery already waiting into the same flush.
                let mut others = Vec::new();
                while batch.len() < MAX_BATCH {
                    match events.try_recv() {
                        Ok(NetEvent::Inbound {
                            peer,
                            org,
                            request: Request::Deliver(envelope),
                            reply,
                        }) => batch.push(Delivery {
                            org,
                            peer,
                            envelope,
                            reply,
                        }),
                        Ok(other) => {
                            others.push(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                self.deliver_batch(batch).await;
                for o in others {
                    Box::pin(self.on_net_event(o, events)).await;
                }
            }
            Request::Sync(req) => {
                let resp = self.answer_sync(peer, org, req);
                self.net.respond(reply, Response::Sync(resp)).await;
            }
            Request::Redeliver(req) => {
                let resp = match self.redeliver_to(org, req).await {
                    Ok(answer) => Response::Redelivered(answer),
                    Err(why) => Response::Refused(why),
                };
                self.net.respond(reply, resp).await;
            }
            Request::Hello(_) | Request::Directory => {}
        }
    }
}
