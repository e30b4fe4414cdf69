//! The one route table of the admin listener: each route's method, path, permission, summary
//! and handler. The router, the role policy and the OpenAPI document are all read from it, so
//! a route cannot be served without a permission, and the description cannot drift.

use crate::access::Permission;
use crate::api::{self, overdue, workflow};
use crate::app::ApiState;
use crate::ui;
use axum::routing::{MethodFilter, MethodRouter, on};
use ilm_protocol::Role;
use std::sync::Arc;

/// An HTTP method the listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Reads (HEAD is answered too).
    Get,
    /// Everything that changes state.
    Post,
}

impl Verb {
    /// The method's name in lower case, as OpenAPI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
        }
    }

    /// A method router answering this method with `handler`.
    pub fn on<H, T>(self, handler: H) -> MethodRouter<Arc<ApiState>>
    where
        H: axum::handler::Handler<T, Arc<ApiState>>,
        T: 'static,
    {
        on(self.filter(), handler)
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
        }
    }
}

/// Builds a route's handler for the method the table names.
type Handler = fn(MethodFilter) -> MethodRouter<Arc<ApiState>>;

/// One route of the admin listener.
pub struct Route {
    /// Its method.
    pub verb: Verb,
    /// Its path, with `{name}` parameters.
    pub path: &'static str,
    /// Who may call it.
    pub permission: Permission,
    /// What it does, for the OpenAPI document.
    pub summary: &'static str,
    /// The node roles that offer it (`None`: every node).
    pub nodes: Option<&'static [Role]>,
    handler: Handler,
}

impl Route {
    /// The method router serving this route (without the permission check).
    pub fn handler(&self) -> MethodRouter<Arc<ApiState>> {
        (self.handler)(self.verb.filter())
    }

    /// Whether a node of `role` offers this route (others answer that they do not).
    pub fn offered_by(&self, role: Role) -> bool {
        self.nodes.is_none_or(|roles| roles.contains(&role))
    }

    const fn only(mut self, roles: &'static [Role]) -> Route {
        self.nodes = Some(roles);
        self
    }

    /// Whether this route belongs to the JSON API (and so to the OpenAPI document).
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/") || self.path == "/metrics"
    }
}

const fn route(
    verb: Verb,
    path: &'static str,
    permission: Permission,
    summary: &'static str,
    handler: Handler,
) -> Route {
    Route {
        verb,
        path,
        permission,
        summary,
        nodes: None,
        handler,
    }
}

use Permission::{Admin, Casework, Intake, Operator, Public, Read, Token};
use Verb::{Get, Post};

const CSO: &[Role] = &[Role::Cso];
const BRAND: &[Role] = &[Role::Brand];
const STEWARD: &[Role] = &[Role::Steward];
const RESPONDERS: &[Role] = &[Role::Supplier, Role::Agency];
const AGENCY: &[Role] = &[Role::Agency];
const JOB_NODES: &[Role] = &[Role::Cso, Role::Supplier, Role::Agency];
const RATING_NODES: &[Role] = &[Role::Cso, Role::Brand, Role::Supplier, Role::Agency];

/// Every route the admin listener serves.
pub static ROUTES: &[Route] = &[
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
    // Cases.
    route(
        Get,
        "/api/cases",
        Read,
        "Cases this node takes part in",
        |m| on(m, api::list_cases),
    ),
    route(
        Get,
        "/api/cases/export",
        Read,
        "Every case the query selects (as /api/cases, pages aside), streamed as ?format=csv or json",
        |m| on(m, api::exports::cases_export),
    ),
    route(
        Post,
        "/api/cases",
        Casework,
        "Open a case by escalating (body: {escalation})",
        |m| on(m, api::open_case),
    ),
    route(
        Get,
        "/api/cases/{case}",
        Read,
        "A case with its signed timeline, state and allowed next steps",
        |m| on(m, api::show_case),
    ),
    route(
        Post,
        "/api/cases/{case}/events",
        Casework,
        "Append an event authored by this node (body: {event, at?})",
        |m| on(m, api::append_event),
    ),
    route(
        Post,
        "/api/cases/{case}/consent",
        Casework,
        "Record, per worker, consent for their identity to go to one recipient (CSO; body: {recipient, contacts})",
        |m| on(m, workflow::record_consent),
    ).only(CSO),
    route(
        Post,
        "/api/cases/{case}/consent/withdraw",
        Casework,
        "Withdraw workers' consent for one recipient (CSO; body: {recipient, contacts})",
        |m| on(m, workflow::withdraw_consent),
    ).only(CSO),
    route(
        Post,
        "/api/cases/{case}/escalate",
        Casework,
        "Escalate a local case, redacted; identity only with consent (CSO)",
        |m| on(m, workflow::escalate),
    ).only(CSO),
    route(
        Post,
        "/api/cases/{case}/verify",
        Casework,
        "Record the workers' verdict; reopens or drafts the attestation (CSO)",
        |m| on(m, workflow::verify),
    ).only(CSO),
    route(
        Get,
        "/api/inbox",
        Read,
        "Escalations addressed to this node, with due dates: what it owes, soonest due first, then the rest, newest first (?page=, ?per_page= 1 to 10000, default 25)",
        |m| on(m, workflow::inbox),
    ),
    route(
        Get,
        "/api/overdue",
        Read,
        "Overdue acknowledgements and remediations visible to this node, most overdue first (?limit=, default 500), with the cases each organisation owes something overdue in",
        |m| on(m, overdue::overdue),
    ),
    // Intake (CSO).
    route(
        Get,
        "/api/contacts",
        Operator,
        "Worker contacts, without personal data (CSO; intake operators see their own)",
        |m| on(m, workflow::list_contacts),
    ).only(CSO),
    route(
        Post,
        "/api/contacts",
        Intake,
        "Record a worker contact; identity sealed at rest (CSO)",
        |m| on(m, workflow::add_contact),
    ).only(CSO),
    route(
        Get,
        "/api/contacts.csv",
        Read,
        "Worker contacts as a CSV download, without personal data (CSO)",
        |m| on(m, api::exports::contacts_csv),
    ).only(CSO),
    route(
        Get,
        "/api/contacts-with-identities.csv",
        Intake,
        "Worker contacts with the workers' identities as a CSV download (CSO; only with ?confirm=yes; logged with the operator's name)",
        |m| on(m, api::exports::contacts_with_identities_csv),
    ).only(CSO),
    route(
        Get,
        "/api/contacts/{id}",
        Intake,
        "One contact with the worker's identity (CSO)",
        |m| on(m, workflow::show_contact),
    ).only(CSO),
    route(
        Post,
        "/api/backup",
        Token,
        "A consistent snapshot of the node (database and data-directory files) for `ilm backup`, which seals it (admin token only, never a browser session)",
        |m| on(m, api::backup::backup),
    ),
    route(
        Post,
        "/api/contacts/{id}/erase",
        Admin,
        "Erase a contact's identity and notes at the worker's request (CSO; signed case events stay)",
        |m| on(m, workflow::erase_contact),
    ).only(CSO),
    route(
        Get,
        "/api/portal/threads",
        Casework,
        "Reports raised through the workers' portal, those awaiting an answer first (CSO)",
        |m| on(m, api::portal::list_threads),
    ).only(CSO),
    route(
        Get,
        "/api/portal/threads/{id}",
        Casework,
        "One portal report's messages, by its contact id (CSO)",
        |m| on(m, api::portal::show_thread),
    ).only(CSO),
    route(
        Post,
        "/api/portal/threads/{id}/reply",
        Casework,
        "Answer a worker on the portal (body: text) (CSO)",
        |m| on(m, api::portal::reply),
    ).only(CSO),
    route(
        Get,
        "/api/portal/rights",
        Read,
        "The know-your-rights pages the portal shows (CSO)",
        |m| on(m, api::portal::list_rights),
    ).only(CSO),
    route(
        Post,
        "/api/portal/rights",
        Casework,
        "Write a know-your-rights page for a corridor and language, replacing that one (CSO)",
        |m| on(m, api::portal::save_rights),
    ).only(CSO),
    route(
        Post,
        "/api/portal/rights/delete",
        Casework,
        "Delete a know-your-rights page (body: origin, destination, language) (CSO)",
        |m| on(m, api::portal::delete_rights),
    ).only(CSO),
    route(
        Get,
        "/api/portal/alerts",
        Read,
        "The broker alerts held (this CSO's and other CSOs', expired ones too) and the proposals waiting for review (CSO)",
        |m| on(m, api::portal::list_alerts),
    ).only(CSO),
    route(
        Post,
        "/api/portal/alerts",
        Casework,
        "Publish a broker alert, signed, to every CSO's portal (body: origin, destination, language, title, body, days) (CSO)",
        |m| on(m, api::portal::publish_alert),
    ).only(CSO),
    route(
        Post,
        "/api/portal/alerts/delete",
        Casework,
        "Take one of this CSO's broker alerts down on every portal (body: id) (CSO)",
        |m| on(m, api::portal::delete_alert),
    ).only(CSO),
    route(
        Post,
        "/api/portal/alerts/proposals/approve",
        Casework,
        "Publish an agency's proposed broker alert after review, signed, to every CSO's portal (body: proposer, id) (CSO)",
        |m| on(m, api::portal::approve_proposal),
    ).only(CSO),
    route(
        Post,
        "/api/portal/alerts/proposals/decline",
        Casework,
        "Decline an agency's proposed broker alert (body: proposer, id) (CSO)",
        |m| on(m, api::portal::decline_proposal),
    ).only(CSO),
    route(
        Get,
        "/api/alerts",
        Read,
        "The broker alerts this agency proposed, and whether each was published (agency)",
        |m| on(m, api::portal::list_alerts),
    ).only(AGENCY),
    route(
        Post,
        "/api/alerts/propose",
        Casework,
        "Propose a broker alert to a CSO, which reviews it before it is published (body: to, origin, destination, language, title, body, days) (agency)",
        |m| on(m, api::portal::propose_alert),
    ).only(AGENCY),
    route(
        Get,
        "/api/local-cases",
        Read,
        "The CSO's own case records",
        |m| on(m, workflow::list_local_cases),
    ).only(CSO),
    route(
        Post,
        "/api/local-cases",
        Casework,
        "Open a case from contacts (CSO)",
        |m| on(m, workflow::open_local_case),
    ).only(CSO),
    route(
        Get,
        "/api/disclosures",
        Casework,
        "Worker identities disclosed to this node with consent",
        |m| on(m, workflow::list_disclosures),
    ),
    // Attestations and the supply chain.
    route(
        Get,
        "/api/attestations",
        Read,
        "Attestations held: drafts and complete",
        |m| on(m, workflow::list_attestations),
    ),
    route(
        Post,
        "/api/attestations/{case}/cosign",
        Casework,
        "Co-sign an attestation draft (remediating party)",
        |m| on(m, workflow::cosign),
    ),
    route(
        Get,
        "/api/attestations/{case}/bundle",
        Read,
        "The verifiable bundle of a complete attestation",
        |m| on(m, workflow::bundle),
    ),
    route(Get, "/api/links", Read, "Supply-chain links", |m| {
        on(m, workflow::list_links)
    }),
    route(
        Post,
        "/api/links",
        Casework,
        "Propose a link (upstream side)",
        |m| on(m, workflow::propose_link),
    ),
    route(
        Post,
        "/api/links/{id}/accept",
        Casework,
        "Accept a proposed link (downstream side)",
        |m| on(m, workflow::accept_link),
    ),
    route(
        Get,
        "/api/supply-chain",
        Read,
        "A brand's linked suppliers and agencies, their attestations and a page of each one's cases (supplier, page, per_page)",
        |m| on(m, workflow::supply_chain),
    ).only(BRAND),
    // Membership.
    route(
        Get,
        "/api/members",
        Read,
        "The steward's register, or the members this node knows",
        |m| on(m, api::members),
    ),
    route(
        Post,
        "/api/members/review",
        Admin,
        "Check a membership request and show what it asks for, without issuing (steward)",
        |m| on(m, api::review_request),
    ).only(STEWARD),
    route(
        Post,
        "/api/members/issue",
        Admin,
        "Issue a membership certificate for a request (steward)",
        |m| on(m, api::issue),
    ).only(STEWARD),
    route(
        Post,
        "/api/members/revoke",
        Admin,
        "Revoke a member (steward)",
        |m| on(m, api::revoke),
    ).only(STEWARD),
    route(
        Get,
        "/api/revocations",
        Read,
        "Revocations this node knows",
        |m| on(m, api::revocations),
    ),
    // Operators.
    route(
        Get,
        "/api/operators",
        Admin,
        "Operator accounts of the admin UI",
        |m| on(m, api::list_operators),
    ),
    route(
        Post,
        "/api/operators",
        Admin,
        "Add an operator (body: {name, role, password})",
        |m| on(m, api::add_operator),
    ),
    route(
        Post,
        "/api/operators/{name}/disabled",
        Admin,
        "Disable or enable an operator's login; its sessions end (body: {disabled})",
        |m| on(m, api::disable_operator),
    ),
    route(
        Post,
        "/api/operators/{name}/password",
        Operator,
        "Set an operator's password; its sessions end (an admin, or the operator itself; body: {password})",
        |m| on(m, api::set_password),
    ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_method_and_path_appears_once() {
        let mut seen = HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.verb, r.path)),
                "{} {} twice",
                r.verb.name(),
                r.path
            );
        }
    }

    #[test]
    fn only_login_assets_and_the_challenge_are_public() {
        let public: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.permission == Permission::Public)
            .map(|r| r.path)
            .collect();
        assert_eq!(
            public,
            [
                "/login",
                "/login",
                "/static/style.css",
                "/static/app.js",
                "/static/fonts/{name}",
                "/api/hello"
            ]
        );
    }

    #[test]
    fn state_changes_need_more_than_reading() {
        for r in ROUTES.iter().filter(|r| r.verb == Verb::Post) {
            assert_ne!(r.permission, Permission::Read, "POST {}", r.path);
        }
    }
}
