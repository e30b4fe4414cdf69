//! The admin web UI: server-rendered pages over the same state as the JSON API, with login,
//! sessions, CSRF protection and per-operator roles (see [`auth`]).

pub mod charts;

use crate::access::{OperatorRole, Principal, SESSION_COOKIE, limiter};
use crate::api::{ApiError, ApiState};
use crate::cases;
use crate::intake::LocalCase;
use crate::membership::now;
use crate::schema;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use ilm_protocol::{IssueCategory, Role, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The template environment (templates embedded from admin-ui).
pub fn templates() -> Result<minijinja::Environment<'static>, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
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

/// The start page.
pub(crate) async fn home() -> Redirect {
    Redirect::to("/dashboard")
}

fn error_page(st: &ApiState, p: Option<&Principal>, status: StatusCode, message: &str) -> Response {
    let ctx = base_ctx(st, p, "Error", "");
    let mut ctx = ctx;
    ctx["message"] = json!(message);
    ctx["title"] = json!(status.to_string());
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

fn render(st: &ApiState, name: &str, ctx: Value) -> Result<Html<String>, ApiError> {
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

fn nav(
    st: &ApiState,
    p: &Principal,
    t: &std::collections::HashMap<String, String>,
    active: &str,
) -> Vec<Value> {
    let tr = |k: &str| t.get(k).cloned().unwrap_or_else(|| k.to_string());
    let mut items: Vec<(&str, &str)> = Vec::new();
    if p.role == OperatorRole::Intake {
        items.push(("/intake", "nav_intake"));
    } else {
        items.push(("/dashboard", "nav_dashboard"));
        match st.role {
            Role::Cso => {
                items.push(("/cases", "nav_cases"));
                items.push(("/intake", "nav_intake"));
            }
            Role::Brand => {
                items.push(("/supply-chain", "nav_supply_chain"));
                items.push(("/cases", "nav_cases"));
            }
            Role::Steward => {}
            _ => {
                items.push(("/inbox", "nav_inbox"));
                items.push(("/cases", "nav_cases"));
            }
        }
        items.push(("/network", "nav_network"));
    }
    items
        .into_iter()
        .map(|(href, key)| json!({ "href": href, "label": tr(key), "active": href == active }))
        .collect()
}

fn base_ctx(st: &ApiState, p: Option<&Principal>, title_key: &str, active: &str) -> Value {
    let lang = p.map(|p| p.lang.as_str()).unwrap_or("en");
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

fn fmt_day(t: Option<u64>) -> String {
    t.map(|s| crate::clock::fmt_day(Timestamp(s)))
        .unwrap_or_default()
}

pub(crate) async fn login_page(State(st): State<Arc<ApiState>>) -> Response {
    match render(&st, "login.html", base_ctx(&st, None, "login_title", "")) {
        Ok(h) => h.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

fn login_error(st: &ApiState, status: StatusCode, key: &str) -> Response {
    let mut ctx = base_ctx(st, None, "login_title", "");
    ctx["error"] = ctx["t"][key].clone();
    match render(st, "login.html", ctx) {
        Ok(h) => (status, h).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn login(
    State(st): State<Arc<ApiState>>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let source = client.ip();
    // The admin token is checked under the name "" (no operator can be named that).
    let name = match (&f.token, &f.username) {
        (Some(_), _) => String::new(),
        (None, Some(u)) => u.clone(),
        (None, None) => return login_error(&st, StatusCode::BAD_REQUEST, "login_failed"),
    };
    let limiter = &st.sessions.limiter;
    match limiter.check(&name, source) {
        limiter::Verdict::Refuse => {
            return login_error(&st, StatusCode::TOO_MANY_REQUESTS, "login_locked");
        }
        limiter::Verdict::TrySlowly => tokio::time::sleep(limiter::SLOW_DELAY).await,
        limiter::Verdict::Try => {}
    }
    let principal = match f.token {
        Some(token) => {
            crate::access::constant_time_eq(token.trim().as_bytes(), st.token.as_bytes())
                .then(|| ("admin-token".to_string(), OperatorRole::Admin))
        }
        None => {
            let store = st.store.clone();
            let (n, password) = (name.clone(), f.password.unwrap_or_default());
            // argon2 takes tens of milliseconds: off the async workers.
            tokio::task::spawn_blocking(move || crate::operators::login(&store, &n, &password))
                .await
                .ok()
                .flatten()
                .map(|o| (o.name, o.role))
        }
    };
    let Some((name, role)) = principal else {
        limiter.failed(&name, source);
        return login_error(&st, StatusCode::UNAUTHORIZED, "login_failed");
    };
    limiter.succeeded(&name, source);
    let Some(id) = st.sessions.create(&name, role) else {
        return login_error(&st, StatusCode::INTERNAL_SERVER_ERROR, "login_failed");
    };
    let home = if role == OperatorRole::Intake {
        "/intake"
    } else {
        "/dashboard"
    };
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/"),
            ),
            (header::LOCATION, home.to_string()),
        ],
    )
        .into_response()
}

pub(crate) async fn logout(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    if let Some(id) = &p.session {
        st.sessions.remove(id);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
            ),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct LangForm {
    lang: String,
}

pub(crate) async fn set_lang(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Form(f): Form<LangForm>,
) -> Response {
    if !st.i18n.has(&f.lang) {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "unknown language");
    }
    if let Some(id) = &p.session {
        st.sessions.set_lang(id, &f.lang);
    }
    // Back to the page the form was on (same origin only: a path, never a full URL).
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/dashboard".into());
    Redirect::to(&back).into_response()
}

pub(crate) async fn dashboard(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let f = match charts::figures(&st.store, now()) {
        Ok(f) => f,
        Err(e) => {
            return error_page(
                &st,
                Some(&p),
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            );
        }
    };
    let mut ctx = base_ctx(&st, Some(&p), "dashboard_title", "/dashboard");
    let t = st.i18n.table(&p.lang);
    let tr = |k: &str| t.get(k).cloned().unwrap_or_default();
    let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into());
    ctx["stats"] = json!([
        { "label": tr("contacts_total"), "value": f.contacts },
        { "label": tr("open_cases"), "value": f.open },
        { "label": tr("overdue_items"), "value": f.overdue },
        { "label": tr("remediated"), "value": f.remediated },
        { "label": tr("median_ack"), "value": days(f.median_ack_days) },
        { "label": tr("median_remediate"), "value": days(f.median_remediation_days) },
        { "label": tr("share_verified"), "value": f.verified_share.map(|v| format!("{v}%")).unwrap_or_else(|| "—".into()) },
    ]);
    let charts = [
        ("contacts_by_month", &f.by_month),
        ("issues_by_category", &f.by_category),
        ("by_corridor", &f.by_corridor),
        ("by_channel", &f.by_channel),
        ("by_language", &f.by_language),
        ("cases_by_status", &f.by_status),
    ];
    ctx["charts"] = json!(
        charts
            .iter()
            .map(|(k, d)| json!({ "title": tr(k), "svg": charts::bar_chart(&tr(k), d) }))
            .collect::<Vec<_>>()
    );
    render(&st, "dashboard.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub(crate) struct CaseFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
}

pub(crate) async fn case_list(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    Query(f): Query<CaseFilter>,
) -> Response {
    let mut rows = Vec::new();
    let states = match cases::states(&st.store) {
        Ok(s) => s,
        Err(e) => {
            return error_page(
                &st,
                Some(&p),
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            );
        }
    };
    let (me, t) = (st.keys.org_id(), now());
    for state in states {
        let v = json!(cases::summary(state, &me, t));
        let status_ok = f.status.is_empty() || v["status"] == f.status.as_str();
        let q_ok = f.q.is_empty()
            || v["case_ref"]
                .as_str()
                .is_some_and(|r| r.contains(f.q.trim()));
        if status_ok && q_ok {
            rows.push(v);
        }
    }
    let mut ctx = base_ctx(&st, Some(&p), "cases_title", "/cases");
    ctx["cases"] = json!(rows);
    ctx["q"] = json!(f.q);
    ctx["status"] = json!(f.status);
    ctx["statuses"] = json!(
        ilm_protocol::CaseStatus::ALL
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
    );
    render(&st, "cases.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn case_page(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    Path(case): Path<String>,
) -> Response {
    let Ok(case) = case.parse::<ilm_protocol::CaseRef>() else {
        return error_page(
            &st,
            Some(&p),
            StatusCode::BAD_REQUEST,
            "not a case reference",
        );
    };
    let local: Option<LocalCase> = st
        .store
        .get(&schema::LOCAL_CASES, case.as_bytes())
        .ok()
        .flatten();
    let history = cases::load_history(&st.store, &st.membership, &case)
        .ok()
        .flatten();
    if history.is_none() && local.is_none() {
        return error_page(&st, Some(&p), StatusCode::NOT_FOUND, "no such case here");
    }
    let me = st.keys.org_id();
    let state = history.as_ref().and_then(|h| h.state().cloned());
    let mut view = match history
        .as_ref()
        .and_then(|h| cases::view(h, &st.membership, &me, now()))
    {
        Some(v) => json!(v),
        None => json!({ "case_ref": case, "status": "open", "events": [] }),
    };
    if let Some(events) = view["events"].as_array_mut() {
        for e in events {
            e["when"] = json!(fmt_day(e["authored_at"].as_u64()));
        }
    }
    let is_owner = st.role == Role::Cso && state.as_ref().is_none_or(|s| s.owner == me);
    let is_responder = state.as_ref().is_some_and(|s| s.party(&me).is_some());
    let writer = matches!(p.role, OperatorRole::Admin | OperatorRole::Caseworker);
    let targets: Vec<Value> = st
        .membership
        .known()
        .into_iter()
        .filter(|c| {
            matches!(
                c.role,
                Role::Agency | Role::Supplier | Role::Brand | Role::Government
            )
        })
        .filter(|c| st.membership.current(&c.org_id).is_some())
        .map(|c| json!({ "org_id": c.org_id, "name": c.name, "role": c.role }))
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "case", "/cases");
    ctx["case"] = view;
    ctx["local"] = json!(
        local
            .as_ref()
            .map(|l| json!({ "workers": l.workers, "site": l.site }))
    );
    ctx["can_escalate"] = json!(writer && is_owner && local.is_some());
    // Only what the lifecycle allows now (the protocol's rule; every receiver enforces it too).
    let allowed: Vec<ilm_protocol::EventKind> =
        state.as_ref().map(|s| s.allowed(&me)).unwrap_or_default();
    let may = |k: ilm_protocol::EventKind| allowed.contains(&k);
    ctx["can_verify"] =
        json!(writer && is_owner && may(ilm_protocol::EventKind::WorkerVerification));
    ctx["can_respond"] = json!(writer && is_responder && !allowed.is_empty());
    ctx["targets"] = json!(targets);
    render(&st, "case.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn intake(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let mut ctx = base_ctx(&st, Some(&p), "intake_title", "/intake");
    ctx["channels"] = json!([
        "phone_call",
        "line",
        "facebook",
        "viber",
        "worker_app",
        "in_person",
        "other"
    ]);
    ctx["genders"] = json!(["female", "male", "other", "undisclosed"]);
    ctx["age_bands"] = json!(["under_18", "18_24", "25_34", "35_44", "45_plus", "unknown"]);
    ctx["categories"] = json!(
        IssueCategory::ALL
            .iter()
            .map(|c| json!({ "code": c.code(), "label": c.label() }))
            .collect::<Vec<_>>()
    );
    ctx["can_open_case"] = json!(matches!(
        p.role,
        OperatorRole::Admin | OperatorRole::Caseworker
    ));
    ctx["suppliers"] = json!(
        st.membership
            .known()
            .into_iter()
            .filter(|c| c.role == Role::Supplier && st.membership.current(&c.org_id).is_some())
            .map(|c| json!({ "org_id": c.org_id, "name": c.name }))
            .collect::<Vec<_>>()
    );
    render(&st, "intake.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn inbox(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let items = match crate::views::inbox(&st.store, &st.keys.org_id(), now()) {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|r| {
            let overdue: Vec<&str> = r
                .overdue
                .iter()
                .map(|o| match o.what {
                    ilm_protocol::Owed::Acknowledgement => "acknowledgement",
                    ilm_protocol::Owed::Remediation => "remediation",
                })
                .collect();
            json!({
                "case_ref": r.case_ref, "status": r.status,
                "ack_by": fmt_day(Some(r.escalation.acknowledge_by.0)),
                "remediate_by": fmt_day(Some(r.escalation.remediate_by.0)),
                "overdue": overdue.join(", "),
            })
        })
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "inbox_title", "/inbox");
    ctx["rows"] = json!(rows);
    render(&st, "inbox.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn supply_chain(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let suppliers = match crate::views::supply_chain(&st.store, &st.membership, &st.keys.org_id()) {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let suppliers: Vec<Value> = suppliers
        .iter()
        .map(|s| {
            let mut v = json!(s);
            for (i, a) in s.attestations.iter().enumerate() {
                let downloadable =
                    crate::views::bundle(&st.store, &st.membership, &a.case_ref).is_ok();
                v["attestations"][i]["can_download"] = json!(downloadable);
            }
            v
        })
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "supply_chain_title", "/supply-chain");
    ctx["suppliers"] = json!(suppliers);
    render(&st, "supply_chain.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn network(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let members: Vec<Value> = st
        .membership
        .known()
        .into_iter()
        .map(|c| json!({ "name": c.name, "role": c.role, "revoked": st.membership.is_revoked(&c) }))
        .collect();
    let peers: Vec<Value> = match st.net.status().await {
        Ok(n) => n
            .peers
            .iter()
            .map(|x| {
                let c = st.membership.current(&x.org_id);
                json!({ "peer_id": x.peer_id, "name": c.as_ref().map(|c| c.name.clone()), "role": c.map(|c| c.role) })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let outbox: Vec<Value> = st
        .store
        .scan(&schema::OUTBOX, &[])
        .unwrap_or_default()
        .iter()
        .rev()
        .take(50)
        .map(|e| json!({ "recipient": st.membership.current(&e.recipient).map(|c| c.name).unwrap_or_else(|| e.recipient.short()), "state": e.state, "attempts": e.attempts }))
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "network_title", "/network");
    ctx["members"] = json!(members);
    ctx["peers"] = json!(peers);
    ctx["outbox"] = json!(outbox);
    ctx["revocations"] = json!(st.membership.revocation_records().len());
    render(&st, "network.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
