//! End-to-end delivery throughput and latency of two real nodes on loopback, against raw
//! libp2p request-response measured in the same run.
//!
//! Setup: a steward-signed network (the steward only issues certificates, it does not run),
//! node A a CSO and node B a supplier, each with its own data directory written by the same
//! library calls the CLI uses (`ilm init`, `network create`, `member request/issue/join`), both
//! started with `ilm_node::daemon::start` on 127.0.0.1 (TCP). A bootstraps to B and learns
//! B's certificate in the hello. Every measured message is a new case: A appends an
//! `Escalation` to B through the node core (sign, seal to B, store and flush, queue in the
//! outbox); B verifies, opens, validates, stores and flushes it (group commit) and then
//! acknowledges; a message counts as delivered when A's outbox has the acknowledgement.
//!
//! Measured, in interleaved rounds:
//! * **ours sequential**: append, wait until delivered, repeat; latency from the start of the
//!   append to the acknowledgement;
//! * **ours in flight**: M appends submitted as fast as the core takes them (the outbox keeps
//!   up to 64 in flight per peer); time from the first append to the M-th acknowledgement.
//!   This is an open loop, so its latencies are mostly time spent queued behind earlier
//!   messages and grow with M;
//! * **ours, window in flight**: M messages with at most the raw window (64) appended but not
//!   yet acknowledged, so its latencies compare with raw's;
//! * **raw**: two plain libp2p swarms (TCP + noise + yamux, request-response with the cbor
//!   codec, the server answers at once with a small ack), sequential and with the same
//!   window in flight, once with a 1 KiB byte payload and once with the very envelope the
//!   node sends (`Request::Deliver`, answered with an `Ack`), so transport and codec cost
//!   the same as ours.
//!
//! Then it times the parts of one delivery (crypto, JSON, sled commits) in isolation, to
//! show where the time goes. Configuration is by environment variable (see [`Params`]).
//! Run it with `scripts/bench-delivery`; results are discussed in BENCHMARKS.md. Nothing here
//! asserts on time: the figures are printed, and ratios compare runs of the same process.

mod common;

use anyhow::{Context, Result, anyhow, bail};
use common::*;
use futures::StreamExt;
use ilm_node::daemon::RunningNode;
use ilm_node::membership::now;
use ilm_node::metrics::Metrics;
use ilm_node::net::proto::{Ack, AckOutcome, Request, Response};
use ilm_node::outbox::{MAX_IN_FLIGHT_PER_PEER, OutboxEntry};
use ilm_node::store::WriteBatch;
use ilm_protocol::event::Escalation;
use ilm_protocol::{
    CaseEvent, CaseHistory, CaseNonce, CaseRef, Digest, Envelope, EventPayload,
    MembershipCertificate, MessageId, MessageKind, Network, NetworkId, OrgId, OrgKeys, Recipient,
    SignedRecord, Timestamp,
};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, noise, tcp, yamux};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Debug;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Redacted issue description; repeated and cut to the length that makes the body the target
/// size.
const DESCRIPTION: &str = "Workers on the night shift of the peeling line report that the \
    sending agency charged each of them 45,000 THB in placement and medical fees before \
    departure, financed by a lender in the home province at 5% a month. Passports were \
    collected on arrival for visa processing and have not been returned after eight months. \
    Deductions for housing and equipment leave less than the minimum wage. ";

/// Hang guard only (not a performance assertion): no acknowledgement for this long means the
/// nodes are stuck, and the bench stops with the nodes' counters instead of waiting forever.
const STUCK_AFTER: Duration = Duration::from_secs(300);

/// What to run; every field can be set by an environment variable.
#[derive(Debug, Clone)]
struct Params {
    /// `ILM_BENCH_SEQUENTIAL`: messages per sequential phase.
    sequential: usize,
    /// `ILM_BENCH_IN_FLIGHT`: messages per in-flight phase.
    in_flight: usize,
    /// `ILM_BENCH_WINDOW`: requests in flight for the raw baseline (default: the outbox's
    /// per-peer limit, so both sides have the same window).
    window: usize,
    /// `ILM_BENCH_APPENDERS`: concurrent `append` calls in the in-flight phase.
    appenders: usize,
    /// `ILM_BENCH_ROUNDS`: interleaved rounds (the summary keeps the median).
    rounds: usize,
    /// `ILM_BENCH_WARMUP`: unmeasured messages per path before the first round.
    warmup: usize,
    /// `ILM_BENCH_BODY_BYTES`: size of the `CaseEvent` body (its JSON, the signed bytes).
    body_bytes: usize,
    /// `ILM_BENCH_RAW_BYTES`: payload of the raw byte baseline.
    raw_bytes: usize,
    /// `ILM_BENCH_PARTS_MS`: time per part in the parts table (0 skips it).
    parts_ms: u64,
    /// `ILM_BENCH_DIR`: where the temporary data directories go (default: the system's).
    dir: Option<PathBuf>,
    /// `ILM_BENCH_WORKERS`: tokio worker threads shared by both nodes, the raw swarms and the
    /// driver (default: one per CPU, as `ilm run` has).
    workers: Option<usize>,
}

fn env_usize(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

impl Params {
    fn from_env(measuring: bool) -> Result<Params> {
        // `cargo test --benches` runs the binary without `--bench`: a quick smoke run.
        let (seq, inf, rounds, warmup, parts) = if measuring {
            (300, 3000, 3, 50, 250)
        } else {
            (5, 40, 1, 2, 0)
        };
        Ok(Params {
            sequential: env_usize("ILM_BENCH_SEQUENTIAL", seq)?.max(1),
            in_flight: env_usize("ILM_BENCH_IN_FLIGHT", inf)?.max(1),
            window: env_usize("ILM_BENCH_WINDOW", MAX_IN_FLIGHT_PER_PEER)?.max(1),
            appenders: env_usize("ILM_BENCH_APPENDERS", 64)?.max(1),
            rounds: env_usize("ILM_BENCH_ROUNDS", rounds)?.max(1),
            warmup: env_usize("ILM_BENCH_WARMUP", warmup)?.max(1),
            body_bytes: env_usize("ILM_BENCH_BODY_BYTES", 1024)?,
            raw_bytes: env_usize("ILM_BENCH_RAW_BYTES", 1024)?,
            parts_ms: env_usize("ILM_BENCH_PARTS_MS", parts)? as u64,
            dir: std::env::var_os("ILM_BENCH_DIR").map(PathBuf::from),
            workers: match env_usize("ILM_BENCH_WORKERS", 0)? {
                0 => None,
                n => Some(n),
            },
        })
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        return Ok(());
    }
    // Same rule as criterion: only `--bench` (from `cargo bench`) means "measure".
    let measuring = has("--bench") && !has("--test");
    let params = Params::from_env(measuring)?;
    let probe = Probe::install()?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = params.workers {
        rt.worker_threads(n);
    }
    let rt = rt.enable_all().build().context("start the tokio runtime")?;
    rt.block_on(run(params, probe, measuring))
}

// ---------------------------------------------------------------------------------------------
// Completion probe: the instant A's outbox records each acknowledgement.

/// Sees the outbox's `delivered` debug event (emitted right after the acknowledgement is
/// counted) through a tracing layer, so completion times are exact without polling. If that
/// event ever disappears, [`Probe::wait`] falls back to polling the node's counters every
/// 2 ms and says so in the output.
struct Probe {
    /// `OrgId::short()` of the recipient whose deliveries count (set once B exists).
    recipient: Mutex<Option<String>>,
    times: Mutex<Vec<Instant>>,
    count: watch::Sender<usize>,
    polled: Mutex<usize>,
}

const OUTBOX_TARGET: &str = "ilm_node::outbox";

struct ProbeLayer(Arc<Probe>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ProbeLayer {
    fn register_callsite(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // Everything else (libp2p, the node's spans) stays disabled and costs nothing.
        if meta.is_event() && meta.target() == OUTBOX_TARGET {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(
        &self,
        meta: &tracing::Metadata<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        meta.is_event() && meta.target() == OUTBOX_TARGET
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let at = Instant::now();
        let mut v = Fields::default();
        event.record(&mut v);
        let wanted = self.0.recipient.lock().unwrap_or_else(|p| p.into_inner());
        if v.message == "delivered" && wanted.as_deref() == Some(v.to.as_str()) {
            self.0
                .times
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(at);
            self.0.count.send_modify(|c| *c += 1);
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    to: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "to" => self.to = format!("{value:?}"),
            _ => {}
        }
    }
}

impl Probe {
    fn install() -> Result<Arc<Probe>> {
        use tracing_subscriber::layer::SubscriberExt;
        let (count, _) = watch::channel(0);
        let probe = Arc::new(Probe {
            recipient: Mutex::new(None),
            times: Mutex::new(Vec::new()),
            count,
            polled: Mutex::new(0),
        });
        let subscriber = tracing_subscriber::registry().with(ProbeLayer(probe.clone()));
        tracing::subscriber::set_global_default(subscriber)
            .context("install the completion probe")?;
        Ok(probe)
    }

    fn times(&self, from: usize, to: usize) -> Option<Vec<Instant>> {
        let t = self.times.lock().unwrap_or_else(|p| p.into_inner());
        (t.len() >= to).then(|| t[from..to].to_vec())
    }

    /// Waits until `k` deliveries were acknowledged in total; returns when the k-th was.
    async fn wait(&self, k: usize, metrics: &Metrics) -> Result<Instant> {
        let mut rx = self.count.subscribe();
        let mut progress_at = Instant::now();
        let mut seen_by_poll: Option<Instant> = None;
        let mut last_count = *rx.borrow();
        loop {
            let got = tokio::time::timeout(Duration::from_millis(2), rx.wait_for(|c| *c >= k))
                .await
                .map(|r| r.map(|_| ()));
            match got {
                Ok(Ok(_)) => {
                    let t = self.times.lock().unwrap_or_else(|p| p.into_inner());
                    return Ok(t[k - 1]);
                }
                Ok(Err(_)) => bail!("completion probe closed"),
                // The probe is making progress: no need to look at the counters.
                Err(_) if *rx.borrow() != last_count => {
                    last_count = *rx.borrow();
                    progress_at = Instant::now();
                    seen_by_poll = None;
                }
                Err(_) => {
                    let snap = metrics.snapshot();
                    if snap.delivered >= k as u64 {
                        match seen_by_poll {
                            // Give the probe one more period: the counter is bumped just
                            // before the event is logged.
                            None => seen_by_poll = Some(Instant::now()),
                            Some(t) => {
                                *self.polled.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                                return Ok(t);
                            }
                        }
                    }
                    if progress_at.elapsed() > STUCK_AFTER {
                        bail!("no acknowledgement for {STUCK_AFTER:?} (waiting for {k}): {snap:?}");
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/// One measured phase.
struct Phase {
    name: String,
    count: usize,
    elapsed: Duration,
    /// Per-message latencies, sorted (empty when they could not be attributed).
    latencies: Vec<Duration>,
    /// CPU time of the whole process (both nodes, the raw swarms and the driver).
    cpu: Duration,
    /// Extra observations printed under the table.
    notes: Vec<String>,
}

impl Phase {
    fn new(
        name: &str,
        count: usize,
        elapsed: Duration,
        mut latencies: Vec<Duration>,
        cpu0: &CpuSnap,
    ) -> Phase {
        latencies.sort_unstable();
        let (cpu, exited) = cpu0.since();
        let mut notes = Vec::new();
        if exited > 0 {
            notes.push(format!(
                "{name}: {exited} threads exited during the phase; their CPU is not counted"
            ));
        }
        Phase {
            name: name.to_string(),
            count,
            elapsed,
            latencies,
            cpu,
            notes,
        }
    }

    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: usize) -> Option<Duration> {
        pct(&self.latencies, p)
    }

    fn cpu_us_per_msg(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.count as f64
    }
}

fn pct(sorted: &[Duration], p: usize) -> Option<Duration> {
    (!sorted.is_empty()).then(|| sorted[(sorted.len() - 1) * p / 100])
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.3}", d.as_secs_f64() * 1e3))
        .unwrap_or_else(|| "n/a".into())
}

/// CPU time used so far by each live thread of this process, in nanoseconds
/// (`/proc/self/task/*/schedstat`).
struct CpuSnap(HashMap<String, u64>);

impl CpuSnap {
    fn now() -> CpuSnap {
        let mut m = HashMap::new();
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for t in tasks.flatten() {
                if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat"))
                    && let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse().ok())
                {
                    m.insert(t.file_name().to_string_lossy().into_owned(), ns);
                }
            }
        }
        CpuSnap(m)
    }

    /// CPU used since `self` by the threads alive now, and how many threads of `self` have
    /// exited since (their CPU after `self` is not counted).
    fn since(&self) -> (Duration, usize) {
        let end = CpuSnap::now();
        let used = end
            .0
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(self.0.get(tid).copied().unwrap_or(0)))
            .sum();
        let exited = self.0.keys().filter(|t| !end.0.contains_key(*t)).count();
        (Duration::from_nanos(used), exited)
    }
}

fn case_event(network_id: NetworkId, author: OrgId, payload: EventPayload) -> CaseEvent {
    CaseEvent {
        network_id,
        case_ref: CaseRef::derive(&author, &CaseNonce([0x5a; 16])),
        case_nonce: Some(CaseNonce([0x5a; 16])),
        parents: Vec::new(),
        author,
        authored_at: now(),
        payload,
    }
}

/// The escalation whose `CaseEvent` body (the signed JSON) is `target` bytes, or as close
/// as the fixed fields allow.
fn sized_escalation(
    network_id: NetworkId,
    a: &OrgKeys,
    b: OrgId,
    target: usize,
) -> Result<(Escalation, usize)> {
    let body_len = |e: &Escalation| -> Result<usize> {
        let ev = case_event(network_id, a.org_id(), EventPayload::Escalation(e.clone()));
        Ok(SignedRecord::sign(&ev, a)?.body.len())
    };
    let floor = body_len(&escalation(b, String::new())?)?;
    let text: String = DESCRIPTION.split_whitespace().collect::<Vec<_>>().join(" ");
    let description: String = text
        .chars()
        .cycle()
        .take(target.saturating_sub(floor))
        .collect();
    Ok((escalation(b, description)?, floor))
}

// ---------------------------------------------------------------------------------------------
// Our path.

struct Nodes {
    a: RunningNode,
    b: RunningNode,
    b_org: OrgId,
    probe: Arc<Probe>,
    payload: EventPayload,
    /// Deliveries expected so far (the probe counts from the start).
    sent: usize,
}

impl Nodes {
    async fn append(&self) -> Result<MessageId> {
        let done = self
            .a
            .core
            .append(None, self.payload.clone())
            .await
            .map_err(|e| anyhow!("append refused: {e}"))?;
        done.message_id
            .ok_or_else(|| anyhow!("append produced no message"))
    }

    async fn sequential(&mut self, name: &str, n: usize) -> Result<Phase> {
        let mut latencies = Vec::with_capacity(n);
        let mut appends = Vec::with_capacity(n);
        let cpu0 = CpuSnap::now();
        let t0 = Instant::now();
        for _ in 0..n {
            let s = Instant::now();
            self.append().await?;
            appends.push(s.elapsed());
            self.sent += 1;
            let done = self.probe.wait(self.sent, &self.a.metrics).await?;
            latencies.push(done.saturating_duration_since(s));
        }
        let elapsed = t0.elapsed();
        let mut phase = Phase::new(name, n, elapsed, latencies, &cpu0);
        appends.sort_unstable();
        let p50_total = phase.pct(50).unwrap_or_default();
        let p50_append = pct(&appends, 50).unwrap_or_default();
        phase.notes.push(format!(
            "{name}: `append` returns after p50 {} ms / p99 {} ms (sign, seal, store+flush on A); \
             the remaining p50 {} ms is the wire, B's processing and flush, and the ack",
            ms(Some(p50_append)),
            ms(pct(&appends, 99)),
            ms(Some(p50_total.saturating_sub(p50_append))),
        ));
        Ok(phase)
    }

    async fn in_flight(&mut self, name: &str, m: usize, appenders: usize) -> Result<Phase> {
        let base = self.sent;
        let received0 = self.b.metrics.snapshot().received;
        let cpu0 = CpuSnap::now();
        let t0 = Instant::now();
        let this = &*self;
        let mut starts: Vec<Instant> = futures::stream::iter(0..m)
            .map(|_| async move {
                let s = Instant::now();
                this.append().await.map(|_| s)
            })
            .buffer_unordered(appenders)
            .collect::<Vec<Result<Instant>>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        let appended = t0.elapsed();
        self.sent += m;
        let last = self.probe.wait(self.sent, &self.a.metrics).await?;
        let elapsed = last.saturating_duration_since(t0);
        // Deliveries are matched to appends in order: the outbox starts attempts in the
        // order entries were queued, so the k-th acknowledgement is (nearly) the k-th append.
        starts.sort_unstable();
        let latencies = match self.probe.times(base, base + m) {
            Some(done) => done
                .iter()
                .zip(&starts)
                .map(|(d, s)| d.saturating_duration_since(*s))
                .collect(),
            None => Vec::new(),
        };
        let mut phase = Phase::new(name, m, elapsed, latencies, &cpu0);
        let received = self.b.metrics.snapshot().received - received0;
        phase.notes.push(format!(
            "{name}: all {m} appends returned after {:.0} ms ({:.0} appends/s); B stored {received}",
            appended.as_secs_f64() * 1e3,
            m as f64 / appended.as_secs_f64(),
        ));
        Ok(phase)
    }

    /// Closed loop: at most `window` messages appended but not yet acknowledged, like the raw
    /// client's window, so the latencies compare with raw's instead of measuring a queue.
    async fn windowed(&mut self, name: &str, m: usize, window: usize) -> Result<Phase> {
        let base = self.sent;
        let mut rx = self.probe.count.subscribe();
        let mut pending = futures::stream::FuturesUnordered::new();
        let mut starts = Vec::with_capacity(m);
        let mut issued = 0;
        let cpu0 = CpuSnap::now();
        let t0 = Instant::now();
        loop {
            let probe_done = (*rx.borrow()).saturating_sub(base);
            let done = if probe_done < issued {
                // The probe may lag by an instant, or not work at all: ask the counters.
                let counted = self.a.metrics.snapshot().delivered as usize;
                probe_done.max(counted.saturating_sub(base))
            } else {
                probe_done
            };
            if done >= m {
                break;
            }
            while issued < m && issued.saturating_sub(done) < window {
                let core = self.a.core.clone();
                let payload = self.payload.clone();
                starts.push(Instant::now());
                pending.push(async move { core.append(None, payload).await });
                issued += 1;
            }
            tokio::select! {
                Some(r) = pending.next() => {
                    r.map_err(|e| anyhow!("append refused: {e}"))?;
                }
                _ = tokio::time::timeout(Duration::from_millis(2), rx.changed()) => {}
            }
        }
        while let Some(r) = pending.next().await {
            r.map_err(|e| anyhow!("append refused: {e}"))?;
        }
        self.sent += m;
        let last = self.probe.wait(self.sent, &self.a.metrics).await?;
        let elapsed = last.saturating_duration_since(t0);
        let latencies = match self.probe.times(base, base + m) {
            Some(done) => done
                .iter()
                .zip(&starts)
                .map(|(d, s)| d.saturating_duration_since(*s))
                .collect(),
            None => Vec::new(),
        };
        Ok(Phase::new(name, m, elapsed, latencies, &cpu0))
    }
}

// ---------------------------------------------------------------------------------------------
// Raw libp2p baseline.

/// The raw payload: bytes, encoded as a CBOR byte string (the cbor codec is not human
/// readable, so the hex adapter writes raw bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawRequest {
    #[serde(with = "ilm_protocol::bytes::hex_bytes")]
    data: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawAck {
    id: u64,
}

type RawBehaviour<Req, Resp> = request_response::cbor::Behaviour<Req, Resp>;

trait Msg: Serialize + DeserializeOwned + Send + Clone + Debug + 'static {}
impl<T: Serialize + DeserializeOwned + Send + Clone + Debug + 'static> Msg for T {}

fn raw_swarm<Req: Msg, Resp: Msg>() -> Result<Swarm<RawBehaviour<Req, Resp>>> {
    Ok(libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| {
            RawBehaviour::<Req, Resp>::with_codec(
                request_response::cbor::codec::Codec::default()
                    .set_request_size_maximum(4 << 20)
                    .set_response_size_maximum(4 << 20),
                [(
                    StreamProtocol::new("/ilm-bench/raw/1"),
                    ProtocolSupport::Full,
                )],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(60))
                    .with_max_concurrent_streams(256),
            )
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build())
}

/// A raw client connected to a raw server that answers every request at once.
struct RawPair<Req: Msg, Resp: Msg> {
    client: Swarm<RawBehaviour<Req, Resp>>,
    server_peer: PeerId,
    server: tokio::task::JoinHandle<()>,
    make: Box<dyn Fn() -> Req + Send>,
}

impl<Req: Msg, Resp: Msg> RawPair<Req, Resp> {
    async fn connect(
        make: impl Fn() -> Req + Send + 'static,
        answer: impl Fn(&Req) -> Resp + Send + 'static,
    ) -> Result<Self> {
        let mut server = raw_swarm::<Req, Resp>()?;
        server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
        let addr: Multiaddr = loop {
            if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
                break address;
            }
        };
        let server_peer = *server.local_peer_id();
        let server_task = tokio::spawn(async move {
            loop {
                if let SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                }) = server.select_next_some().await
                {
                    let resp = answer(&request);
                    let _ = server.behaviour_mut().send_response(channel, resp);
                }
            }
        });
        let mut client = raw_swarm::<Req, Resp>()?;
        client.dial(addr.with(libp2p::multiaddr::Protocol::P2p(server_peer)))?;
        loop {
            match client.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == server_peer => {
                    break;
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    bail!("raw client cannot connect: {error}")
                }
                _ => {}
            }
        }
        Ok(RawPair {
            client,
            server_peer,
            server: server_task,
            make: Box::new(make),
        })
    }

    /// `total` requests with at most `window` outstanding; latency from `send_request` to the
    /// response event.
    async fn run(&mut self, name: &str, total: usize, window: usize) -> Result<Phase> {
        let mut started: HashMap<OutboundRequestId, Instant> = HashMap::new();
        let mut latencies = Vec::with_capacity(total);
        let mut sent = 0;
        let cpu0 = CpuSnap::now();
        let t0 = Instant::now();
        while latencies.len() < total {
            while started.len() < window && sent < total {
                let req = (self.make)();
                let s = Instant::now();
                let id = self
                    .client
                    .behaviour_mut()
                    .send_request(&self.server_peer, req);
                started.insert(id, s);
                sent += 1;
            }
            match self.client.select_next_some().await {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Response { request_id, .. },
                    ..
                }) => {
                    if let Some(s) = started.remove(&request_id) {
                        latencies.push(s.elapsed());
                    }
                }
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    error, ..
                }) => bail!("raw request failed: {error}"),
                SwarmEvent::ConnectionClosed { cause, .. } => {
                    bail!("raw connection closed: {cause:?}")
                }
                _ => {}
            }
        }
        let elapsed = t0.elapsed();
        Ok(Phase::new(name, total, elapsed, latencies, &cpu0))
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

const OURS_SEQ: &str = "ours sequential";
const RAW_SEQ: &str = "raw 1 KiB sequential";
const RAWENV_SEQ: &str = "raw envelope sequential";
const OURS_INF: &str = "ours in flight";
const RAW_INF: &str = "raw 1 KiB in flight";
const RAWENV_INF: &str = "raw envelope in flight";
const OURS_WIN: &str = "ours, window in flight";

async fn run(params: Params, probe: Arc<Probe>, measuring: bool) -> Result<()> {
    let wall = Instant::now();
    let mut builder = tempfile::Builder::new();
    builder.prefix("ilm-bench-delivery-");
    let tmp = match &params.dir {
        Some(d) => builder.tempdir_in(d)?,
        None => builder.tempdir()?,
    };
    let (network, a_member, b_member) = create_network(tmp.path())?;
    let b_org = b_member.keys.org_id();
    *probe.recipient.lock().unwrap_or_else(|p| p.into_inner()) = Some(b_org.short());

    let b = start_node(&b_member.dir, Vec::new()).await?;
    let b_addr = dial_address(&b_member.dir).await?;
    let a = start_node(&a_member.dir, vec![b_addr.clone()]).await?;
    wait_peer(&a_member.dir, &b_org).await?;
    wait_peer(&b_member.dir, &a_member.keys.org_id()).await?;

    let (esc, floor) = sized_escalation(network.id(), &a_member.keys, b_org, params.body_bytes)?;
    let description_len = esc.description.len();
    let mut nodes = Nodes {
        a,
        b,
        b_org,
        probe: probe.clone(),
        payload: EventPayload::Escalation(esc.clone()),
        sent: 0,
    };

    // Warm-up; the last warm-up message gives the envelope the raw baseline sends again.
    let mut last = None;
    for _ in 0..params.warmup {
        last = Some(nodes.append().await?);
        nodes.sent += 1;
        nodes.probe.wait(nodes.sent, &nodes.a.metrics).await?;
    }
    let last = last.context("no warm-up message")?;
    let entry: OutboxEntry = nodes
        .a
        .store
        .get(
            &ilm_node::schema::OUTBOX,
            &ilm_node::schema::outbox_id(&last, &nodes.b_org),
        )?
        .context("the warm-up message has no outbox entry")?;
    let envelope = entry.envelope.clone();
    let record = nodes
        .a
        .store
        .scan(
            &ilm_node::schema::EVENTS,
            entry
                .case_ref
                .context("outbox entry without case")?
                .as_bytes(),
        )?
        .into_iter()
        .next()
        .context("the warm-up event is not stored")?;
    let record_json = serde_json::to_vec(&record)?.len();
    let env_binary = envelope.header.len()
        + envelope
            .wraps
            .iter()
            .map(|w| 32 + w.sealed_key.len())
            .sum::<usize>()
        + envelope.ciphertext.len()
        + 64;

    let raw_len = params.raw_bytes;
    let mut raw = RawPair::<RawRequest, RawAck>::connect(
        move || RawRequest {
            data: vec![0xa5; raw_len],
        },
        |_| RawAck { id: 1 },
    )
    .await?;
    let ack_id = last;
    let env_for_raw = envelope.clone();
    let mut raw_env = RawPair::<Request, Response>::connect(
        move || Request::Deliver(env_for_raw.clone()),
        move |_| {
            Response::Ack(Ack {
                message_id: ack_id,
                outcome: AckOutcome::Accepted,
            })
        },
    )
    .await?;
    raw.run("warm-up", params.warmup, params.window).await?;
    raw_env.run("warm-up", params.warmup, params.window).await?;

    println!("# ILM delivery benchmark (node)");
    println!();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "machine: {cpus} CPUs, {} tokio workers shared by both nodes; data directories under {}; {}",
        params.workers.unwrap_or(cpus),
        tmp.path().display(),
        if measuring {
            "measuring (cargo bench)"
        } else {
            "smoke run (no --bench: tiny counts)"
        }
    );
    println!(
        "payload: Escalation with a {description_len}-character description -> CaseEvent body {} bytes \
         (floor with an empty description: {floor}), SignedRecord JSON {record_json} bytes (body \
         hex-encoded), envelope binary fields {env_binary} bytes ({} ciphertext); raw byte \
         baseline {} bytes",
        record.body.len(),
        envelope.ciphertext.len(),
        params.raw_bytes,
    );
    println!(
        "counts: {} sequential, {} in flight per phase; raw window {} (outbox: {} per peer); \
         {} concurrent appenders; {} rounds, {} warm-up messages per path",
        params.sequential,
        params.in_flight,
        params.window,
        MAX_IN_FLIGHT_PER_PEER,
        params.appenders,
        params.rounds,
        params.warmup,
    );

    let mut rounds: Vec<Vec<Phase>> = Vec::new();
    for round in 1..=params.rounds {
        let mut phases = vec![
            raw.run(RAW_SEQ, params.sequential, 1).await?,
            raw_env.run(RAWENV_SEQ, params.sequential, 1).await?,
            nodes.sequential(OURS_SEQ, params.sequential).await?,
            raw.run(RAW_INF, params.in_flight, params.window).await?,
            raw_env
                .run(RAWENV_INF, params.in_flight, params.window)
                .await?,
        ];
        phases.push(
            nodes
                .in_flight(OURS_INF, params.in_flight, params.appenders)
                .await?,
        );
        phases.push(
            nodes
                .windowed(OURS_WIN, params.in_flight, params.window)
                .await?,
        );
        print_round(round, &phases);
        rounds.push(phases);
    }
    print_summary(&rounds);

    let sa = nodes.a.metrics.snapshot();
    let sb = nodes.b.metrics.snapshot();
    let polled = *probe.polled.lock().unwrap_or_else(|p| p.into_inner());
    println!();
    println!(
        "node counters: A delivered {} (failed attempts {}, rejected {}; node's own attempt \
         latency p50/p99 {:?}/{:?} ms over its last 4096); B received {} (duplicates {}, \
         rejected {}); completions seen by polling instead of the probe: {polled}",
        sa.delivered,
        sa.delivery_failures,
        sa.rejected,
        sa.delivery_p50_ms,
        sa.delivery_p99_ms,
        sb.received,
        sb.received_duplicates,
        sb.received_rejected,
    );
    if polled > 0 {
        println!(
            "WARNING: the outbox's `delivered` debug event was not seen for {polled} completions; \
             they were found by polling the counters every 2 ms, so their latencies are coarse \
             and the sequential figures pessimistic (update `Probe` to the outbox's new event)"
        );
    }
    if sa.delivered != nodes.sent as u64 || sb.received != nodes.sent as u64 {
        println!(
            "WARNING: {} messages sent, but A counts {} delivered and B {} received",
            nodes.sent, sa.delivered, sb.received
        );
    }
    raw.server.abort();
    raw_env.server.abort();
    nodes.a.stop().await?;
    nodes.b.stop().await?;

    if params.parts_ms > 0 || !measuring {
        let ctx = PartsCtx {
            network: network.clone(),
            a: a_member.keys,
            b: b_member.keys,
            a_cert: (a_member.cert_rec, a_member.cert),
            b_cert: (b_member.cert_rec, b_member.cert),
            escalation: esc,
            scratch: tmp.path().join("scratch-db"),
        };
        let budget = Duration::from_millis(params.parts_ms);
        tokio::task::spawn_blocking(move || parts(&ctx, budget, measuring)).await??;
    }
    println!();
    println!("total wall time {:.1} s", wall.elapsed().as_secs_f64());
    Ok(())
}

fn print_round(round: usize, phases: &[Phase]) {
    println!();
    println!("## round {round}");
    println!();
    println!(
        "| {:<24} | {:>6} | {:>9} | {:>8} | {:>8} | {:>11} |",
        "phase", "msgs", "msgs/s", "p50 ms", "p99 ms", "CPU µs/msg"
    );
    println!(
        "|{:-<26}|{:->8}|{:->11}|{:->10}|{:->10}|{:->13}|",
        "", "", "", "", "", ""
    );
    for p in phases {
        println!(
            "| {:<24} | {:>6} | {:>9.0} | {:>8} | {:>8} | {:>11.0} |",
            p.name,
            p.count,
            p.rate(),
            ms(p.pct(50)),
            ms(p.pct(99)),
            p.cpu_us_per_msg()
        );
    }
    for p in phases {
        for n in &p.notes {
            println!("  {n}");
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn print_summary(rounds: &[Vec<Phase>]) {
    let find = |r: &[Phase], name: &str| -> Option<f64> {
        r.iter().find(|p| p.name == name).map(Phase::rate)
    };
    let across = |name: &str, f: &dyn Fn(&Phase) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = rounds
            .iter()
            .filter_map(|r| r.iter().find(|p| p.name == name).and_then(f))
            .collect();
        (!v.is_empty()).then(|| median(v))
    };
    let fmt = |v: Option<f64>, prec: usize| -> String {
        v.map(|x| format!("{x:.prec$}"))
            .unwrap_or_else(|| "n/a".into())
    };
    println!();
    println!("## summary (median of {} rounds)", rounds.len());
    println!();
    println!(
        "| {:<24} | {:>9} | {:>8} | {:>8} | {:>11} |",
        "phase", "msgs/s", "p50 ms", "p99 ms", "CPU µs/msg"
    );
    println!(
        "|{:-<26}|{:->11}|{:->10}|{:->10}|{:->13}|",
        "", "", "", "", ""
    );
    for name in [
        OURS_SEQ, RAW_SEQ, RAWENV_SEQ, OURS_INF, OURS_WIN, RAW_INF, RAWENV_INF,
    ] {
        println!(
            "| {:<24} | {:>9} | {:>8} | {:>8} | {:>11} |",
            name,
            fmt(across(name, &|p| Some(p.rate())), 0),
            fmt(
                across(name, &|p| p.pct(50).map(|d| d.as_secs_f64() * 1e3)),
                3
            ),
            fmt(
                across(name, &|p| p.pct(99).map(|d| d.as_secs_f64() * 1e3)),
                3
            ),
            fmt(across(name, &|p| Some(p.cpu_us_per_msg())), 0),
        );
    }
    println!();
    for (ours, base, what) in [
        (OURS_SEQ, RAW_SEQ, "sequential, vs raw 1 KiB"),
        (OURS_SEQ, RAWENV_SEQ, "sequential, vs raw same envelope"),
        (OURS_INF, RAW_INF, "in flight, vs raw 1 KiB"),
        (OURS_INF, RAWENV_INF, "in flight, vs raw same envelope"),
        (OURS_WIN, RAW_INF, "window in flight, vs raw 1 KiB"),
    ] {
        let ratios: Vec<f64> = rounds
            .iter()
            .filter_map(|r| Some(find(r, ours)? / find(r, base)?))
            .collect();
        let each: Vec<String> = ratios
            .iter()
            .map(|r| format!("{:.1}%", r * 100.0))
            .collect();
        println!(
            "ratio ours/raw msgs/s, {what}: {:.1}% (rounds: {}; goal >= 50%)",
            median(ratios.clone()) * 100.0,
            each.join(", ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Parts of one delivery, timed alone.

struct PartsCtx {
    network: Network,
    a: OrgKeys,
    b: OrgKeys,
    a_cert: (SignedRecord, MembershipCertificate),
    b_cert: (SignedRecord, MembershipCertificate),
    escalation: Escalation,
    scratch: PathBuf,
}

/// Median ns/op of 3 rounds of `budget / 3` each (one call in a smoke run).
fn time_op<R>(budget: Duration, measuring: bool, mut f: impl FnMut() -> R) -> f64 {
    if !measuring {
        let t = Instant::now();
        black_box(f());
        return t.elapsed().as_nanos() as f64;
    }
    let slice = budget / 3;
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < slice {
            black_box(f());
            n += 1;
        }
        rounds.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    median(rounds)
}

fn key16(i: u64, tag: u8) -> [u8; 16] {
    let mut k = [tag; 16];
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

fn key32(i: u64, tag: u8) -> [u8; 32] {
    let mut k = [tag; 32];
    k[24..].copy_from_slice(&i.to_be_bytes());
    k
}

/// Which task does a part, for the per-message sums.
#[derive(Clone, Copy, PartialEq)]
enum Who {
    /// A's core task (`Core::append`), one per message.
    ///
    /// The call counts below were read off the node's code at the time of writing: on A,
    /// `MembershipState::current` runs twice in `CaseHistory::insert` (author, escalation
    /// target), once for the envelope recipient and once in `after_case_change`; on B, once
    /// per inbound request in the network task and three times in `Core::process`.
    ACore,
    /// A's outbox task, when the acknowledgement comes back.
    AOutbox,
    /// B's network task (admission check of every inbound request).
    BNet,
    /// B's core task (`Core::process` and `deliver_batch`).
    BCore,
}

struct Part {
    who: Who,
    name: &'static str,
    /// Calls per delivered message (fractions for batched work).
    per_msg: f64,
    ns: f64,
    /// Only in the sequential case (batch of one) rather than in flight (batch of 64).
    sequential_only: Option<bool>,
}

fn parts(ctx: &PartsCtx, budget: Duration, measuring: bool) -> Result<()> {
    let a_id = ctx.a.org_id();
    let b_id = ctx.b.org_id();
    // Parsed certificates, as a history check would get them from a cheap membership lookup.
    let cert_of = |org: &OrgId, _: Timestamp| -> Option<MembershipCertificate> {
        if *org == a_id {
            Some(ctx.a_cert.1.clone())
        } else if *org == b_id {
            Some(ctx.b_cert.1.clone())
        } else {
            None
        }
    };
    let membership = ilm_node::membership::MembershipState::new(
        ctx.network.clone(),
        ctx.a_cert.0.clone(),
        vec![ctx.a_cert.0.clone(), ctx.b_cert.0.clone()],
        Vec::new(),
    )?;
    let network_id = ctx.network.id();
    let event = case_event(
        network_id,
        a_id,
        EventPayload::Escalation(ctx.escalation.clone()),
    );
    let rec = SignedRecord::sign(&event, &ctx.a)?;
    let rec_bytes = serde_json::to_vec(&rec)?;
    let to_b = [Recipient {
        org_id: b_id,
        encryption_key: ctx.b.encryption_key(),
    }];
    let t = now();
    let env = Envelope::seal(
        &ctx.a,
        network_id,
        MessageKind::CaseEvent,
        &to_b,
        t,
        &rec_bytes,
    )?;
    let header = env.verify()?;
    let entry = OutboxEntry::new(
        env.clone(),
        b_id,
        MessageKind::CaseEvent,
        header.message_id,
        Some(event.case_ref),
        t,
    );
    let store = ilm_node::schema::open(&ctx.scratch)?;
    let mut i = 0u64;
    let mut rows: Vec<Part> = Vec::new();
    let mut op = |who, name, per_msg, ns| {
        rows.push(Part {
            who,
            name,
            per_msg,
            ns,
            sequential_only: None,
        })
    };
    use Who::*;

    // A's core, `Core::append`.
    op(
        ACore,
        "SignedRecord::sign (body JSON + ed25519 sign)",
        1.0,
        time_op(budget, measuring, || SignedRecord::sign(&event, &ctx.a)),
    );
    op(
        ACore,
        "CaseHistory::insert, new case (record verify + rules)",
        1.0,
        time_op(budget, measuring, || {
            let mut h = CaseHistory::new(network_id, event.case_ref);
            h.insert(&rec, &cert_of).map(|_| ())
        }),
    );
    op(
        ACore,
        "MembershipState::current (re-verifies the certificate)",
        4.0,
        time_op(budget, measuring, || membership.current(&b_id)),
    );
    op(
        ACore,
        "serde_json::to_vec(SignedRecord)",
        1.0,
        time_op(budget, measuring, || serde_json::to_vec(&rec)),
    );
    op(
        ACore,
        "Envelope::seal, 1 recipient (HPKE + AEAD + ed25519 sign)",
        1.0,
        time_op(budget, measuring, || {
            Envelope::seal(
                &ctx.a,
                network_id,
                MessageKind::CaseEvent,
                &to_b,
                t,
                &rec_bytes,
            )
        }),
    );
    op(
        ACore,
        "Envelope::verify of the envelope just sealed (for its id)",
        1.0,
        time_op(budget, measuring, || env.verify()),
    );
    op(
        ACore,
        "serde_json::to_vec(OutboxEntry) (envelope in hex)",
        1.0,
        time_op(budget, measuring, || serde_json::to_vec(&entry)),
    );
    // What the node stores with a new case's first event: its state and heads.
    let case_record = {
        let mut h = CaseHistory::new(network_id, event.case_ref);
        h.insert(&rec, &cert_of)?;
        ilm_node::records::CaseRecord {
            state: h
                .state()
                .cloned()
                .context("no state after the escalation")?,
            heads: h.heads(),
        }
    };
    op(
        ACore,
        "Store::commit: event + case + outbox entry, flush",
        1.0,
        time_op(budget, measuring, || {
            i += 1;
            let case = CaseRef(key16(i, 1));
            let mut batch = WriteBatch::new();
            batch.put(
                &ilm_node::schema::EVENTS,
                &ilm_node::schema::event_id(&case, &Digest(key32(i, 1))),
                &rec,
            )?;
            batch.put(
                &ilm_node::schema::CASE_STATES,
                case.as_bytes(),
                &case_record,
            )?;
            batch.put(
                &ilm_node::schema::OUTBOX,
                &ilm_node::schema::outbox_id(&MessageId(key16(i, 2)), &b_id),
                &entry,
            )?;
            store.commit(batch)
        }),
    );
    // B's network task and core, `Core::process` + `deliver_batch`.
    op(
        BNet,
        "MembershipState::current via Gatekeeper::is_current",
        1.0,
        time_op(budget, measuring, || membership.current(&a_id)),
    );
    op(
        BCore,
        "Envelope::verify (header JSON + ed25519 verify)",
        1.0,
        time_op(budget, measuring, || env.verify()),
    );
    op(
        BCore,
        "MembershipState::current (re-verifies the certificate)",
        3.0,
        time_op(budget, measuring, || membership.current(&a_id)),
    );
    op(
        BCore,
        "Envelope::open (verifies again, HPKE open, AEAD)",
        1.0,
        time_op(budget, measuring, || env.open(&ctx.b)),
    );
    op(
        BCore,
        "parse SignedRecord + verify::<CaseEvent>",
        1.0,
        time_op(budget, measuring, || -> Result<()> {
            let r: SignedRecord = serde_json::from_slice(&rec_bytes)?;
            r.verify::<CaseEvent>()?;
            Ok(())
        }),
    );
    op(
        BCore,
        "CaseHistory::insert, new case (verifies again + rules)",
        1.0,
        time_op(budget, measuring, || {
            let mut h = CaseHistory::new(network_id, event.case_ref);
            h.insert(&rec, &cert_of).map(|_| ())
        }),
    );
    let marker = ilm_node::records::ProcessedMarker {
        sender: a_id,
        kind: MessageKind::CaseEvent,
        at: t,
    };
    let mut receiver_batch = |n: u64| -> Result<()> {
        let mut batch = WriteBatch::new();
        for _ in 0..n {
            i += 1;
            let case = CaseRef(key16(i, 3));
            batch.put(
                &ilm_node::schema::EVENTS,
                &ilm_node::schema::event_id(&case, &Digest(key32(i, 3))),
                &rec,
            )?;
            batch.put(
                &ilm_node::schema::PROCESSED,
                MessageId(key16(i, 4)).as_bytes(),
                &marker,
            )?;
            batch.put(
                &ilm_node::schema::CASE_STATES,
                case.as_bytes(),
                &case_record,
            )?;
        }
        store.commit(batch)?;
        Ok(())
    };
    let one = time_op(budget, measuring, || receiver_batch(1));
    let batch64 = time_op(budget, measuring, || receiver_batch(64));
    rows.push(Part {
        who: BCore,
        name: "Store::commit: 1 delivery (event+marker+case), flush",
        per_msg: 1.0,
        ns: one,
        sequential_only: Some(true),
    });
    rows.push(Part {
        who: BCore,
        name: "Store::commit: 64 deliveries, flush (1/64 per message)",
        per_msg: 1.0 / 64.0,
        ns: batch64,
        sequential_only: Some(false),
    });
    let mut j = 0u64;
    let mut acked = |n: u64| -> Result<()> {
        let mut batch = WriteBatch::new();
        for _ in 0..n {
            j += 1;
            batch.put(
                &ilm_node::schema::OUTBOX,
                &ilm_node::schema::outbox_id(&MessageId(key16(j, 5)), &b_id),
                &entry,
            )?;
        }
        store.commit(batch)?;
        Ok(())
    };
    let one = time_op(budget, measuring, || acked(1));
    let batch64 = time_op(budget, measuring, || acked(64));
    rows.push(Part {
        who: AOutbox,
        name: "Store::commit: 1 acked outbox entry (JSON), flush",
        per_msg: 1.0,
        ns: one,
        sequential_only: Some(true),
    });
    rows.push(Part {
        who: AOutbox,
        name: "Store::commit: 64 acked outbox entries, flush (1/64)",
        per_msg: 1.0 / 64.0,
        ns: batch64,
        sequential_only: Some(false),
    });

    println!();
    println!(
        "## parts of one delivery, timed alone ({}, median of 3, one thread, nodes stopped)",
        if measuring {
            format!("{} ms per part", budget.as_millis())
        } else {
            "one call per part".into()
        }
    );
    println!();
    println!(
        "| {:<10} | {:<58} | {:>8} | {:>8} |",
        "task", "part", "µs/call", "calls"
    );
    println!("|{:-<12}|{:-<60}|{:->10}|{:->10}|", "", "", "", "");
    let task = |w: Who| match w {
        ACore => "A core",
        AOutbox => "A outbox",
        BNet => "B network",
        BCore => "B core",
    };
    for r in &rows {
        println!(
            "| {:<10} | {:<58} | {:>8.1} | {:>8} |",
            task(r.who),
            r.name,
            r.ns / 1e3,
            if r.per_msg >= 1.0 {
                format!("{:.0}", r.per_msg)
            } else {
                format!("1/{:.0}", 1.0 / r.per_msg)
            }
        );
    }
    let sum = |who: Who, sequential: bool| -> f64 {
        rows.iter()
            .filter(|r| r.who == who && r.sequential_only.is_none_or(|s| s == sequential))
            .map(|r| r.ns * r.per_msg)
            .sum::<f64>()
            / 1e3
    };
    let recheck = |who: Who| -> f64 {
        rows.iter()
            .filter(|r| r.who == who && r.name.starts_with("MembershipState"))
            .map(|r| r.ns * r.per_msg)
            .sum::<f64>()
            / 1e3
    };
    println!();
    println!(
        "per message, sequential (batches of 1): A core {:.0} µs, A outbox {:.0} µs, B network \
         {:.0} µs, B core {:.0} µs",
        sum(ACore, true),
        sum(AOutbox, true),
        sum(BNet, true),
        sum(BCore, true)
    );
    println!(
        "per message, in flight (batches of 64): A core {:.0} µs, A outbox {:.0} µs, B network \
         {:.0} µs, B core {:.0} µs; one core task alone caps the rate at {:.0} msgs/s",
        sum(ACore, false),
        sum(AOutbox, false),
        sum(BNet, false),
        sum(BCore, false),
        1e6 / sum(ACore, false).max(sum(BCore, false)),
    );
    println!(
        "of which certificate re-verification (MembershipState::current): A {:.0} µs, B {:.0} µs",
        recheck(ACore),
        recheck(BNet) + recheck(BCore)
    );
    println!(
        "sizes: SignedRecord JSON {} bytes, OutboxEntry JSON {} bytes, envelope ciphertext {} bytes",
        rec_bytes.len(),
        serde_json::to_vec(&entry)?.len(),
        env.ciphertext.len()
    );
    Ok(())
}
