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

/// 2026-01-01T00:00:00Z: the sample case starts one day later.
const SAMPLE_T0: Timestamp = Timestamp(1_767_225_600);

/// The sample network's steward keys (they sign its genesis and revocations).
fn sample_steward() -> OrgKeys {
    OrgKeys::from_secret_bytes([1; 32], [101; 32])
}

/// A revocation of the sample bundle's supplier (the co-signer) at `at`.
fn sample_revocation_of_supplier(at: Timestamp) -> SignedRecord {
    let bundle = sample_bundle();
    let net = Network::from_genesis(&bundle.genesis).expect("network");
    let supplier = OrgKeys::from_secret_bytes([3; 32], [103; 32]).org_id();
    SignedRecord::sign(
        &Revocation {
            network_id: net.id(),
            org_id: supplier,
            reason: "Suspended".into(),
            revoked_at: at,
            issuer: sample_steward().org_id(),
        },
        &sample_steward(),
    )
    .expect("revocation")
}

/// Builds a complete attestation bundle with in-process keys, as a node would export it.
fn sample_bundle() -> AttestationBundle {
    let t0 = SAMPLE_T0;
    let k = |n: u8| OrgKeys::from_secret_bytes([n; 32], [n + 100; 32]);
    let (steward, cso, supplier) = (k(1), k(2), k(3));
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: "Sample".into(),
            stewards: vec![steward.org_id()],
            created_at: t0,
        },
        &steward,
    )
    .expect("genesis");
    let net = Network::from_genesis(&genesis).expect("network");
    let cert = |keys: &OrgKeys, role: Role| {
        SignedRecord::sign(
            &MembershipCertificate {
                network_id: net.id(),
                org_id: keys.org_id(),
                name: format!("{role} org"),
                role,
                country: "TH".parse().expect("country"),
                encryption_key: keys.encryption_key(),
                not_before: t0,
                not_after: t0.plus_days(365),
                issuer: steward.org_id(),
                issued_at: t0,
                signing_key: None,
                earlier_keys: Vec::new(),
            },
            &steward,
        )
        .expect("cert")
    };
    let case = CaseRef::derive(&cso.org_id(), &CaseNonce([5; 16]));
    let mut events: Vec<SignedRecord> = Vec::new();
    let mut add = |author: &OrgKeys, day: u64, payload: EventPayload| {
        let parents = events.last().map(|e| vec![e.digest()]).unwrap_or_default();
        let ev = CaseEvent {
            network_id: net.id(),
            case_ref: case,
            case_nonce: parents.is_empty().then_some(CaseNonce([5; 16])),
            parents,
            author: author.org_id(),
            authored_at: t0.plus_days(day),
            payload,
        };
        events.push(SignedRecord::sign(&ev, author).expect("event"));
    };
    add(
        &cso,
        1,
        EventPayload::Escalation(Escalation {
            to: supplier.org_id(),
            categories: vec![IssueCategory::WithholdingOfWages],
            workers_affected: 10,
            site: "Site A".into(),
            requested_remedy: "Pay wages".into(),
            description: "Wages unpaid for two months".into(),
            recruitment_fees: None,
            acknowledge_by: t0.plus_days(8),
            remediate_by: t0.plus_days(40),
        }),
    );
    add(
        &supplier,
        2,
        EventPayload::Acknowledgement { note: "ok".into() },
    );
    add(
        &supplier,
        20,
        EventPayload::RemediationReported {
            summary: "Paid".into(),
        },
    );
    add(
        &cso,
        25,
        EventPayload::WorkerVerification {
            verdict: Verdict::Resolved,
            workers_consulted: 4,
            note: "confirmed".into(),
        },
    );
    let mut att = SignedRecord::sign(
        &RemediationAttestation {
            network_id: net.id(),
            case_ref: case,
            cso: cso.org_id(),
            remediating_party: supplier.org_id(),
            categories: vec![IssueCategory::WithholdingOfWages],
            summary: "Back wages paid".into(),
            workers_benefited: 10,
            amounts_repaid: vec![],
            remediated_at: t0.plus_days(20),
            verdict: Verdict::Resolved,
            verified_at: t0.plus_days(25),
            events: events.iter().map(SignedRecord::digest).collect(),
            issued_at: t0.plus_days(26),
        },
        &cso,
    )
    .expect("attestation");
    att.cosign(&supplier);
    AttestationBundle {
        format: BundleFormat::V1,
        genesis,
        successions: Vec::new(),
        certificates: vec![cert(&cso, Role::Cso), cert(&supplier, Role::Supplier)],
        events,
        attestation: att,
    }
}

#[test]
fn verify_accepts_a_valid_bundle_and_rejects_a_tampered_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = sample_bundle();
    let good = tmp.path().join("bundle.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&bundle).expect("json")).expect("write");
    let network = tmp.path().join("network.json");
    std::fs::write(&network, ilm_node::datadir::record_json(&bundle.genesis)).expect("write");
    // Any machine, no node at all: an empty data dir and the network genesis it trusts.
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&good)
        .arg("--network")
        .arg(&network)
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("VALID attestation")
                .and(predicate::str::contains("10 workers benefited")),
        );
    let mut missing_cso = bundle.clone();
    missing_cso.attestation.signatures.remove(0);
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec_pretty(&missing_cso).expect("json")).expect("write");
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("INVALID: attestation"));
    // One flipped bit in the middle of the file (inside hex-encoded signed bytes).
    let mut flipped = std::fs::read(&good).expect("read");
    let pos = flipped.len() / 2;
    flipped[pos] ^= 0x01;
    std::fs::write(&bad, &flipped).expect("write");
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("INVALID"));
}

#[test]
fn verify_without_a_pinned_network_says_so_with_its_own_exit_status() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = tmp.path().join("bundle.json");
    std::fs::write(
        &good,
        serde_json::to_vec_pretty(&sample_bundle()).expect("json"),
    )
    .expect("write");
    // Consistent with its own genesis, but anyone can make a look-alike network: not VALID.
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&good)
        .assert()
        .code(3)
        .stdout(
            predicate::str::starts_with("UNPINNED")
                .and(predicate::str::contains("VALID").not())
                .and(predicate::str::contains("--network")),
        );
    let out = ilm(&tmp.path().join("nobody"))
        .args(["--json", "verify"])
        .arg(&good)
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["result"], "unpinned");
    assert_eq!(v["valid"], serde_json::Value::Null);
}

#[test]
fn verify_rejects_a_bundle_whose_cosigner_was_revoked_before_signing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = sample_bundle();
    let good = tmp.path().join("bundle.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&bundle).expect("json")).expect("write");
    let network = tmp.path().join("network.json");
    std::fs::write(&network, ilm_node::datadir::record_json(&bundle.genesis)).expect("write");
    let verify = |revocations: &Path| {
        ilm(&tmp.path().join("nobody"))
            .arg("verify")
            .arg(&good)
            .arg("--network")
            .arg(&network)
            .arg("--revocations")
            .arg(revocations)
            .assert()
    };
    // The attestation was issued on day 26; the supplier was revoked on day 25.
    let before = tmp.path().join("revoked-day-25.json");
    let rev = sample_revocation_of_supplier(SAMPLE_T0.plus_days(25));
    std::fs::write(&before, ilm_node::datadir::record_json(&rev)).expect("write");
    verify(&before).code(1).stderr(
        predicate::str::contains("INVALID")
            .and(predicate::str::contains("supplier org"))
            .and(predicate::str::contains("revoked at")),
    );
    // Positive control: a revocation after the signature leaves the bundle valid, as
    // signatures made before a revocation stay valid.
    let after = tmp.path().join("revoked-day-30.json");
    let rev = sample_revocation_of_supplier(SAMPLE_T0.plus_days(30));
    std::fs::write(
        &after,
        format!(
            "[{}]",
            String::from_utf8_lossy(&ilm_node::datadir::record_json(&rev))
        ),
    )
    .expect("write");
    verify(&after)
        .success()
        .stdout(predicate::str::starts_with("VALID attestation"));
    // A revocation that no steward of the network signed is refused, not ignored.
    let forged = tmp.path().join("forged.json");
    let mut rec = sample_revocation_of_supplier(SAMPLE_T0.plus_days(25));
    rec.signatures[0].signature.0[0] ^= 1;
    std::fs::write(&forged, ilm_node::datadir::record_json(&rec)).expect("write");
    verify(&forged)
        .code(1)
        .stderr(predicate::str::contains("did not sign"));
}

#[test]
fn a_bundle_of_another_network_is_refused_when_a_network_is_trusted() {
    let net = Net::new();
    net.steward();
    let bundle = net.p("bundle.json");
    std::fs::write(
        &bundle,
        serde_json::to_vec_pretty(&sample_bundle()).expect("json"),
    )
    .expect("write");
    ilm(&net.p("s"))
        .arg("verify")
        .arg(&bundle)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not the trusted network"));
    ilm(&net.p("nobody"))
        .arg("verify")
        .arg(&bundle)
        .arg("--network")
        .arg(net.p("network.json"))
        .assert()
        .code(1);
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
