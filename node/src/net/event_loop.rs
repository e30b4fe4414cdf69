//! The task that owns the Swarm. Everything else sends it [`Command`]s through a bounded
//! channel (via [`NetClient`]) and receives [`NetEvent`]s.

use super::behaviour::{Behaviour, BehaviourEvent, Protocols, SwarmOptions, build_swarm};
use super::proto::{Hello, Request, Response};
use futures::StreamExt;
use ilm_protocol::{OrgId, SignedRecord};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm, gossipsub, identify, identity, kad, mdns};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

/// Commands waiting for the event loop, at most.
const COMMAND_QUEUE: usize = 1024;
/// Events waiting for the node, at most.
const EVENT_QUEUE: usize = 1024;
/// Requests queued for one peer while it is being reached and admitted, at most.
const MAX_PENDING_PER_PEER: usize = 1024;
/// How long a new connection may stay open without its peer being admitted.
const HELLO_DEADLINE: Duration = Duration::from_secs(30);
/// How long a refused peer's connection stays open for our refusal to reach it.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How often bootstrap peers are re-dialled when not connected.
const REDIAL_EVERY: Duration = Duration::from_secs(5);

/// Decides admission; implemented by the node from its membership state.
pub trait Gatekeeper: Send + Sync + 'static {
    /// Our hello: certificate and known revocations.
    fn hello(&self) -> Hello;
    /// Checks a peer's hello; returns its organisation if it is a current member whose key
    /// is the peer's key.
    fn admit(&self, peer: &PeerId, hello: &Hello) -> Result<OrgId, String>;
    /// Whether an admitted organisation is still a current member (checked on every message).
    fn is_current(&self, org: &OrgId) -> bool;
    /// Checks a gossiped record (certificate or revocation) before it is accepted and spread.
    fn check_gossip(&self, data: &[u8]) -> Result<SignedRecord, String>;
    /// Every certificate and revocation known, for members asking for the directory.
    fn directory(&self) -> Vec<SignedRecord>;
}

/// Why a request could not be answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// No way to reach the peer right now.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// The peer refused admission.
    #[error("refused by peer: {0}")]
    Refused(String),
    /// The request failed on the wire (timeout, connection closed...).
    #[error("request failed: {0}")]
    Failed(String),
    /// Too many requests already queued for this peer.
    #[error("too many requests queued for this peer")]
    Busy,
    /// The network task has stopped.
    #[error("network task stopped")]
    Stopped,
}

/// What the node learns from the network.
#[derive(Debug)]
pub enum NetEvent {
    /// A peer passed admission.
    Admitted {
        /// The peer.
        peer: PeerId,
        /// Its organisation.
        org: OrgId,
        /// Its hello (certificate and revocations), to persist.
        hello: Hello,
    },
    /// A delivery or sync request from an admitted member.
    Inbound {
        /// The peer.
        peer: PeerId,
        /// Its organisation.
        org: OrgId,
        /// The request (never a hello).
        request: Request,
        /// Where the answer goes (through [`NetClient::respond`]).
        channel: ResponseChannel<Response>,
    },
    /// A verified gossiped record.
    Gossip(SignedRecord),
}

/// One admitted peer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerInfo {
    /// libp2p peer id.
    pub peer_id: String,
    /// Organisation id.
    pub org_id: OrgId,
    /// Addresses seen for it.
    pub addresses: Vec<String>,
}

/// A snapshot of the network state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NetStatus {
    /// Our peer id.
    pub peer_id: String,
    /// Addresses we listen on.
    pub listen_addresses: Vec<String>,
    /// Admitted member peers.
    pub peers: Vec<PeerInfo>,
    /// Connected peers, admitted or not.
    pub connected: usize,
    /// Hellos and requests refused (non-members, revoked members, unadmitted peers).
    pub refused: u64,
}

enum Command {
    Request {
        to: PeerId,
        request: Request,
        reply: oneshot::Sender<Result<Response, SendError>>,
    },
    Respond {
        channel: ResponseChannel<Response>,
        response: Response,
    },
    Publish(Vec<u8>),
    Status(oneshot::Sender<NetStatus>),
    Disconnect(PeerId),
}

/// A cloneable handle to the network task.
#[derive(Clone)]
pub struct NetClient {
    tx: mpsc::Sender<Command>,
    local: PeerId,
}

impl NetClient {
    /// Our peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local
    }

    /// Sends a request to a member (reaching and admitting it first) and waits for the answer.
    pub async fn request(&self, to: PeerId, request: Request) -> Result<Response, SendError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Request { to, request, reply })
            .await
            .map_err(|_| SendError::Stopped)?;
        rx.await.map_err(|_| SendError::Stopped)?
    }

    /// Answers an inbound request.
    pub async fn respond(&self, channel: ResponseChannel<Response>, response: Response) {
        // If the loop stopped, the peer sees a closed stream and retries: nothing is lost.
        let _ = self.tx.send(Command::Respond { channel, response }).await;
    }

    /// Publishes a signed record on the membership topic.
    pub async fn publish(&self, data: Vec<u8>) {
        let _ = self.tx.send(Command::Publish(data)).await;
    }

    /// The current network state.
    pub async fn status(&self) -> Result<NetStatus, SendError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Status(tx))
            .await
            .map_err(|_| SendError::Stopped)?;
        rx.await.map_err(|_| SendError::Stopped)
    }

    /// Closes connections to a peer (e.g. after its revocation).
    pub async fn disconnect(&self, peer: PeerId) {
        let _ = self.tx.send(Command::Disconnect(peer)).await;
    }
}

/// Where and how the network starts.
pub struct NetConfig {
    /// Swarm options.
    pub swarm: SwarmOptions,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap members.
    pub bootstrap: Vec<Multiaddr>,
}

/// Starts the network task; returns its client and the stream of events.
pub fn spawn(
    keypair: identity::Keypair,
    config: NetConfig,
    gatekeeper: Arc<dyn Gatekeeper>,
) -> Result<
    (
        NetClient,
        mpsc::Receiver<NetEvent>,
        tokio::task::JoinHandle<()>,
    ),
    String,
> {
    let local = keypair.public().to_peer_id();
    let (mut swarm, protocols) = build_swarm(keypair, &config.swarm)?;
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    }
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&protocols.membership_topic)
        .map_err(|e| format!("gossip subscribe: {e}"))?;
    let mut bootstrap = Vec::new();
    let mut addresses: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
    for addr in config.bootstrap {
        let peer = addr.iter().find_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        });
        match peer {
            Some(peer) => {
                addresses.entry(peer).or_default().push(addr.clone());
                bootstrap.push((peer, addr));
            }
            None => {
                return Err(format!(
                    "bootstrap address {addr} must end with /p2p/PEER_ID"
                ));
            }
        }
    }
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (etx, erx) = mpsc::channel(EVENT_QUEUE);
    let event_loop = EventLoop {
        swarm,
        protocols,
        gatekeeper,
        commands: rx,
        events: etx,
        admitted: HashMap::new(),
        hello_in_flight: HashSet::new(),
        pending: HashMap::new(),
        outbound: HashMap::new(),
        hello_requests: HashMap::new(),
        lookups: HashMap::new(),
        addresses,
        bootstrap,
        listen: Vec::new(),
        accepted_by: HashSet::new(),
        looked_up: HashSet::new(),
        refused: 0,
        closing: HashMap::new(),
    };
    let handle = tokio::spawn(event_loop.run());
    Ok((NetClient { tx, local }, erx, handle))
}

type Reply = oneshot::Sender<Result<Response, SendError>>;

struct EventLoop {
    swarm: Swarm<Behaviour>,
    protocols: Protocols,
    gatekeeper: Arc<dyn Gatekeeper>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    admitted: HashMap<PeerId, OrgId>,
    hello_in_flight: HashSet<PeerId>,
    pending: HashMap<PeerId, Vec<(Request, Reply)>>,
    outbound: HashMap<OutboundRequestId, Reply>,
    hello_requests: HashMap<OutboundRequestId, PeerId>,
    lookups: HashMap<kad::QueryId, PeerId>,
    addresses: HashMap<PeerId, Vec<Multiaddr>>,
    bootstrap: Vec<(PeerId, Multiaddr)>,
    listen: Vec<Multiaddr>,
    /// Peers whose addresses were looked up for the requests now pending (one lookup each).
    looked_up: HashSet<PeerId>,
    /// Peers that accepted our hello (requests go only to these, once admitted too).
    accepted_by: HashSet<PeerId>,
    /// Requests and hellos refused so far.
    refused: u64,
    /// Refused or not-yet-admitted peers whose connections close at the given time unless
    /// they are admitted by then.
    closing: HashMap<PeerId, Instant>,
}

impl EventLoop {
    async fn run(mut self) {
        self.dial_bootstrap();
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        let mut housekeeping = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event).await,
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
                _ = redial.tick() => self.dial_bootstrap(),
                _ = housekeeping.tick() => self.close_refused(),
            }
        }
        debug!("network task stopped");
    }

    fn close_refused(&mut self) {
        let now = Instant::now();
        let due: Vec<PeerId> = self
            .closing
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in due {
            self.closing.remove(&peer);
            if !self.admitted.contains_key(&peer) {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }

    fn dial_bootstrap(&mut self) {
        for (peer, addr) in self.bootstrap.clone() {
            if !self.swarm.is_connected(&peer) && peer != *self.swarm.local_peer_id() {
                let opts = DialOpts::peer_id(peer).addresses(vec![addr]).build();
                if let Err(e) = self.swarm.dial(opts) {
                    debug!(%peer, "bootstrap dial failed: {e}");
                }
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Request { to, request, reply } => self.request(to, request, reply),
            Command::Respond { channel, response } => {
                // Fails only if the peer went away; it will retry and get a duplicate ack.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rpc
                    .send_response(channel, response);
            }
            Command::Publish(data) => {
                let topic = self.protocols.membership_topic.clone();
                if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
                    debug!("gossip publish: {e}");
                }
            }
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Disconnect(peer) => {
                self.admitted.remove(&peer);
                self.accepted_by.remove(&peer);
                self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }

    fn status(&self) -> NetStatus {
        NetStatus {
            peer_id: self.swarm.local_peer_id().to_string(),
            listen_addresses: self.listen.iter().map(|a| a.to_string()).collect(),
            peers: self
                .admitted
                .iter()
                .map(|(p, org)| PeerInfo {
                    peer_id: p.to_string(),
                    org_id: *org,
                    addresses: self
                        .addresses
                        .get(p)
                        .map(|v| v.iter().map(|a| a.to_string()).collect())
                        .unwrap_or_default(),
                })
                .collect(),
            connected: self.swarm.connected_peers().count(),
            refused: self.refused,
        }
    }

    /// Whether requests may go to `peer`: we admitted it and it accepted our hello.
    fn ready(&self, peer: &PeerId) -> bool {
        self.admitted.contains_key(peer) && self.accepted_by.contains(peer)
    }

    fn flush_pending(&mut self, peer: PeerId) {
        if !self.ready(&peer) {
            return;
        }
        self.looked_up.remove(&peer);
        for (request, reply) in self.pending.remove(&peer).unwrap_or_default() {
            if reply.is_closed() {
                continue;
            }
            let id = self.swarm.behaviour_mut().rpc.send_request(&peer, request);
            self.outbound.insert(id, reply);
        }
    }

    fn request(&mut self, to: PeerId, request: Request, reply: Reply) {
        if self.ready(&to) {
            let id = self.swarm.behaviour_mut().rpc.send_request(&to, request);
            self.outbound.insert(id, reply);
            return;
        }
        let queue = self.pending.entry(to).or_default();
        if queue.len() >= MAX_PENDING_PER_PEER {
            let _ = reply.send(Err(SendError::Busy));
            return;
        }
        queue.push((request, reply));
        if self.swarm.is_connected(&to) {
            // Connected but the hello exchange is not complete: make sure ours is under way.
            if !self.accepted_by.contains(&to) {
                self.send_hello(to);
            }
            return;
        }
        self.dial(to);
    }

    fn dial(&mut self, peer: PeerId) {
        use libp2p::swarm::DialError;
        let known = self.addresses.get(&peer).cloned().unwrap_or_default();
        let opts = DialOpts::peer_id(peer).addresses(known).build();
        match self.swarm.dial(opts) {
            Ok(()) => {}
            // Already dialling or connected: the hello exchange follows the connection.
            Err(DialError::DialPeerConditionFalse(_)) => {}
            Err(DialError::NoAddresses) => {
                debug!(%peer, "no known address; looking the peer up");
                if !self.lookups.values().any(|p| *p == peer) {
                    let q = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                    self.lookups.insert(q, peer);
                }
            }
            Err(e) => self.fail_pending(&peer, SendError::Unreachable(e.to_string())),
        }
    }

    fn fail_pending(&mut self, peer: &PeerId, err: SendError) {
        self.looked_up.remove(peer);
        for (_, reply) in self.pending.remove(peer).unwrap_or_default() {
            let _ = reply.send(Err(err.clone()));
        }
    }

    fn send_hello(&mut self, peer: PeerId) {
        if self.hello_in_flight.insert(peer) {
            let hello = self.gatekeeper.hello();
            let id = self
                .swarm
                .behaviour_mut()
                .rpc
                .send_request(&peer, Request::Hello(hello));
            self.hello_requests.insert(id, peer);
        }
    }

    async fn admit(&mut self, peer: PeerId, hello: Hello) -> Result<OrgId, String> {
        let org = self.gatekeeper.admit(&peer, &hello)?;
        let newly = self.admitted.insert(peer, org).is_none();
        if newly {
            info!(%peer, org = %org.short(), "peer admitted");
            for addr in self.addresses.get(&peer).cloned().unwrap_or_default() {
                self.swarm.behaviour_mut().kad.add_address(&peer, addr);
            }
            if self.admitted.len() == 1 {
                let _ = self.swarm.behaviour_mut().kad.bootstrap();
            }
            if self
                .events
                .send(NetEvent::Admitted { peer, org, hello })
                .await
                .is_err()
            {
                debug!("node stopped listening to network events");
            }
        }
        self.flush_pending(peer);
        Ok(org)
    }

    /// Ends our dealings with a peer: forget its admission, fail what waits for it, close.
    fn refuse(&mut self, peer: PeerId, reason: &str) {
        warn!(%peer, "refusing peer: {reason}");
        self.admitted.remove(&peer);
        self.accepted_by.remove(&peer);
        self.fail_pending(&peer, SendError::Refused(reason.to_string()));
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Answers a request with a refusal and closes the connection once the answer is out, so
    /// the peer learns why instead of seeing a dropped connection.
    fn refuse_request(&mut self, peer: PeerId, channel: ResponseChannel<Response>, reason: String) {
        warn!(%peer, "refusing peer: {reason}");
        self.refused += 1;
        self.admitted.remove(&peer);
        self.accepted_by.remove(&peer);
        self.fail_pending(&peer, SendError::Refused(reason.clone()));
        let _ = self
            .swarm
            .behaviour_mut()
            .rpc
            .send_response(channel, Response::Refused(reason));
        // Closing at once could discard the refusal in flight; close after a grace period.
        self.closing.insert(peer, Instant::now() + CLOSE_GRACE);
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen.push(address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } if num_established.get() == 1 && !self.accepted_by.contains(&peer_id) => {
                self.send_hello(peer_id);
                // A peer that does not pass admission in time is dropped (see close_refused).
                self.closing
                    .entry(peer_id)
                    .or_insert(Instant::now() + HELLO_DEADLINE);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.admitted.remove(&peer_id);
                self.accepted_by.remove(&peer_id);
                self.hello_in_flight.remove(&peer_id);
                self.fail_pending(&peer_id, SendError::Unreachable("connection closed".into()));
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } if !self.swarm.is_connected(&peer) && self.pending.contains_key(&peer) => {
                debug!(%peer, "dial failed: {error}");
                if self.looked_up.contains(&peer) {
                    // Even the addresses the network knows failed: give up for now (callers
                    // retry with backoff) instead of looking up and dialling in a loop.
                    self.fail_pending(&peer, SendError::Unreachable(error.to_string()));
                } else if !self.lookups.values().any(|p| *p == peer) {
                    let q = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                    self.lookups.insert(q, peer);
                }
            }
            SwarmEvent::Behaviour(ev) => self.on_behaviour_event(ev).await,
            _ => {}
        }
    }

    async fn on_behaviour_event(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Rpc(ev) => self.on_rpc_event(ev).await,
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let addrs = self.addresses.entry(peer_id).or_default();
                for a in info.listen_addrs {
                    if !addrs.contains(&a) {
                        addrs.push(a.clone());
                    }
                    if self.admitted.contains_key(&peer_id) {
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
                let from_member = self.admitted.contains_key(&propagation_source);
                let verdict = if from_member {
                    self.gatekeeper.check_gossip(&message.data)
                } else {
                    Err("gossip from a peer that is not an admitted member".into())
                };
                let acceptance = match verdict {
                    Ok(record) => {
                        let _ = self.events.send(NetEvent::Gossip(record)).await;
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
                    self.addresses.entry(peer).or_default().push(addr.clone());
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

    fn on_lookup(&mut self, id: kad::QueryId, res: kad::GetClosestPeersResult, last: bool) {
        let Some(target) = self.lookups.get(&id).copied() else {
            return;
        };
        let peers = match res {
            Ok(ok) => ok.peers,
            Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
        };
        if let Some(found) = peers.into_iter().find(|p| p.peer_id == target) {
            self.lookups.remove(&id);
            self.looked_up.insert(target);
            let addrs = self.addresses.entry(target).or_default();
            for a in &found.addrs {
                if !addrs.contains(a) {
                    addrs.push(a.clone());
                }
            }
            let opts = DialOpts::peer_id(target).addresses(found.addrs).build();
            if let Err(e) = self.swarm.dial(opts) {
                self.fail_pending(&target, SendError::Unreachable(e.to_string()));
            }
        } else if last {
            self.lookups.remove(&id);
            if self.swarm.is_connected(&target) {
                // Reached meanwhile (e.g. through a bootstrap dial): admission decides.
                return;
            }
            self.fail_pending(
                &target,
                SendError::Unreachable("not found in the network".into()),
            );
        }
    }

    async fn on_rpc_event(&mut self, ev: request_response::Event<Request, Response>) {
        use request_response::{Event, Message};
        match ev {
            Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => self.on_request(peer, request, channel).await,
                Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(peer) = self.hello_requests.remove(&request_id) {
                        self.hello_in_flight.remove(&peer);
                        match response {
                            Response::Hello(hello) => match self.admit(peer, hello).await {
                                Ok(_) => {
                                    self.accepted_by.insert(peer);
                                    self.flush_pending(peer);
                                }
                                Err(e) => {
                                    // Close a little later: our answer to its own hello
                                    // (a refusal) should reach it first.
                                    self.refused += 1;
                                    warn!(%peer, "refusing peer: {e}");
                                    self.admitted.remove(&peer);
                                    self.accepted_by.remove(&peer);
                                    self.fail_pending(&peer, SendError::Refused(e));
                                    self.closing.insert(peer, Instant::now() + CLOSE_GRACE);
                                }
                            },
                            Response::Refused(reason) => self.refuse(peer, &reason),
                            _ => self.refuse(peer, "unexpected answer to hello"),
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
                    self.hello_in_flight.remove(&peer);
                    self.fail_pending(&peer, SendError::Failed(format!("hello: {error}")));
                } else if let Some(reply) = self.outbound.remove(&request_id) {
                    let _ = reply.send(Err(SendError::Failed(error.to_string())));
                }
            }
            Event::ResponseSent { .. } | Event::InboundFailure { .. } => {}
        }
    }

    async fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        match request {
            Request::Hello(hello) => match self.admit(peer, hello).await {
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
                    .admitted
                    .get(&peer)
                    .is_some_and(|org| self.gatekeeper.is_current(org)) =>
            {
                let records = self.gatekeeper.directory();
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rpc
                    .send_response(channel, Response::Directory(records));
            }
            other => {
                let org = match self.admitted.get(&peer) {
                    Some(org) if self.gatekeeper.is_current(org) => *org,
                    Some(_) => {
                        self.refuse_request(peer, channel, "membership revoked".into());
                        return;
                    }
                    None => {
                        // Nothing from a peer that has not passed admission is processed.
                        self.refused += 1;
                        let _ = self.swarm.behaviour_mut().rpc.send_response(
                            channel,
                            Response::Refused("not admitted: send a hello first".into()),
                        );
                        return;
                    }
                };
                if self
                    .events
                    .send(NetEvent::Inbound {
                        peer,
                        org,
                        request: other,
                        channel,
                    })
                    .await
                    .is_err()
                {
                    debug!("node stopped listening to network events");
                }
            }
        }
    }
}
