//! The vault key bound to the database whose worker data it sealed.
//!
//! The key lives in its own file beside the database. A node that lost it would make a new
//! one at its start and seal new contacts with a key its earlier ones do not open under; a
//! node given another node's key would seal them with a key that other node holds. So the
//! database records a check value of its key (a keyed hash of a fixed text, which tells
//! nothing of the key) and the node refuses to start with any other key, or with none while
//! it holds anything sealed. A database of a release before the check value is checked
//! against its newest contacts and its first sealed records (a node of such a release may
//! have made a new key once already: its older contacts do not open), then the value is
//! recorded. A key lost for good is replaced only when asked ([`replace_lost`]).

use super::{Sealed, Vault, VaultError};
use crate::datadir::DataDir;
use crate::schema;
use crate::store::{Store, StoreError, Table};

/// The keyed hash's domain for the check value: no other use of the vault hashes it.
const CHECK_DOMAIN: &str = "vault-key-check";
/// How many of its newest contacts, of its first contacts and of its first received
/// disclosures a database without a check value tries: the key is another's only if none of
/// them opens (damaged records, or records of a key lost earlier, must not stop a start).
const TRIED: usize = 64;

/// Why the vault key cannot be used with the node's database.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// No key file, and the database holds data sealed or hashed with the key (the table named).
    #[error(
        "vault.key is missing, and this node's database holds {0} sealed or keyed with it: put this node's vault.key back (from its backup); a new key would open none of them (if it is lost for good, `ilm key replace-vault --lost` makes a new one)"
    )]
    Missing(&'static str),
    /// The key file holds a key other than the one the database's data was sealed with.
    #[error(
        "vault.key is not the key this node's database was sealed with (another node's key): put this node's own vault.key back"
    )]
    NotThisNodes,
    /// A replacement was asked for while a key file is there.
    #[error(
        "vault.key is there: only a lost key is replaced (a key of another node is removed first)"
    )]
    NotLost,
    /// The key file does not open (locked, damaged, readable by others).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the database says of a vault key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// Its check value is the one recorded, or (none recorded) its sealed records open with it.
    Matches,
    /// None recorded and nothing sealed to try it on.
    NotRecorded,
    /// Another key's check value is recorded, or (none recorded) none of its first sealed
    /// records opens with it.
    Differs,
}

/// Opens the vault of a node's data directory for its database, as the node's start does: a
/// key is made only while the database holds nothing sealed, and its check value recorded; a
/// key the database's data was not sealed with is refused.
pub fn open(dir: &DataDir, store: &Store) -> Result<Vault, BindingError> {
    let (vault, made) = match open_existing(dir, store)? {
        Some(vault) => (vault, false),
        None => (Vault::open(dir)?, true),
    };
    // A key made now replaces a check value left by a key that sealed nothing.
    if made || store.vault_key_check()?.is_none() {
        store.set_vault_key_check(&check_value(&vault)?)?;
    }
    Ok(vault)
}

/// The vault as [`open`] would open it, writing nothing and making no key: None when there
/// is no key and nothing sealed; refused as the start refuses it.
pub fn open_existing(dir: &DataDir, store: &Store) -> Result<Option<Vault>, BindingError> {
    if !dir.vault_key_path().exists() {
        return match sealed_held(store)? {
            Some(table) => Err(BindingError::Missing(table)),
            None => Ok(None),
        };
    }
    let vault = Vault::open(dir)?;
    if check(store, &vault)? == KeyCheck::Differs {
        return Err(BindingError::NotThisNodes);
    }
    Ok(Some(vault))
}

/// Makes a new vault key for a node whose key is lost for good and records it: what the lost
/// key sealed no longer opens. Refused while a key file is there.
pub fn replace_lost(dir: &DataDir, store: &Store) -> Result<Vault, BindingError> {
    if dir.vault_key_path().exists() {
        return Err(BindingError::NotLost);
    }
    let vault = Vault::open(dir)?;
    store.set_vault_key_check(&check_value(&vault)?)?;
    Ok(vault)
}

/// What the database says of `vault`'s key, writing nothing.
pub fn check(store: &Store, vault: &Vault) -> Result<KeyCheck, BindingError> {
    if let Some(held) = store.vault_key_check()? {
        return Ok(if held == check_value(vault)? {
            KeyCheck::Matches
        } else {
            KeyCheck::Differs
        });
    }
    let tried = first_sealed(store)?;
    Ok(if tried.is_empty() {
        KeyCheck::NotRecorded
    } else if tried
        .iter()
        .any(|(id, sealed)| vault.open_sealed(id, sealed).is_ok())
    {
        KeyCheck::Matches
    } else {
        KeyCheck::Differs
    })
}

/// The name of the first table holding data sealed or hashed with the vault key, if any.
pub fn sealed_held(store: &Store) -> Result<Option<&'static str>, StoreError> {
    fn holds<T>(store: &Store, table: &Table<T>) -> Result<Option<&'static str>, StoreError> {
        Ok((!store.ids_after(table, 0, 1)?.is_empty()).then(|| table.name()))
    }
    for found in [
        holds(store, &schema::CONTACTS)?,
        holds(store, &schema::DISCLOSURES)?,
        holds(store, &schema::PORTAL_THREADS)?,
        holds(store, &schema::RECEIPTS)?,
        holds(store, &schema::RATINGS)?,
    ] {
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The check value of `vault`'s key.
fn check_value(vault: &Vault) -> Result<[u8; 32], VaultError> {
    vault.keyed_hash(CHECK_DOMAIN, &[])
}

/// Sealed records to try a key on, each with the id it was sealed under: the newest
/// contacts (from the list of every contact, when built), the first ones in id order (the
/// ids are random) and the first received disclosures.
fn first_sealed(store: &Store) -> Result<Vec<(Vec<u8>, Sealed)>, StoreError> {
    use crate::contact_list::groups;
    let mut ids: Vec<Vec<u8>> = groups::LISTS
        .ids_in(store, groups::ALL, 0, TRIED)?
        .iter()
        .filter_map(|id| crate::aggregates::lists::key_of::<{ groups::KEY_LEN }>(id))
        .map(|k| groups::contact_of(&k).0.to_vec())
        .collect();
    ids.extend(store.ids_after(&schema::CONTACTS, 0, TRIED)?);
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        if let Some(c) = store.get(&schema::CONTACTS, &id)? {
            out.push((id, c.sealed));
        }
    }
    for id in store.ids_after(&schema::DISCLOSURES, 0, TRIED)? {
        if let Some(sealed) = store.get(&schema::DISCLOSURES, &id)? {
            out.push((id, sealed));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
