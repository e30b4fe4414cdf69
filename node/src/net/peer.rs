//! One state per peer in the network task: admission both ways, the requests waiting for it,
//! its addresses (bounded), lookups, the deadline to close it, and the backoff after it
//! refused us. Transitions are plain methods that take the time, so they are tested without
//! a swarm.

use super::client::SendError;
use super::proto::{Request, Response};
use ilm_protocol::OrgId;
use libp2p::Multiaddr;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Where a request's answer goes.
pub(super) type Reply = oneshot::Sender<Result<Response, SendError>>;

/// Addresses kept per peer, at most (newest first out when full: the oldest go).
pub const MAX_ADDRESSES: usize = 8;
/// Requests queued for one peer while it is being reached and admitted, at most.
pub const MAX_PENDING_PER_PEER: usize = 1024;
/// First pause after a peer refused us; doubles per refusal up to [`MAX_REFUSAL_BACKOFF`].
pub const FIRST_REFUSAL_BACKOFF: Duration = Duration::from_secs(5);
/// Longest pause between attempts at a peer that keeps refusing us.
pub const MAX_REFUSAL_BACKOFF: Duration = Duration::from_secs(3600);

/// What the network task knows of one peer.
#[derive(Default)]
pub(super) struct Peer {
    /// The organisation we admitted it as.
    pub org: Option<OrgId>,
    /// It answered our hello with its own (requests go only to admitted peers that did).
    pub accepted: bool,
    /// Our hello to it is under way.
    pub hello_in_flight: bool,
    /// Requests waiting for it to be reached and admitted.
    pub pending: Vec<(Request, Reply)>,
    /// Addresses seen for it, oldest first.
    pub addresses: Vec<Multiaddr>,
    /// Its addresses were looked up for the requests now pending (one lookup each).
    pub looked_up: bool,
    /// When to close its connections unless it is admitted by then.
    pub close_at: Option<Instant>,
    /// Consecutive refusals of our hello.
    pub refusals: u32,
    /// Until when we do not dial it or queue requests for it (it refused us).
    pub refused_until: Option<Instant>,
    /// How often we refused it (only the first refusal is logged as a warning).
    pub refused_by_us: u64,
}

impl Peer {
    /// Whether requests may go to it now.
    pub fn ready(&self) -> bool {
        self.org.is_some() && self.accepted
    }

    /// Remembers an address (at most [`MAX_ADDRESSES`], the oldest dropped).
    pub fn add_address(&mut self, addr: Multiaddr) -> bool {
        if self.addresses.contains(&addr) {
            return false;
        }
        if self.addresses.len() >= MAX_ADDRESSES {
            self.addresses.remove(0);
        }
        self.addresses.push(addr);
        true
    }

    /// It refused our hello: wait before trying again (5 s, 10 s, ... up to an hour), so that
    /// a node that is not (or no longer) a member does not redial in a loop.
    pub fn refused_us(&mut self, now: Instant) -> Duration {
        self.refusals = self.refusals.saturating_add(1);
        let exp = self.refusals.saturating_sub(1).min(16);
        let pause = FIRST_REFUSAL_BACKOFF
            .saturating_mul(1u32 << exp)
            .min(MAX_REFUSAL_BACKOFF);
        self.refused_until = Some(now + pause);
        pause
    }

    /// Whether it refused us recently enough that we leave it alone.
    pub fn in_refusal_backoff(&self, now: Instant) -> bool {
        self.refused_until.is_some_and(|t| now < t)
    }

    /// It accepted us: forget past refusals.
    pub fn accepted_us(&mut self) {
        self.accepted = true;
        self.refusals = 0;
        self.refused_until = None;
    }

    /// Admission both ways ends (disconnection, refusal, revocation).
    pub fn forget_admission(&mut self) {
        self.org = None;
        self.accepted = false;
        self.hello_in_flight = false;
    }

    /// Fails every request waiting for it.
    pub fn fail_pending(&mut self, err: &SendError) {
        self.looked_up = false;
        for (_, reply) in self.pending.drain(..) {
            let _ = reply.send(Err(err.clone()));
        }
    }

    /// Whether nothing about it is worth keeping once it is disconnected.
    pub fn forgettable(&self, now: Instant) -> bool {
        self.org.is_none()
            && self.pending.is_empty()
            && self.addresses.is_empty()
            && !self.in_refusal_backoff(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_bounded_and_unique() {
        let mut p = Peer::default();
        for port in 0..20u16 {
            let a: Multiaddr = format!("/ip4/127.0.0.1/tcp/{}", 4000 + port)
                .parse()
                .expect("addr");
            assert!(p.add_address(a.clone()));
            assert!(!p.add_address(a));
        }
        assert_eq!(p.addresses.len(), MAX_ADDRESSES);
        assert!(p.addresses[0].to_string().ends_with("4012"));
    }

    #[test]
    fn refusals_back_off_up_to_an_hour_and_acceptance_resets_them() {
        let mut p = Peer::default();
        let now = Instant::now();
        let pauses: Vec<Duration> = (0..20).map(|_| p.refused_us(now)).collect();
        assert_eq!(pauses[0], Duration::from_secs(5));
        assert_eq!(pauses[1], Duration::from_secs(10));
        assert_eq!(*pauses.last().expect("pause"), MAX_REFUSAL_BACKOFF);
        assert!(p.in_refusal_backoff(now + Duration::from_secs(60)));
        assert!(!p.forgettable(now));
        p.accepted_us();
        assert!(!p.in_refusal_backoff(now));
        assert_eq!(p.refusals, 0);
    }
}
