//! The example configurations in config/ stay loadable and match their file names, and the
//! systemd unit verifies and stays hardened.

use ilm_node::config::Config;

#[test]
fn every_example_configuration_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("config dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let cfg = Config::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        assert_eq!(cfg.node.role.as_str(), stem, "{}", path.display());
        assert!(
            cfg.admin.listen.ip().is_loopback(),
            "admin must default to loopback"
        );
        // Production examples: the team reaches the UI over TLS, and identities disclosed
        // with consent do not stay forever.
        assert!(cfg.admin.tls_listen.is_some(), "{}", path.display());
        assert!(
            cfg.retention.closed_cases_days.is_some(),
            "{}",
            path.display()
        );
        seen.push(stem);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "agency",
            "brand",
            "cso",
            "government",
            "steward",
            "supplier"
        ]
    );
}

/// Runs `systemd-analyze` on a copy of the unit whose `ExecStart` names the binary under
/// test (verify checks that the program exists); returns (exit code, stdout, stderr).
fn analyze(unit_text: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = dir.path().join("ilm.service");
    let text = unit_text.replace("/usr/local/bin/ilm", env!("CARGO_BIN_EXE_ilm"));
    std::fs::write(&unit, text).expect("write unit");
    let out = std::process::Command::new("systemd-analyze")
        .args(args)
        .arg(&unit)
        .output()
        .expect("systemd-analyze (Debian package systemd) is needed for this test");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/systemd/ilm.service");
    let unit = std::fs::read_to_string(&path).expect("read the unit");
    // systemd only warns about unknown keys and bad values: any output is a defect.
    let (code, _, err) = analyze(&unit, &["verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.trim().is_empty(), "systemd-analyze verify: {err}");
    // Control: a misspelt key and a bad value are reported.
    let broken = unit
        .replace("ProtectSystem=strict", "ProtectSystem=strictly")
        .replace("NoNewPrivileges=", "NoNewPrivilege=");
    let (_, _, err) = analyze(&broken, &["verify"]);
    assert!(
        err.contains("strictly") && err.contains("NoNewPrivilege"),
        "{err}"
    );
    // systemd's own exposure score (shown 0.0 to 10.0, compared in tenths: 0 is locked
    // down, 100 unprotected); today 1.5, and no hardening line may be dropped unnoticed.
    let (code, out, err) = analyze(&unit, &["security", "--offline=true", "--threshold=20"]);
    assert_eq!(code, Some(0), "exposure above 2.0:\n{out}{err}");
    assert!(out.contains("Overall exposure level"), "{out}");
    // Control: the unit without its hardening lines fails that threshold.
    let bare: String = unit
        .lines()
        .filter(|l| {
            ![
                "Protect",
                "Private",
                "Restrict",
                "SystemCall",
                "NoNew",
                "Capability",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let (code, _, _) = analyze(&bare, &["security", "--offline=true", "--threshold=20"]);
    assert_ne!(
        code,
        Some(0),
        "the threshold does not tell a bare unit from a hardened one"
    );
}
