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

/// Every route the admin listener serves, section by section (each in a module of its own).
pub fn all() -> impl Iterator<Item = &'static Route> {
    [node::ROUTES, cases::ROUTES, network::ROUTES, pages::ROUTES]
        .into_iter()
        .flatten()
}

mod cases;
mod network;
mod node;
mod pages;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_method_and_path_appears_once() {
        let mut seen = HashSet::new();
        for r in all() {
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
        let public: Vec<&str> = all()
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
        for r in all().filter(|r| r.verb == Verb::Post) {
            assert_ne!(r.permission, Permission::Read, "POST {}", r.path);
        }
    }
}
