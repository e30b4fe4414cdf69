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

impl AdminClient {
    /// The client for the daemon of `dir` (address from `admin.addr`, written by `ilm run`).
    pub fn for_dir(dir: &DataDir) -> Result<AdminClient, ClientError> {
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
        Ok(AdminClient {
            base: format!("http://{}", addr.trim()),
            token: token.trim().to_string(),
            agent,
        })
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
