//! Member names for the CLI: `--to` and friends accept a member's name as well as its id, and
//! lists show counterparties by name.

use crate::client::AdminClient;
use anyhow::{Result, bail};
use ilm_protocol::OrgId;
use serde_json::Value;

/// The members this node knows, by id and name.
pub struct Directory {
    members: Vec<(OrgId, String, String)>,
}

impl Directory {
    /// The members the running node knows.
    pub fn fetch(client: &AdminClient) -> Result<Directory> {
        Ok(Directory::from_json(&client.get("/api/members")?))
    }

    /// From the `/api/members` answer (rows that do not parse are left out).
    pub fn from_json(v: &Value) -> Directory {
        let members = v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let id = m["org_id"].as_str()?.parse().ok()?;
                let name = m["name"].as_str()?.to_string();
                let role = m["role"].as_str().unwrap_or("?").to_string();
                Some((id, name, role))
            })
            .collect();
        Directory { members }
    }

    /// A member named by id (64 hex digits) or by its exact name (any case) when only one
    /// member has it.
    pub fn resolve(&self, s: &str, what: &str) -> Result<OrgId> {
        if let Ok(id) = s.parse::<OrgId>() {
            return Ok(id);
        }
        let wanted = s.trim().to_lowercase();
        let found: Vec<&(OrgId, String, String)> = self
            .members
            .iter()
            .filter(|(_, name, _)| name.to_lowercase() == wanted)
            .collect();
        match found.as_slice() {
            [(id, _, _)] => Ok(*id),
            [] => bail!(
                "{what} {s:?} is neither an organisation id (64 hex digits) nor the name of a \
                 member; members: {}",
                self.listing()
            ),
            many => bail!(
                "{what} {s:?} names {} members; give the id instead: {}",
                many.len(),
                many.iter()
                    .map(|(id, name, role)| format!("{name} ({role}) {id}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A counterparty for people: its name, or the start of its id when unknown.
    pub fn name(&self, id: &str) -> String {
        self.members
            .iter()
            .find(|(o, _, _)| o.to_string() == id)
            .map(|(_, name, _)| name.clone())
            .unwrap_or_else(|| format!("{}…", id.chars().take(12).collect::<String>()))
    }

    fn listing(&self) -> String {
        if self.members.is_empty() {
            return "none known yet".into();
        }
        self.members
            .iter()
            .map(|(_, name, role)| format!("{name} ({role})"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir() -> Directory {
        let a = "aa".repeat(32);
        let b = "bb".repeat(32);
        let c = "cc".repeat(32);
        Directory::from_json(&json!({ "members": [
            { "org_id": a, "name": "Garment Factory", "role": "supplier" },
            { "org_id": b, "name": "Fair Agency", "role": "agency" },
            { "org_id": c, "name": "fair agency", "role": "agency" },
        ]}))
    }

    #[test]
    fn names_resolve_when_unambiguous() {
        let d = dir();
        let id = d.resolve("garment factory", "--to").expect("by name");
        assert_eq!(id.to_string(), "aa".repeat(32));
        assert_eq!(
            d.resolve(&"bb".repeat(32), "--to")
                .expect("by id")
                .to_string(),
            "bb".repeat(32)
        );
        let err = d.resolve("Fair Agency", "--to").expect_err("two of them");
        assert!(err.to_string().contains("names 2 members"), "{err}");
        let err = d.resolve("Nobody", "--to").expect_err("unknown");
        assert!(
            err.to_string().contains("Garment Factory (supplier)"),
            "{err}"
        );
        assert_eq!(d.name(&"aa".repeat(32)), "Garment Factory");
        assert_eq!(d.name(&"dd".repeat(32)), "dddddddddddd…");
    }
}
