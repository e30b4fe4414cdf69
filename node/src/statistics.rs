//! Published network statistics at the node: a CSO's tables of one month built from its
//! aggregates, and the network-wide picture every node assembles from the publications it
//! holds. The suppression rules themselves are the protocol's (`ilm_protocol::statistics`).

use crate::aggregates;
use crate::membership::MembershipState;
use crate::records::StoredPublication;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::statistics::{self, Counts, MIN_K, StatTable};
use ilm_protocol::{Month, OrgId, PublishedStatistics, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The contact dimensions a CSO publishes, one table each (`contacts.<dimension>`). No two
/// is a refinement of another: the corridor (origin and destination) is not published, since
/// its origin is nearly always the nationality, and the two tables together could give away
/// what each hides; the country of work is published on its own.
pub const CONTACT_DIMENSIONS: &[&str] = &[
    "channel",
    "language",
    "nationality",
    "gender",
    "age_band",
    "sector",
    "destination",
];

/// The `[statistics]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatisticsPolicy {
    /// No published count is below this (at least 5; raise it, never lower it).
    pub k: u32,
}

impl Default for StatisticsPolicy {
    fn default() -> Self {
        StatisticsPolicy { k: MIN_K }
    }
}

fn counts(cells: BTreeMap<String, i64>) -> Counts {
    cells
        .into_iter()
        .filter_map(|(name, v)| Some((name, u64::try_from(v).ok()?)))
        .collect()
}

/// This node's tables for `month`, suppressed with `k`, from its aggregates: contacts by each
/// dimension, cases opened, and cases by issue category.
pub fn tables(store: &Store, month: Month, k: u32) -> Result<Vec<StatTable>, StoreError> {
    let mut out = Vec::new();
    for dim in CONTACT_DIMENSIONS {
        let mut cells = counts(aggregates::with_prefix(
            store,
            &format!("contacts.m.{month}.{dim}."),
        )?);
        if *dim == "sector" {
            // Sectors are free text at intake (older records): only the form's codes are
            // published, anything else counted as "other".
            let mut coded = Counts::new();
            for (name, n) in cells {
                let code = if crate::intake::SECTORS.contains(&name.as_str()) {
                    name
                } else {
                    "other".to_string()
                };
                *coded.entry(code).or_default() += n;
            }
            cells = coded;
        }
        out.push(statistics::suppress(&format!("contacts.{dim}"), &cells, k));
    }
    let opened = aggregates::get(store, &format!("cases.month.{month}"))?;
    out.push(statistics::scalar(
        "cases.opened",
        u64::try_from(opened).unwrap_or(0),
        k,
    ));
    let categories = aggregates::with_prefix(store, &format!("cases.m.{month}.category."))?;
    out.push(statistics::suppress(
        "cases.category",
        &counts(categories),
        k,
    ));
    Ok(out)
}

/// The fingerprint of a month's tables as an operator reviewed them: publishing refuses when
/// the counts changed since (a contact recorded in between).
pub fn fingerprint(tables: &[StatTable]) -> ilm_protocol::Digest {
    let bytes = serde_json::to_vec(tables).unwrap_or_default();
    ilm_protocol::Digest::of(&[b"ilm/statistics-preview\n", &bytes])
}

/// Every publication held, oldest month first.
pub fn held(store: &Store) -> Result<Vec<PublishedStatistics>, StoreError> {
    Ok(store
        .scan::<StoredPublication>(&schema::PUBLICATIONS, &[])?
        .into_iter()
        .filter_map(|p| serde_json::from_slice(&p.record.body).ok())
        .collect())
}

/// The publication of `publisher` for `month`, if held.
pub fn publication(
    store: &Store,
    month: Month,
    publisher: &OrgId,
) -> Result<Option<StoredPublication>, StoreError> {
    store.get(
        &schema::PUBLICATIONS,
        &schema::publication_id(month, publisher),
    )
}

/// One published figure summed over the CSOs: `at_least` when a CSO suppressed its part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figure {
    /// The sum of what was published.
    pub value: u64,
    /// Some CSO's part was suppressed, so the true figure is higher.
    pub at_least: bool,
}

/// One table of the network-wide picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkTable {
    /// What is counted.
    pub name: String,
    /// The total over the CSOs.
    pub total: Figure,
    /// The cells over the CSOs, largest first.
    pub cells: Vec<(String, Figure)>,
}

/// A CSO that published a month, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contributor {
    /// The CSO's certified name.
    pub name: String,
    /// When it published.
    pub published_at: Timestamp,
    /// The threshold it used.
    pub k: u32,
}

/// One month of the network-wide picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkMonth {
    /// The month.
    pub month: Month,
    /// Who published it.
    pub contributors: Vec<Contributor>,
    /// The tables, in the order the publications list them.
    pub tables: Vec<NetworkTable>,
}

/// The network-wide picture: every month some CSO published, newest first. Only published
/// figures go in, so it can be shown to anyone.
pub fn network_picture(
    store: &Store,
    membership: &MembershipState,
) -> Result<Vec<NetworkMonth>, StoreError> {
    let mut months: BTreeMap<Month, Vec<PublishedStatistics>> = BTreeMap::new();
    for p in held(store)? {
        months.entry(p.month).or_default().push(p);
    }
    Ok(months
        .into_iter()
        .rev()
        .map(|(month, pubs)| {
            // No id of any kind goes to the public page: an unknown publisher has no name.
            let name_of = |org: &OrgId| {
                membership
                    .certificate(org)
                    .map_or_else(|| "—".to_string(), |c| c.name)
            };
            assemble(month, &pubs, &name_of)
        })
        .collect())
}

/// One month of the picture from its publications; `name_of` names a publisher.
fn assemble(
    month: Month,
    pubs: &[PublishedStatistics],
    name_of: &dyn Fn(&OrgId) -> String,
) -> NetworkMonth {
    let mut order: Vec<String> = Vec::new();
    let mut tables: BTreeMap<String, (Figure, BTreeMap<String, Figure>)> = BTreeMap::new();
    let mut contributors = Vec::new();
    for p in pubs {
        contributors.push(Contributor {
            name: name_of(&p.publisher),
            published_at: p.published_at,
            k: p.k,
        });
        for t in &p.tables {
            if !tables.contains_key(&t.name) {
                order.push(t.name.clone());
            }
            let (total, cells) = tables.entry(t.name.clone()).or_default();
            match t.total {
                Some(v) => total.value = total.value.saturating_add(v),
                None => total.at_least = true,
            }
            for (name, v) in &t.cells {
                let f = cells.entry(name.clone()).or_default();
                f.value = f.value.saturating_add(*v);
            }
        }
    }
    // Whatever a CSO hid may sit in any cell it did not list, whoever listed it.
    for p in pubs {
        for t in &p.tables {
            let hid = t.total.is_none() || t.hidden() > 0;
            if let Some((_, cells)) = tables.get_mut(&t.name).filter(|_| hid) {
                for (name, f) in cells.iter_mut() {
                    if !t.cells.contains_key(name) {
                        f.at_least = true;
                    }
                }
            }
        }
    }
    contributors.sort_by(|a, b| a.name.cmp(&b.name));
    NetworkMonth {
        month,
        contributors,
        tables: order
            .into_iter()
            .filter_map(|name| {
                let (total, cells) = tables.remove(&name)?;
                let mut cells: Vec<(String, Figure)> = cells.into_iter().collect();
                cells.sort_by(|a, b| b.1.value.cmp(&a.1.value).then(a.0.cmp(&b.0)));
                Some(NetworkTable { name, total, cells })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(seed: u8, gender: &[(&str, u64)]) -> PublishedStatistics {
        let counts: Counts = gender.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        let month: Month = "2026-10".parse().expect("month");
        PublishedStatistics {
            network_id: ilm_protocol::NetworkId([1; 16]),
            publisher: ilm_protocol::OrgKeys::from_secret_bytes([seed; 32], [seed; 32]).org_id(),
            month,
            k: MIN_K,
            published_at: month.end(),
            tables: vec![statistics::suppress("contacts.gender", &counts, MIN_K)],
        }
    }

    #[test]
    fn the_picture_sums_what_was_published_and_marks_what_was_hidden() {
        let a = publication(1, &[("female", 40), ("male", 30), ("other", 2)]);
        let b = publication(2, &[("female", 6), ("male", 9)]);
        let month = a.month;
        let m = assemble(month, &[a, b], &|o: &OrgId| o.short());
        assert_eq!(m.contributors.len(), 2);
        let t = &m.tables[0];
        assert_eq!(t.name, "contacts.gender");
        assert_eq!(
            t.total,
            Figure {
                value: 87,
                at_least: false
            }
        );
        let cell = |n: &str| t.cells.iter().find(|(c, _)| c == n).map(|(_, f)| f.clone());
        // The first CSO hid male and other: its male count is not in the sum.
        assert_eq!(
            cell("female"),
            Some(Figure {
                value: 46,
                at_least: false
            })
        );
        assert_eq!(
            cell("male"),
            Some(Figure {
                value: 9,
                at_least: true
            })
        );
        assert_eq!(cell("other"), None);
    }

    #[test]
    fn the_policy_defaults_to_the_protocol_minimum() {
        assert_eq!(StatisticsPolicy::default().k, MIN_K);
    }
}
