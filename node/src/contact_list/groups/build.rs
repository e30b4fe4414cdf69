//! The contact list's index built from every stored contact, replacing what was held: at a
//! node's first start without this release's index, and after `ilm reindex`.

use super::*;

/// Why the index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vault could not hash a key.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Contacts read and indexed per batch when the index is built: one block of the search
/// index, so that each of its rows is written once (columns are given in this order).
const CHUNK: usize = signatures::BLOCK as usize;

/// Builds the index from every stored contact (opening each sealed identity), replacing
/// what was held; returns how many contacts it indexed.
pub fn rebuild(store: &Store, vault: &Vault) -> Result<usize, BuildError> {
    // Unmarked first: a rebuild cut short is done again at the next start.
    invalidate(store)?;
    schema::remove_all_unmarked(store, &schema::CONTACT_LISTS)?;
    schema::remove_all_unmarked(store, &schema::CONTACT_COUNTS)?;
    schema::remove_all_unmarked(store, &schema::CALLERS)?;
    schema::remove_all_unmarked(store, &schema::WORKER_KEYS)?;
    schema::remove_all_unmarked(store, &schema::WORKER_GROUPS)?;
    signatures::clear(store)?;
    mentions::clear(store)?;
    let gram_key = GramKey::of(vault)?;
    // Indexed in the lists' order (newest first), so that each batch adds to the end of
    // every list, rewriting a few blocks of each, where the store's order (by random id)
    // spread each batch over every block. The keys alone are held: 24 bytes a contact.
    let mut keys: Vec<Key> = Vec::with_capacity(store.count(&schema::CONTACTS)?);
    let mut sets: HashMap<[u8; 16], ValueSet> = HashMap::new();
    store.for_each::<Contact>(&schema::CONTACTS, &[], |c| {
        keys.push(key(&c));
        let set = ValueSet::of(&c);
        sets.entry(set.id()).or_insert(set);
    })?;
    keys.sort_unstable();
    // The words of every set, registered before any contact is indexed: each contact is
    // checked for each word, and searches read none of them from the contacts.
    let mut words = mentions::Vocabulary::load(store, &gram_key)?;
    for set in sets.values() {
        words.register(set, 0, &gram_key);
    }
    let mut batch = WriteBatch::new();
    words.stage(&mut batch)?;
    store.commit_unmarked(batch)?;
    let mut n = 0;
    for chunk in keys.chunks(CHUNK) {
        let mut pending = Pending::new();
        for k in chunk {
            let Some(c) = store.get::<Contact>(&schema::CONTACTS, &contact_of(k).0)? else {
                continue;
            };
            let indexed = match vault.open_json::<SealedContact>(&c.id.0, &c.sealed) {
                Ok(s) => Indexed::with(vault, &gram_key, &s)?,
                Err(e) => {
                    tracing::warn!(contact = %c.id, "a sealed contact does not open: {e}");
                    Indexed::empty(&gram_key)
                }
            };
            pending.add(store, &c, indexed)?;
            n += 1;
        }
        let mut batch = WriteBatch::new();
        pending.stage(store, &mut batch)?;
        store.commit_unmarked(batch)?;
    }
    let mut batch = WriteBatch::new();
    batch.put(
        &schema::CONTACT_INDEX,
        LABELS,
        &mentions::labels_fingerprint(),
    )?;
    batch.put(&schema::CONTACT_INDEX, b"version", &VERSION)?;
    store.commit(batch)?;
    Ok(n)
}

/// Where the fingerprint of the English labels the index was built under is kept.
const LABELS: &[u8] = b"labels";

/// Whether the index held is this release's, built under its English labels (the words a
/// contact is listed as mentioning leave out those of its own values' English labels, so
/// an index built under others would miss contacts).
pub fn is_built(store: &Store) -> Result<bool, StoreError> {
    Ok(
        store.get(&schema::CONTACT_INDEX, b"version")? == Some(VERSION)
            && store.get(&schema::CONTACT_INDEX, LABELS)? == Some(mentions::labels_fingerprint()),
    )
}

/// Builds the index unless this release's is held (a node's first start after an
/// upgrade, or after one that changed the English labels); returns whether it built it.
pub fn ensure(store: &Store, vault: &Vault) -> Result<bool, BuildError> {
    if is_built(store)? {
        return Ok(false);
    }
    rebuild(store, vault)?;
    Ok(true)
}

/// Marks the index for a rebuild at the node's next start (`ilm reindex`, which runs
/// without the vault).
pub fn invalidate(store: &Store) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    batch.remove(&schema::CONTACT_INDEX, b"version");
    store.commit(batch)
}
