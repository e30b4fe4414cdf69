//! `ilm demo` with the real binary: a complete network seeded through the real protocol.

#[path = "support/mod.rs"]
mod support;

use std::process::Command;
use support::ilm_bin;

#[test]
fn the_demo_seeds_every_lifecycle_stage_with_attestations_and_overdue_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    let out = Command::new(ilm_bin())
        .args([
            "demo",
            "--contacts",
            "160",
            "--cases",
            "300",
            "--exit-after-seed",
            "--dir",
        ])
        .arg(&dir)
        .output()
        .expect("run ilm demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("Seeded through the real protocol"))
        .expect("summary line");
    for stage in [
        "open",
        "escalated",
        "acknowledged",
        "disputed",
        "planned",
        "reported",
        "reopened",
        "partlyresolved",
        "resolved",
    ] {
        let count = summary
            .split([',', '('])
            .map(str::trim)
            .find_map(|part| part.strip_prefix(&format!("{stage} ")))
            .and_then(|n| n.trim_end_matches(')').parse::<u32>().ok())
            .unwrap_or(0);
        assert!(count > 0, "no case in stage {stage}: {summary}");
    }
    let number_before = |word: &str| -> u32 {
        summary
            .split(", ")
            .find_map(|p| {
                p.strip_suffix(word)
                    .and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
            })
            .unwrap_or(0)
    };
    assert!(number_before(" attestations co-signed") > 0, "{summary}");
    assert!(number_before(" overdue items") > 0, "{summary}");
    assert!(
        summary.starts_with("Seeded through the real protocol: 160 contacts"),
        "{summary}"
    );
    // Eleven nodes, each with its own data dir and admin API.
    let nodes: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.contains("http://127.0.0.1:")
                && !l.starts_with("Public statistics page")
                && !l.starts_with("Workers' portal")
        })
        .collect();
    assert_eq!(nodes.len(), 11, "{stdout}");
    // The first CSO's public statistics page serves what the CSOs published.
    assert!(
        stdout.contains(
            "Public statistics page (no login, published figures only): http://127.0.0.1:"
        ),
        "{stdout}"
    );
    // And its workers' portal, with the know-your-rights pages the seed wrote.
    assert!(
        stdout.contains("Workers' portal of Migrant Worker Helpline Foundation"),
        "{stdout}"
    );
    assert!(
        summary.contains("statistics of 3 months published by each CSO"),
        "{summary}"
    );
    for role in [
        "steward",
        "cso",
        "agency",
        "supplier",
        "brand",
        "government",
    ] {
        assert!(
            nodes
                .iter()
                .any(|l| l.split_whitespace().nth(1) == Some(role)),
            "no {role} node"
        );
    }
    assert!(dir.join("cso-helpline").join("db").exists());
    // The synthetic cases: written, counted by the aggregates exactly as a recount counts
    // them (the node stopped), and among the CSO's cases.
    assert!(
        stdout.contains("Wrote 300 synthetic cases (SAMPLE DATA)"),
        "{stdout}"
    );
    let cso = dir.join("cso-helpline");
    let check = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(&cso)
        .args(["reindex", "--check"])
        .output()
        .expect("reindex --check");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    // The vault key is bound to the database: another node's key, or none, is refused by the
    // node's start and by the check (neither makes a key), and all is well with its own back.
    let key = cso.join("vault.key");
    let kept = dir.join("helpline-vault.key");
    std::fs::copy(&key, &kept).expect("keep the key");
    std::fs::copy(dir.join("cso-union").join("vault.key"), &key).expect("another node's key");
    let another = "vault.key is not the key this node's database was sealed with";
    let said = support::ilm_run_fails(&cso);
    assert!(said.contains(another), "{said}");
    let said = support::ilm_fails_after_close(&cso, &["reindex", "--check"]);
    assert!(said.contains(another), "{said}");
    std::fs::remove_file(&key).expect("remove the key");
    let missing =
        "vault.key is missing, and this node's database holds contacts sealed or keyed with it";
    let said = support::ilm_run_fails(&cso);
    assert!(said.contains(missing), "{said}");
    assert!(!key.exists(), "the start made a new key");
    let said = support::ilm_fails_after_close(&cso, &["reindex", "--check"]);
    assert!(said.contains(missing), "{said}");
    assert!(!key.exists(), "the check made a new key");
    // A new key is made only when the lost one is confirmed lost, and never over a key.
    let said = support::ilm_fails(&cso, &["key", "replace-vault"]);
    assert!(said.contains("pass --lost to confirm"), "{said}");
    assert!(!key.exists(), "replace-vault made a key unconfirmed");
    std::fs::rename(&kept, &key).expect("put the key back");
    let said = support::ilm_fails(&cso, &["key", "replace-vault", "--lost"]);
    assert!(said.contains("only a lost key is replaced"), "{said}");
    assert!(support::ilm(&cso, &["reindex", "--check"]).contains("match the identities"));
    // The contact index is checked too: it matches its contacts (this CSO got half of the
    // demo's), and a contact missing from a list is named (exit 1) until `ilm reindex` marks
    // the index for the next start.
    let contacts = {
        use ilm_node::contact_list::groups::{ALL, KEY_LEN, LISTS};
        let store = ilm_node::schema::open(&cso.join("db")).expect("open the CSO's database");
        let contacts = store.count(&ilm_node::schema::CONTACTS).expect("count");
        let first = LISTS.ids_in(&store, ALL, 0, 1).expect("read the list");
        let key = ilm_node::aggregates::lists::key_of::<KEY_LEN>(&first[0]).expect("a key");
        let mut gone = ilm_node::aggregates::lists::Changes::<KEY_LEN>::new();
        gone.insert(ALL.to_vec(), [(key, false)].into_iter().collect());
        let mut batch = ilm_node::store::WriteBatch::new();
        LISTS.stage(&store, &mut batch, &gone).expect("stage");
        // And a contact's worker keys replaced by a key of no number (its group and keys
        // agreeing with each other): only the vault's key can tell.
        let (id, mut caller) = store
            .scan_with_ids::<ilm_node::contact_list::groups::Caller>(&ilm_node::schema::CALLERS)
            .expect("callers")
            .into_iter()
            .next()
            .expect("a contact with a number");
        let fake = ilm_node::contact_list::groups::WorkerKey([7; 16]);
        caller.keys = vec![fake];
        batch
            .put(&ilm_node::schema::CALLERS, &id, &caller)
            .expect("put");
        batch
            .put(&ilm_node::schema::WORKER_KEYS, &fake.0, &caller.group)
            .expect("put");
        // And one contact's sealed part damaged: it no longer opens, and is counted.
        let first = store
            .ids_after(&ilm_node::schema::CONTACTS, 0, 1)
            .expect("ids")
            .remove(0);
        let mut damaged = store
            .get(&ilm_node::schema::CONTACTS, &first)
            .expect("get")
            .expect("a contact");
        damaged.sealed.ciphertext[0] ^= 1;
        batch
            .put(&ilm_node::schema::CONTACTS, &first, &damaged)
            .expect("put");
        store.commit(batch).expect("commit");
        contacts
    };
    assert!(contacts > 0);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains(&format!(
            "The contact index matches its {contacts} contacts"
        )),
        "{said}"
    );
    // With the vault's key, what the index keeps of identities is checked too.
    assert!(
        said.contains(&format!(
            "Its worker keys, search bits and words mentioned match the identities and notes of its {contacts} contacts"
        )),
        "{said}"
    );
    let said = support::ilm_fails_after_close(&cso, &["reindex", "--check"]);
    assert!(
        said.contains(&format!(
            "the list of every contact: holds {} contacts where the contacts give {contacts}",
            contacts - 1
        )),
        "{said}"
    );
    assert!(
        said.contains("its 1 worker keys are not the keyed hashes of its number and messenger id"),
        "{said}"
    );
    assert!(
        said.contains("Contacts that do not open with this node's vault key: 1 (damaged records"),
        "{said}"
    );
    let reindex = |args: &[&str]| {
        Command::new(ilm_bin())
            .arg("--data-dir")
            .arg(&cso)
            .args(args)
            .output()
            .expect("reindex")
    };
    assert!(reindex(&["reindex"]).status.success());
    let after = reindex(&["reindex", "--check"]);
    let said = String::from_utf8_lossy(&after.stdout);
    assert!(after.status.success(), "{said}");
    assert!(
        said.contains("The contact index is not built: the node builds it at its next start."),
        "{said}"
    );
    // A key lost for good, replaced when confirmed: the check takes the new key, and what
    // the old one sealed is counted as no longer opening.
    std::fs::remove_file(&key).expect("remove the key");
    let said = support::ilm(&cso, &["key", "replace-vault", "--lost"]);
    assert!(
        said.contains(&format!(
            "no longer opening: the identities and notes of {contacts} contacts"
        )),
        "{said}"
    );
    assert!(key.exists());
    assert!(support::ilm(&cso, &["reindex", "--check"]).contains("match a recount"));
    let cells = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(&cso)
        .args(["export", "aggregates", "--format", "json"])
        .output()
        .expect("export aggregates");
    let cells: serde_json::Value = serde_json::from_slice(&cells.stdout).expect("json");
    let cases = cells["aggregates"]["cases"].as_i64().unwrap_or(0);
    assert!(cases >= 300, "{cases} cases counted");
}

/// The demo's output piped into a reader that went away (`ilm demo | head -1`) does not
/// make it panic: it seeds and stops normally.
#[test]
fn the_demo_survives_a_closed_standard_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(ilm_bin())
        .args(["demo", "--contacts", "16", "--exit-after-seed", "--dir"])
        .arg(tmp.path().join("demo"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ilm demo");
    // Read the first line, then close the pipe, as `head -1` does.
    let mut first = String::new();
    {
        use std::io::BufRead;
        let out = child.stdout.take().expect("stdout");
        std::io::BufReader::new(out)
            .read_line(&mut first)
            .expect("first line");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(first.starts_with("ILM demo network"), "{first}");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}
