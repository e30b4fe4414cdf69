//! A brand's scorecards narrowed by days, facets or both, each read as a comparison reads
//! it (from cells, or from the reports its lists name), checked equal to every report read,
//! then timed against that read.

use super::compacted::Brand;
use super::{DAY, Paired, paired};
use anyhow::Result;
use ilm_node::scorecard::{self, Filter, Reading};
use ilm_node::store::Store;
use ilm_protocol::Timestamp;

/// What a comparison shows (its scorecards and each one's newest reports), to compare two
/// readings.
pub fn json(c: &scorecard::Comparison) -> Result<String> {
    let cards: Vec<&scorecard::Scorecard> = c.parties.iter().map(|(_, s)| s).collect();
    Ok(serde_json::to_string(&(cards, &c.overall, &c.recent))?)
}

/// With ILM_BENCH_PROFILE set to part of a row's name, the first row whose name holds it
/// is read again and again for ILM_BENCH_PROFILE_SECS (60) seconds after its timing, so
/// that a profiler sampling the whole run (`perf record`) finds most of its samples there
/// rather than in the reads of every report. Says whether it ran.
fn profile(what: &str, mut read: impl FnMut() -> Result<()>) -> Result<bool> {
    let Ok(wanted) = std::env::var("ILM_BENCH_PROFILE") else {
        return Ok(false);
    };
    if wanted.is_empty() || !what.contains(&wanted) {
        return Ok(false);
    }
    let secs: u64 = match std::env::var("ILM_BENCH_PROFILE_SECS") {
        Ok(v) => v
            .parse()
            .map_err(|e| anyhow::anyhow!("ILM_BENCH_PROFILE_SECS={v:?}: {e}"))?,
        Err(_) => 60,
    };
    // Said first, so that a profiler can be started on this process now.
    eprintln!(
        "profiling {what} for {secs} s (process {})",
        std::process::id()
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut runs = 0u64;
    while std::time::Instant::now() < until {
        read()?;
        runs += 1;
    }
    eprintln!("profiled {what}: {runs} runs in {secs} s");
    Ok(true)
}

/// Each narrowing's row: what it is, how many reports pass, and its times.
pub fn scorecards(store: &Store, on: &Brand) -> Result<Vec<(&'static str, String, Paired)>> {
    let day = |before: u64| ilm_node::clock::fmt_day(Timestamp(on.until.0 - before * DAY));
    // 30 days (the last cases open 60 days before `until`), and the last 365.
    let month = Filter {
        from: day(90),
        to: day(61),
        ..Filter::default()
    };
    let year = Filter {
        from: day(364),
        to: day(0),
        ..Filter::default()
    };
    let category = ilm_protocol::IssueCategory::ALL[0].code().to_string();
    let (sector, corridor) = (|| "garment".to_string(), || "MM-TH".to_string());
    // With all three, the category the sector's and corridor's reports name most (a few
    // reports of a small run have the first).
    let pair = Filter {
        sector: sector(),
        corridor: corridor(),
        ..Filter::default()
    };
    let pair = scorecard::compare_reading(
        store,
        on.membership,
        on.me,
        on.until,
        &pair.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
        0,
        Reading::Every,
    )?;
    let named_most = pair
        .overall
        .categories
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(c, _)| c.clone())
        .unwrap_or_else(|| category.clone());
    let rows: Vec<(&'static str, Filter, Reading)> = vec![
        (
            "scorecards of 30 days (each one's reports of those days, from its list)",
            month.clone(),
            Reading::InLists,
        ),
        (
            "scorecards of 30 days (each one's cells of those days)",
            month.clone(),
            Reading::Cells,
        ),
        (
            "scorecards of 365 days (each one's cells of the whole months and the days at either end)",
            year.clone(),
            Reading::Cells,
        ),
        (
            "scorecards of one category (each one's cells of it)",
            Filter {
                category: category.clone(),
                ..Filter::default()
            },
            Reading::Cells,
        ),
        (
            "scorecards of one sector (each one's cells of it)",
            Filter {
                sector: sector(),
                ..Filter::default()
            },
            Reading::Cells,
        ),
        (
            "scorecards of 30 days and one category (each one's cells of the category of those days)",
            Filter {
                category: category.clone(),
                ..month.clone()
            },
            Reading::Cheaper,
        ),
        (
            "scorecards of 365 days and one sector (each one's cells of the sector of the whole months and the days at either end)",
            Filter {
                sector: sector(),
                ..year.clone()
            },
            Reading::Cheaper,
        ),
        (
            "scorecards of one sector and one corridor (each one's cells of the two together)",
            Filter {
                sector: sector(),
                corridor: corridor(),
                ..Filter::default()
            },
            Reading::Cheaper,
        ),
        (
            "scorecards of one sector and one corridor, read from the lists (each one's shorter list, the entries the other holds too)",
            Filter {
                sector: sector(),
                corridor: corridor(),
                ..Filter::default()
            },
            Reading::InLists,
        ),
        (
            "scorecards of one category, sector and corridor (each one's cells of the three together)",
            Filter {
                category: named_most,
                sector: sector(),
                corridor: corridor(),
                ..Filter::default()
            },
            Reading::Cheaper,
        ),
        (
            "scorecards of 365 days, one sector and one corridor (each one's cells of the two together, less its reports of the days before, read from its lists)",
            Filter {
                sector: sector(),
                corridor: corridor(),
                ..year.clone()
            },
            Reading::Cheaper,
        ),
        (
            "scorecards of 365 days, one sector and one corridor, read from the lists (the way before: each one's shortest list, the entries the other holds too)",
            Filter {
                sector: sector(),
                corridor: corridor(),
                ..year.clone()
            },
            Reading::InLists,
        ),
        (
            "scorecards of 30 days, one sector and one corridor (each one's reports of those days, read from its lists, the months' cells saying they are fewer)",
            Filter {
                sector: sector(),
                corridor: corridor(),
                ..month.clone()
            },
            Reading::Cheaper,
        ),
    ];
    let mut out = Vec::new();
    let mut profiled = false;
    for (what, filter, reading) in rows {
        let narrowing = filter.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let read = |reading| {
            scorecard::compare_reading(
                store,
                on.membership,
                on.me,
                on.until,
                &narrowing,
                scorecard::RECENT,
                reading,
            )
        };
        // The reading timed, and the one a page takes, checked first.
        let every = read(Reading::Every)?;
        anyhow::ensure!(
            every.overall.cases > 0,
            "no report passes {filter:?}: the bench needs some"
        );
        for checked in [reading, Reading::Cheaper] {
            anyhow::ensure!(
                json(&read(checked)?)? == json(&every)?,
                "the scorecards of {filter:?} read as {checked:?} differ from every report read"
            );
        }
        let times = paired(
            on.runs,
            || read(reading).map(|_| ()).map_err(Into::into),
            || read(Reading::Every).map(|_| ()).map_err(Into::into),
        )?;
        out.push((what, format!("{} reports", every.overall.cases), times));
        if !profiled {
            profiled = profile(what, || read(reading).map(|_| ()).map_err(Into::into))?;
        }
    }
    Ok(out)
}
