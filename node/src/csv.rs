//! CSV lines for exports (the case list, aggregates, scorecards) that spreadsheets open safely.

/// Appends one CSV line (RFC 4180 quoting). A cell that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`, since
/// sites and names come from other organisations.
pub fn push_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let cells: Vec<String> = cells
        .into_iter()
        .map(|c| {
            let c = if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{c}")
            } else {
                c
            };
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// JSON objects as CSV: a header line of `columns`, then one line per object (arrays joined
/// with `;`, absent values empty).
pub fn from_json(columns: &[&str], rows: &[serde_json::Value]) -> String {
    let mut out = String::new();
    push_row(&mut out, columns.iter().map(|c| c.to_string()));
    for r in rows {
        push_json_row(&mut out, columns, r);
    }
    out
}

/// Appends one JSON object as a CSV line of `columns` (as [`from_json`] writes each).
pub fn push_json_row(out: &mut String, columns: &[&str], row: &serde_json::Value) {
    fn cell(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(";"),
            // An amount, as people read it: "1500.00 THB".
            serde_json::Value::Object(m) if m.contains_key("minor_units") => {
                let minor = m["minor_units"].as_u64().unwrap_or(0);
                let currency = m.get("currency").and_then(|c| c.as_str()).unwrap_or("");
                crate::ui::format::format_money(minor, currency).replace(',', "")
            }
            other => other.to_string(),
        }
    }
    push_row(out, columns.iter().map(|c| cell(&row[*c])));
}

/// The columns of a case-list export (`ilm export cases`, `GET /api/cases/export`).
pub const CASE_COLUMNS: [&str; 10] = [
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

/// The columns of a brand's scorecard export.
pub const SCORECARD_COLUMNS: [&str; 12] = [
    "supplier",
    "name",
    "cases",
    "open",
    "overdue",
    "median_days_to_acknowledge",
    "median_days_to_remediate",
    "remediated",
    "share_verified",
    "attestations_verified",
    "amounts_repaid",
    "role",
];

#[cfg(test)]
mod tests {
    use super::{from_json, push_row};

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        let mut out = String::new();
        push_row(
            &mut out,
            [
                "a,b".into(),
                "say \"hi\"".into(),
                "=HYPERLINK(1)".into(),
                "plain".into(),
            ],
        );
        assert_eq!(out, "\"a,b\",\"say \"\"hi\"\"\",'=HYPERLINK(1),plain\r\n");
        let rows = [serde_json::json!({
            "site": "=cmd|' /C calc'!A0", "n": 3, "tags": ["x", "y"],
            "repaid": [{ "minor_units": 150_000, "currency": "THB" }, { "minor_units": 500, "currency": "JPY" }]
        })];
        assert_eq!(
            from_json(&["site", "n", "tags", "absent", "repaid"], &rows),
            "site,n,tags,absent,repaid\r\n'=cmd|' /C calc'!A0,3,x;y,,1500.00 THB;500 JPY\r\n"
        );
    }
}
