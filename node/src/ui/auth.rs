//! Operators, sessions, CSRF and the authorisation policy of the admin UI and API.
//!
//! Architecture invariant: every route except /login and /static passes through
//! [`authenticate`]; roles are enforced here, on the server, not only hidden in the UI.

use crate::api::ApiState;
pub use crate::operators::OperatorRole;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Session cookie name.
pub const SESSION_COOKIE: &str = "ilm_session";
/// How long a session lasts without use.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
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

/// Live sessions (in memory: a restart logs everyone out) and the login rate limit.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// The login rate limit.
    pub limiter: super::limiter::LoginLimiter,
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

/// Whether `role` may make this request (the server-side policy).
pub fn allowed(role: OperatorRole, method: &Method, path: &str) -> bool {
    let read = method == Method::GET || method == Method::HEAD;
    // Every operator may change its own password (the handler refuses anyone else's).
    let own_password = method == Method::POST
        && path.starts_with("/api/operators/")
        && path.ends_with("/password");
    let session_ops = matches!(path, "/logout" | "/lang") || own_password;
    match role {
        OperatorRole::Admin => true,
        OperatorRole::Caseworker => {
            session_ops
                || !(path.starts_with("/api/members/issue")
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
