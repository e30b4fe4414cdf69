//! What each role's dashboard counts, as codes (the dashboard translates them): a CSO's
//! intake picture, a responding party's work due, a brand's supply chain (the same numbers
//! as its supply-chain page) and a steward's register.

use crate::aggregates::{self, year_month};
use crate::intake::LocalCase;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{OrgId, Timestamp};
use std::collections::BTreeMap;

/// One number with where to see its rows.
pub struct Tile {
    /// Catalogue key of its label.
    pub key: &'static str,
    /// The value, formatted.
    pub value: String,
    /// The list that shows what it counts.
    pub href: Option<&'static str>,
}

/// How a series' labels are translated.
pub enum Labels {
    /// `prefix_code` catalogue keys.
    Prefix(&'static str),
    /// `ORIGIN→DESTINATION` country codes.
    Corridor,
    /// Shown as they are (names, months).
    Plain,
}

/// One chart's data.
pub struct Series {
    /// Catalogue key of its title.
    pub key: &'static str,
    /// Catalogue key of its unit.
    pub unit: &'static str,
    /// How to translate the labels.
    pub labels: Labels,
    /// Label, value and whether the period is still running.
    pub rows: Vec<(String, u64, bool)>,
    /// A month series.
    pub time: bool,
}

/// A dashboard: numbers, then charts.
pub struct Dashboard {
    /// The numbers.
    pub tiles: Vec<Tile>,
    /// The charts.
    pub charts: Vec<Series>,
    /// How fast parties answered, month by month (a CSO's; empty for the other roles).
    pub response_times: Vec<MonthTimes>,
    /// Each organisation with open cases in which it owes something overdue, and how many
    /// (a CSO's; empty for the other roles), most first.
    pub overdue_by_party: Vec<(OrgId, u64)>,
}

/// How fast parties answered the escalations of one month: days to acknowledge (by the
/// month escalated) and to report remediation (by the month first escalated).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MonthTimes {
    /// `YYYY-MM`.
    pub month: String,
    /// Acknowledgements counted.
    pub acknowledged: u64,
    /// Median and 90th percentile of the days to acknowledge.
    pub ack_median: String,
    /// See `ack_median`.
    pub ack_p90: String,
    /// Remediations reported.
    pub reported: u64,
    /// Median and 90th percentile of the days to report remediation.
    pub remediate_median: String,
    /// See `remediate_median`.
    pub remediate_p90: String,
}

/// Months shown in the response-time table.
const TIME_MONTHS: usize = 12;

/// The response-time table of the last [`TIME_MONTHS`] months with answers, newest first,
/// from the aggregates' per-month day histograms.
fn response_times(store: &Store) -> Result<Vec<MonthTimes>, StoreError> {
    let ack = aggregates::by_month(&aggregates::with_prefix(store, "ack.days.")?);
    let rem = aggregates::by_month(&aggregates::with_prefix(store, "remediated.days.")?);
    let months: std::collections::BTreeSet<&String> = ack.keys().chain(rem.keys()).collect();
    let empty = BTreeMap::new();
    let count =
        |h: &BTreeMap<String, i64>| h.values().map(|n| u64::try_from(*n).unwrap_or(0)).sum();
    Ok(months
        .into_iter()
        .rev()
        .take(TIME_MONTHS)
        .map(|m| {
            let (a, r) = (ack.get(m).unwrap_or(&empty), rem.get(m).unwrap_or(&empty));
            MonthTimes {
                month: m.clone(),
                acknowledged: count(a),
                ack_median: days(aggregates::median_days(a)),
                ack_p90: days(aggregates::quantile_days(a, 0.9)),
                reported: count(r),
                remediate_median: days(aggregates::median_days(r)),
                remediate_p90: days(aggregates::quantile_days(r, 0.9)),
            }
        })
        .collect())
}

const DAY: u64 = 86_400;

/// Counts per month from the earliest month (at most 24 months back) to the current one,
/// every month present (zero when empty), the current one marked partial.
pub fn month_series(
    times: impl Iterator<Item = Timestamp>,
    now: Timestamp,
) -> Vec<(String, u64, bool)> {
    let mut months: BTreeMap<String, u64> = BTreeMap::new();
    for t in times {
        *months.entry(crate::aggregates::month(t)).or_default() += 1;
    }
    month_rows(&months, now)
}

/// Like [`month_series`], from counts already made per `YYYY-MM` month.
pub fn month_rows(months: &BTreeMap<String, u64>, now: Timestamp) -> Vec<(String, u64, bool)> {
    let (ny, nm) = year_month(now);
    let index = |(y, m): (i64, i64)| y * 12 + (m - 1);
    let current = index((ny, nm));
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    for (label, n) in months {
        let Some((y, m)) = label
            .split_once('-')
            .and_then(|(y, m)| Some((y.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
        else {
            continue;
        };
        let i = index((y, m));
        if i <= current && current - i < 24 {
            *counts.entry(i).or_default() += n;
        }
    }
    let Some(first) = counts.keys().next().copied() else {
        return Vec::new();
    };
    (first..=current)
        .map(|i| {
            (
                format!("{:04}-{:02}", i.div_euclid(12), i.rem_euclid(12) + 1),
                counts.get(&i).copied().unwrap_or(0),
                i == current,
            )
        })
        .collect()
}

fn top(map: BTreeMap<String, u64>, n: usize) -> Vec<(String, u64, bool)> {
    let mut v: Vec<(String, u64)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v.into_iter().map(|(k, n)| (k, n, false)).collect()
}

fn count<S: AsRef<str>>(codes: impl Iterator<Item = S>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for c in codes {
        *m.entry(c.as_ref().to_string()).or_default() += 1;
    }
    m
}

/// The snake_case code of a serialised enum.
fn code<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Issues by category, the ten most frequent.
fn by_category<'a>(
    unit: &'static str,
    categories: impl Iterator<Item = &'a ilm_protocol::IssueCategory>,
) -> Series {
    category_series(unit, count(categories.map(|c| c.code())))
}

/// The chart of issue categories, from counts per category code.
fn category_series(unit: &'static str, counts: BTreeMap<String, u64>) -> Series {
    Series {
        key: "issues_by_category",
        unit,
        labels: Labels::Prefix("cat"),
        rows: top(counts, 10),
        time: false,
    }
}

fn days(d: Option<f64>) -> String {
    d.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into())
}

fn tile(key: &'static str, value: impl ToString, href: Option<&'static str>) -> Tile {
    Tile {
        key,
        value: value.to_string(),
        href,
    }
}

/// The counts of one aggregate family as chart rows (negative sums cannot happen; read as 0).
fn cells(store: &Store, prefix: &str) -> Result<BTreeMap<String, u64>, StoreError> {
    Ok(aggregates::with_prefix(store, prefix)?
        .into_iter()
        .map(|(k, v)| (k, u64::try_from(v).unwrap_or(0)))
        .collect())
}

/// The open and overdue tiles, counted as the case list counts them, from the aggregates and
/// the due-date index: open cases are those not closed, escalated or only opened here (a
/// CSO's); overdue ones owe something dated before now. Also how many are only opened here.
fn list_tiles(
    store: &Store,
    local: &[LocalCase],
    now: Timestamp,
) -> Result<(Tile, Tile, u64), StoreError> {
    let count_of = |cell: &str| aggregates::get(store, cell).map(|v| u64::try_from(v).unwrap_or(0));
    let mut only_here = 0u64;
    for l in local {
        only_here += u64::from(!store.contains(&schema::CASE_STATES, l.case_ref.as_bytes())?);
    }
    let escalated_open = count_of("cases")?.saturating_sub(count_of("cases.status.closed")?);
    Ok((
        tile("open_cases", escalated_open + only_here, Some("/cases")),
        tile(
            "overdue_items",
            aggregates::due::overdue(store, now)?,
            Some("/cases?overdue=true"),
        ),
        only_here,
    ))
}

/// A CSO: contacts, cases and how fast parties answer and remediate. Every figure comes from
/// the incremental aggregates and the due-date index (no scan of contacts or case states),
/// counted as the case list counts: open cases are those not closed, escalated or only
/// opened here; overdue ones owe something dated before now. The median times are in whole
/// days (the aggregates keep day histograms).
pub fn cso(store: &Store, now: Timestamp) -> Result<Dashboard, StoreError> {
    let count_of = |cell: &str| aggregates::get(store, cell).map(|v| u64::try_from(v).unwrap_or(0));
    let reported = count_of("cases.reported")?;
    let verified = count_of("cases.reported_confirmed")?;
    let local: Vec<LocalCase> = store.scan(&schema::LOCAL_CASES, &[])?;
    let (open, overdue, only_here) = list_tiles(store, &local, now)?;
    let mut by_status = cells(store, "cases.status.")?;
    if only_here > 0 {
        *by_status.entry("open".into()).or_default() += only_here;
    }
    let share = (verified.min(reported) * 100)
        .checked_div(reported)
        .map_or_else(|| "—".into(), |p| format!("{p}%"));
    let corridors: BTreeMap<String, u64> = cells(store, "contacts.corridor.")?
        .into_iter()
        .map(|(k, v)| (k.replacen('-', "→", 1), v))
        .collect();
    let months: BTreeMap<String, u64> = cells(store, "contacts.month.")?;
    Ok(Dashboard {
        tiles: vec![
            tile("contacts_total", count_of("contacts")?, Some("/contacts")),
            open,
            overdue,
            tile("remediated", count_of("cases.remediated")?, None),
            tile(
                "median_ack",
                days(aggregates::median_days(&aggregates::with_prefix(
                    store,
                    "ack.days.",
                )?)),
                None,
            ),
            tile(
                "median_remediate",
                days(aggregates::median_days(&aggregates::with_prefix(
                    store,
                    "remediated.days.",
                )?)),
                None,
            ),
            tile("share_verified", share, None),
        ],
        charts: vec![
            Series {
                key: "contacts_by_month",
                unit: "unit_contacts",
                labels: Labels::Plain,
                rows: month_rows(&months, now),
                time: true,
            },
            by_category(
                "unit_issues",
                local
                    .iter()
                    .flat_map(|l| l.issues.iter().map(|i| &i.category)),
            ),
            Series {
                key: "by_corridor",
                unit: "unit_contacts",
                labels: Labels::Corridor,
                rows: top(corridors, 8),
                time: false,
            },
            Series {
                key: "by_channel",
                unit: "unit_contacts",
                labels: Labels::Prefix("channel"),
                rows: top(cells(store, "contacts.channel.")?, 8),
                time: false,
            },
            Series {
                key: "by_language",
                unit: "unit_contacts",
                labels: Labels::Prefix("lang"),
                rows: top(cells(store, "contacts.language.")?, 8),
                time: false,
            },
            Series {
                key: "by_nationality",
                unit: "unit_contacts",
                labels: Labels::Prefix("country"),
                rows: top(cells(store, "contacts.nationality.")?, 8),
                time: false,
            },
            Series {
                key: "by_gender",
                unit: "unit_contacts",
                labels: Labels::Prefix("gender"),
                rows: top(cells(store, "contacts.gender.")?, 8),
                time: false,
            },
            Series {
                key: "by_age_band",
                unit: "unit_contacts",
                labels: Labels::Prefix("age"),
                rows: top(cells(store, "contacts.age_band.")?, 8),
                time: false,
            },
            Series {
                key: "by_sector",
                unit: "unit_contacts",
                labels: Labels::Plain,
                rows: top(cells(store, "contacts.sector.")?, 8),
                time: false,
            },
            Series {
                key: "cases_by_status",
                unit: "unit_cases",
                labels: Labels::Prefix("status"),
                rows: top(by_status, 13),
                time: false,
            },
        ],
        response_times: response_times(store)?,
        overdue_by_party: aggregates::due::overdue_by_party(store, now)?,
    })
}

/// A supplier, agency or labour office: what it must answer or remediate, and how fast. Its
/// open and overdue cases come from the aggregates as the list counts them; its own figures
/// from its cells (`aggregates::party`) and its due-date list, not from every case.
pub fn responder(store: &Store, me: &OrgId, now: Timestamp) -> Result<Dashboard, StoreError> {
    let f = aggregates::party::figures(store, me)?;
    let this_week = aggregates::due::owed_within(store, me, now, 7 * DAY)?;
    // Only a CSO opens cases before escalating them.
    let (open, overdue, _) = list_tiles(store, &[], now)?;
    Ok(Dashboard {
        tiles: vec![
            tile("to_answer", f.owes_ack, Some("/inbox")),
            tile("due_this_week", this_week, Some("/cases?sort=due")),
            overdue,
            open,
            tile(
                "median_ack",
                days(aggregates::median_days(&f.ack_days)),
                None,
            ),
            tile("remediated", f.remediated, None),
        ],
        charts: vec![
            Series {
                key: "escalations_by_month",
                unit: "unit_cases",
                labels: Labels::Plain,
                rows: month_rows(&f.months, now),
                time: true,
            },
            Series {
                key: "cases_by_stage",
                unit: "unit_cases",
                labels: Labels::Prefix("status"),
                rows: top(f.stages, 12),
                time: false,
            },
            category_series("unit_cases", f.categories),
        ],
        response_times: Vec::new(),
        overdue_by_party: Vec::new(),
    })
}

/// A brand: its supply chain, counted as its Supply chain page (`comparison`, unnarrowed)
/// and its case list count it: where the brand holds only cases known from status reports,
/// from its report cells (`aggregates::reports`): its cases each once (a case escalated to a
/// supplier and to its agency has a report of each), open and overdue, by status (as the
/// newest report says) and by category; else (it was escalated to too) open and overdue
/// from every case row, as the list builds them. Its cases and verified attestations per
/// organisation from the comparison.
pub fn brand(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    comparison: &crate::scorecard::Comparison,
) -> Result<Dashboard, StoreError> {
    use aggregates::chain;
    let verified: u64 = comparison
        .parties
        .iter()
        .map(|(_, c)| c.attestations_verified)
        .sum();
    let escalated_to_us = crate::inbox::count(store, me)?;
    let suppliers = comparison
        .parties
        .iter()
        .filter(|(p, _)| p.role == ilm_protocol::Role::Supplier)
        .count();
    let (open, overdue) = if crate::worklist::reported::reported_only(store)? {
        let (_, open) = chain::case_totals(store, None)?;
        (open, chain::cases_overdue(store, now)?)
    } else {
        let rows = crate::worklist::rows(store, membership, me, now)?;
        (
            rows.iter().filter(|r| !r.closed).count() as u64,
            rows.iter().filter(|r| r.overdue).count() as u64,
        )
    };
    let mut by_supplier = BTreeMap::new();
    for (p, c) in &comparison.parties {
        by_supplier.insert(
            p.name.clone().unwrap_or_else(|| p.supplier.short()),
            c.cases,
        );
    }
    Ok(Dashboard {
        tiles: vec![
            tile("linked_suppliers", suppliers, Some("/supply-chain")),
            tile("open_cases", open, Some("/cases")),
            tile("overdue_items", overdue, Some("/cases?overdue=true")),
            tile("verified_attestations", verified, Some("/supply-chain")),
            tile("escalations_to_us", escalated_to_us, Some("/inbox")),
        ],
        charts: vec![
            Series {
                key: "supply_chain_by_status",
                unit: "unit_cases",
                labels: Labels::Prefix("status"),
                rows: top(cells(store, &format!("{}status.", chain::CASES))?, 13),
                time: false,
            },
            category_series(
                "unit_cases",
                cells(store, &format!("{}category.", chain::CASES))?,
            ),
            Series {
                key: "cases_by_supplier",
                unit: "unit_cases",
                labels: Labels::Plain,
                rows: top(by_supplier, 10),
                time: false,
            },
        ],
        response_times: Vec::new(),
        overdue_by_party: Vec::new(),
    })
}

/// A steward: the register.
pub fn steward(
    membership: &MembershipState,
    store: &Store,
    now: Timestamp,
) -> Result<Dashboard, crate::register::RegisterError> {
    let rows = crate::register::list(&membership.network(), store, now)?;
    let expiring = rows
        .iter()
        .filter(|m| !m.revoked && m.not_after.0 <= now.0 + 30 * DAY)
        .count();
    let current: Vec<_> = rows
        .iter()
        .filter(|m| !m.revoked && m.not_after >= now)
        .collect();
    Ok(Dashboard {
        tiles: vec![
            tile("members_current", current.len(), Some("/members")),
            tile("expiring_certificates", expiring, Some("/members")),
            tile(
                "members_revoked",
                rows.iter().filter(|m| m.revoked).count(),
                Some("/members"),
            ),
        ],
        charts: vec![Series {
            key: "members_by_role",
            unit: "unit_members",
            labels: Labels::Prefix("role"),
            rows: top(count(current.iter().map(|m| code(m.role))), 6),
            time: false,
        }],
        response_times: Vec::new(),
        overdue_by_party: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_series_keeps_every_month_and_marks_the_current_one() {
        let day = |y: i64, m: i64, d: i64| {
            // Days from the civil date (inverse of year_month), enough for the test.
            let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
            let era = y.div_euclid(400);
            let yoe = y - era * 400;
            let doy = (153 * m + 2) / 5 + d - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            Timestamp(((era * 146_097 + doe - 719_468) * 86_400) as u64)
        };
        let now = day(2026, 12, 2);
        let times = [
            day(2025, 12, 15),
            day(2025, 12, 20),
            day(2026, 3, 1),
            day(2026, 12, 1),
        ];
        let s = month_series(times.into_iter(), now);
        assert_eq!(s.len(), 13, "Dec 2025 to Dec 2026, none dropped: {s:?}");
        assert_eq!(s[0], ("2025-12".to_string(), 2, false));
        assert_eq!(
            s[1],
            ("2026-01".to_string(), 0, false),
            "empty months shown"
        );
        assert_eq!(
            s[12],
            ("2026-12".to_string(), 1, true),
            "current month partial"
        );
        assert!(month_series(std::iter::empty(), now).is_empty());
    }
}
