//! Logging in and out, and the language of the session.

use super::*;

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
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "unknown_language");
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
