//! The contact index against the read of every contact (`scan`), on a real store and vault:
//! after random additions, erasures one at a time and sweeps erasing many in one batch,
//! every page of every kind of query is the same; a rebuild gives the same groups.

use super::*;
use crate::contact_list::{ContactPage, ContactQuery, ContactSummary, Seen, scan, select};
use crate::datadir::DataDir;
use crate::intake::{AgeBand, Channel, Gender};
use crate::retention::{self, RetentionPolicy};
use ilm_protocol::Timestamp;
use proptest::prelude::*;
use std::collections::BTreeSet;

const DAY: u64 = 86_400;
pub(crate) const T0: u64 = 1_767_225_600;

/// The same numbers and ids in several formats, and values that are no key.
pub(crate) const PHONES: [&str; 7] = [
    "+66 81 234 5678",
    "081-234-5678",
    "+95 9 555 0101",
    "09 555 0101",
    "0815550000",
    "",
    "12",
];
pub(crate) const MESSENGERS: [&str; 5] = ["@Aye.Line", "aye.line", "min_123", "", "none"];
pub(crate) const RECORDERS: [Option<&str>; 3] = [Some("intake-a"), Some("intake-b"), None];

pub(crate) struct Node {
    /// The data directory (the vault key's).
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) vault: Vault,
}

pub(crate) fn node() -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = schema::open(&dir.path().join("db")).expect("store");
    let vault = Vault::open(&DataDir::new(dir.path())).expect("vault");
    Node { dir, store, vault }
}

/// A node whose index was built at its start, as the daemon builds it before it serves: a
/// search reads the search index.
pub(crate) fn started() -> Node {
    let n = node();
    assert!(ensure(&n.store, &n.vault).expect("ensure"));
    n
}

/// A contact as the intake stores it, unless `indexed` is false (the control).
pub(crate) fn add(
    n: &Node,
    i: u64,
    phone: &str,
    messenger: &str,
    recorder: Option<&str>,
    at: u64,
    indexed: bool,
) -> ContactId {
    // Ids in another order than the times, as random ids are.
    let mut id = [0u8; 16];
    id[0] = (i.wrapping_mul(97) % 251) as u8;
    id[8..].copy_from_slice(&i.to_be_bytes());
    let id = ContactId(id);
    let identity = WorkerIdentity {
        name: format!("Worker {i}"),
        phone: phone.into(),
        messenger_id: messenger.into(),
        id_numbers: Vec::new(),
    };
    let sealed = SealedContact {
        identity,
        notes: format!("note {i}"),
    };
    let kept = Indexed::of(&n.vault, &sealed).expect("keys");
    let contact = Contact {
        id,
        received_at: Timestamp(at),
        channel: Channel::Line,
        language: "my".into(),
        nationality: "MM".parse().expect("country"),
        gender: Gender::Female,
        age_band: AgeBand::From25To34,
        sector: "seafood".into(),
        origin: "MM".parse().expect("country"),
        destination: "TH".parse().expect("country"),
        case_ref: None,
        recorded_by: recorder.map(str::to_string),
        sealed: n.vault.seal_json(&id.0, &sealed).expect("seal"),
        erased: None,
    };
    let mut batch = WriteBatch::new();
    if indexed {
        crate::intake::stage_new(&n.store, &mut batch, &contact, kept).expect("stage");
    } else {
        batch.put(&schema::CONTACTS, &id.0, &contact).expect("put");
    }
    n.store.commit(batch).expect("commit");
    id
}

pub(crate) fn labels(c: &ContactSummary) -> String {
    format!("label {}", c.sector)
}

/// The first `most` pages of `query` (and the one past the last) from the index and from the
/// scan, as JSON.
fn pages(
    n: &Node,
    query: &ContactQuery,
    seen: &Seen,
    identities: bool,
    most: usize,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for page in 1..=most + 1 {
        let q = ContactQuery {
            page,
            ..query.clone()
        };
        let json = |p: ContactPage| serde_json::to_string(&p).expect("json");
        let indexed = select(&n.store, &n.vault, &q, seen, identities, &labels).expect("select");
        let last = page > indexed.pages;
        let full = scan::select(&n.store, &n.vault, &q, seen, identities, &labels).expect("scan");
        out.push((json(indexed), json(full)));
        if last {
            break;
        }
    }
    out
}

/// Asserts that every kind of query gives, page by page, what the scan gives.
fn same_as_scan(n: &Node, ids: &[ContactId]) {
    same_as_scan_to(n, ids, 8);
}

/// [`same_as_scan`] for the first `most` pages of each query.
fn same_as_scan_to(n: &Node, ids: &[ContactId], most: usize) {
    let seens = [
        Seen::All,
        Seen::RecordedBy("intake-a".into()),
        Seen::RecordedBy("intake-b".into()),
    ];
    for seen in &seens {
        for identities in [false, true] {
            for repeat in [false, true] {
                for q in [
                    "",
                    "worker 1",
                    "5678",
                    "label",
                    "nothing-matches",
                    "note",
                    "ote 1",
                ] {
                    for per_page in [1, 3, 50] {
                        let query = ContactQuery {
                            q: q.into(),
                            repeat,
                            per_page,
                            ..Default::default()
                        };
                        for (indexed, full) in pages(n, &query, seen, identities, most) {
                            assert_eq!(indexed, full, "{seen:?} {query:?} {identities}");
                        }
                    }
                }
                for id in ids {
                    let query = ContactQuery {
                        same_as: id.to_string(),
                        repeat,
                        per_page: 2,
                        ..Default::default()
                    };
                    for (indexed, full) in pages(n, &query, seen, identities, most) {
                        assert_eq!(indexed, full, "{seen:?} {query:?}");
                    }
                }
            }
        }
    }
}

/// Each contact's group, as sets of contacts (the names of groups may differ).
fn partition(n: &Node, ids: &[ContactId]) -> BTreeSet<Vec<ContactId>> {
    ids.iter()
        .map(|id| {
            let mut m = members(&n.store, id).expect("members");
            m.sort();
            m
        })
        .collect()
}

/// Every list's ids; and each list's count, checked against its keys.
fn lists(n: &Node) -> Vec<Vec<u8>> {
    let ids = LISTS
        .ids_prefixed(&n.store, &[], usize::MAX)
        .expect("lists")
        .unwrap_or_default();
    let mut names: Vec<Vec<u8>> = vec![ALL.to_vec(), REPEAT.to_vec()];
    for r in RECORDERS.iter().flatten() {
        names.extend([recorded(r), repeat_recorded(r)]);
    }
    for name in names {
        let keys = ids.iter().filter(|id| id.starts_with(&name)).count();
        assert_eq!(count(&n.store, &name).expect("count"), keys, "{name:?}");
    }
    ids
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        phone: usize,
        messenger: usize,
        recorder: usize,
        day: u64,
    },
    /// A worker's request to erase one contact.
    Erase(usize),
    /// A retention sweep erasing, in one batch, every identity received before this day.
    Sweep(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..PHONES.len(), 0..MESSENGERS.len(), 0..RECORDERS.len(), 0..10u64).prop_map(
            |(phone, messenger, recorder, day)| Op::Add { phone, messenger, recorder, day }
        ),
        1 => (0..64usize).prop_map(Op::Erase),
        1 => (0..12u64).prop_map(Op::Sweep),
    ]
}

fn run(n: &Node, ops: &[Op]) -> Vec<ContactId> {
    let mut ids = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Add {
                phone,
                messenger,
                recorder,
                day,
            } => ids.push(add(
                n,
                i as u64,
                PHONES[*phone],
                MESSENGERS[*messenger],
                RECORDERS[*recorder],
                T0 + day * DAY + i as u64,
                true,
            )),
            Op::Erase(k) if !ids.is_empty() => {
                retention::erase_contact(&n.store, &n.vault, ids[k % ids.len()]).expect("erase");
            }
            Op::Erase(_) => {}
            Op::Sweep(day) => {
                let policy = RetentionPolicy {
                    worker_identities_days: Some(1),
                    ..Default::default()
                };
                let now = Timestamp(T0 + (day + 1) * DAY);
                retention::sweep(&n.store, &n.vault, &policy, now).expect("sweep");
            }
        }
    }
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The index kept through additions and erasures lists, groups and pages contacts as
    /// the read of every contact does; a rebuild gives the same groups and lists.
    #[test]
    fn the_index_gives_the_pages_of_a_read_of_every_contact(ops in proptest::collection::vec(op(), 1..28)) {
        let n = started();
        let ids = run(&n, &ops);
        same_as_scan(&n, &ids);
        signatures::tests::check(&n.store, &n.vault);
        // What `ilm reindex --check` checks of it finds nothing amiss either.
        let checked = crate::contact_list::recount::check(&n.store, &mut |_| {}).expect("check");
        prop_assert!(
            matches!(checked, crate::contact_list::recount::Checked::Matches { .. }),
            "{:?}",
            checked
        );
        let (groups, held) = (partition(&n, &ids), lists(&n));
        rebuild(&n.store, &n.vault).expect("rebuild");
        prop_assert_eq!(partition(&n, &ids), groups);
        prop_assert_eq!(lists(&n), held);
        signatures::tests::check(&n.store, &n.vault);
    }
}

/// Three contacts linked only through the middle one (a number, then a messenger id): one
/// worker; erasing the middle one splits them, as the scan does. A sweep erasing two of a
/// group in one batch leaves the third alone.
#[test]
fn an_erased_link_splits_the_worker_it_joined() {
    let n = started();
    let a = add(&n, 1, "+66 81 234 5678", "", Some("intake-a"), T0, true);
    let b = add(
        &n,
        2,
        "081-234-5678",
        "@Aye.Line",
        Some("intake-b"),
        T0 + DAY,
        true,
    );
    let c = add(&n, 3, "", "aye.line", None, T0 + 5 * DAY, true);
    assert_eq!(group_size(&n.store, &a).expect("size"), 3);
    same_as_scan(&n, &[a, b, c]);
    retention::erase_contact(&n.store, &n.vault, b).expect("erase");
    for id in [a, b, c] {
        assert_eq!(group_size(&n.store, &id).expect("size"), 1, "{id}");
    }
    same_as_scan(&n, &[a, b, c]);

    let d = add(&n, 4, "+95 9 555 0101", "", None, T0 + 6 * DAY, true);
    let e = add(&n, 5, "+95 9 555 0101", "min_123", None, T0 + 7 * DAY, true);
    let f = add(&n, 6, "", "min_123", None, T0 + 20 * DAY, true);
    assert_eq!(group_size(&n.store, &f).expect("size"), 3);
    let policy = RetentionPolicy {
        worker_identities_days: Some(10),
        ..Default::default()
    };
    retention::sweep(&n.store, &n.vault, &policy, Timestamp(T0 + 18 * DAY)).expect("sweep");
    assert_eq!(group_size(&n.store, &f).expect("size"), 1);
    same_as_scan(&n, &[a, b, c, d, e, f]);
}

/// More contacts than one block of a list holds (32), by two operators and of workers who
/// call again: every page of every query equals the scan's, as the lists split into blocks.
#[test]
fn lists_of_many_blocks_page_as_the_scan_does() {
    let n = started();
    let mut ids = Vec::new();
    for i in 0..110u64 {
        let phone = format!("+66 81 {:03} {:04}", i / 3, i % 7);
        ids.push(add(
            &n,
            i,
            &phone,
            if i % 11 == 0 { "shared.id" } else { "" },
            RECORDERS[(i % 3) as usize],
            T0 + (i % 13) * DAY + i,
            true,
        ));
    }
    assert!(
        LISTS
            .ids_prefixed(&n.store, ALL, 31)
            .expect("ids")
            .is_none()
    );
    same_as_scan_to(&n, &ids[..4], 200);
}

/// A node builds the index once from contacts stored without it (an upgrade's first start),
/// not at the next start; after `invalidate` (what `ilm reindex` does) it builds it again.
#[test]
fn the_index_is_built_at_the_first_start_and_after_a_reindex() {
    let n = node();
    let ids: Vec<ContactId> = (0..6u64)
        .map(|i| {
            let phone = if i % 2 == 0 { "+66 81 234 5678" } else { "" };
            add(&n, i, phone, "", RECORDERS[(i % 3) as usize], T0 + i, false)
        })
        .collect();
    assert_eq!(
        count(&n.store, ALL).expect("count"),
        0,
        "nothing indexed yet"
    );
    assert!(ensure(&n.store, &n.vault).expect("ensure"));
    assert_eq!(count(&n.store, ALL).expect("count"), 6);
    assert_eq!(group_size(&n.store, &ids[0]).expect("size"), 3);
    same_as_scan(&n, &ids);
    assert!(!ensure(&n.store, &n.vault).expect("ensure"), "built once");
    invalidate(&n.store).expect("invalidate");
    assert!(ensure(&n.store, &n.vault).expect("ensure"));
    assert_eq!(
        count(&n.store, ALL).expect("count"),
        6,
        "rebuilt, not added twice"
    );
    same_as_scan(&n, &ids);
}

/// A rebuild cut short by a failed write, at each of its flushes in turn, reports it and
/// leaves the index marked unbuilt (its batches skip the undo: [`Store::commit_unmarked`]),
/// so the next start builds it again whole; the index is whole after each.
#[test]
fn a_rebuild_cut_short_at_any_write_is_done_again_at_the_next_start() {
    let n = node();
    // Over three blocks of the search index: a rebuild of several batches.
    let ids: Vec<ContactId> = (0..3 * signatures::BLOCK + 5)
        .map(|i| {
            let phone = PHONES[(i % PHONES.len() as u64) as usize];
            let messenger = MESSENGERS[(i % MESSENGERS.len() as u64) as usize];
            add(
                &n,
                i,
                phone,
                messenger,
                RECORDERS[(i % 3) as usize],
                T0 + i * DAY / 7,
                false,
            )
        })
        .collect();
    assert!(ensure(&n.store, &n.vault).expect("ensure"));
    let (groups, held) = (partition(&n, &ids), lists(&n));
    // A rebuild over a built index (as after `ilm reindex`) clears each of its tables too.
    let before = n.store.flush_count();
    rebuild(&n.store, &n.vault).expect("rebuild");
    let flushes = n.store.flush_count() - before;
    assert!(
        flushes > 10,
        "a rebuild of several batches ({flushes} flushes)"
    );
    for passing in 0..flushes {
        n.store.inject_flush_failure_after(passing);
        assert!(
            rebuild(&n.store, &n.vault).is_err(),
            "the failed flush after {passing} is reported"
        );
        reopened(&n.store);
        // The first is the unmarking's own (undone): the index stays whole and marked.
        assert_eq!(
            ensure(&n.store, &n.vault).expect("ensure"),
            passing > 0,
            "built again at the next start after the flush after {passing} failed"
        );
        assert_eq!(partition(&n, &ids), groups);
        assert_eq!(lists(&n), held);
        signatures::tests::check(&n.store, &n.vault);
    }
}

/// Waits for `store` to read again after a failed flush (it reopens its database at most
/// every half second: a read sooner fails).
fn reopened(store: &Store) {
    for _ in 0..500 {
        if store.get(&schema::CONTACT_INDEX, b"version").is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the store did not read again within 10 s of a failed flush");
}

/// The control: a contact stored without its index is neither listed nor grouped, which the
/// comparison with the scan finds; so does an erasure that leaves the index as it was.
#[test]
fn a_contact_stored_without_its_index_is_found_missing() {
    let n = node();
    let a = add(&n, 1, "+66 81 234 5678", "", None, T0, true);
    let b = add(&n, 2, "081-234-5678", "", None, T0 + 1, false);
    let all = ContactQuery {
        per_page: 50,
        ..Default::default()
    };
    let indexed = select(&n.store, &n.vault, &all, &Seen::All, false, &labels).expect("select");
    let full = scan::select(&n.store, &n.vault, &all, &Seen::All, false, &labels).expect("scan");
    assert_eq!(full.total, 2, "the scan lists both");
    assert_eq!(full.contacts[0].contacts_by_worker, 2);
    assert_eq!(indexed.total, 1, "the index lists only the indexed one");
    assert_eq!(indexed.contacts[0].contacts_by_worker, 1);
    assert!(std::panic::catch_unwind(|| same_as_scan(&n, &[a, b])).is_err());

    // An erasure that leaves the index as it was keeps the worker's group.
    let m = node();
    let a = add(&m, 1, "+66 81 234 5678", "", None, T0, true);
    let b = add(&m, 2, "081-234-5678", "", None, T0 + 1, true);
    let mut contact: Contact = m
        .store
        .get(&schema::CONTACTS, &b.0)
        .expect("get")
        .expect("contact");
    contact.sealed = m
        .vault
        .seal_json(
            &b.0,
            &SealedContact {
                identity: WorkerIdentity::default(),
                notes: String::new(),
            },
        )
        .expect("seal");
    let mut batch = WriteBatch::new();
    batch.put(&schema::CONTACTS, &b.0, &contact).expect("put");
    m.store.commit(batch).expect("commit");
    assert_eq!(group_size(&m.store, &a).expect("size"), 2);
    assert!(std::panic::catch_unwind(|| same_as_scan(&m, &[a, b])).is_err());
}

/// The index holds a phone number only as a hash keyed with the vault: the key this node
/// computes is there, the same number hashed under another vault's key (a copy of the
/// database without the vault) or without a key is not, and its digits are nowhere.
#[test]
fn phone_numbers_are_held_only_as_hashes_keyed_with_the_vault() {
    let n = node();
    add(&n, 1, "+66 81 234 5678", "", None, T0, true);
    add(&n, 2, "081-234-5678", "@Aye.Line", None, T0 + 1, true);
    let held: Vec<Vec<u8>> = n
        .store
        .ids_prefixed(&schema::WORKER_KEYS, &[], usize::MAX)
        .expect("keys")
        .unwrap_or_default();
    let identity = WorkerIdentity {
        phone: "+66 81 234 5678".into(),
        ..Default::default()
    };
    let ours = worker_keys(&n.vault, &identity).expect("keys");
    let messenger = WorkerIdentity {
        messenger_id: "@Aye.Line".into(),
        ..Default::default()
    };
    let ours_too = worker_keys(&n.vault, &messenger).expect("keys");
    let mut want = vec![ours[0].0.to_vec(), ours_too[0].0.to_vec()];
    want.sort();
    assert_eq!(held, want, "the positive control: found");
    let other = node();
    let theirs = worker_keys(&other.vault, &identity).expect("keys");
    assert!(!held.contains(&theirs[0].0.to_vec()));
    use sha2::Digest;
    let unkeyed = sha2::Sha256::digest(b"p:812345678");
    assert!(!held.iter().any(|k| unkeyed.starts_with(k)));
    // Every id and value the index holds, values as JSON.
    let mut bytes = Vec::new();
    let mut hold = |id: Vec<u8>, value: String| {
        bytes.extend(id);
        bytes.extend(value.into_bytes());
    };
    let json = |v: &dyn erased_json::Json| v.json();
    for (id, v) in n.store.scan_with_ids(&schema::WORKER_KEYS).expect("scan") {
        hold(id, json(&v));
    }
    for (id, v) in n.store.scan_with_ids(&schema::CALLERS).expect("scan") {
        hold(id, json(&v));
    }
    for (id, v) in n.store.scan_with_ids(&schema::WORKER_GROUPS).expect("scan") {
        hold(id, json(&v));
    }
    for (id, v) in n.store.scan_with_ids(&schema::CONTACT_LISTS).expect("scan") {
        hold(id, json(&v));
    }
    assert!(!bytes.is_empty());
    for value in [&b"812345678"[..], b"aye.line", b"Aye.Line"] {
        assert!(!bytes.windows(value.len()).any(|w| w == value));
    }
}

mod erased_json {
    /// A value shown as JSON, whatever its type.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
