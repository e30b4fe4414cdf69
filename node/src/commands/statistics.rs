//! `ilm statistics publish|show`, through the running daemon's admin API.

use crate::client::AdminClient;
use crate::datadir::DataDir;
use crate::output::Output;
use anyhow::Result;
use ilm_protocol::Month;
use serde_json::{Value, json};

fn figure(v: &Value) -> String {
    let at_least = if v["at_least"] == json!(true) {
        "≥"
    } else {
        ""
    };
    format!("{at_least}{}", v["value"])
}

/// Publishes this CSO's statistics of `month`.
pub(super) fn publish(dir: &DataDir, month: &str) -> Result<Output> {
    let month: Month = month
        .parse()
        .map_err(|e| anyhow::anyhow!("{month:?}: {e}"))?;
    let v = AdminClient::for_dir(dir)?.post(
        "/api/statistics/publish",
        &json!({ "month": month.to_string() }),
    )?;
    let mut t = format!(
        "Published the statistics of {month} (k = {}) to every member:\n",
        v["k"]
    );
    for table in v["tables"].as_array().into_iter().flatten() {
        let total = match &table["total"] {
            Value::Null => "withheld".to_string(),
            n => n.to_string(),
        };
        let cells: Vec<String> = table["cells"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        t.push_str(&format!(
            "  {}: total {total}; {}\n",
            table["name"].as_str().unwrap_or_default(),
            if cells.is_empty() {
                "no cell shown".to_string()
            } else {
                cells.join(", ")
            }
        ));
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}

/// The network-wide picture of published statistics.
pub(super) fn show(dir: &DataDir) -> Result<Output> {
    let v = AdminClient::for_dir(dir)?.get("/api/statistics")?;
    let mut t = String::new();
    for m in v["months"].as_array().into_iter().flatten() {
        let by: Vec<String> = m["contributors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect();
        t.push_str(&format!(
            "{} (published by {})\n",
            m["month"].as_str().unwrap_or_default(),
            by.join(", ")
        ));
        for table in m["tables"].as_array().into_iter().flatten() {
            let cells: Vec<String> = table["cells"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("{} {}", c[0].as_str().unwrap_or_default(), figure(&c[1])))
                .collect();
            t.push_str(&format!(
                "  {}: total {}{}{}\n",
                table["name"].as_str().unwrap_or_default(),
                figure(&table["total"]),
                if cells.is_empty() { "" } else { "; " },
                cells.join(", ")
            ));
        }
    }
    if t.is_empty() {
        t.push_str("No statistics have been published yet.\n");
    }
    let open: Vec<String> = v["publishable"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    if !open.is_empty() {
        t.push_str(&format!(
            "This CSO may still publish: {}\n",
            open.join(", ")
        ));
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}
