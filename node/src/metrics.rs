//! Operator counters: deliveries, failures, duplicates and latencies.

use ilm_protocol::{OrgId, Timestamp};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters shared by the node's tasks.
#[derive(Default)]
pub struct Metrics {
    delivered: AtomicU64,
    delivery_failures: AtomicU64,
    rejected: AtomicU64,
    received: AtomicU64,
    received_duplicates: AtomicU64,
    received_rejected: AtomicU64,
    latencies_ms: Mutex<Vec<u64>>,
    last_seen: Mutex<HashMap<OrgId, Timestamp>>,
    cached_histories: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsSnapshot {
    /// Messages acknowledged by recipients.
    pub delivered: u64,
    /// Failed attempts (retried).
    pub delivery_failures: u64,
    /// Messages refused for good by recipients.
    pub rejected: u64,
    /// Messages received and stored.
    pub received: u64,
    /// Redeliveries received (no-ops).
    pub received_duplicates: u64,
    /// Messages received and refused.
    pub received_rejected: u64,
    /// Median delivery latency (last attempts), milliseconds.
    pub delivery_p50_ms: Option<u64>,
    /// 99th percentile delivery latency, milliseconds.
    pub delivery_p99_ms: Option<u64>,
    /// Case histories the core keeps in memory (bounded, whatever the number of cases).
    pub cached_histories: u64,
}

/// Latency samples kept for percentiles.
const SAMPLES: usize = 4096;

impl Metrics {
    /// A delivery acknowledged after `latency`.
    pub fn delivered(&self, latency: Option<Duration>) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        if let Some(l) = latency {
            let mut v = self.latencies_ms.lock().unwrap_or_else(|p| p.into_inner());
            if v.len() >= SAMPLES {
                v.remove(0);
            }
            v.push(l.as_millis() as u64);
        }
    }
    /// A failed attempt.
    pub fn failed(&self) {
        self.delivery_failures.fetch_add(1, Ordering::Relaxed);
    }
    /// A refused message.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }
    /// A message received and stored.
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    /// A redelivery received.
    pub fn received_duplicate(&self) {
        self.received_duplicates.fetch_add(1, Ordering::Relaxed);
    }
    /// A message received and refused.
    pub fn received_rejected(&self) {
        self.received_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// How many case histories the core keeps in memory now.
    pub fn set_cached_histories(&self, n: usize) {
        self.cached_histories.store(n as u64, Ordering::Relaxed);
    }

    /// A member was heard from (admitted, or sent a request) at `at`.
    pub fn saw(&self, org: OrgId, at: Timestamp) {
        self.last_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(org, at);
    }

    /// When each member was last heard from since this node started.
    pub fn last_seen(&self) -> HashMap<OrgId, Timestamp> {
        self.last_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current values.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let mut lat = self
            .latencies_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        lat.sort_unstable();
        let pct = |p: usize| (!lat.is_empty()).then(|| lat[(lat.len() - 1) * p / 100]);
        MetricsSnapshot {
            delivered: self.delivered.load(Ordering::Relaxed),
            delivery_failures: self.delivery_failures.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            received_duplicates: self.received_duplicates.load(Ordering::Relaxed),
            received_rejected: self.received_rejected.load(Ordering::Relaxed),
            delivery_p50_ms: pct(50),
            delivery_p99_ms: pct(99),
            cached_histories: self.cached_histories.load(Ordering::Relaxed),
        }
    }
}
