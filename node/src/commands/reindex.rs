//! `ilm reindex`: recounts the aggregates from every stored case and contact, or checks that
//! the incrementally kept ones equal a recount and that the contact index holds what its
//! contacts give ([`recount`]; with the vault's key, what it keeps of their identities and
//! notes too: [`recount::check_sealed`]).

use super::membership::{daemon_running, open_store};
use crate::aggregates;
use crate::backup::progress::Progress;
use crate::contact_list::recount::{self, Checked, SealedChecked};
use crate::datadir::{DataDir, DataDirError};
use crate::output::{Invalid, Output};
use crate::schema;
use crate::secrets::SecretError;
use crate::vault::binding::{self, BindingError};
use crate::vault::{Vault, VaultError};
use anyhow::{Result, bail};
use serde_json::json;

/// How many differing aggregate cells a failed check lists.
const SHOWN: usize = 20;

pub(super) fn reindex(dir: &DataDir, check: bool) -> Result<Output> {
    if daemon_running(dir) {
        bail!("stop the node first: reindex reads and rewrites its database");
    }
    // For views, not whole: it rewrites lists and cells as it reads, which a node's
    // larger cache serves (and whose memory it bounds as well).
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
        // Both named in full, to compare (what a start's recount never holds).
        let counted = counted.into_cells();
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
        // The vault's key first, whatever the contacts: a check passes no node that would
        // not start.
        let vault = vault_to_check(dir, &store)?;
        let contacts = store.count(&schema::CONTACTS)? as u64;
        let mut bar = Progress::records("contact index", contacts);
        let checked = recount::check(&store, &mut |n| bar.set(n))?;
        bar.finish();
        // What it keeps of identities and notes, with the vault's key: checked whatever the
        // lists gave, so that one run names every difference.
        let sealed = match checked {
            Checked::NotBuilt => None,
            _ => Some(check_sealed(&store, contacts, vault)?),
        };
        let mut differs = Vec::new();
        if let Checked::Differs { total, shown } = &checked {
            differs.push(format!(
                "The contact index differs from its {contacts} contacts (differences: {total}{}):\n{}",
                first_shown(*total, shown),
                shown.join("\n")
            ));
        }
        match &sealed {
            Some(Identities::Checked(SealedChecked::Differs {
                total,
                shown,
                unopened,
            })) => {
                if *unopened > 0 {
                    differs.push(format!(
                        "Contacts that do not open with this node's vault key: {unopened} (damaged records, or sealed with another key): what differs for them follows from that, and `ilm reindex` would index them as holding nothing."
                    ));
                }
                differs.push(format!(
                    "The contact index differs from its contacts' identities and notes (differences: {total}{}):\n{}",
                    first_shown(*total, shown),
                    shown.join("\n")
                ));
            }
            Some(Identities::NotChecked(why)) if !differs.is_empty() => differs.push(format!(
                "What it keeps of identities and notes is not checked: {why}."
            )),
            _ => {}
        }
        if !differs.is_empty() {
            return Err(Invalid(format!(
                "{aggregates} {}\nRun `ilm reindex`: the node builds the contact index again at its next start.",
                differs.join("\n")
            ))
            .into());
        }
        let (index, said) = match (checked, sealed) {
            (Checked::Matches { lists, contacts }, sealed) => {
                let (identities, said_sealed) = match sealed {
                    Some(Identities::Checked(SealedChecked::Matches { contacts, unopened })) => (
                        json!({ "checked": true, "matches": true, "contacts": contacts, "unopened": unopened }),
                        format!(
                            "Its worker keys, search bits and words mentioned match the identities and notes of its {contacts} contacts{}.",
                            if unopened > 0 {
                                format!(
                                    " ({unopened} do not open with the vault's key: indexed as holding nothing)"
                                )
                            } else {
                                String::new()
                            }
                        ),
                    ),
                    Some(Identities::NotChecked(why)) => (
                        json!({ "checked": false, "why": why }),
                        format!("What it keeps of identities and notes is not checked: {why}."),
                    ),
                    // Built when the lists were checked: not built now is not expected.
                    other => bail!("the contact index changed while it was checked: {other:?}"),
                };
                (
                    json!({ "built": true, "checked": true, "matches": true, "lists": lists, "contacts": contacts, "identities": identities }),
                    format!(
                        "The contact index matches its {contacts} contacts ({lists} lists, and the worker groups held). {said_sealed}"
                    ),
                )
            }
            _ => (
                json!({ "built": false, "checked": false }),
                "The contact index is not built: the node builds it at its next start.".to_string(),
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

/// ", the first N shown" when fewer differences are shown than were found.
fn first_shown(total: usize, shown: &[String]) -> String {
    if total > shown.len() {
        format!(", the first {} shown", shown.len())
    } else {
        String::new()
    }
}

/// What became of the check of what the contact index keeps of identities and notes.
#[derive(Debug)]
enum Identities {
    /// Checked with the vault's key.
    Checked(SealedChecked),
    /// Not checked, and why (no contacts, a vault locked by a passphrase not given): the rest
    /// of the check stands.
    NotChecked(String),
}

/// The node's vault for the check, as its start would open it but writing nothing: Err
/// where the start would refuse it (a key missing while anything is sealed, another node's,
/// a wrong passphrase, a damaged file), Ok(Err(why)) when it is locked (no passphrase
/// given) or there is none (nothing sealed).
fn vault_to_check(
    dir: &DataDir,
    store: &crate::store::Store,
) -> Result<std::result::Result<Vault, String>> {
    // Only a passphrase not given leaves the check to say what it could not do; a wrong
    // passphrase or a damaged key file fails it, as the node's start would fail.
    match binding::open_existing(dir, store) {
        Ok(Some(vault)) => Ok(Ok(vault)),
        Ok(None) => Ok(Err(
            "this node has no vault key (it holds nothing sealed)".into()
        )),
        Err(BindingError::Vault(VaultError::Key(DataDirError::Secret(
            e @ SecretError::NeedPassphrase(_),
        )))) => Ok(Err(format!("the vault is locked ({e})"))),
        Err(e) => Err(anyhow::Error::new(e).context("open the vault")),
    }
}

/// What the contact index keeps of identities and notes checked with the vault's key (see
/// [`Identities`]).
fn check_sealed(
    store: &crate::store::Store,
    contacts: u64,
    vault: std::result::Result<Vault, String>,
) -> Result<Identities> {
    if contacts == 0 {
        return Ok(Identities::NotChecked("this node holds no contacts".into()));
    }
    let vault = match vault {
        Ok(v) => v,
        Err(why) => return Ok(Identities::NotChecked(why)),
    };
    let mut bar = Progress::records("contact index, identities", contacts);
    let checked = recount::check_sealed(store, &vault, &mut |n| bar.set(n));
    bar.finish();
    match checked {
        Ok(c) => Ok(Identities::Checked(c)),
        Err(recount::SealedCheckError::Vault(e)) => Ok(Identities::NotChecked(format!(
            "the vault could not derive its keys ({e})"
        ))),
        Err(recount::SealedCheckError::Store(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteBatch;

    /// A node holding only received disclosures (a supplier's) and no contacts: its check
    /// fails on a missing key as its start does; with nothing sealed, it says there is none.
    #[test]
    fn a_missing_key_fails_the_check_whatever_is_sealed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::new(tmp.path());
        let store = schema::open(&tmp.path().join("db")).expect("store");
        let vault = crate::vault::binding::open(&dir, &store).expect("vault");
        std::fs::remove_file(dir.vault_key_path()).expect("remove");
        match vault_to_check(&dir, &store).expect("nothing sealed") {
            Err(why) => assert!(why.contains("no vault key"), "{why}"),
            Ok(_) => panic!("a vault without a key"),
        }
        let mut batch = WriteBatch::new();
        let sealed = vault.seal(b"d1", b"a disclosed identity").expect("seal");
        batch
            .put(&schema::DISCLOSURES, b"d1", &sealed)
            .expect("stage");
        store.commit(batch).expect("commit");
        let err = vault_to_check(&dir, &store).err().expect("refused");
        assert!(
            format!("{err:#}").contains("holds received disclosures sealed or keyed with it"),
            "{err:#}"
        );
        assert!(!dir.vault_key_path().exists(), "the check made a key");
    }
}
