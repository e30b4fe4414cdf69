//! The demo network (`ilm demo`, the real binary) as a fixture: eleven nodes seeded with
//! sample data through the real protocol, shared by every check of one browser test so the
//! suite starts one network, not one per page.

#![allow(dead_code)] // each test binary uses part of it

use crate::support::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The demo operator (an admin on every node) and its password.
pub const DEMO_OPERATOR: &str = "demo";
pub const DEMO_PASSWORD: &str = "ilm-demo-password";

/// A running demo network; stopped when dropped.
pub struct Demo {
    child: Child,
    _dir: tempfile::TempDir,
    /// Nodes by the demo's key (`cso-helpline`, `supplier-samut`, ...).
    pub nodes: BTreeMap<String, Node>,
    /// Roles by the same key.
    pub roles: BTreeMap<String, String>,
}

impl Demo {
    /// Starts `ilm demo` with `contacts` sample contacts and `cases` generated cases at the
    /// first CSO, and waits until it is seeded.
    pub fn start(contacts: u32, cases: u32) -> Demo {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(ilm_bin())
            .args(["demo", "--contacts", &contacts.to_string()])
            .args(["--cases", &cases.to_string(), "--dir"])
            .arg(dir.path().join("demo"))
            .env_remove("ILM_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run ilm demo");
        let stdout = child.stdout.take().expect("demo stdout");
        let mut nodes = BTreeMap::new();
        let mut roles = BTreeMap::new();
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read demo output");
            seen.push(line.clone());
            if line.starts_with("Running until Ctrl-C") {
                break;
            }
            // Node table: key role name... http://addr dir
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() >= 4
                && words.iter().any(|w| w.starts_with("http://127.0.0.1:"))
                && let Some(dir) = words.last().filter(|d| d.starts_with('/'))
            {
                roles.insert(words[0].to_string(), words[1].to_string());
                nodes.insert(words[0].to_string(), std::path::PathBuf::from(dir));
            }
        }
        assert_eq!(
            nodes.len(),
            11,
            "demo did not come up:\n{}",
            seen.join("\n")
        );
        let nodes = nodes
            .into_iter()
            .map(|(k, d)| (k.clone(), Node::attach(&k, d)))
            .collect();
        Demo {
            child,
            _dir: dir,
            nodes,
            roles,
        }
    }

    /// The node with this demo key.
    pub fn node(&self, key: &str) -> &Node {
        self.nodes
            .get(key)
            .unwrap_or_else(|| panic!("no demo node {key}"))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // SIGTERM lets the nodes flush and stop; then make sure.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
