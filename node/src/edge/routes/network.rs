//! The routes of attestations and the supply chain, membership and operators.

use super::*;

/// This section of the table, in the order the table lists it.
pub(super) static ROUTES: &[Route] = &[
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
    route(
        Get,
        "/api/certificates",
        Read,
        "The certificates this node holds (learned, and at a steward issued) and the steward successions it learned (signed records)",
        |m| on(m, api::certificates),
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
];
