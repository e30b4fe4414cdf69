//! A network made with the real CLI: a steward and its members, each a real `ilm` data
//! directory, none running until started.

use super::*;

/// A network made with the real CLI: a steward and members, none running yet.
pub struct Net {
    pub tmp: tempfile::TempDir,
    pub steward: Node,
}

impl Net {
    /// A steward that has created the network.
    pub fn new() -> Net {
        let mut tmp = tempfile::tempdir().expect("tempdir");
        if std::env::var_os("ILM_TEST_KEEP").is_some() {
            // Keep data dirs and logs for a post-mortem.
            tmp.disable_cleanup(true);
            eprintln!("keeping test files in {}", tmp.path().display());
        }
        let dir = tmp.path().join("steward");
        ilm(
            &dir,
            &[
                "init",
                "--role",
                "steward",
                "--name",
                "Steward",
                "--country",
                "TH",
            ],
        );
        let genesis = tmp.path().join("network.json");
        ilm(
            &dir,
            &[
                "network",
                "create",
                "--name",
                "Test network",
                "--out",
                genesis.to_str().expect("utf8"),
            ],
        );
        let steward = node_handle("steward", dir, vec![]);
        Net { tmp, steward }
    }

    /// The commonest test network: a running steward, and a CSO and a supplier that are
    /// members and running.
    pub fn with_cso_and_supplier() -> (Net, Node, Node) {
        let mut net = Net::new();
        net.steward.start();
        let mut cso = net.member("cso", "cso");
        let mut supplier = net.member("supplier", "supplier");
        cso.start();
        supplier.start();
        (net, cso, supplier)
    }

    /// A running steward, and a CSO, a supplier and a brand that are members and running
    /// (not yet linked).
    pub fn with_cso_supplier_and_brand() -> (Net, Node, Node, Node) {
        let (net, cso, supplier) = Net::with_cso_and_supplier();
        let mut brand = net.member("brand", "brand");
        brand.start();
        (net, cso, supplier, brand)
    }

    pub fn genesis(&self) -> PathBuf {
        self.tmp.path().join("network.json")
    }

    /// Initialises a member, has the steward certify it and joins it. Start the steward first:
    /// members bootstrap from its address (and the certificate is issued through its API).
    pub fn member(&self, name: &str, role: &str) -> Node {
        let dir = self.tmp.path().join(name);
        ilm(
            &dir,
            &[
                "init",
                "--role",
                role,
                "--name",
                &format!("{name} org"),
                "--country",
                "TH",
            ],
        );
        let req = self.tmp.path().join(format!("{name}-req.json"));
        let cert = self.tmp.path().join(format!("{name}-cert.json"));
        ilm(
            &dir,
            &["member", "request", "--out", req.to_str().expect("utf8")],
        );
        ilm(
            &self.steward.dir,
            &[
                "member",
                "issue",
                req.to_str().expect("utf8"),
                "--out",
                cert.to_str().expect("utf8"),
            ],
        );
        ilm(
            &dir,
            &[
                "member",
                "join",
                self.genesis().to_str().expect("utf8"),
                cert.to_str().expect("utf8"),
            ],
        );
        let bootstrap = vec![self.steward.multiaddr()];
        node_handle(name, dir, bootstrap)
    }
}

/// A node of an existing data directory (not running yet).
pub fn node_handle(name: &str, dir: PathBuf, bootstrap: Vec<String>) -> Node {
    let id = ilm(&dir, &["--json", "id"]);
    let v: Value = serde_json::from_str(&id).expect("id json");
    Node {
        name: name.to_string(),
        org_id: v["org_id"].as_str().expect("org id").to_string(),
        dir,
        child: None,
        port: None,
        bootstrap,
        run_args: Vec::new(),
        log: None,
        runs: 0,
    }
}
