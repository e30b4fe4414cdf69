//! The node's configuration: `config.toml` in the data directory.

use ilm_protocol::{Country, Role};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Everything a node reads from `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who this node is.
    pub node: NodeSection,
    /// Peer-to-peer networking.
    #[serde(default)]
    pub network: NetworkSection,
    /// Local admin API and web UI.
    #[serde(default)]
    pub admin: AdminSection,
    /// How long personal data is kept.
    #[serde(default)]
    pub retention: crate::retention::RetentionPolicy,
    /// Published network statistics.
    #[serde(default)]
    pub statistics: crate::statistics::StatisticsPolicy,
    /// The public read-only page of published statistics.
    #[serde(default)]
    pub public: PublicSection,
    /// The workers' portal (CSO nodes).
    #[serde(default)]
    pub portal: PortalSection,
}

/// The `[portal]` section: the workers' portal, on its own listener (CSO nodes only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSection {
    /// Plain HTTP address (loopback only: for a TLS reverse proxy on the same machine).
    pub listen: Option<SocketAddr>,
    /// TLS address (may face the internet).
    pub tls_listen: Option<SocketAddr>,
    /// Certificate (PEM) for the TLS listener; without it and `tls_key`, the admin
    /// listener's certificate (or the node's self-signed one) is used.
    pub tls_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of `tls_cert`.
    pub tls_key: Option<std::path::PathBuf>,
    /// New reports the portal accepts per hour, all senders together.
    pub reports_per_hour: u32,
    /// New reports it accepts at once before the hourly rate applies.
    pub report_burst: u32,
}

impl Default for PortalSection {
    fn default() -> Self {
        PortalSection {
            listen: None,
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            reports_per_hour: 60,
            report_burst: 20,
        }
    }
}

/// The `[public]` section: a separate listener that serves only published statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicSection {
    /// Address of the public statistics page (none by default). It needs no login and
    /// serves nothing but the statistics CSOs published to the network.
    pub listen: Option<SocketAddr>,
}

/// The `[node]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Organisation name, as it will appear in the membership certificate.
    pub name: String,
    /// Organisation role.
    pub role: Role,
    /// Country of operation (ISO 3166-1 alpha-2).
    pub country: Country,
}

/// The `[network]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// libp2p multiaddresses to listen on.
    pub listen: Vec<String>,
    /// Multiaddresses (with /p2p/ peer id) of bootstrap members.
    pub bootstrap: Vec<String>,
    /// Discover peers on the local network (development only).
    pub mdns: bool,
    /// Serve as a relay for members behind NAT (stewards, bootstrap nodes).
    pub relay_server: bool,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            listen: vec![
                "/ip4/0.0.0.0/tcp/4001".into(),
                "/ip4/0.0.0.0/udp/4001/quic-v1".into(),
            ],
            bootstrap: Vec::new(),
            mdns: false,
            relay_server: false,
        }
    }
}

/// The `[admin]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// Address of the admin API and web UI; loopback unless you add TLS in front.
    pub listen: SocketAddr,
    /// Other host names the admin UI is reached by (a reverse proxy's public name). Requests
    /// naming any other host are refused, so that a web page cannot reach the UI by pointing
    /// its own name at this machine (DNS rebinding).
    pub hosts: Vec<String>,
    /// A second listener for the web UI and API over TLS, for a team on other machines
    /// (non-loopback needs `--allow-remote-admin`).
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for the TLS listener (default: a self-signed one the node makes
    /// once in its data directory and whose fingerprint it prints).
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<std::path::PathBuf>,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            hosts: Vec::new(),
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML or not the expected fields.
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// Values that parse but make no sense.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Parses and checks a configuration file's text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let name = cfg.node.name.trim();
        if name.is_empty() || name.len() > ilm_protocol::membership::MAX_NAME_LEN {
            return Err(ConfigError::Invalid(
                "node.name must be 1 to 200 characters".into(),
            ));
        }
        if cfg.statistics.k < ilm_protocol::statistics::MIN_K {
            return Err(ConfigError::Invalid(format!(
                "statistics.k is {}; it may be raised but not set below {}, so that no published count identifies a handful of workers",
                cfg.statistics.k,
                ilm_protocol::statistics::MIN_K
            )));
        }
        if cfg.retention.delivered_outbox_days == 0 {
            return Err(ConfigError::Invalid(
                "retention.delivered_outbox_days must be at least 1".into(),
            ));
        }
        Ok(cfg)
    }

    /// Applies `ILM_LISTEN`, `ILM_BOOTSTRAP` (comma-separated), `ILM_ADMIN_LISTEN` and
    /// `ILM_MDNS` (true/false) from the environment.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        if let Ok(v) = std::env::var("ILM_LISTEN") {
            self.network.listen = list(v);
        }
        if let Ok(v) = std::env::var("ILM_BOOTSTRAP") {
            self.network.bootstrap = list(v);
        }
        if let Ok(v) = std::env::var("ILM_ADMIN_LISTEN") {
            self.admin.listen = v.parse().map_err(|_| {
                ConfigError::Invalid(format!(
                    "ILM_ADMIN_LISTEN={v:?} is not an address like 127.0.0.1:7070"
                ))
            })?;
        }
        if let Ok(v) = std::env::var("ILM_MDNS") {
            self.network.mdns = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "ILM_MDNS={v:?} must be true or false"
                    )));
                }
            };
        }
        Ok(())
    }

    /// A commented configuration file for a new node.
    pub fn template(name: &str, role: Role, country: &Country) -> String {
        let relay = matches!(role, Role::Steward);
        let name = toml::Value::String(name.to_string());
        format!(
            r#"# ILM Network node configuration.
# Values here can be overridden by environment variables (ILM_*) and command-line flags.

[node]
# Organisation name, as the steward will certify it.
name = {name}
# One of: steward, cso, agency, supplier, brand, government.
role = "{role}"
# Country of operation, ISO 3166-1 alpha-2 (e.g. TH, MY, MM, KH, LA, NP).
country = "{country}"

[network]
# libp2p addresses to listen on for other members (TCP and QUIC).
listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
# Members to contact first, as multiaddresses ending in /p2p/PEER_ID (usually the steward).
bootstrap = []
# Find peers on the local network with mDNS. Development only: leave off in production.
mdns = false
# Relay traffic for members behind NAT (stewards and bootstrap nodes).
relay_server = {relay}

[admin]
# Admin API and web UI. Loopback only by default: the UI holds case data.
listen = "127.0.0.1:7070"
# Other host names the UI is reached by, e.g. a reverse proxy's public name. Requests for any
# other host are refused (protection against DNS rebinding).
hosts = []
# The web UI over TLS for a team on other machines (needs `ilm run --allow-remote-admin` when
# not loopback). Without tls_cert and tls_key the node makes a self-signed certificate once
# and prints its SHA-256 fingerprint for the operators to compare.
# tls_listen = "0.0.0.0:7443"
# tls_cert = "/etc/ilm/admin-cert.pem"
# tls_key = "/etc/ilm/admin-key.pem"

[retention]
# Days each class of data is kept; leave a line commented out to keep that data until erased
# by hand (`ilm erase contact ID`). Expired data is erased for real: the sealed identity is
# sealed again without it and the old bytes leave the disk at the next start (compaction).
# Signed case events are kept: other organisations rely on them.
# A worker's identity, counted from the contact, once no open case holds it:
# worker_identities_days = 730
# The operator's notes of a contact, the same way:
# contact_notes_days = 730
# After a case closes: its contacts' identities and notes, and identities disclosed to this
# node for it:
# closed_cases_days = 365
# Delivered and refused outgoing messages (their counts stay):
delivered_outbox_days = 7

[statistics]
# Published statistics (a CSO's monthly counts for the network) leave out every count below
# k, and enough others that none can be worked out from the totals. At least 5.
k = 5

[public]
# A public read-only page of the statistics CSOs published to the network, for a website: no
# login, nothing else. Off unless set.
# listen = "0.0.0.0:8080"

[portal]
# The workers' portal (CSO nodes): report a problem and follow it with a receipt code, and
# know-your-rights pages. Its own listener, sharing nothing with the admin UI. Plain HTTP
# only on loopback (behind a TLS reverse proxy); tls_listen may face the internet, with
# tls_cert and tls_key (else the admin listener's certificate). Off unless set.
# listen = "127.0.0.1:8090"
# tls_listen = "0.0.0.0:8443"
# New reports accepted per hour from everyone together, and at once:
reports_per_hour = 60
report_burst = 20
"#
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_for_every_role() {
        let country: Country = "TH".parse().expect("country");
        for role in Role::ALL {
            let text = Config::template("Org \"quoted\" name", role, &country);
            let cfg = Config::parse(&text).expect("template parses");
            assert_eq!(cfg.node.role, role);
            assert_eq!(cfg.node.name, "Org \"quoted\" name");
        }
    }

    #[test]
    fn k_may_be_raised_but_not_lowered() {
        let base = "[node]\nname='a'\nrole='cso'\ncountry='TH'\n[statistics]\n";
        assert_eq!(
            Config::parse(&format!("{base}k=9"))
                .expect("k 9")
                .statistics
                .k,
            9
        );
        let err = Config::parse(&format!("{base}k=4"))
            .expect_err("k 4")
            .to_string();
        assert!(err.contains("statistics.k is 4"), "{err}");
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        assert!(Config::parse("[node]\nname='a'\nrole='cso'\ncountry='TH'\ncolour=1").is_err());
        assert!(Config::parse("[node]\nname='a'\nrole='ngo'\ncountry='TH'").is_err());
        assert!(Config::parse("[node]\nname='a'\nrole='cso'\ncountry='tha'").is_err());
        assert!(Config::parse("[node]\nname=' '\nrole='cso'\ncountry='TH'").is_err());
    }
}
