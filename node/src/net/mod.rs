//! Peer-to-peer networking. Architecture invariant: only this module knows libp2p; the rest
//! of the node talks to it through [`NetClient`] commands and [`NetEvent`]s.

mod behaviour;
mod event_loop;
pub mod proto;

pub use behaviour::SwarmOptions;
pub use event_loop::{
    Gatekeeper, NetClient, NetConfig, NetEvent, NetStatus, PeerInfo, SendError, spawn,
};
