//! Operators, sessions, CSRF and the authorisation policy of the admin UI and API.
//!
//! Architecture invariant: every route except /login and /static passes through
//! [`authenticate`]; roles are enforced here, on the server, not only hidden in the UI.

use crate::api::ApiState;
use crate::store::{Store, Table, WriteBatch};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Session cookie name.
pub const SESSION_COOKIE: &str = "ilm_session";
/// How long a session lasts without use.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// Failed logins allowed per operator name (and per client) in [`LOGIN_WINDOW`].
pub const MAX_LOGIN_FAILURES: u32 = 5;
/// Failed logins allowed across all names in [`LOGIN_WINDOW`] (guessing many names).
pub const MAX_LOGIN_FAILURES_ALL: u32 = 50;
/// The window of the login rate limit.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);

/// What an operator may do inside a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Everything, including operators and membership.
    Admin,
    /// Cases, contacts, escalations and responses.
    Caseworker,
    /// Records contacts; sees only the contacts it recorded.
    Intake,
    /// Reads everything but worker identity; changes nothing.
    Readonly,
}

impl std::str::FromStr for OperatorRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(OperatorRole::Admin),
            "caseworker" => Ok(OperatorRole::Caseworker),
            "intake" => Ok(OperatorRole::Intake),
            "readonly" => Ok(OperatorRole::Readonly),
            other => Err(format!(
                "unknown operator role {other:?}: expected admin, caseworker, intake or readonly"
            )),
        }
    }
}

/// A stored operator account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operator {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: OperatorRole,
    /// Argon2id hash in PHC string form.
    pub password_hash: String,
}

/// Why an operator could not be added.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Name rules.
    #[error("operator names are 1 to 64 letters, digits, '.', '-' or '_'")]
    BadName,
    /// Password rules.
    #[error("passwords must be at least 10 characters")]
    WeakPassword,
    /// Exists.
    #[error("an operator named {0:?} exists")]
    Exists(String),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Adds an operator (argon2id-hashed password) to the node's database.
pub fn add_operator(
    store: &Store,
    name: &str,
    role: OperatorRole,
    password: &str,
) -> Result<(), OperatorError> {
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid_name {
        return Err(OperatorError::BadName);
    }
    if password.chars().count() < 10 {
        return Err(OperatorError::WeakPassword);
    }
    if store
        .get::<Operator>(Table::Operator, name.as_bytes())?
        .is_some()
    {
        return Err(OperatorError::Exists(name.to_string()));
    }
    let salt_bytes = ilm_protocol::identity::random_bytes::<16>()
        .map_err(|e| OperatorError::Hash(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| OperatorError::Hash(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| OperatorError::Hash(e.to_string()))?
        .to_string();
    let mut batch = WriteBatch::new();
    batch.put(
        Table::Operator,
        name.as_bytes(),
        &Operator {
            name: name.to_string(),
            role,
            password_hash: hash,
        },
    )?;
    store.commit(batch)?;
    Ok(())
}

/// Checks a password against an operator's stored hash.
pub fn check_password(op: &Operator, password: &str) -> bool {
    PasswordHash::new(&op.password_hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Who is making a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Operator name ("admin-token" for the node's admin token).
    pub name: String,
    /// Role.
    pub role: OperatorRole,
    /// The session, for cookie-authenticated requests.
    pub session: Option<String>,
    /// The session's CSRF token ("" for token-authenticated requests).
    pub csrf: String,
    /// UI language.
    pub lang: String,
}

#[derive(Debug, Clone)]
struct Session {
    name: String,
    role: OperatorRole,
    csrf: String,
    lang: String,
    last_used: Instant,
}

/// Live sessions (in memory: a restart logs everyone out).
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

fn random_hex() -> Option<String> {
    ilm_protocol::identity::random_bytes::<32>()
        .ok()
        .map(|b| ilm_protocol::bytes::to_hex(&b))
}

impl Sessions {
    /// Starts a session; returns its id.
    pub fn create(&self, name: &str, role: OperatorRole) -> Option<String> {
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
                lang: "en".into(),
                last_used: Instant::now(),
            },
        );
        Some(id)
    }

    fn get(&self, id: &str) -> Option<Session> {
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

    /// Whether `key` (an operator name or a client) is locked out by failed logins.
    pub fn locked(&self, key: &str) -> bool {
        self.locked_after(key, MAX_LOGIN_FAILURES)
    }

    /// Whether `key` has seen `max` failures within the window.
    pub fn locked_after(&self, key: &str, max: u32) -> bool {
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.get(key)
            .is_some_and(|(n, since)| *n >= max && since.elapsed() < LOGIN_WINDOW)
    }

    /// Records a failed login for `key`.
    pub fn failed(&self, key: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let e = f.entry(key.to_string()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= LOGIN_WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    /// Clears failures after a successful login.
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
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

/// Whether `role` may make this request (the server-side policy).
pub fn allowed(role: OperatorRole, method: &Method, path: &str) -> bool {
    let read = method == Method::GET || method == Method::HEAD;
    let session_ops = matches!(path, "/logout" | "/lang");
    match role {
        OperatorRole::Admin => true,
        OperatorRole::Caseworker => {
            !(path.starts_with("/api/members/issue")
                || path.starts_with("/api/members/revoke")
                || path.starts_with("/api/operators"))
        }
        OperatorRole::Readonly => {
            session_ops
                || (read
                    && !path.starts_with("/api/contacts/")
                    && !path.starts_with("/api/disclosures")
                    && !path.starts_with("/api/operators"))
        }
        OperatorRole::Intake => {
            session_ops
                || path == "/intake"
                || path == "/api/contacts"
                || (read && path.starts_with("/api/contacts/"))
        }
    }
}

fn deny(status: StatusCode, path: &str, msg: &str) -> Response {
    if path.starts_with("/api/") || path == "/metrics" {
        (status, axum::Json(serde_json::json!({ "error": msg }))).into_response()
    } else if status == StatusCode::UNAUTHORIZED {
        Redirect::to("/login").into_response()
    } else {
        (
            status,
            axum::response::Html(format!(
                "<!doctype html><title>{status}</title><h1>{status}</h1><p>{msg}</p>"
            )),
        )
            .into_response()
    }
}

/// Identifies the caller (admin token or session cookie), checks CSRF on state-changing
/// session requests and the role policy, and passes a [`Principal`] to the handlers.
pub async fn authenticate(State(st): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (principal, req) = if let Some(token) = bearer {
        if !crate::api::constant_time_eq(token.as_bytes(), st.token.as_bytes()) {
            return deny(
                StatusCode::UNAUTHORIZED,
                &path,
                "missing or wrong admin token",
            );
        }
        (
            Principal {
                name: "admin-token".into(),
                role: OperatorRole::Admin,
                session: None,
                csrf: String::new(),
                lang: "en".into(),
            },
            req,
        )
    } else if let Some(id) = session_cookie(req.headers()) {
        let Some(s) = st.sessions.get(&id) else {
            return deny(
                StatusCode::UNAUTHORIZED,
                &path,
                "session expired: log in again",
            );
        };
        let mut req = req;
        if method != Method::GET && method != Method::HEAD {
            let header_token = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let form = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
            let presented = match header_token {
                Some(t) => Some(t),
                None if form => {
                    // Plain HTML forms carry the token as a field: read it and put the body back.
                    let (parts, body) = req.into_parts();
                    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
                        return deny(StatusCode::BAD_REQUEST, &path, "form too large");
                    };
                    let token = url_form_value(&bytes, "csrf");
                    req = Request::from_parts(parts, Body::from(bytes));
                    token
                }
                None => None,
            };
            if !presented
                .is_some_and(|t| crate::api::constant_time_eq(t.as_bytes(), s.csrf.as_bytes()))
            {
                return deny(StatusCode::FORBIDDEN, &path, "missing or wrong CSRF token");
            }
        }
        (
            Principal {
                name: s.name,
                role: s.role,
                session: Some(id),
                csrf: s.csrf,
                lang: s.lang,
            },
            req,
        )
    } else {
        return deny(
            StatusCode::UNAUTHORIZED,
            &path,
            "log in first (session cookie or admin token)",
        );
    };
    if !allowed(principal.role, &method, &path) {
        return deny(
            StatusCode::FORBIDDEN,
            &path,
            "your operator role does not allow this",
        );
    }
    let mut req = req;
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// One value of an application/x-www-form-urlencoded body.
pub fn url_form_value(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (url_decode(k)? == key).then(|| url_decode(v)).flatten()
    })
}

/// Decodes one urlencoded component.
pub fn url_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_matches_the_roles() {
        use OperatorRole::*;
        let get = Method::GET;
        let post = Method::POST;
        assert!(allowed(Admin, &post, "/api/members/revoke"));
        assert!(!allowed(Caseworker, &post, "/api/members/revoke"));
        assert!(allowed(Caseworker, &post, "/api/cases/x/escalate"));
        assert!(allowed(Readonly, &get, "/api/cases"));
        assert!(!allowed(Readonly, &post, "/api/contacts"));
        assert!(!allowed(Readonly, &get, "/api/contacts/abc"));
        assert!(allowed(Intake, &post, "/api/contacts"));
        assert!(allowed(Intake, &get, "/intake"));
        assert!(!allowed(Intake, &get, "/api/cases"));
        assert!(!allowed(Intake, &get, "/cases/abc"));
        assert!(!allowed(Intake, &get, "/dashboard"));
    }

    #[test]
    fn form_values_decode() {
        assert_eq!(
            url_form_value(b"a=1&csrf=ab%2Fc+d", "csrf").as_deref(),
            Some("ab/c d")
        );
        assert_eq!(url_form_value(b"a=1", "csrf"), None);
        assert_eq!(url_decode("%zz"), None);
    }
}
