//! Back-pressure with a deliberately slow node: several CSO nodes flood one supplier whose
//! every flush takes extra time (injected through its store), so deliveries pile up in the
//! supplier's network task. Before the network task kept its own backlog, it and the core
//! could each wait on the other's full channel: a deadlock. This bench shows every message
//! still arrives, and prints the throughput against the same run without the delay.
//!
//! Run: `cargo bench -p ilm-node --bench backpressure` (release); `cargo test --benches` runs
//! a small smoke version. Knobs: ILM_BENCH_SENDERS (4), ILM_BENCH_MESSAGES (per sender; 500,
//! smoke 20), ILM_BENCH_FLUSH_DELAY_MS (20). Nothing asserts on time; a hang guard stops the
//! run with the nodes' counters if nothing moves for STUCK_AFTER.

mod common;

use anyhow::{Context, Result, bail};
use common::*;
use ilm_node::daemon::RunningNode;
use ilm_protocol::EventPayload;
use std::time::{Duration, Instant};

/// Hang guard only: no progress for this long means the nodes are stuck.
const STUCK_AFTER: Duration = Duration::from_secs(120);

fn env(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

/// Delivered messages in a node's outbox.
async fn delivered(node: &RunningNode) -> Result<u64> {
    let v = reqwest_like(node, "/api/status").await?;
    Ok(v["outbox"]["delivered"].as_u64().unwrap_or(0))
}

async fn reqwest_like(node: &RunningNode, path: &'static str) -> Result<serde_json::Value> {
    let (addr, token) = (node.admin_addr, node.token.clone());
    tokio::task::spawn_blocking(move || -> Result<serde_json::Value> {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let mut res = agent
            .get(format!("http://{addr}{path}"))
            .header("Authorization", format!("Bearer {token}"))
            .call()?;
        Ok(res.body_mut().read_json()?)
    })
    .await?
}

/// One run: `senders` CSO nodes send `per_sender` escalations each to one supplier whose
/// flushes take `delay`. Returns the time until every message was acknowledged.
async fn one_run(senders: usize, per_sender: u64, delay: Duration) -> Result<Duration> {
    let base = tempfile::tempdir()?;
    let (_network, members, supplier) = create_network_with(base.path(), senders)?;
    let b = start_node(&supplier.dir, vec![]).await?;
    b.store.inject_flush_delay(delay);
    let b_addr = dial_address(&supplier.dir).await?;
    let mut nodes = Vec::new();
    for m in &members {
        let a = start_node(&m.dir, vec![b_addr.clone()]).await?;
        wait_peer(&m.dir, &supplier.keys.org_id()).await?;
        nodes.push(a);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for a in &nodes {
        for _ in 0..per_sender {
            let core = a.core.clone();
            let payload = EventPayload::Escalation(escalation(
                supplier.keys.org_id(),
                "Wages withheld; load test".into(),
            )?);
            tasks.push(tokio::spawn(
                async move { core.append(None, payload).await },
            ));
        }
    }
    for t in tasks {
        t.await?.context("append")?;
    }
    let want = per_sender;
    let mut last = (0u64, Instant::now());
    loop {
        let mut done = 0;
        let mut all = true;
        for a in &nodes {
            let d = delivered(a).await?;
            done += d;
            all &= d >= want;
        }
        if all {
            break;
        }
        if done > last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() > STUCK_AFTER {
            let status = reqwest_like(&b, "/api/status").await?;
            bail!("stuck at {done} delivered; supplier: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = start.elapsed();
    for a in nodes {
        a.stop().await?;
    }
    b.stop().await?;
    Ok(took)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return Ok(());
    }
    let measuring = args.iter().any(|a| a == "--bench");
    let senders = env("ILM_BENCH_SENDERS", 4)? as usize;
    let per_sender = env("ILM_BENCH_MESSAGES", if measuring { 500 } else { 20 })?;
    let delay = Duration::from_millis(env("ILM_BENCH_FLUSH_DELAY_MS", 20)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let total = senders as u64 * per_sender;
    let fast = rt.block_on(one_run(senders, per_sender, Duration::ZERO))?;
    let slow = rt.block_on(one_run(senders, per_sender, delay))?;
    let rate = |d: Duration| total as f64 / d.as_secs_f64().max(1e-9);
    println!("back-pressure: {senders} senders x {per_sender} escalations to one supplier");
    println!(
        "  no delay            {:>8.2} s  {:>8.0} msgs/s",
        fast.as_secs_f64(),
        rate(fast)
    );
    println!(
        "  flush +{:>3} ms      {:>8.2} s  {:>8.0} msgs/s  ({:.2}x the time; all delivered, no deadlock)",
        delay.as_millis(),
        slow.as_secs_f64(),
        rate(slow),
        slow.as_secs_f64() / fast.as_secs_f64().max(1e-9)
    );
    Ok(())
}
