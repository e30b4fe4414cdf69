//! Where the cells of one unit (at a brand, an organisation's day or month, `report_days`;
//! its day or month of one category, sector or corridor, `report_facets`; its cells of two
//! or three of those together, `report_pairs`) are kept: in
//! one record holding each cell's name after the unit's prefix and its count, instead of a
//! record per cell. A unit's cells are always read together, and each repeats the unit's
//! long prefix (the organisation's id), so apart they cost the store a key of about a
//! hundred bytes and the engine's overhead per key for a count of a few bytes. Everything
//! above this module names cells in full (`Cells`), but a recount, which holds them all
//! at once, holds them by unit too (`tally`): only the store's layout differs, and a
//! recount named in full compares as before.

use super::Cells;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use std::collections::BTreeMap;

/// The prefixes of the cells kept per unit, each with the number of names that follow it
/// to name a unit, each ending with a dot: the organisation's id and the day or month, its
/// id, a facet and the day or month, or its id and a set of facets (none of those, the id
/// in hex, holds a dot).
const KEPT: [(&str, usize); 5] = [
    (super::report_days::PREFIX, 2),
    (super::report_days::MONTH_PREFIX, 2),
    (super::report_facets::DAY_PREFIX, 3),
    (super::report_facets::MONTH_PREFIX, 3),
    (super::report_pairs::PREFIX, 2),
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

    /// Refuses changes to stage into a batch that writes units already (see [`Self::stage`]).
    pub(super) fn check(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if !self.0.is_empty() && batch.touches(&schema::AGGREGATE_UNITS) {
            return Err(super::staged_twice(&schema::AGGREGATE_UNITS));
        }
        Ok(())
    }

    /// Puts each changed unit's new cells into `batch`, reading what `store` holds (a unit
    /// left with no cell is removed). Refused when `batch` writes units already: what it
    /// holds of a unit is read from the store, so a second staging would write over the
    /// first one's changes.
    pub(super) fn stage(self, store: &Store, batch: &mut WriteBatch) -> Result<(), StoreError> {
        self.check(batch)?;
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
    // Most prefixes read (`report.`, `chain.`, `cases.`) name no unit: no read of the table.
    if !KEPT
        .iter()
        .any(|(p, _)| p.starts_with(prefix) || prefix.starts_with(p))
    {
        return Ok(out);
    }
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

/// Writes `units` (each unit's name and its cells) into a store holding no unit, committing
/// once a batch holds `chunk` cells or more.
pub(super) fn write(
    store: &Store,
    units: &BTreeMap<String, Cells>,
    chunk: usize,
) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    let mut in_batch = 0usize;
    for (unit, cells) in units {
        batch.put(&schema::AGGREGATE_UNITS, unit.as_bytes(), cells)?;
        in_batch += cells.len();
        if in_batch >= chunk.max(1) {
            store.commit(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    store.commit(batch)
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
        let pair = format!("reportbypair.{org}.sector:garment+corridor:MM-TH.month.2026-01");
        assert_eq!(
            split(&pair),
            Some((
                format!("reportbypair.{org}.sector:garment+corridor:MM-TH.").as_str(),
                "month.2026-01"
            ))
        );
        assert_eq!(split(&format!("reportbypair.{org}.sector:garment")), None);
        assert_eq!(split("cases.month.2026-01"), None);
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::schema::open(&dir.path().join("db")).expect("store");
        (dir, store)
    }

    /// A second staging of units into one batch is refused (it would write over the first
    /// one's changes, each read from the store); one staging per batch counts both.
    #[test]
    fn units_are_staged_once_per_batch() {
        let (_dir, store) = store();
        let unit = format!("reportday.{}.000000000020454.", "ab".repeat(32));
        let changes = |n: i64| {
            let mut c = Changes::default();
            c.add(&unit, "cases", n);
            c
        };
        let mut batch = WriteBatch::new();
        changes(2).stage(&store, &mut batch).expect("first");
        let err = changes(3).stage(&store, &mut batch).expect_err("second");
        assert!(err.to_string().contains("staged twice"), "{err}");
        // Nothing to change stages nothing, and is not refused.
        Changes::default().stage(&store, &mut batch).expect("empty");
        store.commit(batch).expect("commit");
        assert_eq!(with_prefix(&store, &unit).expect("read")["cases"], 2);
        let mut batch = WriteBatch::new();
        let mut both = changes(3);
        both.add(&unit, "cases", 4);
        both.stage(&store, &mut batch).expect("once");
        store.commit(batch).expect("commit");
        assert_eq!(with_prefix(&store, &unit).expect("read")["cases"], 9);
    }

    /// A second staging of aggregates into one batch is refused before it stages anything,
    /// whether its cells are kept a record each or per unit; the first one's are written.
    #[test]
    fn aggregates_are_staged_once_per_batch() {
        let (_dir, store) = store();
        let in_unit = format!("reportday.{}.000000000020454.cases", "ab".repeat(32));
        let pending = |name: &str| {
            let mut p = super::super::Pending::new();
            p.add(&Cells::from([(name.to_string(), 1)]));
            p
        };
        for name in ["cases", in_unit.as_str()] {
            let mut batch = WriteBatch::new();
            pending(name).stage(&store, &mut batch).expect("first");
            let staged = batch.len();
            let err = pending(name).stage(&store, &mut batch).expect_err("second");
            assert!(err.to_string().contains("staged twice"), "{err}");
            assert_eq!(batch.len(), staged, "{name}: nothing more staged");
            store.commit(batch).expect("commit");
            assert_eq!(crate::aggregates::get(&store, name).expect("read"), 1);
        }
        // A unit staged, then cells of both kinds: the plain cells are not staged either.
        let mut batch = WriteBatch::new();
        pending(&in_unit).stage(&store, &mut batch).expect("first");
        let staged = batch.len();
        let mut both = pending("cases");
        both.add(&Cells::from([(in_unit.clone(), 1)]));
        assert!(both.stage(&store, &mut batch).is_err());
        assert_eq!(batch.len(), staged, "nothing more staged");
    }

    /// Written a few cells a batch, every unit's cells are written whole, each unit once,
    /// and cells kept a record each are left to the caller.
    #[test]
    fn cells_written_a_few_a_batch_make_whole_units() {
        let (_dir, store) = store();
        let org = "cd".repeat(32);
        let mut cells = Cells::new();
        for day in 20_450..20_460u64 {
            for (name, n) in [("cases", 3), ("open", 1), ("ack.002", 2)] {
                cells.insert(format!("reportday.{org}.{day:015}.{name}"), n);
            }
        }
        cells.insert(format!("reportmonth.{org}.2026-01.cases"), 30);
        cells.insert(format!("report.{org}.cases"), 30);
        let tally: super::super::Tally = cells.clone().into_iter().collect();
        write(&store, tally.by_unit(), 4).expect("write");
        assert_eq!(store.count(&schema::AGGREGATE_UNITS).expect("count"), 11);
        let mut held = with_prefix(&store, "").expect("read");
        assert_eq!(held.len(), 31);
        held.insert(format!("report.{org}.cases"), 30);
        assert_eq!(held, cells);
    }
}
