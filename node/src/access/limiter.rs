//! The login rate limit: it slows guessing without ever letting an attacker lock out a
//! correct credential presented from somewhere else, and its memory is bounded.
//!
//! * A **source** (client address) with too many failures in the window is refused, whatever
//!   it presents: it is the one guessing.
//! * A **name tried from a source** with too many failures is refused for that source only.
//! * A **name** failing from many sources is answered more slowly (never refused), so that a
//!   spread-out attack against one account is slowed too.
//!
//! Each table holds at most [`MAX_TRACKED`] entries: expired ones go first, then the oldest.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Failures one source may make (any names) in the window.
pub const MAX_PER_SOURCE: u32 = 20;
/// Failures for one name from one source in the window.
pub const MAX_PER_NAME_AND_SOURCE: u32 = 5;
/// Failures for one name from all sources after which its logins are answered slowly.
pub const SLOW_AFTER_PER_NAME: u32 = 20;
/// How slowly.
pub const SLOW_DELAY: Duration = Duration::from_secs(1);
/// Entries kept per table, at most.
pub const MAX_TRACKED: usize = 10_000;
/// Longest name kept (longer names are never valid operator names).
const MAX_NAME: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Window {
    failures: u32,
    since: Instant,
}

impl Window {
    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.since) < WINDOW
    }
}

#[derive(Debug)]
struct Table<K> {
    map: HashMap<K, Window>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new() -> Table<K> {
        Table {
            map: HashMap::new(),
        }
    }

    fn failures(&self, k: &K, now: Instant) -> u32 {
        self.map
            .get(k)
            .filter(|w| w.live(now))
            .map_or(0, |w| w.failures)
    }

    fn fail(&mut self, k: K, now: Instant) {
        if !self.map.contains_key(&k) && self.map.len() >= MAX_TRACKED {
            self.map.retain(|_, w| w.live(now));
            if self.map.len() >= MAX_TRACKED {
                // Still full of live entries: drop the oldest tenth at once, so that a flood
                // of new keys costs one sort per thousand insertions.
                let mut by_age: Vec<(Instant, K)> =
                    self.map.iter().map(|(k, w)| (w.since, k.clone())).collect();
                by_age.sort_by_key(|(since, _)| *since);
                for (_, k) in by_age.into_iter().take(MAX_TRACKED / 10) {
                    self.map.remove(&k);
                }
            }
        }
        let w = self.map.entry(k).or_insert(Window {
            failures: 0,
            since: now,
        });
        if !w.live(now) {
            *w = Window {
                failures: 0,
                since: now,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }

    fn clear(&mut self, k: &K) {
        self.map.remove(k);
    }
}

/// What the limiter says about a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the credential.
    Try,
    /// Check it, but answer only after [`SLOW_DELAY`].
    TrySlowly,
    /// Refuse without checking (this source is guessing).
    Refuse,
}

#[derive(Debug)]
struct Tables {
    source: Table<IpAddr>,
    name_source: Table<(String, IpAddr)>,
    name: Table<String>,
}

/// The login limiter of one node.
#[derive(Debug)]
pub struct LoginLimiter {
    tables: Mutex<Tables>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            tables: Mutex::new(Tables {
                source: Table::new(),
                name_source: Table::new(),
                name: Table::new(),
            }),
        }
    }
}

fn key(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

impl LoginLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a login for `name` (the admin token: "") from `source` may be checked now.
    pub fn check(&self, name: &str, source: IpAddr) -> Verdict {
        let now = Instant::now();
        let t = self.lock();
        if t.source.failures(&source, now) >= MAX_PER_SOURCE
            || t.name_source.failures(&(key(name), source), now) >= MAX_PER_NAME_AND_SOURCE
        {
            return Verdict::Refuse;
        }
        if t.name.failures(&key(name), now) >= SLOW_AFTER_PER_NAME {
            return Verdict::TrySlowly;
        }
        Verdict::Try
    }

    /// Records a failed login.
    pub fn failed(&self, name: &str, source: IpAddr) {
        let now = Instant::now();
        let mut t = self.lock();
        t.source.fail(source, now);
        t.name_source.fail((key(name), source), now);
        t.name.fail(key(name), now);
    }

    /// Clears what a successful login from `source` proves was not guessing.
    pub fn succeeded(&self, name: &str, source: IpAddr) {
        self.lock().name_source.clear(&(key(name), source));
    }

    /// Entries held (for tests of the bound).
    pub fn tracked(&self) -> usize {
        let t = self.lock();
        t.source.map.len() + t.name_source.map.len() + t.name.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn a_guessing_source_never_locks_out_others() {
        let l = LoginLimiter::default();
        for _ in 0..100 {
            l.failed("alice", ip(2));
        }
        assert_eq!(l.check("alice", ip(2)), Verdict::Refuse);
        assert_eq!(l.check("bob", ip(2)), Verdict::Refuse);
        // Alice from her own machine: checked (slowly, since her name is under attack).
        assert_eq!(l.check("alice", ip(1)), Verdict::TrySlowly);
        assert_eq!(l.check("bob", ip(1)), Verdict::Try);
        assert_eq!(l.check("", ip(1)), Verdict::Try);
    }

    #[test]
    fn a_name_is_refused_per_source_after_a_few_failures() {
        let l = LoginLimiter::default();
        for _ in 0..MAX_PER_NAME_AND_SOURCE {
            assert_ne!(l.check("alice", ip(3)), Verdict::Refuse);
            l.failed("alice", ip(3));
        }
        assert_eq!(l.check("alice", ip(3)), Verdict::Refuse);
        assert_eq!(l.check("carol", ip(3)), Verdict::Try);
    }

    #[test]
    fn memory_stays_bounded_whatever_the_names() {
        let l = LoginLimiter::default();
        let long = "x".repeat(10_000);
        for i in 0..30_000u32 {
            let b = i.to_be_bytes();
            l.failed(&format!("{long}{i}"), IpAddr::from([10, b[1], b[2], b[3]]));
        }
        assert!(l.tracked() <= 3 * MAX_TRACKED, "{}", l.tracked());
        // Names are kept at most 64 bytes long.
        assert!(l.lock().name.map.keys().all(|k| k.len() <= MAX_NAME));
    }
}
