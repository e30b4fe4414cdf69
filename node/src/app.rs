//! What the admin listener's handlers share: the node's parts and the UI's services.

use crate::core::CoreClient;
use crate::datadir::DataDir;
use crate::membership::MembershipState;
use crate::metrics::Metrics;
use crate::net::NetClient;
use crate::store::Store;
use ilm_protocol::{OrgKeys, Role};
use std::sync::Arc;

/// What the API handlers share.
pub struct ApiState {
    /// This node's keys.
    pub keys: Arc<OrgKeys>,
    /// This node's role.
    pub role: Role,
    /// This node's name.
    pub name: String,
    /// The database.
    pub store: Arc<Store>,
    /// Membership state.
    pub membership: Arc<MembershipState>,
    /// Network task.
    pub net: NetClient,
    /// Node core.
    pub core: CoreClient,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The admin token.
    pub token: String,
    /// Data directory.
    pub dir: DataDir,
    /// The vault sealing worker personal data.
    pub vault: Arc<crate::vault::Vault>,
    /// UI sessions and login rate limits.
    pub sessions: crate::access::Sessions,
    /// Whether writes may carry an authoring time in the past (sample data only).
    pub allow_backdating: bool,
    /// Serialises read-modify-write of the CSO's intake records (contacts, local cases).
    pub intake_lock: tokio::sync::Mutex<()>,
    /// How long personal data is kept (`[retention]`).
    pub retention: crate::retention::RetentionPolicy,
    /// How statistics are published (`[statistics]`).
    pub statistics: crate::statistics::StatisticsPolicy,
    /// UI templates.
    pub templates: minijinja::Environment<'static>,
    /// UI translations.
    pub i18n: crate::i18n::I18n,
    /// The host names the admin listener answers to.
    pub hosts: crate::access::AllowedHosts,
}
