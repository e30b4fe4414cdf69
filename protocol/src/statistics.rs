//! Published network statistics: a CSO's signed monthly counts, with small cells suppressed.
//!
//! A publication covers one calendar month that has ended, and a CSO publishes each month
//! once: two publications of the same counts at different times could be subtracted to reveal
//! the few records that came between them, so receivers keep the first and refuse another.
//!
//! Every table is one dimension (contacts by nationality, cases by category...) with its
//! total. A count below `k` is suppressed (left out, like a zero). When the total is
//! published, what it does not account for (the hidden sum) must be zero or at least `k`, so
//! no suppressed cell can be recovered by subtracting the published cells from the total;
//! [`suppress`] hides more cells until that holds, and [`PublishedStatistics::check`] lets
//! every receiver verify it.

use crate::identity::{OrgId, Timestamp};
use crate::limits::{check_text, check_time};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The smallest `k` any publication may use: no published count is between 1 and 4.
pub const MIN_K: u32 = 5;
/// Most tables in one publication.
pub const MAX_TABLES: usize = 64;
/// Most cells in one table.
pub const MAX_CELLS: usize = 512;
/// Longest table or cell name, in bytes.
pub const MAX_NAME: usize = 64;
/// Largest count a publication may hold (far above any helpline's month), so that sums over
/// many publications cannot overflow.
pub const MAX_COUNT: u64 = 1_000_000_000;

/// A calendar month (UTC), written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    year: u16,
    month: u8,
}

const DAY: u64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Month {
    /// The month `month` (1 to 12) of `year` (1970 to 9999).
    pub fn new(year: u16, month: u8) -> Result<Month, StatisticsError> {
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(StatisticsError::BadMonth);
        }
        Ok(Month { year, month })
    }

    /// The month a time falls in.
    pub fn of(t: Timestamp) -> Month {
        let days = (t.0 / DAY) as i64;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Month {
            year: y.clamp(1970, 9999) as u16,
            month: m as u8,
        }
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month's number, 1 to 12.
    pub fn number(self) -> u8 {
        self.month
    }

    /// The first second of the month.
    pub fn start(self) -> Timestamp {
        let d = days_from_civil(i64::from(self.year), i64::from(self.month), 1);
        Timestamp(d as u64 * DAY)
    }

    /// The first second after the month.
    pub fn end(self) -> Timestamp {
        self.next().map_or(Timestamp(253_402_300_800), Month::start)
    }

    /// The month after this one (None after 9999-12).
    pub fn next(self) -> Option<Month> {
        if self.month == 12 {
            Month::new(self.year + 1, 1).ok()
        } else {
            Month::new(self.year, self.month + 1).ok()
        }
    }

    /// The month before this one (None before 1970-01).
    pub fn previous(self) -> Option<Month> {
        if self.month == 1 {
            Month::new(self.year.checked_sub(1)?, 12).ok()
        } else {
            Month::new(self.year, self.month - 1).ok()
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = StatisticsError;
    fn from_str(s: &str) -> Result<Month, StatisticsError> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err(StatisticsError::BadMonth);
        }
        let year = s[0..4].parse().map_err(|_| StatisticsError::BadMonth)?;
        let month = s[5..7].parse().map_err(|_| StatisticsError::BadMonth)?;
        Month::new(year, month)
    }
}

impl TryFrom<String> for Month {
    type Error = StatisticsError;
    fn try_from(s: String) -> Result<Month, StatisticsError> {
        s.parse()
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

/// One published table: the counts of one dimension, those below `k` left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatTable {
    /// What is counted, e.g. `contacts.nationality` or `cases.category`.
    pub name: String,
    /// The sum of every cell, suppressed ones included; None when it is itself below `k`
    /// (zero included, so that "withheld" does not mean "a few").
    pub total: Option<u64>,
    /// The published cells, each at least `k`; a value left out is zero or suppressed.
    pub cells: BTreeMap<String, u64>,
}

impl StatTable {
    /// What the total holds that the published cells do not (0 without a total).
    pub fn hidden(&self) -> u64 {
        let shown: u64 = self.cells.values().sum();
        self.total.map_or(0, |t| t.saturating_sub(shown))
    }
}

/// A table's counts as held, before suppression (zeros may be present).
pub type Counts = BTreeMap<String, u64>;

/// Suppresses `counts` for publication with threshold `k`. Cells below `k` are hidden; if
/// the total is published and the hidden sum is then below `k`, the smallest published cells
/// are hidden too, until the hidden sum is at least `k` plus one for every hidden cell past
/// the first (so that, unless every cell is hidden, even a reader who knew which cells are
/// non-zero could not tell that any of them is below `k`). The total is hidden only when it
/// is itself below `k` (zero included), so every table of one population hides or shows the
/// same total.
pub fn suppress(name: &str, counts: &Counts, k: u32) -> StatTable {
    let k = u64::from(k.max(MIN_K));
    let total: u64 = counts.values().fold(0, |a, v| a.saturating_add(*v));
    if total < k {
        return StatTable {
            name: name.to_string(),
            total: None,
            cells: BTreeMap::new(),
        };
    }
    let mut shown: Vec<(&String, u64)> = counts
        .iter()
        .filter(|(_, v)| **v >= k)
        .map(|(n, v)| (n, *v))
        .collect();
    let mut hidden_sum: u64 = counts.values().filter(|v| **v > 0 && **v < k).sum();
    let mut hidden_cells = counts.values().filter(|v| **v > 0 && **v < k).count() as u64;
    // Smallest first; among equals, the last name goes first, so the choice is deterministic.
    shown.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    while hidden_cells > 0 && hidden_sum < k + (hidden_cells - 1) {
        let Some((_, v)) = shown.pop() else { break };
        hidden_sum += v;
        hidden_cells += 1;
    }
    StatTable {
        name: name.to_string(),
        total: Some(total),
        cells: shown.into_iter().map(|(n, v)| (n.clone(), v)).collect(),
    }
}

/// A table of one count and no cells (e.g. cases opened), its total hidden below `k`.
pub fn scalar(name: &str, count: u64, k: u32) -> StatTable {
    let k = u64::from(k.max(MIN_K));
    StatTable {
        name: name.to_string(),
        total: (count >= k).then_some(count),
        cells: BTreeMap::new(),
    }
}

/// A CSO's statistics for one month, signed by it and sent to every member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedStatistics {
    /// The network it is published in.
    pub network_id: NetworkId,
    /// The CSO that publishes (and signs).
    pub publisher: OrgId,
    /// The month counted.
    pub month: Month,
    /// The suppression threshold used: no published count is below it.
    pub k: u32,
    /// When it was published (after the month ended).
    pub published_at: Timestamp,
    /// The tables, by name, each name once.
    pub tables: Vec<StatTable>,
}

impl RecordBody for PublishedStatistics {
    const KIND: RecordKind = RecordKind::PublishedStatistics;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.publisher]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.published_at)
    }
}

/// Why a publication breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatisticsError {
    /// Not a month between 1970-01 and 9999-12 written `YYYY-MM`.
    #[error("not a month written YYYY-MM (1970-01 to 9999-12)")]
    BadMonth,
    /// The threshold is below the network's minimum.
    #[error("k is {0}, below the minimum of {MIN_K}")]
    KTooSmall(u32),
    /// Published before the month ended.
    #[error("published before the month ended")]
    MonthNotOver,
    /// Too many tables or cells, or a name too long or with control characters.
    #[error("table {0:?}: too large or badly named")]
    Malformed(String),
    /// Two tables with one name.
    #[error("table {0:?} appears twice")]
    DuplicateTable(String),
    /// A published count below `k`.
    #[error("table {0:?} publishes a count below k")]
    SmallCell(String),
    /// What the total does not account for is between 1 and k - 1: a suppressed cell could
    /// be recovered from the total.
    #[error("table {0:?}: the suppressed cells could be recovered from its total")]
    Recoverable(String),
}

impl StatisticsError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            StatisticsError::BadMonth => "statistics.bad_month",
            StatisticsError::KTooSmall(_) => "statistics.k_too_small",
            StatisticsError::MonthNotOver => "statistics.month_not_over",
            StatisticsError::Malformed(_) => "statistics.malformed",
            StatisticsError::DuplicateTable(_) => "statistics.duplicate_table",
            StatisticsError::SmallCell(_) => "statistics.small_cell",
            StatisticsError::Recoverable(_) => "statistics.recoverable",
        }
    }
}

impl PublishedStatistics {
    /// Checks the suppression rules every receiver enforces: `k` at least [`MIN_K`], the
    /// month over when published, every published count (cells and totals) at least `k` and
    /// at most [`MAX_COUNT`], and every hidden sum zero or at least `k`.
    pub fn check(&self) -> Result<(), StatisticsError> {
        use StatisticsError as E;
        if self.k < MIN_K {
            return Err(E::KTooSmall(self.k));
        }
        check_time(self.published_at).map_err(|_| E::Malformed("published_at".into()))?;
        if self.published_at < self.month.end() {
            return Err(E::MonthNotOver);
        }
        if self.tables.len() > MAX_TABLES {
            return Err(E::Malformed("(tables)".into()));
        }
        let k = u64::from(self.k);
        let name_ok = |n: &str| !n.is_empty() && check_text(n, MAX_NAME, true).is_ok();
        let mut seen = std::collections::BTreeSet::new();
        for t in &self.tables {
            if !name_ok(&t.name) || t.cells.len() > MAX_CELLS || t.cells.keys().any(|n| !name_ok(n))
            {
                return Err(E::Malformed(t.name.clone()));
            }
            if !seen.insert(t.name.as_str()) {
                return Err(E::DuplicateTable(t.name.clone()));
            }
            if t.cells.values().any(|v| *v < k) {
                return Err(E::SmallCell(t.name.clone()));
            }
            if t.total.is_some_and(|v| v > MAX_COUNT) || t.cells.values().any(|v| *v > MAX_COUNT) {
                return Err(E::Malformed(t.name.clone()));
            }
            let shown = t.cells.values().try_fold(0u64, |a, v| a.checked_add(*v));
            match (t.total, shown) {
                (_, None) => return Err(E::Malformed(t.name.clone())),
                (None, Some(_)) if !t.cells.is_empty() => {
                    // A table whose total is below k has every cell below k.
                    return Err(E::SmallCell(t.name.clone()));
                }
                (None, Some(_)) => {}
                (Some(total), Some(shown)) => {
                    if total < k {
                        return Err(E::SmallCell(t.name.clone()));
                    }
                    if shown > total {
                        return Err(E::Malformed(t.name.clone()));
                    }
                    let hidden = total - shown;
                    if hidden > 0 && hidden < k {
                        return Err(E::Recoverable(t.name.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&StatTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_bound() {
        let m: Month = "2026-11".parse().expect("month");
        assert_eq!(m.to_string(), "2026-11");
        assert_eq!(Month::of(m.start()), m);
        assert_eq!(Month::of(Timestamp(m.end().0 - 1)), m);
        assert_eq!(m.next().map(|n| n.to_string()).as_deref(), Some("2026-12"));
        assert_eq!(
            "2026-12".parse::<Month>().ok().and_then(Month::next),
            Month::new(2027, 1).ok()
        );
        assert_eq!(m.start(), Timestamp(1_793_491_200));
        for bad in [
            "2026-13",
            "2026-00",
            "26-11",
            "2026/11",
            "1969-12",
            "２０２６-11",
            "",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_lone_small_cell_takes_the_next_smallest_with_it() {
        let counts: Counts = [("female", 40), ("male", 30), ("other", 2)]
            .map(|(n, v)| (n.to_string(), v))
            .into();
        let t = suppress("contacts.gender", &counts, 5);
        assert_eq!(t.total, Some(72));
        assert_eq!(t.cells.keys().collect::<Vec<_>>(), ["female"]);
        assert_eq!(t.hidden(), 32);
    }
}
