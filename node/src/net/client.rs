//! How the rest of the node talks to the network task: [`NetClient`] commands in, and
//! [`NetEvent`]s out. Inbound requests are answered through an [`InboundId`] of our own, so no
//! libp2p handle leaves the network task and code that uses the network can be tested with a
//! [`Probe`] instead of a swarm.

use super::proto::{Hello, Request, Response};
use ilm_protocol::{OrgId, SignedRecord};
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};

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

/// Identifies an inbound request until it is answered with [`NetClient::respond`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InboundId(pub u64);

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
        reply: InboundId,
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
#[derive(Debug, Clone, Default, serde::Serialize)]
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
    /// Peers that refused us and are not dialled again until their backoff ends.
    pub refusing_us: usize,
    /// Network events waiting for the node (the core is busy when this grows).
    pub backlog: usize,
}

/// A request to the network task.
pub(super) enum Command {
    Request {
        to: PeerId,
        request: Request,
        reply: oneshot::Sender<Result<Response, SendError>>,
    },
    Respond {
        id: InboundId,
        response: Response,
    },
    Publish(Vec<u8>),
    Status(oneshot::Sender<NetStatus>),
    Disconnect(PeerId),
}

/// A cloneable handle to the network task.
#[derive(Clone)]
pub struct NetClient {
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) local: PeerId,
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

    /// Answers an inbound request. The network task always takes commands (it never waits
    /// on the node), so this cannot deadlock with it.
    pub async fn respond(&self, id: InboundId, response: Response) {
        // If the loop stopped, the peer sees a closed stream and retries: nothing is lost.
        let _ = self.tx.send(Command::Respond { id, response }).await;
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

    /// A client whose commands go to the returned [`Probe`] instead of a network task: for
    /// testing code that uses the network (the node core) without libp2p.
    pub fn detached(local: PeerId) -> (NetClient, Probe) {
        let (tx, rx) = mpsc::channel(1024);
        (NetClient { tx, local }, Probe { rx })
    }
}

/// What a detached client was asked to do.
#[derive(Debug)]
pub enum Sent {
    /// A request (its caller gets [`SendError::Stopped`]).
    Request {
        /// To whom.
        to: PeerId,
        /// What.
        request: Request,
    },
    /// An answer to an inbound request.
    Respond {
        /// Which request.
        id: InboundId,
        /// The answer.
        response: Response,
    },
    /// A gossip publication.
    Publish(Vec<u8>),
    /// A disconnection.
    Disconnect(PeerId),
}

/// The receiving end of a [`NetClient::detached`] client.
pub struct Probe {
    rx: mpsc::Receiver<Command>,
}

impl Probe {
    fn view(cmd: Command) -> Option<Sent> {
        match cmd {
            Command::Request { to, request, .. } => Some(Sent::Request { to, request }),
            Command::Respond { id, response } => Some(Sent::Respond { id, response }),
            Command::Publish(d) => Some(Sent::Publish(d)),
            Command::Disconnect(p) => Some(Sent::Disconnect(p)),
            Command::Status(reply) => {
                let _ = reply.send(NetStatus::default());
                None
            }
        }
    }

    /// Everything sent so far.
    pub fn drain(&mut self) -> Vec<Sent> {
        let mut out = Vec::new();
        while let Ok(cmd) = self.rx.try_recv() {
            out.extend(Self::view(cmd));
        }
        out
    }

    /// The next command, waiting for it.
    pub async fn next(&mut self) -> Option<Sent> {
        loop {
            let cmd = self.rx.recv().await?;
            if let Some(s) = Self::view(cmd) {
                return Some(s);
            }
        }
    }
}
