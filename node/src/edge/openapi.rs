//! The machine-readable description (OpenAPI 3.1) of the JSON API, read from the route
//! table: every API route with its summary and the permission it needs (`x-permission`).

use super::routes::{Verb, all};
use crate::access::Permission;
use serde_json::{Map, Value, json};

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in all().filter(|r| r.is_api()) {
        let (method, path) = (route.verb.name(), route.path);
        let summary = if route.permission == Permission::Public {
            format!("{} (no login)", route.summary)
        } else {
            route.summary.to_string()
        };
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "summary": summary,
            "x-permission": route.permission,
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
        if route.permission == Permission::Public {
            op["security"] = json!([]);
        }
        if route.verb == Verb::Post {
            op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "ILM Network node admin API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Local admin API of one ILM Network node. Authenticate with `Authorization: Bearer <admin token>` (admin.token in the data directory) or a UI session cookie; session requests that change state need the X-CSRF-Token header. Each operation's `x-permission` names who may call it: `operator` any signed-in operator; `read` admin, caseworker and readonly operators; `intake` admin, caseworker and intake operators; `casework` admin and caseworker operators; `admin` admin operators; `token` the admin token alone, never a session. The admin token holds every permission." },
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
