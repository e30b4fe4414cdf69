//! Who may do what on the admin listener: the principal making a request, the role policy,
//! sessions, the login limit and the host names the listener answers to. Below the HTTP edge,
//! the API and the pages, which all use it.

mod hosts;
pub mod limiter;
mod sessions;

pub use crate::operators::OperatorRole;
pub use hosts::AllowedHosts;
pub use sessions::{SESSION_COOKIE, SESSION_IDLE, Sessions, session_cookie};

use axum::http::Method;

/// Who is making a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Operator name ("admin-token" for the node's admin token).
    pub name: String,
    /// Role.
    pub role: OperatorRole,
    /// The session, for cookie-authenticated requests.
    pub session: Option<String>,
    /// The session's CSRF token ("" for token-authenticated requests).
    pub csrf: String,
    /// UI language.
    pub lang: String,
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `role` may make this request (the server-side policy).
pub fn allowed(role: OperatorRole, method: &Method, path: &str) -> bool {
    let read = method == Method::GET || method == Method::HEAD;
    // Every operator may change its own password (the handler refuses anyone else's).
    let own_password = method == Method::POST
        && path.starts_with("/api/operators/")
        && path.ends_with("/password");
    let session_ops = matches!(path, "/logout" | "/lang") || own_password;
    match role {
        OperatorRole::Admin => true,
        OperatorRole::Caseworker => {
            session_ops
                || !(path.starts_with("/api/members/issue")
                    || path.starts_with("/api/members/revoke")
                    || path.starts_with("/api/operators"))
        }
        OperatorRole::Readonly => {
            session_ops
                || (read
                    && !path.starts_with("/api/contacts/")
                    && !path.starts_with("/api/disclosures")
                    && !path.starts_with("/api/operators"))
        }
        OperatorRole::Intake => {
            session_ops
                || path == "/intake"
                || path == "/api/contacts"
                || (read && path.starts_with("/api/contacts/"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_matches_the_roles() {
        use OperatorRole::*;
        let get = Method::GET;
        let post = Method::POST;
        assert!(allowed(Admin, &post, "/api/members/revoke"));
        assert!(!allowed(Caseworker, &post, "/api/members/revoke"));
        assert!(allowed(Caseworker, &post, "/api/cases/x/escalate"));
        assert!(allowed(Readonly, &get, "/api/cases"));
        assert!(!allowed(Readonly, &post, "/api/contacts"));
        assert!(!allowed(Readonly, &get, "/api/contacts/abc"));
        assert!(allowed(Intake, &post, "/api/contacts"));
        assert!(allowed(Intake, &get, "/intake"));
        assert!(!allowed(Intake, &get, "/api/cases"));
        assert!(!allowed(Intake, &get, "/cases/abc"));
        assert!(!allowed(Intake, &get, "/dashboard"));
    }
}
