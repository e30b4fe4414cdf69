//! The admin UI and API over HTTP: authentication, CSRF, rate limiting, roles, OpenAPI,
//! languages, metrics. (The real-browser walk-through is tests/browser.rs.)

#[path = "support/mod.rs"]
mod support;

use ilm_node::edge::routes::{Route, Verb, all};
use serde_json::{Value, json};
use support::*;

fn base(node: &Node) -> String {
    format!(
        "http://{}",
        std::fs::read_to_string(node.dir.join("admin.addr"))
            .expect("addr")
            .trim()
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Logs in with the form; returns the session cookie.
fn login(node: &Node, name: &str, password: &str) -> Result<String, u16> {
    let res = agent()
        .post(format!("{}/login", base(node)))
        .content_type("application/x-www-form-urlencoded")
        .send(format!("username={name}&password={password}"))
        .expect("post");
    if res.status().as_u16() != 303 {
        return Err(res.status().as_u16());
    }
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    Ok(cookie.split(';').next().expect("pair").to_string())
}

fn csrf_of(node: &Node, cookie: &str) -> String {
    let mut res = agent()
        .get(format!("{}/network", base(node)))
        .header("Cookie", cookie)
        .call()
        .expect("get");
    let html = res.body_mut().read_to_string().expect("html");
    let start = html
        .find("name=\"csrf-token\" content=\"")
        .expect("csrf meta")
        + 27;
    html[start..start + 64].to_string()
}

fn status_of(
    node: &Node,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: Option<Value>,
) -> u16 {
    let url = format!("{}{}", base(node), path);
    let a = agent();
    let res = if method == "GET" {
        let mut r = a.get(url);
        if let Some(c) = cookie {
            r = r.header("Cookie", c);
        }
        r.call()
    } else {
        let mut r = a.post(url);
        if let Some(c) = cookie {
            r = r.header("Cookie", c);
        }
        if let Some(t) = csrf {
            r = r.header("X-CSRF-Token", t);
        }
        r.send_json(body.unwrap_or(json!({})))
    };
    res.expect("request").status().as_u16()
}

const PAGES: &[&str] = &[
    "/",
    "/dashboard",
    "/cases",
    "/intake",
    "/inbox",
    "/supply-chain",
    "/network",
];

#[test]
fn without_a_session_everything_is_refused_and_csrf_is_enforced() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.start();
    // Every API route of the OpenAPI document, and every page, without credentials.
    let doc = cso.get("/api/openapi.json");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 25);
    for (path, ops) in paths {
        if path == "/api/hello" {
            // Public by design: the daemon's proof for the CLI, which reveals nothing.
            continue;
        }
        let concrete = path
            .replace("{case}", &"ab".repeat(16))
            .replace("{id}", &"cd".repeat(16))
            .replace("{name}", "alice");
        for method in ops.as_object().expect("ops").keys() {
            let code = status_of(&cso, &method.to_uppercase(), &concrete, None, None, None);
            assert_eq!(code, 401, "{method} {path} without a session");
        }
    }
    for page in PAGES {
        let code = status_of(&cso, "GET", page, None, None, None);
        assert_eq!(code, 303, "{page} should redirect to the login page");
    }
    assert_eq!(status_of(&cso, "GET", "/metrics", None, None, None), 401);
    // With a session: state changes need the CSRF token.
    cso.add_operator("alice", "admin", "correct horse battery");
    let cookie = login(&cso, "alice", "correct horse battery").expect("login");
    let contact = json!({
        "channel": "line", "language": "my", "nationality": "MM", "gender": "female", "age_band": "25_34",
        "sector": "seafood", "origin": "MM", "destination": "TH", "identity": { "name": "A" }, "notes": ""
    });
    assert_eq!(
        status_of(
            &cso,
            "POST",
            "/api/contacts",
            Some(&cookie),
            None,
            Some(contact.clone())
        ),
        403
    );
    assert_eq!(
        status_of(
            &cso,
            "POST",
            "/api/contacts",
            Some(&cookie),
            Some(&"0".repeat(64)),
            Some(contact.clone())
        ),
        403
    );
    assert!(
        cso.get("/api/contacts")["contacts"]
            .as_array()
            .expect("list")
            .is_empty(),
        "nothing was recorded"
    );
    let csrf = csrf_of(&cso, &cookie);
    assert_eq!(
        status_of(
            &cso,
            "POST",
            "/api/contacts",
            Some(&cookie),
            Some(&csrf),
            Some(contact)
        ),
        200
    );
    // An intake form's key: the same content again is the same contact; other content under
    // the same key is a conflict (a corrected retry must not return the old contact); another
    // key is a new contact.
    let keyed = |name: &str, key: &str| {
        json!({
            "channel": "line", "language": "my", "nationality": "MM", "gender": "female",
            "age_band": "25_34", "sector": "seafood", "origin": "MM", "destination": "TH",
            "identity": { "name": name }, "notes": "", "idempotency_key": key,
        })
    };
    let first = cso.post("/api/contacts", &keyed("Keyed Worker", "form-key-0001"))["id"].clone();
    assert_eq!(
        cso.post("/api/contacts", &keyed("Keyed Worker", "form-key-0001"))["id"],
        first
    );
    let (code, v) = cso.post_raw("/api/contacts", &keyed("Corrected Name", "form-key-0001"));
    assert_eq!(code, 409, "{v}");
    assert_ne!(
        cso.post("/api/contacts", &keyed("Keyed Worker", "form-key-0002"))["id"],
        first
    );
    let (code, _) = cso.post_raw("/api/contacts", &keyed("Keyed Worker", "bad key!"));
    assert_eq!(code, 400, "a malformed key is refused");
    // A worker's name typed into a coded field is refused naming the field and what it
    // takes, never echoing what was typed (the control: the name is in the request).
    for (field, takes) in [
        ("nationality", "two uppercase letters"),
        ("language", "ISO 639 code"),
    ] {
        let mut misplaced = keyed("Kept Worker", "form-key-0003");
        misplaced[field] = json!("Somchai Jaidee");
        assert!(misplaced.to_string().contains("Somchai"));
        let (code, v) = cso.post_raw("/api/contacts", &misplaced);
        let error = v["error"].as_str().unwrap_or_default();
        assert_eq!(code, 400, "{v}");
        assert!(error.contains(field) && error.contains(takes), "{v}");
        assert!(!v.to_string().contains("Somchai"), "{v}");
    }
    // Nor a case reference in a path.
    let (code, body) = cso.get_raw("/api/cases/Somchai-Jaidee");
    assert_eq!(code, 400, "{body}");
    assert!(!body.contains("Somchai"), "{body}");
    // Plain-form logout without the token is refused too.
    let res = agent()
        .post(format!("{}/logout", base(&cso)))
        .header("Cookie", &cookie)
        .content_type("application/x-www-form-urlencoded")
        .send("csrf=wrong")
        .expect("post");
    assert_eq!(res.status().as_u16(), 403);
    // Metrics in the Prometheus text format, behind the session.
    let mut res = agent()
        .get(format!("{}/metrics", base(&cso)))
        .header("Cookie", &cookie)
        .call()
        .expect("get");
    let text = res.body_mut().read_to_string().expect("text");
    assert!(
        text.contains("# TYPE ilm_outbox_pending gauge") && text.contains("ilm_deliveries_total")
    );
}

#[test]
fn wrong_passwords_are_rate_limited() {
    let mut net = Net::new();
    net.steward.start();
    net.steward
        .add_operator("bob", "admin", "the right password");
    for _ in 0..5 {
        assert_eq!(login(&net.steward, "bob", "wrong password"), Err(401));
    }
    // Locked now, even with the right password.
    assert_eq!(login(&net.steward, "bob", "the right password"), Err(429));
}

#[test]
fn openapi_is_valid_and_lists_every_route_the_cli_uses() {
    let mut net = Net::new();
    net.steward.start();
    let doc = net.steward.get("/api/openapi.json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    for (path, ops) in paths {
        assert!(path.starts_with('/'));
        for (method, op) in ops.as_object().expect("ops") {
            assert!(["get", "post"].contains(&method.as_str()));
            assert!(op["responses"]["200"].is_object(), "{method} {path}");
            for param in path.split('/').filter(|s| s.starts_with('{')) {
                let name = param.trim_matches(['{', '}']);
                assert!(
                    op["parameters"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|x| x["name"] == name)),
                    "{path}"
                );
            }
        }
    }
    // Every "/api/..." path literal in the CLI's sources must be documented.
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/commands");
    let mut checked = 0;
    let sources: Vec<String> = std::fs::read_dir(src)
        .expect("commands dir")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    let all_sources = sources.concat();
    for text in &sources {
        for piece in text.split('"').skip(1).step_by(2) {
            let Some(p) = piece.strip_prefix("/api/") else {
                continue;
            };
            let p = format!("/api/{p}");
            let p = p.split('?').next().unwrap_or(&p).to_string();
            if p.contains("{path}") {
                // Generic case steps: the suffixes are the literals passed to case_step.
                let compact: String = all_sources.chars().filter(|c| !c.is_whitespace()).collect();
                let calls: Vec<&str> = compact.split("case_step(dir,&case,\"").skip(1).collect();
                assert!(calls.len() >= 4, "expected the case steps of the CLI");
                for call in calls {
                    let suffix = call.split('"').next().unwrap_or_default();
                    let templ = p.replace("{path}", suffix);
                    assert!(
                        paths.contains_key(&templ),
                        "the CLI uses {templ}, which the OpenAPI document lacks"
                    );
                    checked += 1;
                }
                continue;
            }
            assert!(
                paths.contains_key(&p),
                "the CLI uses {p}, which the OpenAPI document lacks"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "found only {checked} CLI routes");
}

#[test]
fn switching_language_changes_the_page_and_intake_operators_cannot_read_cases() {
    let (_net, cso, supplier) = Net::with_cso_and_supplier();
    cso.add_operator("carol", "caseworker", "caseworker password");
    cso.add_operator("ivan", "intake", "intake password 1");
    let cookie = login(&cso, "carol", "caseworker password").expect("login");
    let csrf = csrf_of(&cso, &cookie);
    let page = |c: &str, path: &str| -> (u16, String) {
        let mut res = agent()
            .get(format!("{}{path}", base(&cso)))
            .header("Cookie", c)
            .call()
            .expect("get");
        let code = res.status().as_u16();
        (code, res.body_mut().read_to_string().unwrap_or_default())
    };
    let (_, en) = page(&cookie, "/dashboard");
    assert!(en.contains("<html lang=\"en\">") && en.contains("Dashboard"));
    let res = agent()
        .post(format!("{}/lang", base(&cso)))
        .header("Cookie", &cookie)
        .content_type("application/x-www-form-urlencoded")
        .send(format!("csrf={csrf}&lang=th"))
        .expect("post");
    assert_eq!(res.status().as_u16(), 303);
    let (_, th) = page(&cookie, "/dashboard");
    assert!(th.contains("<html lang=\"th\">"));
    assert!(
        !th.contains(">Dashboard<") && th.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c)),
        "no Thai text"
    );
    // A case recorded by the caseworker.
    let case = {
        let id = cso.post("/api/contacts", &json!({
            "channel": "line", "language": "my", "nationality": "MM", "gender": "female", "age_band": "25_34",
            "sector": "seafood", "origin": "MM", "destination": "TH", "identity": { "name": "Not For Intake" }, "notes": ""
        }))["id"].as_str().expect("id").to_string();
        cso.post("/api/local-cases", &json!({ "contacts": [id], "workers": 1, "issues": [{ "category": "deception" }], "site": "x", "supplier": supplier.org_id }))["case_ref"]
            .as_str()
            .expect("case")
            .to_string()
    };
    let intake = login(&cso, "ivan", "intake password 1").expect("intake login");
    let (code, _) = page(&intake, &format!("/cases/{case}"));
    assert_eq!(code, 403, "UI case page");
    assert_eq!(
        status_of(
            &cso,
            "GET",
            &format!("/api/cases/{case}"),
            Some(&intake),
            None,
            None
        ),
        403
    );
    assert_eq!(
        status_of(&cso, "GET", "/api/local-cases", Some(&intake), None, None),
        403
    );
    let (code, html) = page(&intake, "/intake");
    assert_eq!(code, 200);
    assert!(html.contains("intake-form"));
    // It sees no contact it did not record, through the list or by id.
    let mut res = agent()
        .get(format!("{}/api/contacts", base(&cso)))
        .header("Cookie", &intake)
        .call()
        .expect("get");
    let v: Value = res.body_mut().read_json().expect("json");
    assert!(v["contacts"].as_array().expect("list").is_empty());
    let all = cso.get("/api/contacts");
    let other = all["contacts"][0]["id"].as_str().expect("id");
    assert_eq!(
        status_of(
            &cso,
            "GET",
            &format!("/api/contacts/{other}"),
            Some(&intake),
            None,
            None
        ),
        404
    );
}

/// A request's status and body, with a session cookie and its CSRF token.
fn call(node: &Node, verb: Verb, path: &str, cookie: Option<&str>, csrf: &str) -> (u16, String) {
    let url = format!("{}{}", base(node), path);
    let res = match verb {
        Verb::Get => {
            let mut r = agent().get(url);
            if let Some(c) = cookie {
                r = r.header("Cookie", c);
            }
            r.call()
        }
        Verb::Post => {
            let mut r = agent().post(url).header("X-CSRF-Token", csrf);
            if let Some(c) = cookie {
                r = r.header("Cookie", c);
            }
            r.send_json(json!({}))
        }
    };
    let mut res = res.expect("request");
    let code = res.status().as_u16();
    (code, res.body_mut().read_to_string().unwrap_or_default())
}

/// The route table drives the router and the policy: every route it names is served, and
/// served only to the roles its permission names, for every role.
#[test]
fn every_route_of_the_table_is_served_with_its_permission() {
    use ilm_node::access::{OperatorRole, Permission};
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.start();
    let roles = [
        ("ada", OperatorRole::Admin, "admin", "/network"),
        ("cas", OperatorRole::Caseworker, "caseworker", "/network"),
        ("rea", OperatorRole::Readonly, "readonly", "/network"),
        ("ina", OperatorRole::Intake, "intake", "/intake"),
    ];
    let mut served = 0;
    let mut refused = 0;
    let mut unoffered = 0;
    for (name, role, role_name, page) in roles {
        cso.add_operator(name, role_name, "a long enough password");
        let cookie = login(&cso, name, "a long enough password").expect("login");
        let mut res = agent()
            .get(format!("{}{page}", base(&cso)))
            .header("Cookie", &cookie)
            .call()
            .expect("page");
        let html = res.body_mut().read_to_string().expect("html");
        let at = html.find("name=\"csrf-token\" content=\"").expect("csrf") + 27;
        let csrf = html[at..at + 64].to_string();
        // Logging out last keeps the session for the other routes.
        let mut routes: Vec<&Route> = all().collect();
        routes.sort_by_key(|r| r.path == "/logout");
        for route in routes {
            let path = route
                .path
                .replace("{case}", &"ab".repeat(16))
                .replace("{id}", &"cd".repeat(16))
                .replace("{name}", name);
            let (code, body) = call(&cso, route.verb, &path, Some(&cookie), &csrf);
            let what = format!("{} {} as {role_name}", route.verb.name(), route.path);
            if route.permission.allows(role) && !route.offered_by(ilm_protocol::Role::Cso) {
                assert!(
                    code == 403 && body.contains("a cso node does not offer this"),
                    "{what}: {code} {body}"
                );
                unoffered += 1;
            } else if route.permission.allows(role) {
                assert_ne!(code, 403, "{what}: refused ({body})");
                assert_ne!(code, 405, "{what}: not routed");
                assert!(
                    !(code == 404 && body.contains("no such route")),
                    "{what}: not routed"
                );
                served += 1;
            } else {
                assert_eq!(code, 403, "{what}: not refused ({body})");
                refused += 1;
            }
        }
        // Positive control: the same session is refused a route that does not exist.
        let (code, body) = call(&cso, Verb::Get, "/api/no-such-route", Some(&cookie), &csrf);
        assert!(code == 404 && body.contains("no such route") || code == 401);
    }
    // Every role met both outcomes but the admin, which holds every permission.
    assert!(
        served > 3 * all().count() / 2 && refused > 20 && unoffered >= 4,
        "{served} served, {refused} refused, {unoffered} not offered"
    );
    // Without a session, only the public routes answer.
    for route in all().filter(|r| r.permission != Permission::Public) {
        let path = route
            .path
            .replace("{case}", "x")
            .replace("{id}", "x")
            .replace("{name}", "x");
        let (code, _) = call(&cso, route.verb, &path, None, "");
        let api = route.path.starts_with("/api/") || route.path == "/metrics";
        let expected = if api || route.verb == Verb::Post {
            401
        } else {
            303
        };
        assert!(
            code == expected || (!api && code == 303),
            "{} {}: {code}",
            route.verb.name(),
            route.path
        );
    }
}
