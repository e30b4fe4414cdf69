//! The admin listener over TLS, for a team on other machines: a certificate from files or a
//! self-signed one made once in the data directory (its SHA-256 fingerprint printed for the
//! operators to compare), and a server loop where a slow or failed handshake only costs its
//! own task, connections are bounded and headers must come in time (the workers' portal's
//! plain listener uses the same loop). Requests that came over TLS carry [`OverTls`], so
//! session cookies get `Secure`.

use crate::datadir::DataDir;
use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::ConnectInfo;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tracing::{debug, warn};

/// Marks a request that reached the node over TLS.
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS configuration and the certificate's SHA-256 fingerprint (hex, colon-separated).
pub struct TlsSetup {
    /// The acceptor for incoming connections.
    pub acceptor: TlsAcceptor,
    /// SHA-256 of the leaf certificate, as browsers show it.
    pub fingerprint: String,
}

/// The certificate the node generates for itself when none is configured.
pub fn self_signed_paths(dir: &DataDir) -> (std::path::PathBuf, std::path::PathBuf) {
    (
        dir.root().join("admin-tls-cert.pem"),
        dir.root().join("admin-tls-key.pem"),
    )
}

/// Loads the configured certificate and key, or the node's self-signed pair (made once, for
/// `names`: the host names and addresses the team uses).
pub fn setup(
    dir: &DataDir,
    cert: Option<&Path>,
    key: Option<&Path>,
    names: &[String],
) -> Result<TlsSetup> {
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        (None, None) => {
            let (c, k) = self_signed_paths(dir);
            if !c.exists() || !k.exists() {
                let mut sans = vec!["localhost".to_string()];
                sans.extend(names.iter().cloned());
                let made = rcgen::generate_simple_self_signed(sans)
                    .context("generate a self-signed certificate for the admin listener")?;
                DataDir::write_secret_file(&k, made.key_pair.serialize_pem().as_bytes())?;
                DataDir::write_public_file(&c, made.cert.pem().as_bytes())?;
            }
            (c, k)
        }
        _ => bail!(
            "[admin] tls_cert and tls_key go together: set both, or neither for a self-signed certificate"
        ),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .with_context(|| format!("read the TLS certificate {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert_path.display()))?;
    let Some(leaf) = certs.first() else {
        bail!("{} holds no certificate", cert_path.display());
    };
    let fingerprint = Sha256::digest(leaf.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .with_context(|| format!("{} is not a PEM private key", key_path.display()))?;
    // The provider libp2p's QUIC already uses, named so no process-wide default is needed.
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not go together")?;
    Ok(TlsSetup {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        fingerprint,
    })
}

/// Which listener a TLS server is: the admin one knows its peers' addresses (login limits
/// use them); the workers' portal never looks at them, not even in debug logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facing {
    /// The admin UI and API.
    Admin,
    /// The workers' portal.
    Workers,
}

/// Connections a listener keeps open at once; more are closed as they come.
pub const MAX_CONNECTIONS: usize = 512;

/// How long a client may take to send a request's headers (an idle connection is closed
/// after that too).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` over TLS on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
    facing: Facing,
) {
    serve_connections(listener, Some(acceptor), app, shutdown, facing).await
}

/// Serves `app` over plain HTTP on `listener` until `shutdown` resolves, with the same
/// bounds as the TLS listener (the workers' portal behind a proxy).
pub async fn serve_plain(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
    facing: Facing,
) {
    serve_connections(listener, None, app, shutdown, facing).await
}

/// The accept loop: at most [`MAX_CONNECTIONS`] open, each in its own task, TLS when an
/// acceptor is given, headers within [`HEADER_TIMEOUT`].
async fn serve_connections(
    listener: tokio::net::TcpListener,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
    facing: Facing,
) {
    let admin = facing == Facing::Admin;
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    warn!(?facing, "listener: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // At the bound, the new connection is closed at once (dropped).
        let Ok(permit) = open.clone().try_acquire_owned() else {
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // The portal's peers are not named anywhere, not even in debug logs.
            let shown = admin.then_some(peer);
            let Some(acceptor) = acceptor else {
                return serve_io(tcp, app, admin.then_some(peer), false, shown).await;
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => serve_io(tls, app, admin.then_some(peer), true, shown).await,
                Ok(Err(e)) => debug!(peer = ?shown, "TLS handshake failed: {e}"),
                Err(_) => debug!(peer = ?shown, "TLS handshake timed out"),
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection; `peer` is handed to handlers when given.
async fn serve_io<I>(
    io: I,
    app: Router,
    peer: Option<std::net::SocketAddr>,
    over_tls: bool,
    shown: Option<std::net::SocketAddr>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = tower::ServiceExt::map_request(
        app,
        move |mut req: axum::http::Request<hyper::body::Incoming>| {
            if let Some(peer) = peer {
                req.extensions_mut().insert(ConnectInfo(peer));
            }
            if over_tls {
                req.extensions_mut().insert(OverTls);
            }
            req
        },
    );
    let service = hyper_util::service::TowerToHyperService::new(service);
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await
    {
        debug!(peer = ?shown, "connection: {e}");
    }
}
