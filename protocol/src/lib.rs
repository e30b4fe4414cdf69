//! ILM Network protocol: the wire and record formats shared by every node and by offline
//! verifiers. Identities, signed records, end-to-end encrypted envelopes, membership,
//! case events with their authorisation rules, supply-chain links and attestations, key
//! rotation and steward succession, published statistics, improvement plans, job listings, ratings and broker alerts.
//!
//! Architecture invariant: this crate does no I/O, no async, and reads no clock; callers pass
//! the time in. See docs/PROTOCOL.md for the byte-level formats.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alert;
pub mod attestation;
pub mod bytes;
pub mod codebook;
pub mod delivery;
pub mod envelope;
pub mod event;
pub mod history;
pub mod identity;
pub mod improvement;
pub mod lifecycle;
pub mod limits;
pub mod link;
pub mod listing;
pub mod membership;
pub mod rating;
pub mod record;
pub mod rotation;
pub mod rules;
pub mod statistics;
pub mod succession;

pub use alert::{AlertError, AlertId, AlertProposal, AlertText, BrokerAlert};
pub use attestation::{AttestationBundle, BundleError, BundleSummary, RemediationAttestation};
pub use codebook::{Currency, IloIndicator, IssueCategory, Money};
pub use delivery::{Delivery, DeliveryError, may_deliver};
pub use envelope::{
    Checked, Envelope, EnvelopeError, Header, MessageId, MessageKind, Opened, Recipient,
};
pub use event::{CaseEvent, CaseNonce, CaseRef, EventHash, EventKind, EventPayload, Verdict};
pub use history::{CaseHistory, HistoryError, Inserted};
pub use identity::{
    Country, Digest, EncryptionKey, OrgId, OrgKeys, Role, SignatureBytes, Timestamp,
};
pub use improvement::{ActivityError, ActivityId, ActivityKind, ImprovementActivity};
pub use lifecycle::{
    CaseState, CaseStatus, LifecycleError, Obligation, Owed, PartyStage, PartyState,
};
pub use link::{LinkKind, SupplyChainLink};
pub use listing::{DocumentsKeeper, JobListing, ListingError, ListingId, WagePeriod, WorkerCost};
pub use membership::{
    MembershipCertificate, MembershipError, MembershipRequest, Network, NetworkGenesis, NetworkId,
    Revocation, RevocationList,
};
pub use rating::{Dimension, DimensionSum, RatingAnswer, RatingError, RatingSummary};
pub use record::{RecordBody, RecordError, RecordKind, SignedRecord, Verified};
pub use rotation::{
    CertKeys, EarlierKey, KeyBook, KeyRotationRequest, OwnKeysOnly, RotationError,
    rotated_certificate,
};
pub use rules::{ValidationError, may_author, validate};
pub use statistics::{Month, PublishedStatistics, StatTable, StatisticsError};
pub use succession::StewardSuccession;
