//! The machine-readable description (OpenAPI 3.1) of the JSON API.

use serde_json::{Map, Value, json};

/// Every API route: method, path (OpenAPI template syntax), summary.
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "get",
        "/api/status",
        "Node status: peers, addresses, outbox depth, membership, counters",
    ),
    ("get", "/api/peers", "Admitted member peers"),
    (
        "get",
        "/api/outbox",
        "Outgoing messages and their delivery state (?state=pending|delivered|rejected)",
    ),
    ("get", "/api/cases", "Cases this node takes part in"),
    (
        "post",
        "/api/cases",
        "Open a case by escalating (body: {escalation})",
    ),
    (
        "get",
        "/api/cases/{case}",
        "A case with its signed timeline",
    ),
    (
        "post",
        "/api/cases/{case}/events",
        "Append an event authored by this node (body: {event, at?})",
    ),
    (
        "post",
        "/api/cases/{case}/consent",
        "Record, per worker, consent for their identity to go to one recipient (CSO; body: {recipient, contacts})",
    ),
    (
        "post",
        "/api/cases/{case}/consent/withdraw",
        "Withdraw workers' consent for one recipient (CSO; body: {recipient, contacts})",
    ),
    (
        "post",
        "/api/cases/{case}/escalate",
        "Escalate a local case, redacted; identity only with consent (CSO)",
    ),
    (
        "post",
        "/api/cases/{case}/verify",
        "Record the workers' verdict; reopens or drafts the attestation (CSO)",
    ),
    (
        "get",
        "/api/members",
        "The steward's register, or the members this node knows",
    ),
    (
        "post",
        "/api/members/issue",
        "Issue a membership certificate for a request (steward)",
    ),
    ("post", "/api/members/revoke", "Revoke a member (steward)"),
    ("get", "/api/revocations", "Revocations this node knows"),
    (
        "get",
        "/api/contacts",
        "Worker contacts, without personal data (CSO)",
    ),
    (
        "post",
        "/api/contacts",
        "Record a worker contact; identity sealed at rest (CSO)",
    ),
    (
        "get",
        "/api/contacts/{id}",
        "One contact with the worker's identity (CSO)",
    ),
    ("get", "/api/local-cases", "The CSO's own case records"),
    (
        "post",
        "/api/local-cases",
        "Open a case from contacts (CSO)",
    ),
    (
        "get",
        "/api/inbox",
        "Escalations addressed to this node, with due dates",
    ),
    (
        "get",
        "/api/overdue",
        "Overdue acknowledgements and remediations visible to this node",
    ),
    (
        "get",
        "/api/attestations",
        "Attestations held: drafts and complete",
    ),
    (
        "post",
        "/api/attestations/{case}/cosign",
        "Co-sign an attestation draft (remediating party)",
    ),
    (
        "get",
        "/api/attestations/{case}/bundle",
        "The verifiable bundle of a complete attestation",
    ),
    ("get", "/api/links", "Supply-chain links"),
    ("post", "/api/links", "Propose a link (upstream side)"),
    (
        "post",
        "/api/links/{id}/accept",
        "Accept a proposed link (downstream side)",
    ),
    (
        "get",
        "/api/supply-chain",
        "A brand's linked suppliers, their cases and attestations",
    ),
    (
        "get",
        "/api/disclosures",
        "Worker identities disclosed to this node with consent",
    ),
    (
        "get",
        "/api/operators",
        "Operator accounts of the admin UI (admin)",
    ),
    ("post", "/api/operators", "Add an operator (admin)"),
    (
        "post",
        "/api/operators/{name}/disabled",
        "Disable or enable an operator's login; its sessions end (admin; body: {disabled})",
    ),
    (
        "post",
        "/api/operators/{name}/password",
        "Set an operator's password; its sessions end (admin, or the operator itself; body: {password})",
    ),
    (
        "get",
        "/api/hello",
        "Proof that this is the node's daemon: HMAC-SHA256(admin token, \"ilm/v1/admin-hello\\n\" || challenge), before a client sends the token (no login; ?challenge=HEX)",
    ),
    ("get", "/api/openapi.json", "This document"),
];

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, summary) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "summary": summary,
            "operationId": format!("{method}{}", path.replace(['/', '{', '}', '.', '-'], "_")),
            "responses": {
                "200": { "description": "Success", "content": { "application/json": { "schema": { "type": "object" } } } },
                "400": { "$ref": "#/components/responses/Error" },
                "401": { "$ref": "#/components/responses/Error" },
                "403": { "$ref": "#/components/responses/Error" },
                "404": { "$ref": "#/components/responses/Error" },
            },
        });
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        if *method == "post" {
            op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "ILM Network node admin API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Local admin API of one ILM Network node. Authenticate with `Authorization: Bearer <admin token>` (admin.token in the data directory) or a UI session cookie; session requests that change state need the X-CSRF-Token header." },
        "servers": [{ "url": "/" }],
        "security": [{ "adminToken": [] }, { "session": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminToken": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": "ilm_session" },
            },
            "responses": {
                "Error": { "description": "An error with a clear message", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } } } } },
            },
        },
    })
}
