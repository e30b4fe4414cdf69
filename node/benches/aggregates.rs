//! The CSO dashboard's figures read from the incremental aggregates, against a full scan of
//! the same cases (what the dashboard did before: every case state read and folded), in the
//! same run; and what keeping the aggregates costs each batch of stored states.
//!
//! Run: `cargo bench -p ilm-node --bench aggregates` (release); without `--bench` it runs a
//! small smoke version. Knob: ILM_BENCH_CASES (100000; smoke 2000). Nothing asserts on time.

use anyhow::{Context, Result};
use ilm_node::aggregates::{self, Pending};
use ilm_node::schema;
use ilm_node::store::{Store, WriteBatch};
use ilm_protocol::event::{Escalation, RemediationAction};
use ilm_protocol::{
    CaseEvent, CaseNonce, CaseRef, CaseState, EventPayload, IssueCategory, Money, NetworkId, OrgId,
    Timestamp, Verdict,
};
use std::time::{Duration, Instant};

const T0: u64 = 1_735_689_600; // 2025-01-01
const DAY: u64 = 86_400;
const CATEGORIES: [IssueCategory; 4] = [
    IssueCategory::WithholdingOfWages,
    IssueCategory::RecruitmentFees,
    IssueCategory::RetentionOfIdentityDocuments,
    IssueCategory::ExcessiveOvertime,
];

fn env(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

/// A synthetic case's state: folded from unsigned event bodies (the fold is what a node
/// stores; signatures play no part in the figures).
fn state(i: u64) -> CaseState {
    let cso = OrgId([2; 32]);
    let party = OrgId([3 + (i % 40) as u8; 32]);
    let nonce = CaseNonce(i.to_be_bytes().repeat(2).try_into().unwrap_or([0; 16]));
    let case = CaseRef::derive(&cso, &nonce);
    let at = |d: u64| Timestamp(T0 + (i % 700) * DAY + d * DAY);
    let ev = |author: OrgId, d: u64, payload: EventPayload| CaseEvent {
        network_id: NetworkId([1; 16]),
        case_ref: case,
        case_nonce: None,
        parents: vec![],
        author,
        authored_at: at(d),
        payload,
    };
    let root = ev(
        cso,
        0,
        EventPayload::Escalation(Escalation {
            to: party,
            categories: vec![CATEGORIES[(i % 4) as usize], CATEGORIES[(i % 3) as usize]],
            workers_affected: 3,
            site: "Site".into(),
            requested_remedy: "Pay".into(),
            description: "Unpaid".into(),
            recruitment_fees: None,
            acknowledge_by: at(7),
            remediate_by: at(60),
        }),
    );
    let mut s = CaseState::open(&root).unwrap_or_else(|| unreachable!("an escalation opens"));
    let steps = i % 5;
    if steps >= 1 {
        s.apply(&ev(
            party,
            i % 11,
            EventPayload::Acknowledgement {
                note: String::new(),
            },
        ));
    }
    if steps >= 2 {
        s.apply(&ev(
            party,
            14,
            EventPayload::RemediationAction(RemediationAction {
                description: "Paid".into(),
                taken_at: at(14),
                amount_repaid: Some(Money {
                    minor_units: 1000 + i % 9000,
                    currency: "THB".parse().unwrap_or_else(|_| unreachable!("THB")),
                }),
                workers_benefited: 3,
                evidence: vec![],
            }),
        ));
    }
    if steps >= 3 {
        s.apply(&ev(
            party,
            20 + i % 30,
            EventPayload::RemediationReported {
                summary: "Done".into(),
            },
        ));
    }
    if steps >= 4 {
        s.apply(&ev(
            cso,
            60,
            EventPayload::WorkerVerification {
                verdict: if i.is_multiple_of(3) {
                    Verdict::NotResolved
                } else {
                    Verdict::Resolved
                },
                workers_consulted: 3,
                note: String::new(),
            },
        ));
    }
    s
}

fn quantiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn main() -> Result<()> {
    let measuring = std::env::args().any(|a| a == "--bench");
    let cases = env("ILM_BENCH_CASES", if measuring { 100_000 } else { 2_000 })?;
    let runs = if measuring { 30 } else { 3 };
    let tmp = tempfile::tempdir()?;
    let store: Store = schema::open(&tmp.path().join("db"))?;

    // Seed through the store's batch API, as the core stores states: each batch of 1000
    // states carries its aggregate changes. The cost of keeping them is timed apart.
    let (mut with_agg, mut plain) = (Duration::ZERO, Duration::ZERO);
    let mut i = 0u64;
    while i < cases {
        let states: Vec<CaseState> = (i..(i + 1000).min(cases)).map(state).collect();
        let started = Instant::now();
        let mut batch = WriteBatch::new();
        for s in &states {
            ilm_node::cases::put_record(&mut batch, s, &[])?;
        }
        plain += started.elapsed();
        let started = Instant::now();
        let mut pending = Pending::new();
        for s in &states {
            pending.case(None, s);
        }
        pending.stage(&store, &mut batch)?;
        with_agg += started.elapsed();
        store.commit(batch)?;
        i += states.len() as u64;
    }
    store.flush()?;
    aggregates::ensure_built(&store)?;
    println!(
        "{cases} cases seeded; staging their aggregates took {:.0} ms against {:.0} ms to stage the states themselves",
        with_agg.as_secs_f64() * 1e3,
        plain.as_secs_f64() * 1e3
    );

    let now = Timestamp(T0 + 720 * DAY);
    let mut from_aggregates = Vec::new();
    let mut scan = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let d = ilm_node::ui::figures::cso(&store, now)?;
        from_aggregates.push(started.elapsed());
        std::hint::black_box(d.tiles.len());
        let started = Instant::now();
        let counted = aggregates::recount(&store, &mut |_| {})?;
        scan.push(started.elapsed());
        std::hint::black_box(counted.len());
    }
    let (a50, a99) = quantiles(from_aggregates);
    let (s50, s99) = quantiles(scan);
    println!(
        "CSO dashboard from aggregates: p50 {:.2} ms, p99 {:.2} ms",
        a50.as_secs_f64() * 1e3,
        a99.as_secs_f64() * 1e3
    );
    println!(
        "the same figures by scanning every case: p50 {:.1} ms, p99 {:.1} ms",
        s50.as_secs_f64() * 1e3,
        s99.as_secs_f64() * 1e3
    );
    println!(
        "ratio (scan / aggregates, p50): {:.0}x",
        s50.as_secs_f64() / a50.as_secs_f64().max(1e-9)
    );
    println!("aggregate cells: {}", aggregates::held(&store)?.len());
    Ok(())
}
