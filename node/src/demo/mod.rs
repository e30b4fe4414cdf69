//! `ilm demo`: a complete local network on loopback with realistic synthetic data.
//!
//! Every node is a real node (own data dir, own database, real libp2p on 127.0.0.1) and every
//! piece of sample data goes through the same admin API and protocol an operator would use.

use crate::cli::{Cli, DemoArgs};
use crate::client::AdminClient;
use crate::daemon::{RunOptions, RunningNode, start};
use crate::datadir::DataDir;
use crate::schema;
use anyhow::{Context, Result, bail};
use clap::Parser;
use ilm_protocol::Timestamp;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod generate;
mod seed;
mod workers;
use seed::seed;

const DAY: u64 = 86_400;
/// The demo's UI login on every node (local sample data only).
const DEMO_OPERATOR: &str = "demo";
/// The demo operator's password.
const DEMO_PASSWORD: &str = "ilm-demo-password";

/// One organisation of the demo network.
struct Org {
    key: &'static str,
    role: &'static str,
    name: &'static str,
    country: &'static str,
}

const ORGS: &[Org] = &[
    Org {
        key: "steward",
        role: "steward",
        name: "ILM Network Secretariat",
        country: "TH",
    },
    Org {
        key: "cso-helpline",
        role: "cso",
        name: "Migrant Worker Helpline Foundation",
        country: "TH",
    },
    Org {
        key: "cso-union",
        role: "cso",
        name: "Seafood Workers Union Network",
        country: "MY",
    },
    Org {
        key: "agency-yangon",
        role: "agency",
        name: "Golden Bridge Recruitment (Yangon)",
        country: "MM",
    },
    Org {
        key: "agency-bangkok",
        role: "agency",
        name: "Siam Manpower Services",
        country: "TH",
    },
    Org {
        key: "supplier-samut",
        role: "supplier",
        name: "Samut Seafood Processing Ltd.",
        country: "TH",
    },
    Org {
        key: "supplier-songkhla",
        role: "supplier",
        name: "Songkhla Frozen Foods Co.",
        country: "TH",
    },
    Org {
        key: "supplier-penang",
        role: "supplier",
        name: "Penang Electronics Assembly Sdn Bhd",
        country: "MY",
    },
    Org {
        key: "brand-northwind",
        role: "brand",
        name: "Northwind Foods",
        country: "GB",
    },
    Org {
        key: "brand-aurora",
        role: "brand",
        name: "Aurora Devices",
        country: "JP",
    },
    Org {
        key: "gov-labour",
        role: "government",
        name: "Provincial Labour Protection Office",
        country: "TH",
    },
];

/// A tiny deterministic generator, so every demo has the same shape of data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn cli(args: &[&str]) -> Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("ilm").chain(args.iter().copied()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::commands::run(cli).map(|_| ())
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().context("the demo directory path is not UTF-8")
}

/// Creates every node's identity and membership with the real CLI commands.
fn provision(base: &Path) -> Result<()> {
    let genesis = base.join("network.json");
    for org in ORGS {
        let dir = base.join(org.key);
        if dir.join("identity.key").exists() {
            continue;
        }
        let d = path_str(&dir)?;
        cli(&[
            "--data-dir",
            d,
            "init",
            "--role",
            org.role,
            "--name",
            org.name,
            "--country",
            org.country,
        ])?;
        {
            let store = schema::open(&DataDir::new(&dir).db_path())?;
            crate::operators::add_operator(
                &store,
                DEMO_OPERATOR,
                crate::operators::OperatorRole::Admin,
                DEMO_PASSWORD,
            )?;
        }
        if org.role == "steward" {
            cli(&[
                "--data-dir",
                d,
                "network",
                "create",
                "--name",
                "ILM Demo Network",
                "--out",
                path_str(&genesis)?,
            ])?;
        } else {
            let req = base.join(format!("{}-request.json", org.key));
            let cert = base.join(format!("{}-certificate.json", org.key));
            cli(&[
                "--data-dir",
                d,
                "member",
                "request",
                "--out",
                path_str(&req)?,
            ])?;
            issue_backdated(&base.join("steward"), &req, &cert)?;
            cli(&[
                "--data-dir",
                d,
                "member",
                "join",
                path_str(&genesis)?,
                path_str(&cert)?,
            ])?;
        }
    }
    Ok(())
}

/// Sample cases span the last year, so members' certificates must already be valid then:
/// the steward issues them as of 400 days ago, for 800 days (the register's own code path).
fn issue_backdated(steward: &Path, request: &Path, out: &Path) -> Result<()> {
    let dir = DataDir::new(steward);
    let keys = dir.load_keys()?;
    let (network, _) = dir.load_membership()?;
    let store = schema::open(&dir.db_path())?;
    let req = crate::datadir::read_record(request)?;
    let from = Timestamp(crate::commands::now().0.saturating_sub(400 * DAY));
    let (cert, _) = crate::register::issue(&keys, &network, &store, &req, 800, from)?;
    DataDir::write_public_file(out, &crate::datadir::record_json(&cert))?;
    Ok(())
}

struct Node {
    org: &'static Org,
    dir: PathBuf,
    running: RunningNode,
    org_id: String,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("seeding task panicked")?
}

/// Polls `f` until it returns Some (seeding waits for deliveries between steps).
fn wait_until<T>(what: &str, mut f: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if start.elapsed() > Duration::from_secs(300) {
            bail!("the demo network did not settle: still waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Writes `n` synthetic cases of the first CSO, escalated in turn to the demo's suppliers
/// and agencies and answered by them, with their real keys, into the CSO's store.
fn synthetic_cases(base: &Path, n: u64) -> Result<()> {
    let dir = |key: &str| DataDir::new(base.join(key));
    let cso = dir("cso-helpline");
    let cso_keys = cso.load_keys()?;
    let (network, cso_cert) = cso.load_membership()?;
    let mut keys = Vec::new();
    let mut certificates = vec![cso_cert.body().clone()];
    for org in ORGS
        .iter()
        .filter(|o| matches!(o.role, "supplier" | "agency"))
    {
        let d = dir(org.key);
        keys.push(d.load_keys()?);
        certificates.push(d.load_membership()?.1.body().clone());
    }
    let parties: Vec<&ilm_protocol::OrgKeys> = keys.iter().collect();
    let now = crate::membership::now();
    let from = certificates
        .iter()
        .map(|c| c.not_before)
        .max()
        .unwrap_or(now)
        .plus_days(1);
    let store = crate::schema::open(&cso.db_path())?;
    let cast = generate::Cast {
        network_id: network.id(),
        cso: &cso_keys,
        parties: &parties,
        certificates: &certificates,
        from,
        until: now,
    };
    let mut bar = crate::backup::progress::Progress::records("synthetic cases", n);
    let written = generate::generate(&store, &cast, n, 20_261_203, &mut |k| bar.set(k))?;
    bar.finish();
    store.flush()?;
    crate::output::say(&format!(
        "Wrote {written} synthetic cases ({}) into cso-helpline's store.",
        generate::SAMPLE_MARK
    ));
    Ok(())
}

/// Runs the demo until Ctrl-C (or right after seeding with `--exit-after-seed`).
pub async fn run(args: DemoArgs) -> Result<()> {
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("ilm-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&base).with_context(|| format!("create {}", base.display()))?;
    crate::output::say(&format!("ILM demo network: data under {}", base.display()));
    let b = base.clone();
    blocking(move || provision(&b)).await?;
    let seeded_marker = base.join("seeded");
    if args.cases > 0 && !seeded_marker.exists() {
        let (b, n) = (base.clone(), args.cases);
        blocking(move || synthetic_cases(&b, n)).await?;
    }

    let mut nodes: Vec<Node> = Vec::new();
    let mut bootstrap: Vec<String> = Vec::new();
    for org in ORGS {
        let dir = base.join(org.key);
        let running = start(
            DataDir::new(&dir),
            RunOptions {
                listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
                bootstrap: bootstrap.clone(),
                admin_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                sample_data: true,
                // The first CSO shows the network's published statistics to the public.
                public_listen: (org.key == "cso-helpline")
                    .then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                // It also serves its workers' portal.
                portal_listen: (org.key == "cso-helpline")
                    .then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                ..RunOptions::default()
            },
        )
        .await
        .with_context(|| format!("start {}", org.key))?;
        let d = DataDir::new(&dir);
        let status = blocking(move || Ok(AdminClient::for_dir(&d)?.get("/api/status")?)).await?;
        let org_id = status["org_id"].as_str().unwrap_or_default().to_string();
        if org.role == "steward" {
            let d = DataDir::new(&dir);
            let addr = blocking(move || {
                wait_until("the steward to listen", || {
                    let v = AdminClient::for_dir(&d)?.get("/api/status")?;
                    Ok(v["listen_addresses"][0]
                        .as_str()
                        .map(|a| format!("{a}/p2p/{}", v["peer_id"].as_str().unwrap_or_default())))
                })
            })
            .await?;
            bootstrap.push(addr);
        }
        nodes.push(Node {
            org,
            dir,
            running,
            org_id,
        });
    }
    let dirs: BTreeMap<&'static str, (PathBuf, String)> = nodes
        .iter()
        .map(|n| (n.org.key, (n.dir.clone(), n.org_id.clone())))
        .collect();
    let contacts = args.contacts;
    let summary = if seeded_marker.exists() {
        "sample data already present (seeded when this directory was made)".to_string()
    } else {
        let summary = blocking(move || seed(&dirs, contacts)).await?;
        DataDir::write_public_file(&seeded_marker, summary.as_bytes())?;
        summary
    };

    crate::output::say(&format!("\nSeeded through the real protocol: {summary}\n"));
    crate::output::say(&format!(
        "{:<18} {:<10} {:<38} {:<24} data dir",
        "node", "role", "name", "admin API"
    ));
    for n in &nodes {
        crate::output::say(&format!(
            "{:<18} {:<10} {:<38} http://{:<17} {}",
            n.org.key,
            n.org.role,
            n.org.name,
            n.running.admin_addr,
            n.dir.display()
        ));
    }
    for n in &nodes {
        if let Some(addr) = n.running.public_addr {
            crate::output::say(&format!(
                "\nPublic statistics page (no login, published figures only): http://{addr}"
            ));
        }
        if let Some(addr) = n.running.portal.0 {
            crate::output::say(&format!(
                "Workers' portal of {} (report a problem, follow it, know your rights): http://{addr}",
                n.org.name
            ));
        }
    }
    crate::output::say(&format!(
        "\nCLI: ilm --data-dir {} status   (any node's dir; also: case list, inbox, overdue, supply-chain)",
        base.join("cso-helpline").display()
    ));
    crate::output::say(&format!(
        "Web UI: open a node's address and log in as {DEMO_OPERATOR:?} with password {DEMO_PASSWORD:?}."
    ));
    crate::output::say(
        "API: send the node's token from DIR/admin.token as `Authorization: Bearer TOKEN`.",
    );
    if args.exit_after_seed {
        crate::output::say("Stopping (--exit-after-seed).");
    } else {
        crate::output::say("Running until Ctrl-C.");
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("install SIGTERM handler")?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    for n in nodes {
        n.running
            .stop()
            .await
            .with_context(|| format!("stop {}", n.org.key))?;
    }
    Ok(())
}
