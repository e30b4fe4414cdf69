//! `ilm reindex`: recounts the aggregates from every stored case and contact, or checks that
//! the incrementally kept ones equal a recount and that the contact index holds what its
//! contacts give (the part that needs no vault: [`recount`]).

use super::membership::{daemon_running, open_store};
use crate::aggregates;
use crate::backup::progress::Progress;
use crate::contact_list::recount::{self, Checked};
use crate::datadir::DataDir;
use crate::output::{Invalid, Output};
use crate::schema;
use anyhow::{Result, bail};
use serde_json::json;

/// How many differing aggregate cells a failed check lists.
const SHOWN: usize = 20;

pub(super) fn reindex(dir: &DataDir, check: bool) -> Result<Output> {
    if daemon_running(dir) {
        bail!("stop the node first: reindex reads and rewrites its database");
    }
    let store = open_store(dir)?;
    if check {
        // Cells of other definitions, or none, would all "differ": say why instead.
        match aggregates::built_version(&store)? {
            None => {
                return Err(Invalid(
                    "the aggregates are not built (a new database, one of a release that kept none, or a rebuild that stopped): the node counts them at its next start (or run `ilm reindex` now); the contact index is checked once they match"
                        .into(),
                )
                .into());
            }
            Some(v) if v != aggregates::VERSION => {
                return Err(Invalid(format!(
                    "the aggregates were counted with the cell definitions of version {v}, and this release counts version {}: the node counts them again at its next start (or run `ilm reindex` now); the contact index is checked once they match",
                    aggregates::VERSION
                ))
                .into());
            }
            Some(_) => {}
        }
    }
    let total = store.count(&schema::CASE_STATES)?
        + store.count(&schema::CONTACTS)?
        + store.count(&schema::STATUS_REPORTS)?;
    let mut bar = Progress::records("reindex", total as u64);
    let counted = aggregates::recount(&store, &mut |n| bar.set(n))?;
    bar.finish();
    if check {
        let held = aggregates::held(&store)?;
        let mut keys: Vec<&String> = held.keys().chain(counted.keys()).collect();
        keys.sort();
        keys.dedup();
        let differing: Vec<String> = keys
            .into_iter()
            .filter(|k| held.get(*k) != counted.get(*k))
            .map(|k| {
                format!(
                    "{k}: held {}, recounted {}",
                    held.get(k).copied().unwrap_or(0),
                    counted.get(k).copied().unwrap_or(0)
                )
            })
            .collect();
        if !differing.is_empty() {
            let shown: Vec<&str> = differing.iter().take(SHOWN).map(String::as_str).collect();
            return Err(Invalid(format!(
                "{} aggregate cells differ from a recount of {total} records (run `ilm reindex` to rebuild them; the contact index is checked once they match):\n{}",
                differing.len(),
                shown.join("\n")
            ))
            .into());
        }
        let aggregates = format!(
            "The aggregates match a recount of {total} records ({} cells).",
            counted.len()
        );
        let contacts = store.count(&schema::CONTACTS)? as u64;
        let mut bar = Progress::records("contact index", contacts);
        let checked = recount::check(&store, &mut |n| bar.set(n))?;
        bar.finish();
        let (index, said) = match checked {
            Checked::Differs { total, shown } => {
                return Err(Invalid(format!(
                    "{aggregates} The contact index differs from its {contacts} contacts (differences: {total}{}; run `ilm reindex`: the node builds it again at its next start):\n{}",
                    if total > shown.len() {
                        format!(", the first {} shown", shown.len())
                    } else {
                        String::new()
                    },
                    shown.join("\n")
                ))
                .into());
            }
            Checked::NotBuilt => (
                json!({ "built": false, "checked": false }),
                "The contact index is not built: the node builds it at its next start.".to_string(),
            ),
            Checked::Matches { lists, contacts } => (
                json!({ "built": true, "checked": true, "matches": true, "lists": lists, "contacts": contacts }),
                format!(
                    "The contact index matches its {contacts} contacts ({lists} lists, and the worker groups held)."
                ),
            ),
        };
        return Ok(Output::new(
            json!({ "matches": true, "cells": counted.len(), "records": total, "contact_index": index }),
            format!("{aggregates} {said}"),
        ));
    }
    aggregates::rebuild_indexes(&store)?;
    aggregates::replace(&store, &counted, 10_000)?;
    // The contact index needs the vault, which the node opens: it builds it at its start.
    crate::contact_list::groups::invalidate(&store)?;
    Ok(Output::new(
        json!({ "rebuilt": true, "cells": counted.len(), "records": total }),
        format!(
            "Rebuilt {} aggregate cells from {total} records. The node indexes its contacts again at its next start.",
            counted.len()
        ),
    ))
}
