//! The authorisation matrix and case-history rules.

mod common;

use common::*;
use ilm_protocol::rules::is_responder;
use ilm_protocol::*;

/// The matrix as the design states it, written out independently of `may_author`.
fn expected_allowed(role: Role, kind: EventKind) -> bool {
    use EventKind::*;
    use Role::*;
    matches!(
        (role, kind),
        (Cso, Escalation | WorkerVerification | Reopened | Closed)
            | (
                Agency | Supplier | Brand | Government,
                Acknowledgement
                    | Dispute
                    | RemediationPlan
                    | RemediationAction
                    | RemediationReported
            )
    )
}

fn payload_of(kind: EventKind, to: OrgId) -> EventPayload {
    match kind {
        EventKind::Escalation => escalation_to(to),
        EventKind::Acknowledgement => EventPayload::Acknowledgement { note: "ok".into() },
        EventKind::Dispute => EventPayload::Dispute {
            reason: "not our site".into(),
        },
        EventKind::RemediationPlan => EventPayload::RemediationPlan {
            description: "plan".into(),
            target_date: T0.plus_days(30),
        },
        EventKind::RemediationAction => {
            EventPayload::RemediationAction(ilm_protocol::event::RemediationAction {
                description: "repaid".into(),
                taken_at: T0,
                amount_repaid: None,
                workers_benefited: 3,
                evidence: vec![],
            })
        }
        EventKind::RemediationReported => EventPayload::RemediationReported {
            summary: "done".into(),
        },
        EventKind::WorkerVerification => EventPayload::WorkerVerification {
            verdict: Verdict::Resolved,
            workers_consulted: 2,
            note: "".into(),
        },
        EventKind::Reopened => EventPayload::Reopened {
            reason: "not paid".into(),
        },
        EventKind::Closed => EventPayload::Closed {
            outcome: "closed".into(),
        },
    }
}

#[test]
fn validate_refuses_exactly_the_role_and_kind_pairs_the_matrix_forbids() {
    let w = World::new();
    let supplier = w.m(Role::Supplier).keys.org_id();
    let role_of = |o: &OrgId| w.cert_of(o).map(|c| c.role);
    let case = case_no(1);
    let mut checked = 0;
    for role in Role::ALL {
        let author = w.m(role);
        // A case that the author owns (as a CSO) or was escalated to (as a responder), so
        // that only the role can make a difference to the role check.
        let owner = if role == Role::Cso {
            author
        } else {
            w.m(Role::Cso)
        };
        let to = if is_responder(role) {
            author.keys.org_id()
        } else {
            supplier
        };
        let root = CaseEvent {
            network_id: w.network.id(),
            case_ref: case,
            case_nonce: None,
            parents: vec![],
            author: owner.keys.org_id(),
            authored_at: T0,
            payload: escalation_to(to),
        };
        let state = CaseState::open(&root).expect("root is an escalation");
        for kind in EventKind::ALL {
            let event = CaseEvent {
                network_id: w.network.id(),
                case_ref: case,
                case_nonce: None,
                parents: vec![Digest([9; 32])],
                author: author.keys.org_id(),
                authored_at: T0,
                payload: payload_of(kind, supplier),
            };
            let result = validate(&event, &author.body, Some(&state), &role_of);
            let refused_for_role = matches!(result, Err(ValidationError::RoleNotAllowed { .. }));
            assert_eq!(
                refused_for_role,
                !expected_allowed(role, kind),
                "{role} {kind:?}: {result:?}"
            );
            assert_eq!(may_author(role, kind), expected_allowed(role, kind));
            checked += 1;
        }
    }
    assert_eq!(checked, 6 * 9);
}

#[test]
fn a_supplier_cannot_author_a_worker_verification_and_a_brand_cannot_escalate() {
    let w = World::new();
    let case = case_no(2);
    let mut h = CaseHistory::new(w.network.id(), case);
    let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
    let supplier = w.m(Role::Supplier).keys.org_id();
    let brand_escalates = w.event(Role::Brand, case, vec![], T0, escalation_to(supplier));
    assert!(matches!(
        h.insert(&brand_escalates, &cert_of),
        Err(HistoryError::Validation(
            ValidationError::RoleNotAllowed { .. }
        ))
    ));
    let root = w.event(Role::Cso, case, vec![], T0, escalation_to(supplier));
    h.insert(&root, &cert_of).expect("root");
    let fake_verification = w.event(
        Role::Supplier,
        case,
        vec![root.digest()],
        T0.plus_days(1),
        payload_of(EventKind::WorkerVerification, supplier),
    );
    assert!(matches!(
        h.insert(&fake_verification, &cert_of),
        Err(HistoryError::Validation(
            ValidationError::RoleNotAllowed { .. }
        ))
    ));
    assert_eq!(h.len(), 1);
}

#[test]
fn only_parties_escalated_to_may_respond() {
    let w = World::new();
    let case = case_no(3);
    let mut h = CaseHistory::new(w.network.id(), case);
    let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
    let supplier = w.m(Role::Supplier).keys.org_id();
    let root = w.event(Role::Cso, case, vec![], T0, escalation_to(supplier));
    h.insert(&root, &cert_of).expect("root");
    let agency_ack = w.event(
        Role::Agency,
        case,
        vec![root.digest()],
        T0,
        payload_of(EventKind::Acknowledgement, supplier),
    );
    assert!(matches!(
        h.insert(&agency_ack, &cert_of),
        Err(HistoryError::Validation(ValidationError::Lifecycle(
            LifecycleError::NotEscalatedTo(_)
        )))
    ));
    // Escalating to a CSO or the steward is refused.
    let to_cso = w.event(
        Role::Cso,
        case,
        vec![root.digest()],
        T0,
        escalation_to(w.m(Role::Cso).keys.org_id()),
    );
    assert!(h.insert(&to_cso, &cert_of).is_err());
    let to_steward = w.event(
        Role::Cso,
        case,
        vec![root.digest()],
        T0,
        escalation_to(w.steward.keys.org_id()),
    );
    assert!(h.insert(&to_steward, &cert_of).is_err());
}

#[test]
fn history_requires_known_parents_members_and_a_single_root() {
    let w = World::new();
    let case = case_no(4);
    let mut h = CaseHistory::new(w.network.id(), case);
    let supplier = w.m(Role::Supplier).keys.org_id();
    let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
    let root = w.event(Role::Cso, case, vec![], T0, escalation_to(supplier));
    let ack = w.event(
        Role::Supplier,
        case,
        vec![root.digest()],
        T0,
        payload_of(EventKind::Acknowledgement, supplier),
    );
    assert!(
        matches!(h.insert(&ack, &cert_of), Err(HistoryError::MissingParents(m)) if m == vec![root.digest()])
    );
    // A revoked or unknown member's events are refused.
    let nobody = |_: &OrgId, _: Timestamp| None;
    assert!(matches!(
        h.insert(&root, &nobody),
        Err(HistoryError::UnknownAuthor(_))
    ));
    assert_eq!(
        h.insert(&root, &cert_of).expect("root"),
        Inserted::New(root.digest())
    );
    assert_eq!(
        h.insert(&root, &cert_of).expect("replay"),
        Inserted::Duplicate(root.digest())
    );
    let second_root = w.event(
        Role::Cso,
        case,
        vec![],
        T0.plus_secs(1),
        escalation_to(supplier),
    );
    assert!(matches!(
        h.insert(&second_root, &cert_of),
        Err(HistoryError::SecondRoot)
    ));
    let other_case = w.event(
        Role::Supplier,
        case_no(5),
        vec![root.digest()],
        T0,
        payload_of(EventKind::Acknowledgement, supplier),
    );
    assert!(matches!(
        h.insert(&other_case, &cert_of),
        Err(HistoryError::WrongCase)
    ));
    h.insert(&ack, &cert_of).expect("ack");
    assert_eq!(h.heads(), vec![ack.digest()]);
}

#[test]
fn concurrent_appends_converge_to_the_same_history() {
    let w = World::new();
    let case = case_no(6);
    let supplier = w.m(Role::Supplier).keys.org_id();
    let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
    let root = w.event(Role::Cso, case, vec![], T0, escalation_to(supplier));
    // While disconnected, the supplier acknowledges and the CSO escalates to the brand.
    let ack = w.event(
        Role::Supplier,
        case,
        vec![root.digest()],
        T0.plus_days(1),
        payload_of(EventKind::Acknowledgement, supplier),
    );
    let to_brand = w.event(
        Role::Cso,
        case,
        vec![root.digest()],
        T0.plus_days(1),
        escalation_to(w.m(Role::Brand).keys.org_id()),
    );
    let mut at_cso = CaseHistory::new(w.network.id(), case);
    let mut at_supplier = CaseHistory::new(w.network.id(), case);
    for (h, order) in [
        (&mut at_cso, [&root, &to_brand, &ack]),
        (&mut at_supplier, [&root, &ack, &to_brand]),
    ] {
        for e in order {
            h.insert(e, &cert_of).expect("insert");
        }
    }
    let digests = |h: &CaseHistory| h.ordered().iter().map(|e| e.digest()).collect::<Vec<_>>();
    assert_eq!(digests(&at_cso), digests(&at_supplier));
    assert_eq!(at_cso.heads().len(), 2);
    // The next event merges both heads.
    let heads = at_cso.heads();
    let plan = w.event(
        Role::Supplier,
        case,
        heads.clone(),
        T0.plus_days(2),
        payload_of(EventKind::RemediationPlan, supplier),
    );
    at_cso.insert(&plan, &cert_of).expect("merge at cso");
    at_supplier
        .insert(&plan, &cert_of)
        .expect("merge at supplier");
    assert_eq!(at_cso.heads(), vec![plan.digest()]);
    assert_eq!(digests(&at_cso), digests(&at_supplier));
}

#[test]
fn malformed_events_are_rejected() {
    let w = World::new();
    let case = case_no(8);
    let supplier = w.m(Role::Supplier).keys.org_id();
    let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
    let mut bad = match escalation_to(supplier) {
        EventPayload::Escalation(e) => e,
        _ => unreachable!(),
    };
    bad.workers_affected = 0;
    let mut h = CaseHistory::new(w.network.id(), case);
    let ev = w.event(
        Role::Cso,
        case,
        vec![],
        T0,
        EventPayload::Escalation(bad.clone()),
    );
    assert!(matches!(
        h.insert(&ev, &cert_of),
        Err(HistoryError::Validation(ValidationError::Malformed(_)))
    ));
    bad.workers_affected = 1;
    bad.categories.clear();
    let ev = w.event(
        Role::Cso,
        case,
        vec![],
        T0,
        EventPayload::Escalation(bad.clone()),
    );
    assert!(h.insert(&ev, &cert_of).is_err());
    bad.categories = vec![IssueCategory::Deception];
    bad.description = "x".repeat(ilm_protocol::event::MAX_TEXT_LEN + 1);
    let ev = w.event(Role::Cso, case, vec![], T0, EventPayload::Escalation(bad));
    assert!(h.insert(&ev, &cert_of).is_err());
    assert!(h.is_empty());
}
