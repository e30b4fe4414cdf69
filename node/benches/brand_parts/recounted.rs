//! A brand's cells recounted from its reports, as its first start after a release that
//! changes them recounts them (`aggregates::recount`, which holds every cell at once, those
//! kept per unit by unit): how long it takes, how many cells it holds and the length of
//! their names, and the peak of the process's memory while it runs; then checked equal to
//! the cells kept as the reports were stored; or, for a store whose reports were written as
//! records alone, the lists and cells rebuilt from them as `ilm reindex` rebuilds them.

use super::common::rss_mb;
use anyhow::Result;
use ilm_node::aggregates;
use ilm_node::store::Store;
use std::time::Instant;

/// Recounts `store`'s cells, prints what it took, and checks them equal to those kept.
pub fn recount(store: &Store) -> Result<()> {
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
pub fn rebuild(store: &Store) -> Result<()> {
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
