//! A brand's cells recounted from its reports, as its first start after a release that
//! changes them recounts them (`aggregates::recount`, which holds every cell at once, those
//! kept per unit by unit): how long it takes, how many cells it holds and the length of
//! their names, and the peak of the process's memory while it runs; then checked equal to
//! the cells kept as the reports were stored; or, for a store whose reports were written as
//! records alone, the lists and cells rebuilt from them as `ilm reindex` rebuilds them.

use super::common::rss_mb;
use anyhow::{Context, Result};
use ilm_node::aggregates;
use ilm_node::schema;
use ilm_node::store::Store;
use std::time::{Duration, Instant};

/// The cases whose reports the brand's store takes as a delivery does (ILM_BENCH_STAGED,
/// every case unless set); the others' are written as records alone, and their lists and
/// cells rebuilt from them as `ilm reindex` rebuilds them: a store of a million reports in
/// minutes, not hours.
pub fn staged_cases() -> Result<usize> {
    match std::env::var("ILM_BENCH_STAGED") {
        Ok(v) => v.parse().with_context(|| format!("ILM_BENCH_STAGED={v:?}")),
        Err(_) => Ok(usize::MAX),
    }
}

/// How the brand's store took its reports.
pub struct Stored {
    /// Reports stored as deliveries store them.
    pub staged_reports: usize,
    /// Reports written as records alone.
    pub raw: usize,
    /// The time the staged ones took (staged and committed).
    pub storing: Duration,
    /// The time the others took to write.
    pub loading: Duration,
}

/// Prints how the store took its reports; then rebuilds its lists and cells when some
/// reports were written alone, or else recounts the cells deliveries kept and checks them.
pub fn stored(store: &Store, s: Stored) -> Result<()> {
    let Stored {
        staged_reports,
        raw,
        storing,
        loading,
    } = s;
    println!(
        "The brand's store took {staged_reports} reports as deliveries do in {:.1} s ({:.0} reports a second, with their cells and list entries).",
        storing.as_secs_f64(),
        staged_reports as f64 / storing.as_secs_f64().max(1e-9)
    );
    if raw > 0 {
        println!(
            "The other {raw} reports written as records alone in {:.1} s.",
            loading.as_secs_f64()
        );
        rebuild(store)?;
    }
    // A rebuild marks the cells built (one cell more); deliveries alone never do.
    let marker = u64::from(aggregates::built_version(store)?.is_some());
    println!(
        "Its aggregates: {} cells kept a record each, {} records of the cells of a unit (per organisation and day or month, per organisation, facet and day or month, or per organisation and set of facets).",
        store.count(&schema::AGGREGATES)? as u64 - marker,
        store.count(&schema::AGGREGATE_UNITS)?
    );
    // After a rebuild the cells are a recount's: the check against the cells deliveries
    // keep needs every report delivered.
    if raw == 0 {
        recount(store)
    } else {
        println!(
            "The cells deliveries keep were not checked against a recount: {raw} reports were not delivered."
        );
        Ok(())
    }
}

/// Recounts `store`'s cells, prints what it took, and checks them equal to those kept.
fn recount(store: &Store) -> Result<()> {
    let peak = Peak::reset();
    let started = Instant::now();
    let cells = aggregates::recount(store, &mut |_| {})?;
    let took = started.elapsed();
    print_counted(&cells, took, &peak, "while recounting");
    anyhow::ensure!(
        aggregates::held(store)? == cells.into_cells(),
        "the cells kept as the reports were stored differ from a recount"
    );
    Ok(())
}

/// Rebuilds `store`'s lists and cells from its reports in `ilm reindex`'s order (the cells
/// recounted, the lists rebuilt while the count is held, then the cells written in place of
/// those held), printing what each took and the peak of memory over all three.
fn rebuild(store: &Store) -> Result<()> {
    let peak = Peak::reset();
    let started = Instant::now();
    let cells = aggregates::recount(store, &mut |_| {})?;
    let took = started.elapsed();
    let started = Instant::now();
    aggregates::rebuild_indexes(store)?;
    let lists = started.elapsed();
    let started = Instant::now();
    aggregates::replace(store, &cells, 10_000)?;
    let written = started.elapsed();
    print_counted(&cells, took, &peak, "while rebuilding");
    println!(
        "Rebuilt in `ilm reindex`'s order: the cells recounted in {:.1} s, then the lists rebuilt in {:.1} s, the cells written in {:.1} s.",
        took.as_secs_f64(),
        lists.as_secs_f64(),
        written.as_secs_f64()
    );
    Ok(())
}

/// The process's memory when measuring began, its high-water mark reset (Linux) so that a
/// peak read later is the measured work's own.
struct Peak {
    reset: bool,
    resident: f64,
}

impl Peak {
    fn reset() -> Peak {
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        Peak {
            reset,
            resident: rss_mb("VmRSS:"),
        }
    }
}

/// Prints what a recount of `cells` took (`took`), and the peak of memory since `peak`.
fn print_counted(cells: &aggregates::Tally, took: std::time::Duration, peak: &Peak, during: &str) {
    let (resident, reset) = (peak.resident, peak.reset);
    let peak = rss_mb("VmHWM:");
    println!(
        "The brand's cells recounted in {:.1} s: {} cells ({} of them in {} units), names {:.0} MB in all; resident {resident:.0} MB before, peak {:.0} MB {during}{}.",
        took.as_secs_f64(),
        cells.len(),
        cells.in_units(),
        cells.units(),
        cells.name_bytes() as f64 / 1e6,
        peak,
        if reset {
            ""
        } else {
            " (the peak could not be reset: the whole run's)"
        }
    );
}
