//! Intake at a CSO: worker contacts and the CSO's own case records.
//!
//! Contacts carry statistics fields in clear (channel, language, corridor...) and the worker's
//! identity sealed in the vault. A local case groups contacts, issues and consent; what other
//! organisations see of it is only the redacted escalation.

use crate::vault::Sealed;
use ilm_protocol::{CaseRef, Country, IssueCategory, Money, OrgId, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A contact's id (random; meaningless outside the CSO).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ContactId(pub [u8; 16]);

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&ilm_protocol::bytes::to_hex(&self.0))
    }
}

impl fmt::Debug for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContactId({self})")
    }
}

impl std::str::FromStr for ContactId {
    type Err = ilm_protocol::bytes::HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ilm_protocol::bytes::from_hex_array::<16>(s).map(ContactId)
    }
}

impl From<ContactId> for String {
    fn from(c: ContactId) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for ContactId {
    type Error = ilm_protocol::bytes::HexError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// How the worker reached the helpline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Phone call.
    PhoneCall,
    /// LINE messenger.
    Line,
    /// Facebook / Messenger.
    Facebook,
    /// Viber.
    Viber,
    /// The worker app.
    WorkerApp,
    /// The CSO's workers' portal (the worker wrote the report themselves).
    Portal,
    /// In person (outreach, drop-in).
    InPerson,
    /// Anything else.
    Other,
}

/// Gender as the worker states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Another gender.
    Other,
    /// Not stated.
    Undisclosed,
}

/// Age band (exact ages are not recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgeBand {
    /// Under 18 (child labour concern).
    #[serde(rename = "under_18")]
    Under18,
    /// 18 to 24.
    #[serde(rename = "18_24")]
    From18To24,
    /// 25 to 34.
    #[serde(rename = "25_34")]
    From25To34,
    /// 35 to 44.
    #[serde(rename = "35_44")]
    From35To44,
    /// 45 and over.
    #[serde(rename = "45_plus")]
    From45,
    /// Not stated.
    #[serde(rename = "unknown")]
    Unknown,
}

/// A worker's identity: personal data that never leaves the CSO without consent.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkerIdentity {
    /// Name.
    pub name: String,
    /// Phone number.
    #[serde(default)]
    pub phone: String,
    /// Messenger id (LINE, Facebook, Viber...).
    #[serde(default)]
    pub messenger_id: String,
    /// Passport, work permit or other ID numbers.
    #[serde(default)]
    pub id_numbers: Vec<String>,
}

impl fmt::Debug for WorkerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print personal data, even in debug output or panics.
        f.write_str("WorkerIdentity(<redacted>)")
    }
}

/// Countries the intake form offers for nationality and the migration corridor (any ISO
/// 3166 code is accepted through the API).
pub const COUNTRIES: &[&str] = &[
    "MM", "TH", "KH", "LA", "NP", "MY", "VN", "ID", "PH", "BD", "IN", "LK", "CN", "JP", "KR", "TW",
    "SG",
];

/// Languages the intake form offers (helpline languages first; any ISO 639 code is
/// accepted through the API).
pub const SPOKEN_LANGUAGES: &[&str] = &[
    "my", "th", "km", "lo", "ne", "shn", "kar", "en", "id", "vi", "tl", "bn", "hi", "ms", "zh",
    "ja",
];

/// Sectors the intake form offers.
pub const SECTORS: &[&str] = &[
    "seafood",
    "fishing",
    "food_processing",
    "agriculture",
    "construction",
    "manufacturing",
    "electronics",
    "garment",
    "domestic_work",
    "hospitality",
    "other",
];

/// What an operator records at intake.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// How the worker reached the helpline.
    pub channel: Channel,
    /// Language of the conversation (ISO 639-1 code, e.g. my, km, lo, ne, th, en).
    pub language: String,
    /// Worker's nationality.
    pub nationality: Country,
    /// Gender.
    pub gender: Gender,
    /// Age band.
    pub age_band: AgeBand,
    /// Sector (e.g. seafood, garment, agriculture, construction, domestic work).
    pub sector: String,
    /// Migration corridor: country of origin.
    pub origin: Country,
    /// Migration corridor: country of work.
    pub destination: Country,
    /// When the contact happened (defaults to now).
    #[serde(default)]
    pub received_at: Option<Timestamp>,
    /// The worker's identity (sealed at rest).
    pub identity: WorkerIdentity,
    /// What the worker reported, in the operator's words (sealed at rest).
    #[serde(default)]
    pub notes: String,
    /// A key the intake form makes once per contact: the same key again (a double submit, a
    /// retry after a lost answer) returns the contact already recorded instead of a new one.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// A stored contact: statistics in clear, identity and notes sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// When the contact happened.
    pub received_at: Timestamp,
    /// Channel.
    pub channel: Channel,
    /// Language.
    pub language: String,
    /// Nationality.
    pub nationality: Country,
    /// Gender.
    pub gender: Gender,
    /// Age band.
    pub age_band: AgeBand,
    /// Sector.
    pub sector: String,
    /// Origin country.
    pub origin: Country,
    /// Destination country.
    pub destination: Country,
    /// The case this contact belongs to, once one is opened.
    pub case_ref: Option<CaseRef>,
    /// Operator account that recorded it (for intake-only operators).
    #[serde(default)]
    pub recorded_by: Option<String>,
    /// [`SealedContact`], sealed with the vault key and the contact id.
    pub sealed: Sealed,
    /// What retention or the worker's request erased from the sealed part.
    #[serde(default)]
    pub erased: Option<crate::retention::Erasure>,
}

/// The sealed part of a contact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedContact {
    /// The worker's identity.
    pub identity: WorkerIdentity,
    /// Operator notes.
    pub notes: String,
}

/// Why intake input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

fn check_text(what: &str, value: &str, max: usize, required: bool) -> Result<(), InvalidInput> {
    if required && value.trim().is_empty() {
        return Err(InvalidInput(format!("{what} is required")));
    }
    if value.len() > max {
        return Err(InvalidInput(format!("{what} is longer than {max} bytes")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(InvalidInput(format!("{what} contains control characters")));
    }
    Ok(())
}

impl ContactInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        let lang_ok = (2..=3).contains(&self.language.len())
            && self.language.bytes().all(|b| b.is_ascii_lowercase());
        if !lang_ok {
            // Not echoed: a coded field may have been handed a worker's name by mistake.
            return Err(InvalidInput(
                "language must be an ISO 639 code such as my, km, lo, ne, th or en".into(),
            ));
        }
        check_text("sector", &self.sector, 100, true)?;
        check_text("name", &self.identity.name, 200, true)?;
        check_text("phone", &self.identity.phone, 50, false)?;
        check_text("messenger id", &self.identity.messenger_id, 200, false)?;
        if self.identity.id_numbers.len() > 10 {
            return Err(InvalidInput("at most 10 ID numbers".into()));
        }
        for n in &self.identity.id_numbers {
            check_text("ID number", n, 100, true)?;
        }
        check_text("notes", &self.notes, 8_000, false)?;
        if let Some(k) = &self.idempotency_key {
            let ok = (8..=64).contains(&k.len())
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(InvalidInput(
                    "idempotency_key: 8 to 64 letters, digits or dashes".into(),
                ));
            }
        }
        Ok(())
    }
}

/// One issue of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseIssue {
    /// Category from the codebook.
    pub category: IssueCategory,
    /// Recruitment fees paid, for the recruitment_fees category (Employer Pays Principle).
    #[serde(default)]
    pub fee: Option<Money>,
}

/// Consent one worker (one contact) gave for their identity to go to one named recipient in
/// one case: recorded by an operator, withdrawable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The worker who consented (None only in records made before consent was per worker:
    /// such a record discloses nobody).
    #[serde(default)]
    pub contact: Option<ContactId>,
    /// The recipient organisation.
    pub recipient: OrgId,
    /// When recorded.
    pub recorded_at: Timestamp,
    /// Operator who recorded it.
    pub recorded_by: Option<String>,
    /// When it was withdrawn, if it was.
    #[serde(default)]
    pub withdrawn_at: Option<Timestamp>,
    /// Operator who recorded the withdrawal.
    #[serde(default)]
    pub withdrawn_by: Option<String>,
}

impl Consent {
    /// Whether this consent lets `contact`'s identity go to `recipient` now.
    pub fn allows(&self, contact: &ContactId, recipient: &OrgId) -> bool {
        self.contact.as_ref() == Some(contact)
            && self.recipient == *recipient
            && self.withdrawn_at.is_none()
    }
}

impl LocalCase {
    /// The contacts whose identity may go to `recipient` now.
    pub fn consented(&self, recipient: &OrgId) -> Vec<ContactId> {
        self.contacts
            .iter()
            .filter(|c| self.consent.iter().any(|k| k.allows(c, recipient)))
            .copied()
            .collect()
    }
}

/// The CSO's own record of a case (never sent as such).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalCase {
    /// The case reference (shared with parties once escalated): derived from this CSO's id and
    /// `nonce`, so that it is bound to its owner.
    pub case_ref: CaseRef,
    /// The nonce the reference derives from; the first escalation carries it.
    #[serde(default)]
    pub nonce: Option<ilm_protocol::CaseNonce>,
    /// When opened.
    pub opened_at: Timestamp,
    /// Contacts in the case.
    pub contacts: Vec<ContactId>,
    /// Workers affected (collective cases count every worker, not only those who called).
    pub workers: u32,
    /// Issues.
    pub issues: Vec<CaseIssue>,
    /// The worksite's supplier, if a member.
    pub supplier: Option<OrgId>,
    /// Recruitment agencies involved (sending and receiving), if members.
    pub agencies: Vec<OrgId>,
    /// Worksite description.
    pub site: String,
    /// Consent per named recipient.
    pub consent: Vec<Consent>,
    /// Operator who opened it.
    pub opened_by: Option<String>,
}

/// What an operator gives to open a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseInput {
    /// Contacts in the case (at least one).
    pub contacts: Vec<ContactId>,
    /// Workers affected (at least the number of contacts).
    pub workers: u32,
    /// Issues (at least one).
    pub issues: Vec<CaseIssue>,
    /// Supplier (worksite).
    #[serde(default)]
    pub supplier: Option<OrgId>,
    /// Agencies.
    #[serde(default)]
    pub agencies: Vec<OrgId>,
    /// Worksite description.
    pub site: String,
}

impl OpenCaseInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        if self.contacts.is_empty() {
            return Err(InvalidInput("a case needs at least one contact".into()));
        }
        if self.issues.is_empty() || self.issues.len() > 64 {
            return Err(InvalidInput("a case needs 1 to 64 issues".into()));
        }
        if (self.workers as usize) < self.contacts.len() {
            return Err(InvalidInput(
                "workers must be at least the number of contacts".into(),
            ));
        }
        let mut cats: Vec<_> = self.issues.iter().map(|i| i.category).collect();
        cats.sort();
        cats.dedup();
        if cats.len() != self.issues.len() {
            return Err(InvalidInput("an issue category is listed twice".into()));
        }
        check_text("site", &self.site, 500, true)?;
        Ok(())
    }
}

/// The sector and corridor most of a case's contacts name (None when this node holds no
/// contact of the case): the coarse profile status reports give brands to filter by.
pub fn case_profile(
    store: &crate::store::Store,
    case: &CaseRef,
) -> Result<Option<(String, Country, Country)>, crate::store::StoreError> {
    let Some(local) = store.get::<LocalCase>(&crate::schema::LOCAL_CASES, case.as_bytes())? else {
        return Ok(None);
    };
    let mut counts: std::collections::BTreeMap<(String, Country, Country), usize> =
        std::collections::BTreeMap::new();
    for id in &local.contacts {
        if let Some(c) = store.get::<Contact>(&crate::schema::CONTACTS, &id.0)? {
            *counts
                .entry((c.sector, c.origin, c.destination))
                .or_default() += 1;
        }
    }
    // Ties go to the first in order, so every report of a case says the same.
    let most = counts.values().copied().max().unwrap_or(0);
    Ok(counts
        .into_iter()
        .find(|(_, n)| *n == most && most > 0)
        .map(|(k, _)| k))
}

/// Stages a new contact in `batch` with what is kept with it: its aggregates and its place
/// in the contact list's index, with what the index keeps of its sealed part
/// ([`crate::contact_list::groups::Indexed`]). The one way a new contact is stored
/// (later writes change neither its time, its operator nor its identity, but for an
/// erasure, which updates the index itself); once per batch, since both read what the
/// store holds; callers hold the intake lock, the only writer of both.
pub fn stage_new(
    store: &crate::store::Store,
    batch: &mut crate::store::WriteBatch,
    contact: &Contact,
    indexed: crate::contact_list::groups::Indexed,
) -> Result<(), crate::store::StoreError> {
    batch.put(&crate::schema::CONTACTS, &contact.id.0, contact)?;
    let mut aggregates = crate::aggregates::Pending::new();
    aggregates.contact(contact);
    aggregates.stage(store, batch)?;
    let mut index = crate::contact_list::groups::Pending::new();
    index.add(store, contact, indexed)?;
    index.stage(store, batch)
}
