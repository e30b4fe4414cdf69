//! The thread's rules on a real store and vault: what is stored, the passphrase lockout,
//! the message limit, erasure and the worker-facing status.

use super::*;
use crate::datadir::DataDir;

const T0: Timestamp = Timestamp(1_767_225_600);

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    vault: Vault,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    let vault = Vault::open(&DataDir::new(dir.path())).expect("vault");
    World {
        _dir: dir,
        store,
        vault,
    }
}

/// A worker's report with canary words, for tests elsewhere in the crate too.
pub(crate) fn report() -> Report {
    Report {
        reporter: Reporter::Worker,
        language: "my".into(),
        what_happened: "CANARY-WORDS wages not paid for three months".into(),
        place: "Mahachai".into(),
        employer: "Ocean Frozen Foods".into(),
        workers: Some(12),
        sector: "seafood".into(),
        origin: "MM".parse().expect("country"),
        destination: "TH".parse().expect("country"),
        gender: Gender::Undisclosed,
        age_band: AgeBand::Unknown,
        name: "CANARY-NAME".into(),
        phone: "+66 81 000 0000".into(),
        messenger_id: String::new(),
        may_contact: true,
        may_raise: false,
    }
}

#[test]
fn a_report_becomes_a_sealed_contact_awaiting_triage_and_its_receipt_opens_it() {
    let w = world();
    let made = create(&w.store, &w.vault, report(), T0).expect("create");
    let contact: Contact = w
        .store
        .get(&schema::CONTACTS, &made.contact.0)
        .expect("get")
        .expect("the contact");
    assert_eq!(contact.channel, Channel::Portal);
    assert!(contact.case_ref.is_none(), "awaiting triage");
    assert!(contact.recorded_by.is_none());
    let sealed: SealedContact = w
        .vault
        .open_json(&contact.id.0, &contact.sealed)
        .expect("open");
    assert_eq!(sealed.identity.name, "CANARY-NAME");
    assert!(sealed.notes.contains("CANARY-WORDS"));
    assert!(sealed.notes.contains("without their name: no"));
    // Counted with the contacts, as intake counts them.
    assert_eq!(
        crate::aggregates::get(&w.store, "contacts").expect("cell"),
        1
    );
    assert_eq!(
        crate::aggregates::get(&w.store, "contacts.channel.portal").expect("cell"),
        1
    );
    // The receipt is stored only as its hash.
    let keys = w
        .store
        .ids_after(&schema::RECEIPTS, 0, 10)
        .expect("receipt keys");
    assert_eq!(keys, vec![made.receipt.id(&w.vault).expect("id").to_vec()]);
    let digits: String = made
        .receipt
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(
        !keys[0]
            .windows(digits.len())
            .any(|k| k == digits.as_bytes())
    );
    let t = open(&w.store, &w.vault, &made.receipt, &made.passphrase, T0).expect("opens");
    assert_eq!(t.contact, made.contact);
    assert_eq!(
        WorkerStatus::of(&w.store, &t).expect("status"),
        WorkerStatus::Received
    );
}

#[test]
fn wrong_passphrases_lock_the_receipt_for_an_hour() {
    let w = world();
    let made = create(&w.store, &w.vault, report(), T0).expect("create");
    let wrong = Passphrase::parse("0000-0000-0000-0000").expect("parse");
    assert_ne!(wrong, made.passphrase);
    // An unknown receipt and a wrong passphrase get the same answer.
    let unknown = Receipt::parse("0000-0000-0000").expect("parse");
    assert!(matches!(
        open(&w.store, &w.vault, &unknown, &made.passphrase, T0),
        Err(PortalError::NotFound)
    ));
    for i in 0..MAX_FAILED_CHECKS as u64 {
        assert!(matches!(
            open(&w.store, &w.vault, &made.receipt, &wrong, T0.plus_secs(i)),
            Err(PortalError::NotFound)
        ));
    }
    // Locked: even the right passphrase is refused now...
    assert!(matches!(
        open(
            &w.store,
            &w.vault,
            &made.receipt,
            &made.passphrase,
            T0.plus_secs(60)
        ),
        Err(PortalError::Locked(_))
    ));
    // ...and opens again after the hour.
    open(
        &w.store,
        &w.vault,
        &made.receipt,
        &made.passphrase,
        T0.plus_secs(2 * HOUR),
    )
    .expect("opens");
    // Control: fewer failures than the limit do not lock.
    let other = create(&w.store, &w.vault, report(), T0).expect("create");
    for i in 0..MAX_FAILED_CHECKS as u64 - 1 {
        let _ = open(&w.store, &w.vault, &other.receipt, &wrong, T0.plus_secs(i));
    }
    open(
        &w.store,
        &w.vault,
        &other.receipt,
        &other.passphrase,
        T0.plus_secs(60),
    )
    .expect("opens");
}

fn say(from: Side, at: Timestamp, text: &str) -> Message {
    Message {
        from,
        at,
        text: text.into(),
        by: None,
    }
}

#[test]
fn messages_are_sealed_the_worker_is_limited_per_day_and_answers_change_the_status() {
    let w = world();
    let made = create(&w.store, &w.vault, report(), T0).expect("create");
    let c = made.contact;
    for i in 0..MAX_WORKER_MESSAGES_PER_DAY as u64 {
        append(
            &w.store,
            &w.vault,
            &c,
            say(Side::Worker, T0.plus_secs(i), "more"),
        )
        .expect("sent");
    }
    assert!(matches!(
        append(
            &w.store,
            &w.vault,
            &c,
            say(Side::Worker, T0.plus_secs(100), "more")
        ),
        Err(PortalError::TooManyMessages)
    ));
    // The CSO is not limited by the worker's count; the next day the worker may write again.
    let t = append(
        &w.store,
        &w.vault,
        &c,
        say(Side::Cso, T0.plus_secs(200), "We will call"),
    )
    .expect("answer");
    assert!(!t.awaiting_answer());
    assert_eq!(
        WorkerStatus::of(&w.store, &t).expect("status"),
        WorkerStatus::Answered
    );
    let t = append(
        &w.store,
        &w.vault,
        &c,
        say(Side::Worker, T0.plus_days(1).plus_secs(300), "ok"),
    )
    .expect("next day");
    assert!(t.awaiting_answer());
    // An answer and the worker's reply within one second: the reply still awaits an answer.
    let at = T0.plus_days(1).plus_secs(400);
    let t = append(&w.store, &w.vault, &c, say(Side::Cso, at, "Call us")).expect("answer");
    assert!(!t.awaiting_answer());
    let t = append(&w.store, &w.vault, &c, say(Side::Worker, at, "ok")).expect("reply");
    assert!(t.awaiting_answer());
    let all = messages(&w.vault, &t).expect("messages");
    assert_eq!(all.len(), MAX_WORKER_MESSAGES_PER_DAY + 4);
    assert_eq!(all[MAX_WORKER_MESSAGES_PER_DAY].text, "We will call");
    // Bad text changes nothing.
    for bad in ["   ", "a\u{0}b"] {
        assert!(matches!(
            append(&w.store, &w.vault, &c, say(Side::Cso, T0.plus_days(2), bad)),
            Err(PortalError::Invalid(_))
        ));
    }
    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    assert!(
        append(
            &w.store,
            &w.vault,
            &c,
            say(Side::Cso, T0.plus_days(2), &long)
        )
        .is_err()
    );
    let again: Thread = w
        .store
        .get(&schema::PORTAL_THREADS, &c.0)
        .expect("get")
        .expect("thread");
    assert_eq!(again.messages, all.len());
}

#[test]
fn erasing_the_contact_removes_its_thread_and_the_receipt_opens_nothing() {
    let w = world();
    let made = create(&w.store, &w.vault, report(), T0).expect("create");
    let kept = create(&w.store, &w.vault, report(), T0).expect("create");
    assert!(crate::retention::erase_contact(&w.store, &w.vault, made.contact).expect("erase"));
    assert!(matches!(
        open(&w.store, &w.vault, &made.receipt, &made.passphrase, T0),
        Err(PortalError::NotFound)
    ));
    assert!(
        w.store
            .get::<Thread>(&schema::PORTAL_THREADS, &made.contact.0)
            .expect("get")
            .is_none()
    );
    // Control: the other report is untouched.
    open(&w.store, &w.vault, &kept.receipt, &kept.passphrase, T0).expect("opens");
}

#[test]
fn the_retention_sweep_erases_an_expired_report_with_its_thread() {
    let w = world();
    let old = create(&w.store, &w.vault, report(), T0).expect("create");
    let recent = create(&w.store, &w.vault, report(), T0.plus_days(30)).expect("create");
    let policy = crate::retention::RetentionPolicy {
        contact_notes_days: Some(10),
        ..Default::default()
    };
    crate::retention::sweep(&w.store, &w.vault, &policy, T0.plus_days(31)).expect("sweep");
    assert!(matches!(
        open(
            &w.store,
            &w.vault,
            &old.receipt,
            &old.passphrase,
            T0.plus_days(31)
        ),
        Err(PortalError::NotFound)
    ));
    assert!(
        w.store
            .get::<Thread>(&schema::PORTAL_THREADS, &old.contact.0)
            .expect("get")
            .is_none()
    );
    // Control: the report within the period keeps its thread.
    open(
        &w.store,
        &w.vault,
        &recent.receipt,
        &recent.passphrase,
        T0.plus_days(31),
    )
    .expect("opens");
}

#[test]
fn a_full_thread_takes_no_more_from_the_worker_but_the_helpline_may_answer() {
    let w = world();
    let made = create(&w.store, &w.vault, report(), T0).expect("create");
    let c = made.contact;
    for i in 0..MAX_MESSAGES as u64 {
        let day = T0.plus_days(i / MAX_WORKER_MESSAGES_PER_DAY as u64);
        append(
            &w.store,
            &w.vault,
            &c,
            say(Side::Worker, day.plus_secs(i), "m"),
        )
        .expect("sent");
    }
    let later = T0.plus_days(100);
    assert!(matches!(
        append(&w.store, &w.vault, &c, say(Side::Worker, later, "one more")),
        Err(PortalError::TooManyMessages)
    ));
    let t = append(
        &w.store,
        &w.vault,
        &c,
        say(Side::Cso, later, "Please call us"),
    )
    .expect("the helpline answers");
    assert_eq!(t.messages, MAX_MESSAGES + 1);
}

#[test]
fn line_breaks_count_once_and_tabs_are_text() {
    let text = format!(
        "{}\r\n{}",
        "a".repeat(MAX_MESSAGE_CHARS / 2),
        "b\tc".repeat(300)
    );
    assert!(text.len() > MAX_MESSAGE_CHARS / 2);
    let at_limit = format!(
        "{}\r\n{}",
        "a".repeat(MAX_MESSAGE_CHARS - 10),
        "b".repeat(9)
    );
    assert_eq!(at_limit.chars().count(), MAX_MESSAGE_CHARS + 1);
    assert_eq!(
        check_text(&at_limit)
            .expect("a line break counts once")
            .chars()
            .count(),
        MAX_MESSAGE_CHARS
    );
    assert!(check_text(&text).expect("tabs are allowed").contains('\t'));
    assert!(check_text(&format!("{at_limit}x")).is_err());
}
