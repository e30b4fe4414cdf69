//! The portal and the admin listener share no route, and the portal keeps no trace of a
//! report's sender: no address on disk or in logs, debug logs over TLS included.

use super::*;

#[test]
fn the_portal_shares_no_route_with_the_admin_listener_and_keeps_no_trace_of_the_sender() {
    let (net, mut cso) = cso_with_portal();
    let portal = portal_base(&cso);
    let admin = format!(
        "http://{}",
        std::fs::read_to_string(cso.dir.join("admin.addr"))
            .expect("admin.addr")
            .trim()
    );
    // Each listener serves its own pages (positive controls)...
    for path in [
        "/",
        "/report",
        "/check",
        "/rights",
        "/alerts",
        "/static/portal.css",
    ] {
        assert_eq!(get(&format!("{portal}{path}")).0, 200, "portal {path}");
    }
    assert_eq!(get(&format!("{admin}/login")).0, 200);
    assert_eq!(get(&format!("{admin}/static/app.js")).0, 200);
    // ...and none of the other's.
    for path in [
        "/login",
        "/dashboard",
        "/contacts",
        "/portal",
        "/static/app.js",
        "/api/status",
        "/api/hello",
        "/api/contacts",
        "/api/portal/threads",
    ] {
        let (code, body) = get(&format!("{portal}{path}"));
        assert_eq!(code, 404, "admin path {path} on the portal: {body}");
    }
    for path in [
        "/report",
        "/check",
        "/rights",
        "/alerts",
        "/static/portal.css",
        "/message",
    ] {
        let (code, body) = get(&format!("{admin}{path}"));
        assert!(
            code != 200 && !body.contains("report-form"),
            "portal path {path} on the admin listener: {code}"
        );
    }

    // A report sent from another loopback address (127.0.0.7), with canaries.
    let (name, phone, words) = (
        "PORTAL-CANARY-NAME-3b9f",
        "PORTAL-CANARY-PHONE-0199",
        "PORTAL-CANARY-WORDS-51ac",
    );
    let answer = post_form_from(
        "127.0.0.7",
        &portal,
        "/report",
        &a_report(words, name, phone),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let receipt = element_text(&answer, "receipt").expect("a receipt");
    let passphrase = element_text(&answer, "passphrase").expect("a passphrase");
    let message = post_form_from(
        "127.0.0.7",
        &portal,
        "/message",
        &[
            ("lang", "my"),
            ("receipt", &receipt),
            ("passphrase", &passphrase),
            ("text", "PORTAL-CANARY-MESSAGE-77e1"),
        ],
    );
    assert!(message.contains("PORTAL-CANARY-MESSAGE-77e1"), "{message}");
    // A message sent with a mistyped passphrase is not lost: the check form keeps it, and
    // sends it once the right codes open the report.
    let (code, kept) = post_form(
        &format!("{portal}/message"),
        &[
            ("lang", "en"),
            ("receipt", &receipt),
            ("passphrase", "0000-0000-0000-0000"),
            ("text", "Second message, typed with a wrong passphrase"),
        ],
        None,
    );
    assert_eq!(code, 404, "{kept}");
    assert!(
        kept.contains("value=\"Second message, typed with a wrong passphrase\"")
            && kept.contains("action=\"/message\""),
        "{kept}"
    );
    let (code, sent) = post_form(
        &format!("{portal}/message"),
        &[
            ("lang", "en"),
            ("receipt", &receipt),
            ("passphrase", &passphrase),
            ("text", "Second message, typed with a wrong passphrase"),
        ],
        None,
    );
    assert_eq!(code, 200);
    assert!(sent.contains("id=\"notice\""), "{sent}");
    // Control: a plain check with wrong codes keeps no message and checks, not sends.
    let (_, plain) = post_form(
        &format!("{portal}/check"),
        &[
            ("lang", "en"),
            ("receipt", &receipt),
            ("passphrase", "0000-0000-0000-0000"),
        ],
        None,
    );
    assert!(plain.contains("action=\"/check\"") && !plain.contains("pending-message"));
    let threads = || {
        cso.get("/api/portal/threads")["threads"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    };
    assert_eq!(threads(), 1);

    // A form posted from another site is refused and stores nothing.
    let (code, _) = post_form(
        &format!("{portal}/report"),
        &a_report("cross-site", "x", ""),
        Some("https://evil.example"),
    );
    assert_eq!(code, 403);
    assert_eq!(threads(), 1);

    // A flood of reports from many connections at once: the portal takes at most its burst
    // (20) plus what refills meanwhile (60 an hour), refuses the rest with 429 or 503 at once,
    // stores exactly what it accepted, and the operators' API keeps answering throughout.
    let url = format!("{portal}/report");
    let flood: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut codes = Vec::new();
                for _ in 0..25 {
                    codes.push(post_form(&url, &a_report("flood", "", ""), None).0);
                }
                codes
            })
        })
        .collect();
    let mut operator_answers = 0;
    while flood.iter().any(|t| !t.is_finished()) {
        assert!(
            cso.try_get("/api/status").is_ok(),
            "the admin API stopped answering"
        );
        operator_answers += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let codes: Vec<u16> = flood
        .into_iter()
        .flat_map(|t| t.join().expect("flood thread"))
        .collect();
    let accepted = codes.iter().filter(|c| **c == 200).count();
    let refused = codes.iter().filter(|c| **c == 429 || **c == 503).count();
    assert_eq!(accepted + refused, codes.len(), "{codes:?}");
    assert!(accepted <= 21, "{accepted} accepted");
    assert!(
        accepted >= 1 && refused >= 150,
        "{accepted} accepted, {refused} refused"
    );
    assert_eq!(threads(), 1 + accepted, "stored exactly what was accepted");
    assert!(operator_answers >= 1);

    // Positive control for the searches below: a page the CSO wrote is found in clear.
    cso.post(
        "/api/portal/rights",
        &json!({ "origin": "MM", "destination": "TH", "language": "en",
                 "title": "PORTAL-CONTROL-TITLE", "body": "Text." }),
    );
    cso.stop();
    let files = node_files(&cso);
    assert!(!grep(&files, b"PORTAL-CONTROL-TITLE").is_empty());
    // The portal's own address is in its log ("workers' portal" line): addresses written
    // anywhere are found by this search.
    let own = portal.trim_start_matches("http://");
    assert!(!grep(&files, own.as_bytes()).is_empty(), "control: {own}");
    // Nor are the receipt and passphrase (only keyed hashes are kept), as shown, as bare
    // digits or hex-encoded.
    let mut needles: Vec<String> = [
        name,
        phone,
        words,
        "PORTAL-CANARY-MESSAGE-77e1",
        "127.0.0.7",
    ]
    .map(String::from)
    .to_vec();
    for code in [&receipt, &passphrase] {
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        needles.push(ilm_protocol::bytes::to_hex(digits.as_bytes()));
        needles.push(digits);
        needles.push(code.to_string());
    }
    for needle in &needles {
        let hits = grep(&[net.tmp.path().to_path_buf()], needle.as_bytes());
        assert!(hits.is_empty(), "{needle} found in {hits:?}");
    }
}

#[test]
fn the_portal_over_tls_names_no_peer_even_in_debug_logs() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.log = Some("debug,libp2p=warn".into());
    cso.run_args = [
        "--portal-tls-listen",
        "127.0.0.1:0",
        "--admin-tls-listen",
        "127.0.0.1:0",
    ]
    .map(String::from)
    .to_vec();
    cso.start();
    let read = |f: &str| {
        std::fs::read_to_string(cso.dir.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .trim()
            .to_string()
    };
    let (portal, admin) = (read("portal-tls.addr"), read("admin-tls.addr"));
    let log = || std::fs::read_to_string(cso.dir.with_extension("log1")).unwrap_or_default();
    let failures = |text: &str| text.matches("TLS handshake failed").count();
    // A broken handshake on the portal from 127.0.0.7: logged, without the peer.
    send_from("127.0.0.7", &portal, b"GET / HTTP/1.1\r\n\r\n");
    wait_for("the portal's handshake failure in the log", SOON, || {
        (failures(&log()) >= 1).then_some(())
    });
    // Control: the same on the admin listener from 127.0.0.8 names its peer, so the log
    // would show the portal's had it been written.
    send_from("127.0.0.8", &admin, b"GET / HTTP/1.1\r\n\r\n");
    wait_for(
        "the admin listener's handshake failure in the log",
        SOON,
        || log().contains("127.0.0.8").then_some(()),
    );
    let text = log();
    assert_eq!(failures(&text), 2, "{text}");
    assert!(
        !text.contains("127.0.0.7"),
        "the portal's peer is in the log"
    );
    cso.stop();
    let hits = grep(&node_files(&cso), b"127.0.0.7");
    assert!(hits.is_empty(), "127.0.0.7 found in {hits:?}");
}
