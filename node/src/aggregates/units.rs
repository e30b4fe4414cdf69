//! Where the cells of one unit (at a brand, an organisation's day or month, `report_days`,
//! or its day or month of one category, sector or corridor, `report_facets`) are kept: in
//! one record holding each cell's name after the unit's prefix and its count, instead of a
//! record per cell. A unit's cells are always read together, and each repeats the unit's
//! long prefix (the organisation's id), so apart they cost the store a key of about a
//! hundred bytes and the engine's overhead per key for a count of a few bytes. Everything
//! above this module still names cells in full (`Cells`): only the store's layout differs,
//! so a recount compares as before.

use super::Cells;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use std::collections::BTreeMap;

/// The prefixes of the cells kept per unit, each with the number of names that follow it
/// to name a unit, each ending with a dot: the organisation's id and the day or month, or
/// its id, a facet and the day or month (none of those, the id in hex, holds a dot).
const KEPT: [(&str, usize); 4] = [
    (super::report_days::PREFIX, 2),
    (super::report_days::MONTH_PREFIX, 2),
    (super::report_facets::DAY_PREFIX, 3),
    (super::report_facets::MONTH_PREFIX, 3),
];

/// A cell name split into its unit's record (the name up to the unit's dot, included) and
/// the cell's name in it, when the cell is kept in a unit.
pub(super) fn split(name: &str) -> Option<(&str, &str)> {
    let (prefix, names) = KEPT.iter().find(|(p, _)| name.starts_with(*p))?;
    let mut end = prefix.len();
    for _ in 0..*names {
        end += name[end..].find('.')? + 1;
    }
    Some(name.split_at(end))
}

/// Changes to units' cells, by unit, then by the cell's name in it.
#[derive(Default)]
pub(super) struct Changes(BTreeMap<String, Cells>);

impl Changes {
    /// Adds `n` to the cell `name` of `unit`.
    pub(super) fn add(&mut self, unit: &str, name: &str, n: i64) {
        let cells = self.0.entry(unit.to_string()).or_default();
        *cells.entry(name.to_string()).or_default() += n;
    }

    /// Puts each changed unit's new cells into `batch`, reading what `store` holds (a unit
    /// left with no cell is removed).
    pub(super) fn stage(self, store: &Store, batch: &mut WriteBatch) -> Result<(), StoreError> {
        for (unit, changes) in self.0 {
            let mut cells: Cells = store
                .get(&schema::AGGREGATE_UNITS, unit.as_bytes())?
                .unwrap_or_default();
            for (name, d) in changes {
                let sum = cells.get(&name).copied().unwrap_or(0).saturating_add(d);
                if sum == 0 {
                    cells.remove(&name);
                } else {
                    cells.insert(name, sum);
                }
            }
            if cells.is_empty() {
                batch.remove(&schema::AGGREGATE_UNITS, unit.as_bytes());
            } else {
                batch.put(&schema::AGGREGATE_UNITS, unit.as_bytes(), &cells)?;
            }
        }
        Ok(())
    }
}

/// The cells of units whose names start with `prefix`, keyed by the rest of the name: the
/// one unit `prefix` falls in, or every unit it starts.
pub(super) fn with_prefix(store: &Store, prefix: &str) -> Result<Cells, StoreError> {
    let mut out = Cells::new();
    if let Some((unit, within)) = split(prefix) {
        let cells: Cells = store
            .get(&schema::AGGREGATE_UNITS, unit.as_bytes())?
            .unwrap_or_default();
        for (name, n) in cells {
            if let Some(rest) = name.strip_prefix(within) {
                out.insert(rest.to_string(), n);
            }
        }
        return Ok(out);
    }
    for (id, cells) in store.scan_with_ids_prefixed(&schema::AGGREGATE_UNITS, prefix.as_bytes())? {
        let unit = String::from_utf8_lossy(&id);
        let Some(rest) = unit.strip_prefix(prefix) else {
            continue;
        };
        for (name, n) in cells {
            out.insert(format!("{rest}{name}"), n);
        }
    }
    Ok(out)
}

/// The units from `lower` (in) to `upper` (out), each with its cells.
pub(super) fn between(
    store: &Store,
    lower: &str,
    upper: &str,
) -> Result<Vec<(String, Cells)>, StoreError> {
    Ok(store
        .entries_between(&schema::AGGREGATE_UNITS, lower.as_bytes(), upper.as_bytes())?
        .into_iter()
        .map(|(id, cells)| (String::from_utf8_lossy(&id).into_owned(), cells))
        .collect())
}

/// Writes `cells` (every cell kept in a unit, named in full) into a store holding no unit,
/// in batches of `chunk` units.
pub(super) fn write<'a>(
    store: &Store,
    cells: impl Iterator<Item = (&'a String, &'a i64)>,
    chunk: usize,
) -> Result<(), StoreError> {
    let mut units: BTreeMap<&str, Cells> = BTreeMap::new();
    for (name, n) in cells {
        if let Some((unit, within)) = split(name) {
            units
                .entry(unit)
                .or_default()
                .insert(within.to_string(), *n);
        }
    }
    let units: Vec<_> = units.into_iter().collect();
    for part in units.chunks(chunk.max(1)) {
        let mut batch = WriteBatch::new();
        for (unit, cells) in part {
            batch.put(&schema::AGGREGATE_UNITS, unit.as_bytes(), cells)?;
        }
        store.commit(batch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day's or a month's cell splits after its unit; others, and names cut short, do not.
    #[test]
    fn a_cell_splits_after_its_unit() {
        let org = "ab".repeat(32);
        let day = format!("reportday.{org}.000000000020454.ack.003");
        assert_eq!(
            split(&day),
            Some((
                format!("reportday.{org}.000000000020454.").as_str(),
                "ack.003"
            ))
        );
        let month = format!("reportmonth.{org}.2026-01.due.000000000020454");
        assert_eq!(
            split(&month),
            Some((
                format!("reportmonth.{org}.2026-01.").as_str(),
                "due.000000000020454"
            ))
        );
        assert_eq!(
            split(&format!("reportday.{org}.000000000020454.")),
            Some((format!("reportday.{org}.000000000020454.").as_str(), ""))
        );
        assert_eq!(split(&format!("reportday.{org}.")), None);
        assert_eq!(split(&format!("reportday.{org}")), None);
        assert_eq!(split(&format!("report.{org}.month.2026-01")), None);
        assert_eq!(split(&format!("reportby.{org}.sector:garment.open")), None);
        let facet_day = format!("reportbyday.{org}.sector:garment.000000000020454.open");
        assert_eq!(
            split(&facet_day),
            Some((
                format!("reportbyday.{org}.sector:garment.000000000020454.").as_str(),
                "open"
            ))
        );
        let facet_month = format!("reportbymonth.{org}.corridor:MM-TH.2026-01.ack.001");
        assert_eq!(
            split(&facet_month),
            Some((
                format!("reportbymonth.{org}.corridor:MM-TH.2026-01.").as_str(),
                "ack.001"
            ))
        );
        assert_eq!(split(&format!("reportbyday.{org}.sector:garment.")), None);
        assert_eq!(split("cases.month.2026-01"), None);
    }
}
