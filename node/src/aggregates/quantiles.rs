//! Medians and quantiles of the aggregates' day histograms, and histograms split by month:
//! what the dashboards and scorecards show of time to acknowledge and to remediate.

use std::collections::BTreeMap;

/// The median of a list of values (the mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    })
}

/// A histogram of whole days (`ddd` bucket names, possibly after a month) as day to count,
/// the months merged.
fn per_day(buckets: &BTreeMap<String, i64>) -> BTreeMap<u64, u64> {
    let mut out: BTreeMap<u64, u64> = BTreeMap::new();
    for (name, n) in buckets {
        let day = name.rsplit('.').next().and_then(|d| d.parse::<u64>().ok());
        if let (Some(day), Ok(n)) = (day, u64::try_from(*n)) {
            *out.entry(day).or_default() += n;
        }
    }
    out
}

/// The median of a histogram of whole days (`ddd` bucket name to count), over every month:
/// as the median of the list of values it counts.
pub fn median_days(buckets: &BTreeMap<String, i64>) -> Option<f64> {
    let per_day = per_day(buckets);
    let total: u64 = per_day.values().sum();
    if total == 0 {
        return None;
    }
    // The value at 0-based position `i` of the sorted list.
    let at = |i: u64| {
        let mut seen = 0;
        for (day, n) in &per_day {
            seen += n;
            if i < seen {
                return *day as f64;
            }
        }
        0.0
    };
    Some(if total.is_multiple_of(2) {
        (at(total / 2 - 1) + at(total / 2)) / 2.0
    } else {
        at(total / 2)
    })
}

/// A quantile (0 < q <= 1, nearest rank: the smallest day at least a share `q` of the
/// values do not exceed) of a histogram of whole days (`ddd` bucket name to count).
pub fn quantile_days(buckets: &BTreeMap<String, i64>, q: f64) -> Option<f64> {
    let per_day = per_day(buckets);
    let total: u64 = per_day.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (day, n) in &per_day {
        seen += n;
        if seen >= rank {
            return Some(*day as f64);
        }
    }
    None
}

/// A day histogram split by month: `YYYY-MM.ddd` cell names (as under `ack.days.`) to one
/// histogram per month.
pub fn by_month(cells: &BTreeMap<String, i64>) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (name, n) in cells {
        if let Some((month, day)) = name.split_once('.') {
            out.entry(month.to_string())
                .or_default()
                .insert(day.to_string(), *n);
        }
    }
    out
}
