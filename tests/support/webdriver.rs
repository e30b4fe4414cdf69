//! A minimal, blocking W3C WebDriver client for browser tests: it starts its own
//! `chromedriver` (killed on drop) driving a headless Chromium with a fresh profile.
//!
//! Chromium and chromedriver are required, never optional: `scripts/test` installs them
//! (Debian packages `chromium` and `chromium-driver`). Every failure panics with a message
//! that says what was expected and shows an excerpt of the page.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "webdriver/elements.rs"]
mod elements;

/// The W3C key under which a WebDriver element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the Debian `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";

/// How many characters of the page source a failure message shows.
const EXCERPT: usize = 4000;

/// A DOM element found in the current page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub id: String,
    /// The CSS selector it was found with (for failure messages).
    pub css: String,
}

impl Element {
    fn reference(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }
}

/// A WebDriver error: the W3C error code (e.g. `no such element`) and message, or a
/// transport error (code `transport`).
#[derive(Debug)]
pub struct WdError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// One headless Chromium controlled through its own chromedriver.
pub struct Browser {
    driver: Option<Child>,
    base: String,
    session: String,
    agent: ureq::Agent,
    profile: tempfile::TempDir,
}

/// Finds an executable on PATH.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn missing(what: &str) -> ! {
    panic!(
        "{what} is required for the browser tests and was not found. Run scripts/test, which \
         installs it (apt-get install -y --no-install-recommends chromium chromium-driver); \
         browser tests are never skipped."
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// The first `n` characters of `s` (on a char boundary), with a marker if cut.
fn excerpt(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}\n[... {} more bytes]", &s[..i], s.len() - i),
        None => s.to_string(),
    }
}

/// Decodes standard base64 (with or without padding; whitespace ignored).
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' | b' ' => continue,
            _ => return Err(format!("invalid base64 byte {c:#04x}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session with a fresh headless Chromium.
    pub fn start() -> Browser {
        Browser::start_with(None, true)
    }

    /// A phone: a `width` px wide screen (mobile emulation), and JavaScript on or off.
    pub fn phone(width: u32, javascript: bool) -> Browser {
        Browser::start_with(Some(width), javascript)
    }

    /// Starts a browser, emulating a phone screen `phone` px wide when given, with page
    /// scripts blocked when `javascript` is false.
    fn start_with(phone: Option<u32>, javascript: bool) -> Browser {
        let chromium = if Path::new(CHROMIUM).is_file() {
            PathBuf::from(CHROMIUM)
        } else {
            which("chromium").unwrap_or_else(|| missing("chromium (/usr/bin/chromium)"))
        };
        let chromedriver = which("chromedriver")
            .unwrap_or_else(|| missing("chromedriver (/usr/bin/chromedriver)"));
        let profile = tempfile::Builder::new()
            .prefix("ilm-browser-")
            .tempdir()
            .expect("browser profile dir");
        let log_path = profile.path().join("chromedriver.log");
        let log = std::fs::File::create(&log_path).expect("chromedriver log");
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(90)))
            .build()
            .into();
        let mut b = Browser {
            driver: Some(driver),
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            agent,
            profile,
        };
        // Wait for chromedriver to be ready.
        let start = Instant::now();
        loop {
            if let Some(child) = b.driver.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "chromedriver exited early with {status}: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if let Ok(v) = b.raw("GET", "/status", None)
                && v["ready"] == true
            {
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!(
                    "chromedriver did not become ready on port {port} within 30s: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let user_data = b.profile.path().join("chromium-profile");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", user_data.display()),
        ];
        let mut options = json!({ "binary": chromium, "args": args });
        if let Some(width) = phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": 740, "pixelRatio": 2.0 },
                "userAgent": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
            });
        }
        let mut always = json!({ "browserName": "chrome", "goog:chromeOptions": options });
        if !javascript {
            // chromedriver's wait for a navigation after a click never ends when pages may
            // not run scripts: such a browser does not wait, and tests move between pages
            // with `open_page` and `click_to_page`, which wait for the new page themselves.
            always["pageLoadStrategy"] = json!("none");
        }
        let caps = json!({ "capabilities": { "alwaysMatch": always } });
        let v = b.raw("POST", "/session", Some(&caps)).unwrap_or_else(|e| {
            panic!(
                "cannot create a WebDriver session with {}: {e}\nchromedriver log:\n{}",
                chromium.display(),
                excerpt(
                    &std::fs::read_to_string(&log_path).unwrap_or_default(),
                    EXCERPT
                )
            )
        });
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {v}"))
            .to_string();
        b.cmd(
            "POST",
            "/timeouts",
            json!({ "implicit": 0, "pageLoad": 60_000, "script": 30_000 }),
        );
        if !javascript {
            b.set_page_scripts(false);
        }
        b
    }

    /// Lets pages run scripts, or stops them (as a phone's browser with scripts disabled);
    /// the driver's own commands work either way, but a script that waits (axe-core's
    /// promise) only finishes with scripts on.
    pub fn set_page_scripts(&self, on: bool) {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({ "cmd": "Emulation.setScriptExecutionDisabled", "params": { "value": !on } }),
        );
    }

    /// Checks the open page of a phone whose page scripts are off: axe-core finds no serious
    /// or critical violation, and nothing is wider than `width`; then saves a screenshot.
    pub fn check_phone_page(&self, axe: &str, name: &str, width: i64, shot: &std::path::Path) {
        // axe-core needs scripts to finish its run; the page itself has none (its policy
        // allows none), so this changes nothing it shows.
        self.set_page_scripts(true);
        let bad = self.axe_serious(axe, name);
        self.set_page_scripts(false);
        assert!(bad.is_empty(), "axe on {name}: {bad:#?}");
        let wide = self
            .execute("return document.documentElement.scrollWidth;", vec![])
            .as_i64()
            .unwrap_or(i64::MAX);
        assert!(
            wide <= width,
            "{name} is {wide}px wide on a {width}px screen"
        );
        self.screenshot(shot);
    }

    /// One WebDriver HTTP call; returns the response's `value`.
    fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, WdError> {
        let url = format!("{}{path}", self.base);
        let transport = |e: ureq::Error| WdError {
            code: "transport".into(),
            message: format!("{method} {path}: {e}"),
        };
        let mut res = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .send_json(body.cloned().unwrap_or_else(|| json!({}))),
        }
        .map_err(transport)?;
        let status = res.status();
        let text = res
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(transport)?;
        let v: Value = serde_json::from_str(&text).map_err(|e| WdError {
            code: "bad response".into(),
            message: format!("{method} {path}: {status}: {e}: {}", excerpt(&text, 500)),
        })?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(WdError {
                code: value["error"].as_str().unwrap_or("unknown error").into(),
                message: value["message"]
                    .as_str()
                    .map(|m| excerpt(m, 1000))
                    .unwrap_or_else(|| format!("{status}: {}", excerpt(&text, 500))),
            })
        }
    }

    /// A session command; Err with the WebDriver error.
    pub fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, WdError> {
        let p = format!("/session/{}{path}", self.session);
        self.raw(method, &p, Some(&body))
    }

    /// A session command; panics with the error and the page it happened on.
    pub fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_cmd(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}{}", self.context()))
    }

    /// Current URL and a page source excerpt, for failure messages.
    pub fn context(&self) -> String {
        let url = self
            .try_cmd("GET", "/url", Value::Null)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let src = self
            .try_cmd("GET", "/source", Value::Null)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        format!(
            "\n--- at {url}; page source excerpt:\n{}\n---",
            excerpt(&src, EXCERPT)
        )
    }

    /// Navigates to `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    pub fn refresh(&self) {
        self.cmd("POST", "/refresh", json!({}));
    }

    pub fn back(&self) {
        self.cmd("POST", "/back", json!({}));
    }

    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn title(&self) -> String {
        self.cmd("GET", "/title", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn page_source(&self) -> String {
        self.cmd("GET", "/source", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a synchronous script (`return ...;`) with `args`; elements may be passed with
    /// [`Browser::arg`].
    pub fn execute(&self, js: &str, args: Vec<Value>) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": js, "args": args }),
        )
    }

    /// An element as a script argument.
    pub fn arg(el: &Element) -> Value {
        el.reference()
    }

    /// The browser's cookies as (name, value).
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.cmd("GET", "/cookie", Value::Null)
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| {
                        Some((
                            c["name"].as_str()?.to_string(),
                            c["value"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The cookies of the current page as a `Cookie` request header value.
    pub fn cookie_header(&self) -> String {
        self.cookies()
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Saves a PNG screenshot of the viewport to `path` (parent directories are created).
    pub fn screenshot(&self, path: &Path) {
        let v = self.cmd("GET", "/screenshot", Value::Null);
        let png = base64_decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot is not base64: {e}"));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "screenshot is not a PNG"
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("write screenshot {}: {e}", path.display()));
    }

    /// The chromedriver log (for post-mortems).
    pub fn driver_log(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromedriver.log")).unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Ends the session, which quits Chromium.
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        if let Some(mut c) = self.driver.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// axe-core's source (scripts/test fetches the pinned version; never skipped).
pub fn axe_source() -> String {
    let path = std::env::var("ILM_AXE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/test-tools/axe-core/axe.min.js"
        )
        .into()
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is required for the accessibility checks and was not found at {path}: {e}. \
             Run scripts/test, which fetches it with npm; these checks are never skipped."
        )
    })
}

#[cfg(test)]
mod base64_tests {
    use super::base64_decode;

    #[test]
    fn decodes_standard_base64() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
        assert!(base64_decode("Zm9v!").is_err());
    }
}
