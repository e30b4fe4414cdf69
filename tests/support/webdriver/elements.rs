//! Finding a page's elements (at once, within another, or waiting for them) and acting on
//! them as a user does: click, tap, type, choose, and read their text and attributes.

use super::*;

impl Browser {
    fn element_from(css: &str, v: &Value) -> Option<Element> {
        Some(Element {
            id: v[ELEMENT_KEY].as_str()?.to_string(),
            css: css.to_string(),
        })
    }

    /// The first element matching `css`, if any.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        let v = self
            .try_cmd(
                "POST",
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .ok()?;
        Self::element_from(css, &v)
    }

    /// The first element matching `css`; panics with the page source if there is none.
    pub fn find(&self, css: &str) -> Element {
        self.try_find(css)
            .unwrap_or_else(|| panic!("no element matches `{css}` on the page{}", self.context()))
    }

    /// Every element matching `css` (possibly none).
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self.cmd(
            "POST",
            "/elements",
            json!({ "using": "css selector", "value": css }),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| Self::element_from(css, e))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `css` inside `parent`, if any.
    pub fn try_find_in(&self, parent: &Element, css: &str) -> Option<Element> {
        let v = self
            .try_cmd(
                "POST",
                &format!("/element/{}/element", parent.id),
                json!({ "using": "css selector", "value": css }),
            )
            .ok()?;
        Self::element_from(&format!("{} {css}", parent.css), &v)
    }

    /// The first element matching `css` inside `parent`; panics if there is none.
    pub fn find_in(&self, parent: &Element, css: &str) -> Element {
        self.try_find_in(parent, css).unwrap_or_else(|| {
            panic!(
                "no element matches `{css}` inside `{}`{}",
                parent.css,
                self.context()
            )
        })
    }

    /// Every element matching `css` inside `parent`.
    pub fn find_all_in(&self, parent: &Element, css: &str) -> Vec<Element> {
        let v = self.cmd(
            "POST",
            &format!("/element/{}/elements", parent.id),
            json!({ "using": "css selector", "value": css }),
        );
        let full = format!("{} {css}", parent.css);
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| Self::element_from(&full, e))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls until an element matches `css`; panics with the page source after `timeout`.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let start = Instant::now();
        loop {
            if let Some(e) = self.try_find(css) {
                return e;
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for `{css}`{}",
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls until an element matching `css` exists and is displayed (e.g. a form that
    /// starts `hidden`); panics with the page source after `timeout`.
    pub fn wait_displayed(&self, css: &str, timeout: Duration) -> Element {
        self.wait_until(&format!("`{css}` to be displayed"), timeout, |b| {
            let el = b.try_find(css)?;
            b.try_cmd("GET", &format!("/element/{}/displayed", el.id), Value::Null)
                .ok()?
                .as_bool()
                .unwrap_or(false)
                .then_some(el)
        })
    }

    /// Polls until `f` returns Some (errors such as stale elements count as "not yet");
    /// panics with `what` and the page source after `timeout`.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Browser) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}{}",
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, el: &Element) {
        self.el_cmd(el, "POST", "/click", json!({}));
    }

    /// Clicks a link or submit button and waits until the page it leads to has loaded.
    /// A plain click may return before the old page is gone, and the old page often has
    /// the very element a test then waits for (a list's total, say); the marker set on
    /// the old window tells the two documents apart, since a navigation replaces it.
    pub fn click_to_load(&self, el: &Element, timeout: Duration) {
        self.execute("window.__ilmOldPage = true;", vec![]);
        self.click(el);
        self.wait_until("the next page to load", timeout, |b| {
            let js = json!({
                "script": "return !window.__ilmOldPage && document.readyState === 'complete';",
                "args": [],
            });
            b.try_cmd("POST", "/execute/sync", js)
                .ok()?
                .as_bool()
                .unwrap_or(false)
                .then_some(())
        });
    }

    /// Waits until the document that held `old` (its root element) is gone and the next one
    /// has loaded: for a browser that does not wait for page loads itself.
    fn await_new_page(&self, old: &Element) {
        self.wait_until("the next page to load", Duration::from_secs(60), |b| {
            let gone = matches!(
                b.try_cmd("GET", &format!("/element/{}/name", old.id), Value::Null),
                Err(e) if e.code.contains("stale") || e.code.contains("no such element")
            );
            let loaded = gone
                && b.try_cmd(
                    "POST",
                    "/execute/sync",
                    json!({ "script": "return document.readyState === 'complete';", "args": [] }),
                )
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            loaded.then_some(())
        });
    }

    /// Opens `url` and waits for it to load (whatever the page-load strategy).
    pub fn open_page(&self, url: &str) {
        // The browser's first tab may still be settling and have no document to hold on to;
        // then the new page is waited for by its address.
        match self.try_find("html") {
            Some(old) => {
                self.goto(url);
                self.await_new_page(&old);
            }
            None => {
                self.goto(url);
                self.wait_until("the first page to load", Duration::from_secs(60), |b| {
                    let js = json!({
                        "script": "return document.readyState === 'complete' ? location.protocol : '';",
                        "args": [],
                    });
                    // Loaded, and no longer the browser's own start page (a data: address is
                    // not given back as it was typed, so the scheme is what is compared).
                    let at = b.try_cmd("POST", "/execute/sync", js).ok()?;
                    let scheme = url.split(':').next().unwrap_or_default();
                    (at.as_str() == Some(&format!("{scheme}:"))).then_some(())
                });
            }
        }
    }

    /// Clicks `el` (a link or a form's button) with [`Browser::tap`] and waits for the page
    /// it leads to.
    pub fn click_to_page(&self, el: &Element) {
        let old = self.find("html");
        self.tap(el);
        self.await_new_page(&old);
    }

    /// Clicks `el` as a finger would: a mouse press and release at the centre of its first
    /// box (a link wrapped over two lines has nothing at the centre of both), sent through
    /// the DevTools protocol. chromedriver's own click never returns on a page that may not
    /// run scripts.
    pub fn tap(&self, el: &Element) {
        let centre = self.execute(
            "arguments[0].scrollIntoView({block: 'center'}); const r = arguments[0].getClientRects()[0]; return [r.left + r.width / 2, r.top + r.height / 2];",
            vec![Browser::arg(el)],
        );
        let (Some(x), Some(y)) = (centre[0].as_f64(), centre[1].as_f64()) else {
            panic!("no position for `{}`: {centre}", el.css);
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.cmd(
                "POST",
                "/goog/cdp/execute",
                json!({ "cmd": "Input.dispatchMouseEvent", "params": {
                    "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1,
                }}),
            );
        }
    }

    /// axe-core's serious and critical violations on the open page (`axe`: its source,
    /// from [`axe_source`]), one line each.
    pub fn axe_serious(&self, axe: &str, page: &str) -> Vec<String> {
        self.execute(
            &format!("{axe}\n;window.__axe = null; axe.run(document, {{ resultTypes: ['violations'] }}).then(function (r) {{ window.__axe = r.violations; }});"),
            vec![],
        );
        let violations = self.wait_until(&format!("axe on {page}"), Duration::from_secs(60), |b| {
            let v = b.execute("return window.__axe;", vec![]);
            (!v.is_null()).then_some(v)
        });
        violations
            .as_array()
            .expect("violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{} ({}): {}",
                    v["id"],
                    v["impact"],
                    v["nodes"]
                        .as_array()
                        .map(|n| n
                            .iter()
                            .take(3)
                            .map(|n| n["html"].to_string())
                            .collect::<Vec<_>>()
                            .join(" | "))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    /// Types `text` into the element (appending to what it holds).
    pub fn send_keys(&self, el: &Element, text: &str) {
        self.el_cmd(el, "POST", "/value", json!({ "text": text }));
    }

    /// Empties an input or textarea.
    pub fn clear(&self, el: &Element) {
        self.el_cmd(el, "POST", "/clear", json!({}));
    }

    /// Selects the option with `value` of the select matching `select_css` by clicking it
    /// (in a multiple select, clicking toggles, so it clicks again if it ended unselected).
    pub fn select_option(&self, select_css: &str, value: &str) {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        let css = format!("{select_css} option[value=\"{escaped}\"]");
        let opt = self.find(&css);
        self.click(&opt);
        if !self.is_selected(&opt) {
            self.click(&opt);
        }
        assert!(
            self.is_selected(&opt),
            "option `{css}` is not selected after clicking it{}",
            self.context()
        );
    }

    pub fn is_displayed(&self, el: &Element) -> bool {
        self.el_cmd(el, "GET", "/displayed", Value::Null)
            .as_bool()
            .unwrap_or(false)
    }

    pub fn is_selected(&self, el: &Element) -> bool {
        self.el_cmd(el, "GET", "/selected", Value::Null)
            .as_bool()
            .unwrap_or(false)
    }

    /// The rendered (visible) text of the element.
    pub fn text(&self, el: &Element) -> String {
        self.el_cmd(el, "GET", "/text", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Rendered text of the first element matching `css`, if any (no panic).
    pub fn try_text(&self, css: &str) -> Option<String> {
        let el = self.try_find(css)?;
        self.try_cmd("GET", &format!("/element/{}/text", el.id), Value::Null)
            .ok()?
            .as_str()
            .map(String::from)
    }

    /// The element's lower-case tag name.
    pub fn tag_name(&self, el: &Element) -> String {
        self.el_cmd(el, "GET", "/name", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
    }

    /// An HTML attribute; None if absent.
    pub fn attribute(&self, el: &Element, name: &str) -> Option<String> {
        let v = self.el_cmd(el, "GET", &format!("/attribute/{name}"), Value::Null);
        match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }

    /// A DOM property (e.g. `value`, `href` resolved to an absolute URL); None if null.
    pub fn property(&self, el: &Element, name: &str) -> Option<String> {
        let v = self.el_cmd(el, "GET", &format!("/property/{name}"), Value::Null);
        match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }

    fn el_cmd(&self, el: &Element, method: &str, path: &str, body: Value) -> Value {
        self.try_cmd(method, &format!("/element/{}{path}", el.id), body)
            .unwrap_or_else(|e| {
                panic!(
                    "WebDriver {method} {path} on `{}` failed: {e}{}",
                    el.css,
                    self.context()
                )
            })
    }
}
