//! The local attack surface of a node: the admin listener answers only to its own host
//! names and sends security headers; logins are limited without letting anyone lock out a
//! correct credential; the CLI never gives its token to an impostor on `admin.addr`; a data
//! directory others can read is refused; operators can be disabled and change passwords.

#[path = "support/mod.rs"]
mod support;

use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use support::*;

fn addr(node: &Node) -> String {
    std::fs::read_to_string(node.dir.join("admin.addr"))
        .expect("addr")
        .trim()
        .to_string()
}

/// Sends one raw HTTP/1.1 request from the loopback address `source` (127.0.0.x); returns the
/// status code and the whole answer.
fn raw(source: [u8; 4], to: &str, head: &str, body: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let stream = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        sock.bind(SocketAddr::from((source, 0))).expect("bind");
        sock.connect(to.parse().expect("addr"))
            .await
            .expect("connect")
    });
    let mut s = stream.into_std().expect("std stream");
    s.set_nonblocking(false).expect("blocking");
    let req = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, out)
}

fn login_from(source: [u8; 4], node: &Node, form: &str) -> u16 {
    let to = addr(node);
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/x-www-form-urlencoded"
    );
    raw(source, &to, &head, form).0
}

#[test]
fn the_admin_listener_answers_only_to_its_own_names_with_security_headers() {
    let mut net = Net::new();
    net.steward.start();
    let node = &net.steward;
    let to = addr(node);
    let token = node.token();
    let get = |host: &str, path: &str| {
        raw(
            [127, 0, 0, 1],
            &to,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}"),
            "",
        )
    };
    // A page that rebinds its own name to 127.0.0.1 still sends its own name: refused.
    let (code, _) = get(
        &format!("evil.example:{}", to.rsplit(':').next().unwrap_or("")),
        "/api/status",
    );
    assert_eq!(code, 421);
    // Positive control: the same request with the node's own host name is answered.
    let (code, text) = get(&to, "/api/status");
    assert_eq!(code, 200);
    let lower = text.to_ascii_lowercase();
    for h in [
        "content-security-policy: default-src 'self'",
        "x-content-type-options: nosniff",
        "referrer-policy: same-origin",
        "x-frame-options: deny",
        "cache-control: no-store",
    ] {
        assert!(lower.contains(h), "missing {h} in {text}");
    }
    let port = to.rsplit(':').next().unwrap_or("");
    assert_eq!(get(&format!("localhost:{port}"), "/api/status").0, 200);
    // A state change from another site's page is refused, even with the token.
    let post = |origin: &str| {
        raw(
            [127, 0, 0, 1],
            &to,
            &format!(
                "POST /api/members/revoke HTTP/1.1\r\nHost: {to}\r\nOrigin: {origin}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json"
            ),
            "{}",
        )
        .0
    };
    assert_eq!(post("https://evil.example"), 403);
    // Same origin: past the guard (the empty body is then refused as bad input).
    assert_eq!(post(&format!("http://{to}")), 400);
}

#[test]
fn a_guessing_client_cannot_lock_out_a_correct_login_from_elsewhere() {
    let mut net = Net::new();
    net.steward.start();
    let node = &net.steward;
    node.add_operator("alice", "admin", "alice's long passphrase");
    // Another local client guesses: many names, and alice's password many times.
    for i in 0..60 {
        let form = if i % 2 == 0 {
            format!("username=user{i}&password=guess{i}")
        } else {
            "username=alice&password=wrong+guess".to_string()
        };
        let code = login_from([127, 0, 0, 2], node, &form);
        assert!(code == 401 || code == 429, "{code}");
    }
    // The guesser itself is stopped, even when it finally guesses right.
    assert_eq!(
        login_from(
            [127, 0, 0, 2],
            node,
            "username=alice&password=alice%27s+long+passphrase"
        ),
        429
    );
    // Alice, from her own machine, logs in; so does the admin token.
    assert_eq!(
        login_from(
            [127, 0, 0, 1],
            node,
            "username=alice&password=alice%27s+long+passphrase"
        ),
        303
    );
    assert_eq!(
        login_from([127, 0, 0, 3], node, &format!("token={}", node.token())),
        303
    );
}

#[test]
fn operators_can_be_disabled_and_change_their_passwords() {
    let mut net = Net::new();
    net.steward.start();
    let node = &net.steward;
    node.add_operator("dana", "readonly", "dana's first password");
    node.add_operator("erin", "caseworker", "erin's first password");
    let login = |name: &str, pw: &str| {
        login_from(
            [127, 0, 0, 1],
            node,
            &format!(
                "username={name}&password={}",
                pw.replace(' ', "+").replace('\'', "%27")
            ),
        )
    };
    assert_eq!(login("dana", "dana's first password"), 303);
    // Disabled through the CLI (via the running daemon): it cannot log in any more.
    ilm(&node.dir, &["operator", "disable", "dana"]);
    assert_eq!(login("dana", "dana's first password"), 401);
    let list = ilm(&node.dir, &["operator", "list"]);
    assert!(list.contains("dana (readonly, disabled)"), "{list}");
    ilm(&node.dir, &["operator", "enable", "dana"]);
    assert_eq!(login("dana", "dana's first password"), 303);
    // A new password from standard input; the old one stops working.
    let mut child = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(&node.dir)
        .args(["operator", "passwd", "erin", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"erin's second password\n")
        .expect("write");
    assert!(child.wait().expect("wait").success());
    assert_eq!(login("erin", "erin's first password"), 401);
    assert_eq!(login("erin", "erin's second password"), 303);
    // Through the API, an operator changes only its own password.
    let (code, _) = node.post_raw(
        "/api/operators/nobody/password",
        &json!({ "password": "long enough password" }),
    );
    assert_eq!(code, 404);
}

#[test]
fn the_cli_never_sends_its_token_to_an_impostor_on_admin_addr() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.start();
    // Positive control: the real daemon proves itself and the CLI works.
    ilm(&cso.dir, &["status"]);
    let token = cso.token();
    // The daemon dies without cleaning up; another local program takes its address.
    cso.kill9();
    let impostor = TcpListener::bind("127.0.0.1:0").expect("bind");
    let impostor_addr = impostor.local_addr().expect("addr");
    std::fs::write(cso.dir.join("admin.addr"), impostor_addr.to_string()).expect("write");
    let seen = std::thread::spawn(move || {
        let mut requests = String::new();
        impostor.set_nonblocking(false).expect("blocking");
        for stream in impostor.incoming().take(4) {
            let Ok(mut s) = stream else { break };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            requests.push_str(&String::from_utf8_lossy(&buf[..n]));
            let body = r#"{"proof":"00","peers":[],"cases":[]}"#;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        requests
    });
    let out = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(&cso.dir)
        .arg("status")
        .output()
        .expect("run ilm");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not this node's daemon"), "{err}");
    // Unblock the impostor's accept loop, then look at what it received.
    for _ in 0..4 {
        let _ = std::net::TcpStream::connect(impostor_addr);
    }
    let requests = seen.join().expect("impostor thread");
    assert!(requests.contains("GET /api/hello?challenge="), "{requests}");
    assert!(!requests.contains(&token), "the token reached the impostor");
    assert!(!requests.to_ascii_lowercase().contains("authorization"));
}

#[test]
fn a_data_directory_others_can_read_is_refused() {
    let mut net = Net::new();
    net.steward.start();
    let cso = net.member("cso", "cso");
    std::fs::set_permissions(&cso.dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(&cso.dir)
        .args([
            "run",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run ilm");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 700"), "{err}");
    // Positive control: owner-only, the same node starts, and its database files are
    // owner-only too.
    std::fs::set_permissions(&cso.dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let mut cso = cso;
    cso.start();
    for entry in std::fs::read_dir(cso.dir.join("db")).expect("db dir") {
        let meta = entry.expect("entry").metadata().expect("meta");
        assert_eq!(meta.permissions().mode() & 0o077, 0, "{meta:?}");
    }
}

/// A non-loopback address of this machine when it has one (the route a remote operator's
/// packets take), else loopback.
fn own_address() -> std::net::IpAddr {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("10.255.255.255:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// One HTTP/1.1 exchange over TLS, trusting only the node's own certificate file: status,
/// head and body.
fn https(
    to: std::net::SocketAddr,
    cert_pem: &std::path::Path,
    request: &str,
) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        rustls::pki_types::CertificateDer::pem_file_iter(cert_pem).map_err(|e| e.to_string())?
    {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
        .map_err(|e| e.to_string())?;
    let mut tcp = std::net::TcpStream::connect(to).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .ok();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        // The server may close without close_notify after `Connection: close`.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status in {text:?}"))?;
    Ok((code, text))
}

/// A team member on another machine logs in over TLS: the certificate the node made verifies,
/// the session cookie is Secure, plain HTTP on the TLS port gets nothing; the plain listener
/// stays loopback and --allow-remote-admin needs TLS.
#[test]
fn a_team_logs_in_over_tls_with_a_secure_cookie() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.add_operator("tess", "caseworker", "correct horse battery staple");
    // Refusals before anything listens.
    for (args, says) in [
        (vec!["--allow-remote-admin"], "only with TLS"),
        (vec!["--admin-listen", "0.0.0.0:0"], "without TLS"),
        (
            vec!["--admin-tls-listen", "0.0.0.0:0"],
            "--allow-remote-admin",
        ),
    ] {
        let out = std::process::Command::new(ilm_bin())
            .arg("--data-dir")
            .arg(&cso.dir)
            .arg("run")
            .args(&args)
            .env_remove("ILM_DATA_DIR")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
    cso.run_args = ["--admin-tls-listen", "0.0.0.0:0", "--allow-remote-admin"]
        .map(String::from)
        .to_vec();
    cso.start();
    let bound: std::net::SocketAddr = std::fs::read_to_string(cso.dir.join("admin-tls.addr"))
        .expect("admin-tls.addr")
        .trim()
        .parse()
        .expect("address");
    let to = std::net::SocketAddr::new(own_address(), bound.port());
    let cert = cso.dir.join("admin-tls-cert.pem");
    let host = to.to_string();
    let body = "username=tess&password=correct+horse+battery+staple";
    let (code, head) = https(
        to,
        &cert,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .expect("TLS login");
    assert_eq!(code, 303, "{head}");
    let cookie_line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {head}"));
    assert!(cookie_line.contains("; Secure"), "{cookie_line}");
    let cookie = cookie_line
        .split_once(':')
        .and_then(|(_, v)| v.trim().split(';').next())
        .expect("cookie")
        .to_string();
    let (code, page) = https(
        to,
        &cert,
        &format!("GET /dashboard HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    )
    .expect("dashboard over TLS");
    assert_eq!(code, 200, "{}", &page[..page.len().min(300)]);
    // A certificate the client does not trust fails the handshake (positive control: the
    // check above verified the node's certificate, not nothing).
    let other = tempfile::NamedTempFile::new().expect("tmp");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    std::fs::write(other.path(), made.cert.pem()).expect("write");
    assert!(
        https(
            to,
            other.path(),
            "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        .is_err()
    );
    // Plain HTTP to the TLS port gets no page.
    let plain = ureq::get(format!("http://{to}/login")).call();
    assert!(plain.is_err(), "plain HTTP answered on the TLS port");
    // The plain listener is still the loopback one the CLI uses.
    assert!(cso.get("/api/status")["org_id"].is_string());
}

/// The session cookie and CSRF token of a login from loopback.
fn session_of(node: &Node, name: &str, password: &str) -> (String, String) {
    let to = addr(node);
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/x-www-form-urlencoded"
    );
    let form = format!("username={name}&password={}", password.replace(' ', "+"));
    let (code, answer) = raw([127, 0, 0, 1], &to, &head, &form);
    assert_eq!(code, 303, "{answer}");
    let cookie = answer
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let head = format!("GET /dashboard HTTP/1.1\r\nHost: {to}\r\nCookie: {cookie}");
    let (_, page) = raw([127, 0, 0, 1], &to, &head, "");
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page's CSRF token")
        .to_string();
    (cookie, csrf)
}

#[test]
fn a_browser_session_cannot_take_a_backup_even_as_an_admin() {
    let mut net = Net::new();
    net.steward.start();
    let node = &net.steward;
    node.add_operator("root", "admin", "root's long password");
    node.add_operator("dana", "readonly", "dana's long password");
    let (cookie, csrf) = session_of(node, "root", "root's long password");
    let to = addr(node);
    let post = |path: &str, body: &str| {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {to}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/json"
        );
        raw([127, 0, 0, 1], &to, &head, body)
    };
    let (code, answer) = post("/api/backup", "");
    assert_eq!(code, 403, "{answer}");
    assert!(answer.contains("ilm backup"), "{answer}");
    // Positive control: the same session and token do pass for another admin action.
    let (code, answer) = post("/api/operators/dana/disabled", r#"{"disabled":true}"#);
    assert!((200..300).contains(&code), "{answer}");
    // And the admin token (the CLI) takes a backup.
    let key = net.tmp.path().join("rk");
    ilm(
        &node.dir,
        &["recovery-key", "new", "--out", key.to_str().expect("utf8")],
    );
    let out = net.tmp.path().join("steward.ilmbackup");
    ilm(
        &node.dir,
        &[
            "backup",
            "--out",
            out.to_str().expect("utf8"),
            "--recovery-key",
            key.to_str().expect("utf8"),
        ],
    );
    assert!(out.exists());
}
