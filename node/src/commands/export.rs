//! `ilm export ...`: the node's aggregates, case list, (at a brand) supplier scorecards and
//! (at a CSO) contacts as JSON or CSV, for spreadsheets and reports. Only a contact export
//! asked for with `--with-identities` holds personal data (and the node logs it): aggregates
//! and scorecards are counts, and the case list names organisations, sites and categories,
//! never workers.

use super::membership::{daemon_running, open_store};
use crate::cli::ExportFormat;
use crate::client::AdminClient;
use crate::datadir::DataDir;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::Path;

fn write(out: Option<&Path>, text: &str, what: &str, rows: usize) -> Result<Output> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("write {}", path.display()))?;
            Ok(Output::new(
                json!({ "file": path, "rows": rows }),
                format!("Wrote {rows} {what} to {}.", path.display()),
            ))
        }
        None => Ok(Output::new(
            json!({ "rows": rows }),
            text.trim_end().to_string(),
        )),
    }
}

pub(super) fn aggregates(
    dir: &DataDir,
    format: ExportFormat,
    out: Option<&Path>,
) -> Result<Output> {
    let cells: std::collections::BTreeMap<String, i64> = if daemon_running(dir) {
        let v = AdminClient::for_dir(dir)?.get("/api/aggregates")?;
        serde_json::from_value(v["aggregates"].clone())
            .context("the node returned no aggregates")?
    } else {
        crate::aggregates::held(&open_store(dir)?)?
    };
    let text = match format {
        ExportFormat::Json => serde_json::to_string_pretty(&json!({ "aggregates": cells }))?,
        ExportFormat::Csv => {
            let mut s = String::new();
            crate::csv::push_row(&mut s, ["cell".to_string(), "value".to_string()]);
            for (k, v) in &cells {
                crate::csv::push_row(&mut s, [k.clone(), v.to_string()]);
            }
            s
        }
    };
    write(out, &text, "aggregate cells", cells.len())
}

/// The columns of the case list export, from the case list's JSON rows.
const CASE_COLUMNS: [&str; 10] = [
    "case_ref",
    "status",
    "opened_at",
    "site",
    "counterparty_names",
    "categories",
    "workers",
    "next_due",
    "overdue",
    "closed",
];

pub(super) fn scorecards(
    dir: &DataDir,
    format: ExportFormat,
    out: Option<&Path>,
    filter: &crate::scorecard::Filter,
) -> Result<Output> {
    // Checked here too, so that a bad value is refused before asking the node.
    filter.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    if !daemon_running(dir) {
        bail!("scorecards are built by the running node: start it (`ilm run`), then export");
    }
    let query = serde_urlencoded::to_string(filter)?;
    let v = AdminClient::for_dir(dir)?.get(&format!("/api/scorecards?{query}"))?;
    let rows = v["scorecards"].as_array().cloned().unwrap_or_default();
    let text = match format {
        ExportFormat::Json => serde_json::to_string_pretty(&json!({ "scorecards": rows }))?,
        ExportFormat::Csv => crate::csv::from_json(&crate::csv::SCORECARD_COLUMNS, &rows),
    };
    write(out, &text, "supplier scorecards", rows.len())
}

pub(super) fn cases(dir: &DataDir, format: ExportFormat, out: Option<&Path>) -> Result<Output> {
    if !daemon_running(dir) {
        bail!("the case list is built by the running node: start it (`ilm run`), then export");
    }
    let client = AdminClient::for_dir(dir)?;
    let mut rows: Vec<Value> = Vec::new();
    let mut page = 1u64;
    loop {
        let v = client.get(&format!(
            "/api/cases?closed=true&per_page={}&page={page}",
            crate::worklist::MAX_PER_PAGE
        ))?;
        let got = v["cases"].as_array().cloned().unwrap_or_default();
        rows.extend(got);
        let pages = v["pages"].as_u64().unwrap_or(1);
        if page >= pages {
            break;
        }
        page += 1;
    }
    let text = match format {
        ExportFormat::Json => serde_json::to_string_pretty(&json!({ "cases": rows }))?,
        ExportFormat::Csv => crate::csv::from_json(&CASE_COLUMNS, &rows),
    };
    write(out, &text, "cases", rows.len())
}

pub(super) fn contacts(dir: &DataDir, with_identities: bool, out: Option<&Path>) -> Result<Output> {
    if !daemon_running(dir) {
        bail!("contacts are exported by the running node: start it (`ilm run`), then export");
    }
    let path = if with_identities {
        "/api/contacts-with-identities.csv?confirm=yes"
    } else {
        "/api/contacts.csv"
    };
    let text = AdminClient::for_dir(dir)?.get_text(path)?;
    let rows = text.lines().count().saturating_sub(1);
    let what = if with_identities {
        "contacts with workers' identities (keep the file safe; the node logged this export)"
    } else {
        "contacts (no personal data)"
    };
    write(out, &text, what, rows)
}
