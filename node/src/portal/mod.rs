//! The workers' portal, served by a CSO's node on its own listener: a worker (or someone
//! helping workers) raises a problem and follows it with a receipt code and a passphrase,
//! and reads know-your-rights pages for their corridor. Pages are server-rendered forms that
//! work without JavaScript on a small screen, in the workers' languages, with the fonts served
//! by the node.
//!
//! Its router holds only its own routes, and shares no session, cookie or page with the admin
//! listener. Nothing identifies the device: the listener is served without the peer's
//! address, and no handler logs a request.

pub mod alerts;
pub mod credentials;
pub mod jobs;
pub mod limits;
mod pages;
mod rate;
pub mod rights;
pub mod serve;
pub mod thread;

use crate::api::ApiState;
use crate::config::PortalSection;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use std::sync::Arc;

/// The portal's languages: code and own name (Burmese first: the largest group of migrant
/// workers the first CSOs serve).
pub const LANGUAGES: &[(&str, &str)] = &[
    ("my", "မြန်မာ"),
    ("km", "ខ្មែរ"),
    ("lo", "ລາວ"),
    ("ne", "नेपाली"),
    ("th", "ไทย"),
    ("en", "English"),
];

/// The paths the portal serves; everything else is 404.
pub const PATHS: &[&str] = &[
    "/",
    "/report",
    "/check",
    "/message",
    "/rights",
    "/rights/{corridor}",
    "/static/portal.css",
    "/static/fonts/{name}",
    "/alerts",
    "/jobs",
    "/jobs/{key}",
    "/rate",
    "/ratings",
];

/// Largest request body the portal reads: a report of 4,000 characters in Burmese or Khmer
/// is 12,000 bytes, and 36,000 once form-encoded, with the other fields on top.
const MAX_BODY: usize = 128 * 1024;

/// Longest a request may take once its headers are in (a slow body holds a place of the
/// bounded in-flight requests).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// What the portal's handlers share.
pub struct Portal {
    api: Arc<ApiState>,
    templates: minijinja::Environment<'static>,
    i18n: crate::i18n::I18n,
    limits: limits::Limits,
}

/// The portal's router.
pub fn router(api: Arc<ApiState>, cfg: &PortalSection) -> Result<Router, String> {
    let mut templates = minijinja::Environment::new();
    templates.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    crate::ui::format::register(&mut templates);
    for (name, src) in ilm_admin_ui::PORTAL_TEMPLATES {
        templates
            .add_template(name, src)
            .map_err(|e| format!("portal template {name}: {e}"))?;
    }
    let portal = Arc::new(Portal {
        api,
        templates,
        i18n: crate::i18n::I18n::load_from(ilm_admin_ui::PORTAL_LOCALES)?,
        limits: limits::Limits::new(cfg.reports_per_hour, cfg.report_burst),
    });
    Ok(Router::new()
        .route(PATHS[0], get(pages::home))
        .route(PATHS[1], get(pages::report_form).post(pages::report))
        .route(PATHS[2], get(pages::check_form).post(pages::check))
        .route(PATHS[3], post(pages::message))
        .route(PATHS[4], get(pages::rights_list))
        .route(PATHS[5], get(pages::rights_page))
        .route(PATHS[6], get(pages::style))
        .route(PATHS[7], get(crate::ui::font))
        .route(PATHS[8], get(pages::alerts))
        .route(PATHS[9], get(jobs::list))
        .route(PATHS[10], get(jobs::show))
        .route(PATHS[11], post(rate::rate))
        .route(PATHS[12], get(rate::published))
        .fallback(pages::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(portal.clone(), guard))
        .with_state(portal))
}

/// What every portal response passes: a bound on requests in progress, no form posted from
/// another site, and headers that keep pages out of caches, frames and other origins.
async fn guard(State(p): State<Arc<Portal>>, req: Request, next: Next) -> Response {
    let lang = language(None, req.headers());
    let cacheable = req.uri().path().starts_with("/static/");
    let mut res = match p.limits.enter() {
        None => p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_busy_page"),
        Some(_) if req.method() == Method::POST && cross_site(req.headers()) => {
            p.problem(lang, StatusCode::FORBIDDEN, "error_cross_site")
        }
        Some(_permit) => match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(res) => res,
            Err(_) => p.problem(lang, StatusCode::REQUEST_TIMEOUT, "error_timeout"),
        },
    };
    crate::edge::guard::set_security_headers(
        res.headers_mut(),
        CSP,
        cacheable.then_some("public, max-age=86400"),
    );
    res
}

/// No script at all, styles and fonts from the portal only, forms only to itself.
const CSP: &str = "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Whether a form post came from another site's page. Browsers that send `Sec-Fetch-Site`
/// say so there (a reverse proxy may rewrite `Host`, never this); for the others, `Origin`
/// naming another host than `Host`.
fn cross_site(h: &HeaderMap) -> bool {
    let value = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return site == "cross-site";
    }
    match (value("origin"), value("host")) {
        (Some(origin), Some(host)) if origin != "null" => {
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            origin_host != host
        }
        _ => false,
    }
}

/// Checks a text the CSO writes for workers (a know-your-rights page, a broker alert): a
/// portal language, a title and a body within their lengths, no control characters.
fn check_writing(
    language: &str,
    title: &str,
    max_title: usize,
    body: &str,
    max_body: usize,
) -> Result<(), String> {
    if !LANGUAGES.iter().any(|(c, _)| *c == language) {
        let offered: Vec<&str> = LANGUAGES.iter().map(|(c, _)| *c).collect();
        return Err(format!(
            "language: the portal offers {}",
            offered.join(", ")
        ));
    }
    let title = title.trim();
    if title.is_empty() || title.chars().count() > max_title {
        return Err(format!("title: 1 to {max_title} characters"));
    }
    if body.trim().is_empty() || body.chars().count() > max_body {
        return Err(format!("text: 1 to {max_body} characters"));
    }
    let control = |s: &str| s.chars().any(|c| c.is_control() && c != '\n' && c != '\r');
    if control(title) || control(body) {
        return Err("control characters are not allowed".into());
    }
    Ok(())
}

/// A text's paragraphs (blank-line separated), trimmed.
fn paragraphs(body: &str) -> Vec<String> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The page language: the one asked for, else the browser's first offered one, else English.
fn language(asked: Option<&str>, headers: &HeaderMap) -> &'static str {
    let offered = |code: &str| LANGUAGES.iter().map(|(c, _)| *c).find(|c| *c == code);
    if let Some(l) = asked.and_then(offered) {
        return l;
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accepted
        .split(',')
        .filter_map(|part| part.split(';').next())
        .filter_map(|tag| tag.trim().split('-').next())
        .find_map(|code| offered(&code.to_ascii_lowercase()))
        .unwrap_or("en")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_language_is_the_asked_one_else_the_browsers_else_english() {
        let mut h = HeaderMap::new();
        assert_eq!(language(None, &h), "en");
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr-FR, km-KH;q=0.8, my;q=0.5"),
        );
        assert_eq!(language(None, &h), "km");
        assert_eq!(language(Some("my"), &h), "my");
        assert_eq!(language(Some("xx"), &h), "km");
    }

    #[test]
    fn forms_from_other_sites_are_told_apart() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("portal.example:8443"));
        assert!(!cross_site(&h));
        h.insert(
            "origin",
            HeaderValue::from_static("https://portal.example:8443"),
        );
        assert!(!cross_site(&h));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(cross_site(&h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h));
        // Behind a proxy that rewrites Host, the browser's own word decides.
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:8090"));
        h.insert("origin", HeaderValue::from_static("https://portal.example"));
        assert!(
            cross_site(&h),
            "control: without Sec-Fetch-Site, Origin decides"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&h));
    }
}
