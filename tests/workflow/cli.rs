//! The CLI reads an identity from stdin and names members.

use super::*;

/// Runs `ilm` with `input` on standard input; returns (success, stdout, stderr).
pub(super) fn ilm_with_input(dir: &Path, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ILM_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ilm");
    // A command refused on its arguments exits before reading its input: a broken pipe
    // here is that refusal, which the exit status reports.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write stdin: {e}"),
        _ => {}
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The CLI's intake keeps worker identity out of process arguments, and members are named by
/// name on the command line and in its lists.
#[test]
fn the_cli_reads_identity_from_stdin_and_names_members() {
    let (_net, cso, supplier) = Net::with_cso_and_supplier();
    cso.wait_to_know(&supplier);
    let base = [
        "--json",
        "contact",
        "add",
        "--channel",
        "line",
        "--language",
        "my",
        "--nationality",
        "MM",
        "--sector",
        "seafood",
        "--origin",
        "MM",
        "--destination",
        "TH",
    ];
    // The identity flags are gone: nothing personal can be put in the process list.
    let mut with_flag = base.to_vec();
    with_flag.extend(["--name", "Flag Name", "--identity-stdin"]);
    let (ok, _, err) = ilm_with_input(&cso.dir, &with_flag, "{}");
    assert!(!ok && err.contains("--name"), "{err}");
    // Bad JSON is refused without echoing what was typed.
    let mut args = base.to_vec();
    args.push("--identity-stdin");
    let (ok, _, err) = ilm_with_input(&cso.dir, &args, r#"{"nam": "Secret Typo"}"#);
    assert!(
        !ok && err.contains("\"name\"") && !err.contains("Secret Typo"),
        "{err}"
    );
    // Standard input carries the identity; it is sealed and shown only on request.
    let (ok, out, err) = ilm_with_input(
        &cso.dir,
        &args,
        r#"{"name": "Aye Aye", "phone": "+66 81 000 0001", "notes": "unpaid wages"}"#,
    );
    assert!(ok, "{err}");
    let id = serde_json::from_str::<Value>(&out).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let shown = cso.get(&format!("/api/contacts/{id}"));
    assert_eq!(shown["identity"]["name"], "Aye Aye", "{shown}");
    // The supplier by name, in `case new` and `case escalate`.
    let v: Value = serde_json::from_str(&ilm(
        &cso.dir,
        &[
            "--json",
            "case",
            "new",
            "--contact",
            &id,
            "--workers",
            "1",
            "--issue",
            "withholding_of_wages",
            "--supplier",
            "Supplier Org",
            "--site",
            "Factory 1",
        ],
    ))
    .expect("json");
    let case = v["case_ref"].as_str().expect("case").to_string();
    // A case opened and not escalated yet is in the list, with its site and supplier by name.
    let list = ilm(&cso.dir, &["case", "list"]);
    let line = list
        .lines()
        .find(|l| l.starts_with(&case))
        .unwrap_or_else(|| panic!("{case} not in the list:\n{list}"));
    assert!(
        line.contains(" open ") && line.contains("Factory 1") && line.contains("supplier org"),
        "{line}"
    );
    let escalated = ilm(&cso.dir, &["case", "list", "--status", "escalated"]);
    assert!(!escalated.contains(&case), "{escalated}");
    let (ok, _, err) = ilm_with_input(&cso.dir, &["case", "list", "--status", "done"], "");
    assert!(!ok && err.contains("remediation_reported"), "{err}");
    let (ok, _, err) = ilm_with_input(
        &cso.dir,
        &[
            "case",
            "escalate",
            &case,
            "--to",
            "nobody org",
            "--remedy",
            "pay",
            "--description",
            "unpaid",
        ],
        "",
    );
    assert!(!ok && err.contains("supplier org (supplier)"), "{err}");
    ilm(
        &cso.dir,
        &[
            "case",
            "escalate",
            &case,
            "--to",
            "supplier org",
            "--remedy",
            "pay wages",
            "--description",
            "unpaid for two months",
        ],
    );
    let escalated = ilm(
        &cso.dir,
        &[
            "case",
            "list",
            "--status",
            "escalated",
            "--party",
            "supplier org",
        ],
    );
    assert!(escalated.contains(&case), "{escalated}");
    // Lists name the counterparty.
    let outbox = ilm(&cso.dir, &["outbox"]);
    assert!(outbox.contains("to supplier org"), "{outbox}");
}
