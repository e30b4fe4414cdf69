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
use serde_json::json;
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
    let path = match format {
        ExportFormat::Json => "/api/cases/export?format=json&closed=true",
        ExportFormat::Csv => "/api/cases/export?format=csv&closed=true",
    };
    let mut download = client.get_stream(path)?;
    // Each CSV row ends with CR LF, which no text of a case holds (texts keep no control
    // character but line feed and tab); each JSON row starts with its reference, which a
    // string cannot hold unescaped.
    let mark: &[u8] = match format {
        ExportFormat::Csv => b"\r\n",
        ExportFormat::Json => b"{\"case_ref\":",
    };
    let header = usize::from(format == ExportFormat::Csv);
    let Some(path) = out else {
        // To the terminal: the whole text, as the other exports print it.
        let mut text = Vec::new();
        let marks = copy_counting(&mut download.body, &mut text, mark)
            .context("the node stopped sending the case list")?;
        let text = String::from_utf8(text).context("the node sent a case list that is not text")?;
        return write(None, &text, "cases", marks.saturating_sub(header));
    };
    // To a file as it comes, so a large case list is never held here; under another name
    // until complete, so a broken download never looks like an export.
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let mut file =
        std::fs::File::create(&partial).with_context(|| format!("create {}", partial.display()))?;
    let copied = copy_counting(&mut download.body, &mut file, mark)
        .context("the node stopped sending the case list")
        .and_then(|n| file.sync_all().context("write the case list").map(|_| n));
    let marks = match copied {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, path).with_context(|| format!("write {}", path.display()))?;
    let rows = marks.saturating_sub(header);
    Ok(Output::new(
        json!({ "file": path, "rows": rows }),
        format!("Wrote {rows} cases to {}.", path.display()),
    ))
}

/// Copies `from` to `to`, counting the occurrences of `mark` (also those split between
/// two reads).
fn copy_counting(
    from: &mut impl std::io::Read,
    to: &mut impl std::io::Write,
    mark: &[u8],
) -> std::io::Result<usize> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut n = 0;
    loop {
        let got = from.read(&mut buf)?;
        if got == 0 {
            return Ok(n);
        }
        to.write_all(&buf[..got])?;
        carry.extend_from_slice(&buf[..got]);
        n += carry.windows(mark.len()).filter(|w| *w == mark).count();
        // What is kept is shorter than the mark, so it holds no whole one to count twice.
        let keep = mark.len().saturating_sub(1);
        carry.drain(..carry.len().saturating_sub(keep));
    }
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

#[cfg(test)]
mod tests {
    use super::copy_counting;

    /// Marks are counted once each, also when a read ends inside one.
    #[test]
    fn marks_split_between_reads_count_once() {
        struct Dribble(Vec<u8>, usize);
        impl std::io::Read for Dribble {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(self.0.len()).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let text = b"h\r\na\r\nb\nc\r\n\r\n".to_vec();
        for step in 1..=text.len() {
            let mut out = Vec::new();
            let n =
                copy_counting(&mut Dribble(text.clone(), step), &mut out, b"\r\n").expect("copy");
            assert_eq!((n, out.as_slice()), (4, text.as_slice()), "reads of {step}");
        }
    }
}
