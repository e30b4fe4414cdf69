//! Retention: how long each class of personal data is kept, the sweep that erases what has
//! expired, and `ilm erase contact` for a worker who asks to be forgotten.
//!
//! Erasing re-seals a contact without the erased parts and removes received disclosures; it
//! never touches the signed case events other organisations rely on. The old sealed bytes
//! stay in the database engine's log until the next compaction, which the node runs at its
//! next start (or `ilm db compact` runs offline): a sweep that erased anything marks it due.
//!
//! Architecture invariant: nothing in this module logs or returns personal data; reports are
//! counts.

use crate::clock::now;
use crate::contact_list::signatures::GramKey;
use crate::intake::{Contact, ContactId, SealedContact, WorkerIdentity};
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use crate::vault::{Vault, VaultError};
use ilm_protocol::{CaseRef, CaseState, Timestamp};
use serde::{Deserialize, Serialize};

const DAY: u64 = 86_400;

/// The `[retention]` section of `config.toml`: days each class of data is kept (none: kept
/// until erased by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionPolicy {
    /// A worker's sealed identity (name, phone, messenger id, ID numbers): days after the
    /// contact, once no open case holds it.
    pub worker_identities_days: Option<u32>,
    /// The operator's notes of a contact: days after the contact, once no open case holds it.
    pub contact_notes_days: Option<u32>,
    /// Days after a case closes before its contacts' identities and notes and the identities
    /// disclosed to this node for it are erased (its signed events stay).
    pub closed_cases_days: Option<u32>,
    /// Days delivered and refused outbox entries are kept (their counts stay); the outbox
    /// prunes them itself.
    pub delivered_outbox_days: u32,
}

impl RetentionPolicy {
    /// How long the outbox keeps finished entries.
    pub fn outbox_retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.delivered_outbox_days.max(1)) * DAY)
    }
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            worker_identities_days: None,
            contact_notes_days: None,
            closed_cases_days: None,
            delivered_outbox_days: 7,
        }
    }
}

/// What was erased from one contact, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// When the identity was erased.
    pub identity_at: Option<Timestamp>,
    /// When the notes were erased.
    pub notes_at: Option<Timestamp>,
    /// Whether a worker asked for it (`ilm erase contact`), rather than retention.
    #[serde(default)]
    pub requested: bool,
}

/// What one sweep erased (counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// When it ran.
    pub at: Timestamp,
    /// Identities erased.
    pub identities: u64,
    /// Contact notes erased.
    pub notes: u64,
    /// Received disclosures removed.
    pub disclosures: u64,
}

impl SweepReport {
    fn erased_personal_data(&self) -> bool {
        self.identities + self.notes + self.disclosures > 0
    }
}

/// The retention record kept in the database: the last sweep and the totals so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionState {
    /// The last sweep.
    pub last: Option<SweepReport>,
    /// Identities erased so far (retention and requests).
    pub identities_total: u64,
    /// Contact notes erased so far.
    pub notes_total: u64,
    /// Received disclosures removed so far.
    pub disclosures_total: u64,
}

/// Why a sweep or an erasure failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed contact did not open or could not be sealed again.
    #[error("contact {0}: {1}")]
    Vault(ContactId, VaultError),
    /// No such contact.
    #[error("no contact {0}")]
    NoContact(ContactId),
}

/// The id of the one record of [`schema::RETENTION`].
const STATE_ID: &[u8] = b"retention";

/// The retention record (empty before the first sweep).
pub fn state(store: &Store) -> Result<RetentionState, StoreError> {
    Ok(store.get(&schema::RETENTION, STATE_ID)?.unwrap_or_default())
}

fn case_state(store: &Store, case: &CaseRef) -> Result<Option<CaseState>, StoreError> {
    crate::cases::state_of(store, case)
}

fn older_than(t: Timestamp, days: Option<u32>, now: Timestamp) -> bool {
    days.is_some_and(|d| t.0.saturating_add(u64::from(d) * DAY) <= now.0)
}

/// Re-seals `contact` without its identity and/or notes, staging the write in `batch`.
/// Returns which parts were erased now.
#[allow(clippy::too_many_arguments)]
fn stage_erasure(
    store: &Store,
    batch: &mut WriteBatch,
    index: &mut crate::contact_list::groups::Pending,
    vault: &Vault,
    mut contact: Contact,
    identity: bool,
    notes: bool,
    requested: bool,
    at: Timestamp,
) -> Result<(bool, bool), RetentionError> {
    let mut erasure = contact.erased.clone().unwrap_or_default();
    let mut identity = identity && erasure.identity_at.is_none();
    let mut notes = notes && erasure.notes_at.is_none();
    if !identity && !notes {
        return Ok((false, false));
    }
    let id = contact.id;
    let mut sealed: SealedContact = match vault.open_json(&id.0, &contact.sealed) {
        Ok(s) => s,
        // Sealed with a key this node no longer holds (`ilm key replace-vault`), or damaged:
        // nobody can read it, and one such contact must not stop every erasure. It is
        // sealed again holding nothing, identity and notes both; what the contact index
        // holds of it cannot be known, so the index is built again at the next start.
        Err(VaultError::Open) => {
            identity |= erasure.identity_at.is_none();
            notes |= erasure.notes_at.is_none();
            batch.remove(&schema::CONTACT_INDEX, b"version");
            SealedContact {
                identity: WorkerIdentity::default(),
                notes: String::new(),
            }
        }
        Err(e) => return Err(RetentionError::Vault(id, e)),
    };
    let gram_key = GramKey::of(vault).map_err(|e| RetentionError::Vault(id, e))?;
    let was = sealed.clone();
    if identity {
        sealed.identity = WorkerIdentity::default();
        erasure.identity_at = Some(at);
    }
    if notes {
        sealed.notes = String::new();
        erasure.notes_at = Some(at);
    }
    erasure.requested |= requested;
    contact.sealed = vault
        .seal_json(&id.0, &sealed)
        .map_err(|e| RetentionError::Vault(id, e))?;
    contact.erased = Some(erasure);
    batch.put(&schema::CONTACTS, &id.0, &contact)?;
    // What was erased can no longer be searched for, even as bits of the index.
    index.resealed(store, &gram_key, &id, &was, &sealed)?;
    if identity {
        // Its phone number and messenger id no longer group it with anyone.
        index.erased(store, &id)?;
    }
    Ok((identity, notes))
}

fn commit_with_state(
    store: &Store,
    mut batch: WriteBatch,
    report: &SweepReport,
    record_sweep: bool,
) -> Result<(), StoreError> {
    let mut st = state(store)?;
    st.identities_total += report.identities;
    st.notes_total += report.notes;
    st.disclosures_total += report.disclosures;
    if record_sweep {
        st.last = Some(report.clone());
    }
    batch.put(&schema::RETENTION, STATE_ID, &st)?;
    // The flag goes first: once the erasure is visible (or durable), the compaction that
    // removes the old bytes is already due. A failed commit leaves only a needless compaction.
    if report.erased_personal_data() {
        store.mark_compaction_due()?;
    }
    store.commit(batch)?;
    Ok(())
}

/// Records a sweep reads at a time: it reads the contacts and received disclosures a chunk
/// at a time, and the state of each case they name, never every case or every contact at
/// once (a node may hold a million cases). What it erases waits in one batch until the
/// sweep's end, with its record.
const SWEEP_CHUNK: usize = 512;

/// Whether a case holds its personal data: open (or unknown here), closed, or closed long
/// enough that `policy` says its personal data goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CaseHold {
    Open,
    Closed,
    Expired,
}

fn case_hold(
    store: &Store,
    case: &CaseRef,
    policy: &RetentionPolicy,
    now: Timestamp,
) -> Result<CaseHold, StoreError> {
    Ok(match case_state(store, case)?.and_then(|s| s.closed) {
        None => CaseHold::Open,
        Some(c) if older_than(c.at, policy.closed_cases_days, now) => CaseHold::Expired,
        Some(_) => CaseHold::Closed,
    })
}

/// Erases what `policy` says has expired at `now`, in one batch with the retention record.
/// Callers serialise it with other writers of contacts (the API's intake lock).
pub fn sweep(
    store: &Store,
    vault: &Vault,
    policy: &RetentionPolicy,
    now: Timestamp,
) -> Result<SweepReport, RetentionError> {
    sweep_in_chunks(store, vault, policy, now, SWEEP_CHUNK)
}

/// [`sweep`], reading `chunk` records at a time (tests cross chunks with a small one).
fn sweep_in_chunks(
    store: &Store,
    vault: &Vault,
    policy: &RetentionPolicy,
    now: Timestamp,
    chunk: usize,
) -> Result<SweepReport, RetentionError> {
    let mut report = SweepReport {
        at: now,
        ..Default::default()
    };
    let mut batch = WriteBatch::new();
    let mut index = crate::contact_list::groups::Pending::new();
    // Cases closed long enough: the identities disclosed to this node for them go (their
    // ids start with the case, so each case's state is read once).
    if policy.closed_cases_days.is_some() {
        let mut from = Vec::new();
        let mut last: Option<(CaseRef, CaseHold)> = None;
        loop {
            let ids = store.ids_from(&schema::DISCLOSURES, &[], &from, chunk)?;
            let Some(next) = ids.last().map(|id| [id.as_slice(), &[0]].concat()) else {
                break;
            };
            for id in &ids {
                let Some(case) = id.get(..16).and_then(|b| <[u8; 16]>::try_from(b).ok()) else {
                    continue;
                };
                let case = CaseRef(case);
                let hold = match last {
                    Some((c, hold)) if c == case => hold,
                    _ => case_hold(store, &case, policy, now)?,
                };
                last = Some((case, hold));
                if hold == CaseHold::Expired {
                    batch.remove(&schema::DISCLOSURES, id);
                    report.disclosures += 1;
                }
            }
            from = next;
        }
    }
    let mut from = Vec::new();
    loop {
        let contacts = store.entries_from(&schema::CONTACTS, &[], &from, chunk)?;
        let Some(next) = contacts
            .last()
            .map(|(id, _)| [id.as_slice(), &[0]].concat())
        else {
            break;
        };
        for (_, contact) in contacts {
            let hold = match &contact.case_ref {
                // No case holds it open; only its own periods apply.
                None => CaseHold::Closed,
                Some(c) => case_hold(store, c, policy, now)?,
            };
            if hold == CaseHold::Open {
                continue;
            }
            let case_expired = hold == CaseHold::Expired;
            let identity =
                case_expired || older_than(contact.received_at, policy.worker_identities_days, now);
            let notes =
                case_expired || older_than(contact.received_at, policy.contact_notes_days, now);
            let id = contact.id;
            let (i, n) = stage_erasure(
                store, &mut batch, &mut index, vault, contact, identity, notes, false, now,
            )?;
            if i || n {
                crate::portal::thread::stage_erasure(store, &mut batch, &id)?;
            }
            report.identities += u64::from(i);
            report.notes += u64::from(n);
        }
        from = next;
    }
    index.stage(store, &mut batch)?;
    commit_with_state(store, batch, &report, true)?;
    Ok(report)
}

/// Erases one contact's identity and notes at a worker's request, whatever the retention
/// periods and even while a case holds it (the case keeps its signed events and counts).
/// Returns false when it was erased already.
pub fn erase_contact(store: &Store, vault: &Vault, id: ContactId) -> Result<bool, RetentionError> {
    let contact = store
        .get(&schema::CONTACTS, &id.0)?
        .ok_or(RetentionError::NoContact(id))?;
    let mut batch = WriteBatch::new();
    let mut index = crate::contact_list::groups::Pending::new();
    let at = now();
    let (i, n) = stage_erasure(
        store, &mut batch, &mut index, vault, contact, true, true, true, at,
    )?;
    if !i && !n {
        return Ok(false);
    }
    index.stage(store, &mut batch)?;
    // A report made through the portal: its messages go too, and its receipt opens nothing.
    crate::portal::thread::stage_erasure(store, &mut batch, &id)?;
    let report = SweepReport {
        at,
        identities: u64::from(i),
        notes: u64::from(n),
        ..Default::default()
    };
    commit_with_state(store, batch, &report, false)?;
    Ok(true)
}

/// Runs a sweep now and then every `every`, until the node stops.
pub async fn run_sweeps(
    st: std::sync::Arc<crate::app::ApiState>,
    policy: RetentionPolicy,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let guard = st.intake_lock.lock().await;
        let (store, vault, policy2) = (st.store.clone(), st.vault.clone(), policy.clone());
        let res = tokio::task::spawn_blocking(move || sweep(&store, &vault, &policy2, now())).await;
        drop(guard);
        match res {
            Ok(Ok(r)) if r.erased_personal_data() => tracing::info!(
                identities = r.identities,
                notes = r.notes,
                disclosures = r.disclosures,
                "retention sweep erased expired data"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("retention sweep failed, nothing erased: {e}"),
            Err(e) => tracing::warn!("retention sweep stopped: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::DataDir;

    const T0: Timestamp = Timestamp(1_767_225_600);

    /// A reader that sees the sweep's record must also see the compaction it made due: the
    /// status page shows both, and a crash between them must not leave erased bytes behind.
    #[test]
    fn the_compaction_is_due_before_the_sweep_that_needs_it_is_visible() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = schema::open(&dir.path().join("db")).expect("store");
        let vault = Vault::open(&DataDir::new(dir.path())).expect("vault");
        let report = crate::portal::thread::tests::report();
        crate::portal::thread::create(&store, &vault, report, T0).expect("contact");
        let policy = RetentionPolicy {
            worker_identities_days: Some(30),
            ..Default::default()
        };
        // A slow disk widens the window between the two writes, should they be apart.
        store.inject_flush_delay(std::time::Duration::from_millis(300));
        let later = Timestamp(T0.0 + 100 * DAY);
        let seen = std::thread::scope(|s| {
            let watcher = s.spawn(|| {
                loop {
                    let swept = state(&store).expect("state").last.is_some();
                    let due = store.compaction_due().expect("flag");
                    if swept {
                        return due;
                    }
                    std::thread::yield_now();
                }
            });
            let done = sweep(&store, &vault, &policy, later).expect("sweep");
            assert_eq!(done.identities, 1, "the sweep erased the expired identity");
            watcher.join().expect("watcher")
        });
        assert!(
            seen,
            "the sweep's record was visible before its compaction was due"
        );
        assert!(store.compaction_due().expect("flag"));
    }

    /// A contact whose sealed part does not open (sealed with a key the node no longer
    /// holds, after `ilm key replace-vault`) stops neither a sweep nor an erasure asked for:
    /// it is sealed again holding nothing, its notes with it, and the others are erased too
    /// (one such contact used to fail every sweep, so that no identity was erased again).
    #[test]
    fn a_contact_that_does_not_open_stops_no_erasure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = schema::open(&dir.path().join("db")).expect("store");
        let vault = Vault::open(&DataDir::new(dir.path())).expect("vault");
        for _ in 0..3 {
            let report = crate::portal::thread::tests::report();
            crate::portal::thread::create(&store, &vault, report, T0).expect("contact");
        }
        let other = tempfile::tempdir().expect("tempdir");
        let lost = Vault::open(&DataDir::new(other.path())).expect("another key");
        let ids = store.ids_after(&schema::CONTACTS, 0, 3).expect("ids");
        let mut batch = WriteBatch::new();
        for id in &ids[..2] {
            let mut c: Contact = store
                .get(&schema::CONTACTS, id)
                .expect("get")
                .expect("a contact");
            let was: SealedContact = vault.open_json(&c.id.0, &c.sealed).expect("opens");
            c.sealed = lost.seal_json(&c.id.0, &was).expect("seal");
            batch.put(&schema::CONTACTS, id, &c).expect("put");
        }
        store.commit(batch).expect("commit");
        let policy = RetentionPolicy {
            worker_identities_days: Some(30),
            ..Default::default()
        };
        let later = Timestamp(T0.0 + 100 * DAY);
        let index = crate::contact_list::groups::is_built;
        crate::contact_list::groups::ensure(&store, &vault).expect("index");
        assert!(index(&store).expect("built"));
        let done = sweep(&store, &vault, &policy, later).expect("sweep");
        // Every identity, and the notes of those that did not open (the others' are kept).
        assert_eq!((done.identities, done.notes), (3, 2));
        // What the contact index held of those cannot be known: it is built again at the
        // next start.
        assert!(!index(&store).expect("marked"));
        assert!(crate::contact_list::groups::ensure(&store, &vault).expect("rebuilt"));
        for id in &ids {
            let c: Contact = store
                .get(&schema::CONTACTS, id)
                .expect("get")
                .expect("a contact");
            let erased = c.erased.expect("erased");
            assert!(erased.identity_at.is_some());
            let now: SealedContact = vault.open_json(&c.id.0, &c.sealed).expect("opens now");
            assert_eq!(now.identity.name, "");
        }
        // Asked for by the worker, for a contact that opens: the index is kept as it is
        // (positive control for the mark below).
        let report = crate::portal::thread::tests::report();
        let id = crate::portal::thread::create(&store, &vault, report, later)
            .expect("contact")
            .contact;
        assert!(erase_contact(&store, &vault, id).expect("erased"));
        assert!(index(&store).expect("kept"));
        // Asked for by the worker, for a contact that does not open.
        let report = crate::portal::thread::tests::report();
        let id = crate::portal::thread::create(&store, &vault, report, later)
            .expect("contact")
            .contact;
        let mut c: Contact = store
            .get(&schema::CONTACTS, &id.0)
            .expect("get")
            .expect("it");
        c.sealed = lost.seal(&id.0, b"{}").expect("seal");
        let mut batch = WriteBatch::new();
        batch.put(&schema::CONTACTS, &id.0, &c).expect("put");
        store.commit(batch).expect("commit");
        assert!(erase_contact(&store, &vault, id).expect("erased"));
        assert!(!index(&store).expect("marked"));
    }

    /// A sweep reads the state of each case its contacts and received disclosures name, and
    /// no other: a case record nothing names is not read (the sweep used to read every case,
    /// and hold them all, at each run). What it erases is unchanged: the disclosures of a case
    /// closed long enough go, those of an open case stay, expired identities go; the same
    /// read one record at a time (every chunk boundary crossed) as with the default chunk.
    #[test]
    fn a_sweep_reads_only_the_cases_its_contacts_and_disclosures_name() {
        for chunk in [1, SWEEP_CHUNK] {
            swept_in_chunks_of(chunk);
        }
    }

    fn swept_in_chunks_of(chunk: usize) {
        const NOT_A_CASE: crate::store::Table<String> =
            crate::store::Table::new(b'C', "not a case record");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = schema::open(&dir.path().join("db")).expect("store");
        let vault = Vault::open(&DataDir::new(dir.path())).expect("vault");
        for _ in 0..2 {
            let report = crate::portal::thread::tests::report();
            crate::portal::thread::create(&store, &vault, report, T0).expect("contact");
        }
        let base = crate::aggregates::tests::states_of_one_case(2).remove(1);
        let mut closed = base.clone();
        closed.case_ref = CaseRef([1; 16]);
        closed.closed = Some(ilm_protocol::lifecycle::Closure {
            at: T0,
            outcome: "resolved".into(),
        });
        let mut open = base;
        open.case_ref = CaseRef([2; 16]);
        let unread = CaseRef([3; 16]);
        let sealed = vault.seal(b"disclosure", b"sealed identity").expect("seal");
        let mut batch = WriteBatch::new();
        for s in [&closed, &open] {
            crate::cases::put_record(&mut batch, s, &[]).expect("put");
            for message in [[8; 16], [9; 16]] {
                let id = [s.case_ref.as_bytes().as_slice(), &message].concat();
                batch.put(&schema::DISCLOSURES, &id, &sealed).expect("put");
            }
        }
        batch
            .put(&NOT_A_CASE, unread.as_bytes(), &"damaged".to_string())
            .expect("put");
        store.commit(batch).expect("commit");
        assert!(
            crate::cases::state_of(&store, &unread).is_err(),
            "control: reading that case fails"
        );
        let policy = RetentionPolicy {
            worker_identities_days: Some(30),
            closed_cases_days: Some(30),
            ..Default::default()
        };
        let later = Timestamp(T0.0 + 100 * DAY);
        let done = sweep_in_chunks(&store, &vault, &policy, later, chunk).expect("sweep");
        assert_eq!((done.identities, done.disclosures), (2, 2), "chunk {chunk}");
        assert!(
            !store
                .any_prefixed(&schema::DISCLOSURES, closed.case_ref.as_bytes())
                .expect("read")
        );
        assert_eq!(
            store
                .count_prefixed(&schema::DISCLOSURES, open.case_ref.as_bytes())
                .expect("read"),
            2
        );
    }
}
