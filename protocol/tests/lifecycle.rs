//! The case lifecycle as a protocol rule: scenarios of the table in docs/PROTOCOL.md 6.3, the
//! shared `CaseState`, and a property test against an independent model of the table.

mod common;

use common::*;
use ilm_protocol::event::{Escalation, RemediationAction};
use ilm_protocol::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// A case under construction: events appended by role, each naming every current head.
struct Case<'w> {
    w: &'w World,
    case: CaseRef,
    history: CaseHistory,
    day: u64,
}

impl<'w> Case<'w> {
    fn new(w: &'w World, to: Role) -> Case<'w> {
        let mut c = Case {
            w,
            case: case_no(0x42),
            history: CaseHistory::new(w.network.id(), case_no(0x42)),
            day: 0,
        };
        c.add(Role::Cso, escalation(w, to)).expect("root");
        c
    }

    fn add(&mut self, author: Role, payload: EventPayload) -> Result<EventHash, HistoryError> {
        self.day += 1;
        let rec = self.w.event(
            author,
            self.case,
            self.history.heads(),
            T0.plus_days(self.day),
            payload,
        );
        let cert_of = |o: &OrgId, _at: Timestamp| self.w.cert_of(o);
        match self.history.insert(&rec, &cert_of)? {
            Inserted::New(h) => Ok(h),
            Inserted::Duplicate(h) => Ok(h),
        }
    }

    fn refused(&mut self, author: Role, payload: EventPayload) -> &'static str {
        let before = self.history.len();
        let code = match self.add(author, payload) {
            Ok(_) => "accepted",
            Err(e) => e.code(),
        };
        assert_eq!(
            self.history.len(),
            before,
            "a refused event changed nothing"
        );
        code
    }

    fn state(&self) -> &CaseState {
        self.history.state().expect("state")
    }
}

fn escalation(w: &World, to: Role) -> EventPayload {
    match escalation_to(w.m(to).keys.org_id()) {
        EventPayload::Escalation(mut e) => {
            // Due dates far ahead, so that a case appended day by day stays before them.
            e.acknowledge_by = T0.plus_days(30);
            e.remediate_by = T0.plus_days(90);
            EventPayload::Escalation(e)
        }
        _ => unreachable!(),
    }
}

fn ack() -> EventPayload {
    EventPayload::Acknowledgement { note: "ok".into() }
}
fn dispute() -> EventPayload {
    EventPayload::Dispute {
        reason: "not our site".into(),
    }
}
fn plan() -> EventPayload {
    EventPayload::RemediationPlan {
        description: "repay".into(),
        target_date: T0.plus_days(40),
    }
}
fn action(amount: u64, workers: u32) -> EventPayload {
    EventPayload::RemediationAction(RemediationAction {
        description: "repaid".into(),
        taken_at: T0,
        amount_repaid: Some(thb(amount)),
        workers_benefited: workers,
        evidence: vec![],
    })
}
fn reported() -> EventPayload {
    EventPayload::RemediationReported {
        summary: "done".into(),
    }
}
fn verdict(v: Verdict) -> EventPayload {
    EventPayload::WorkerVerification {
        verdict: v,
        workers_consulted: 5,
        note: String::new(),
    }
}
fn reopen() -> EventPayload {
    EventPayload::Reopened {
        reason: "not paid".into(),
    }
}
fn close() -> EventPayload {
    EventPayload::Closed {
        outcome: "done".into(),
    }
}

#[test]
fn a_verification_before_any_remediation_report_is_refused() {
    let w = World::new();
    let mut c = Case::new(&w, Role::Supplier);
    // The defect: a "resolved" verdict on a case that was only escalated.
    assert_eq!(
        c.refused(Role::Cso, verdict(Verdict::Resolved)),
        "lifecycle.verification_without_report"
    );
    c.add(Role::Supplier, ack()).expect("ack");
    c.add(Role::Supplier, action(100, 3)).expect("action");
    assert_eq!(
        c.refused(Role::Cso, verdict(Verdict::Resolved)),
        "lifecycle.verification_without_report"
    );
    // Positive control: after the report, the same verdict is accepted.
    c.add(Role::Supplier, reported()).expect("report");
    c.add(Role::Cso, verdict(Verdict::Resolved))
        .expect("verdict after report");
    assert_eq!(c.state().status(), CaseStatus::Resolved);
    // One report, one verdict.
    assert_eq!(
        c.refused(Role::Cso, verdict(Verdict::NotResolved)),
        "lifecycle.verification_without_report"
    );
}

#[test]
fn completion_needs_an_acknowledgement_or_plan_since_the_latest_escalation() {
    let w = World::new();
    let mut c = Case::new(&w, Role::Supplier);
    assert_eq!(
        c.refused(Role::Supplier, reported()),
        "lifecycle.report_without_acknowledgement"
    );
    // A supplier that remediates without answering first may record actions...
    c.add(Role::Supplier, action(100, 3)).expect("action first");
    assert_eq!(
        c.refused(Role::Supplier, reported()),
        "lifecycle.report_without_acknowledgement"
    );
    // ...and reports once it has acknowledged.
    c.add(Role::Supplier, ack()).expect("ack");
    c.add(Role::Supplier, reported()).expect("report");
    // Nothing but the workers' verdict after the report.
    for (p, code) in [
        (ack(), "lifecycle.awaiting_verification"),
        (dispute(), "lifecycle.awaiting_verification"),
        (plan(), "lifecycle.awaiting_verification"),
        (reported(), "lifecycle.awaiting_verification"),
    ] {
        assert_eq!(c.refused(Role::Supplier, p), code);
    }
    // A dispute withdraws acceptance: after it, a report needs a new acknowledgement.
    let mut d = Case::new(&w, Role::Supplier);
    d.add(Role::Supplier, ack()).expect("ack");
    d.add(Role::Supplier, dispute()).expect("dispute after ack");
    assert_eq!(
        d.refused(Role::Supplier, reported()),
        "lifecycle.report_without_acknowledgement"
    );
    assert_eq!(
        d.refused(Role::Supplier, dispute()),
        "lifecycle.already_disputed"
    );
    d.add(Role::Supplier, plan()).expect("a plan accepts again");
    d.add(Role::Supplier, reported()).expect("report");
    // A re-escalation starts a new round: the old acknowledgement no longer counts.
    let mut e = Case::new(&w, Role::Supplier);
    e.add(Role::Supplier, ack()).expect("ack");
    assert_eq!(
        e.refused(Role::Supplier, ack()),
        "lifecycle.already_acknowledged"
    );
    e.add(Role::Cso, escalation(&w, Role::Supplier))
        .expect("re-escalation");
    assert_eq!(
        e.refused(Role::Supplier, reported()),
        "lifecycle.report_without_acknowledgement"
    );
    e.add(Role::Supplier, ack()).expect("ack again");
}

#[test]
fn a_dispute_answered_by_escalating_to_the_brand() {
    let w = World::new();
    let brand = w.m(Role::Brand).keys.org_id();
    let supplier = w.m(Role::Supplier).keys.org_id();
    let mut c = Case::new(&w, Role::Supplier);
    c.add(Role::Supplier, dispute()).expect("dispute");
    assert_eq!(c.state().status(), CaseStatus::Disputed);
    assert!(c.state().waiting_on().contains(&c.state().owner));
    // The brand may not answer before it is escalated to.
    assert_eq!(c.refused(Role::Brand, ack()), "lifecycle.not_escalated_to");
    c.add(Role::Cso, escalation(&w, Role::Brand))
        .expect("escalate to brand");
    c.add(Role::Brand, ack()).expect("brand acknowledges");
    c.add(Role::Supplier, ack())
        .expect("the supplier changes its mind");
    c.add(Role::Supplier, action(1_500_000, 42))
        .expect("action");
    c.add(Role::Supplier, reported()).expect("report");
    c.add(Role::Cso, verdict(Verdict::Resolved))
        .expect("verdict");
    let s = c.state();
    assert_eq!(
        s.party(&supplier).map(|p| p.stage),
        Some(PartyStage::Resolved)
    );
    // The brand never reported: the verdict judged only the supplier.
    assert_eq!(
        s.party(&brand).map(|p| p.stage),
        Some(PartyStage::Acknowledged)
    );
    assert_eq!(
        s.verification.as_ref().map(|v| v.parties.clone()),
        Some(vec![supplier])
    );
    assert_eq!(s.status(), CaseStatus::Resolved);
    assert_eq!(s.amounts_repaid(), vec![thb(1_500_000)]);
    // Nothing from the supplier after its remediation was verified resolved.
    for p in [ack(), dispute(), plan(), action(1, 1), reported()] {
        assert_eq!(c.refused(Role::Supplier, p), "lifecycle.already_resolved");
    }
    // Unless the CSO escalates to it again (a new round).
    c.add(Role::Cso, escalation(&w, Role::Supplier))
        .expect("new round");
    c.add(Role::Supplier, ack()).expect("answers the new round");
}

#[test]
fn reopen_needs_a_verdict_short_of_resolved_and_closed_is_final() {
    let w = World::new();
    let supplier = w.m(Role::Supplier).keys.org_id();
    let mut c = Case::new(&w, Role::Supplier);
    assert_eq!(
        c.refused(Role::Cso, reopen()),
        "lifecycle.reopen_without_verdict"
    );
    c.add(Role::Supplier, ack()).expect("ack");
    c.add(Role::Supplier, reported()).expect("report");
    c.add(Role::Cso, verdict(Verdict::NotResolved))
        .expect("not resolved");
    assert_eq!(c.state().status(), CaseStatus::NotResolved);
    // Remediation is owed again, and the owner may reopen.
    assert!(
        c.state()
            .obligations(T0)
            .iter()
            .any(|o| o.party == supplier && o.what == Owed::Remediation)
    );
    c.add(Role::Cso, reopen()).expect("reopen");
    assert_eq!(
        c.refused(Role::Cso, reopen()),
        "lifecycle.reopen_without_verdict"
    );
    assert_eq!(c.state().status(), CaseStatus::Reopened);
    // The acknowledgement of the current round still stands after a reopen.
    c.add(Role::Supplier, action(10, 1)).expect("action");
    c.add(Role::Supplier, reported()).expect("report again");
    c.add(Role::Cso, verdict(Verdict::PartlyResolved))
        .expect("partly");
    c.add(Role::Cso, close()).expect("close");
    assert_eq!(c.state().status(), CaseStatus::Closed);
    assert!(c.state().obligations(T0.plus_days(1000)).is_empty());
    for (role, p) in [
        (Role::Supplier, action(1, 1)),
        (Role::Cso, escalation(&w, Role::Agency)),
        (Role::Cso, verdict(Verdict::Resolved)),
        (Role::Cso, close()),
    ] {
        assert_eq!(c.refused(role, p), "lifecycle.case_closed");
    }
    // The one way out of a closed case: its owner reopens it.
    c.add(Role::Cso, reopen()).expect("reopen a closed case");
    assert_eq!(c.state().status(), CaseStatus::Reopened);
    c.add(Role::Supplier, action(1, 1)).expect("answers again");
}

#[test]
fn events_may_not_claim_a_time_before_their_ancestors() {
    let w = World::new();
    let mut c = Case::new(&w, Role::Supplier);
    c.day = 10;
    c.add(Role::Supplier, ack()).expect("ack on day 11");
    let late = c.history.heads();
    let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
    let at = |secs: u64| {
        w.event(
            Role::Supplier,
            c.case,
            late.clone(),
            Timestamp(T0.plus_days(11).0 - secs),
            plan(),
        )
    };
    let too_early = at(rules::CLOCK_TOLERANCE_SECS + 1);
    assert!(matches!(
        c.history.clone().insert(&too_early, &cert_of),
        Err(HistoryError::Validation(
            ValidationError::TimeBeforeAncestors { .. }
        ))
    ));
    let within = at(rules::CLOCK_TOLERANCE_SECS);
    assert!(c.history.clone().insert(&within, &cert_of).is_ok());
    // Times after the year 9999 are refused outright.
    let far = w.event(
        Role::Supplier,
        c.case,
        late,
        Timestamp(rules::MAX_TIMESTAMP.0 + 1),
        plan(),
    );
    assert!(matches!(
        c.history.insert(&far, &cert_of),
        Err(HistoryError::Validation(ValidationError::Malformed(_)))
    ));
}

#[test]
fn the_state_gives_status_due_dates_and_figures() {
    let w = World::new();
    let supplier = w.m(Role::Supplier).keys.org_id();
    let agency = w.m(Role::Agency).keys.org_id();
    let mut c = Case::new(&w, Role::Supplier);
    let s = c.state();
    assert_eq!(s.status(), CaseStatus::Escalated);
    let due = s.obligations(T0.plus_days(31));
    assert_eq!(due.len(), 2);
    assert!(due.iter().all(|o| o.party == supplier));
    assert!(
        due.iter()
            .any(|o| o.what == Owed::Acknowledgement && o.overdue)
    );
    assert!(
        due.iter()
            .any(|o| o.what == Owed::Remediation && !o.overdue)
    );
    assert_eq!(s.waiting_on(), vec![supplier]);
    c.add(Role::Supplier, plan()).expect("a plan answers");
    assert!(
        c.state()
            .obligations(T0.plus_days(31))
            .iter()
            .all(|o| o.what == Owed::Remediation)
    );
    c.add(Role::Cso, escalation(&w, Role::Agency))
        .expect("agency");
    let s = c.state();
    assert_eq!(s.responders().collect::<Vec<_>>(), vec![supplier, agency]);
    assert_eq!(s.status(), CaseStatus::Escalated);
    assert_eq!(s.workers_affected(), 42);
    c.add(Role::Supplier, action(100, 30)).expect("action");
    c.add(Role::Supplier, action(50, 30)).expect("action");
    let p = c.state().party(&supplier).expect("supplier").clone();
    assert_eq!(p.amounts_repaid, vec![thb(150)]);
    // Two actions of 30 workers each: at most the 42 affected.
    assert_eq!(p.workers_benefited(), 42);
    assert_eq!(c.state().status(), CaseStatus::Remediating);
    assert_eq!(
        c.state().allowed(&supplier),
        vec![
            EventKind::Dispute,
            EventKind::RemediationPlan,
            EventKind::RemediationAction,
            EventKind::RemediationReported
        ]
    );
}

/// Property: every node accepts exactly what the table allows.
#[path = "lifecycle/property.rs"]
mod property;
