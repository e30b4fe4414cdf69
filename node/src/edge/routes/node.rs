//! The routes served without a login, and the node's own: its status, peers and outbox,
//! metrics, the API document, aggregates and scorecards, improvement plans, job listings,
//! ratings and statistics.

use super::*;

/// This section of the table, in the order the table lists it.
pub(super) static ROUTES: &[Route] = &[
    // Public: no login.
    route(Get, "/login", Public, "The login form", |m| {
        on(m, ui::login_page)
    }),
    route(
        Post,
        "/login",
        Public,
        "Log in (form: name, password, csrf)",
        |m| on(m, ui::login),
    ),
    route(Get, "/static/style.css", Public, "The style sheet", |m| {
        on(m, ui::style_css)
    }),
    route(Get, "/static/app.js", Public, "The pages' script", |m| {
        on(m, ui::app_js)
    }),
    route(
        Get,
        "/static/fonts/{name}",
        Public,
        "Thai and Myanmar fonts and their licences (the login page needs them too)",
        |m| on(m, ui::font),
    ),
    route(
        Get,
        "/api/hello",
        Public,
        "Proof that this is the node's daemon: HMAC-SHA256(admin token, \"ilm/v1/admin-hello\\n\" || challenge), before a client sends the token (?challenge=HEX)",
        |m| on(m, api::hello),
    ),
    // The node.
    route(
        Get,
        "/api/status",
        Read,
        "Node status: peers, addresses, outbox depth, membership, counters",
        |m| on(m, api::status),
    ),
    route(Get, "/api/peers", Read, "Admitted member peers", |m| {
        on(m, api::peers)
    }),
    route(
        Get,
        "/api/outbox",
        Read,
        "Outgoing messages and their delivery state (?state=pending|delivered|rejected)",
        |m| on(m, api::outbox),
    ),
    route(
        Get,
        "/metrics",
        Read,
        "Counters in the Prometheus text format",
        |m| on(m, api::metrics),
    ),
    route(Get, "/api/openapi.json", Read, "This document", |m| {
        on(m, api::openapi)
    }),
    route(
        Get,
        "/api/aggregates",
        Read,
        "The aggregates the dashboards read: counts and day histograms, no personal data",
        |m| on(m, api::aggregates::aggregates),
    ),
    route(
        Get,
        "/api/aggregates.csv",
        Read,
        "The same aggregates as a CSV download (cell, value)",
        |m| on(m, api::exports::aggregates_csv),
    ),
    route(
        Get,
        "/api/scorecards",
        Read,
        "A brand's scorecard of each linked supplier, from the status reports it holds",
        |m| on(m, api::aggregates::scorecards),
    ),
    route(
        Get,
        "/api/scorecards.csv",
        Read,
        "The same scorecards as a CSV download",
        |m| on(m, api::aggregates::scorecards_csv),
    ),
    route(
        Get,
        "/api/improvements",
        Read,
        "Improvement-plan activities held: this organisation's own, or those of the suppliers and agencies it buys from or works with",
        |m| on(m, api::improvements::list),
    ),
    route(
        Post,
        "/api/improvements",
        Casework,
        "Record or update an activity of this supplier's or agency's improvement plan, signed and sent to its linked brands and the CSOs it works with (body: id?, kind, title, description, planned_for, completed_at?)",
        |m| on(m, api::improvements::record),
    )
    .only(RESPONDERS),
    route(
        Post,
        "/api/improvements/withdraw",
        Casework,
        "Withdraw an activity from this supplier's or agency's improvement plan, signed and sent to the same organisations (body: id)",
        |m| on(m, api::improvements::withdraw),
    )
    .only(RESPONDERS),
    route(
        Get,
        "/api/listings",
        Read,
        "Job listings held from current publishers: this agency's or supplier's own, or at a CSO those its portal shows, each with the later cases that name fees it does not charge",
        |m| on(m, api::listings::list),
    ),
    route(
        Post,
        "/api/listings",
        Casework,
        "Publish or replace a job listing, signed and sent to every CSO (body: id?, employer, site, job, description, origin, destination, workers_wanted, wage, wage_period, hours_per_week, contract_months, contract_languages, costs, documents_kept_by, days)",
        |m| on(m, api::listings::publish),
    )
    .only(RESPONDERS),
    route(
        Post,
        "/api/listings/withdraw",
        Casework,
        "Take a job listing down (body: id)",
        |m| on(m, api::listings::withdraw),
    )
    .only(RESPONDERS),
    route(
        Get,
        "/api/ratings",
        Read,
        "Workers' ratings published as summaries of at least k: all of them at a CSO or steward, an organisation's own, a brand's linked suppliers'; at a CSO also what it collected",
        |m| on(m, api::ratings::list),
    ),
    route(
        Post,
        "/api/ratings",
        Casework,
        "Record a worker's rating of an employer or agency after a contact, once per contact and organisation (body: contact, org, scores) (CSO)",
        |m| on(m, api::ratings::record),
    )
    .only(CSO),
    route(
        Post,
        "/api/ratings/publish",
        Casework,
        "Publish a signed summary for every organisation with at least k ratings, and k more than the last summary (CSO)",
        |m| on(m, api::ratings::publish),
    )
    .only(CSO),
    route(
        Post,
        "/api/ratings/answer",
        Casework,
        "Publish this supplier's or agency's public answer to its ratings (body: text; empty withdraws it)",
        |m| on(m, api::ratings::answer),
    )
    .only(RESPONDERS),
    route(
        Get,
        "/api/statistics",
        Read,
        "The network-wide picture of published statistics (and, at a CSO, the months it may still publish)",
        |m| on(m, api::statistics::statistics),
    ),
    route(
        Post,
        "/api/statistics/publish",
        Admin,
        "Sign this CSO's statistics of an ended month, small counts suppressed, and send them to every member (once per month; body: month YYYY-MM)",
        |m| on(m, api::statistics::publish),
    )
    .only(CSO),
];
