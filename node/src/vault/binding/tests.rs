//! The vault key bound to its database, on real stores and key files in temp dirs.

use super::*;
use crate::contact_list::groups::tests::{Node, add, node};
use crate::store::WriteBatch;

/// A received disclosure sealed with `vault` under `id`, as a supplier's node keeps one.
fn disclose(store: &Store, vault: &Vault, id: &[u8]) {
    let mut batch = WriteBatch::new();
    let sealed = vault.seal(id, b"a disclosed identity").expect("seal");
    batch.put(&schema::DISCLOSURES, id, &sealed).expect("stage");
    store.commit(batch).expect("commit");
}

/// Another node's data directory, with its own key.
fn other_key() -> tempfile::TempDir {
    let other = tempfile::tempdir().expect("tempdir");
    Vault::open(&DataDir::new(other.path())).expect("vault");
    other
}

fn put_key_of(from: &tempfile::TempDir, to: &DataDir) {
    std::fs::copy(
        DataDir::new(from.path()).vault_key_path(),
        to.vault_key_path(),
    )
    .expect("copy the key");
}

#[test]
fn a_new_node_makes_its_key_records_it_and_opens_with_it_again() {
    let n = node();
    let dir = DataDir::new(n.dir.path());
    std::fs::remove_file(dir.vault_key_path()).expect("remove");
    assert_eq!(n.store.vault_key_check().expect("read"), None);
    let vault = open(&dir, &n.store).expect("open");
    assert!(dir.vault_key_path().exists());
    assert!(n.store.vault_key_check().expect("read").is_some());
    let sealed = vault.seal(b"d1", b"x").expect("seal");
    let again = open(&dir, &n.store).expect("open again");
    assert_eq!(again.open_sealed(b"d1", &sealed).expect("open"), b"x");
    assert_eq!(check(&n.store, &again).expect("check"), KeyCheck::Matches);
}

#[test]
fn a_lost_key_is_not_replaced_while_anything_is_sealed() {
    let n = node();
    let dir = DataDir::new(n.dir.path());
    let vault = open(&dir, &n.store).expect("open");
    // The control: with nothing sealed, a lost key is replaced by a new one.
    std::fs::remove_file(dir.vault_key_path()).expect("remove");
    let vault = {
        drop(vault);
        open(&dir, &n.store).expect("a new key while nothing is sealed")
    };
    disclose(&n.store, &vault, b"d1");
    std::fs::remove_file(dir.vault_key_path()).expect("remove");
    let err = open(&dir, &n.store).err().expect("refused");
    assert!(
        matches!(err, BindingError::Missing("received disclosures")),
        "{err}"
    );
    assert!(err.to_string().contains("vault.key is missing"), "{err}");
    assert!(err.to_string().contains("replace-vault --lost"), "{err}");
    assert!(!dir.vault_key_path().exists(), "no key was made");
    // A contact names its table too.
    let c = node();
    add(&c, 1, "+66 81 234 5678", "", None, 1, true);
    let cdir = DataDir::new(c.dir.path());
    std::fs::remove_file(cdir.vault_key_path()).expect("remove");
    let err = open(&cdir, &c.store).err().expect("refused");
    assert!(matches!(err, BindingError::Missing("contacts")), "{err}");
}

#[test]
fn another_nodes_key_is_refused() {
    let n = node();
    let dir = DataDir::new(n.dir.path());
    open(&dir, &n.store).expect("open");
    let other = other_key();
    put_key_of(&other, &dir);
    let err = open(&dir, &n.store).err().expect("refused");
    assert!(matches!(err, BindingError::NotThisNodes), "{err}");
    // Even while nothing is sealed yet: what the node seals next, the other node could open.
    assert_eq!(sealed_held(&n.store).expect("read"), None);
}

#[test]
fn a_database_from_before_the_check_value_is_checked_on_its_sealed_records() {
    // Contacts sealed by a release that recorded no check value.
    let n = node();
    add(&n, 1, "+66 81 234 5678", "", None, 1, true);
    add(&n, 2, "+95 9 555 0101", "", None, 2, true);
    assert_eq!(n.store.vault_key_check().expect("read"), None);
    let dir = DataDir::new(n.dir.path());
    let mine = tempfile::tempdir().expect("tempdir");
    std::fs::copy(dir.vault_key_path(), mine.path().join("vault.key")).expect("keep the key");
    // Another node's key: none of them opens, and nothing is recorded.
    put_key_of(&other_key(), &dir);
    let err = open(&dir, &n.store).err().expect("refused");
    assert!(matches!(err, BindingError::NotThisNodes), "{err}");
    assert_eq!(n.store.vault_key_check().expect("read"), None);
    // Its own key: it opens them, and its check value is recorded from then on.
    put_key_of(&mine, &dir);
    let vault = open(&dir, &n.store).expect("its own key");
    assert!(n.store.vault_key_check().expect("read").is_some());
    assert_eq!(check(&n.store, &vault).expect("check"), KeyCheck::Matches);
}

#[test]
fn one_damaged_record_does_not_make_the_key_anothers() {
    let n = node();
    let vault = &n.vault;
    // Sealed under another id: it does not open, the next one does.
    let mut batch = WriteBatch::new();
    let moved = vault.seal(b"d0-elsewhere", b"x").expect("seal");
    batch
        .put(&schema::DISCLOSURES, b"d0", &moved)
        .expect("stage");
    n.store.commit(batch).expect("commit");
    assert_eq!(check(&n.store, vault).expect("check"), KeyCheck::Differs);
    disclose(&n.store, vault, b"d1");
    assert_eq!(check(&n.store, vault).expect("check"), KeyCheck::Matches);
    // The check writes nothing.
    assert_eq!(n.store.vault_key_check().expect("read"), None);
}

/// A node of an earlier release that lost its key once made a new one and went on: its
/// older contacts are sealed with the lost key, its newest with the current one. It starts.
#[test]
fn a_database_of_two_keys_starts_with_the_one_its_newest_contacts_open_with() {
    let lost = node();
    for i in 0..100 {
        add(&lost, i, "+66 81 234 5678", "", None, 1_000 + i, true);
    }
    let path = lost.dir.path().to_path_buf();
    let dir = DataDir::new(&path);
    std::fs::remove_file(dir.vault_key_path()).expect("the key lost");
    let current = Node {
        vault: Vault::open(&dir).expect("a new key, as an earlier release made"),
        dir: lost.dir,
        store: lost.store,
    };
    // The control: with only the older contacts, every contact tried is the lost key's.
    assert_eq!(
        check(&current.store, &current.vault).expect("check"),
        KeyCheck::Differs
    );
    add(&current, 100, "+95 9 555 0101", "", None, 5_000, true);
    assert_eq!(current.store.vault_key_check().expect("read"), None);
    open(&dir, &current.store).expect("starts with the current key");
    assert!(current.store.vault_key_check().expect("read").is_some());
}

#[test]
fn a_key_lost_for_good_is_replaced_only_when_gone() {
    let n = node();
    add(&n, 1, "+66 81 234 5678", "", None, 1, true);
    let dir = DataDir::new(n.dir.path());
    open(&dir, &n.store).expect("open");
    let err = replace_lost(&dir, &n.store).err().expect("a key is there");
    assert!(matches!(err, BindingError::NotLost), "{err}");
    std::fs::remove_file(dir.vault_key_path()).expect("the key lost");
    assert!(matches!(
        open(&dir, &n.store),
        Err(BindingError::Missing(_))
    ));
    let new = replace_lost(&dir, &n.store).expect("replaced");
    assert_eq!(check(&n.store, &new).expect("check"), KeyCheck::Matches);
    open(&dir, &n.store).expect("the node starts with it");
    let c = n
        .store
        .get(
            &schema::CONTACTS,
            &n.store.ids_after(&schema::CONTACTS, 0, 1).expect("ids")[0],
        )
        .expect("get")
        .expect("a contact");
    assert!(
        new.open_sealed(&c.id.0, &c.sealed).is_err(),
        "sealed with the lost key"
    );
}
