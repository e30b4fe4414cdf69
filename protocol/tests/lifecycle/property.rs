//! Property: every node accepts exactly what the table allows. A model of PROTOCOL.md's
//! table, written out again apart from `ilm_protocol::lifecycle`, against random steps.

use super::*;

/// The table of PROTOCOL.md 6.3, written out again independently of `ilm_protocol::lifecycle`.
#[derive(Default, Clone)]
struct Model {
    owner: Option<OrgId>,
    parties: BTreeMap<OrgId, (&'static str, bool)>,
    closed: bool,
}

impl Model {
    fn fold(&mut self, e: &CaseEvent) {
        let a = e.author;
        if self.owner.is_none() {
            self.owner = Some(a);
        }
        let set = |m: &mut Model, stage: &'static str, accepted: Option<bool>| {
            if let Some(p) = m.parties.get_mut(&a) {
                p.0 = stage;
                if let Some(x) = accepted {
                    p.1 = x;
                }
            }
        };
        match &e.payload {
            EventPayload::Escalation(x) => {
                self.parties.insert(x.to, ("escalated", false));
            }
            EventPayload::Acknowledgement { .. } => set(self, "acknowledged", Some(true)),
            EventPayload::Dispute { .. } => set(self, "disputed", Some(false)),
            EventPayload::RemediationPlan { .. } => set(self, "planned", Some(true)),
            EventPayload::RemediationAction(_) => set(self, "remediating", None),
            EventPayload::RemediationReported { .. } => set(self, "reported", None),
            EventPayload::WorkerVerification { verdict, .. } => {
                let v = match verdict {
                    Verdict::Resolved => "resolved",
                    Verdict::PartlyResolved => "partly",
                    Verdict::NotResolved => "not_resolved",
                };
                for p in self.parties.values_mut().filter(|p| p.0 == "reported") {
                    p.0 = v;
                }
            }
            EventPayload::Reopened { .. } => {
                self.closed = false;
                for p in self.parties.values_mut() {
                    if p.0 == "partly" || p.0 == "not_resolved" {
                        p.0 = "reopened";
                    }
                }
            }
            EventPayload::Closed { .. } => self.closed = true,
        }
    }

    fn check(&self, e: &CaseEvent) -> Option<&'static str> {
        use EventKind::*;
        let kind = e.payload.kind();
        let owner_only = matches!(kind, Escalation | WorkerVerification | Reopened | Closed);
        if owner_only && Some(e.author) != self.owner {
            return Some("lifecycle.not_case_owner");
        }
        if self.closed {
            return (kind != Reopened).then_some("lifecycle.case_closed");
        }
        let any = |s: &[&str]| self.parties.values().any(|p| s.contains(&p.0));
        match kind {
            WorkerVerification if !any(&["reported"]) => {
                return Some("lifecycle.verification_without_report");
            }
            Reopened if !any(&["partly", "not_resolved"]) => {
                return Some("lifecycle.reopen_without_verdict");
            }
            Escalation | WorkerVerification | Reopened | Closed => return None,
            _ => {}
        }
        let Some((stage, accepted)) = self.parties.get(&e.author) else {
            return Some("lifecycle.not_escalated_to");
        };
        match (kind, *stage, *accepted) {
            (_, "resolved", _) => Some("lifecycle.already_resolved"),
            (_, "reported", _) => Some("lifecycle.awaiting_verification"),
            (Acknowledgement, _, true) => Some("lifecycle.already_acknowledged"),
            (Dispute, "disputed", _) => Some("lifecycle.already_disputed"),
            (RemediationReported, _, false) => Some("lifecycle.report_without_acknowledgement"),
            _ => None,
        }
    }
}

/// What the model expects for `e` given the accepted events so far: None to accept it.
fn expected(
    w: &World,
    accepted: &BTreeMap<EventHash, CaseEvent>,
    e: &CaseEvent,
) -> Option<&'static str> {
    let role = w.cert_of(&e.author).map(|c| c.role)?;
    if !may_author(role, e.payload.kind()) {
        return Some("event.role_not_allowed");
    }
    // The ancestors, in the order of section 7 (parents first, then (authored_at, hash)).
    let mut anc: BTreeSet<EventHash> = BTreeSet::new();
    let mut stack = e.parents.clone();
    while let Some(h) = stack.pop() {
        if anc.insert(h) {
            stack.extend(accepted[&h].parents.iter().copied());
        }
    }
    let mut listed: BTreeSet<EventHash> = BTreeSet::new();
    let mut model = Model::default();
    let mut latest = Timestamp(0);
    while listed.len() < anc.len() {
        let next = anc
            .iter()
            .filter(|h| !listed.contains(*h))
            .filter(|h| accepted[*h].parents.iter().all(|p| listed.contains(p)))
            .min_by_key(|h| (accepted[*h].authored_at, **h))
            .copied()
            .expect("a ready event");
        model.fold(&accepted[&next]);
        latest = latest.max(accepted[&next].authored_at);
        listed.insert(next);
    }
    if e.authored_at.0 + rules::CLOCK_TOLERANCE_SECS < latest.0 {
        return Some("event.time_before_ancestors");
    }
    if let Some(code) = model.check(e) {
        return Some(code);
    }
    if let EventPayload::Escalation(x) = &e.payload {
        let target = w.cert_of(&x.to).map(|c| c.role);
        if x.to == e.author || !target.is_some_and(rules::is_responder) {
            return Some("event.bad_escalation_target");
        }
    }
    None
}

/// One step of a random case: who, what, on which parents, and when.
#[derive(Debug, Clone)]
struct Step {
    author: usize,
    kind: usize,
    target: usize,
    verdict: usize,
    /// 0: on every head; otherwise on one earlier event (a concurrent branch).
    branch: usize,
    /// Seconds after the latest ancestor (may be negative).
    delay: i64,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..6,
        0usize..9,
        0usize..5,
        0usize..3,
        prop_oneof![3 => Just(0usize), 1 => 1usize..64],
        prop_oneof![9 => 0i64..3 * 86_400, 1 => -1_200i64..0],
    )
        .prop_map(|(author, kind, target, verdict, branch, delay)| Step {
            author,
            kind,
            target,
            verdict,
            branch,
            delay,
        })
}

const ROLES: [Role; 6] = [
    Role::Cso,
    Role::Supplier,
    Role::Agency,
    Role::Brand,
    Role::Government,
    Role::Steward,
];

fn payload(w: &World, s: &Step, at: Timestamp) -> EventPayload {
    let kind = EventKind::ALL[s.kind];
    match kind {
        EventKind::Escalation => {
            let to = [
                Role::Supplier,
                Role::Agency,
                Role::Brand,
                Role::Government,
                Role::Cso,
            ][s.target];
            EventPayload::Escalation(Escalation {
                to: w.m(to).keys.org_id(),
                categories: vec![IssueCategory::ALL[s.target]],
                workers_affected: 10 + s.target as u32,
                site: "Site".into(),
                requested_remedy: "Repay".into(),
                description: "Fees".into(),
                recruitment_fees: None,
                acknowledge_by: at.plus_days(7),
                remediate_by: at.plus_days(60),
            })
        }
        EventKind::WorkerVerification => verdict(
            [
                Verdict::Resolved,
                Verdict::PartlyResolved,
                Verdict::NotResolved,
            ][s.verdict],
        ),
        EventKind::RemediationAction => EventPayload::RemediationAction(RemediationAction {
            description: "repaid".into(),
            taken_at: at,
            amount_repaid: Some(thb(100 * (s.target as u64 + 1))),
            workers_benefited: s.verdict as u32,
            evidence: vec![],
        }),
        EventKind::Acknowledgement => ack(),
        EventKind::Dispute => dispute(),
        EventKind::RemediationPlan => plan(),
        EventKind::RemediationReported => reported(),
        EventKind::Reopened => reopen(),
        EventKind::Closed => close(),
    }
}

/// Inserts records in the given order, retrying those whose parents are missing.
fn replay(w: &World, case: CaseRef, recs: &[SignedRecord]) -> CaseHistory {
    let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
    let mut h = CaseHistory::new(w.network.id(), case);
    let mut todo: Vec<&SignedRecord> = recs.iter().collect();
    while !todo.is_empty() {
        let before = todo.len();
        todo.retain(|r| match h.insert(r, &cert_of) {
            Err(HistoryError::MissingParents(_)) => true,
            Ok(_) => false,
            Err(e) => panic!("an event accepted at its origin was refused on replay: {e}"),
        });
        assert!(todo.len() < before, "replay made no progress");
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_node_accepts_exactly_what_the_table_allows_and_converges(
        steps in prop::collection::vec(step(), 1..60),
        shuffles in prop::collection::vec(any::<u64>(), 3),
    ) {
        let w = World::new();
        let case = case_no(0x5a);
        let cert_of = |o: &OrgId, _at: Timestamp| w.cert_of(o);
        let mut origin = CaseHistory::new(w.network.id(), case);
        let root = w.event(Role::Cso, case, vec![], T0, escalation(&w, Role::Supplier));
        origin.insert(&root, &cert_of).expect("root");
        let mut accepted: BTreeMap<EventHash, CaseEvent> = BTreeMap::new();
        let mut records = vec![root.clone()];
        accepted.insert(root.digest(), root.verify::<CaseEvent>().expect("root").body().clone());
        let mut refused: Vec<(SignedRecord, &'static str)> = Vec::new();
        for s in &steps {
            let parents = match s.branch {
                0 => origin.heads(),
                n => vec![records[n % records.len()].digest()],
            };
            let latest = parents.iter().map(|p| accepted[p].authored_at).max().unwrap_or(T0);
            let at = Timestamp(latest.0.saturating_add_signed(s.delay));
            // Mostly the role that may author the kind, so that runs reach deep states.
            let owner_kind = matches!(
                EventKind::ALL[s.kind],
                EventKind::Escalation | EventKind::WorkerVerification | EventKind::Reopened | EventKind::Closed
            );
            let author = match s.author {
                0..=4 if owner_kind => Role::Cso,
                0..=2 => Role::Supplier,
                3..=4 => ROLES[1 + s.target % 4],
                _ => ROLES[s.target % 6],
            };
            let rec = w.event(author, case, parents, at, payload(&w, s, at));
            let body = rec.verify::<CaseEvent>().expect("signed").body().clone();
            let want = expected(&w, &accepted, &body);
            let got = origin.insert(&rec, &cert_of);
            match (&got, want) {
                // The very same event drawn twice: a replay, a no-op.
                (Ok(Inserted::Duplicate(_)), _) => {}
                (Ok(Inserted::New(h)), None) => {
                    accepted.insert(*h, body);
                    records.push(rec);
                }
                (Err(e), Some(code)) => {
                    prop_assert_eq!(e.code(), code, "{:?} by {}", body.payload.kind(), author);
                    refused.push((rec, code));
                }
                _ => prop_assert!(false, "{:?} by {}: got {:?}, model says {:?}", body.payload.kind(), author, got, want),
            }
        }
        // The state of the whole history is the fold of its ancestors seen from the heads.
        prop_assert_eq!(origin.state().cloned(), origin.state_for(&origin.heads()));
        // Every other participant receives the accepted events in another order and reaches
        // the same history and state; every refused event is refused there too.
        for seed in shuffles {
            let mut order = records.clone();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut replica = replay(&w, case, &order);
            prop_assert_eq!(replica.heads(), origin.heads());
            prop_assert_eq!(replica.state(), origin.state());
            for (rec, code) in &refused {
                let got = replica.insert(rec, &cert_of).map_err(|e| e.code());
                prop_assert_eq!(got, Err(*code));
            }
        }
    }
}
