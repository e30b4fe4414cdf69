//! The real `ilm` binary: init, the steward/member file flow, verify, and bad input.

use assert_cmd::Command;
use ilm_protocol::attestation::BundleFormat;
use ilm_protocol::event::Escalation;
use ilm_protocol::*;
use predicates::prelude::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn ilm(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("ilm").expect("ilm binary");
    c.arg("--data-dir").arg(dir).env_remove("ILM_DATA_DIR");
    c
}

struct Net {
    tmp: TempDir,
}

impl Net {
    fn new() -> Net {
        Net {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
    fn init(&self, node: &str, role: &str) {
        ilm(&self.p(node))
            .args([
                "init",
                "--role",
                role,
                "--name",
                &format!("{node} org"),
                "--country",
                "TH",
            ])
            .assert()
            .success();
    }
    /// Steward "s" creating network.json; member `node` with `role` joined.
    fn steward(&self) {
        self.init("s", "steward");
        ilm(&self.p("s"))
            .args(["network", "create", "--name", "Test network", "--out"])
            .arg(self.p("network.json"))
            .assert()
            .success();
    }
    fn admit(&self, node: &str, role: &str) -> PathBuf {
        self.init(node, role);
        let req = self.p(&format!("{node}-req.json"));
        let cert = self.p(&format!("{node}-cert.json"));
        ilm(&self.p(node))
            .args(["member", "request", "--out"])
            .arg(&req)
            .assert()
            .success();
        ilm(&self.p("s"))
            .args(["member", "issue"])
            .arg(&req)
            .arg("--out")
            .arg(&cert)
            .assert()
            .success();
        ilm(&self.p(node))
            .args(["member", "join"])
            .arg(self.p("network.json"))
            .arg(&cert)
            .assert()
            .success()
            .stdout(predicate::str::contains("Joined network"));
        cert
    }
    fn org_id(&self, node: &str) -> String {
        let out = ilm(&self.p(node))
            .args(["--json", "id"])
            .output()
            .expect("run");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["org_id"].as_str().expect("org_id").to_string()
    }
}

#[test]
fn every_command_has_help() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["id", "--help"],
        vec!["network", "--help"],
        vec!["network", "create", "--help"],
        vec!["member", "--help"],
        vec!["member", "request", "--help"],
        vec!["member", "issue", "--help"],
        vec!["member", "join", "--help"],
        vec!["member", "revoke", "--help"],
        vec!["member", "list", "--help"],
        vec!["verify", "--help"],
    ] {
        ilm(tmp.path())
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage:"));
    }
}

#[test]
fn init_creates_owner_only_keys_and_refuses_to_run_twice() {
    let net = Net::new();
    net.init("c", "cso");
    let dir = net.p("c");
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("identity.key")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let key_before = std::fs::read(dir.join("identity.key")).expect("key");
    ilm(&dir)
        .args([
            "init",
            "--role",
            "brand",
            "--name",
            "Other",
            "--country",
            "JP",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read(dir.join("identity.key")).expect("key"),
        key_before
    );
    let config = std::fs::read_to_string(dir.join("config.toml")).expect("config");
    assert!(config.contains("role = \"cso\"") && config.contains("# "));
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let net = Net::new();
    net.init("c", "cso");
    let key = net.p("c").join("identity.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    ilm(&net.p("c"))
        .arg("id")
        .assert()
        .failure()
        .stderr(predicate::str::contains("readable by other users"));
}

#[test]
fn steward_and_member_file_flow_and_verify() {
    let net = Net::new();
    net.steward();
    let cert = net.admit("c", "cso");
    // The member now knows its network.
    ilm(&net.p("c"))
        .args(["--json", "id"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"member\": true"));
    // Any node with the genesis can verify the certificate.
    ilm(&net.p("c"))
        .arg("verify")
        .arg(&cert)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("VALID certificate"));
    let outsider = net.p("outsider");
    ilm(&outsider)
        .arg("verify")
        .arg(&cert)
        .arg("--network")
        .arg(net.p("network.json"))
        .assert()
        .success();
    // Without a network to check against, the reason is explained.
    ilm(&outsider)
        .arg("verify")
        .arg(&cert)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--network"));
    // The genesis itself verifies.
    ilm(&outsider)
        .arg("verify")
        .arg(net.p("network.json"))
        .assert()
        .success();
    // Steward register lists both.
    ilm(&net.p("s"))
        .args(["--json", "member", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"cso\""));
}

#[test]
fn tampered_certificate_fails_verify_with_a_reason() {
    let net = Net::new();
    net.steward();
    let cert = net.admit("c", "cso");
    let text = std::fs::read_to_string(&cert).expect("cert");
    let mut rec: SignedRecord = serde_json::from_str(&text).expect("record");
    // Upgrade our own role in the signed body.
    let body = String::from_utf8(rec.body.clone())
        .expect("utf8")
        .replace("\"cso\"", "\"brand\"");
    rec.body = body.into_bytes();
    let tampered = net.p("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec_pretty(&rec).expect("json")).expect("write");
    ilm(&net.p("c"))
        .arg("verify")
        .arg(&tampered)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("INVALID").and(predicate::str::contains("does not verify")),
        );
    ilm(&net.p("c"))
        .args(["--json", "verify"])
        .arg(&tampered)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"valid\":false"));
}

#[test]
fn revoked_member_certificate_no_longer_verifies_at_the_steward() {
    let net = Net::new();
    net.steward();
    let cert = net.admit("c", "cso");
    let org = net.org_id("c");
    let rev = net.p("rev.json");
    ilm(&net.p("s"))
        .args(["member", "revoke", &org, "--out"])
        .arg(&rev)
        .assert()
        .success();
    ilm(&net.p("s"))
        .arg("verify")
        .arg(&cert)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("revoked"));
    ilm(&net.p("c"))
        .arg("verify")
        .arg(&rev)
        .assert()
        .success()
        .stdout(predicate::str::contains("VALID revocation"));
    ilm(&net.p("s"))
        .args(["member", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[revoked]"));
}

#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let net = Net::new();
    let d = net.p("x");
    ilm(&d)
        .args(["init", "--role", "ngo", "--name", "X", "--country", "TH"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown role \"ngo\""));
    ilm(&d)
        .args([
            "init",
            "--role",
            "cso",
            "--name",
            "X",
            "--country",
            "Thailand",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid country code"));
    assert!(
        !d.exists(),
        "a failed init must not create the data directory"
    );
    ilm(&d)
        .arg("id")
        .assert()
        .failure()
        .stderr(predicate::str::contains("ilm init"));

    net.steward();
    net.init("c", "cso");
    net.init("b", "brand");
    // Not a request.
    ilm(&net.p("s"))
        .args(["member", "issue"])
        .arg(net.p("network.json"))
        .arg("--out")
        .arg(net.p("out.json"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a valid membership request"));
    assert!(!net.p("out.json").exists());
    // Non-stewards cannot issue or revoke.
    let req = net.p("c-req.json");
    ilm(&net.p("c"))
        .args(["member", "request", "--out"])
        .arg(&req)
        .assert()
        .success();
    ilm(&net.p("b"))
        .args(["member", "issue"])
        .arg(&req)
        .arg("--out")
        .arg(net.p("out.json"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("only a steward"));
    // A certificate for another node cannot be joined with.
    let cert = net.p("c-cert.json");
    ilm(&net.p("s"))
        .args(["member", "issue"])
        .arg(&req)
        .arg("--out")
        .arg(&cert)
        .assert()
        .success();
    ilm(&net.p("b"))
        .args(["member", "join"])
        .arg(net.p("network.json"))
        .arg(&cert)
        .assert()
        .failure()
        .stderr(predicate::str::contains("not this node"));
    assert!(!net.p("b").join("network.json").exists());
    // Bad organisation id.
    ilm(&net.p("s"))
        .args(["member", "revoke", "not-an-id"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not an organisation id"));
    // Unreadable and non-JSON files.
    ilm(&net.p("s"))
        .args(["verify", "/nonexistent/file.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read"));
    std::fs::write(net.p("junk.json"), b"\x00\x01 not json").expect("write");
    ilm(&net.p("s"))
        .arg("verify")
        .arg(net.p("junk.json"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not JSON"));
    // Out-of-range flag values are refused by the parser.
    ilm(&net.p("s"))
        .args(["member", "issue"])
        .arg(&req)
        .args(["--out", "x.json", "--valid-days", "0"])
        .assert()
        .code(2);
    // A brand cannot create a network.
    ilm(&net.p("b"))
        .args(["network", "create", "--name", "N", "--out"])
        .arg(net.p("n2.json"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("only a steward"));
}

/// `ilm ... | head` must end quietly when the reader goes away, not panic (exit 101).
#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let net = Net::new();
    net.init("cso", "cso");
    let (reader, writer) = std::io::pipe().expect("pipe");
    // The reader is gone before the command writes: every write fails with EPIPE.
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ilm"))
        .arg("--data-dir")
        .arg(net.p("cso"))
        .args(["id", "--json"])
        .env_remove("ILM_DATA_DIR")
        .stdout(writer)
        .output()
        .expect("run ilm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Positive control: with a reader, the same command prints its output.
    ilm(&net.p("cso"))
        .args(["id", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("org_id"));
}

/// `ilm verify` of attestation bundles: valid, tampered, revoked co-signer, other network.
#[path = "cli/bundles.rs"]
mod bundles;
