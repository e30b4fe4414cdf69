//! The example configurations in config/ stay loadable and match their file names.

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
