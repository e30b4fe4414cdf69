//! Logging in and out, and the language of the session.

use super::*;

#[derive(Deserialize, Default)]
pub(crate) struct LangQuery {
    #[serde(default)]
    pub(crate) lang: Option<String>,
}

/// The language for a page without a session: one chosen on the login page, else the
/// browser's `Accept-Language` (by preference weight), else English.
pub(crate) fn negotiate(st: &ApiState, chosen: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(l) = chosen.filter(|l| st.i18n.has(l)) {
        return l.to_string();
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut prefs: Vec<(f32, String)> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.trim().split(';');
            let tag = it.next()?.trim().to_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next()?.to_string();
            (q > 0.0).then_some((q, primary))
        })
        .collect();
    prefs.sort_by(|a, b| b.0.total_cmp(&a.0));
    prefs
        .into_iter()
        .map(|(_, l)| l)
        .find(|l| st.i18n.has(l))
        .unwrap_or_else(|| "en".into())
}

fn login_ctx(st: &ApiState, lang: &str, chosen: bool) -> Value {
    let mut ctx = page_ctx(st, None, lang, "login_title", "");
    ctx["lang_chosen"] = json!(chosen);
    ctx
}

pub(crate) async fn login_page(
    State(st): State<Arc<ApiState>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = negotiate(&st, q.lang.as_deref(), &headers);
    let chosen = q.lang.as_deref().is_some_and(|l| st.i18n.has(l));
    match render(&st, "login.html", login_ctx(&st, &lang, chosen)) {
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
    /// The login page's language.
    #[serde(default)]
    lang: Option<String>,
    /// Whether that language was picked on the login page (then it is remembered).
    #[serde(default)]
    lang_chosen: Option<String>,
}

fn login_error(st: &ApiState, lang: &str, status: StatusCode, key: &str) -> Response {
    let mut ctx = login_ctx(st, lang, false);
    ctx["error"] = ctx["t"][key].clone();
    match render(st, "login.html", ctx) {
        Ok(h) => (status, h).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn login(
    State(st): State<Arc<ApiState>>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    tls: Option<Extension<crate::edge::tls::OverTls>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    // Over TLS the cookie never travels in clear.
    let secure = if tls.is_some() { "; Secure" } else { "" };
    let page_lang = negotiate(&st, f.lang.as_deref(), &headers);
    let chosen = f.lang_chosen.as_deref() == Some("true") && f.lang.is_some();
    let source = client.ip();
    // The admin token is checked under the name "" (no operator can be named that).
    let name = match (&f.token, &f.username) {
        (Some(_), _) => String::new(),
        (None, Some(u)) => u.clone(),
        (None, None) => {
            return login_error(&st, &page_lang, StatusCode::BAD_REQUEST, "login_failed");
        }
    };
    let limiter = &st.sessions.limiter;
    match limiter.check(&name, source) {
        limiter::Verdict::Refuse => {
            return login_error(
                &st,
                &page_lang,
                StatusCode::TOO_MANY_REQUESTS,
                "login_locked",
            );
        }
        limiter::Verdict::TrySlowly => tokio::time::sleep(limiter::SLOW_DELAY).await,
        limiter::Verdict::Try => {}
    }
    let principal = match f.token {
        Some(token) => {
            crate::access::constant_time_eq(token.trim().as_bytes(), st.token.as_bytes())
                .then(|| ("admin-token".to_string(), OperatorRole::Admin, None))
        }
        None => {
            let store = st.store.clone();
            let (n, password) = (name.clone(), f.password.unwrap_or_default());
            // argon2 takes tens of milliseconds: off the async workers.
            tokio::task::spawn_blocking(move || crate::operators::login(&store, &n, &password))
                .await
                .ok()
                .flatten()
                .map(|o| (o.name, o.role, o.lang))
        }
    };
    let Some((name, role, saved_lang)) = principal else {
        limiter.failed(&name, source);
        return login_error(&st, &page_lang, StatusCode::UNAUTHORIZED, "login_failed");
    };
    limiter.succeeded(&name, source);
    // A language picked on the login page wins and is remembered; else the operator's own
    // last choice; else the login page's (the browser's preference).
    let lang = match saved_lang.filter(|l| st.i18n.has(l)) {
        Some(saved) if !chosen => saved,
        _ => page_lang.clone(),
    };
    if chosen && let Err(e) = crate::operators::set_lang(&st.store, &name, &lang) {
        tracing::warn!("could not remember an operator's language: {e}");
    }
    let Some(id) = st.sessions.create(&name, role, &lang) else {
        return login_error(
            &st,
            &page_lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            "login_failed",
        );
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
                format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/{secure}"),
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
    // Remembered for the next login (the admin token has no account to keep it in).
    if let Err(e) = crate::operators::set_lang(&st.store, &p.name, &f.lang) {
        tracing::warn!("could not remember an operator's language: {e}");
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
