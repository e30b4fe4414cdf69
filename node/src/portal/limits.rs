//! Abuse limits of the portal, without third-party CAPTCHAs and without keeping anything
//! about who asks (no address, no fingerprint): new reports are drawn from one token bucket
//! for the whole portal; requests in progress are bounded, and one more is answered "busy" at
//! once instead of queueing; guessing passphrases and sending messages are limited per
//! receipt (`thread`). The admin listener has its own server, so a flood here leaves the
//! operators' pages answering.

use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests the portal serves at once; more are answered "busy".
pub const MAX_IN_FLIGHT: usize = 32;

/// A token bucket: `capacity` at most, refilled at `per_hour`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    last: Instant,
}

/// The portal's limits, shared by its handlers.
#[derive(Debug)]
pub struct Limits {
    reports: Mutex<Bucket>,
    in_flight: Arc<Semaphore>,
}

impl Limits {
    /// New reports: at most `burst` at once, refilled at `per_hour`.
    pub fn new(per_hour: u32, burst: u32) -> Limits {
        let capacity = f64::from(burst.max(1));
        Limits {
            reports: Mutex::new(Bucket {
                tokens: capacity,
                capacity,
                per_sec: f64::from(per_hour) / 3600.0,
                last: Instant::now(),
            }),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// Takes one report from the bucket; false when it is empty.
    pub fn take_report(&self) -> bool {
        let Ok(mut b) = self.reports.lock() else {
            // A handler panicked holding it: refuse rather than open the gate.
            return false;
        };
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() * b.per_sec;
        b.tokens = (b.tokens + refill).min(b.capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// A place for one request in progress; None when the portal is at its bound.
    pub fn enter(&self) -> Option<OwnedSemaphorePermit> {
        self.in_flight.clone().try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_gives_its_burst_then_refuses() {
        let l = Limits::new(0, 3);
        assert!((0..3).all(|_| l.take_report()));
        assert!(!l.take_report());
        // Control: a refilling bucket gives again once time has passed.
        let l = Limits::new(3_600_000, 1);
        assert!(l.take_report());
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(l.take_report());
    }

    #[test]
    fn requests_beyond_the_bound_are_turned_away() {
        let l = Limits::new(1, 1);
        let held: Vec<_> = (0..MAX_IN_FLIGHT).filter_map(|_| l.enter()).collect();
        assert_eq!(held.len(), MAX_IN_FLIGHT);
        assert!(l.enter().is_none());
        drop(held);
        assert!(l.enter().is_some());
    }
}
