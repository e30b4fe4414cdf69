//! Steward succession: a steward hands its place to a new key, with the consent of every
//! other steward in office, so that a steward's key can be replaced without a new network.

use crate::identity::{OrgId, Timestamp};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};

/// A steward's place passing from one key to another at a moment. Signed by the outgoing
/// steward, by every other steward in office at that moment, and by the incoming key.
///
/// What the outgoing key issued up to `at` stays valid; anything dated later is refused, and
/// the incoming key issues from `at` on (both count within that one second).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StewardSuccession {
    /// Network of the stewardship.
    pub network_id: NetworkId,
    /// The outgoing steward key.
    pub old: OrgId,
    /// The incoming steward key.
    pub new: OrgId,
    /// Every other steward in office at `at`, in the order the network lists them.
    pub cosigners: Vec<OrgId>,
    /// When the incoming key takes over.
    pub at: Timestamp,
}

impl RecordBody for StewardSuccession {
    const KIND: RecordKind = RecordKind::StewardSuccession;
    fn required_signers(&self) -> Vec<OrgId> {
        let mut signers = Vec::with_capacity(self.cosigners.len() + 2);
        signers.push(self.old);
        signers.extend(self.cosigners.iter().copied());
        signers.push(self.new);
        signers
    }
}
