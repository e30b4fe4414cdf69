//! A brand's cells per day and per month are kept one record per unit (an organisation's
//! day or month, its day or month of one facet, or its cells of a set of facets), never a
//! record per cell; a store of an
//! earlier release, which kept them per cell, has them moved at its next start, with the
//! same counts.

use super::scorecards::scored_brand;
use super::*;
use crate::aggregates::{self, report_days, report_facets, units};

/// The cells of `store` kept one record each that belong in a unit.
fn apart(store: &Store) -> Vec<String> {
    store
        .scan_with_ids::<i64>(&schema::AGGREGATES)
        .expect("cells")
        .into_iter()
        .map(|(id, _)| String::from_utf8_lossy(&id).into_owned())
        .filter(|k| units::split(k).is_some())
        .collect()
}

#[test]
fn cells_per_day_and_month_are_one_record_a_unit_and_an_earlier_layout_moves_at_start() {
    let b = scored_brand();
    let held = aggregates::held(&b.store).expect("held");
    let in_units: Vec<&String> = held.keys().filter(|k| units::split(k).is_some()).collect();
    // The control: the brand counts cells of days and months, its own and of each facet,
    // read as the others are.
    for prefix in [
        report_days::PREFIX,
        report_days::MONTH_PREFIX,
        report_facets::DAY_PREFIX,
        report_facets::MONTH_PREFIX,
        crate::aggregates::report_pairs::PREFIX,
    ] {
        assert!(
            in_units.iter().any(|k| k.starts_with(prefix)),
            "{prefix}: {in_units:?}"
        );
    }
    assert!(apart(&b.store).is_empty(), "{:?}", apart(&b.store));
    let records = b.store.count(&schema::AGGREGATE_UNITS).expect("count");
    assert!(
        records > 0 && records < in_units.len(),
        "{records} records for {} cells",
        in_units.len()
    );
    // Each cell read alone, as a unit's record holds it.
    for k in &in_units {
        assert_eq!(aggregates::get(&b.store, k).expect("get"), held[*k], "{k}");
    }
    assert_eq!(
        aggregates::held(&b.store).expect("held"),
        aggregates::recount(&b.store, &mut |_| {})
            .expect("recount")
            .into_cells()
    );

    // As an earlier release left the store: every cell a record of its own, counted at a
    // version before this one's cells.
    let mut batch = WriteBatch::new();
    for id in b
        .store
        .ids_prefixed(&schema::AGGREGATE_UNITS, &[], usize::MAX)
        .expect("units")
        .expect("fewer than the maximum")
    {
        batch.remove(&schema::AGGREGATE_UNITS, &id);
    }
    for k in &in_units {
        batch
            .put(&schema::AGGREGATES, k.as_bytes(), &held[*k])
            .expect("put");
    }
    batch
        .put(
            &schema::AGGREGATES,
            aggregates::BUILT.as_bytes(),
            &(aggregates::CELLS_SINCE - 1),
        )
        .expect("put");
    b.store.commit(batch).expect("commit");
    assert_eq!(apart(&b.store).len(), in_units.len());
    assert!(aggregates::ensure_built(&b.store).expect("recounted"));
    assert!(apart(&b.store).is_empty(), "moved into units");
    assert_eq!(
        b.store.count(&schema::AGGREGATE_UNITS).expect("count"),
        records
    );
    assert_eq!(aggregates::held(&b.store).expect("held"), held);
}
