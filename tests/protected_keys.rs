//! Secrets at rest: a node whose keys are protected by a passphrase refuses to start without
//! it, unlocks from a file or a file descriptor, and never writes its keys in the clear.

mod support;

use ilm_node::datadir::DataDir;
use ilm_node::secrets::{Passphrase, Unlocker};
use ilm_protocol::bytes::to_hex;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{Net, ilm, ilm_bin};

const PASSPHRASE: &str = "correct horse battery staple 7";
const CANARY: &str = "Canary Worker Qx7Lm";

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create");
    std::io::Write::write_all(&mut f, text.as_bytes()).expect("write");
}

/// Runs `ilm` with no passphrase source and no terminal; returns (success, stderr).
fn ilm_plain(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ILM_DATA_DIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .stdin(Stdio::null())
        .output()
        .expect("run ilm");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The files below `root` (and the extra files) that contain any of `needles`.
fn holders(root: &Path, extra: &[PathBuf], needles: &[Vec<u8>]) -> Vec<PathBuf> {
    let mut roots = vec![root.to_path_buf()];
    roots.extend(extra.iter().cloned());
    let needles: Vec<&[u8]> = needles.iter().map(Vec::as_slice).collect();
    support::holders(&roots, &needles)
}

/// The secret bytes of a data dir, raw and as hex, unlocked with `pass` when given.
fn secrets_of(dir: &Path, pass: Option<&str>) -> Vec<Vec<u8>> {
    let mut d = DataDir::new(dir);
    if let Some(p) = pass {
        d = d.with_unlocker(Unlocker::with(Passphrase::new(p).expect("passphrase")));
    }
    let keys = d.load_keys().expect("keys");
    let mut out = Vec::new();
    for raw in [keys.signing_seed(), keys.encryption_secret()] {
        out.push(raw.to_vec());
        out.push(to_hex(&raw).into_bytes());
    }
    if d.vault_key_path().exists() {
        let vault = d.read_protected(&d.vault_key_path()).expect("vault key");
        let hex = String::from_utf8(vault.to_vec()).expect("hex");
        out.push(hex.trim().as_bytes().to_vec());
        out.push(ilm_protocol::bytes::from_hex(hex.trim()).expect("hex"));
    }
    out
}

#[test]
fn a_passphrase_protected_node_needs_its_passphrase_and_never_writes_keys_in_the_clear() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let pass_file = net.tmp.path().join("passphrase");
    write_private(&pass_file, &format!("{PASSPHRASE}\n"));
    let pf = pass_file.to_str().expect("utf8");

    // Keys made in the clear by `ilm init` are protected afterwards by `ilm key passphrase`;
    // the clear key is what the scan below must find before that (the positive control).
    let clear_secrets = secrets_of(&cso.dir, None);
    assert!(
        !holders(&cso.dir, &[], &clear_secrets).is_empty(),
        "the scan finds keys stored in the clear"
    );
    ilm(
        &cso.dir,
        &["key", "passphrase", "--new-passphrase-file", pf],
    );

    // Without the passphrase: no start and no command that needs the keys, with a message
    // that says how to give it.
    let (ok, err) = ilm_plain(
        &cso.dir,
        &[
            "run",
            "--admin-listen",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ],
    );
    assert!(!ok, "a locked node started without its passphrase");
    assert!(err.contains("protected by a passphrase"), "{err}");
    assert!(err.contains("--passphrase-file"), "{err}");
    let (ok, err) = ilm_plain(&cso.dir, &["id"]);
    assert!(!ok && err.contains("protected by a passphrase"), "{err}");
    // A wrong passphrase is refused by name, and so is a passphrase for a clear node.
    let wrong = net.tmp.path().join("wrong");
    write_private(&wrong, "not the right passphrase at all\n");
    let (ok, err) = ilm_plain(
        &cso.dir,
        &["--passphrase-file", wrong.to_str().expect("utf8"), "id"],
    );
    assert!(!ok && err.contains("does not open"), "{err}");
    let (ok, err) = ilm_plain(&net.steward.dir, &["--passphrase-file", pf, "id"]);
    assert!(!ok && err.contains("not protected"), "{err}");
    // From an inherited file descriptor.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{}' --data-dir '{}' --passphrase-fd 3 id 3< '{pf}'",
            ilm_bin().display(),
            cso.dir.display()
        ))
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // With it, the node runs; the vault key it makes is protected from its first byte.
    assert!(!cso.dir.join("vault.key").exists());
    cso.run_args = vec!["--passphrase-file".into(), pf.into()];
    cso.start();
    cso.post(
        "/api/contacts",
        &json!({
            "channel": "line", "language": "my", "nationality": "MM", "gender": "female",
            "age_band": "25_34", "sector": "seafood", "origin": "MM", "destination": "TH",
            "identity": { "name": CANARY, "phone": "+66 81 555 0199" }, "notes": ""
        }),
    );
    cso.stop();
    net.steward.stop();

    // The check of what the contact index keeps of identities needs the vault: without the
    // passphrase it is not checked, and says why, the rest of the check standing (exit 0);
    // with it, it is checked; a wrong one fails the check, as it fails a start.
    let check = |pass: Option<&str>| {
        let mut cmd = Command::new(ilm_bin());
        cmd.arg("--data-dir").arg(&cso.dir);
        if let Some(p) = pass {
            cmd.args(["--passphrase-file", p]);
        }
        let out = cmd
            .args(["--json", "reindex", "--check"])
            .env_remove("ILM_DATA_DIR")
            .env_remove("CREDENTIALS_DIRECTORY")
            .stdin(Stdio::null())
            .output()
            .expect("run ilm");
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said)
    };
    let (ok, said) = check(None);
    assert!(ok, "{said}");
    let said: serde_json::Value = serde_json::from_str(&said).expect("json");
    let index = &said["contact_index"];
    assert_eq!(index["matches"], true, "{said}");
    assert_eq!(index["identities"]["checked"], false, "{said}");
    let why = index["identities"]["why"].as_str().unwrap_or_default();
    assert!(why.starts_with("the vault is locked"), "{said}");
    assert!(why.contains("protected by a passphrase"), "{said}");
    let (ok, said) = check(Some(pf));
    assert!(ok, "{said}");
    let said: serde_json::Value = serde_json::from_str(&said).expect("json");
    let identities = &said["contact_index"]["identities"];
    assert_eq!(identities["checked"], true, "{said}");
    assert_eq!(identities["matches"], true, "{said}");
    assert_eq!(identities["contacts"], 1, "{said}");
    let (ok, said) = check(Some(wrong.to_str().expect("utf8")));
    assert!(!ok && said.contains("does not open"), "{said}");

    let secrets = secrets_of(&cso.dir, Some(PASSPHRASE));
    assert_eq!(
        &secrets[..4],
        &clear_secrets[..4],
        "protecting the keys kept them"
    );
    let logs: Vec<PathBuf> = (1..=3)
        .map(|i| cso.dir.with_extension(format!("log{i}")))
        .filter(|p| p.exists())
        .collect();
    assert!(!logs.is_empty(), "the node's log is scanned too");
    let mut needles = secrets.clone();
    needles.push(PASSPHRASE.as_bytes().to_vec());
    needles.push(CANARY.as_bytes().to_vec());
    let found = holders(&cso.dir, &logs, &needles);
    assert!(
        found.is_empty(),
        "keys, passphrase or identity in the clear in {found:?}"
    );
    for name in ["identity.key", "vault.key"] {
        let text = std::fs::read_to_string(cso.dir.join(name)).expect("key file");
        assert!(text.contains("\"argon2id\""), "{name} is not protected");
    }

    // Removing the passphrase puts the keys back in the clear, where the same scan finds them.
    ilm(
        &cso.dir,
        &["--passphrase-file", pf, "key", "passphrase", "--remove"],
    );
    assert!(!holders(&cso.dir, &[], &secrets).is_empty());
    let (ok, err) = ilm_plain(&cso.dir, &["id"]);
    assert!(ok, "{err}");
}
