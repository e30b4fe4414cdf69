//! Who may do what on the admin listener: the principal making a request, the role policy,
//! sessions, the login limit and the host names the listener answers to. Below the HTTP edge,
//! the API and the pages, which all use it.

mod hosts;
pub mod limiter;
mod sessions;

pub use crate::operators::OperatorRole;
pub use hosts::AllowedHosts;
pub use sessions::{SESSION_COOKIE, SESSION_IDLE, Sessions, session_cookie};

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

/// Who may call a route: each route of the admin listener carries one (see
/// `crate::edge::routes`), and the role policy is nothing but [`Permission::allows`] (and,
/// for [`Permission::Token`], whether the caller used the admin token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// No login: the login form, static assets, the CLI's challenge.
    Public,
    /// Any signed-in operator: its own session, language and password.
    Operator,
    /// Reading what the node shares with the network (no worker identity).
    Read,
    /// Recording worker contacts and reading their identity.
    Intake,
    /// Changing case state, and reading identities disclosed to this node.
    Casework,
    /// Membership (the steward's register) and operator accounts.
    Admin,
    /// Only the node's admin token (the CLI on the node's machine), never a session, not
    /// even an administrator's: backups, which carry the node's keys.
    Token,
}

impl Permission {
    /// Whether an operator of `role` holds this permission.
    pub fn allows(self, role: OperatorRole) -> bool {
        use OperatorRole::*;
        match self {
            Permission::Public | Permission::Operator => true,
            Permission::Read => matches!(role, Readonly | Caseworker | Admin),
            Permission::Intake => matches!(role, Intake | Caseworker | Admin),
            Permission::Casework => matches!(role, Caseworker | Admin),
            Permission::Admin => role == Admin,
            Permission::Token => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_match_the_roles() {
        use OperatorRole::*;
        let roles = [Admin, Caseworker, Readonly, Intake];
        let holders = |p: Permission| -> Vec<OperatorRole> {
            roles.iter().copied().filter(|r| p.allows(*r)).collect()
        };
        assert_eq!(holders(Permission::Public), roles);
        assert_eq!(holders(Permission::Operator), roles);
        assert_eq!(holders(Permission::Read), [Admin, Caseworker, Readonly]);
        assert_eq!(holders(Permission::Intake), [Admin, Caseworker, Intake]);
        assert_eq!(holders(Permission::Casework), [Admin, Caseworker]);
        assert_eq!(holders(Permission::Admin), [Admin]);
        assert_eq!(holders(Permission::Token), []);
    }
}
