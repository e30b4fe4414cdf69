//! A CSO node holding many cases, run as the real binary: dashboard, case list and search
//! latency over HTTP (p50, p99), against a full scan of the same data in the same run, the
//! node's memory (idle, and after the requests) against an empty node's, the store's size
//! against the signed records it holds, and the list of cases offered to an admitted member
//! and a supplier's inbox and dashboard against a read of every case.
//!
//! Run: `cargo bench -p ilm-node --bench scale` (release); without `--bench` a small smoke
//! version. Knobs: ILM_BENCH_CASES (100000; smoke 1000); ILM_BENCH_KEEP=1 keeps the data
//! directories and prints where the CSO's is (to profile `ilm run` on it afterwards);
//! ILM_BENCH_SEED_ONLY=1 stops once the cases are generated, keeping the directories before
//! any node has started on them (to profile a first start). Cases
//! come from the generator of `ilm demo --cases` (real signed events). Nothing asserts on
//! time.

mod common;

use anyhow::{Context, Result, bail};
use common::backdated_world;
use ilm_node::aggregates;
use ilm_node::client::AdminClient;
use ilm_node::datadir::DataDir;
use ilm_node::demo::generate::{self, Cast};
use ilm_node::membership::now;
use ilm_node::records::CaseRecord;
use ilm_node::schema;
use ilm_protocol::{CaseRef, CaseState, EventHash, OrgId, OrgKeys, SignedRecord, Timestamp};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DAY: u64 = 86_400;

/// How long after its start a node is measured idle: past one period of returning freed
/// memory to the system, so that what the start-up work freed is counted as free.
const IDLE_AFTER: Duration = Duration::from_secs(45);

fn env(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Resident memory of a process, and its peak, in MB.
fn rss(pid: u32) -> (f64, f64) {
    (status_mb(pid, "VmRSS:"), status_mb(pid, "VmHWM:"))
}

/// Starts a process's peak memory (VmHWM) again from what it holds now, so that the next
/// peak read is of what follows alone; where it cannot, says so (the peaks are then since
/// the start).
fn reset_peak(pid: u32) {
    if let Err(e) = std::fs::write(format!("/proc/{pid}/clear_refs"), "5") {
        println!("the peak memory could not be reset ({e}): the peaks below are since the start");
    }
}

/// One field of a process's status, in MB.
fn status_mb(pid: u32, name: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Runs `ilm ARGS` on `dir` to its end: its time in seconds, its peak memory in MB (VmHWM
/// read every 10 ms, so a peak in its last 10 ms may be missed) and the first line it said.
fn child_peak(dir: &DataDir, args: &[&str]) -> Result<(f64, f64, String)> {
    use std::io::Read;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ilm"))
        .arg("--data-dir")
        .arg(dir.root())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("start ilm {args:?}"))?;
    let mut peak = 0.0f64;
    let status = loop {
        peak = peak.max(status_mb(child.id(), "VmHWM:"));
        if let Some(s) = child.try_wait()? {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut said = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut said)?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut said)?;
    }
    if !status.success() {
        bail!("ilm {args:?}: {status}: {said}");
    }
    let first = said.lines().next().unwrap_or_default().to_string();
    Ok((started.elapsed().as_secs_f64(), peak, first))
}

/// `ilm run` on `dir`, the real binary, until its admin API answers. A node that ends
/// before answering is started again for a while: the engine this process closed last (its
/// in-process compaction) may hold the database's lock a moment after its handles are gone,
/// and a node that finds it locked stops at once (after that, its own words are reported).
fn run(dir: &DataDir) -> Result<(Child, AdminClient)> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut restarts_left = 50;
    'start: loop {
        let _ = std::fs::remove_file(dir.admin_addr_path());
        // Beside the data directory: what the node says, read if it ends early.
        let said_at = dir.root().with_extension("stderr");
        let said_to = std::fs::File::create(&said_at).context("the node's stderr file")?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ilm"))
            .arg("--data-dir")
            .arg(dir.root())
            .args(["run", "--admin-listen", "127.0.0.1:0", "--listen"])
            .arg("/ip4/127.0.0.1/tcp/0")
            .env("ILM_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(said_to)
            .spawn()
            .context("start ilm run")?;
        loop {
            if let Ok(c) = AdminClient::for_dir(dir)
                && c.get("/api/status").is_ok()
            {
                return Ok((child, c));
            }
            if let Some(status) = child.try_wait()? {
                let said = std::fs::read_to_string(&said_at).unwrap_or_default();
                if restarts_left == 0 || Instant::now() > deadline {
                    bail!("ilm run ended before it answered ({status}): {said}");
                }
                restarts_left -= 1;
                std::thread::sleep(Duration::from_millis(200));
                continue 'start;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("the node did not start");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn quantiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

fn timed(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f()?;
        v.push(started.elapsed());
    }
    Ok(quantiles(v))
}

/// The list of cases (with their heads) offered to an admitted member for history sync,
/// as the core makes it (the search index's pair terms, then each shared case's record),
/// against a read of every case record (what it did before), for a supplier and for a
/// member without cases here: one line each, after checking both give the same heads.
fn offers(store: &ilm_node::store::Store, supplier: &OrgId, runs: usize) -> Result<Vec<String>> {
    let indexed = |org: &OrgId| -> Result<Vec<(CaseRef, Vec<EventHash>)>> {
        let mut offer = Vec::new();
        for case in aggregates::terms::cases_with(store, org)? {
            if let Some(r) = ilm_node::cases::record_of(store, &case)?
                && r.state.is_participant(org)
            {
                offer.push((case, r.heads));
            }
        }
        Ok(offer)
    };
    let every = |org: &OrgId| -> Result<Vec<(CaseRef, Vec<EventHash>)>> {
        let mut offer = Vec::new();
        store.for_each(&schema::CASE_STATES, &[], |r: CaseRecord| {
            if r.state.is_participant(org) {
                offer.push((r.state.case_ref, r.heads));
            }
        })?;
        Ok(offer)
    };
    let mut out = Vec::new();
    for (who, org) in [
        ("a supplier", *supplier),
        ("a member without cases", OrgId([0x42; 32])),
    ] {
        let offer = indexed(&org)?;
        if offer != every(&org)? {
            bail!("the offer to {who} is not what a read of every record gives");
        }
        let heads: usize = offer.iter().map(|(_, h)| h.len()).sum();
        let (p50, p99) = timed(runs, || indexed(&org).map(|_| ()))?;
        let (scan50, _) = timed(runs, || every(&org).map(|_| ()))?;
        out.push(format!(
            "sync offer to {who} ({heads} heads): p50 {p50:.1} ms, p99 {p99:.1} ms; every record read p50 {scan50:.1} ms, {:.1}x",
            scan50 / p50.max(1e-6)
        ));
    }
    Ok(out)
}

/// A supplier's inbox (the cases escalated to it: a quarter here), its first page, a page
/// among the cases it owes something in, and its last page, read from the indexes as the
/// node does, against a read of every case state sorted into the same order (what the inbox
/// did before it was paged): one line each, after checking both give the same cases; and
/// its dashboard's figures.
fn supplier_views(
    store: &ilm_node::store::Store,
    supplier: &OrgId,
    runs: usize,
) -> Result<Vec<String>> {
    use ilm_node::inbox::{self, InboxQuery};
    let at = now();
    let every = || -> Result<Vec<CaseRef>> {
        let mut items = Vec::new();
        ilm_node::cases::for_each_state(store, |s| {
            if let Some(i) = inbox::item(&s, supplier, at) {
                items.push((
                    i.next_due,
                    aggregates::opened::key(s.opened_at, &s.case_ref),
                ));
            }
        })?;
        items.sort_by_key(|(due, key)| (due.is_none(), *due, *key));
        Ok(items
            .iter()
            .map(|(_, k)| aggregates::opened::case_of(k))
            .collect())
    };
    let first = inbox::page(store, supplier, at, InboxQuery::default())?;
    let all = every()?;
    let per_page = first.items.len().max(1);
    let mut out = Vec::new();
    for (what, page) in [
        ("first page", 1),
        ("a page of what it owes", first.owing / per_page / 2 + 1),
        ("last page", first.pages),
    ] {
        let q = InboxQuery { page, per_page: 0 };
        let read = inbox::page(store, supplier, at, q)?;
        let got: Vec<CaseRef> = read.items.iter().map(|i| i.case_ref).collect();
        let from = (read.page - 1) * per_page;
        if read.total != all.len() || got != all[from..(from + per_page).min(all.len())] {
            bail!("the supplier's inbox, {what}, is not what a read of every case gives");
        }
        let (p50, p99) = timed(runs, || {
            inbox::page(store, supplier, at, q)
                .map(|_| ())
                .map_err(Into::into)
        })?;
        let (scan50, _) = timed(runs.min(5), || every().map(|_| ()))?;
        out.push(format!(
            "supplier's inbox, {what} (page {} of {}, {} cases, {} owing): p50 {p50:.1} ms, p99 {p99:.1} ms; every state read p50 {scan50:.1} ms, {:.0}x",
            read.page,
            read.pages,
            read.total,
            read.owing,
            scan50 / p50.max(1e-6)
        ));
    }
    // The supplier's dashboard (its cells and due-date list), against one pass over every
    // case state counting the same (what it did before).
    let (p50, p99) = timed(runs, || {
        ilm_node::ui::figures::responder(store, supplier, at)?;
        Ok(())
    })?;
    let (scan50, _) = timed(runs.min(5), || {
        let mut stages = std::collections::BTreeMap::<&str, u64>::new();
        ilm_node::cases::for_each_state(store, |s| {
            if let Some(p) = s.party(supplier) {
                *stages.entry(p.stage.code()).or_default() += 1;
            }
        })?;
        std::hint::black_box(stages);
        Ok(())
    })?;
    out.push(format!(
        "supplier's dashboard: p50 {p50:.1} ms, p99 {p99:.1} ms; every state read p50 {scan50:.1} ms, {:.0}x",
        scan50 / p50.max(1e-6)
    ));
    Ok(out)
}

fn main() -> Result<()> {
    let measuring = std::env::args().any(|a| a == "--bench");
    let cases = env("ILM_BENCH_CASES", if measuring { 100_000 } else { 1_000 })?;
    let runs = if measuring { 20 } else { 3 };
    let tmp = tempfile::tempdir()?;
    let w = backdated_world(tmp.path(), 4, 400)?;

    // Seed through the generator (real signed events, read model and aggregates).
    let started = Instant::now();
    {
        let store = schema::open(&w.cso.0.db_path())?;
        let parties: Vec<&OrgKeys> = w.parties.iter().map(|p| &p.1).collect();
        let mut certificates = vec![w.cso.2.clone()];
        certificates.extend(w.parties.iter().map(|p| p.2.clone()));
        let cast = Cast {
            network_id: w.network.id(),
            cso: &w.cso.1,
            parties: &parties,
            certificates: &certificates,
            from: Timestamp(now().0 - 380 * DAY),
            until: now(),
        };
        generate::generate(&store, &cast, cases, 7, &mut |_| {})?;
        store.flush()?;
    }
    let seeding = started.elapsed();
    if std::env::var_os("ILM_BENCH_SEED_ONLY").is_some() {
        println!(
            "generated {cases} cases in {:.1} s; kept, never started: the CSO's data directory is {}",
            seeding.as_secs_f64(),
            w.cso.0.root().display()
        );
        let _ = tmp.keep();
        return Ok(());
    }

    // The full scan, in the same run, before the node holds the database: every case state
    // read, its dashboard cells counted (what the dashboard did without aggregates), and a
    // search through every case's text.
    let (scan50, scan99, signed_bytes, offers) = {
        let store = schema::open(&w.cso.0.db_path())?;
        let signed: u64 = store
            .scan::<SignedRecord>(&schema::EVENTS, &[])?
            .iter()
            .map(|r| (r.body.len() + 100 * r.signatures.len()) as u64)
            .sum();
        let (p50, p99) = timed(runs.min(5), || {
            let states: Vec<CaseState> = ilm_node::cases::states(&store)?;
            let mut cells = 0usize;
            let mut hits = 0usize;
            for s in &states {
                cells += aggregates::of_case(s).len();
                hits += usize::from(
                    s.parties
                        .iter()
                        .any(|p| p.escalation.site.contains("site 123")),
                );
            }
            std::hint::black_box((cells, hits));
            Ok(())
        })?;
        let mut offers = offers(&store, &w.parties[0].1.org_id(), runs.min(5))?;
        offers.extend(supplier_views(&store, &w.parties[0].1.org_id(), runs)?);
        (p50, p99, signed, offers)
    };
    let store_bytes = dir_size(&w.cso.0.db_path());

    // An empty node's memory, for comparison.
    let (mut empty, _) = run(&w.parties[3].0)?;
    std::thread::sleep(Duration::from_secs(3));
    let (empty_rss, _) = rss(empty.id());
    let _ = empty.kill();
    let _ = empty.wait();

    // What `ilm run` does first, each in a process of its own, measured apart: the check of
    // every record, then the compaction a start makes when one is due (a store as generated
    // has no size recorded, so its first start compacts it). `ilm run` does both again (the
    // check reads every record again; nothing is due any more).
    let check = child_peak(&w.cso.0, &["db", "check"])?;
    let compaction = child_peak(&w.cso.0, &["db", "compact", "--if-due"])?;

    let (mut node, api) = run(&w.cso.0)?;
    // Idle: after the start-up work (the database check runs in a process of its own) and
    // the periodic return of freed memory that follows it.
    std::thread::sleep(IDLE_AFTER);
    // The peak so far is the start's.
    let (idle_rss, start_peak) = rss(node.id());
    reset_peak(node.id());
    let dashboard = timed(runs, || {
        api.get_text("/dashboard")?;
        Ok(())
    })?;
    let figures = timed(runs, || {
        api.get("/api/aggregates")?;
        Ok(())
    })?;
    let list = timed(runs, || {
        api.get("/api/cases?page=1")?;
        Ok(())
    })?;
    let search = timed(runs, || {
        api.get("/api/cases?q=site+123")?;
        Ok(())
    })?;
    // Words starting with "12": about 1.1 % of the cases, as many as "123" finds among
    // 1,000,000 (the generator repeats 997 sites).
    let search_wide = timed(runs, || {
        api.get("/api/cases?q=site+12")?;
        Ok(())
    })?;
    // Words starting with "1": about 11 % of the cases, more than a search checks one by one.
    let search_wider = timed(runs, || {
        api.get("/api/cases?q=site+1")?;
        Ok(())
    })?;
    // One word every case holds: the search stops counting past the page.
    let search_common = timed(runs, || {
        api.get("/api/cases?q=site")?;
        Ok(())
    })?;
    // Every case, closed ones too, newest first.
    let every = timed(runs, || {
        api.get("/api/cases?closed=true")?;
        Ok(())
    })?;
    // What each search counted ("at least" when it stopped counting).
    let mut totals = Vec::new();
    for q in [
        "q=site+123",
        "q=site+12",
        "q=site+1",
        "q=site",
        "closed=true",
    ] {
        let v = api.get(&format!("/api/cases?{q}"))?;
        let at_least = if v["total_at_least"] == true {
            "at least "
        } else {
            ""
        };
        totals.push(format!("{q}: {at_least}{}", v["total"]));
    }
    let later = timed(runs, || {
        api.get("/api/cases?page=40")?;
        Ok(())
    })?;
    let filtered = timed(runs, || {
        api.get("/api/cases?status=escalated&page=2")?;
        Ok(())
    })?;
    let by_due = timed(runs, || {
        api.get("/api/cases?sort=due&closed=true")?;
        Ok(())
    })?;
    let (busy_rss, peak_rss) = rss(node.id());
    reset_peak(node.id());
    // The whole case list exported once (streamed by the node), and the memory it took.
    let started = Instant::now();
    let mut exported = String::new();
    std::io::Read::read_to_string(
        &mut api
            .get_stream("/api/cases/export?format=csv&closed=true")?
            .body,
        &mut exported,
    )?;
    let export_time = started.elapsed();
    let exported_rows = exported.matches("\r\n").count().saturating_sub(1);
    drop(exported);
    let (_, export_peak_rss) = rss(node.id());
    let _ = node.kill();
    let _ = node.wait();

    println!(
        "{cases} cases generated in {:.1} s ({:.0} µs each)",
        seeding.as_secs_f64(),
        seeding.as_secs_f64() * 1e6 / cases.max(1) as f64
    );
    println!(
        "full scan of every case (same data, in process): p50 {scan50:.1} ms, p99 {scan99:.1} ms"
    );
    for (name, (p50, p99)) in [
        ("dashboard page (GET /dashboard)", dashboard),
        ("dashboard figures (GET /api/aggregates)", figures),
        ("case list, first page (GET /api/cases)", list),
        ("search (GET /api/cases?q=site+123)", search),
        ("wider search (GET /api/cases?q=site+12)", search_wide),
        ("wider still (GET /api/cases?q=site+1)", search_wider),
        (
            "one word in every case (GET /api/cases?q=site)",
            search_common,
        ),
        (
            "every case, newest first (GET /api/cases?closed=true)",
            every,
        ),
        ("case list, page 40 (GET /api/cases?page=40)", later),
        (
            "one status, page 2 (GET /api/cases?status=escalated&page=2)",
            filtered,
        ),
        (
            "every case by due date (GET /api/cases?sort=due&closed=true)",
            by_due,
        ),
    ] {
        println!(
            "{name}: p50 {p50:.1} ms, p99 {p99:.1} ms; scan / this at p50: {:.1}x",
            scan50 / p50.max(1e-6)
        );
    }
    println!("cases found: {}", totals.join("; "));
    for line in offers {
        println!("{line}");
    }
    println!(
        "memory: empty node {empty_rss:.0} MB; this node idle ({} s after its start) {idle_rss:.0} MB (peak while starting {start_peak:.0} MB), after the requests {busy_rss:.0} MB (their peak {peak_rss:.0} MB)",
        IDLE_AFTER.as_secs()
    );
    for (what, (secs, peak, said)) in [
        ("ilm db check", check),
        ("ilm db compact --if-due", compaction),
    ] {
        println!(
            "before the start, in a process of its own: {what} {secs:.1} s, its peak memory {peak:.0} MB ({said})"
        );
    }
    println!(
        "export of the whole case list (GET /api/cases/export?format=csv&closed=true): {exported_rows} rows in {:.1} s; its peak memory {export_peak_rss:.0} MB",
        export_time.as_secs_f64()
    );
    println!(
        "store: {:.1} MB on disk for {:.1} MB of signed records ({:.1}x)",
        store_bytes as f64 / 1e6,
        signed_bytes as f64 / 1e6,
        store_bytes as f64 / signed_bytes.max(1) as f64
    );

    // Where the bytes are: each table's keys and values as stored, then the database
    // rewritten with its live keys only (what `ilm db compact` does).
    {
        let tables = ilm_node::store::table_sizes(&w.cso.0.db_path())?;
        let mut tables: Vec<_> = tables.into_iter().collect();
        tables.sort_by_key(|(_, (_, bytes))| std::cmp::Reverse(*bytes));
        let logical: u64 = tables.iter().map(|(_, (_, b))| b).sum();
        println!(
            "live keys and values: {:.1} MB ({:.1}x the signed records)",
            logical as f64 / 1e6,
            logical as f64 / signed_bytes.max(1) as f64
        );
        for (prefix, (keys, bytes)) in tables.iter().take(8) {
            let name = schema::PREFIXES
                .iter()
                .find(|(p, _)| p == prefix)
                .map_or("?", |(_, n)| n);
            println!(
                "  {name}: {keys} records, {:.1} MB ({:.0} bytes each)",
                *bytes as f64 / 1e6,
                *bytes as f64 / (*keys).max(1) as f64
            );
        }
    }
    let compacted = ilm_node::store::compact(&w.cso.0.db_path())?;
    println!(
        "store after compaction: {:.1} MB ({:.1}x the signed records)",
        compacted.bytes_after as f64 / 1e6,
        compacted.bytes_after as f64 / signed_bytes.max(1) as f64
    );
    // Idle again over the compacted store (after `ilm db compact`, or the compaction a
    // start makes after a migration or an erasure); part of any process's memory is its
    // code, mapped from the binary's file.
    let (mut node, _) = run(&w.cso.0)?;
    std::thread::sleep(IDLE_AFTER);
    let (compacted_idle, _) = rss(node.id());
    let mapped = status_mb(node.id(), "RssFile:");
    let _ = node.kill();
    let _ = node.wait();
    println!(
        "memory: this node idle over the compacted store ({} s after its start) {compacted_idle:.0} MB, of which {mapped:.0} MB mapped from files (its code)",
        IDLE_AFTER.as_secs()
    );
    if std::env::var_os("ILM_BENCH_KEEP").is_some() {
        let _ = tmp.keep();
        println!(
            "kept: the CSO's data directory is {}",
            w.cso.0.root().display()
        );
    }
    Ok(())
}
