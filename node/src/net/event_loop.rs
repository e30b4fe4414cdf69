//! The task that owns the Swarm. Everything else sends it commands through a bounded channel
//! (via [`NetClient`]) and receives [`NetEvent`]s.
//!
//! It never waits on the node: events for the node go through a local backlog sent as the
//! node takes them, and while that backlog is full the task stops taking new network events
//! (libp2p then applies back-pressure) but keeps taking commands, so the node's answers always
//! get through and the two tasks cannot deadlock.

use super::behaviour::{Behaviour, BehaviourEvent, Protocols, SwarmOptions, build_swarm};
use super::client::{Command, InboundId, NetClient, NetEvent, NetStatus, PeerInfo, SendError};
use super::peer::{MAX_PENDING_PER_PEER, Peer, Reply};
use super::proto::{Hello, Request, Response};
use futures::StreamExt;
use ilm_protocol::{OrgId, SignedRecord};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm, gossipsub, identify, identity, kad, mdns};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Commands waiting for the event loop, at most.
pub const COMMAND_QUEUE: usize = 1024;
/// Events waiting in the channel to the node, at most.
pub const EVENT_QUEUE: usize = 1024;
/// Events waiting in the task's own backlog, at most (then it stops reading the network).
pub const MAX_BACKLOG: usize = 1024;
/// Peers remembered, at most (disconnected peers with nothing pending are forgotten first).
pub const MAX_PEERS: usize = 4096;
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
    let mut peers: HashMap<PeerId, Peer> = HashMap::new();
    for addr in config.bootstrap {
        let peer = addr.iter().find_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        });
        match peer {
            Some(peer) => {
                peers.entry(peer).or_default().add_address(addr.clone());
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
        backlog: VecDeque::new(),
        peers,
        outbound: HashMap::new(),
        hello_requests: HashMap::new(),
        lookups: HashMap::new(),
        inbound: HashMap::new(),
        next_inbound: 0,
        bootstrap,
        listen: Vec::new(),
        refused: 0,
    };
    let handle = tokio::spawn(event_loop.run());
    Ok((NetClient { tx, local }, erx, handle))
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    protocols: Protocols,
    gatekeeper: Arc<dyn Gatekeeper>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    /// Events for the node not yet taken by it.
    backlog: VecDeque<NetEvent>,
    /// Everything known per peer.
    peers: HashMap<PeerId, Peer>,
    outbound: HashMap<OutboundRequestId, Reply>,
    hello_requests: HashMap<OutboundRequestId, PeerId>,
    lookups: HashMap<kad::QueryId, PeerId>,
    /// Inbound requests the node has not answered yet.
    inbound: HashMap<InboundId, ResponseChannel<Response>>,
    next_inbound: u64,
    bootstrap: Vec<(PeerId, Multiaddr)>,
    listen: Vec<Multiaddr>,
    /// Requests and hellos refused so far.
    refused: u64,
}

impl EventLoop {
    async fn run(mut self) {
        self.dial_bootstrap();
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        let mut housekeeping = tokio::time::interval(Duration::from_millis(500));
        let events = self.events.clone();
        loop {
            let reading = self.backlog.len() < MAX_BACKLOG;
            tokio::select! {
                permit = events.reserve(), if !self.backlog.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(ev) = self.backlog.pop_front() {
                            permit.send(ev);
                        }
                    }
                    // The node stopped: nobody will take these.
                    Err(_) => self.backlog.clear(),
                },
                event = self.swarm.select_next_some(), if reading => self.on_swarm_event(event),
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
                _ = redial.tick() => self.dial_bootstrap(),
                _ = housekeeping.tick() => self.housekeeping(),
            }
        }
        debug!("network task stopped");
    }

    /// Hands an event to the node (through the backlog: never waits).
    fn emit(&mut self, ev: NetEvent) {
        self.backlog.push_back(ev);
    }

    fn peer(&mut self, id: PeerId) -> &mut Peer {
        self.peers.entry(id).or_default()
    }

    fn housekeeping(&mut self) {
        let now = Instant::now();
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.close_at.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let p = self.peer(id);
            p.close_at = None;
            if p.org.is_none() {
                let _ = self.swarm.disconnect_peer_id(id);
            }
        }
        // Answers the node dropped (it stopped, or failed before answering).
        self.inbound.retain(|_, ch| ch.is_open());
        if self.peers.len() > MAX_PEERS {
            let swarm = &self.swarm;
            self.peers
                .retain(|id, p| swarm.is_connected(id) || !p.forgettable(now));
        }
    }

    fn dial_bootstrap(&mut self) {
        let now = Instant::now();
        for (peer, addr) in self.bootstrap.clone() {
            let backing_off = self
                .peers
                .get(&peer)
                .is_some_and(|p| p.in_refusal_backoff(now));
            if backing_off || self.swarm.is_connected(&peer) || peer == *self.swarm.local_peer_id()
            {
                continue;
            }
            let opts = DialOpts::peer_id(peer).addresses(vec![addr]).build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, "bootstrap dial failed: {e}");
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Request { to, request, reply } => self.request(to, request, reply),
            Command::Respond { id, response } => {
                // Fails only if the peer went away; it will retry and get a duplicate ack.
                if let Some(channel) = self.inbound.remove(&id) {
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .rpc
                        .send_response(channel, response);
                }
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
                self.peer(peer).forget_admission();
                self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }

    fn status(&self) -> NetStatus {
        let now = Instant::now();
        NetStatus {
            peer_id: self.swarm.local_peer_id().to_string(),
            listen_addresses: self.listen.iter().map(|a| a.to_string()).collect(),
            peers: self
                .peers
                .iter()
                .filter_map(|(id, p)| {
                    p.org.map(|org| PeerInfo {
                        peer_id: id.to_string(),
                        org_id: org,
                        addresses: p.addresses.iter().map(|a| a.to_string()).collect(),
                    })
                })
                .collect(),
            connected: self.swarm.connected_peers().count(),
            refused: self.refused,
            refusing_us: self
                .peers
                .values()
                .filter(|p| p.in_refusal_backoff(now))
                .count(),
            backlog: self.backlog.len(),
        }
    }

    fn flush_pending(&mut self, peer: PeerId) {
        let p = self.peer(peer);
        if !p.ready() {
            return;
        }
        p.looked_up = false;
        for (request, reply) in std::mem::take(&mut p.pending) {
            if reply.is_closed() {
                continue;
            }
            let id = self.swarm.behaviour_mut().rpc.send_request(&peer, request);
            self.outbound.insert(id, reply);
        }
    }

    fn request(&mut self, to: PeerId, request: Request, reply: Reply) {
        let now = Instant::now();
        let connected = self.swarm.is_connected(&to);
        let p = self.peer(to);
        if p.ready() {
            let id = self.swarm.behaviour_mut().rpc.send_request(&to, request);
            self.outbound.insert(id, reply);
            return;
        }
        if !connected && p.in_refusal_backoff(now) {
            // It refused us lately: do not redial it for every message.
            let _ = reply.send(Err(SendError::Refused(
                "the peer refused this node recently; not retrying yet".into(),
            )));
            return;
        }
        if p.pending.len() >= MAX_PENDING_PER_PEER {
            let _ = reply.send(Err(SendError::Busy));
            return;
        }
        p.pending.push((request, reply));
        if connected {
            // Connected but the hello exchange is not complete: make sure ours is under way.
            if !p.accepted {
                self.send_hello(to);
            }
            return;
        }
        self.dial(to);
    }

    fn dial(&mut self, peer: PeerId) {
        use libp2p::swarm::DialError;
        let known = self.peer(peer).addresses.clone();
        let opts = DialOpts::peer_id(peer).addresses(known).build();
        match self.swarm.dial(opts) {
            Ok(()) => {}
            // Already dialling or connected: the hello exchange follows the connection.
            Err(DialError::DialPeerConditionFalse(_)) => {}
            Err(DialError::NoAddresses) => {
                debug!(%peer, "no known address; looking the peer up");
                self.look_up(peer);
            }
            Err(e) => self
                .peer(peer)
                .fail_pending(&SendError::Unreachable(e.to_string())),
        }
    }

    fn look_up(&mut self, peer: PeerId) {
        if !self.lookups.values().any(|p| *p == peer) {
            let q = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
            self.lookups.insert(q, peer);
        }
    }

    fn send_hello(&mut self, peer: PeerId) {
        let p = self.peer(peer);
        if p.hello_in_flight {
            return;
        }
        p.hello_in_flight = true;
        let hello = self.gatekeeper.hello();
        let id = self
            .swarm
            .behaviour_mut()
            .rpc
            .send_request(&peer, Request::Hello(hello));
        self.hello_requests.insert(id, peer);
    }

    fn admit(&mut self, peer: PeerId, hello: Hello) -> Result<OrgId, String> {
        let org = self.gatekeeper.admit(&peer, &hello)?;
        let p = self.peer(peer);
        let newly = p.org.replace(org).is_none();
        p.close_at = None;
        if newly {
            info!(%peer, org = %org.short(), "peer admitted");
            for addr in self.peer(peer).addresses.clone() {
                self.swarm.behaviour_mut().kad.add_address(&peer, addr);
            }
            if self.peers.values().filter(|p| p.org.is_some()).count() == 1 {
                let _ = self.swarm.behaviour_mut().kad.bootstrap();
            }
            self.emit(NetEvent::Admitted { peer, org, hello });
        }
        self.flush_pending(peer);
        Ok(org)
    }

    /// Logs a refusal: the first one per peer as a warning, the rest quietly (a peer that
    /// keeps trying must not flood the logs).
    fn log_refusal(&mut self, peer: PeerId, reason: &str) {
        self.refused += 1;
        let p = self.peer(peer);
        p.refused_by_us = p.refused_by_us.saturating_add(1);
        if p.refused_by_us == 1 {
            warn!(%peer, "refusing peer: {reason}");
        } else {
            debug!(%peer, "refusing peer again: {reason}");
        }
    }

    /// The peer refused our hello: end our dealings with it and back off before trying
    /// again.
    fn refused_by(&mut self, peer: PeerId, reason: &str) {
        let p = self.peer(peer);
        p.forget_admission();
        let pause = p.refused_us(Instant::now());
        p.fail_pending(&SendError::Refused(reason.to_string()));
        if p.refusals == 1 {
            warn!(%peer, "refused by peer: {reason}; not retrying for {pause:?}");
        } else {
            debug!(%peer, "refused by peer again: {reason}; not retrying for {pause:?}");
        }
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Answers a request with a refusal and closes the connection once the answer is out, so
    /// the peer learns why instead of seeing a dropped connection.
    fn refuse_request(&mut self, peer: PeerId, channel: ResponseChannel<Response>, reason: String) {
        self.log_refusal(peer, &reason);
        let p = self.peer(peer);
        p.forget_admission();
        p.fail_pending(&SendError::Refused(reason.clone()));
        // Closing at once could discard the refusal in flight; close after a grace period.
        p.close_at = Some(Instant::now() + CLOSE_GRACE);
        let _ = self
            .swarm
            .behaviour_mut()
            .rpc
            .send_response(channel, Response::Refused(reason));
    }
}

mod events;
