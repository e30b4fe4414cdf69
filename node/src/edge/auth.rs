//! The authentication layer of every route but the public ones: the admin token or a session
//! cookie identifies the caller and state changes on a session carry its CSRF token; then each
//! route's own layer checks the permission the route table gives it, on the server.

use crate::access::{OperatorRole, Permission, Principal, constant_time_eq, session_cookie};
use crate::api::ApiState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// A refusal: JSON for the API, the login page or a short HTML page for pages.
pub(super) fn deny(status: StatusCode, path: &str, msg: &str) -> Response {
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
/// session requests, and passes a [`Principal`] to the route's permission check and handler.
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
        if !constant_time_eq(token.as_bytes(), st.token.as_bytes()) {
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
            if !presented.is_some_and(|t| constant_time_eq(t.as_bytes(), s.csrf.as_bytes())) {
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
    let mut req = req;
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// The permission check of one route (after [`authenticate`]): the caller's role must hold
/// the route's permission.
pub async fn authorize(State(permission): State<Permission>, req: Request, next: Next) -> Response {
    if permission == Permission::Token {
        let token = req
            .extensions()
            .get::<Principal>()
            .is_some_and(|p| p.session.is_none());
        return if token {
            next.run(req).await
        } else {
            deny(
                StatusCode::FORBIDDEN,
                req.uri().path(),
                "only the node's admin token may do this (`ilm backup` on the node's machine), never a browser session",
            )
        };
    }
    let role = req.extensions().get::<Principal>().map(|p| p.role);
    match role {
        Some(role) if permission.allows(role) => next.run(req).await,
        Some(_) => deny(
            StatusCode::FORBIDDEN,
            req.uri().path(),
            "your operator role does not allow this",
        ),
        None => deny(StatusCode::UNAUTHORIZED, req.uri().path(), "log in first"),
    }
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
    fn form_values_decode() {
        assert_eq!(
            url_form_value(b"a=1&csrf=ab%2Fc+d", "csrf").as_deref(),
            Some("ab/c d")
        );
        assert_eq!(url_form_value(b"a=1", "csrf"), None);
        assert_eq!(url_decode("%zz"), None);
    }
}
