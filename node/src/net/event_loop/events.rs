//! What the swarm reports, handled by the event loop: connections, the behaviours' events
//! (identify, Kademlia lookups, gossip) and the requests and responses of the protocol.

use super::*;

impl EventLoop {
    pub(super) fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen.push(address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } if num_established.get() == 1 && !self.peer(peer_id).accepted => {
                self.send_hello(peer_id);
                // A peer that does not pass admission in time is dropped (housekeeping).
                let p = self.peer(peer_id);
                p.close_at.get_or_insert(Instant::now() + HELLO_DEADLINE);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                let p = self.peer(peer_id);
                p.forget_admission();
                p.fail_pending(&SendError::Unreachable("connection closed".into()));
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } if !self.swarm.is_connected(&peer)
                && self.peers.get(&peer).is_some_and(|p| !p.pending.is_empty()) =>
            {
                debug!(%peer, "dial failed: {error}");
                if self.peer(peer).looked_up {
                    // Even the addresses the network knows failed: give up for now (callers
                    // retry with backoff) instead of looking up and dialling in a loop.
                    self.peer(peer)
                        .fail_pending(&SendError::Unreachable(error.to_string()));
                } else {
                    self.look_up(peer);
                }
            }
            SwarmEvent::Behaviour(ev) => self.on_behaviour_event(ev),
            _ => {}
        }
    }

    pub(super) fn on_behaviour_event(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Rpc(ev) => self.on_rpc_event(ev),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let admitted = self.peer(peer_id).org.is_some();
                for a in info.listen_addrs {
                    let new = self.peer(peer_id).add_address(a.clone());
                    if new && admitted {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, a);
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetClosestPeers(res),
                step,
                ..
            }) => self.on_lookup(id, res, step.last),
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                let from_member = self
                    .peers
                    .get(&propagation_source)
                    .is_some_and(|p| p.org.is_some());
                let verdict = if from_member {
                    self.gatekeeper.check_gossip(&message.data)
                } else {
                    Err("gossip from a peer that is not an admitted member".into())
                };
                let acceptance = match verdict {
                    Ok(record) => {
                        self.emit(NetEvent::Gossip(record));
                        gossipsub::MessageAcceptance::Accept
                    }
                    Err(e) => {
                        debug!(peer = %propagation_source, "gossip rejected: {e}");
                        gossipsub::MessageAcceptance::Reject
                    }
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    self.peer(peer).add_address(addr.clone());
                    if !self.swarm.is_connected(&peer) {
                        let _ = self
                            .swarm
                            .dial(DialOpts::peer_id(peer).addresses(vec![addr]).build());
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_lookup(
        &mut self,
        id: kad::QueryId,
        res: kad::GetClosestPeersResult,
        last: bool,
    ) {
        let Some(target) = self.lookups.get(&id).copied() else {
            return;
        };
        let peers = match res {
            Ok(ok) => ok.peers,
            Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
        };
        if let Some(found) = peers.into_iter().find(|p| p.peer_id == target) {
            self.lookups.remove(&id);
            let p = self.peer(target);
            p.looked_up = true;
            for a in &found.addrs {
                p.add_address(a.clone());
            }
            let opts = DialOpts::peer_id(target).addresses(found.addrs).build();
            if let Err(e) = self.swarm.dial(opts) {
                self.peer(target)
                    .fail_pending(&SendError::Unreachable(e.to_string()));
            }
        } else if last {
            self.lookups.remove(&id);
            if self.swarm.is_connected(&target) {
                // Reached meanwhile (e.g. through a bootstrap dial): admission decides.
                return;
            }
            self.peer(target)
                .fail_pending(&SendError::Unreachable("not found in the network".into()));
        }
    }

    pub(super) fn on_rpc_event(&mut self, ev: request_response::Event<Request, Response>) {
        use request_response::{Event, Message};
        match ev {
            Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => self.on_request(peer, request, channel),
                Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(peer) = self.hello_requests.remove(&request_id) {
                        self.peer(peer).hello_in_flight = false;
                        match response {
                            Response::Hello(hello) => match self.admit(peer, hello) {
                                Ok(_) => {
                                    self.peer(peer).accepted_us();
                                    self.flush_pending(peer);
                                }
                                Err(e) => {
                                    // Close a little later: our answer to its own hello
                                    // (a refusal) should reach it first.
                                    self.log_refusal(peer, &e);
                                    let p = self.peer(peer);
                                    p.forget_admission();
                                    p.fail_pending(&SendError::Refused(e));
                                    p.close_at = Some(Instant::now() + CLOSE_GRACE);
                                }
                            },
                            Response::Refused(reason) => self.refused_by(peer, &reason),
                            _ => self.refused_by(peer, "unexpected answer to hello"),
                        }
                    } else if let Some(reply) = self.outbound.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if self.hello_requests.remove(&request_id).is_some() {
                    let p = self.peer(peer);
                    p.hello_in_flight = false;
                    p.fail_pending(&SendError::Failed(format!("hello: {error}")));
                } else if let Some(reply) = self.outbound.remove(&request_id) {
                    let _ = reply.send(Err(SendError::Failed(error.to_string())));
                }
            }
            Event::ResponseSent { .. } | Event::InboundFailure { .. } => {}
        }
    }

    pub(super) fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        match request {
            Request::Hello(hello) => match self.admit(peer, hello) {
                Ok(_) => {
                    let ours = self.gatekeeper.hello();
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .rpc
                        .send_response(channel, Response::Hello(ours));
                }
                Err(e) => self.refuse_request(peer, channel, e),
            },
            Request::Directory
                if self
                    .peers
                    .get(&peer)
                    .and_then(|p| p.org)
                    .is_some_and(|org| self.gatekeeper.is_current(&org)) =>
            {
                let records = self.gatekeeper.directory();
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rpc
                    .send_response(channel, Response::Directory(records));
            }
            other => {
                let org = match self.peers.get(&peer).and_then(|p| p.org) {
                    Some(org) if self.gatekeeper.is_current(&org) => org,
                    Some(_) => {
                        self.refuse_request(peer, channel, "membership revoked".into());
                        return;
                    }
                    None => {
                        // Nothing from a peer that has not passed admission is processed.
                        self.log_refusal(peer, "request before admission");
                        let _ = self.swarm.behaviour_mut().rpc.send_response(
                            channel,
                            Response::Refused("not admitted: send a hello first".into()),
                        );
                        return;
                    }
                };
                let id = InboundId(self.next_inbound);
                self.next_inbound = self.next_inbound.wrapping_add(1);
                self.inbound.insert(id, channel);
                self.emit(NetEvent::Inbound {
                    peer,
                    org,
                    request: other,
                    reply: id,
                });
            }
        }
    }
}
