//! HTTP helpers for the workers' portal: its address, plain GETs and form posts without
//! credentials, and a crude read of an element's text.
#![allow(dead_code)]

use super::Node;
use std::time::Duration;

/// The portal's base URL.
pub fn portal_base(node: &Node) -> String {
    let addr = std::fs::read_to_string(node.dir.join("portal.addr"))
        .unwrap_or_else(|e| panic!("portal.addr: {e} (is the portal served?)"));
    format!("http://{}", addr.trim())
}

/// A client that returns every status as an answer and follows no redirect.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// GET without credentials: status and body.
pub fn get(url: &str) -> (u16, String) {
    let mut res = agent()
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// A form post to the portal: status and body.
pub fn post_form(url: &str, form: &[(&str, &str)], origin: Option<&str>) -> (u16, String) {
    let body = serde_urlencoded::to_string(form).expect("form");
    let mut req = agent()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    let mut res = req
        .send(body.as_bytes())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// The text of the element with `id` in an HTML page (a crude read for HTTP tests).
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].trim().to_string())
}

/// A portal report in Burmese: what happened, and the worker's own name and phone.
pub fn a_report<'a>(what: &'a str, name: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("lang", "my"),
        ("reporter", "worker"),
        ("what", what),
        ("place", "Mahachai"),
        ("employer", "Ocean Frozen Foods"),
        ("workers", "12"),
        ("sector", "seafood"),
        ("origin", "MM"),
        ("destination", "TH"),
        ("gender", "undisclosed"),
        ("age_band", "unknown"),
        ("name", name),
        ("phone", phone),
        ("messenger", ""),
        ("may_contact", "yes"),
        ("may_raise", "no"),
    ]
}
