//! The CLI's client for a running daemon's admin API (loopback HTTP with the admin token).

use crate::datadir::DataDir;
use serde_json::Value;
use std::time::Duration;

/// Talks to the admin API of the daemon running for a data directory.
pub struct AdminClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// A streamed answer of the daemon.
pub struct Download {
    /// Its length in bytes, if the daemon said.
    pub length: Option<u64>,
    /// The `x-ilm-snapshot-at` header (a backup's snapshot time), if present.
    pub snapshot_at: Option<u64>,
    /// The body.
    pub body: ureq::BodyReader<'static>,
}

/// Why a call to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon is not reachable.
    #[error("cannot reach the running node at {0}: {1}")]
    Unreachable(String, String),
    /// The daemon answered with an error.
    #[error("{0}")]
    Api(String),
    /// Local files are missing.
    #[error("{0}")]
    Setup(String),
}

/// The proof that the daemon knows the admin token: HMAC-SHA256 keyed with the token over
/// `"ilm/v1/admin-hello\n" || challenge`.
pub fn admin_proof(token: &str, challenge: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()) else {
        return Vec::new();
    };
    mac.update(b"ilm/v1/admin-hello\n");
    mac.update(challenge);
    mac.finalize().into_bytes().to_vec()
}

impl AdminClient {
    /// The client for the daemon of `dir` (address from `admin.addr`, written by `ilm run`),
    /// once the process listening there has proved that it knows the admin token: after a
    /// crash, another local program could listen on the old address and collect the token.
    pub fn for_dir(dir: &DataDir) -> Result<AdminClient, ClientError> {
        if !dir.is_initialised() {
            return Err(ClientError::Setup(format!(
                "no node in {} (run `ilm init` there, or pass the right --data-dir)",
                dir.root().display()
            )));
        }
        let addr = std::fs::read_to_string(dir.admin_addr_path()).map_err(|_| {
            ClientError::Setup(
                "the node is not running (no admin.addr; start it with `ilm run`)".into(),
            )
        })?;
        let token = DataDir::read_secret_file(&dir.token_path())
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        let token = String::from_utf8(token)
            .map_err(|_| ClientError::Setup("admin.token is damaged".into()))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let client = AdminClient {
            base: format!("http://{}", addr.trim()),
            token: token.trim().to_string(),
            agent,
        };
        client.check_daemon()?;
        Ok(client)
    }

    /// Asks the listener to prove it knows the token before the token is ever sent.
    fn check_daemon(&self) -> Result<(), ClientError> {
        let challenge = ilm_protocol::identity::random_bytes::<32>()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        let hex = ilm_protocol::bytes::to_hex(&challenge);
        let res = self
            .agent
            .get(format!("{}/api/hello?challenge={hex}", self.base))
            .call();
        let impostor = || {
            ClientError::Setup(format!(
                "the program listening at {} is not this node's daemon (it cannot prove it knows the admin token); the token was not sent. Is `ilm run` running for this data directory?",
                self.base
            ))
        };
        let v = match self.finish(res) {
            Ok(v) => v,
            Err(ClientError::Unreachable(a, e)) => return Err(ClientError::Unreachable(a, e)),
            Err(_) => return Err(impostor()),
        };
        let proof = v["proof"]
            .as_str()
            .and_then(|p| ilm_protocol::bytes::from_hex(p).ok())
            .ok_or_else(impostor)?;
        let expected = admin_proof(&self.token, &challenge);
        if !crate::access::constant_time_eq(&proof, &expected) {
            return Err(impostor());
        }
        Ok(())
    }

    fn finish(
        &self,
        res: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, ClientError> {
        let mut res =
            res.map_err(|e| ClientError::Unreachable(self.base.clone(), e.to_string()))?;
        let status = res.status();
        let body: Value = res.body_mut().read_json().map_err(|e| {
            ClientError::Api(format!("unreadable answer from the node ({status}): {e}"))
        })?;
        if status.is_success() {
            Ok(body)
        } else {
            let msg = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("request failed")
                .to_string();
            Err(ClientError::Api(msg))
        }
    }

    /// GET a path under the API.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        let res = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call();
        self.finish(res)
    }

    /// GET a path under the API that answers with text (a CSV download).
    pub fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let res = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .map_err(|e| ClientError::Unreachable(self.base.clone(), e.to_string()))?;
        if !res.status().is_success() {
            return self
                .finish(Ok(res))
                .and_then(|_| Err(ClientError::Api("the node refused the download".into())));
        }
        let mut res = res;
        // Exports outgrow the default 10 MB limit of a text body.
        res.body_mut()
            .with_config()
            .limit(4 << 30)
            .read_to_string()
            .map_err(|e| ClientError::Api(format!("unreadable answer from the node: {e}")))
    }

    /// POST to a path under the API and hand back the answer's body as a stream, with its
    /// length and headers (for large answers, such as a backup's snapshot: no time limit but
    /// on connecting, since a large database takes as long as it takes).
    pub fn download(&self, path: &str) -> Result<Download, ClientError> {
        self.stream(true, path)
    }

    /// GET a path under the API and hand back the answer's body as a stream (an export,
    /// written to a file as it comes).
    pub fn get_stream(&self, path: &str) -> Result<Download, ClientError> {
        self.stream(false, path)
    }

    fn stream(&self, post: bool, path: &str) -> Result<Download, ClientError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_body(None)
            .build()
            .into();
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let res = if post {
            agent.post(url).header("Authorization", auth).send_empty()
        } else {
            agent.get(url).header("Authorization", auth).call()
        }
        .map_err(|e| ClientError::Unreachable(self.base.clone(), e.to_string()))?;
        if !res.status().is_success() {
            return self
                .finish(Ok(res))
                .and_then(|_| Err(ClientError::Api("the node answered without a body".into())));
        }
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let length = header("content-length");
        let snapshot_at = header(crate::api::backup::SNAPSHOT_AT);
        Ok(Download {
            length,
            snapshot_at,
            body: res.into_body().into_reader(),
        })
    }

    /// POST JSON to a path under the API.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let res = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .send_json(body);
        self.finish(res)
    }
}
