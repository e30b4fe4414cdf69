//! Operator sessions (in memory: a restart logs everyone out) and the session cookie.

use super::OperatorRole;
use super::limiter::LoginLimiter;
use axum::http::header;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Session cookie name.
pub const SESSION_COOKIE: &str = "ilm_session";
/// How long a session lasts without use.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// One operator's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Operator name.
    pub name: String,
    /// Operator role.
    pub role: OperatorRole,
    /// The session's CSRF token.
    pub csrf: String,
    /// UI language.
    pub lang: String,
    last_used: Instant,
}

/// Live sessions (in memory: a restart logs everyone out) and the login rate limit.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// The login rate limit.
    pub limiter: LoginLimiter,
}

fn random_hex() -> Option<String> {
    ilm_protocol::identity::random_bytes::<32>()
        .ok()
        .map(|b| ilm_protocol::bytes::to_hex(&b))
}

impl Sessions {
    /// Starts a session; returns its id.
    pub fn create(&self, name: &str, role: OperatorRole, lang: &str) -> Option<String> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.last_used.elapsed() < SESSION_IDLE);
        map.insert(
            id.clone(),
            Session {
                name: name.to_string(),
                role,
                csrf,
                lang: lang.to_string(),
                last_used: Instant::now(),
            },
        );
        Some(id)
    }

    /// The live session with this id (its idle time starts again), if any.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.get_mut(id)?;
        if s.last_used.elapsed() > SESSION_IDLE {
            map.remove(id);
            return None;
        }
        s.last_used = Instant::now();
        Some(s.clone())
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Sets a session's UI language.
    pub fn set_lang(&self, id: &str, lang: &str) {
        if let Some(s) = self
            .map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(id)
        {
            s.lang = lang.to_string();
        }
    }

    /// Ends every session of an operator (disabled, or its password changed).
    pub fn end_all_of(&self, name: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, s| s.name != name);
    }
}

/// The session id in a request's cookies.
pub fn session_cookie(req_headers: &axum::http::HeaderMap) -> Option<String> {
    req_headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{SESSION_COOKIE}="))
                .map(str::to_string)
        })
}
