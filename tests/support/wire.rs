//! Talking to real nodes over libp2p as another program would: a peer built from the node's
//! own network code with a gate that admits everyone, so a test can present any hello and
//! put any envelope on the wire (an intruder, or a member running a modified program).
#![allow(dead_code)]

use super::Node;
use ilm_node::membership::peer_id_of;
use ilm_node::net::proto::{Hello, Request, Response};
use ilm_node::net::{Gatekeeper, NetConfig, SendError, SwarmOptions};
use ilm_protocol::*;
use std::sync::Arc;
use std::time::Duration;

/// A peer that presents whatever hello it is given and accepts everyone.
pub struct PermissiveGate {
    pub hello: Hello,
}

impl Gatekeeper for PermissiveGate {
    fn hello(&self) -> Hello {
        self.hello.clone()
    }
    fn admit(&self, _peer: &libp2p::PeerId, _hello: &Hello) -> Result<OrgId, String> {
        // Accept anyone: the point is what the honest node does.
        Ok(OrgId([0; 32]))
    }
    fn is_current(&self, _org: &OrgId) -> bool {
        true
    }
    fn check_gossip(&self, _data: &[u8]) -> Result<SignedRecord, String> {
        Err("ignored".into())
    }
    fn directory(&self) -> Vec<SignedRecord> {
        Vec::new()
    }
}

/// The current time.
pub fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
}

/// The network of a test net, from its genesis file.
pub fn load_network(genesis: &std::path::Path) -> Network {
    let rec: SignedRecord =
        serde_json::from_slice(&std::fs::read(genesis).expect("genesis")).expect("record");
    Network::from_genesis(&rec).expect("network")
}

/// A node's certificate record, as its data directory holds it.
pub fn cert_record(node: &Node) -> SignedRecord {
    serde_json::from_slice(&std::fs::read(node.dir.join("certificate.json")).expect("cert"))
        .expect("record")
}

/// A node's certificate.
pub fn cert_of(node: &Node) -> MembershipCertificate {
    cert_record(node)
        .verify::<MembershipCertificate>()
        .expect("certificate")
        .body()
        .clone()
}

/// A node's secret keys, read from its data directory (as a modified program could).
pub fn keys_of(node: &Node) -> OrgKeys {
    ilm_node::datadir::DataDir::new(&node.dir)
        .load_keys()
        .expect("keys")
}

/// Seals a case event record from `keys` to the given members.
pub fn seal_event(
    network: &Network,
    keys: &OrgKeys,
    event: &SignedRecord,
    to: &[MembershipCertificate],
) -> Envelope {
    let payload = serde_json::to_vec(event).expect("json");
    seal(network, keys, MessageKind::CaseEvent, &payload, to)
}

/// Seals any payload of `kind` from `keys` to the given members.
pub fn seal(
    network: &Network,
    keys: &OrgKeys,
    kind: MessageKind,
    payload: &[u8],
    to: &[MembershipCertificate],
) -> Envelope {
    let recipients: Vec<Recipient> = to
        .iter()
        .map(|c| Recipient {
            org_id: c.org_id,
            encryption_key: c.encryption_key,
        })
        .collect();
    Envelope::seal(keys, network.id(), kind, &recipients, now(), payload).expect("seal")
}

/// Starts a libp2p peer with `keys` that presents `hello` and dials `target`.
pub fn spawn_peer(
    network: &Network,
    keys: &OrgKeys,
    hello: Hello,
    target: &Node,
) -> (ilm_node::net::NetClient, tokio::task::JoinHandle<()>) {
    let mut seed = keys.signing_seed();
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(&mut seed).expect("keypair");
    let (client, _events, task) = ilm_node::net::spawn(
        keypair,
        NetConfig {
            swarm: SwarmOptions {
                network_id: network.id(),
                mdns: false,
                relay_server: false,
            },
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
            bootstrap: vec![target.multiaddr().parse().expect("addr")],
        },
        Arc::new(PermissiveGate { hello }),
    )
    .expect("spawn peer");
    (client, task)
}

/// Delivers each envelope to `target` as the member `author` (its real keys and certificate,
/// as a modified program would) and returns the acknowledgement outcomes.
pub fn deliver_as_member(
    network: &Network,
    author: &Node,
    target: &Node,
    envelopes: Vec<Envelope>,
) -> Vec<ilm_node::net::proto::AckOutcome> {
    let hello = Hello {
        certificate: cert_record(author),
        revocations: vec![],
        successions: vec![],
    };
    deliver_as(network, &keys_of(author), hello, target, envelopes)
        .into_iter()
        .map(|a| match a {
            Ok(Response::Ack(ack)) => ack.outcome,
            other => panic!(
                "expected an acknowledgement from {}, got {other:?}",
                target.name
            ),
        })
        .collect()
}

/// Connects to `target` as the holder of `keys` presenting `hello`, delivers each envelope in
/// turn and returns the answers.
pub fn deliver_as(
    network: &Network,
    keys: &OrgKeys,
    hello: Hello,
    target: &Node,
    envelopes: Vec<Envelope>,
) -> Vec<Result<Response, SendError>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, task) = spawn_peer(network, keys, hello, target);
        let peer = peer_id_of(&cert_of(target).current_key()).expect("peer id");
        let mut answers = Vec::new();
        for env in envelopes {
            let answer = tokio::time::timeout(
                Duration::from_secs(60),
                client.request(peer, Request::Deliver(env)),
            )
            .await
            .expect("an answer within a minute");
            answers.push(answer);
        }
        task.abort();
        answers
    })
}
