//! Retention and erasure on a real node: expired identities and a worker's request to be
//! forgotten are erased for real (the old sealed bytes are gone from the data dir after the
//! compaction the node runs at its next start), while open cases keep theirs.

mod support;

use ilm_node::intake::{Contact, ContactId};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use support::{Net, Node, ilm, ilm_bin, ilm_fails};

const DAY: u64 = 86_400;

fn now() -> u64 {
    ilm_node::clock::now().0
}

fn add_contact(cso: &Node, name: &str, days_ago: u64) -> String {
    cso.post(
        "/api/contacts",
        &json!({
            "channel": "phone_call", "language": "my", "nationality": "MM", "gender": "male",
            "age_band": "25_34", "sector": "seafood", "origin": "MM", "destination": "TH",
            "received_at": now() - days_ago * DAY,
            "identity": { "name": name, "phone": "+66 81 555 01 23" }, "notes": format!("notes of {name}")
        }),
    )["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// The sealed ciphertext stored for each contact, as the database holds it (raw bytes in
/// the binary record; read with the node stopped).
fn ciphertexts(dir: &Path, ids: &[&str]) -> Vec<Vec<u8>> {
    let store = ilm_node::schema::open(&dir.join("db")).expect("open db");
    ids.iter()
        .map(|id| {
            let id: ContactId = id.parse().expect("id");
            let c: Contact = store
                .get(&ilm_node::schema::CONTACTS, &id.0)
                .expect("get")
                .expect("contact");
            c.sealed.ciphertext
        })
        .collect()
}

fn in_dir(dir: &Path, needle: &[u8]) -> bool {
    !support::holders(&[dir.to_path_buf()], &[needle]).is_empty()
}

fn identity_name(cso: &Node, id: &str) -> String {
    cso.get(&format!("/api/contacts/{id}"))["identity"]["name"]
        .as_str()
        .expect("name")
        .to_string()
}

#[test]
fn expired_and_requested_erasures_leave_the_disk_and_open_cases_keep_theirs() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let cfg_path = cso.dir.join("config.toml");
    let cfg = std::fs::read_to_string(&cfg_path).expect("config");
    std::fs::write(
        &cfg_path,
        cfg.replace(
            "[retention]\n",
            "[retention]\nworker_identities_days = 30\n",
        ),
    )
    .expect("write config");
    cso.start();
    let old = add_contact(&cso, "Old Canary Worker", 100);
    let recent = add_contact(&cso, "Recent Canary Worker", 1);
    let held = add_contact(&cso, "Held Canary Worker", 100);
    cso.post(
        "/api/local-cases",
        &json!({ "contacts": [held], "workers": 1, "issues": [{ "category": "wages_and_benefits" }], "site": "Pier 4" }),
    );
    cso.stop();
    let sealed = ciphertexts(&cso.dir, &[&old, &recent, &held]);

    // The sweep at start erases only the expired identity of a contact no open case holds.
    cso.start();
    let status = support::wait_for("the first sweep", support::SOON, || {
        let s = cso.get("/api/status");
        (!s["retention"]["state"]["last"].is_null()).then_some(s)
    });
    assert_eq!(status["retention"]["state"]["last"]["identities"], json!(1));
    assert_eq!(status["retention"]["compaction_due"], json!(true));
    assert_eq!(identity_name(&cso, &old), "");
    let shown = cso.get(&format!("/api/contacts/{old}"));
    assert!(shown["erased"]["identity_at"].is_u64(), "{shown}");
    assert_eq!(
        shown["notes"],
        json!("notes of Old Canary Worker"),
        "notes have their own period"
    );
    assert_eq!(identity_name(&cso, &recent), "Recent Canary Worker");
    assert_eq!(identity_name(&cso, &held), "Held Canary Worker");
    let status_text = ilm(&cso.dir, &["status"]);
    assert!(status_text.contains("identities 30 days"), "{status_text}");

    // A worker asks to be forgotten: identity and notes go at once, whatever the periods.
    let out = ilm(&cso.dir, &["erase", "contact", &recent]);
    assert!(out.contains("Erased"), "{out}");
    let shown = cso.get(&format!("/api/contacts/{recent}"));
    assert_eq!(shown["identity"]["name"], json!(""));
    assert_eq!(shown["notes"], json!(""));
    assert_eq!(shown["erased"]["requested"], json!(true));
    let again = ilm(&cso.dir, &["erase", "contact", &recent]);
    assert!(again.contains("erased already"), "{again}");
    // Compaction needs the node stopped, and says so.
    let refused = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(&cso.dir)
        .args(["db", "compact"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    let refused = ilm_fails(&cso.dir, &["db", "compact", "--if-due"]);
    assert!(
        refused.contains("the node is running: stop it first"),
        "{refused}"
    );
    cso.stop();

    // Positive control: before compaction the engine's log still holds the erased bytes.
    let db = cso.dir.join("db");
    assert!(
        in_dir(&db, &sealed[0]),
        "the scan finds a sealed identity that was overwritten but not compacted"
    );
    // The next start compacts, in a process of its own (what the rewrite reads stays out of
    // the node's memory); afterwards only the held contact's sealed bytes remain.
    cso.start();
    let log = cso.last_log();
    assert!(
        log.contains(
            "database compacted before the start, in a process of its own (erased personal data"
        ),
        "{log}"
    );
    assert!(!log.contains("compacting the database"), "{log}");
    let s: Value = cso.get("/api/status");
    assert_eq!(s["retention"]["compaction_due"], json!(false));
    // The status shows the database's size against what that compaction left.
    let (on_disk, left) = (
        s["database"]["bytes_on_disk"].as_u64().unwrap_or(0),
        s["database"]["bytes_after_compaction"]
            .as_u64()
            .unwrap_or(0),
    );
    assert!(
        on_disk > 0 && left > 0 && on_disk < 4 * left,
        "{}",
        s["database"]
    );
    assert_eq!(s["database"]["compaction_due"], json!(false));
    // It wrote the engine's pages full, as this release does.
    assert_eq!(
        s["database"]["pages_filled"],
        json!(true),
        "{}",
        s["database"]
    );
    assert_eq!(identity_name(&cso, &held), "Held Canary Worker");
    cso.stop();
    net.steward.stop();
    assert!(!in_dir(&db, &sealed[0]), "expired identity still on disk");
    assert!(!in_dir(&db, &sealed[1]), "erased identity still on disk");
    assert!(
        in_dir(&db, &sealed[2]),
        "the held contact's sealed identity is kept"
    );
    for canary in [
        "Old Canary Worker",
        "Recent Canary Worker",
        "Held Canary Worker",
    ] {
        assert!(
            !in_dir(&cso.dir, canary.as_bytes()),
            "{canary} in the clear"
        );
    }
    // Offline compaction works on a stopped node, and keeps the data.
    let out = ilm(&cso.dir, &["db", "compact"]);
    assert!(out.contains("Compacted"), "{out}");
    assert!(in_dir(&db, &sealed[2]));
    // What a start would compact: nothing now (just compacted, nothing erased since).
    let out = ilm(&cso.dir, &["db", "compact", "--if-due"]);
    assert!(out.starts_with("Not compacted: nothing erased"), "{out}");
}

fn disclosed_names(node: &Node) -> Vec<String> {
    node.get("/api/disclosures")["disclosures"]
        .as_array()
        .expect("disclosures")
        .iter()
        .filter_map(|d| d["identities"][0]["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_supplier_erases_the_identities_of_closed_cases_and_keeps_those_of_open_ones() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    // Closed cases are kept no time at all at the supplier (the shortest period there is).
    let cfg_path = supplier.dir.join("config.toml");
    let cfg = std::fs::read_to_string(&cfg_path).expect("config");
    std::fs::write(
        &cfg_path,
        cfg.replace("[retention]\n", "[retention]\nclosed_cases_days = 0\n"),
    )
    .expect("write config");
    cso.start();
    supplier.start();
    let closing = cso.consented_case(&supplier, "Closed Case Canary");
    cso.consented_case(&supplier, "Open Case Canary");
    support::wait_for("both disclosures at the supplier", support::SOON, || {
        (disclosed_names(&supplier).len() == 2).then_some(())
    });
    cso.post(
        &format!("/api/cases/{closing}/events"),
        &json!({ "event": { "type": "closed", "outcome": "The worker withdrew the complaint" } }),
    );
    support::wait_for("the supplier to see the case closed", support::SOON, || {
        (supplier.get(&format!("/api/cases/{closing}"))["status"] == "closed").then_some(())
    });
    // Positive control: until the sweep runs, the closed case's disclosure is still held.
    assert!(disclosed_names(&supplier).contains(&"Closed Case Canary".to_string()));
    // The sweep runs at start: the closed case's disclosure goes, the open case's stays,
    // and the case's signed events stay.
    supplier.stop();
    supplier.start();
    support::wait_for(
        "the sweep to erase the closed case's disclosure",
        support::SOON,
        || (disclosed_names(&supplier) == vec!["Open Case Canary".to_string()]).then_some(()),
    );
    let status = supplier.get("/api/status");
    assert_eq!(
        status["retention"]["state"]["last"]["disclosures"],
        json!(1),
        "{status}"
    );
    assert!(!supplier.event_hashes(&closing).is_empty());
}
