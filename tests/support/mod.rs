//! Helpers for multi-node tests: real `ilm` processes, real sockets, real databases.
#![allow(dead_code)]

mod net;
pub mod portal;
pub mod wire;
mod work;

// Not every test binary makes a network of its own.
#[allow(unused_imports)]
pub use net::{Net, node_handle};

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The real binary under test (`ILM_FIXTURE_BIN` names another one, only to make the
/// previous release's database fixture; see `tests/upgrade.rs`).
pub fn ilm_bin() -> PathBuf {
    std::env::var_os("ILM_FIXTURE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ilm")))
}

/// Runs an `ilm` CLI command for a data dir (never the environment's).
fn run_ilm(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ILM_DATA_DIR")
        .output()
        .expect("run ilm")
}

/// Runs an `ilm` CLI command for a data dir; panics with its output if it fails.
pub fn ilm(dir: &Path, args: &[&str]) -> String {
    let out = run_ilm(dir, args);
    assert!(
        out.status.success(),
        "ilm {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`ilm_fails`] for a database this test process has just closed: the engine's threads
/// can hold its lock a moment after the handles are dropped, so a refusal for the lock is
/// tried again (for up to five seconds).
pub fn ilm_fails_after_close(dir: &Path, args: &[&str]) -> String {
    let started = Instant::now();
    loop {
        let out = run_ilm(dir, args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // The lock's holder is named by the store ("in use") or by a command that checks for
        // a running node first ("stop the node first").
        let locked =
            err.contains("in use by another process") || err.contains("stop the node first");
        if locked && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        assert!(
            !out.status.success(),
            "ilm {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        return err;
    }
}

/// Runs an `ilm` CLI command for a data dir that must fail; returns its standard error.
pub fn ilm_fails(dir: &Path, args: &[&str]) -> String {
    let out = run_ilm(dir, args);
    assert!(
        !out.status.success(),
        "ilm {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Starts `ilm run` for a data dir that must refuse to start; returns its standard error.
/// A node still running after a minute is stopped and the test fails.
pub fn ilm_run_fails(dir: &Path) -> String {
    let mut child = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(dir)
        .args([
            "run",
            "--admin-listen",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ])
        .env_remove("ILM_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ilm run");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ilm run started for {}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).expect("read its errors");
    }
    assert!(!status.success(), "ilm run exited 0: {err}");
    err
}

/// The intake body of one worker's contact at a CSO, identity included.
pub fn contact_body(name: &str, phone: &str) -> Value {
    json!({
        "channel": "line", "language": "my", "nationality": "MM", "gender": "female",
        "age_band": "25_34", "sector": "seafood", "origin": "MM", "destination": "TH",
        "identity": { "name": name, "phone": phone, "messenger_id": "", "id_numbers": [] },
        "notes": format!("{name} reports unpaid wages"),
    })
}

/// Every file below `root`, recursively (for scans of a data directory).
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The files among `roots` (each a file, or a directory searched recursively) that hold any
/// of `needles`: in their bytes, or in a compressed record of a database file, decoded
/// (compression can hide a record's text from a byte search). For checks that something is
/// nowhere on a node's disk; each root must exist, and a file that goes while the search
/// runs is skipped.
pub fn holders(roots: &[PathBuf], needles: &[&[u8]]) -> Vec<PathBuf> {
    // A root that is not there would find nothing, and a check that something is absent
    // would pass for the wrong reason.
    for root in roots {
        assert!(root.exists(), "{} does not exist", root.display());
    }
    let mut files = Vec::new();
    let mut todo = roots.to_vec();
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(
                std::fs::read_dir(&p)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else {
            files.push(p);
        }
    }
    files.retain(|f| {
        let bytes = std::fs::read(f).unwrap_or_default();
        let holds = |b: &[u8]| needles.iter().any(|n| b.windows(n.len()).any(|w| w == *n));
        holds(&bytes) || ilm_node::store::records_in(&bytes).iter().any(|r| holds(r))
    });
    files
}

/// Polls `f` until it returns Some, or panics after `limit` with `what`.
/// (A liveness bound, not a timing assertion: the limit is generous.)
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Generous bound for things that normally take a second or two.
pub const SOON: Duration = Duration::from_secs(60);

/// A node: its data dir and, while running, its process.
pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub org_id: String,
    child: Option<Child>,
    /// libp2p port: chosen by the OS at first start, then kept so a restart keeps the address.
    pub port: Option<u16>,
    pub bootstrap: Vec<String>,
    /// More arguments for `ilm run`.
    pub run_args: Vec<String>,
    /// The node's log filter (`ILM_LOG`); the default when None.
    pub log: Option<String>,
    runs: usize,
}

impl Node {
    /// A node some other process runs (the demo's), reached through its data directory.
    pub fn attach(name: &str, dir: PathBuf) -> Node {
        let mut node = Node {
            name: name.to_string(),
            dir,
            org_id: String::new(),
            child: None,
            port: None,
            bootstrap: Vec::new(),
            run_args: Vec::new(),
            log: None,
            runs: 0,
        };
        node.org_id = node.get("/api/status")["org_id"]
            .as_str()
            .expect("org_id")
            .to_string();
        node
    }

    /// The same organisation's node run from another data directory (a restored copy), at
    /// the same libp2p address and with the same bootstrap peers.
    pub fn moved_to(&self, name: &str, dir: PathBuf) -> Node {
        Node {
            name: name.to_string(),
            dir,
            org_id: self.org_id.clone(),
            child: None,
            port: self.port,
            bootstrap: self.bootstrap.clone(),
            run_args: self.run_args.clone(),
            log: self.log.clone(),
            runs: 0,
        }
    }

    /// Starts `ilm run` and waits until its admin API answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} already running", self.name);
        let _ = std::fs::remove_file(self.dir.join("admin.addr"));
        self.runs += 1;
        let log = std::fs::File::create(self.dir.with_extension(format!("log{}", self.runs)))
            .expect("log file");
        let mut cmd = Command::new(ilm_bin());
        cmd.arg("--data-dir")
            .arg(&self.dir)
            .args(["run", "--admin-listen", "127.0.0.1:0", "--listen"])
            .arg(format!("/ip4/127.0.0.1/tcp/{}", self.port.unwrap_or(0)))
            .env("ILM_LOG", self.log.as_deref().unwrap_or("info,libp2p=warn"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for b in &self.bootstrap {
            cmd.arg("--bootstrap").arg(b);
        }
        cmd.args(&self.run_args);
        self.child = Some(cmd.spawn().expect("spawn ilm run"));
        let name = self.name.clone();
        wait_for(&format!("{name} to serve its admin API"), SOON, || {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{name} exited early with {status}; see its log next to {}",
                    self.dir.display()
                );
            }
            self.try_get("/api/status").ok()
        });
        if self.port.is_none() {
            let port = wait_for(&format!("{name} to listen"), SOON, || {
                let v = self.try_get("/api/status").ok()?;
                v["listen_addresses"].as_array()?.iter().find_map(|a| {
                    let a = a.as_str()?;
                    let rest = a.strip_prefix("/ip4/127.0.0.1/tcp/")?;
                    rest.parse::<u16>().ok()
                })
            });
            self.port = Some(port);
        }
    }

    /// What the node's latest `ilm run` wrote to its log so far.
    pub fn last_log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension(format!("log{}", self.runs)))
            .unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no clean shutdown).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill -9");
            c.wait().expect("reap");
        }
    }

    /// Stops the process with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let status = c.wait().expect("wait");
            assert!(
                status.success(),
                "{} did not stop cleanly: {status}",
                self.name
            );
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// This node's libp2p address with peer id (for others' bootstrap lists).
    pub fn multiaddr(&self) -> String {
        let id = ilm(&self.dir, &["--json", "id"]);
        let v: Value = serde_json::from_str(&id).expect("id json");
        let port = self
            .port
            .expect("start the node once before asking for its address");
        format!(
            "/ip4/127.0.0.1/tcp/{port}/p2p/{}",
            v["peer_id"].as_str().expect("peer id")
        )
    }

    fn base(&self) -> Result<String, String> {
        let addr =
            std::fs::read_to_string(self.dir.join("admin.addr")).map_err(|e| e.to_string())?;
        Ok(format!("http://{}", addr.trim()))
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.join("admin.token"))
            .expect("token")
            .trim()
            .to_string()
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
    }

    /// GET with the admin token; Err on transport errors or non-2xx.
    pub fn try_get(&self, path: &str) -> Result<Value, String> {
        let mut res = Self::agent()
            .get(format!("{}{path}", self.base()?))
            .header("Authorization", format!("Bearer {}", self.token()))
            .call()
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let v: Value = res.body_mut().read_json().map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("{status}: {v}"))
        }
    }

    /// GET with the admin token: the status code and the body as text.
    pub fn get_raw(&self, path: &str) -> (u16, String) {
        let base = self.base().expect("running");
        let mut res = Self::agent()
            .get(format!("{base}{path}"))
            .header("Authorization", format!("Bearer {}", self.token()))
            .call()
            .unwrap_or_else(|e| panic!("{} GET {path}: {e}", self.name));
        let code = res.status().as_u16();
        (code, res.body_mut().read_to_string().unwrap_or_default())
    }

    /// GET a text answer (such as `/metrics`) with the admin token.
    pub fn get_text(&self, path: &str) -> String {
        self.get_raw(path).1
    }

    /// The process id of the running `ilm run`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn get(&self, path: &str) -> Value {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("{} GET {path}: {e}", self.name))
    }

    /// POST with the admin token; returns status code and body.
    pub fn post_raw(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut res = Self::agent()
            .post(format!("{}{path}", self.base().expect("running")))
            .header("Authorization", format!("Bearer {}", self.token()))
            .send_json(body)
            .expect("post");
        let status = res.status().as_u16();
        (status, res.body_mut().read_json().unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, body: &Value) -> Value {
        let (status, v) = self.post_raw(path, body);
        assert!(
            (200..300).contains(&status),
            "{} POST {path}: {status} {v}",
            self.name
        );
        v
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
