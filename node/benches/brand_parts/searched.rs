//! A brand's case list searched and filtered (`worklist/chain.rs`), each query answered
//! from the case lists, checked against the same query answered from every report's row,
//! then timed against it.

use super::compacted::Brand;
use super::{Paired, paired};
use anyhow::{Context, Result};
use ilm_node::store::Store;
use ilm_node::worklist;
use ilm_protocol::OrgId;

/// How a category is labelled in the rows compared.
pub fn label(c: ilm_protocol::IssueCategory) -> String {
    c.code().to_string()
}

/// A query answered from the case lists, timed against the same answered from every
/// report's row.
pub fn listed_against_read(store: &Store, on: &Brand, q: &worklist::CaseQuery) -> Result<Paired> {
    paired(
        on.runs,
        || {
            worklist::list(store, on.membership, on.me, on.until, q, &label)?;
            Ok(())
        },
        || {
            let all_rows = worklist::rows(store, on.membership, on.me, on.until)?;
            worklist::select(all_rows, q, &label)?;
            Ok(())
        },
    )
}

/// Each query's row (what it is, how many cases it finds, its times), `supplier` (named
/// `name`) the one some of them narrow to.
pub fn lists(
    store: &Store,
    on: &Brand,
    supplier: &OrgId,
    name: &str,
) -> Result<Vec<(&'static str, String, Paired)>> {
    // Searched and filtered lists (`worklist/chain.rs`), each against the same query
    // answered from every report's row, after checking the page agrees (and the total, or
    // with `more` that it is a lower bound of it).
    let common_category = ilm_node::aggregates::with_prefix(store, "chain.category.")?
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(c, _)| c)
        .context("a category")?;
    let supplier = supplier.to_string();
    let q = |f: &dyn Fn(&mut worklist::CaseQuery)| {
        let mut query = worklist::CaseQuery::default();
        f(&mut query);
        query
    };
    let filtered: Vec<(&str, worklist::CaseQuery)> = vec![
        ("one status", q(&|q| q.status = "acknowledged".into())),
        ("one category", q(&|q| q.category = common_category.clone())),
        ("one sector", q(&|q| q.sector = "garment".into())),
        (
            "a supplier's name searched, closed cases too",
            q(&|q| {
                q.q = name.to_string();
                q.closed = true;
            }),
        ),
        ("overdue", q(&|q| q.overdue = true)),
        (
            "one supplier's overdue cases (the dashboard's link)",
            q(&|q| {
                q.party = supplier.clone();
                q.overdue = true;
            }),
        ),
        (
            "one supplier's cases of a category (as its report gives them)",
            q(&|q| {
                q.party = supplier.clone();
                q.category = common_category.clone();
            }),
        ),
        (
            "one sector and corridor, soonest due first (walking the due-date list)",
            q(&|q| {
                q.sector = "garment".into();
                q.corridor = "MM-TH".into();
                q.sort = "due".into();
            }),
        ),
        (
            "every case not closed, soonest due first",
            q(&|q| q.sort = "due".into()),
        ),
        (
            "every case, closed too, by status (walking the status lists)",
            q(&|q| {
                q.sort = "status".into();
                q.closed = true;
            }),
        ),
        (
            "one supplier's cases, soonest due first",
            q(&|q| {
                q.party = supplier.clone();
                q.sort = "due".into();
            }),
        ),
        (
            "overdue, soonest due first",
            q(&|q| {
                q.overdue = true;
                q.sort = "due".into();
            }),
        ),
        (
            "one status, by status",
            q(&|q| {
                q.status = "acknowledged".into();
                q.sort = "status".into();
            }),
        ),
    ];
    let mut filtered_times = Vec::new();
    for (what, fq) in &filtered {
        let listed = worklist::list(store, on.membership, on.me, on.until, fq, &label)?;
        let all_rows = worklist::rows(store, on.membership, on.me, on.until)?;
        let read = worklist::select(all_rows, fq, &label)?;
        anyhow::ensure!(!read.rows.is_empty(), "{what}: the query finds cases");
        anyhow::ensure!(
            serde_json::to_string(&listed.rows)? == serde_json::to_string(&read.rows)?
                && (listed.total == read.total || (listed.more && listed.total <= read.total)),
            "{what}: the page differs from the one read from every report"
        );
        let times = listed_against_read(store, on, fq)?;
        let total = if listed.more {
            format!("at least {} of {}", listed.total, read.total)
        } else {
            listed.total.to_string()
        };
        filtered_times.push((*what, total, times));
    }
    Ok(filtered_times)
}
