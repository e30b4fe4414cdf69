//! Peer-to-peer networking. Architecture invariant: only this module knows libp2p; the rest
//! of the node talks to it through [`NetClient`] commands and [`NetEvent`]s.

mod behaviour;
mod client;
mod event_loop;
mod peer;
pub mod proto;

pub use behaviour::SwarmOptions;
pub use client::{InboundId, NetClient, NetEvent, NetStatus, PeerInfo, Probe, SendError, Sent};
pub use event_loop::{Gatekeeper, NetConfig, spawn};
