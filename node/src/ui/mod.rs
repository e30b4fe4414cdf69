//! The admin web UI: server-rendered pages over the same state as the JSON API, with login,
//! sessions, CSRF protection and per-operator roles (`crate::access`). One file per group of
//! pages; this one holds what they share: the template environment, rendering, the page
//! frame and navigation.

mod case_list;
mod case_pages;
pub mod charts;
mod contacts;
mod dashboard;
pub mod figures;
pub(crate) mod format;
mod improvements;
mod intake;
mod jobs;
mod members;
mod network;
mod portal;
mod ratings;
mod session;
mod statistics;
mod supply_chain;
mod work;

pub(crate) use case_list::{case_list, case_list_csv};
pub(crate) use case_pages::case_page;
pub(crate) use contacts::contacts;
pub(crate) use dashboard::dashboard;
pub(crate) use improvements::improvements;
pub(crate) use intake::intake;
pub(crate) use jobs::jobs_page;
pub(crate) use members::members;
pub(crate) use network::network;
pub(crate) use portal::portal_page;
pub(crate) use ratings::ratings_page;
pub(crate) use session::{login, login_page, logout, set_lang};
pub(crate) use statistics::{public_json, public_page, statistics_page};
pub(crate) use supply_chain::supply_chain;
pub(crate) use work::inbox;

use crate::access::{OperatorRole, Permission, Principal, SESSION_COOKIE, limiter};
use crate::api::{ApiError, ApiState};
use crate::cases;
use crate::intake::LocalCase;
use crate::membership::now;
use crate::schema;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use ilm_protocol::{EventKind, IssueCategory, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The template environment (templates embedded from admin-ui).
pub fn templates() -> Result<minijinja::Environment<'static>, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    format::register(&mut env);
    for (name, src) in ilm_admin_ui::TEMPLATES {
        env.add_template(name, src)?;
    }
    Ok(env)
}

/// The style sheet.
pub(crate) async fn style_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        ilm_admin_ui::STYLE_CSS,
    )
}

/// The pages' script.
pub(crate) async fn app_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        ilm_admin_ui::APP_JS,
    )
}

/// A font or its licence, served by the node itself.
pub(crate) async fn font(Path(name): Path<String>) -> Response {
    match ilm_admin_ui::FONTS.iter().find(|(n, _)| *n == name) {
        Some((n, bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    if n.ends_with(".woff2") {
                        "font/woff2"
                    } else {
                        "text/plain; charset=utf-8"
                    },
                ),
                (header::CACHE_CONTROL, "public, max-age=604800"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The start page.
pub(crate) async fn home() -> Redirect {
    Redirect::to("/dashboard")
}

pub(crate) fn error_page(
    st: &ApiState,
    p: Option<&Principal>,
    status: StatusCode,
    message: &str,
) -> Response {
    let mut ctx = base_ctx(st, p, "error_title", "");
    // Messages are catalogue keys where the catalogue has them.
    let text = ctx["t"][message].as_str().unwrap_or(message).to_string();
    ctx["message"] = json!(text);
    let title = format!("http_{}", status.as_u16());
    ctx["title"] = ctx["t"][title.as_str()]
        .as_str()
        .map(|s| json!(s))
        .unwrap_or_else(|| ctx["t"]["error_title"].clone());
    match render(st, "error.html", ctx) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

impl From<ApiError> for Response {
    fn from(e: ApiError) -> Response {
        e.into_response()
    }
}

pub(crate) fn render(st: &ApiState, name: &str, ctx: Value) -> Result<Html<String>, ApiError> {
    let tmpl = st
        .templates
        .get_template(name)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    tmpl.render(ctx).map(Html).map_err(|e| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("template {name}: {e}"),
        )
    })
}

pub(crate) fn nav(
    st: &ApiState,
    p: &Principal,
    t: &std::collections::HashMap<String, String>,
    active: &str,
) -> Vec<Value> {
    let tr = |k: &str| t.get(k).cloned().unwrap_or_else(|| k.to_string());
    let mut items: Vec<(&str, &str)> = Vec::new();
    if p.role == OperatorRole::Intake {
        items.push(("/intake", "nav_intake"));
        items.push(("/contacts", "nav_contacts"));
    } else {
        items.push(("/dashboard", "nav_dashboard"));
        match st.role {
            Role::Cso => {
                items.push(("/cases", "nav_cases"));
                items.push(("/contacts", "nav_contacts"));
                items.push(("/intake", "nav_intake"));
                if Permission::Casework.allows(p.role) {
                    items.push(("/portal", "nav_portal"));
                    items.push(("/jobs", "nav_jobs"));
                }
                items.push(("/ratings", "nav_ratings"));
            }
            Role::Brand => {
                items.push(("/supply-chain", "nav_supply_chain"));
                items.push(("/inbox", "nav_inbox"));
                items.push(("/cases", "nav_cases"));
                items.push(("/ratings", "nav_ratings"));
            }
            Role::Steward => items.push(("/members", "nav_members")),
            Role::Supplier | Role::Agency => {
                items.push(("/inbox", "nav_inbox"));
                items.push(("/cases", "nav_cases"));
                items.push(("/improvements", "nav_improvements"));
                items.push(("/jobs", "nav_jobs"));
                items.push(("/ratings", "nav_ratings"));
            }
            _ => {
                items.push(("/inbox", "nav_inbox"));
                items.push(("/cases", "nav_cases"));
            }
        }
        items.push(("/statistics", "nav_statistics"));
        items.push(("/network", "nav_network"));
    }
    items
        .into_iter()
        .map(|(href, key)| json!({ "href": href, "label": tr(key), "active": href == active }))
        .collect()
}

pub(crate) fn base_ctx(
    st: &ApiState,
    p: Option<&Principal>,
    title_key: &str,
    active: &str,
) -> Value {
    page_ctx(
        st,
        p,
        p.map(|p| p.lang.as_str()).unwrap_or("en"),
        title_key,
        active,
    )
}

/// The frame of a page in `lang` (the login page has no session to take it from).
pub(crate) fn page_ctx(
    st: &ApiState,
    p: Option<&Principal>,
    lang: &str,
    title_key: &str,
    active: &str,
) -> Value {
    let t = st.i18n.table(lang);
    let title = t
        .get(title_key)
        .cloned()
        .unwrap_or_else(|| title_key.to_string());
    json!({
        "lang": lang,
        "t": t,
        "title": title,
        "csrf": p.map(|p| p.csrf.clone()).unwrap_or_default(),
        "node_name": st.name,
        "node_role": st.role,
        "operator": p.map(|p| p.name.clone()),
        "operator_role": p.map(|p| p.role),
        "nav": p.map(|p| nav(st, p, t, active)).unwrap_or_default(),
        "languages": crate::i18n::LANGUAGES.iter().map(|(c, n)| json!({ "code": c, "name": n })).collect::<Vec<_>>(),
    })
}
