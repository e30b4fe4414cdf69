//! The check against a node's real store and vault: an index kept as contacts come matches;
//! each kind of damage (a contact missing from a list, another in its place, a count off, a
//! group and a contact that disagree, a repeat caller unlisted) is named, and a rebuild
//! puts it right.

use super::*;
use crate::aggregates::lists::Changes;
use crate::contact_list::groups::tests::{
    MESSENGERS, Node, PHONES, RECORDERS, T0, add, node, started,
};
use crate::contact_list::groups::{ALL, REPEAT, rebuild, recorded};
use crate::store::WriteBatch;

const CONTACTS: u64 = 40;

fn contacts(n: &Node) -> Vec<ContactId> {
    (0..CONTACTS)
        .map(|i| {
            let phone = PHONES[(i % PHONES.len() as u64) as usize];
            let messenger = MESSENGERS[(i % MESSENGERS.len() as u64) as usize];
            add(
                n,
                i,
                phone,
                messenger,
                RECORDERS[(i % 3) as usize],
                T0 + i * 3_600,
                true,
            )
        })
        .collect()
}

/// Changes one list's keys (and not its count), as damage would.
fn damage(n: &Node, list: &[u8], changes: &[(Key, bool)]) {
    let mut all: Changes<{ groups::KEY_LEN }> = Changes::new();
    all.insert(list.to_vec(), changes.iter().copied().collect());
    let mut batch = WriteBatch::new();
    LISTS.stage(&n.store, &mut batch, &all).expect("stage");
    n.store.commit(batch).expect("commit");
}

fn first(n: &Node, list: &[u8]) -> Key {
    let ids = LISTS.ids_in(&n.store, list, 0, 1).expect("read");
    crate::aggregates::lists::key_of(&ids[0]).expect("a key")
}

/// The lines of a check that found differences (and fails the test otherwise).
fn differs(n: &Node) -> Vec<String> {
    match check(&n.store, &mut |_| {}).expect("check") {
        Checked::Differs { total, shown } => {
            assert_eq!(total, shown.len(), "fewer than {KEPT}: each shown");
            shown
        }
        other => panic!("damage not found: {other:?}"),
    }
}

/// Makes `id`'s record name itself as its group, which does not list it (damage); returns
/// the group it left.
fn leave_own_group(n: &Node, id: ContactId) -> ContactId {
    let mut moved: groups::Caller = n
        .store
        .get(&schema::CALLERS, &id.0)
        .expect("read")
        .expect("a caller");
    let left = moved.group;
    moved.group = id;
    let mut batch = WriteBatch::new();
    batch.put(&schema::CALLERS, &id.0, &moved).expect("put");
    n.store.commit(batch).expect("commit");
    left
}

/// What the check says of a contact `id` whose record no longer names `group`, which lists
/// it, and names itself instead.
fn left_lines(group: ContactId, id: ContactId) -> [String; 2] {
    [
        format!(
            "worker group {}: contact {} does not name it",
            short(&group.0),
            short(&id.0)
        ),
        format!(
            "contact {}: its worker group {} does not list it",
            short(&id.0),
            short(&id.0)
        ),
    ]
}

/// Rebuilds the index and shows the check matches again.
fn mended(n: &Node) {
    rebuild(&n.store, &n.vault).expect("rebuild");
    assert!(matches!(
        check(&n.store, &mut |_| {}).expect("check"),
        Checked::Matches { .. }
    ));
}

#[test]
fn an_index_kept_as_contacts_come_matches_and_each_damage_is_named() {
    let n = started();
    let ids = contacts(&n);
    let Checked::Matches { lists, contacts } = check(&n.store, &mut |_| {}).expect("check") else {
        panic!("an index kept as contacts came does not match");
    };
    assert_eq!(contacts, CONTACTS as usize);
    // Every contact, one set of values, two operators: each of those four kinds with its
    // repeat callers' list (the numbers repeat).
    assert!(lists >= 12, "{lists} lists");
    assert!(groups::count(&n.store, REPEAT).expect("count") > 0);

    // A contact missing from the list of every contact: its count and its keys differ.
    let gone = first(&n, ALL);
    damage(&n, ALL, &[(gone, false)]);
    let lines = differs(&n);
    assert!(
        lines.contains(&format!(
            "the list of every contact: holds {} contacts where the contacts give {CONTACTS}",
            CONTACTS - 1
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!(
            "the list of every contact: counted {CONTACTS}, holds {}",
            CONTACTS - 1
        )),
        "{lines:?}"
    );
    mended(&n);

    // Another contact in the place of one: the same count, not the same contacts.
    let mine = recorded("intake-a");
    let (held, other) = (first(&n, &mine), first(&n, &recorded("intake-b")));
    damage(&n, &mine, &[(held, false), (other, true)]);
    let lines = differs(&n);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("the list of intake-a's contacts: holds")
                && l.ends_with("but not those the contacts give")),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    mended(&n);

    // A count off by one.
    let mut batch = WriteBatch::new();
    batch
        .put(&schema::CONTACT_COUNTS, ALL, &(CONTACTS + 1))
        .expect("put");
    n.store.commit(batch).expect("commit");
    assert_eq!(
        differs(&n),
        [format!(
            "the list of every contact: counted {}, holds {CONTACTS}",
            CONTACTS + 1
        )]
    );
    mended(&n);

    // A repeat caller missing from the repeat list (its count put right too).
    let repeat = first(&n, REPEAT);
    damage(&n, REPEAT, &[(repeat, false)]);
    let held = groups::count(&n.store, REPEAT).expect("count");
    let mut batch = WriteBatch::new();
    batch
        .put(&schema::CONTACT_COUNTS, REPEAT, &(held as u64 - 1))
        .expect("put");
    n.store.commit(batch).expect("commit");
    let lines = differs(&n);
    assert_eq!(
        lines,
        [format!(
            "the list of repeat callers: holds {} contacts where the contacts give {held}",
            held - 1
        )]
    );
    mended(&n);

    // A contact naming a group that does not list it, and the group it left.
    let caller = ids
        .iter()
        .find_map(|id| {
            let c: groups::Caller = n.store.get(&schema::CALLERS, &id.0).expect("read")?;
            (c.group != *id && groups::group_size(&n.store, id).expect("size") >= 2)
                .then_some((*id, c))
        })
        .expect("a repeat caller named by another contact's group");
    let (id, _) = caller;
    let left = leave_own_group(&n, id);
    let lines = differs(&n);
    for line in left_lines(left, id) {
        assert!(lines.contains(&line), "{line} not in {lines:?}");
    }
    mended(&n);

    // A worker key leading to a group not held (so not to its contact's group).
    let (id, caller) = ids
        .iter()
        .find_map(|id| {
            let c: groups::Caller = n.store.get(&schema::CALLERS, &id.0).expect("read")?;
            (!c.keys.is_empty()).then_some((*id, c))
        })
        .expect("a contact with a worker key");
    let nowhere = ContactId([0xee; 16]);
    let mut batch = WriteBatch::new();
    batch
        .put(&schema::WORKER_KEYS, &caller.keys[0].0, &nowhere)
        .expect("put");
    n.store.commit(batch).expect("commit");
    // Each contact holding the key (the same number typed by each) is named, in id order.
    let key = caller.keys[0];
    let mut holders: Vec<(ContactId, ContactId)> = ids
        .iter()
        .filter_map(|other| {
            let c: groups::Caller = n.store.get(&schema::CALLERS, &other.0).expect("read")?;
            c.keys.contains(&key).then_some((*other, c.group))
        })
        .collect();
    holders.sort();
    assert!(holders.iter().any(|(h, _)| *h == id));
    let mut expected: Vec<String> = holders
        .iter()
        .map(|(h, group)| {
            format!(
                "contact {}: a worker key of it does not lead to its worker group {}",
                short(&h.0),
                short(&group.0)
            )
        })
        .collect();
    expected.push(format!(
        "worker key {}: leads to worker group {}, which is not held",
        short(&key.0),
        short(&nowhere.0)
    ));
    assert_eq!(differs(&n), expected);
    mended(&n);
}

/// Not built (contacts stored before the index, or after `ilm reindex`): said so, not
/// taken for damage.
#[test]
fn an_index_not_built_is_said_to_be_so() {
    let n = node();
    add(&n, 1, PHONES[0], "", RECORDERS[0], T0, false);
    assert_eq!(
        check(&n.store, &mut |_| {}).expect("check"),
        Checked::NotBuilt
    );
    assert!(groups::ensure(&n.store, &n.vault).expect("build"));
    assert_eq!(
        check(&n.store, &mut |_| {}).expect("check"),
        Checked::Matches {
            lists: 4,
            contacts: 1
        }
    );
    groups::invalidate(&n.store).expect("invalidate");
    assert_eq!(
        check(&n.store, &mut |_| {}).expect("check"),
        Checked::NotBuilt
    );
}

/// A damaged index in a large group (over the size whose members are held as a set): the
/// contact that left it is named, and none of those it still lists.
#[test]
fn a_large_groups_members_are_looked_for_in_it_once() {
    let n = started();
    let ids: Vec<ContactId> = (0..BIG as u64 + 6)
        .map(|i| add(&n, i, PHONES[0], "", RECORDERS[0], T0 + i * 60, true))
        .collect();
    assert!(matches!(
        check(&n.store, &mut |_| {}).expect("check"),
        Checked::Matches { .. }
    ));
    let group = n
        .store
        .get::<groups::Caller>(&schema::CALLERS, &ids[0].0)
        .expect("read")
        .expect("a caller")
        .group;
    let left = *ids.iter().find(|i| **i != group).expect("a member");
    assert_eq!(leave_own_group(&n, left), group);
    let lines = differs(&n);
    let [unnamed, unlisted] = left_lines(group, left);
    assert!(lines.contains(&unnamed), "{lines:?}");
    let unlisted_lines: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("does not list it"))
        .collect();
    assert_eq!(unlisted_lines, [&unlisted], "{lines:?}");
}
