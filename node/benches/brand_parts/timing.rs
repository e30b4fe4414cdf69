//! How the brand bench times a page: once, or run after run against the same answer read
//! from every report, warm and right after that read.

use anyhow::Result;
use std::time::{Duration, Instant};

/// The median and the 99th percentile of `v`, in milliseconds.
pub fn quantiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

/// Runs `f` once, adding how long it took to `into`.
pub fn timed(into: &mut Vec<Duration>, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let started = Instant::now();
    f()?;
    into.push(started.elapsed());
    Ok(())
}

/// A page read from the lists, timed against the same answer read from every report.
pub struct Paired {
    /// The page, run after run: what a node serving it finds in the engine's cache.
    pub warm: Vec<Duration>,
    /// The page right after a read of every report, which pushed the lists out of the cache.
    pub cold: Vec<Duration>,
    /// The read of every report.
    pub slow: Vec<Duration>,
}

/// Times `fast` `runs` times in a row, then `slow` as often, each followed by `fast` again.
pub fn paired(
    runs: usize,
    mut fast: impl FnMut() -> Result<()>,
    mut slow: impl FnMut() -> Result<()>,
) -> Result<Paired> {
    let mut p = Paired {
        warm: Vec::new(),
        cold: Vec::new(),
        slow: Vec::new(),
    };
    // Once untimed: the run before was the check against every report, which emptied the
    // cache.
    fast()?;
    for _ in 0..runs {
        timed(&mut p.warm, &mut fast)?;
    }
    for _ in 0..runs {
        timed(&mut p.slow, &mut slow)?;
        timed(&mut p.cold, &mut fast)?;
    }
    Ok(p)
}
