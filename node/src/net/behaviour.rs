//! The libp2p behaviour of a node and the swarm that runs it.

use super::proto::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Request, Response};
use ilm_protocol::NetworkId;
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, Swarm, autonat, connection_limits, dcutr, gossipsub, identify, identity, kad,
    mdns, noise, ping, relay, request_response, tcp, yamux,
};
use std::time::Duration;

/// Idle connections between member organisations stay open this long (libp2p's default of
/// 10 s would drop every quiet link).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a request may wait for its response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent request-response streams per connection.
pub const MAX_CONCURRENT_STREAMS: usize = 256;
/// Incoming connections still being set up, at most.
pub const MAX_PENDING_INCOMING: u32 = 128;
/// Incoming connections established, at most.
pub const MAX_ESTABLISHED_INCOMING: u32 = 512;
/// Connections to one peer, at most (TCP, QUIC and a relayed one leave room to spare).
pub const MAX_PER_PEER: u32 = 4;

/// Every protocol a node speaks.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Bounds on connections, so that nobody can exhaust the node by opening them.
    pub limits: connection_limits::Behaviour,
    /// Standard identify (interoperable protocol id).
    pub identify: identify::Behaviour,
    /// Standard ping.
    pub ping: ping::Behaviour,
    /// Peer routing, under a protocol name scoped to the network.
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
    /// Public signed network state (certificates, revocations).
    pub gossipsub: gossipsub::Behaviour,
    /// Admission, delivery and history sync.
    pub rpc: request_response::cbor::Behaviour<Request, Response>,
    /// Reaching members behind NAT through a relay.
    pub relay_client: relay::client::Behaviour,
    /// Relaying for others (steward and bootstrap nodes).
    pub relay_server: Toggle<relay::Behaviour>,
    /// Hole punching through relayed connections.
    pub dcutr: dcutr::Behaviour,
    /// Learning whether we are reachable.
    pub autonat: autonat::Behaviour,
    /// Local discovery (development only).
    pub mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Protocol names derived from the network id, so two networks never mix.
pub struct Protocols {
    /// Kademlia protocol.
    pub kad: StreamProtocol,
    /// Request-response protocol.
    pub rpc: StreamProtocol,
    /// Gossip topic for membership records.
    pub membership_topic: gossipsub::IdentTopic,
}

impl Protocols {
    /// The names for a network.
    pub fn for_network(id: NetworkId) -> Result<Protocols, String> {
        let kad = StreamProtocol::try_from_owned(format!("/ilm/{id}/kad/1.0.0"))
            .map_err(|e| e.to_string())?;
        let rpc = StreamProtocol::try_from_owned(format!("/ilm/{id}/rpc/1.0.0"))
            .map_err(|e| e.to_string())?;
        Ok(Protocols {
            kad,
            rpc,
            membership_topic: gossipsub::IdentTopic::new(format!("ilm/{id}/membership/1")),
        })
    }
}

/// Options that shape the swarm.
pub struct SwarmOptions {
    /// Network whose protocols to speak.
    pub network_id: NetworkId,
    /// Enable mDNS.
    pub mdns: bool,
    /// Serve as a relay.
    pub relay_server: bool,
}

/// Builds the swarm for a node's key.
pub fn build_swarm(
    keypair: identity::Keypair,
    opts: &SwarmOptions,
) -> Result<(Swarm<Behaviour>, Protocols), String> {
    let protocols = Protocols::for_network(opts.network_id)?;
    let kad_protocol = protocols.kad.clone();
    let rpc_protocol = protocols.rpc.clone();
    let mdns_on = opts.mdns;
    let relay_on = opts.relay_server;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| format!("tcp transport: {e}"))?
        .with_quic()
        .with_dns()
        .map_err(|e| format!("dns: {e}"))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| format!("relay client: {e}"))?
        .with_behaviour(|key, relay_client| {
            let peer_id = key.public().to_peer_id();
            let identify = identify::Behaviour::new(
                identify::Config::new("/ilm/1.0.0".into(), key.public())
                    .with_agent_version(format!("ilm/{}", env!("CARGO_PKG_VERSION"))),
            );
            let mut kad_cfg = kad::Config::new(kad_protocol);
            // Only admitted members enter the routing table (see the event loop).
            kad_cfg.set_kbucket_inserts(kad::BucketInserts::Manual);
            kad_cfg.set_query_timeout(Duration::from_secs(30));
            let mut kad = kad::Behaviour::with_config(
                peer_id,
                kad::store::MemoryStore::new(peer_id),
                kad_cfg,
            );
            kad.set_mode(Some(kad::Mode::Server));
            let gossip_cfg = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Strict)
                .validate_messages()
                .build()
                .map_err(|e| e.to_string())?;
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossip_cfg,
            )?;
            let rpc = request_response::Behaviour::with_codec(
                request_response::cbor::codec::Codec::default()
                    .set_request_size_maximum(MAX_REQUEST_BYTES)
                    .set_response_size_maximum(MAX_RESPONSE_BYTES),
                [(rpc_protocol, request_response::ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(REQUEST_TIMEOUT)
                    .with_max_concurrent_streams(MAX_CONCURRENT_STREAMS),
            );
            let mdns = if mdns_on {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    peer_id,
                )?)
            } else {
                None
            };
            let relay_server =
                relay_on.then(|| relay::Behaviour::new(peer_id, relay::Config::default()));
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                .with_max_established_incoming(Some(MAX_ESTABLISHED_INCOMING))
                .with_max_established_per_peer(Some(MAX_PER_PEER));
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(limits),
                identify,
                ping: ping::Behaviour::default(),
                kad,
                gossipsub,
                rpc,
                relay_client,
                relay_server: relay_server.into(),
                dcutr: dcutr::Behaviour::new(peer_id),
                autonat: autonat::Behaviour::new(peer_id, autonat::Config::default()),
                mdns: mdns.into(),
            })
        })
        .map_err(|e| format!("behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    Ok((swarm, protocols))
}
