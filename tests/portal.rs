//! The workers' portal against a real CSO node (the `ilm` binary): a worker in Burmese on a
//! 360 px phone with JavaScript off raises a problem, gets a receipt, follows it and reads the
//! helpline's answer; the portal and admin listeners share no route; a report's identity is
//! nowhere in clear and the sender's address nowhere at all; a flood of reports is bounded
//! while operators keep working.
//!
//! Chromium and chromedriver are required (scripts/test installs them); never skipped.

#[path = "support/session.rs"]
mod session;
#[path = "support/mod.rs"]
mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::portal::*;
use support::*;
use webdriver::Browser;

use session::{ARTIFACTS, PASSWORD, Session};

/// A CSO node serving the portal on loopback, with a caseworker account "carla".
fn cso_with_portal() -> (Net, Node) {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.add_operator("carla", "caseworker", PASSWORD);
    cso.run_args = vec!["--portal-listen".into(), "127.0.0.1:0".into()];
    cso.start();
    (net, cso)
}

/// A form post sent from `source` (another loopback address), over a raw HTTP/1.1
/// connection: the address the portal must never write down.
fn post_form_from(source: &str, portal: &str, path: &str, form: &[(&str, &str)]) -> String {
    let addr = portal.trim_start_matches("http://");
    let body = serde_urlencoded::to_string(form).expect("form");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    send_from(source, addr, request.as_bytes())
}

/// Sends `bytes` over TCP from `source` (a loopback address other than 127.0.0.1) to `addr`
/// and returns whatever comes back until the other side closes.
fn send_from(source: &str, addr: &str, bytes: &[u8]) -> String {
    let addr: std::net::SocketAddr = addr.parse().expect("address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(format!("{source}:0").parse().expect("source"))
            .expect("bind the source address");
        let mut stream = socket.connect(addr).await.expect("connect");
        stream.write_all(bytes).await.expect("send");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    })
}

/// Files under `dir` (and the logs next to it) holding `needle`.
fn grep(dirs: &[PathBuf], needle: &[u8]) -> Vec<PathBuf> {
    support::holders(dirs, &[needle])
}

/// The data directory and every log of a node (logs are written next to the directory).
fn node_files(node: &Node) -> Vec<PathBuf> {
    let mut out = vec![node.dir.clone()];
    if let (Some(parent), Some(name)) = (node.dir.parent(), node.dir.file_name()) {
        for e in std::fs::read_dir(parent).expect("parent").flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if f.starts_with(&format!("{}.log", name.to_string_lossy())) {
                out.push(e.path());
            }
        }
    }
    out
}

/// A screenshot of the open page, after checking it: axe-core finds no serious or critical
/// violation, and nothing is wider than the phone's screen.
fn shot(b: &Browser, axe: &str, name: &str) {
    b.check_phone_page(
        axe,
        name,
        360,
        &Path::new(ARTIFACTS).join(format!("portal-{name}.png")),
    );
}

/// Burmese digits for ASCII ones (a worker typing on a Burmese keyboard).
fn burmese_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x1040 + d).expect("digit"),
            None => c,
        })
        .collect()
}

#[test]
fn a_worker_in_burmese_on_a_phone_without_javascript_reports_and_reads_the_answer() {
    std::fs::create_dir_all(ARTIFACTS).expect("artifacts dir");
    let (_net, cso) = cso_with_portal();
    let portal = portal_base(&cso);
    // A caseworker writes a know-your-rights page for the Myanmar–Thailand corridor in
    // Burmese, in the admin UI.
    let mut carla = Session::new("portal-cso", &cso);
    carla.login("carla", PASSWORD);
    carla.open("/portal");
    carla.wait_for("#rights-form", SOON);
    carla.fill("#rights-form", "origin", "MM");
    carla.fill("#rights-form", "destination", "TH");
    carla.fill("#rights-form", "language", "my");
    carla.fill("#rights-form", "title", "ထိုင်းနိုင်ငံတွင် အလုပ်လုပ်သူများ၏ အခွင့်အရေး");
    carla.fill(
        "#rights-form",
        "body",
        "အလုပ်ရှင်သည် သင့်နိုင်ငံကူးလက်မှတ်ကို သိမ်းထား၍ မရပါ။\n\nလုပ်ခကို အပြည့်အဝ အချိန်မီ ရရပါမည်။",
    );
    carla.click_to_load(&carla.find("#rights-form button[type=submit]"), SOON);
    assert!(
        carla
            .text(&carla.find("#rights-pages"))
            .contains("ထိုင်းနိုင်ငံတွင်")
    );
    carla.shot("rights-written");
    // And a broker alert, shown for 30 days.
    carla.fill("#alert-form", "language", "my");
    carla.fill("#alert-form", "title", "Facebook ပေါ်က စက်ရုံအလုပ်အတု");
    carla.fill("#alert-form", "body", "ဘတ် ၃၀,၀၀၀ တောင်းသည့် ပွဲစားကို ငွေမပေးပါနှင့်။");
    carla.fill("#alert-form", "days", "30");
    carla.click_to_load(&carla.find("#alert-form button[type=submit]"), SOON);
    assert!(
        carla
            .text(&carla.find("#broker-alerts"))
            .contains("စက်ရုံအလုပ်အတု")
    );

    let axe = webdriver::axe_source();
    let b = Browser::phone(360, false);
    // JavaScript is off: a page's script does not run (control for everything below).
    b.open_page("data:text/html,<title>before</title><script>document.title='script ran'</script>");
    assert_eq!(
        b.title(),
        "before",
        "page scripts must be off in this browser"
    );

    b.open_page(&format!("{portal}/?lang=my"));
    let html = b.find("html");
    assert_eq!(b.attribute(&html, "lang").as_deref(), Some("my"));
    assert!(b.text(&b.find("h1")).contains("ပြဿနာ"), "Burmese heading");
    shot(&b, &axe, "01-home-my");
    // Control: axe does report on this browser's pages (an image without a text alternative
    // added by hand is a critical violation).
    b.execute(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/none.png\">');",
        vec![],
    );
    b.set_page_scripts(true);
    let found = b.axe_serious(&axe, "control");
    b.set_page_scripts(false);
    assert!(
        found.iter().any(|v| v.contains("image-alt")),
        "axe found {found:?}"
    );

    // Know your rights, in Burmese.
    b.click_to_page(&b.find("#go-rights"));
    b.click_to_page(&b.find("#rights a"));
    assert!(b.text(&b.find("#rights-page")).contains("နိုင်ငံကူးလက်မှတ်"));
    shot(&b, &axe, "02-rights-my");

    // Warnings about brokers, in Burmese.
    b.open_page(&format!("{portal}/?lang=my"));
    b.click_to_page(&b.find("#go-alerts"));
    assert!(b.text(&b.find("#alerts")).contains("စက်ရုံအလုပ်အတု"));
    shot(&b, &axe, "02b-alerts-my");

    // Report a problem. First with no words at all (spaces pass the browser's check): the
    // node refuses it, in Burmese, and what was typed stays in the form.
    b.open_page(&format!("{portal}/report?lang=my"));
    b.tap(&b.find("input[name=reporter][value=worker]"));
    b.send_keys(&b.find("#what"), "   ");
    b.send_keys(&b.find("#place"), "Mahachai");
    b.select_option("#sector", "seafood");
    b.tap(&b.find("input[name=may_contact][value=yes]"));
    b.tap(&b.find("input[name=may_raise][value=no]"));
    b.click_to_page(&b.find("#send-report"));
    let error = b.text(&b.find("#form-error"));
    assert!(error.contains("ဘာဖြစ်ခဲ့သလဲ"), "a Burmese error: {error}");
    assert_eq!(
        b.property(&b.find("#place"), "value").as_deref(),
        Some("Mahachai")
    );
    shot(&b, &axe, "03-report-refused");
    b.send_keys(&b.find("#what"), "လုပ်ခ သုံးလ မရပါ။ PORTAL-CANARY-WORDS");
    b.send_keys(&b.find("#employer"), "Ocean Frozen Foods");
    b.send_keys(&b.find("#workers"), "12");
    b.send_keys(&b.find("#name"), "PORTAL-CANARY-NAME");
    b.send_keys(&b.find("#phone"), "+66 81 555 0142");
    b.click_to_page(&b.find("#send-report"));
    let receipt = b.text(&b.find("#receipt"));
    let passphrase = b.text(&b.find("#passphrase"));
    assert_eq!(receipt.chars().filter(char::is_ascii_digit).count(), 12);
    assert_eq!(passphrase.chars().filter(char::is_ascii_digit).count(), 16);
    shot(&b, &axe, "04-receipt");

    // The report is in the CSO's intake, awaiting triage, from the portal.
    let threads = cso.get("/api/portal/threads")["threads"].clone();
    assert_eq!(threads.as_array().map(Vec::len), Some(1), "{threads}");
    let contact = threads[0]["contact"].as_str().expect("contact").to_string();
    let shown = cso.get(&format!("/api/contacts/{contact}"));
    assert_eq!(shown["channel"], "portal", "{shown}");
    assert!(shown["case_ref"].is_null());
    assert_eq!(shown["identity"]["name"], "PORTAL-CANARY-NAME", "{shown}");

    // A wrong passphrase opens nothing.
    b.open_page(&format!("{portal}/check?lang=my"));
    b.send_keys(&b.find("#receipt"), &receipt);
    b.send_keys(&b.find("#passphrase"), "1111-2222-3333-4444");
    b.click_to_page(&b.find("#check-submit"));
    assert!(b.try_find("#thread").is_none());
    assert!(!b.text(&b.find("#form-error")).is_empty());

    // The right codes, typed in Burmese digits, open the report.
    b.open_page(&format!("{portal}/check?lang=my"));
    b.send_keys(&b.find("#receipt"), &burmese_digits(&receipt));
    b.send_keys(&b.find("#passphrase"), &burmese_digits(&passphrase));
    b.click_to_page(&b.find("#check-submit"));
    let status = b.find("#status");
    assert_eq!(
        b.attribute(&status, "data-status").as_deref(),
        Some("wstatus_received")
    );
    shot(&b, &axe, "05-status-received");

    // The caseworker sees the report awaiting an answer on the portal page and answers it
    // there; the worker reads it and writes back.
    let answer = "ကျွန်ုပ်တို့ မနက်ဖြန် ဖုန်းဆက်ပါမည်။";
    carla.open("/portal");
    let thread = format!("article.portal-thread.awaiting[data-contact=\"{contact}\"]");
    carla.wait_for(&thread, SOON);
    // What the worker wrote is on the page, with the callback details she chose to give.
    let shown = carla.text(&carla.find(&format!("{thread} .portal-report")));
    assert!(shown.contains("PORTAL-CANARY-WORDS") && shown.contains("PORTAL-CANARY-NAME"));
    carla.send_keys(
        &carla.find(&format!("{thread} textarea[name=text]")),
        answer,
    );
    carla.click_to_load(&carla.find(&format!("{thread} button[type=submit]")), SOON);
    let answered = format!("article.portal-thread[data-contact=\"{contact}\"]");
    assert!(carla.text(&carla.find(&answered)).contains(answer));
    assert!(
        carla
            .try_find(&format!(
                "article.portal-thread.awaiting[data-contact=\"{contact}\"]"
            ))
            .is_none(),
        "answered, it no longer awaits an answer"
    );
    carla.shot("answered");
    b.open_page(&format!("{portal}/check?lang=my"));
    b.send_keys(&b.find("#receipt"), &receipt);
    b.send_keys(&b.find("#passphrase"), &passphrase);
    b.click_to_page(&b.find("#check-submit"));
    assert_eq!(
        b.attribute(&b.find("#status"), "data-status").as_deref(),
        Some("wstatus_answered")
    );
    assert!(b.text(&b.find("#thread")).contains(answer));
    b.send_keys(&b.find("#text"), "ကျေးဇူးတင်ပါသည်");
    b.click_to_page(&b.find("#send-message"));
    assert!(!b.text(&b.find("#notice")).is_empty());
    assert!(b.text(&b.find("#thread")).contains("ကျေးဇူးတင်ပါသည်"));
    shot(&b, &axe, "06-status-answered");
    let thread = cso.get(&format!("/api/portal/threads/{contact}"));
    assert_eq!(thread["awaiting_answer"], true, "{thread}");
    assert_eq!(
        thread["thread"].as_array().map(Vec::len),
        Some(2),
        "{thread}"
    );
}

#[test]
fn idle_connections_to_the_portal_are_bounded_and_closed() {
    use std::io::Read;
    let (_net, cso) = cso_with_portal();
    let portal = portal_base(&cso);
    let addr = portal.trim_start_matches("http://").to_string();
    let bound = ilm_node::edge::tls::MAX_CONNECTIONS;
    // As many connections as the portal keeps open, none sending a request.
    let idle: Vec<std::net::TcpStream> = (0..bound)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    // One more is closed at once, while the operators' API keeps answering.
    let mut extra = std::net::TcpStream::connect(&addr).expect("connect");
    extra.set_read_timeout(Some(SOON)).expect("read timeout");
    let mut byte = [0u8; 1];
    match extra.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("a connection beyond the bound was kept: {other:?}"),
    }
    assert!(cso.try_get("/api/status").is_ok());
    // The idle ones are closed once their time to send headers is up (bounded wait).
    for mut c in idle {
        c.set_read_timeout(Some(SOON)).expect("read timeout");
        match c.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("an idle connection was kept open: {other:?}"),
        }
    }
    // And the portal serves again.
    assert_eq!(get(&format!("{portal}/")).0, 200);
}

/// The CSO's Workers' portal page opens the reports a page at a time (each page decrypts
/// only its own reports' words and messages), those awaiting an answer first.
#[test]
fn the_cso_s_portal_page_shows_reports_a_page_at_a_time() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    // More reports at once than the default burst allows.
    let config = cso.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(
        text.contains("report_burst = 20"),
        "the template sets the burst"
    );
    std::fs::write(
        &config,
        text.replace("report_burst = 20", "report_burst = 30"),
    )
    .expect("config");
    cso.run_args = vec!["--portal-listen".into(), "127.0.0.1:0".into()];
    cso.start();
    let portal = portal_base(&cso);
    for i in 0..21 {
        let what = format!("Paged report {i}");
        let (status, body) = post_form(&format!("{portal}/report"), &a_report(&what, "", ""), None);
        assert_eq!(status, 200, "{body}");
    }
    let shown = |page: &str| {
        let html = cso.get_text(&format!("/portal{page}"));
        let n = html.matches("class=\"portal-thread").count();
        (n, html)
    };
    let (n, first) = shown("");
    assert_eq!(n, 20);
    assert!(first.contains("rel=\"next\"") && !first.contains("rel=\"prev\""));
    let (n, second) = shown("?page=2");
    assert_eq!(n, 1);
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));
    // A page past the end shows the last one; a page that is not a number is refused.
    assert_eq!(shown("?page=9").0, 1);
    let (status, _) = cso.get_raw("/portal?page=x");
    assert_eq!(status, 400);
}

/// The portal keeps no trace of a sender, and shares no route with the admin listener.
#[path = "portal/traces.rs"]
mod traces;
