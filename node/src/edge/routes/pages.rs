//! The web UI's pages.

use super::*;

/// This section of the table, in the order the table lists it.
pub(super) static ROUTES: &[Route] = &[
    // Pages.
    route(Get, "/", Read, "Redirects to the dashboard", |m| {
        on(m, ui::home)
    }),
    route(Post, "/logout", Operator, "Log out", |m| on(m, ui::logout)),
    route(
        Post,
        "/lang",
        Operator,
        "Choose the UI language (form: lang)",
        |m| on(m, ui::set_lang),
    ),
    route(Get, "/dashboard", Read, "Figures and charts", |m| {
        on(m, ui::dashboard)
    }),
    route(Get, "/cases", Read, "The case list", |m| {
        on(m, ui::case_list)
    }),
    route(Get, "/cases.csv", Read, "The case list as CSV", |m| {
        on(m, ui::case_list_csv)
    }),
    route(
        Get,
        "/cases/{case}",
        Read,
        "One case: timeline, obligations and next steps",
        |m| on(m, ui::case_page),
    ),
    route(Get, "/intake", Operator, "The intake desk", |m| {
        on(m, ui::intake)
    }).only(CSO),
    route(
        Get,
        "/contacts",
        Operator,
        "Past contacts and repeat callers (identities only to intake roles)",
        |m| on(m, ui::contacts)
    ).only(CSO),
    route(Get, "/inbox", Read, "Escalations to answer", |m| {
        on(m, ui::inbox)
    }),
    route(
        Get,
        "/supply-chain",
        Read,
        "Linked suppliers and their cases",
        |m| on(m, ui::supply_chain),
    ).only(BRAND),
    route(
        Get,
        "/members",
        Read,
        "The steward's register: requests, issuing, revoking, expiries and peer health",
        |m| on(m, ui::members),
    ).only(STEWARD),
    route(Get, "/network", Read, "Members and peers", |m| {
        on(m, ui::network)
    }),
    route(
        Get,
        "/improvements",
        Read,
        "A supplier's or agency's improvement plan, with forms to add and complete activities",
        |m| on(m, ui::improvements),
    )
    .only(RESPONDERS),
    route(
        Get,
        "/jobs",
        Read,
        "Job listings: a supplier's or agency's own with the form to publish one; at a CSO those its portal shows, contradicted ones first",
        |m| on(m, ui::jobs_page),
    )
    .only(JOB_NODES),
    route(
        Get,
        "/ratings",
        Read,
        "Workers' ratings of employers and agencies, as published; at a CSO what it collected with the forms to record and publish",
        |m| on(m, ui::ratings_page),
    )
    .only(RATING_NODES),
    route(
        Get,
        "/portal",
        Casework,
        "The workers' portal: reports raised through it with their messages, and its know-your-rights pages",
        |m| on(m, ui::portal_page),
    )
    .only(CSO),
    route(
        Get,
        "/statistics",
        Read,
        "Network statistics: what CSOs published, and a CSO's months to publish",
        |m| on(m, ui::statistics_page),
    ),
];
