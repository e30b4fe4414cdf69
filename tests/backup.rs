//! Backup and restore across real nodes: a backup taken with the real binary while
//! escalations arrive, restored into a new data directory, gets back everything that was
//! delivered to the node after the backup, exactly once, and carries on.

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use support::*;

/// The disclosures a node received: (case, sender, identities), one entry per stored one.
fn disclosures(node: &Node) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = node.get("/api/disclosures")["disclosures"]
        .as_array()
        .expect("disclosures")
        .iter()
        .map(|d| {
            (
                d["case_ref"].as_str().expect("case").to_string(),
                d["from"].as_str().expect("from").to_string(),
                d["identities"].to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every case a node holds with its events in the node's causal order.
fn histories(node: &Node) -> BTreeMap<String, Vec<String>> {
    node.cases()
        .into_iter()
        .map(|c| {
            let events = node.event_hashes(&c);
            (c, events)
        })
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

#[test]
fn a_restored_node_gets_back_what_reached_it_after_the_backup_once() {
    let (net, cso, mut supplier) = Net::with_cso_and_supplier();

    // Before the backup: escalations and one consented disclosure.
    let mut before: Vec<String> = (0..8)
        .map(|i| cso.escalate(&supplier, &format!("before the backup {i}")))
        .collect();
    before.push(cso.consented_case(&supplier, "WORKER-BEFORE-BACKUP"));
    wait_for("the supplier to hold the first cases", SOON, || {
        let held: BTreeSet<String> = supplier.cases().into_iter().collect();
        before.iter().all(|c| held.contains(c)).then_some(())
    });

    // The backup, taken with the real binary while the CSO keeps escalating.
    let key = net.tmp.path().join("recovery.key");
    let made = ilm(
        &supplier.dir,
        &["--json", "recovery-key", "new", "--out", path(&key)],
    );
    let key_id = serde_json::from_str::<Value>(&made).expect("json")["key_id"].clone();
    let file = net.tmp.path().join("supplier.ilmbackup");
    let backed_up = std::sync::atomic::AtomicBool::new(false);
    let (during, report) = std::thread::scope(|s| {
        let load = s.spawn(|| {
            let mut opened = Vec::new();
            // Escalations before, while and just after the snapshot is taken.
            while !backed_up.load(std::sync::atomic::Ordering::SeqCst) || opened.len() < 10 {
                opened
                    .push(cso.escalate(&supplier, &format!("around the backup {}", opened.len())));
            }
            opened
        });
        wait_for("the load to begin", SOON, || {
            (supplier.cases().len() > before.len() + 2).then_some(())
        });
        let out = ilm(
            &supplier.dir,
            &[
                "--json",
                "backup",
                "--out",
                path(&file),
                "--recovery-key",
                path(&key),
            ],
        );
        backed_up.store(true, std::sync::atomic::Ordering::SeqCst);
        (load.join().expect("load thread"), out)
    });
    let report: Value = serde_json::from_str(&report).expect("backup json");
    assert_eq!(
        report["sealed_with"],
        format!("recovery key {}", key_id.as_str().expect("id"))
    );
    assert!(report["snapshot_bytes"].as_u64().expect("bytes") > 0);

    // After the backup: more escalations, more disclosures, and the supplier's own answers.
    let mut after: Vec<String> = (0..6)
        .map(|i| cso.escalate(&supplier, &format!("after the backup {i}")))
        .collect();
    after.push(cso.consented_case(&supplier, "WORKER-AFTER-BACKUP-1"));
    after.push(cso.consented_case(&supplier, "WORKER-AFTER-BACKUP-2"));
    let all: BTreeSet<String> = before
        .iter()
        .chain(&during)
        .chain(&after)
        .cloned()
        .collect();
    wait_for("the supplier to hold every case", SOON, || {
        let held: BTreeSet<String> = supplier.cases().into_iter().collect();
        (held == all).then_some(())
    });
    let answered = &after[..3];
    for case in answered {
        supplier.append_event(
            case,
            json!({ "type": "acknowledgement", "note": "Looking into it" }),
        );
    }
    wait_for("every message delivered both ways", SOON, || {
        let acked = answered.iter().all(|c| status(&cso, c) == "acknowledged");
        (acked && cso.outbox_counts().0 == 0 && supplier.outbox_counts().0 == 0).then_some(())
    });
    let want_histories = histories(&supplier);
    let want_disclosures = disclosures(&supplier);
    assert_eq!(want_disclosures.len(), 3, "{want_disclosures:?}");
    assert_eq!(want_histories.len(), all.len());
    // A second backup, sealed with a passphrase from a file, taken now that all is quiet.
    let pass = net.tmp.path().join("backup-pass");
    std::fs::write(&pass, "correct horse battery staple\n").expect("write");
    let wrong_pass = net.tmp.path().join("wrong-pass");
    std::fs::write(&wrong_pass, "incorrect horse battery staple\n").expect("write");
    let quiet = net.tmp.path().join("quiet.ilmbackup");
    ilm(
        &supplier.dir,
        &[
            "backup",
            "--out",
            path(&quiet),
            "--backup-passphrase-file",
            path(&pass),
        ],
    );
    let refused = ilm_fails(
        &supplier.dir,
        &[
            "backup",
            "--out",
            path(&quiet),
            "--recovery-key",
            path(&key),
        ],
    );
    assert!(refused.contains("exists already"), "{refused}");
    supplier.stop();
    let quiet_dir = net.tmp.path().join("quiet-restore");
    let refused = ilm_fails(
        &quiet_dir,
        &[
            "restore",
            path(&quiet),
            "--backup-passphrase-file",
            path(&wrong_pass),
        ],
    );
    assert!(refused.contains("wrong passphrase"), "{refused}");
    let refused = ilm_fails(
        &quiet_dir,
        &["restore", path(&quiet), "--recovery-key", path(&key)],
    );
    assert!(refused.contains("sealed with a passphrase"), "{refused}");
    let whole: Value = serde_json::from_str(&ilm(
        &quiet_dir,
        &[
            "--json",
            "restore",
            path(&quiet),
            "--backup-passphrase-file",
            path(&pass),
        ],
    ))
    .expect("json");
    assert_eq!(whole["cases"].as_u64(), Some(all.len() as u64), "{whole}");

    // Refusals change nothing: a data directory that holds a node, the wrong key, a changed
    // byte. Each names the problem.
    let refused = ilm_fails(
        &supplier.dir,
        &["restore", path(&file), "--recovery-key", path(&key)],
    );
    assert!(refused.contains("already holds a node"), "{refused}");
    let other_key = net.tmp.path().join("other.key");
    ilm(
        &supplier.dir,
        &["recovery-key", "new", "--out", path(&other_key)],
    );
    let target = net.tmp.path().join("restored");
    let refused = ilm_fails(
        &target,
        &["restore", path(&file), "--recovery-key", path(&other_key)],
    );
    assert!(refused.contains("sealed to recovery key"), "{refused}");
    assert!(!target.exists(), "a refused restore left {target:?} behind");
    // A directory holding a file the restore would write is refused, and the file stays.
    let prepared = net.tmp.path().join("prepared");
    std::fs::create_dir(&prepared).expect("mkdir");
    std::fs::write(prepared.join("config.toml"), "# the operator's own\n").expect("write");
    let refused = ilm_fails(
        &prepared,
        &["restore", path(&file), "--recovery-key", path(&key)],
    );
    assert!(refused.contains("part of one"), "{refused}");
    assert_eq!(
        std::fs::read_to_string(prepared.join("config.toml")).expect("kept"),
        "# the operator's own\n"
    );
    let mut bytes = std::fs::read(&file).expect("read backup");
    let changed = net.tmp.path().join("changed.ilmbackup");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&changed, &bytes).expect("write");
    let refused = ilm_fails(
        &target,
        &["restore", path(&changed), "--recovery-key", path(&key)],
    );
    assert!(refused.contains("the file was changed"), "{refused}");
    assert!(!target.exists(), "a refused restore left {target:?} behind");

    // The recovery key was split among five parties and then lost: any three shares rebuild
    // it, two do not, and the rebuilt key is what restores the node.
    let shares = net.tmp.path().join("shares");
    ilm(
        &supplier.dir,
        &[
            "recovery-key",
            "split",
            "--key",
            path(&key),
            "--threshold",
            "3",
            "--shares",
            "5",
            "--out-dir",
            path(&shares),
        ],
    );
    let share = |i: u8| shares.join(format!("share-{i}-of-5.txt"));
    let original_key = std::fs::read(&key).expect("key");
    std::fs::remove_file(&key).expect("lose the key");
    let rebuilt = net.tmp.path().join("rebuilt.key");
    let refused = ilm_fails(
        &supplier.dir,
        &[
            "recovery-key",
            "combine",
            path(&share(1)),
            path(&share(4)),
            "--out",
            path(&rebuilt),
        ],
    );
    assert!(refused.contains("3 are needed"), "{refused}");
    assert!(!rebuilt.exists());
    ilm(
        &supplier.dir,
        &[
            "recovery-key",
            "combine",
            path(&share(1)),
            path(&share(3)),
            path(&share(5)),
            "--out",
            path(&rebuilt),
        ],
    );
    assert_eq!(std::fs::read(&rebuilt).expect("rebuilt"), original_key);

    // The backup holds the node's identity key, sealed: the restore writes back the very
    // bytes (positive control), which appear nowhere in the backup file.
    let restored_out = ilm(
        &target,
        &[
            "--json",
            "restore",
            path(&file),
            "--recovery-key",
            path(&rebuilt),
        ],
    );
    let restored: Value = serde_json::from_str(&restored_out).expect("restore json");
    let identity = std::fs::read(supplier.dir.join("identity.key")).expect("identity");
    assert_eq!(
        std::fs::read(target.join("identity.key")).expect("restored identity"),
        identity
    );
    let sealed = std::fs::read(&file).expect("backup");
    assert!(
        !sealed
            .windows(48)
            .any(|w| identity.windows(48).any(|i| i == w)),
        "identity key bytes in the clear in the backup"
    );
    // The snapshot is older than what the supplier held at the end: the cases opened after
    // it are missing until the node catches up (without this, the test could not fail).
    let restored_cases = restored["cases"].as_u64().expect("cases") as usize;
    assert!(
        restored_cases >= before.len() && restored_cases < all.len() - after.len() + 1,
        "the backup holds {restored_cases} of {} cases",
        all.len()
    );

    // The restored node starts, asks the CSO for what it lacks, and gets all of it once.
    let mut back = supplier.moved_to("restored", target.clone());
    back.start();
    wait_for("the restored node to catch up", SOON, || {
        (histories(&back) == want_histories && disclosures(&back) == want_disclosures).then_some(())
    });
    let status_now = back.get("/api/status");
    let answer = &status_now["restore"]["answered"][&cso.org_id];
    assert_eq!(answer["complete"], true, "{status_now}");
    assert!(
        answer["requeued"].as_u64().expect("requeued") > 0,
        "{status_now}"
    );
    // Nothing twice: every received message stored once, nothing left to deliver.
    wait_for("both outboxes to drain", SOON, || {
        (cso.outbox_counts().0 == 0 && back.outbox_counts().0 == 0).then_some(())
    });
    assert_eq!(cso.outbox_counts().2, 0, "the CSO had deliveries rejected");
    assert_eq!(disclosures(&back), want_disclosures);
    assert_eq!(histories(&back), want_histories);

    // And it carries on: a new answer from the restored node reaches the CSO.
    let next = &after[3];
    back.append_event(
        next,
        json!({ "type": "acknowledgement", "note": "Answered after the restore" }),
    );
    wait_for("the CSO to see the restored node's answer", SOON, || {
        (status(&cso, next) == "acknowledged").then_some(())
    });
}

fn status(node: &Node, case: &str) -> String {
    node.get(&format!("/api/cases/{case}"))["status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn case_histories_come_back_by_sync_when_the_sender_no_longer_holds_its_deliveries() {
    let (net, mut cso, mut supplier) = Net::with_cso_and_supplier();
    let before: Vec<String> = (0..2)
        .map(|i| cso.escalate(&supplier, &format!("before the backup {i}")))
        .collect();
    wait_for("the first cases to arrive", SOON, || {
        let held = supplier.cases();
        before.iter().all(|c| held.contains(c)).then_some(())
    });
    let key = net.tmp.path().join("recovery.key");
    ilm(&supplier.dir, &["recovery-key", "new", "--out", path(&key)]);
    let file = net.tmp.path().join("supplier.ilmbackup");
    ilm(
        &supplier.dir,
        &["backup", "--out", path(&file), "--recovery-key", path(&key)],
    );
    let after: Vec<String> = (0..3)
        .map(|i| cso.escalate(&supplier, &format!("after the backup {i}")))
        .collect();
    wait_for("the later cases to arrive", SOON, || {
        let held = supplier.cases();
        after.iter().all(|c| held.contains(c)).then_some(())
    });
    supplier.append_event(
        &after[0],
        json!({ "type": "acknowledgement", "note": "Looking into it" }),
    );
    wait_for("everything delivered both ways", SOON, || {
        (status(&cso, &after[0]) == "acknowledged"
            && cso.outbox_counts().0 == 0
            && supplier.outbox_counts().0 == 0)
            .then_some(())
    });
    let want = histories(&supplier);
    // The CSO's outbox is pruned, as it is once `delivered_outbox_days` have passed (the
    // real pruning, run with the clock two weeks ahead): it can deliver nothing again.
    cso.stop();
    {
        let store = ilm_node::schema::open(&cso.dir.join("db")).expect("open the CSO's db");
        let later = ilm_protocol::Timestamp(ilm_node::clock::now().0 + 14 * 86_400);
        let pruned =
            ilm_node::outbox::prune(&store, later, ilm_node::outbox::RETENTION).expect("prune");
        assert!(pruned >= after.len(), "pruned {pruned}");
    }
    cso.start();
    let kept = cso.get("/api/outbox?state=delivered");
    assert_eq!(kept["entries"], json!([]), "{kept}");
    supplier.stop();
    let target = net.tmp.path().join("restored");
    ilm(
        &target,
        &["restore", path(&file), "--recovery-key", path(&key)],
    );
    let mut back = supplier.moved_to("restored", target);
    back.start();
    // The cases that began after the backup, and the supplier's own acknowledgement, come
    // back by history sync: the CSO offers its heads, and the restored node asks for the
    // cases it does not hold at all.
    wait_for("the case histories to come back", SOON, || {
        (histories(&back) == want).then_some(())
    });
    let answer = wait_for("the CSO's answer to the restored node", SOON, || {
        let s = back.get("/api/status");
        let a = s["restore"]["answered"][&cso.org_id].clone();
        (!a.is_null()).then_some(a)
    });
    // Nothing came back by redelivery (the histories above came by sync alone), and the
    // CSO says it no longer held everything.
    assert_eq!(answer["requeued"], 0, "{answer}");
    assert_eq!(answer["complete"], false, "{answer}");
}
