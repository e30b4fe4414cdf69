//! The inbox read from the indexes gives, page by page, the cases escalated to this node in
//! the inbox's order, as a read of every case state would: several owners merged, the
//! parties' rounds at every stage, cases of other parties left out.

use super::*;
use crate::aggregates::Pending;
use crate::aggregates::tests::{Chain, certificate, network};
use crate::store::WriteBatch;
use crate::worklist::PER_PAGE;
use ilm_protocol::event::RemediationAction;
use ilm_protocol::{
    CaseHistory, CaseNonce, EventPayload, IssueCategory, MembershipCertificate, Money, Network,
    OrgKeys, Role, SignedRecord, Verdict,
};
use std::collections::BTreeMap;

pub(crate) use crate::aggregates::tests::T0;

pub(crate) struct Fixture {
    network: Network,
    csos: Vec<OrgKeys>,
    /// The inbox's node.
    pub(crate) me: OrgKeys,
    pub(crate) other: OrgKeys,
    certs: BTreeMap<OrgId, MembershipCertificate>,
}

pub(crate) fn fixture() -> Fixture {
    let k = |n: u8| OrgKeys::from_secret_bytes([n; 32], [n + 100; 32]);
    let steward = k(1);
    let network = network("Inbox", &steward);
    let csos = vec![k(2), k(3), k(4)];
    let (me, other) = (k(5), k(6));
    let certs = csos
        .iter()
        .map(|c| (c, Role::Cso))
        .chain([(&me, Role::Supplier), (&other, Role::Agency)])
        .map(|(keys, role)| (keys.org_id(), certificate(&network, &steward, keys, role)))
        .collect();
    Fixture {
        network,
        csos,
        me,
        other,
        certs,
    }
}

fn escalation(to: &OrgKeys, at: Timestamp, ack_days: u64) -> EventPayload {
    EventPayload::Escalation(Escalation {
        to: to.org_id(),
        categories: vec![IssueCategory::WithholdingOfWages],
        workers_affected: 3,
        site: "Site".into(),
        requested_remedy: "Pay".into(),
        description: "Unpaid".into(),
        recruitment_fees: None,
        acknowledge_by: at.plus_days(ack_days),
        remediate_by: at.plus_days(ack_days + 40),
    })
}

/// Case `n`'s events: escalated by one of the CSOs to this node, to the other party or to
/// both, and taken as far as `n` says (waiting for an answer, acknowledged, remediation
/// reported, verified by the workers, closed). Some open at the same second.
fn case_events(f: &Fixture, n: u8) -> (CaseRef, Vec<SignedRecord>) {
    let cso = &f.csos[usize::from(n % 3)];
    let nonce = CaseNonce([n; 16]);
    let case = CaseRef::derive(&cso.org_id(), &nonce);
    let opened = T0.plus_days(u64::from(n / 2));
    let mut chain = Chain::new(f.network.id(), case, nonce);
    let mut push = |keys: &OrgKeys, at: Timestamp, payload: EventPayload| {
        chain.push(keys, at, payload);
    };
    let (first, second) = match n % 4 {
        0 => (&f.other, None),
        1 => (&f.other, Some(&f.me)),
        _ => (&f.me, None),
    };
    push(cso, opened, escalation(first, opened, 3 + u64::from(n % 5)));
    if let Some(second) = second {
        let at = opened.plus_days(1);
        push(cso, at, escalation(second, at, 2 + u64::from(n % 7)));
    }
    let me = if second.is_some() || n % 4 >= 2 {
        &f.me
    } else {
        &f.other
    };
    let steps = (n / 4) % 6;
    if steps >= 1 {
        push(
            me,
            opened.plus_days(2),
            EventPayload::Acknowledgement {
                note: String::new(),
            },
        );
    }
    if steps >= 2 {
        push(
            me,
            opened.plus_days(4),
            EventPayload::RemediationAction(RemediationAction {
                description: "Paid".into(),
                taken_at: opened.plus_days(4),
                amount_repaid: Some(Money {
                    minor_units: 1000,
                    currency: "THB".parse().expect("currency"),
                }),
                workers_benefited: 3,
                evidence: vec![],
            }),
        );
    }
    if steps >= 3 {
        push(
            me,
            opened.plus_days(5),
            EventPayload::RemediationReported {
                summary: "Done".into(),
            },
        );
    }
    if steps >= 4 {
        push(
            cso,
            opened.plus_days(6),
            EventPayload::WorkerVerification {
                verdict: Verdict::Resolved,
                workers_consulted: 3,
                note: String::new(),
            },
        );
    }
    if steps >= 5 {
        push(
            cso,
            opened.plus_days(7),
            EventPayload::Closed {
                outcome: "closed".into(),
            },
        );
    }
    (case, chain.events)
}

/// Case `n`'s history, every event of [`case_events`] taken.
fn history(f: &Fixture, n: u8) -> CaseHistory {
    let cert_of = |org: &OrgId, _at: Timestamp| f.certs.get(org).cloned();
    let (case, events) = case_events(f, n);
    let mut history = CaseHistory::new(f.network.id(), case);
    for e in &events {
        history.insert(e, &cert_of).expect("a valid event");
    }
    history
}

/// Stores case `n`'s state alone, without its cells and index entries (as no writer of the
/// node does), to show what a view reads from; returns the case.
pub(crate) fn store_unindexed(f: &Fixture, store: &Store, n: u8) -> CaseRef {
    let history = history(f, n);
    let state = history.state().expect("state");
    let mut batch = WriteBatch::new();
    crate::cases::put_record(&mut batch, state, &history.heads()).expect("put");
    store.commit(batch).expect("commit");
    state.case_ref
}

/// A store holding `cases` cases, each stored with its aggregates and indexes as the core
/// stores them.
pub(crate) fn store_with(f: &Fixture, cases: u8) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    for n in 1..=cases {
        let history = history(f, n);
        let state = history.state().expect("a state");
        let mut batch = WriteBatch::new();
        let mut pending = Pending::new();
        pending.case(None, state);
        crate::cases::put_record(&mut batch, state, &history.heads()).expect("put");
        pending.stage(&store, &mut batch).expect("stage");
        store.commit(batch).expect("commit");
    }
    (dir, store)
}

/// The inbox as a read of every case state gives it: the cases in which `me` owes
/// something by its earliest due date, then the others newest first (ties by reference).
fn every(store: &Store, me: &OrgId, now: Timestamp) -> Vec<CaseRef> {
    let mut items: Vec<(Option<Timestamp>, opened::Key)> = Vec::new();
    crate::cases::for_each_state(store, |s| {
        if let Some(i) = item(&s, me, now) {
            items.push((i.next_due, opened::key(s.opened_at, &s.case_ref)));
        }
    })
    .expect("states");
    items.sort_by_key(|(due, key)| (due.is_none(), *due, *key));
    items.iter().map(|(_, key)| opened::case_of(key)).collect()
}

fn refs(page: &InboxPage) -> Vec<CaseRef> {
    page.items.iter().map(|i| i.case_ref).collect()
}

#[test]
fn pages_of_the_inbox_follow_one_another_as_a_read_of_every_case_orders_them() {
    let f = fixture();
    let (_dir, store) = store_with(&f, 120);
    let me = f.me.org_id();
    // Some rounds overdue, some due later, some settled.
    let now = T0.plus_days(30);
    let expected = every(&store, &me, now);
    let owing = expected
        .iter()
        .filter(|c| {
            let s = crate::cases::state_of(&store, c)
                .expect("read")
                .expect("state");
            item(&s, &me, now).is_some_and(|i| i.next_due.is_some())
        })
        .count();
    let overdue = expected
        .iter()
        .filter(|c| {
            let s = crate::cases::state_of(&store, c)
                .expect("read")
                .expect("state");
            item(&s, &me, now).is_some_and(|i| !i.overdue.is_empty())
        })
        .count();
    // Controls: the cases of the other party alone are left out; every kind of round is here.
    assert_eq!(
        expected.len(),
        90,
        "three cases in four are escalated to me"
    );
    assert!(owing > 20 && owing < 70, "owing {owing}");
    assert!(overdue > 5 && overdue < owing, "overdue {overdue}");
    for per_page in [1, 7, 25, 89, 90, 500] {
        let mut read = Vec::new();
        let pages = expected.len().div_ceil(per_page);
        for n in 1..=pages {
            let p = page(&store, &me, now, InboxQuery { page: n, per_page }).expect("page");
            assert_eq!((p.total, p.owing, p.page, p.pages), (90, owing, n, pages));
            assert!(p.items.len() <= per_page);
            read.extend(refs(&p));
        }
        assert_eq!(read, expected, "{per_page} per page");
        // A page past the last shows the last.
        let past = page(
            &store,
            &me,
            now,
            InboxQuery {
                page: pages + 3,
                per_page,
            },
        )
        .expect("page");
        assert_eq!(past.page, pages);
        assert_eq!(refs(&past), expected[(pages - 1) * per_page..]);
    }
    // The default page, and the count the dashboards show.
    let first = page(&store, &me, now, InboxQuery::default()).expect("page");
    assert_eq!(refs(&first), expected[..PER_PAGE]);
    assert_eq!(count(&store, &me).expect("count"), 90);
    // Overdue rounds lead.
    assert!(first.items[..overdue].iter().all(|i| !i.overdue.is_empty()));
    // The other party's inbox holds its own cases, and a CSO has none.
    let theirs = page(&store, &f.other.org_id(), now, InboxQuery::default()).expect("page");
    assert_eq!(theirs.total, 60);
    let cso = page(&store, &f.csos[0].org_id(), now, InboxQuery::default()).expect("page");
    assert_eq!((cso.total, cso.items.len(), cso.pages), (0, 0, 1));
}

#[test]
fn a_page_size_out_of_range_is_refused() {
    let f = fixture();
    let (_dir, store) = store_with(&f, 4);
    let me = f.me.org_id();
    for per_page in [MAX_PER_PAGE + 1, usize::MAX] {
        let err = page(&store, &me, T0, InboxQuery { page: 1, per_page }).expect_err("refused");
        assert!(matches!(err, InboxError::BadPageSize), "{err}");
    }
    let most = page(
        &store,
        &me,
        T0,
        InboxQuery {
            page: 1,
            per_page: MAX_PER_PAGE,
        },
    );
    assert_eq!(most.expect("the largest page").total, 3);
}

/// A case state stored without its index entries is not in the inbox: a page is read from
/// the indexes, not from every case (a read of every state finds it; checked as control).
#[test]
fn the_inbox_is_read_from_the_indexes() {
    let f = fixture();
    let (_dir, store) = store_with(&f, 8);
    let me = f.me.org_id();
    let case = store_unindexed(&f, &store, 10);
    assert!(every(&store, &me, T0).contains(&case), "control");
    let p = page(&store, &me, T0, InboxQuery::default()).expect("page");
    assert!(!refs(&p).contains(&case));
    assert_eq!(p.total, 6);
}

/// A page past the cases it owes something in is read from its list of the others alone:
/// with the search index (the pair terms naming it) and the due-date lists emptied, the last
/// page is still the one a read of every case gives.
#[test]
fn a_page_of_the_cases_it_owes_nothing_in_reads_their_list_alone() {
    let f = fixture();
    let (_dir, store) = store_with(&f, 120);
    let me = f.me.org_id();
    let now = T0.plus_days(30);
    let expected = every(&store, &me, now);
    let last = InboxQuery {
        page: 13,
        per_page: 7,
    };
    let before = page(&store, &me, now, last).expect("page");
    assert!(before.owing < 12 * 7, "the last page is past what it owes");
    assert_eq!(refs(&before), expected[12 * 7..]);
    for table in [&crate::schema::TERMS, &crate::schema::PARTY_DUE] {
        crate::aggregates::empty(&store, table).expect("emptied");
    }
    let after = page(&store, &me, now, last).expect("page");
    assert_eq!(refs(&after), refs(&before));
    // Controls: the first page, among the cases it owes something in, came from those
    // lists; the last comes from the list of the others.
    let first = page(&store, &me, now, InboxQuery::default()).expect("page");
    assert_ne!(refs(&first), expected[..PER_PAGE]);
    crate::aggregates::empty(&store, &crate::schema::PARTY_SETTLED).expect("emptied");
    assert!(page(&store, &me, now, last).expect("page").items.is_empty());
}
