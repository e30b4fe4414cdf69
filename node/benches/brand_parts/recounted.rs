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
    let cells = counted(store)?;
    anyhow::ensure!(
        aggregates::held(store)? == cells.into_cells(),
        "the cells kept as the reports were stored differ from a recount"
    );
    Ok(())
}

/// Rebuilds `store`'s lists and cells from its reports as `ilm reindex` does (the lists,
/// then the cells recounted and written in place of those held), printing what each took.
pub fn rebuild(store: &Store) -> Result<()> {
    let started = Instant::now();
    aggregates::rebuild_indexes(store)?;
    let lists = started.elapsed();
    let cells = counted(store)?;
    let started = Instant::now();
    aggregates::replace(store, &cells, 10_000)?;
    println!(
        "Rebuilt as `ilm reindex` does: the lists in {:.1} s, the cells written in {:.1} s.",
        lists.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `store`'s cells recounted, with what the recount took printed.
fn counted(store: &Store) -> Result<aggregates::Tally> {
    // The high-water mark is reset (Linux) so that the peak is the recount's own.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let resident = rss_mb("VmRSS:");
    let started = Instant::now();
    let cells = aggregates::recount(store, &mut |_| {})?;
    let took = started.elapsed();
    let peak = rss_mb("VmHWM:");
    println!(
        "The brand's cells recounted in {:.1} s: {} cells ({} of them in {} units), names {:.0} MB in all; resident {resident:.0} MB before, peak {:.0} MB while recounting{}.",
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
    Ok(cells)
}
