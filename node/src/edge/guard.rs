//! Guards every HTTP request passes before anything else: the Host and Origin check (against
//! DNS rebinding and cross-site requests) and the security headers of every response.

use crate::api::ApiState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The Content-Security-Policy of every response: nothing but this node's own scripts,
/// styles and images (charts are inline SVG without styles or scripts).
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn refuse(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": msg }))).into_response()
}

/// Refuses requests whose `Host` is not this node's (a web page that rebinds its own name to
/// 127.0.0.1 still sends its own name), and state changes whose `Origin` is another site's.
pub async fn host_check(State(st): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !st.hosts.allows(host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this node does not answer to that host name (add it to admin.hosts in config.toml if it is yours)",
        );
    }
    let changes_state = req.method() != Method::GET && req.method() != Method::HEAD;
    if changes_state && let Some(origin) = req.headers().get(header::ORIGIN) {
        let ours = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(scheme, rest)| {
                matches!(scheme, "http" | "https") && st.hosts.allows(rest)
            });
        if !ours {
            return refuse(StatusCode::FORBIDDEN, "cross-site request refused");
        }
    }
    next.run(req).await
}

/// Adds the security headers to every response; pages and API answers are never cached
/// (they hold case data), static assets may be.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let cacheable = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    set_security_headers(
        res.headers_mut(),
        CSP,
        cacheable.then_some("private, max-age=3600"),
    );
    res
}

/// The headers every page of a listener carries: its content security policy, no sniffing,
/// same-origin referrers, no framing, and `no-store` unless `static_cache` says how a static
/// asset may be cached.
pub fn set_security_headers(
    h: &mut axum::http::HeaderMap,
    csp: &'static str,
    static_cache: Option<&'static str>,
) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not "no-referrer": with it, browsers send `Origin: null` on the node's own form posts.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(static_cache.unwrap_or("no-store")),
    );
}
