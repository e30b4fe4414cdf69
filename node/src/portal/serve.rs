//! Starting the portal's listeners: plain HTTP on loopback (for a TLS reverse proxy on the
//! same machine) and TLS on any address. Only a CSO serves a portal: reports land in its
//! intake. Neither listener hands the peer's address to the portal.

use crate::api::ApiState;
use crate::config::PortalSection;
use crate::datadir::DataDir;
use anyhow::{Context, Result, bail};
use ilm_protocol::Role;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tracing::info;

/// The running portal listeners.
#[derive(Default)]
pub struct Listeners {
    /// Plain HTTP address, when serving one.
    pub plain: Option<SocketAddr>,
    /// TLS address, when serving one.
    pub tls: Option<SocketAddr>,
    stops: Vec<oneshot::Sender<()>>,
}

impl Listeners {
    /// Stops every listener (connections in progress finish).
    pub fn stop(self) {
        for s in self.stops {
            let _ = s.send(());
        }
    }
}

/// The file naming the plain listener's address (for the CLI and tests).
pub fn addr_file(dir: &DataDir) -> std::path::PathBuf {
    dir.root().join("portal.addr")
}

/// The file naming the TLS listener's address.
pub fn tls_addr_file(dir: &DataDir) -> std::path::PathBuf {
    dir.root().join("portal-tls.addr")
}

/// Refuses a portal configuration this node cannot serve (checked before anything listens).
pub fn check(cfg: &PortalSection, role: Role) -> Result<()> {
    if cfg.listen.is_none() && cfg.tls_listen.is_none() {
        return Ok(());
    }
    if role != Role::Cso {
        bail!(
            "only a CSO node serves the workers' portal (reports land in its intake); this node is a {role}: remove --portal-listen / [portal]"
        );
    }
    if let Some(addr) = cfg.listen
        && !addr.ip().is_loopback()
    {
        bail!(
            "refusing to serve the workers' portal without TLS on {addr} (not loopback): workers' reports must not cross a network in clear; use --portal-tls-listen, or a TLS reverse proxy in front of a loopback address"
        );
    }
    if cfg.tls_cert.is_some() != cfg.tls_key.is_some() {
        bail!(
            "[portal] tls_cert and tls_key go together: set both, or neither to use the admin listener's certificate"
        );
    }
    Ok(())
}

/// Starts the listeners `cfg` asks for; none when it asks for none.
pub async fn start(
    api: Arc<ApiState>,
    cfg: &PortalSection,
    dir: &DataDir,
    admin_tls: (Option<&std::path::Path>, Option<&std::path::Path>),
    hosts: &[String],
) -> Result<Listeners> {
    let mut out = Listeners::default();
    if cfg.listen.is_none() && cfg.tls_listen.is_none() {
        return Ok(out);
    }
    check(cfg, api.role)?;
    let app = super::router(api, cfg).map_err(anyhow::Error::msg)?;
    if let Some(addr) = cfg.listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for the workers' portal on {addr}"))?;
        let bound = l.local_addr()?;
        DataDir::write_public_file(&addr_file(dir), bound.to_string().as_bytes())?;
        info!(portal = %bound, "workers' portal");
        // Served without the peer's address, with the TLS listener's bounds on connections
        // and header time (this listener may sit behind a proxy, or be reached directly).
        let (stop, stop_rx) = oneshot::channel::<()>();
        tokio::spawn(crate::edge::tls::serve_plain(
            l,
            app.clone(),
            async move {
                let _ = stop_rx.await;
            },
            crate::edge::tls::Facing::Workers,
        ));
        out.plain = Some(bound);
        out.stops.push(stop);
    }
    if let Some(addr) = cfg.tls_listen {
        let (cert, key) = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(c), Some(k)) => (Some(c.as_path()), Some(k.as_path())),
            _ => admin_tls,
        };
        let mut names = hosts.to_vec();
        if !addr.ip().is_unspecified() {
            names.push(addr.ip().to_string());
        }
        let setup = crate::edge::tls::setup(dir, cert, key, &names)?;
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for the workers' portal over TLS on {addr}"))?;
        let bound = l.local_addr()?;
        DataDir::write_public_file(&tls_addr_file(dir), bound.to_string().as_bytes())?;
        info!(portal_tls = %bound, fingerprint = %setup.fingerprint, "workers' portal over TLS");
        let (stop, stop_rx) = oneshot::channel::<()>();
        tokio::spawn(crate::edge::tls::serve(
            l,
            setup.acceptor,
            app,
            async move {
                let _ = stop_rx.await;
            },
            crate::edge::tls::Facing::Workers,
        ));
        out.tls = Some(bound);
        out.stops.push(stop);
    }
    Ok(out)
}
