//! Catch-up against live delivery: a supplier's node that missed N events (a new or restored
//! node, or one offline for a week) gets them by history sync when it meets the CSO again;
//! then, both online, the CSO escalates M new cases to it, delivered live. Both rates are
//! events stored by the supplier per second, measured in the same run on the same nodes.
//!
//! Setup: a network whose certificates began 400 days ago; the CSO's store is seeded by the
//! generator behind `ilm demo --cases` with cases escalated to the one supplier (real events
//! signed by both, 1 to 4 each), until it holds N events. Both nodes run in this process
//! (`ilm_node::daemon::start`, TCP on loopback); the supplier starts empty and dials the
//! CSO, and the CSO offers its heads on admission (the path any node that was away takes).
//! Completion is read from the supplier's store (its count of events), polled every 100 ms.
//!
//! Run: `cargo bench -p ilm-node --bench catchup` (release); without `--bench` a small smoke
//! version. Knobs: ILM_BENCH_EVENTS (100000; smoke 500), ILM_BENCH_LIVE (10000; smoke 100).
//! Nothing asserts on time.

mod common;

use anyhow::{Context, Result, anyhow, bail};
use common::*;
use futures::StreamExt;
use ilm_node::demo::generate::{self, Cast};
use ilm_node::schema;
use ilm_node::store::Store;
use ilm_protocol::{EventPayload, OrgKeys};
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

fn main() -> Result<()> {
    let measuring = std::env::args().any(|a| a == "--bench");
    let events = env("ILM_BENCH_EVENTS", if measuring { 100_000 } else { 500 })?;
    let live = env("ILM_BENCH_LIVE", if measuring { 10_000 } else { 100 })?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(events, live))
}

/// Waits until `store` holds `want` events; returns when it did, or fails after `limit`.
async fn events_reach(store: &Store, want: usize, limit: Duration) -> Result<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        if store.count(&schema::EVENTS)? >= want {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!(
                "the supplier holds {} of {want} events after {limit:?}",
                store.count(&schema::EVENTS)?
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(events: u64, live: u64) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let w = backdated_world(tmp.path(), 1, 400)?;
    let (cso_dir, cso_keys, cso_cert) = &w.cso;
    let (supplier_dir, supplier_keys, supplier_cert) = &w.parties[0];

    // Seed the CSO: a first batch gives the events per case, the rest reaches N.
    let seeding = Instant::now();
    let held = {
        let store = schema::open(&cso_dir.db_path())?;
        let parties: Vec<&OrgKeys> = vec![supplier_keys];
        let certificates = vec![cso_cert.clone(), supplier_cert.clone()];
        let cast = Cast {
            network_id: w.network.id(),
            cso: cso_keys,
            parties: &parties,
            certificates: &certificates,
            from: ilm_protocol::Timestamp(ilm_node::membership::now().0 - 380 * 86_400),
            until: ilm_node::membership::now(),
        };
        let first = (events / 3).clamp(1, 1_000);
        generate::generate(&store, &cast, first, 7, &mut |_| {})?;
        let per_case = store.count(&schema::EVENTS)? as f64 / first as f64;
        let rest = ((events as f64 - store.count(&schema::EVENTS)? as f64) / per_case).ceil();
        if rest > 0.0 {
            generate::generate(&store, &cast, rest as u64, 8, &mut |_| {})?;
        }
        store.flush()?;
        store.count(&schema::EVENTS)?
    };
    println!(
        "the CSO holds {held} events (generated in {:.1} s)",
        seeding.elapsed().as_secs_f64()
    );

    // Catch-up: the supplier starts empty and dials the CSO.
    let cso = start_node(cso_dir, Vec::new()).await?;
    let cso_addr = dial_address(cso_dir).await?;
    let started = Instant::now();
    let supplier = start_node(supplier_dir, vec![cso_addr]).await?;
    let done = events_reach(&supplier.store, held, Duration::from_secs(3_600)).await?;
    let catchup = done.saturating_duration_since(started);
    let catchup_rate = held as f64 / catchup.as_secs_f64();

    // Live: both online, M new cases escalated to the supplier, at most 64 appends waiting.
    let payload = EventPayload::Escalation(escalation(
        supplier_keys.org_id(),
        "A new case, delivered live".into(),
    )?);
    let started = Instant::now();
    let appended: Vec<Result<()>> = futures::stream::iter(0..live)
        .map(|_| {
            let (core, payload) = (cso.core.clone(), payload.clone());
            async move {
                core.append(None, payload)
                    .await
                    .map(|_| ())
                    .map_err(|e| anyhow!("append refused: {e}"))
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    appended.into_iter().collect::<Result<Vec<()>>>()?;
    let done = events_reach(
        &supplier.store,
        held + live as usize,
        Duration::from_secs(3_600),
    )
    .await?;
    let live_time = done.saturating_duration_since(started);
    let live_rate = live as f64 / live_time.as_secs_f64();

    println!(
        "catch-up by history sync: {held} events in {:.1} s ({catchup_rate:.0} events/s)",
        catchup.as_secs_f64()
    );
    println!(
        "live delivery: {live} events in {:.1} s ({live_rate:.0} events/s)",
        live_time.as_secs_f64()
    );
    println!(
        "catch-up / live: {:.0} %",
        100.0 * catchup_rate / live_rate.max(1e-9)
    );
    drop(supplier);
    drop(cso);
    Ok(())
}
