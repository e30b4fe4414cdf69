//! A report raised through the portal and the conversation that follows it. The report
//! becomes a contact in the CSO's intake (identity and words sealed, like any contact); the
//! thread keeps the passphrase's hash, the abuse counters and the messages (sealed). Only
//! the hash of the receipt code is stored, as the key that finds the thread.
//!
//! Every function here writes through the store; callers hold the API's intake lock (the
//! only writer of contacts and their aggregates).

use super::credentials::{CodeError, Passphrase, PassphraseHash, Receipt};
use crate::intake::{AgeBand, Channel, Contact, ContactId, Gender, SealedContact, WorkerIdentity};
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use crate::vault::{Sealed, Vault, VaultError};
use ilm_protocol::{CaseState, CaseStatus, Country, Timestamp};
use serde::{Deserialize, Serialize};

/// Failed passphrase checks a receipt allows per hour before it is locked for an hour.
pub const MAX_FAILED_CHECKS: usize = 5;
/// Messages a worker may send on one report per day.
pub const MAX_WORKER_MESSAGES_PER_DAY: usize = 10;
/// Messages a thread takes from the worker at most (then the worker is asked to call the
/// helpline; the helpline may still answer).
pub const MAX_MESSAGES: usize = 200;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

/// Why a portal operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The input breaks a rule (said in the message, which never repeats the input).
    #[error("{0}")]
    Invalid(&'static str),
    /// No report with this receipt and passphrase (the same answer for either being wrong).
    #[error("no report with this receipt code and passphrase")]
    NotFound,
    /// Too many wrong passphrases for this receipt: locked until then.
    #[error("too many wrong passphrases; try again later")]
    Locked(Timestamp),
    /// The worker sent as many messages as allowed for now.
    #[error("too many messages for now")]
    TooManyMessages,
    /// A code could not be made or read.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealed data did not open.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The blocking task doing the work did not finish (it panicked or was cancelled).
    #[error("the portal's storage task stopped: {0}")]
    Task(String),
}

/// Runs a portal operation on the blocking pool (it writes through the store).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PortalError> + Send + 'static,
) -> Result<T, PortalError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(PortalError::Task(e.to_string())))
}

/// Who raises the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reporter {
    /// The worker it happened to.
    Worker,
    /// A mobilizer, friend or family member helping workers.
    Helper,
}

/// A report as the portal's form gives it, checked.
#[derive(Clone)]
pub struct Report {
    /// Who raises it.
    pub reporter: Reporter,
    /// The portal language it was written in (ISO 639 code).
    pub language: String,
    /// What happened, in the worker's words.
    pub what_happened: String,
    /// Where (site, town).
    pub place: String,
    /// The employer or recruitment agency.
    pub employer: String,
    /// How many workers it affects, if known.
    pub workers: Option<u32>,
    /// Sector code (as the intake form's).
    pub sector: String,
    /// Country of origin.
    pub origin: Country,
    /// Country of work.
    pub destination: Country,
    /// Gender, if given.
    pub gender: Gender,
    /// Age band, if given.
    pub age_band: AgeBand,
    /// Name, if given (for a callback).
    pub name: String,
    /// Phone, if given.
    pub phone: String,
    /// Messenger id, if given.
    pub messenger_id: String,
    /// Whether the helpline may call or message back.
    pub may_contact: bool,
    /// Whether the problem may be raised with the employer or agency without the name.
    pub may_raise: bool,
}

impl Report {
    /// The caseworkers' note of the report: its words and the worker's choices, labelled in
    /// English (the CSO's working language for stored notes), sealed with the contact.
    fn notes(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let reporter = match self.reporter {
            Reporter::Worker => "the worker",
            Reporter::Helper => "someone helping workers",
        };
        let workers = self.workers.map(|n| n.to_string()).unwrap_or_default();
        format!(
            "Raised through the workers' portal by {reporter}.\nWhat happened: {}\nWhere: {}\nEmployer or agency: {}\nWorkers affected: {workers}\nMay the helpline contact them back: {}\nMay the problem be raised with the employer or agency without their name: {}",
            self.what_happened,
            self.place,
            self.employer,
            yes(self.may_contact),
            yes(self.may_raise),
        )
    }
}

/// Which side wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The worker (or their helper), through the portal.
    Worker,
    /// The CSO's caseworkers.
    Cso,
}

/// One message of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub from: Side,
    /// When.
    pub at: Timestamp,
    /// The text.
    pub text: String,
    /// The operator who answered (never shown on the portal).
    #[serde(default)]
    pub by: Option<String>,
}

/// A report's thread as stored: keyed by its contact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Thread {
    /// The contact the report became.
    pub contact: ContactId,
    /// The hash of the receipt code (the key of [`schema::RECEIPTS`]).
    #[serde(with = "ilm_protocol::bytes::hex_bytes")]
    pub receipt: Vec<u8>,
    /// The passphrase's salted hash.
    pub passphrase: PassphraseHash,
    /// The portal language of the report.
    pub language: String,
    /// When the report was made.
    pub created_at: Timestamp,
    /// Recent failed passphrase checks (the last hour's).
    #[serde(default)]
    pub failed_checks: Vec<Timestamp>,
    /// Locked for checks until then, after too many failures.
    #[serde(default)]
    pub locked_until: Option<Timestamp>,
    /// The worker's recent messages (the last day's), for the daily limit.
    #[serde(default)]
    pub worker_sent: Vec<Timestamp>,
    /// When the worker last wrote (the report counts).
    pub last_worker_at: Timestamp,
    /// When the CSO last answered.
    #[serde(default)]
    pub last_cso_at: Option<Timestamp>,
    /// Whether the worker wrote last (the report counts): the CSO owes an answer. Kept by
    /// who wrote last, not by comparing times, which share a second.
    pub awaiting: bool,
    /// How many messages it holds.
    pub messages: usize,
    /// The messages, sealed with the vault key and the contact id.
    pub sealed: Sealed,
}

impl Thread {
    /// Whether the worker wrote last (the CSO owes an answer).
    pub fn awaiting_answer(&self) -> bool {
        self.awaiting
    }
}

/// What the vault seals a thread's messages with: a tag and the contact id, so they cannot
/// be swapped with the contact's own sealed part.
fn seal_id(contact: &ContactId) -> Vec<u8> {
    [b"portal-thread\0".as_slice(), &contact.0].concat()
}

fn open_messages(vault: &Vault, t: &Thread) -> Result<Vec<Message>, VaultError> {
    vault.open_json(&seal_id(&t.contact), &t.sealed)
}

/// What the portal gives the worker once the report is stored.
pub struct Created {
    /// The receipt code (shown once, never stored).
    pub receipt: Receipt,
    /// The passphrase (shown once, never stored).
    pub passphrase: Passphrase,
    /// The contact it became.
    pub contact: ContactId,
}

/// Stores a report: a contact awaiting triage (identity and words sealed) and its thread,
/// with the aggregates, in one batch.
pub fn create(
    store: &Store,
    vault: &Vault,
    report: Report,
    now: Timestamp,
) -> Result<Created, PortalError> {
    // A new receipt code, never one in use (a second report under the same code would take
    // the first worker's access away).
    let (receipt, receipt_id) = loop {
        let r = Receipt::random()?;
        let id = r.id(vault)?;
        if store.get::<ContactId>(&schema::RECEIPTS, &id)?.is_none() {
            break (r, id);
        }
    };
    let passphrase = Passphrase::random()?;
    let id = ContactId(
        ilm_protocol::identity::random_bytes().map_err(|e| CodeError::Random(e.to_string()))?,
    );
    let identity = WorkerIdentity {
        name: report.name.clone(),
        phone: report.phone.clone(),
        messenger_id: report.messenger_id.clone(),
        id_numbers: Vec::new(),
    };
    let sealed = SealedContact {
        identity,
        notes: report.notes(),
    };
    let indexed = crate::contact_list::groups::Indexed::of(vault, &sealed)?;
    let sealed = vault.seal_json(&id.0, &sealed)?;
    let contact = Contact {
        id,
        received_at: now,
        channel: Channel::Portal,
        language: report.language.clone(),
        nationality: report.origin.clone(),
        gender: report.gender,
        age_band: report.age_band,
        sector: report.sector.clone(),
        origin: report.origin,
        destination: report.destination,
        case_ref: None,
        recorded_by: None,
        sealed,
        erased: None,
    };
    let thread = Thread {
        contact: id,
        receipt: receipt_id.to_vec(),
        passphrase: passphrase.hash(vault)?,
        language: report.language,
        created_at: now,
        failed_checks: Vec::new(),
        locked_until: None,
        worker_sent: Vec::new(),
        last_worker_at: now,
        last_cso_at: None,
        awaiting: true,
        messages: 0,
        sealed: vault.seal_json(&seal_id(&id), &Vec::<Message>::new())?,
    };
    let mut batch = WriteBatch::new();
    batch.put(&schema::PORTAL_THREADS, &id.0, &thread)?;
    batch.put(&schema::RECEIPTS, &receipt_id, &id)?;
    crate::intake::stage_new(store, &mut batch, &contact, indexed)?;
    store.commit(batch)?;
    Ok(Created {
        receipt,
        passphrase,
        contact: id,
    })
}

/// The thread a receipt and passphrase open. A wrong passphrase is counted against the
/// receipt; after [`MAX_FAILED_CHECKS`] in an hour it is locked for an hour (even for the
/// right passphrase), so guessing gets nowhere.
pub fn open(
    store: &Store,
    vault: &Vault,
    receipt: &Receipt,
    passphrase: &Passphrase,
    now: Timestamp,
) -> Result<Thread, PortalError> {
    let Some(contact) = store.get::<ContactId>(&schema::RECEIPTS, &receipt.id(vault)?)? else {
        return Err(PortalError::NotFound);
    };
    let Some(mut t) = store.get::<Thread>(&schema::PORTAL_THREADS, &contact.0)? else {
        return Err(PortalError::NotFound);
    };
    if let Some(until) = t.locked_until.filter(|u| *u > now) {
        return Err(PortalError::Locked(until));
    }
    if t.passphrase.matches(vault, passphrase) {
        return Ok(t);
    }
    t.failed_checks.retain(|at| at.plus_secs(HOUR) > now);
    t.failed_checks.push(now);
    if t.failed_checks.len() >= MAX_FAILED_CHECKS {
        t.locked_until = Some(now.plus_secs(HOUR));
        t.failed_checks.clear();
    }
    let mut batch = WriteBatch::new();
    batch.put(&schema::PORTAL_THREADS, &contact.0, &t)?;
    store.commit(batch)?;
    Err(PortalError::NotFound)
}

/// A thread's messages, oldest first.
pub fn messages(vault: &Vault, t: &Thread) -> Result<Vec<Message>, PortalError> {
    Ok(open_messages(vault, t)?)
}

/// Checks a message's text: not empty, not too long, no control characters.
pub fn check_text(text: &str) -> Result<String, PortalError> {
    // Browsers count a line break as one character and send two.
    let text = text.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(PortalError::Invalid("the message is empty"));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(PortalError::Invalid("the message is too long"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(PortalError::Invalid(
            "the message contains control characters",
        ));
    }
    Ok(text)
}

/// Adds a message to a contact's thread (the worker's within their daily limit).
pub fn append(
    store: &Store,
    vault: &Vault,
    contact: &ContactId,
    message: Message,
) -> Result<Thread, PortalError> {
    let mut t: Thread = store
        .get(&schema::PORTAL_THREADS, &contact.0)?
        .ok_or(PortalError::NotFound)?;
    let text = check_text(&message.text)?;
    // A full thread takes no more from the worker; the helpline may still answer.
    if t.messages >= MAX_MESSAGES && message.from == Side::Worker {
        return Err(PortalError::TooManyMessages);
    }
    let now = message.at;
    if message.from == Side::Worker {
        t.worker_sent.retain(|at| at.plus_secs(DAY) > now);
        if t.worker_sent.len() >= MAX_WORKER_MESSAGES_PER_DAY {
            return Err(PortalError::TooManyMessages);
        }
        t.worker_sent.push(now);
        t.last_worker_at = now;
    } else {
        t.last_cso_at = Some(now);
    }
    t.awaiting = message.from == Side::Worker;
    let mut all = open_messages(vault, &t)?;
    all.push(Message { text, ..message });
    t.messages = all.len();
    t.sealed = vault.seal_json(&seal_id(contact), &all)?;
    let mut batch = WriteBatch::new();
    batch.put(&schema::PORTAL_THREADS, &contact.0, &t)?;
    store.commit(batch)?;
    Ok(t)
}

/// Every thread, the ones awaiting an answer first, then by latest activity.
pub fn all(store: &Store) -> Result<Vec<Thread>, StoreError> {
    let mut out: Vec<Thread> = store.scan(&schema::PORTAL_THREADS, &[])?;
    out.sort_by_key(|t| {
        let last = t.last_cso_at.unwrap_or(t.created_at).max(t.last_worker_at);
        (!t.awaiting_answer(), std::cmp::Reverse(last))
    });
    Ok(out)
}

/// Removes a contact's thread and its receipt (with the contact's erasure): the words are
/// gone and the receipt opens nothing any more.
pub fn stage_erasure(
    store: &Store,
    batch: &mut WriteBatch,
    contact: &ContactId,
) -> Result<(), StoreError> {
    if let Some(t) = store.get::<Thread>(&schema::PORTAL_THREADS, &contact.0)? {
        batch.remove(&schema::RECEIPTS, &t.receipt);
        batch.remove(&schema::PORTAL_THREADS, &contact.0);
    }
    Ok(())
}

/// Where a report stands, in the words the portal shows a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerStatus {
    /// Received; no caseworker has answered or taken it up yet.
    Received,
    /// A caseworker answered; no case yet.
    Answered,
    /// Taken into a case the helpline prepares.
    InCase,
    /// Raised with the employer or agency, no answer yet.
    Raised,
    /// They answered and are acting on it.
    Acting,
    /// They dispute it; the helpline follows up.
    Disputed,
    /// They say it is fixed; the helpline will ask the workers whether it is true.
    Reported,
    /// The workers confirmed it was fixed (or partly).
    Resolved,
    /// The workers said it was not fixed; raised again.
    Reopened,
    /// The case is closed.
    Closed,
}

impl WorkerStatus {
    /// Every status, for the check that each has its words in every portal language.
    pub const ALL: [WorkerStatus; 10] = [
        WorkerStatus::Received,
        WorkerStatus::Answered,
        WorkerStatus::InCase,
        WorkerStatus::Raised,
        WorkerStatus::Acting,
        WorkerStatus::Disputed,
        WorkerStatus::Reported,
        WorkerStatus::Resolved,
        WorkerStatus::Reopened,
        WorkerStatus::Closed,
    ];

    /// The status of a case, as a worker is told it.
    fn of_case(state: &CaseState) -> WorkerStatus {
        match state.status() {
            CaseStatus::Escalated => WorkerStatus::Raised,
            CaseStatus::Acknowledged | CaseStatus::RemediationPlanned | CaseStatus::Remediating => {
                WorkerStatus::Acting
            }
            CaseStatus::Disputed => WorkerStatus::Disputed,
            CaseStatus::RemediationReported => WorkerStatus::Reported,
            CaseStatus::Resolved | CaseStatus::PartlyResolved => WorkerStatus::Resolved,
            CaseStatus::NotResolved | CaseStatus::Reopened => WorkerStatus::Reopened,
            CaseStatus::Closed => WorkerStatus::Closed,
        }
    }

    /// Where a thread's report stands: its contact's case, if any, else whether answered.
    pub fn of(store: &Store, t: &Thread) -> Result<WorkerStatus, StoreError> {
        let contact: Option<Contact> = store.get(&schema::CONTACTS, &t.contact.0)?;
        let Some(case) = contact.and_then(|c| c.case_ref) else {
            return Ok(if t.last_cso_at.is_some() {
                WorkerStatus::Answered
            } else {
                WorkerStatus::Received
            });
        };
        let state: Option<CaseState> = crate::cases::state_of(store, &case)?;
        Ok(state.map_or(WorkerStatus::InCase, |s| WorkerStatus::of_case(&s)))
    }

    /// The message key of its explanation.
    pub fn key(self) -> String {
        let code = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        format!("wstatus_{code}")
    }
}

#[cfg(test)]
pub(crate) mod tests;
