//! The portal's pages: plain HTML forms, posted and answered with a page, so they work with
//! JavaScript off. A refused form comes back with what was typed and the reason, never empty.

use super::credentials::{Passphrase, Receipt};
use super::thread::{self, Message, PortalError, Report, Reporter, Side, WorkerStatus};
use super::{LANGUAGES, Portal, alerts, language, rights};
use crate::intake::{AgeBand, Gender};
use crate::membership::now;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

type St = State<Arc<Portal>>;

/// The `lang` a GET page is asked in.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LangQuery {
    #[serde(default)]
    pub(super) lang: Option<String>,
    /// On the report form: the job listing the worker asks about (its key).
    #[serde(default)]
    pub(super) about: Option<String>,
}

impl Portal {
    /// The frame every page shares, in `lang`.
    pub(super) fn ctx(&self, lang: &str, path: &str) -> Value {
        json!({
            "lang": lang,
            "t": self.i18n.table(lang),
            "path": path,
            "helpline": self.api.name,
            "languages": LANGUAGES.iter().map(|(c, n)| json!({ "code": c, "name": n })).collect::<Vec<_>>(),
        })
    }

    pub(super) fn render(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(&ctx))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("portal page {name} did not render: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be shown",
                )
                    .into_response()
            }
        }
    }

    /// A page saying something went wrong, with a way back.
    pub(super) fn problem(&self, lang: &str, status: StatusCode, message_key: &str) -> Response {
        let mut ctx = self.ctx(lang, "");
        ctx["message_key"] = json!(message_key);
        self.render(status, "portal/problem.html", ctx)
    }
}

pub(super) async fn home(State(p): St, q: Query<LangQuery>, h: HeaderMap) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    p.render(StatusCode::OK, "portal/home.html", p.ctx(lang, "/"))
}

pub(super) async fn not_found(State(p): St, h: HeaderMap) -> Response {
    p.problem(language(None, &h), StatusCode::NOT_FOUND, "not_found")
}

pub(super) async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        ilm_admin_ui::PORTAL_CSS,
    )
}

/// The report form as posted (every field a string, so a bad one can be shown again).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct ReportForm {
    lang: String,
    reporter: String,
    what: String,
    place: String,
    employer: String,
    workers: String,
    sector: String,
    origin: String,
    destination: String,
    gender: String,
    age_band: String,
    name: String,
    phone: String,
    messenger: String,
    may_contact: String,
    may_raise: String,
}

/// Why a report form was refused: the message key shown above the form.
type FormError = &'static str;

fn short_text(s: &str, max: usize, key: FormError) -> Result<String, FormError> {
    // Browsers count a line break as one character and send two.
    let s = s.trim().replace("\r\n", "\n");
    if s.chars().count() > max || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(key);
    }
    Ok(s)
}

fn yes_no(s: &str) -> Result<bool, FormError> {
    match s {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("error_choices"),
    }
}

impl ReportForm {
    /// The checked report, or the message key of the first problem.
    fn check(&self, lang: &str) -> Result<Report, FormError> {
        let reporter = match self.reporter.as_str() {
            "worker" => Reporter::Worker,
            "helper" => Reporter::Helper,
            _ => return Err("error_reporter"),
        };
        let what = short_text(&self.what, 4_000, "error_what")?;
        if what.is_empty() {
            return Err("error_what");
        }
        // Digits of any offered script, as a phone keyboard types them.
        let workers = match super::credentials::ascii_digits(&self.workers).as_deref() {
            Some("") => None,
            Some(n) => Some(
                n.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or("error_workers")?,
            ),
            None => return Err("error_workers"),
        };
        let country = |s: &str| {
            crate::intake::COUNTRIES
                .contains(&s)
                .then(|| s.parse().ok())
                .flatten()
                .ok_or("error_country")
        };
        let sector = if crate::intake::SECTORS.contains(&self.sector.as_str()) {
            self.sector.clone()
        } else {
            return Err("error_sector");
        };
        let gender = match self.gender.as_str() {
            "female" => Gender::Female,
            "male" => Gender::Male,
            "other" => Gender::Other,
            _ => Gender::Undisclosed,
        };
        let age_band = match self.age_band.as_str() {
            "under_18" => AgeBand::Under18,
            "18_24" => AgeBand::From18To24,
            "25_34" => AgeBand::From25To34,
            "35_44" => AgeBand::From35To44,
            "45_plus" => AgeBand::From45,
            _ => AgeBand::Unknown,
        };
        Ok(Report {
            reporter,
            language: lang.to_string(),
            what_happened: what,
            place: short_text(&self.place, 300, "error_place")?,
            employer: short_text(&self.employer, 300, "error_employer")?,
            workers,
            sector,
            origin: country(&self.origin)?,
            destination: country(&self.destination)?,
            gender,
            age_band,
            name: short_text(&self.name, 200, "error_contact")?,
            phone: short_text(&self.phone, 50, "error_contact")?,
            messenger_id: short_text(&self.messenger, 200, "error_contact")?,
            may_contact: yes_no(&self.may_contact)?,
            may_raise: yes_no(&self.may_raise)?,
        })
    }
}

fn report_ctx(p: &Portal, lang: &str, form: &ReportForm, error: Option<FormError>) -> Value {
    let mut ctx = p.ctx(lang, "/report");
    ctx["form"] = json!(form);
    ctx["error"] = json!(error);
    ctx["countries"] = json!(crate::intake::COUNTRIES);
    ctx["sectors"] = json!(crate::intake::SECTORS);
    ctx["genders"] = json!(["female", "male", "other", "undisclosed"]);
    ctx["age_bands"] = json!(["under_18", "18_24", "25_34", "35_44", "45_plus", "unknown"]);
    ctx
}

pub(super) async fn report_form(State(p): St, q: Query<LangQuery>, h: HeaderMap) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    let mut form = ReportForm {
        origin: "MM".into(),
        destination: "TH".into(),
        ..Default::default()
    };
    // Asking about a job listing: the report starts with the job, so the helpline knows
    // which one; the worker writes the question below it.
    let about = q
        .about
        .as_deref()
        .map(|key| super::jobs::find(&p.api.store, &p.api.membership, now(), key));
    if let Some(Ok(Some(l))) = about {
        let about_job = p
            .i18n
            .table(lang)
            .get("about_job")
            .cloned()
            .unwrap_or_default();
        form.what = format!(
            "{about_job}: {} — {}, {} ({} {})\n\n",
            l.listing.job,
            l.listing.employer,
            l.listing.site,
            l.publisher_name,
            &l.key[64..72]
        );
        form.employer = l.listing.employer.clone();
        form.place = l.listing.site.clone();
        form.origin = l.listing.origin.as_str().to_string();
        form.destination = l.listing.destination.as_str().to_string();
    }
    p.render(
        StatusCode::OK,
        "portal/report.html",
        report_ctx(&p, lang, &form, None),
    )
}

pub(super) async fn report(
    State(p): St,
    h: HeaderMap,
    form: Result<Form<ReportForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return p.problem(language(None, &h), StatusCode::BAD_REQUEST, "error_form");
    };
    let lang = language(Some(&form.lang), &h);
    let report = match form.check(lang) {
        Ok(r) => r,
        Err(key) => {
            let ctx = report_ctx(&p, lang, &form, Some(key));
            return p.render(StatusCode::UNPROCESSABLE_ENTITY, "portal/report.html", ctx);
        }
    };
    if !p.limits.take_report() {
        // What was typed stays in the form, to send again later.
        let ctx = report_ctx(&p, lang, &form, Some("error_busy"));
        return p.render(StatusCode::TOO_MANY_REQUESTS, "portal/report.html", ctx);
    }
    let _guard = p.api.intake_lock.lock().await;
    let (store, vault) = (p.api.store.clone(), p.api.vault.clone());
    match thread::blocking(move || thread::create(&store, &vault, report, now())).await {
        Ok(made) => {
            let mut ctx = p.ctx(lang, "/report");
            ctx["receipt"] = json!(made.receipt.to_string());
            ctx["passphrase"] = json!(made.passphrase.to_string());
            p.render(StatusCode::OK, "portal/receipt.html", ctx)
        }
        Err(e) => {
            tracing::warn!("a portal report could not be stored: {e}");
            let ctx = report_ctx(&p, lang, &form, Some("error_store"));
            p.render(StatusCode::SERVICE_UNAVAILABLE, "portal/report.html", ctx)
        }
    }
}

/// A receipt code and passphrase as posted (and a message, when one is sent).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct CheckForm {
    pub(super) lang: String,
    receipt: String,
    passphrase: String,
    text: String,
}

fn check_ctx(p: &Portal, lang: &str, form: &CheckForm, error: Option<&str>) -> Value {
    let mut ctx = p.ctx(lang, "/check");
    ctx["receipt"] = json!(form.receipt);
    ctx["error"] = json!(error);
    // A message the codes did not let through is kept, to be sent once they open the
    // report.
    ctx["pending_text"] = json!(form.text.trim());
    ctx
}

pub(super) async fn check_form(State(p): St, q: Query<LangQuery>, h: HeaderMap) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    let ctx = check_ctx(&p, lang, &CheckForm::default(), None);
    p.render(StatusCode::OK, "portal/check.html", ctx)
}

/// Why a form's codes opened nothing: the message key and the answer's status.
type Refusal = (&'static str, StatusCode);

/// The thread a form's codes open.
pub(super) async fn open_thread(p: &Portal, form: &CheckForm) -> Result<thread::Thread, Refusal> {
    let (Ok(receipt), Ok(passphrase)) = (
        Receipt::parse(&form.receipt),
        Passphrase::parse(&form.passphrase),
    ) else {
        return Err(("error_codes_format", StatusCode::UNPROCESSABLE_ENTITY));
    };
    // Failed checks are written: under the intake lock like every portal write.
    let _guard = p.api.intake_lock.lock().await;
    let (store, vault) = (p.api.store.clone(), p.api.vault.clone());
    let opened =
        thread::blocking(move || thread::open(&store, &vault, &receipt, &passphrase, now())).await;
    match opened {
        Ok(t) => Ok(t),
        Err(PortalError::NotFound) => Err(("error_codes", StatusCode::NOT_FOUND)),
        Err(PortalError::Locked(_)) => Err(("error_locked", StatusCode::TOO_MANY_REQUESTS)),
        Err(e) => {
            tracing::warn!("a portal check failed: {e}");
            Err(("error_store", StatusCode::SERVICE_UNAVAILABLE))
        }
    }
}

/// The check form again, with why the codes opened nothing.
pub(super) fn refused(
    p: &Portal,
    lang: &str,
    form: &CheckForm,
    (key, status): Refusal,
) -> Response {
    p.render(
        status,
        "portal/check.html",
        check_ctx(p, lang, form, Some(key)),
    )
}

/// The status page of an opened thread.
pub(super) fn status_page(
    p: &Portal,
    lang: &str,
    form: &CheckForm,
    t: &thread::Thread,
    notice: Option<&str>,
    error: Option<(&str, StatusCode)>,
) -> Response {
    let (error, code) = match error {
        Some((key, code)) => (Some(key), code),
        None => (None, StatusCode::OK),
    };
    let status = match WorkerStatus::of(&p.api.store, t) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("a portal status could not be read: {e}");
            return p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store");
        }
    };
    let messages = match thread::messages(&p.api.vault, t) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("a portal thread did not open: {e}");
            return p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store");
        }
    };
    let mut ctx = p.ctx(lang, "/check");
    ctx["receipt"] = json!(form.receipt);
    ctx["passphrase"] = json!(form.passphrase);
    ctx["status_key"] = json!(status.key());
    ctx["created_at"] = json!(t.created_at);
    ctx["messages"] = json!(
        messages
            .iter()
            .map(|m| json!({ "from_helpline": m.from == Side::Cso, "at": m.at, "text": m.text }))
            .collect::<Vec<_>>()
    );
    ctx["notice"] = json!(notice);
    ctx["error"] = json!(error);
    // The employers and agencies the worker may rate (a rating cannot be changed, so those
    // this report already rated are left out).
    let rated = |org: &ilm_protocol::OrgId| {
        crate::ratings::rated(&p.api.store, &p.api.vault, org, &t.contact).unwrap_or(true)
    };
    ctx["rateable"] = json!(
        crate::ratings::rateable(&p.api.membership)
            .into_iter()
            .filter(|(org, _, _)| !rated(org))
            .map(|(org, name, role)| json!({ "id": org.to_hex(), "name": name, "role": role }))
            .collect::<Vec<_>>()
    );
    ctx["dimensions"] = json!(
        ilm_protocol::Dimension::ALL
            .iter()
            .map(|d| d.code())
            .collect::<Vec<_>>()
    );
    // A refused message stays in the box.
    ctx["text"] = json!(if error.is_some() {
        form.text.as_str()
    } else {
        ""
    });
    p.render(code, "portal/status.html", ctx)
}

pub(super) async fn check(
    State(p): St,
    h: HeaderMap,
    form: Result<Form<CheckForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return p.problem(language(None, &h), StatusCode::BAD_REQUEST, "error_form");
    };
    let lang = language(Some(&form.lang), &h);
    match open_thread(&p, &form).await {
        Ok(t) => status_page(&p, lang, &form, &t, None, None),
        Err(why) => refused(&p, lang, &form, why),
    }
}

pub(super) async fn message(
    State(p): St,
    h: HeaderMap,
    form: Result<Form<CheckForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return p.problem(language(None, &h), StatusCode::BAD_REQUEST, "error_form");
    };
    let lang = language(Some(&form.lang), &h);
    let t = match open_thread(&p, &form).await {
        Ok(t) => t,
        Err(why) => return refused(&p, lang, &form, why),
    };
    let _guard = p.api.intake_lock.lock().await;
    let (store, vault) = (p.api.store.clone(), p.api.vault.clone());
    let msg = Message {
        from: Side::Worker,
        at: now(),
        text: form.text.clone(),
        by: None,
    };
    let contact = t.contact;
    match thread::blocking(move || thread::append(&store, &vault, &contact, msg)).await {
        Ok(t) => status_page(&p, lang, &form, &t, Some("message_sent"), None),
        Err(e) => {
            let refusal = match e {
                PortalError::Invalid(_) => ("error_message", StatusCode::UNPROCESSABLE_ENTITY),
                PortalError::TooManyMessages => {
                    ("error_too_many_messages", StatusCode::TOO_MANY_REQUESTS)
                }
                other => {
                    tracing::warn!("a portal message could not be stored: {other}");
                    ("error_store", StatusCode::SERVICE_UNAVAILABLE)
                }
            };
            status_page(&p, lang, &form, &t, None, Some(refusal))
        }
    }
}

pub(super) async fn alerts(State(p): St, q: Query<LangQuery>, h: HeaderMap) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    let shown = match alerts::shown(&p.api.store, &p.api.membership, now(), lang) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("broker alerts could not be read: {e}");
            return p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store");
        }
    };
    let mut ctx = p.ctx(lang, "/alerts");
    ctx["alerts"] = json!(shown);
    p.render(StatusCode::OK, "portal/alerts.html", ctx)
}

pub(super) async fn rights_list(State(p): St, q: Query<LangQuery>, h: HeaderMap) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    let pages = match rights::per_corridor(&p.api.store, lang) {
        Ok(pages) => pages,
        Err(e) => {
            tracing::warn!("know-your-rights pages could not be read: {e}");
            return p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store");
        }
    };
    let mut ctx = p.ctx(lang, "/rights");
    ctx["pages"] = json!(
        pages
            .iter()
            .map(|r| json!({ "corridor": r.corridor(), "origin": r.origin, "destination": r.destination, "title": r.title }))
            .collect::<Vec<_>>()
    );
    p.render(StatusCode::OK, "portal/rights.html", ctx)
}

pub(super) async fn rights_page(
    State(p): St,
    Path(corridor): Path<String>,
    q: Query<LangQuery>,
    h: HeaderMap,
) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    let Some((origin, destination)) = rights::parse_corridor(&corridor) else {
        return p.problem(lang, StatusCode::NOT_FOUND, "not_found");
    };
    match rights::find(&p.api.store, &origin, &destination, lang) {
        Ok(Some(page)) => {
            let mut ctx = p.ctx(lang, "/rights");
            ctx["page"] = json!({
                "title": page.title,
                "language": page.language,
                "paragraphs": page.paragraphs(),
                "updated_at": page.updated_at,
                "origin": page.origin,
                "destination": page.destination,
            });
            p.render(StatusCode::OK, "portal/right.html", ctx)
        }
        Ok(None) => p.problem(lang, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => {
            tracing::warn!("a know-your-rights page could not be read: {e}");
            p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(what: &str, workers: &str) -> ReportForm {
        ReportForm {
            lang: "my".into(),
            reporter: "worker".into(),
            what: what.into(),
            workers: workers.into(),
            sector: "seafood".into(),
            origin: "MM".into(),
            destination: "TH".into(),
            may_contact: "yes".into(),
            may_raise: "no".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_report_is_read_as_a_phone_types_it() {
        // Burmese digits for the number of workers.
        let r = form("x", "၁၂").check("my").expect("valid");
        assert_eq!(r.workers, Some(12));
        assert_eq!(form("x", "").check("my").expect("valid").workers, None);
        assert_eq!(form("x", "12a").check("my").err(), Some("error_workers"));
        assert_eq!(form("x", "0").check("my").err(), Some("error_workers"));
        // 4,000 Burmese characters with line breaks as a browser sends them (CRLF).
        let long = format!("{}\r\n{}", "က".repeat(2_000), "ခ".repeat(1_999));
        assert_eq!(long.chars().count(), 4_001);
        let r = form(&long, "")
            .check("my")
            .expect("a line break counts once");
        assert_eq!(r.what_happened.chars().count(), 4_000);
        assert_eq!(
            form(&format!("{long}x"), "").check("my").err(),
            Some("error_what")
        );
        // The form-encoded body of the longest report fits the portal's limit.
        let body = serde_urlencoded::to_string([("what", long.as_str())]).expect("encode");
        assert!(
            body.len() < super::super::MAX_BODY / 2,
            "{} bytes",
            body.len()
        );
        // Control: the limit before this change (32 KiB) did not hold it.
        assert!(body.len() > 32 * 1024);
    }
}
