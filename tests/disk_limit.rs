//! A real `ilm run` whose database writes hit a limit, as on a full disk (here the process's
//! file-size limit, set and lifted with `prlimit` while it runs): it acknowledges nothing it
//! cannot store and says so on `/api/status` and `/metrics`, delivers what waited once the
//! limit is lifted without a restart, and stops cleanly while the fault lasts.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use support::*;

/// Sets the (soft) file-size limit of a running process, in bytes or "unlimited"; the hard
/// limit stays, so no privilege is needed to lift it again.
fn set_file_size_limit(pid: u32, limit: &str) {
    let status = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}:")])
        .status()
        .expect("prlimit (util-linux) is needed for this test");
    assert!(status.success(), "prlimit --fsize={limit} failed");
}

/// The largest file under `dir`: no write may make a file larger than it.
fn largest_file(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

/// Cases with a case event still waiting in `from`'s outbox for `to`.
fn pending_to(from: &Node, to: &Node) -> Vec<String> {
    from.get("/api/outbox?state=pending")["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["recipient"] == to.org_id.as_str() && e["kind"] == "case_event")
        .filter_map(|e| e["case_ref"].as_str().map(str::to_string))
        .collect()
}

/// The cases a node holds, or None while it cannot read them.
fn held(node: &Node) -> Option<Vec<String>> {
    let v = node.try_get("/api/cases?closed=true&per_page=10000").ok()?;
    Some(
        v["cases"]
            .as_array()?
            .iter()
            .filter_map(|c| c["case_ref"].as_str().map(str::to_string))
            .collect(),
    )
}

fn write_failing(node: &Node) -> bool {
    !node.get("/api/status")["health"]["store"]["write_failing"].is_null()
}

/// Escalates until the supplier's writes fail, then once more while they do; returns the
/// cases sent.
fn escalate_until_writes_fail(cso: &Node, supplier: &Node, label: &str) -> Vec<String> {
    let mut sent = Vec::new();
    wait_for("the supplier's writes to fail", SOON, || {
        sent.push(cso.escalate(supplier, &format!("{label} {}", sent.len())));
        std::thread::sleep(std::time::Duration::from_millis(200));
        write_failing(supplier).then_some(())
    });
    // The write that failed may not have been a delivery's (every case sent so far may have
    // been stored before it): one more is sent while the fault is known to last.
    sent.push(cso.escalate(supplier, &format!("{label} {}", sent.len())));
    sent
}

#[test]
fn writes_that_fail_are_never_acknowledged_and_delivery_resumes_when_they_work_again() {
    let (_net, cso, mut supplier) = Net::with_cso_and_supplier();
    let first = cso.escalate(&supplier, "before the fault");
    wait_for("the first case to arrive", SOON, || {
        supplier.cases().contains(&first).then_some(())
    });

    // No file may grow any more: the next write that needs space fails (EFBIG, as ENOSPC).
    let limit = largest_file(&supplier.dir.join("db"));
    set_file_size_limit(supplier.pid(), &limit.to_string());
    let during = escalate_until_writes_fail(&cso, &supplier, "while writes fail");
    let metrics = supplier.get_text("/metrics");
    assert!(metrics.contains("ilm_store_writes_failing 1"), "{metrics}");
    let shown = ilm(&supplier.dir, &["status"]);
    assert!(shown.contains("WRITES FAILING"), "{shown}");
    assert!(metrics.contains("ilm_store_healthy 0"), "{metrics}");
    // While it lasts the supplier acknowledges nothing: the cases sent meanwhile wait at
    // the CSO, retried. (Its reads fail too: sled keeps the error; they answer 503.)
    std::thread::sleep(std::time::Duration::from_secs(2));
    let waiting = pending_to(&cso, &supplier);
    assert!(
        during.iter().any(|c| waiting.contains(c)),
        "every case was acknowledged despite the limit: {during:?} {:#}",
        cso.get("/api/outbox")
    );
    let (code, body) = supplier.get_raw("/api/cases");
    assert_eq!(code, 503, "{body}");

    // The limit is lifted: everything arrives, without a restart.
    set_file_size_limit(supplier.pid(), "unlimited");
    wait_for("delivery to resume without a restart", SOON, || {
        let held = held(&supplier)?;
        (during.iter().all(|c| held.contains(c)) && cso.outbox_counts().0 == 0).then_some(())
    });
    wait_for("the supplier to report a healthy store", SOON, || {
        (!write_failing(&supplier)).then_some(())
    });
    assert!(
        supplier
            .get_text("/metrics")
            .contains("ilm_store_writes_failing 0")
    );
    let shown = ilm(&supplier.dir, &["status"]);
    assert!(shown.contains("store:      healthy"), "{shown}");

    // A second fault, and SIGTERM while it lasts: a clean exit, and nothing lost.
    let limit = largest_file(&supplier.dir.join("db"));
    set_file_size_limit(supplier.pid(), &limit.to_string());
    let last = escalate_until_writes_fail(&cso, &supplier, "before the stop");
    supplier.stop();
    supplier.start();
    wait_for(
        "the cases sent during the second fault to arrive",
        SOON,
        || {
            let held = supplier.cases();
            (last.iter().all(|c| held.contains(c)) && cso.outbox_counts().0 == 0).then_some(())
        },
    );
}

/// A tmpfs mounted for one test (root only, as the test command runs here and in CI);
/// unmounted when dropped, even after a failed assertion.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Tmpfs {
        std::fs::create_dir_all(at).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs"])
            .arg(at)
            .status()
            .expect("mount (util-linux) is needed for this test");
        assert!(
            status.success(),
            "mounting a tmpfs failed: this test needs root (scripts/test runs as root in CI)"
        );
        Tmpfs(at.to_path_buf())
    }

    /// Remounts it read-only or read-write (with no file open for writing on it).
    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .expect("mount");
        assert!(status.success(), "remount {options} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

// The kernel refuses to remount a file system read-only while a process holds files open
// for writing, so the node meets a read-only data directory at start (as after a disk that
// the kernel remounted read-only on errors, then a restart). Writes failing while it runs
// are the test above.
#[test]
fn a_read_only_data_dir_is_refused_with_a_clear_error_and_works_once_writable() {
    let mut net = Net::new();
    net.steward.start();
    let fs = Tmpfs::mount(&net.tmp.path().join("supplier"));
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    cso.start();
    supplier.start();
    let first = cso.escalate(&supplier, "before the fault");
    wait_for("the first case to arrive", SOON, || {
        supplier.cases().contains(&first).then_some(())
    });
    supplier.stop();
    fs.remount("ro");
    // Control: the file system really is read-only now.
    assert!(std::fs::write(supplier.dir.join("probe"), b"x").is_err());
    let err = ilm_fails(&supplier.dir, &["run", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    assert!(err.to_lowercase().contains("read-only"), "{err}");
    assert!(
        err.contains("mounted read-write"),
        "it says what to do: {err}"
    );
    assert!(
        err.contains(&supplier.dir.display().to_string()),
        "the error names the data directory: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Meanwhile the CSO keeps what it sends; once writable, the node starts and gets it.
    let during = cso.escalate(&supplier, "while read-only");
    fs.remount("rw");
    supplier.start();
    wait_for("the case sent meanwhile to arrive", SOON, || {
        supplier.cases().contains(&during).then_some(())
    });
}

/// `ilm db check` reads every record of a stopped node's database; `ilm run` runs it (in a
/// process of its own) before it starts, and refuses a damaged database with what to do.
#[test]
fn a_damaged_database_is_found_before_the_node_starts() {
    let (_net, cso, mut supplier) = Net::with_cso_and_supplier();
    let case = cso.escalate(&supplier, "before the damage");
    wait_for("the case to arrive", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    supplier.stop();
    // Control: the database is whole, and the node starts.
    let out = ilm(&supplier.dir, &["db", "check"]);
    assert!(out.contains("records read back whole"), "{out}");
    supplier.start();
    assert!(supplier.cases().contains(&case));
    // The check needs the node stopped, and says so.
    let err = ilm_fails(&supplier.dir, &["db", "check"]);
    assert!(err.contains("already using"), "{err}");
    supplier.stop();
    // One record no longer decodes (as after a bad sector), written under the contacts'
    // table by the storage engine itself.
    {
        let db = sled::open(supplier.dir.join("db")).expect("open the engine");
        let data = db.open_tree("data").expect("data tree");
        let key = [&[ilm_node::schema::CONTACTS.prefix()][..], b"damaged"].concat();
        data.insert(key, &b"{not a record"[..]).expect("insert");
        db.flush().expect("flush");
    }
    let err = ilm_fails(&supplier.dir, &["db", "check"]);
    assert!(err.contains("is damaged"), "{err}");
    assert!(err.contains("restore your latest backup"), "{err}");
    let err = ilm_fails(
        &supplier.dir,
        &[
            "run",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
    );
    assert!(err.contains("is damaged"), "{err}");
    assert!(err.contains("restore your latest backup"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A compaction past the process's file-size limit (a quota, `LimitFSIZE=`) fails with
/// words and leaves the database as it was: it used to be killed by SIGXFSZ without a word,
/// which `ilm run`, compacting in a process of its own, would have shown as an empty error.
#[test]
fn a_compaction_past_the_file_size_limit_fails_with_words_and_changes_nothing() {
    let (_net, cso, mut supplier) = Net::with_cso_and_supplier();
    let case = cso.escalate(&supplier, "before the compaction");
    wait_for("the case to arrive", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    supplier.stop();
    let limited = |limit: &str| {
        Command::new("prlimit")
            .arg(format!("--fsize={limit}"))
            .arg("--")
            .arg(ilm_bin())
            .arg("--data-dir")
            .arg(&supplier.dir)
            .args(["db", "compact"])
            .output()
            .expect("prlimit (util-linux) is needed for this test")
    };
    let out = limited("65536");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "not killed: {:?} {said}",
        out.status
    );
    assert!(
        said.contains("error:") && said.contains("compact"),
        "{said}"
    );
    // Nothing changed: the database reads back whole, and the node starts with its case.
    let checked = ilm(&supplier.dir, &["db", "check"]);
    assert!(checked.contains("records read back whole"), "{checked}");
    // Positive control: with room, the same compaction is made.
    let out = limited("unlimited");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    supplier.start();
    assert!(supplier.cases().contains(&case));
}
