//! `ilm run`: the node daemon. Wires storage, membership, networking, the outbox, the core
//! and the admin API together, and shuts down cleanly on SIGINT/SIGTERM.

use crate::api::ApiState;
use crate::config::Config;
use crate::datadir::DataDir;
use crate::edge::router;
use crate::membership::MembershipState;
use crate::metrics::Metrics;
use crate::net::{NetConfig, SwarmOptions};
use crate::schema;
use crate::store::{Store, StoreError};
use crate::{core, net, outbox};
use anyhow::{Context, Result, bail};
use libp2p::Multiaddr;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::info;

pub mod before_start;
pub mod compaction;

/// How often expired personal data is looked for (and once at start).
const RETENTION_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Overrides of `config.toml` from flags (environment overrides are applied by [`Config`]).
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Listen addresses (replace the configured ones when not empty).
    pub listen: Vec<String>,
    /// Bootstrap addresses (replace the configured ones when not empty).
    pub bootstrap: Vec<String>,
    /// Admin API address.
    pub admin_listen: Option<SocketAddr>,
    /// Admin API over TLS (replaces config.toml's `[admin] tls_listen`).
    pub admin_tls_listen: Option<SocketAddr>,
    /// Enable mDNS.
    pub mdns: bool,
    /// Allow the TLS admin listener on a non-loopback address.
    pub allow_remote_admin: bool,
    /// Accept `at` (authoring time in the past) on API writes: sample data only (`ilm demo`).
    pub sample_data: bool,
    /// Public statistics page address (replaces config.toml's `[public] listen`).
    pub public_listen: Option<SocketAddr>,
    /// Workers' portal over plain HTTP, loopback (replaces `[portal] listen`).
    pub portal_listen: Option<SocketAddr>,
    /// Workers' portal over TLS (replaces `[portal] tls_listen`).
    pub portal_tls_listen: Option<SocketAddr>,
    /// `ilm db check` read every record just before, in a process of its own (`ilm run`
    /// does, so that the memory the reads take leaves with it): not read again here.
    pub database_checked: bool,
    /// `ilm db compact --if-due` ran just before, in a process of its own (`ilm run` runs
    /// it, so that the memory a compaction takes leaves with it): a compaction for size that
    /// failed there is not tried again here (erased data still must leave the disk).
    pub compaction_tried: bool,
}

/// A running node (for tests and benchmarks that embed it).
pub struct RunningNode {
    /// The admin API's address.
    pub admin_addr: SocketAddr,
    /// The TLS admin listener's address and certificate fingerprint, when serving one.
    pub admin_tls: Option<(SocketAddr, String)>,
    /// The public statistics page's address, when serving one.
    pub public_addr: Option<SocketAddr>,
    /// The workers' portal's plain and TLS addresses, when serving them.
    pub portal: (Option<SocketAddr>, Option<SocketAddr>),
    /// The admin token.
    pub token: String,
    /// The node core (to append events without going through HTTP).
    pub core: crate::core::CoreClient,
    /// The node's counters.
    pub metrics: Arc<Metrics>,
    /// The database.
    pub store: Arc<Store>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl RunningNode {
    /// Stops the node and waits until storage is flushed.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.context("node task panicked")?
    }
}

fn parse_addrs(list: &[String], what: &str) -> Result<Vec<Multiaddr>> {
    list.iter()
        .map(|a| {
            a.parse::<Multiaddr>()
                .with_context(|| format!("invalid {what} address {a:?}"))
        })
        .collect()
}

/// Opens a data directory's database, with what to do when it cannot be.
fn open_db(dir: &DataDir) -> Result<Store> {
    explain_open(dir, schema::open(&dir.db_path()))
}

/// The refusal of a command that needs the node stopped, while it runs.
pub(crate) fn node_running() -> anyhow::Error {
    anyhow::anyhow!(
        "the node is running: stop it first (it compacts by itself at start when something was erased, or when the database has grown past {} times what its last compaction left)",
        crate::store::GROWTH_FACTOR
    )
}

/// What to do when the database at `dir` could not be opened (`opened`).
fn explain_open(dir: &DataDir, opened: Result<Store, StoreError>) -> Result<Store> {
    let path = dir.db_path();
    match opened {
        Err(StoreError::Locked) => bail!(
            "another `ilm run` is already using {}",
            dir.root().display()
        ),
        // A read-only or full file system: name the place and what to do, change nothing.
        Err(StoreError::WriteFailed(why)) => bail!(
            "the database {} cannot be written: {why}. Nothing was changed. Check that the file system holding {} is mounted read-write and has free space (`df -h`, `mount`), then start the node again.",
            path.display(),
            dir.root().display()
        ),
        other => Ok(other?),
    }
}

/// Reads every record of the database, or says how to recover from the damage it found.
fn check_records(store: &Store, path: &std::path::Path) -> Result<u64> {
    let records = store.check_all().map_err(|e| {
        anyhow::anyhow!(
            "the database {} is damaged: {e}\nNothing was changed. To recover: keep this node stopped, move {} aside (keep it for analysis), restore your latest backup into a new data directory (`ilm --data-dir NEW restore FILE`) and run the node from there; it asks its peers for what they delivered after the backup.",
            path.display(),
            path.display()
        )
    })?;
    info!(records, "database checked");
    Ok(records)
}

/// The check a node makes of its database before it starts (every record read), with the
/// node stopped: `ilm db check`, which `ilm run` runs in a process of its own so that what
/// the reads leave in memory leaves with it. Returns how many records it read.
pub fn check_database(dir: &DataDir) -> Result<u64> {
    // Every record read once, in a process of its own: given back as it goes.
    let store = explain_open(
        dir,
        schema::open_for(&dir.db_path(), crate::store::Reads::Whole),
    )?;
    check_records(&store, &dir.db_path())
}

/// Opens the database, first compacting it when erased data still lies in its log or the
/// log has outgrown what the last compaction left (see [`crate::store::GROWTH_FACTOR`]), and
/// reads every record unless `opts` says `ilm run` did both in processes of their own.
fn open_store(dir: &DataDir, opts: &RunOptions) -> Result<Arc<Store>> {
    let limits = (crate::store::GROWTH_FACTOR, crate::store::MIN_GROWTH);
    open_store_past(
        dir,
        opts.database_checked,
        opts.compaction_tried,
        limits,
        &crate::store::compact,
    )
}

/// [`open_store`], compacting for growth past `limits` (factor, least growth) with `compact`
/// (tests take small limits, and a compaction that fails). Once `tried` (by `ilm db compact
/// --if-due`), only erased data is compacted for here: a compaction for size that failed
/// there waits for the next start.
fn open_store_past(
    dir: &DataDir,
    checked: bool,
    tried: bool,
    limits: (u64, u64),
    compact: &dyn Fn(&std::path::Path) -> Result<crate::store::Compaction, StoreError>,
) -> Result<Arc<Store>> {
    let path = dir.db_path();
    let open = || open_db(dir);
    let store = open()?;
    if !checked {
        check_records(&store, &path)?;
    }
    let counted_at = crate::aggregates::built_version(&store)?;
    if crate::aggregates::ensure_built(&store)? {
        info!(
            ?counted_at,
            version = crate::aggregates::VERSION,
            "aggregates brought up to date from the stored cases, reports and contacts \
             (counted again, or a brand's lists rebuilt when only they changed)"
        );
    }
    let Some(reason) = compaction::Reason::of(&store, limits)? else {
        return Ok(Arc::new(store));
    };
    if tried && reason.may_wait() {
        return Ok(Arc::new(store));
    }
    info!("compacting the database: {reason}");
    drop(store);
    let free = crate::store::free_bytes(&path);
    match compaction::make(&path, reason, compact, free).with_context(|| must_compact(reason))? {
        compaction::Outcome::Compacted(done) => info!(
            bytes_before = done.bytes_before,
            bytes_after = done.bytes_after,
            "database compacted"
        ),
        compaction::Outcome::Waits(why) => tracing::warn!(
            "the database could not be compacted; it opens as it is and the next start tries again: {why}"
        ),
    }
    Ok(Arc::new(open()?))
}

/// Why the start stops when a compaction it must make fails, and what to do.
fn must_compact(reason: compaction::Reason) -> String {
    format!(
        "compact the database ({reason}); the node does not start until it is: free about the database's size on its file system (`df -h`), then start it again"
    )
}

/// What `ilm db compact --if-due` did: why it compacted and how, or None when nothing was due.
pub type StartCompaction = Option<(compaction::Reason, compaction::Outcome)>;

/// Compacts the stopped node's database when its next start would (`ilm db compact
/// --if-due`, which `ilm run` runs in a process of its own before it opens the database). A
/// compaction for erased data that fails is an error; one for size that fails is returned
/// as [`compaction::Outcome::Waits`].
pub fn compact_if_due(dir: &DataDir) -> Result<StartCompaction> {
    compact_if_due_past(
        dir,
        (crate::store::GROWTH_FACTOR, crate::store::MIN_GROWTH),
        &crate::store::compact,
    )
}

fn compact_if_due_past(
    dir: &DataDir,
    limits: (u64, u64),
    compact: &dyn Fn(&std::path::Path) -> Result<crate::store::Compaction, StoreError>,
) -> Result<StartCompaction> {
    let path = dir.db_path();
    let reason = {
        let store = match schema::open(&path) {
            Err(StoreError::Locked) => return Err(node_running()),
            opened => explain_open(dir, opened)?,
        };
        compaction::Reason::of(&store, limits)?
    };
    let Some(reason) = reason else {
        return Ok(None);
    };
    let free = crate::store::free_bytes(&path);
    let done =
        compaction::make(&path, reason, compact, free).with_context(|| must_compact(reason))?;
    Ok(Some((reason, done)))
}

/// Starts a node for a data directory; returns once it listens.
pub async fn start(dir: DataDir, opts: RunOptions) -> Result<RunningNode> {
    let keys = Arc::new(dir.load_keys()?);
    dir.check_private()?;
    let mut cfg: Config = dir.load_config()?;
    cfg.apply_env()
        .context("invalid ILM_* environment variable")?;
    if !opts.listen.is_empty() {
        cfg.network.listen = opts.listen.clone();
    }
    if !opts.bootstrap.is_empty() {
        cfg.network.bootstrap = opts.bootstrap.clone();
    }
    if let Some(a) = opts.admin_listen {
        cfg.admin.listen = a;
    }
    if let Some(a) = opts.admin_tls_listen {
        cfg.admin.tls_listen = Some(a);
    }
    if let Some(a) = opts.public_listen {
        cfg.public.listen = Some(a);
    }
    if let Some(a) = opts.portal_listen {
        cfg.portal.listen = Some(a);
    }
    if let Some(a) = opts.portal_tls_listen {
        cfg.portal.tls_listen = Some(a);
    }
    crate::portal::serve::check(&cfg.portal, cfg.node.role)?;
    cfg.network.mdns |= opts.mdns;
    // The UI holds case data: plain HTTP only on loopback (for the CLI, or a reverse proxy on
    // the same machine); other machines reach it over TLS, and only when asked for.
    if !cfg.admin.listen.ip().is_loopback() {
        bail!(
            "refusing to serve the admin API without TLS on {} (not loopback): it holds case data; serve it over TLS with --admin-tls-listen (and --allow-remote-admin), or put a TLS reverse proxy in front of a loopback address",
            cfg.admin.listen
        );
    }
    match cfg.admin.tls_listen {
        None if opts.allow_remote_admin => bail!(
            "--allow-remote-admin is accepted only with TLS on: add --admin-tls-listen ADDR (or [admin] tls_listen)"
        ),
        Some(a) if !a.ip().is_loopback() && !opts.allow_remote_admin => bail!(
            "the TLS admin listener {a} is reachable from other machines: pass --allow-remote-admin to confirm"
        ),
        _ => {}
    }
    if dir.rotation_pending() {
        bail!(
            "a key rotation is pending ({}): install the steward's certificate with `ilm member join NETWORK CERT`, or cancel it with `ilm key rotate --cancel`",
            dir.next_key_path().display()
        );
    }
    let store = open_store(&dir, &opts)?;
    let successions = store.scan(&schema::SUCCESSIONS, &[])?;
    let (network, own) = dir.load_membership_with(&successions)?;
    if own.body().current_key() != keys.signing_key_id()
        || own.body().encryption_key != keys.encryption_key()
    {
        bail!(
            "certificate.json names signing key {} (and an encryption key) that identity.key (signing key {}) does not hold: install the certificate that matches the keys with `ilm member join NETWORK CERT`",
            own.body().current_key(),
            keys.signing_key_id()
        );
    }
    DataDir::restrict(&dir.db_path())?;
    let membership = Arc::new(MembershipState::new(
        network.clone(),
        own.record().clone(),
        store.scan(&schema::CERTIFICATES, &[])?,
        store.revocations()?,
    )?);
    if membership.current(&keys.org_id()).is_none() {
        bail!(
            "this node's own membership certificate is expired or revoked; ask the steward for a new one"
        );
    }
    // Before the network: a node refused its vault key never joins it.
    let vault = Arc::new(crate::vault::binding::open(&dir, &store).context("open the vault")?);
    let mut seed = keys.signing_seed();
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(&mut seed)
        .context("derive the libp2p identity")?;
    let (net, net_events, net_task) = net::spawn(
        keypair,
        NetConfig {
            swarm: SwarmOptions {
                network_id: network.id(),
                mdns: cfg.network.mdns,
                relay_server: cfg.network.relay_server,
            },
            listen: parse_addrs(&cfg.network.listen, "listen")?,
            bootstrap: parse_addrs(&cfg.network.bootstrap, "bootstrap")?,
        },
        membership.clone(),
    )
    .map_err(anyhow::Error::msg)?;
    let metrics = Arc::new(Metrics::default());
    let built = {
        let (store, vault) = (store.clone(), vault.clone());
        tokio::task::spawn_blocking(move || crate::contact_list::groups::ensure(&store, &vault))
            .await
            .context("index the contacts")?
            .context("index the contacts")?
    };
    if built {
        info!("contact list indexed from the stored contacts");
    }
    let (queue, outbox_task) = outbox::spawn(
        store.clone(),
        net.clone(),
        membership.clone(),
        metrics.clone(),
        cfg.retention.outbox_retention(),
    )?;
    let (core, core_task) = core::spawn(
        core::CoreParts {
            keys: keys.clone(),
            store: store.clone(),
            membership: membership.clone(),
            net: net.clone(),
            outbox: queue,
            metrics: metrics.clone(),
            vault: vault.clone(),
            outbox_retention: cfg.retention.outbox_retention(),
        },
        net_events,
    );
    let token = dir.admin_token()?;
    let listener = tokio::net::TcpListener::bind(cfg.admin.listen)
        .await
        .with_context(|| format!("cannot listen for the admin API on {}", cfg.admin.listen))?;
    let admin_addr = listener.local_addr()?;
    let tls = match cfg.admin.tls_listen {
        Some(addr) => {
            let mut names = cfg.admin.hosts.clone();
            if !addr.ip().is_unspecified() {
                names.push(addr.ip().to_string());
            }
            let setup = crate::edge::tls::setup(
                &dir,
                cfg.admin.tls_cert.as_deref(),
                cfg.admin.tls_key.as_deref(),
                &names,
            )?;
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for the admin API over TLS on {addr}"))?;
            let bound = l.local_addr()?;
            Some((l, bound, setup))
        }
        None => None,
    };
    let tls_addr = tls.as_ref().map(|(_, a, _)| *a);
    let state = Arc::new(ApiState {
        keys: keys.clone(),
        role: cfg.node.role,
        name: cfg.node.name.clone(),
        store: store.clone(),
        membership,
        net: net.clone(),
        core: core.clone(),
        metrics: metrics.clone(),
        token: token.clone(),
        dir: dir.clone(),
        vault,
        sessions: crate::access::Sessions::default(),
        allow_backdating: opts.sample_data,
        intake_lock: tokio::sync::Mutex::new(()),
        retention: cfg.retention.clone(),
        statistics: cfg.statistics.clone(),
        templates: crate::ui::templates().context("load the UI templates")?,
        i18n: crate::i18n::I18n::load().map_err(anyhow::Error::msg)?,
        hosts: crate::access::AllowedHosts::new(admin_addr, &cfg.admin.hosts)
            .with_tls_listener(tls_addr),
    });
    let trim_task = tokio::spawn(crate::memory::keep_trimmed(crate::memory::TRIM_EVERY));
    let retention_task = tokio::spawn(crate::retention::run_sweeps(
        state.clone(),
        cfg.retention.clone(),
        RETENTION_SWEEP_EVERY,
    ));
    DataDir::write_public_file(&dir.admin_addr_path(), admin_addr.to_string().as_bytes())?;
    let tls_addr_file = dir.root().join("admin-tls.addr");
    let admin_tls = match tls {
        Some((l, bound, setup)) => {
            DataDir::write_public_file(&tls_addr_file, bound.to_string().as_bytes())?;
            info!(admin_tls = %bound, fingerprint = %setup.fingerprint, "admin UI over TLS");
            let app = router(state.clone());
            let (stop_tls, stop_rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(crate::edge::tls::serve(
                l,
                setup.acceptor,
                app,
                async move {
                    let _ = stop_rx.await;
                },
                crate::edge::tls::Facing::Admin,
            ));
            Some((bound, setup.fingerprint, stop_tls))
        }
        None => None,
    };
    // The public page serves only published statistics, so it may face the internet.
    let public_addr_file = dir.root().join("public.addr");
    let (public_addr, stop_public) = match cfg.public.listen {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen for the public statistics page on {addr}")
            })?;
            let bound = l.local_addr()?;
            DataDir::write_public_file(&public_addr_file, bound.to_string().as_bytes())?;
            info!(public = %bound, "public statistics page");
            let app = crate::edge::public::router(state.clone());
            let stop = crate::edge::spawn_plain(l, app, "the public statistics page");
            (Some(bound), Some(stop))
        }
        None => (None, None),
    };
    let portal = crate::portal::serve::start(
        state.clone(),
        &cfg.portal,
        &dir,
        (cfg.admin.tls_cert.as_deref(), cfg.admin.tls_key.as_deref()),
        &cfg.admin.hosts,
    )
    .await?;
    let portal_addrs = (portal.plain, portal.tls);
    let portal_addr_file = crate::portal::serve::addr_file(&dir);
    let portal_tls_addr_file = crate::portal::serve::tls_addr_file(&dir);
    info!(org = %keys.org_id().short(), peer = %net.local_peer_id(), admin = %admin_addr, "node running");
    let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let addr_file = dir.admin_addr_path();
    let store_handle = store.clone();
    let (admin_tls, stop_tls) = match admin_tls {
        Some((a, f, stop)) => (Some((a, f)), Some(stop)),
        None => (None, None),
    };
    let task = tokio::spawn(async move {
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown_rx.await;
            })
            .await;
        if let Some(stop) = stop_tls {
            let _ = stop.send(());
        }
        if let Some(stop) = stop_public {
            let _ = stop.send(());
        }
        portal.stop();
        let _ = std::fs::remove_file(&portal_addr_file);
        let _ = std::fs::remove_file(&portal_tls_addr_file);
        let _ = std::fs::remove_file(&tls_addr_file);
        let _ = std::fs::remove_file(&public_addr_file);
        // Stop the tasks in order: API done, then core and outbox, then the network.
        retention_task.abort();
        let _ = retention_task.await;
        trim_task.abort();
        drop(net);
        core_task.abort();
        outbox_task.abort();
        net_task.abort();
        let _ = core_task.await;
        let _ = outbox_task.await;
        let _ = net_task.await;
        // Every acknowledged write was flushed when it was made, so a failing final flush
        // (a full disk) loses nothing acknowledged: say so and stop cleanly.
        if let Err(e) = store.flush() {
            tracing::warn!("the final flush failed ({e}); nothing acknowledged is lost");
        }
        let _ = std::fs::remove_file(&addr_file);
        info!("node stopped");
        served.context("admin API server")
    });
    Ok(RunningNode {
        admin_addr,
        admin_tls,
        public_addr,
        portal: portal_addrs,
        token,
        core,
        metrics,
        store: store_handle,
        shutdown,
        task,
    })
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(dir: DataDir, opts: RunOptions) -> Result<()> {
    // A write beyond the file-size limit (RLIMIT_FSIZE, a quota) raises SIGXFSZ, whose
    // default is to kill the process. Caught, the write fails with an error like a full disk
    // does: the node refuses to acknowledge, reports it, and carries on once it is lifted.
    let mut too_big =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGXFSZ))
            .context("install SIGXFSZ handler")?;
    tokio::spawn(async move {
        while too_big.recv().await.is_some() {
            tracing::warn!(
                "a write went beyond the process's file size limit; it fails like a full disk"
            );
        }
    });
    let node = start(dir, opts).await?;
    crate::output::say(&format!("admin API: http://{}", node.admin_addr));
    if let Some(addr) = &node.public_addr {
        crate::output::say(&format!("public statistics page: http://{addr}"));
    }
    if let Some(addr) = &node.portal.0 {
        crate::output::say(&format!("workers' portal: http://{addr}"));
    }
    if let Some(addr) = &node.portal.1 {
        crate::output::say(&format!("workers' portal over TLS: https://{addr}"));
    }
    if let Some((addr, fingerprint)) = &node.admin_tls {
        crate::output::say(&format!(
            "admin UI over TLS: https://{addr}\ncertificate SHA-256 fingerprint (compare it in your browser): {fingerprint}"
        ));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("install SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    info!("shutting down");
    node.stop().await
}

#[cfg(test)]
mod tests;
