//! The aggregates kept incrementally, batch by batch as the core keeps them, equal a recount
//! of the stored states, whatever order events arrive in and however often they are
//! redelivered.

use super::*;
use ilm_protocol::event::{Escalation, RemediationAction};
use ilm_protocol::{
    CaseEvent, CaseHistory, CaseNonce, CaseRef, EventPayload, IssueCategory, MembershipCertificate,
    Money, Network, NetworkGenesis, OrgId, OrgKeys, Role, SignedRecord, Verdict,
};
use proptest::prelude::*;

/// The indexes kept in lists, rebuilt and built at a first start.
mod indexes;
use indexes::assert_lists_hold;

pub(crate) const T0: Timestamp = Timestamp(1_767_225_600);

struct Fixture {
    network: Network,
    cso: OrgKeys,
    parties: Vec<OrgKeys>,
    certs: BTreeMap<OrgId, MembershipCertificate>,
}

/// A network of one steward, `name`d, begun at [`T0`].
pub(crate) fn network(name: &str, steward: &OrgKeys) -> Network {
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: name.into(),
            stewards: vec![steward.org_id()],
            created_at: T0,
        },
        steward,
    )
    .expect("genesis");
    Network::from_genesis(&genesis).expect("network")
}

/// The certificate of `keys` as a member in `role`, issued by `steward` at [`T0`] for ten
/// years.
pub(crate) fn certificate(
    network: &Network,
    steward: &OrgKeys,
    keys: &OrgKeys,
    role: Role,
) -> MembershipCertificate {
    MembershipCertificate {
        network_id: network.id(),
        org_id: keys.org_id(),
        name: format!("{role}"),
        role,
        country: "TH".parse().expect("country"),
        encryption_key: keys.encryption_key(),
        not_before: T0,
        not_after: T0.plus_days(3650),
        issuer: steward.org_id(),
        issued_at: T0,
        signing_key: None,
        earlier_keys: Vec::new(),
    }
}

fn fixture() -> Fixture {
    let k = |n: u8| OrgKeys::from_secret_bytes([n; 32], [n + 100; 32]);
    let steward = k(1);
    let network = network("Aggregates", &steward);
    let cso = k(2);
    let parties = vec![k(3), k(4)];
    let certs = [
        (&cso, Role::Cso),
        (&parties[0], Role::Supplier),
        (&parties[1], Role::Agency),
    ]
    .into_iter()
    .map(|(keys, role)| (keys.org_id(), certificate(&network, &steward, keys, role)))
    .collect();
    Fixture {
        network,
        cso,
        parties,
        certs,
    }
}

/// One case's events as they are authored: each signed, naming the one before it as its
/// parent, the first with the case's nonce.
pub(crate) struct Chain {
    network_id: ilm_protocol::NetworkId,
    case: CaseRef,
    nonce: CaseNonce,
    /// The events so far, in causal order.
    pub(crate) events: Vec<SignedRecord>,
}

impl Chain {
    /// A case's chain, empty.
    pub(crate) fn new(
        network_id: ilm_protocol::NetworkId,
        case: CaseRef,
        nonce: CaseNonce,
    ) -> Chain {
        Chain {
            network_id,
            case,
            nonce,
            events: Vec::new(),
        }
    }

    /// Adds the next event, authored by `keys` at `at`.
    pub(crate) fn push(&mut self, keys: &OrgKeys, at: Timestamp, payload: EventPayload) {
        let parents = self
            .events
            .last()
            .map(|e| vec![e.digest()])
            .unwrap_or_default();
        let body = CaseEvent {
            network_id: self.network_id,
            case_ref: self.case,
            case_nonce: parents.is_empty().then_some(self.nonce),
            parents,
            author: keys.org_id(),
            authored_at: at,
            payload,
        };
        self.events
            .push(SignedRecord::sign(&body, keys).expect("sign"));
    }
}

/// One case's events in causal order: escalation to one party, its answer and remediation,
/// and the workers' verdict. `shape` varies how far it goes, when, and with what.
fn case_events(f: &Fixture, n: u8, shape: u8) -> Vec<SignedRecord> {
    let nonce = CaseNonce([n; 16]);
    let case = CaseRef::derive(&f.cso.org_id(), &nonce);
    let party = &f.parties[usize::from(shape % 2)];
    let day = |d: u64| T0.plus_days(d + u64::from(n) * 17);
    let mut chain = Chain::new(f.network.id(), case, nonce);
    let mut push = |keys: &OrgKeys, at: Timestamp, payload: EventPayload| {
        chain.push(keys, at, payload);
    };
    let categories = if shape.is_multiple_of(3) {
        vec![IssueCategory::WithholdingOfWages]
    } else {
        vec![
            IssueCategory::RecruitmentFees,
            IssueCategory::RetentionOfIdentityDocuments,
        ]
    };
    push(
        &f.cso,
        day(0),
        EventPayload::Escalation(Escalation {
            to: party.org_id(),
            categories,
            workers_affected: 3,
            site: "Site".into(),
            requested_remedy: "Pay".into(),
            description: "Unpaid".into(),
            recruitment_fees: None,
            acknowledge_by: day(7),
            remediate_by: day(60),
        }),
    );
    let steps = shape % 5;
    if steps >= 1 {
        push(
            party,
            day(u64::from(shape % 9)),
            EventPayload::Acknowledgement {
                note: String::new(),
            },
        );
    }
    if steps >= 2 {
        push(
            party,
            day(12),
            EventPayload::RemediationAction(RemediationAction {
                description: "Paid".into(),
                taken_at: day(12),
                amount_repaid: Some(Money {
                    minor_units: 1000 * u64::from(shape),
                    currency: "THB".parse().expect("currency"),
                }),
                workers_benefited: 3,
                evidence: vec![],
            }),
        );
    }
    if steps >= 3 {
        push(
            party,
            day(20 + u64::from(shape % 15)),
            EventPayload::RemediationReported {
                summary: "Done".into(),
            },
        );
    }
    if steps >= 4 {
        push(
            &f.cso,
            day(40),
            EventPayload::WorkerVerification {
                verdict: if shape.is_multiple_of(2) {
                    Verdict::Resolved
                } else {
                    Verdict::NotResolved
                },
                workers_consulted: 3,
                note: String::new(),
            },
        );
    }
    // Some cases go to the other party too, later and with other deadlines, so that the
    // parties of one case owe different things at different dates.
    if shape >= 30 {
        let other = &f.parties[usize::from(shape.is_multiple_of(2))];
        push(
            &f.cso,
            day(45),
            EventPayload::Escalation(Escalation {
                to: other.org_id(),
                categories: vec![IssueCategory::ExcessiveOvertime],
                workers_affected: 2,
                site: "Site".into(),
                requested_remedy: "Rest days".into(),
                description: "Overtime".into(),
                recruitment_fees: None,
                acknowledge_by: day(46 + u64::from(shape % 4)),
                remediate_by: day(80),
            }),
        );
    }
    // Some are closed, whatever their parties still owed: the due-date lists lose them and
    // every party's list of the cases it owes nothing in gains them; reopened, the reverse.
    if shape % 7 == 3 {
        push(
            &f.cso,
            day(90),
            EventPayload::Closed {
                outcome: "closed".into(),
            },
        );
        // And some reopened: what their parties owed is owed again.
        if shape % 14 == 3 {
            push(
                &f.cso,
                day(95),
                EventPayload::Reopened {
                    reason: "asked again".into(),
                },
            );
        }
    }
    chain.events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn incremental_aggregates_equal_a_recount(
        shapes in proptest::collection::vec(0u8..45, 1..5),
        order in proptest::collection::vec(any::<u32>(), 0..80),
        batch_sizes in proptest::collection::vec(1usize..5, 1..40),
    ) {
        let f = fixture();
        let cert_of = |org: &OrgId, _at: Timestamp| f.certs.get(org).cloned();
        // Every event, each delivered one to three times, in a shuffled order.
        let mut deliveries: Vec<(CaseRef, SignedRecord)> = Vec::new();
        for (n, shape) in shapes.iter().enumerate() {
            let events = case_events(&f, n as u8 + 1, *shape);
            let case = CaseRef::derive(&f.cso.org_id(), &CaseNonce([n as u8 + 1; 16]));
            for (i, e) in events.iter().enumerate() {
                for _ in 0..=(i % 3) {
                    deliveries.push((case, e.clone()));
                }
            }
        }
        for (i, r) in order.iter().enumerate() {
            let len = deliveries.len();
            deliveries.swap(i % len, *r as usize % len);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::schema::open(&dir.path().join("db")).expect("store");
        let mut histories: BTreeMap<CaseRef, CaseHistory> = BTreeMap::new();
        let mut waiting = deliveries;
        let mut sizes = batch_sizes.iter().cycle();
        // Batches as the core makes them: events whose parents are missing wait for a later
        // batch (as sync would bring them); each batch stages its touched cases once.
        while !waiting.is_empty() {
            let size = *sizes.next().expect("cycle");
            let mut later = Vec::new();
            let mut touched = std::collections::BTreeSet::new();
            let mut progressed = false;
            for (i, (case, rec)) in waiting.into_iter().enumerate() {
                if i >= size {
                    later.push((case, rec));
                    continue;
                }
                let h = histories
                    .entry(case)
                    .or_insert_with(|| CaseHistory::new(f.network.id(), case));
                match h.insert(&rec, &cert_of) {
                    Ok(_) => {
                        touched.insert(case);
                        progressed = true;
                    }
                    Err(ilm_protocol::HistoryError::MissingParents(_)) => later.push((case, rec)),
                    Err(e) => panic!("a valid event was refused: {e}"),
                }
            }
            let mut batch = WriteBatch::new();
            let mut pending = Pending::new();
            for case in &touched {
                let Some(state) = histories[case].state() else { continue };
                let old = crate::cases::state_of(&store, case).expect("get");
                pending.case(old.as_ref(), state);
                let heads = histories[case].heads();
                crate::cases::put_record(&mut batch, state, &heads).expect("put");
            }
            pending.stage(&store, &mut batch).expect("stage");
            store.commit(batch).expect("commit");
            // A batch that took nothing while others wait rotates the queue.
            if !progressed && !later.is_empty() {
                later.rotate_left(1);
            }
            waiting = later;
        }
        let counted = recount(&store, &mut |_| {}).expect("recount").into_cells();
        prop_assert_eq!(held(&store).expect("held"), counted.clone());
        // Each index holds exactly the entries of the stored states, once each (the due
        // dates of the open cases that owe something, the cases not closed, the search terms).
        let states: Vec<CaseState> = crate::cases::states(&store).expect("states");
        assert_lists_hold(&store, &states);
        assert_due_reads(&store, &states, 1);
        // Control: the aggregates do count things (so equality is not of two empty maps).
        prop_assert_eq!(counted.get("cases").copied(), Some(shapes.len() as i64));
    }
}

/// The overdue counts and lists (per-day cells before today, today's entries before now)
/// equal the case list's, in all and per party, at every due date of `states`, a second
/// either side and the edges of its day (every `every`-th of those times); returns how many
/// (time, party) checks found something overdue.
fn assert_due_reads(store: &Store, states: &[CaseState], every: usize) -> usize {
    let mut found = 0;
    let mut nows = vec![T0];
    let dues = states
        .iter()
        .flat_map(|s| s.obligations(Timestamp(0)))
        .map(|o| o.due);
    for d in dues {
        let day = d.0 - d.0 % 86_400;
        nows.extend([d.0 - 1, d.0, d.0 + 1, day, day - 1, day + 86_400].map(Timestamp));
    }
    nows.sort();
    nows.dedup();
    for now in nows.into_iter().step_by(every.max(1)) {
        let listed = states
            .iter()
            .filter(|s| s.obligations(now).iter().any(|o| o.overdue))
            .count() as u64;
        assert_eq!(
            due::overdue(store, now).expect("count"),
            listed,
            "at {now:?}"
        );
        // Per party: the cases in which it owes something overdue, counted and listed.
        let mut owing: BTreeMap<OrgId, Vec<CaseRef>> = BTreeMap::new();
        for s in states {
            let mut late: Vec<OrgId> = s
                .obligations(now)
                .iter()
                .filter(|o| o.overdue)
                .map(|o| o.party)
                .collect();
            late.dedup();
            for p in late {
                owing.entry(p).or_default().push(s.case_ref);
            }
        }
        let mut expected: Vec<(OrgId, u64)> =
            owing.iter().map(|(p, c)| (*p, c.len() as u64)).collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        assert_eq!(
            due::overdue_by_party(store, now).expect("by party"),
            expected
        );
        for (p, cases) in &owing {
            found += 1;
            assert_eq!(
                due::overdue_at(store, p, now).expect("count"),
                cases.len() as u64
            );
            let mut listed: Vec<CaseRef> = due::owed_keys(store, p, now, usize::MAX)
                .expect("keys")
                .expect("within max")
                .iter()
                .map(super::opened::case_of)
                .collect();
            listed.sort();
            let mut cases = cases.clone();
            cases.sort();
            assert_eq!(listed, cases);
        }
    }
    found
}

/// The signed events of one sample case, escalation first.
pub(crate) fn events_of_one_case() -> Vec<SignedRecord> {
    case_events(&fixture(), 1, 4)
}

/// The states of one signed case after each of its first `steps` events (escalation first).
pub(crate) fn states_of_one_case(steps: usize) -> Vec<CaseState> {
    let f = fixture();
    let events = case_events(&f, 1, 4);
    let cert_of = |org: &OrgId, _at: Timestamp| f.certs.get(org).cloned();
    let case = CaseRef::derive(&f.cso.org_id(), &CaseNonce([1; 16]));
    let mut h = CaseHistory::new(f.network.id(), case);
    events[..steps]
        .iter()
        .map(|e| {
            h.insert(e, &cert_of).expect("a valid event");
            h.state().cloned().expect("state")
        })
        .collect()
}

#[test]
fn overdue_counts_the_cases_owing_something_before_now() {
    let state = states_of_one_case(1).remove(0);
    let due = state
        .next_due(Timestamp(0))
        .expect("an acknowledgement is due");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    let mut pending = Pending::new();
    pending.case(None, &state);
    let mut batch = WriteBatch::new();
    pending.stage(&store, &mut batch).expect("stage");
    store.commit(batch).expect("commit");
    // As the case list says: overdue once now is past the due date, not at it.
    assert_eq!(due::overdue(&store, due).expect("count"), 0);
    assert_eq!(due::overdue(&store, due.plus_secs(1)).expect("count"), 1);
    assert!(
        state
            .obligations(due.plus_secs(1))
            .iter()
            .any(|o| o.overdue)
    );
    assert!(!state.obligations(due).iter().any(|o| o.overdue));
}

#[test]
fn a_case_moving_on_moves_its_cells_and_a_repeat_changes_nothing() {
    let states = states_of_one_case(2);
    let (escalated, acknowledged) = (&states[0], &states[1]);
    let d = delta(&of_case(escalated), &of_case(acknowledged));
    assert_eq!(d.get("cases.status.escalated"), Some(&-1));
    assert_eq!(d.get("cases.status.acknowledged"), Some(&1));
    assert!(d.keys().any(|k| k.starts_with("ack.days.")), "{d:?}");
    assert!(!d.contains_key("cases"), "the case is counted once: {d:?}");
    assert!(delta(&of_case(acknowledged), &of_case(acknowledged)).is_empty());
}

#[test]
fn the_median_of_a_day_histogram_is_the_median_of_the_days_it_counts() {
    let hist = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    // 1, 1, 4 (two months): 1.
    let odd = hist(&[("2026-01.001", 2), ("2026-02.004", 1)]);
    assert_eq!(median_days(&odd), Some(1.0));
    // 1, 1, 4, 9: (1 + 4) / 2.
    let even = hist(&[("2026-01.001", 2), ("2026-02.004", 1), ("2026-02.009", 1)]);
    assert_eq!(median_days(&even), Some(2.5));
    assert_eq!(median_days(&BTreeMap::new()), None);
    assert_eq!(month(T0), "2026-01");
    // 2000-02-29T00:00:00Z, a leap day.
    assert_eq!(month(Timestamp(951_782_400)), "2000-02");
}

#[test]
fn aggregates_counted_with_other_definitions_are_counted_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    assert!(
        ensure_built(&store).expect("first"),
        "a new database is counted"
    );
    assert!(
        !ensure_built(&store).expect("second"),
        "then kept incrementally"
    );
    // A stale cell under an older version of the definitions goes at the recount.
    let mut batch = WriteBatch::new();
    batch.put(&schema::AGGREGATES, b"cases", &7).expect("put");
    batch
        .put(&schema::AGGREGATES, BUILT.as_bytes(), &(CELLS_SINCE - 1))
        .expect("put");
    store.commit(batch).expect("commit");
    assert!(ensure_built(&store).expect("older version"));
    assert_eq!(held(&store).expect("held"), Cells::new());
}

/// New cell definitions recount the cells at the next start; the indexes, unchanged since
/// the version they are built as since (`INDEXES_SINCE` of the release), are kept (a
/// rebuild reads every case again), and rebuilt for a store counted before it. Taken as the
/// next release would: this one's is checked by
/// `a_store_counted_before_the_settled_lists_builds_them_at_its_first_start`.
#[test]
fn new_cells_are_counted_and_indexes_built_since_their_version_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    let states = states_of_one_case(3);
    let state = states.last().expect("state");
    let mut batch = WriteBatch::new();
    let mut pending = Pending::new();
    pending.case(None, state);
    crate::cases::put_record(&mut batch, state, &[]).expect("put");
    pending.stage(&store, &mut batch).expect("stage");
    store.commit(batch).expect("commit");
    assert!(ensure_built(&store).expect("built"));
    let party_cells = || {
        held(&store)
            .expect("held")
            .into_keys()
            .filter(|k| k.starts_with(party::PREFIX))
            .count()
    };
    assert!(party_cells() > 0, "control: a party's cells are counted");
    // As a store counted at `since` leaves it: no per-party cells; and the list of open
    // cases emptied, to see whether the indexes are rebuilt.
    let as_counted_at = |since: i64| {
        let mut batch = WriteBatch::new();
        for k in held(&store).expect("held").into_keys() {
            if k.starts_with(party::PREFIX) {
                batch.remove(&schema::AGGREGATES, k.as_bytes());
            }
        }
        for id in store.ids_after(&schema::OPENED, 0, 100).expect("ids") {
            batch.remove(&schema::OPENED, &id);
        }
        batch
            .put(&schema::AGGREGATES, BUILT.as_bytes(), &since)
            .expect("put");
        store.commit(batch).expect("commit");
        assert_eq!(party_cells(), 0);
        assert_eq!(store.count(&schema::OPENED).expect("count"), 0);
    };
    // As the next version would find this one's store: cells of an earlier version, indexes
    // as they are built since.
    let next = VERSION + 1;
    as_counted_at(VERSION);
    assert!(ensure_built_as(&store, next, VERSION, next).expect("recounted"));
    assert!(party_cells() > 0, "the new cells are counted");
    assert_eq!(
        store.count(&schema::OPENED).expect("count"),
        0,
        "kept as found"
    );
    as_counted_at(VERSION - 1);
    assert!(ensure_built_as(&store, next, VERSION, next).expect("recounted"));
    assert!(party_cells() > 0);
    assert_eq!(store.count(&schema::OPENED).expect("count"), 1, "rebuilt");
    assert_eq!(opened::LISTS.count(&store, &[]).expect("count"), 1);
}

/// The quantiles of a day histogram are those of the list of values it counts (nearest
/// rank), per month.
#[test]
fn day_quantiles_per_month_match_the_sorted_values() {
    // 2026-01: days 1 (x5), 2 (x3), 10 (x2); 2026-02: day 4 (x1).
    let cells: BTreeMap<String, i64> = [
        ("2026-01.001", 5),
        ("2026-01.002", 3),
        ("2026-01.010", 2),
        ("2026-02.004", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let months = by_month(&cells);
    assert_eq!(months.len(), 2);
    let jan = &months["2026-01"];
    let values = [1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 10.0, 10.0];
    assert_eq!(quantile_days(jan, 0.5), Some(values[4]));
    assert_eq!(quantile_days(jan, 0.9), Some(values[8]));
    assert_eq!(quantile_days(jan, 0.8), Some(2.0));
    assert_eq!(quantile_days(&months["2026-02"], 0.9), Some(4.0));
    assert_eq!(quantile_days(&BTreeMap::new(), 0.9), None);
}
