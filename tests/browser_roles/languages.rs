//! Pages in every language, the login's language, accessibility and small screens.

use super::*;

/// The page's text as people read it, without data other organisations or workers wrote
/// (marked `translate="no"`) and without codes shown as code.
pub(super) fn page_text(s: &Session) -> String {
    s.execute(
        "var c = document.body.cloneNode(true);\
         c.querySelectorAll('[translate=no], code, script, template, option:not(:checked)').forEach(function (e) { e.remove(); });\
         return c.textContent;",
        vec![],
    )
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Every page in `lang` holds no English catalogue text and no raw code, and the script's
/// font is loaded from the node.
pub(super) fn pages_are_translated(
    s: &mut Session,
    lang: &str,
    pages: &[String],
    font: Option<&str>,
) {
    let english = catalogue::english_left_out(lang);
    let codes = catalogue::codes();
    s.switch_language(lang);
    for page in pages {
        s.open(page);
        s.wait_for("main", SOON);
        let text = page_text(s);
        let left: Vec<&String> = english
            .iter()
            .filter(|e| contains_words(&text, e))
            .collect();
        assert!(
            left.is_empty(),
            "{page} in {lang} still says {left:?}{}",
            s.context()
        );
        let raw: Vec<&String> = codes.iter().filter(|c| contains_words(&text, c)).collect();
        assert!(
            raw.is_empty(),
            "{page} in {lang} shows raw codes {raw:?}{}",
            s.context()
        );
        if let Some(family) = font {
            s.wait_until(&format!("{family} to load on {page}"), SOON, |b| {
                let loaded = b.execute(
                    "return Array.from(document.fonts).filter(function (f) { return f.status === 'loaded'; }).map(function (f) { return f.family; }).join('|');",
                    vec![],
                );
                loaded.as_str().is_some_and(|l| l.contains(family)).then_some(())
            });
        }
        let name: String = page
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        s.shot(&format!("{lang}{name}"));
    }
    s.switch_language("en");
}

/// The login page speaks the browser's language, offers a picker, and an operator's choice
/// is remembered at the next login.
pub(super) fn login_languages(cso: &Node, axe: &str) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let page = |accept: &str| {
        agent
            .get(format!("{}/login", ui_base(cso)))
            .header("Accept-Language", accept)
            .call()
            .expect("login page")
            .body_mut()
            .read_to_string()
            .expect("body")
    };
    assert!(page("my-MM,my;q=0.9,en;q=0.5").contains("<html lang=\"my\">"));
    assert!(
        page("fr-FR,th;q=0.4,en;q=0.2").contains("<html lang=\"th\">"),
        "by weight"
    );
    assert!(
        page("fr-FR").contains("<html lang=\"en\">"),
        "unknown: English"
    );
    cso.add_operator("tida", "caseworker", PASSWORD);
    let mut s = Session::new("demo-login-language", cso);
    s.open("/login?lang=th");
    s.wait_for(ui::LOGIN_FORM, SOON);
    let lang = |s: &Session| s.execute("return document.documentElement.lang;", vec![]);
    assert_eq!(lang(&s), "th");
    s.shot("login-th");
    let text = page_text(&s);
    let left: Vec<String> = catalogue::english_left_out("th")
        .into_iter()
        .filter(|e| contains_words(&text, e))
        .collect();
    assert!(left.is_empty(), "the Thai login page still says {left:?}");
    accessible_and_fits_small_screens(&mut s, axe, &["/login?lang=th".to_string()]);
    // Logging in from the Thai login page keeps Thai, and remembers it.
    for user_page in ["/login?lang=th", "/login"] {
        s.open(user_page);
        s.wait_for(ui::LOGIN_FORM, SOON);
        for (css, value) in [(ui::LOGIN_USERNAME, "tida"), (ui::LOGIN_PASSWORD, PASSWORD)] {
            let el = s.find(css);
            s.clear(&el);
            s.send_keys(&el, value);
        }
        s.click_to_load(&s.find(ui::LOGIN_SUBMIT), SOON);
        s.wait_until("the dashboard", SOON, |b| {
            url_path(&b.current_url())
                .starts_with(ui::DASHBOARD_PATH)
                .then_some(())
        });
        assert_eq!(lang(&s), "th", "after logging in from {user_page}");
        s.click(&s.find(ui::LOGOUT_SUBMIT));
        s.wait_for(ui::LOGIN_FORM, SOON);
    }
}

/// On every page: axe-core finds no serious or critical violation, and at 400 px wide
/// nothing scrolls sideways.
pub(super) fn accessible_and_fits_small_screens(s: &mut Session, axe: &str, pages: &[String]) {
    for page in pages {
        s.open(page);
        accessible_at_width(s, axe, page, 400);
    }
}

/// Runs axe on the open page (no serious or critical violation) and checks that it does not
/// scroll sideways at `width` pixels.
pub(super) fn accessible_at_width(s: &mut Session, axe: &str, page: &str, width: u64) {
    s.wait_for("main", SOON);
    let bad = s.axe_serious(axe, page);
    assert!(bad.is_empty(), "axe on {page}: {bad:#?}");
    s.cmd(
        "POST",
        "/window/rect",
        serde_json::json!({ "width": width, "height": 900 }),
    );
    let (scroll, inner) = s.wait_until(&format!("{page} at {width} px"), SOON, |b| {
        let v = b.execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        );
        let w = |i: usize| v[i].as_u64();
        Some((w(0)?, w(1)?)).filter(|(_, inner)| *inner <= width)
    });
    let name: String = page
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.shot(&format!("{width}px{name}"));
    assert!(
        scroll <= inner,
        "{page} scrolls sideways at {width} px: {scroll} > {inner}"
    );
    s.cmd(
        "POST",
        "/window/rect",
        serde_json::json!({ "width": 1280, "height": 900 }),
    );
}
