//! Broker alerts: warnings about illegal brokers and fake job offers on a migration corridor,
//! shown on the workers' portals of every CSO until they expire. A CSO publishes one after
//! its caseworkers reviewed it (its own, or one a recruitment agency proposed to it), and
//! signs it; an agency's proposal is signed by the agency and goes to one CSO for review.
//! Neither may name a worker: review is the check, since no rule can tell a name.

use crate::bytes::byte_newtype;
use crate::identity::{Country, OrgId, Timestamp};
use crate::limits::{check_text, check_time};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};

/// Longest title, in bytes (200 characters of Thai or Burmese).
pub const MAX_TITLE: usize = 600;
/// Longest text, in bytes (4,000 characters of Thai or Burmese).
pub const MAX_BODY: usize = 12_000;
/// Longest an alert stays up from its publication, in days.
pub const MAX_DAYS: u32 = 365;

byte_newtype!(
    /// An alert's id, random, chosen by whoever first wrote it (the proposal keeps its id
    /// when published).
    AlertId,
    16
);

/// What an alert says, the same in a proposal and in the published alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertText {
    /// Country of origin of the corridor it warns about.
    pub origin: Country,
    /// Country of work.
    pub destination: Country,
    /// Language it is written in (two or three lowercase letters, ISO 639).
    pub language: String,
    /// What to look out for, in a line.
    pub title: String,
    /// Names, places and tricks used, and what to do instead.
    pub body: String,
}

/// Why an alert or proposal is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// The language is not two or three lowercase letters.
    #[error("the language is an ISO 639 code of two or three lowercase letters")]
    Language,
    /// The title is empty, too long or not one line.
    #[error("the title must be 1 to {MAX_TITLE} bytes on one line")]
    Title,
    /// The text is empty, too long or has control characters.
    #[error("the text must be 1 to {MAX_BODY} bytes")]
    Body,
    /// A time after the year 9999.
    #[error("a time after the year 9999")]
    Time,
    /// An expiry not after publication or more than 365 days after it.
    #[error("an alert expires after its publication and within {MAX_DAYS} days of it")]
    Expiry,
}

impl AlertError {
    /// A stable code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            AlertError::Language => "alert.language",
            AlertError::Title => "alert.title",
            AlertError::Body => "alert.body",
            AlertError::Time => "alert.time",
            AlertError::Expiry => "alert.expiry",
        }
    }
}

impl AlertText {
    /// Checks the field rules.
    pub fn check(&self) -> Result<(), AlertError> {
        let l = self.language.as_bytes();
        if !(2..=3).contains(&l.len()) || !l.iter().all(u8::is_ascii_lowercase) {
            return Err(AlertError::Language);
        }
        if self.title.trim().is_empty() || check_text(&self.title, MAX_TITLE, true).is_err() {
            return Err(AlertError::Title);
        }
        if self.body.trim().is_empty() || check_text(&self.body, MAX_BODY, false).is_err() {
            return Err(AlertError::Body);
        }
        Ok(())
    }
}

/// A published alert, as its reviewing CSO states it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerAlert {
    /// The network.
    pub network_id: NetworkId,
    /// The CSO that reviewed and publishes it (and signs).
    pub reviewer: OrgId,
    /// Which alert (the same id in a later record replaces this one).
    pub id: AlertId,
    /// The agency that proposed it (None: the CSO wrote it).
    pub proposed_by: Option<OrgId>,
    /// What it says.
    pub text: AlertText,
    /// When this version was published.
    pub published_at: Timestamp,
    /// When it stops being shown.
    pub expires_at: Timestamp,
    /// Whether this version takes it down.
    pub withdrawn: bool,
}

impl RecordBody for BrokerAlert {
    const KIND: RecordKind = RecordKind::BrokerAlert;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.reviewer]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.published_at)
    }
}

impl BrokerAlert {
    /// Checks the field rules every receiver enforces.
    pub fn check_well_formed(&self) -> Result<(), AlertError> {
        self.text.check()?;
        check_time(self.published_at).map_err(|_| AlertError::Time)?;
        check_time(self.expires_at).map_err(|_| AlertError::Time)?;
        let latest = self.published_at.plus_secs(u64::from(MAX_DAYS) * 86_400);
        if self.expires_at <= self.published_at || self.expires_at > latest {
            return Err(AlertError::Expiry);
        }
        Ok(())
    }

    /// Whether this record replaces `held` (a later version of the same alert).
    pub fn replaces(&self, held: &BrokerAlert) -> bool {
        self.reviewer == held.reviewer
            && self.id == held.id
            && self.published_at > held.published_at
    }

    /// Whether it is shown at `now`.
    pub fn is_shown(&self, now: Timestamp) -> bool {
        !self.withdrawn && self.published_at <= now && now < self.expires_at
    }
}

/// An agency's proposed alert, for one CSO to review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertProposal {
    /// The network.
    pub network_id: NetworkId,
    /// The agency proposing it (and signing).
    pub proposer: OrgId,
    /// The CSO asked to review it.
    pub reviewer: OrgId,
    /// The alert's id, kept when it is published.
    pub id: AlertId,
    /// What it says.
    pub text: AlertText,
    /// For how many days it should be shown once published (1 to 365).
    pub days: u32,
    /// When it was proposed.
    pub proposed_at: Timestamp,
}

impl RecordBody for AlertProposal {
    const KIND: RecordKind = RecordKind::AlertProposal;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.proposer]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.proposed_at)
    }
}

impl AlertProposal {
    /// Checks the field rules every receiver enforces.
    pub fn check_well_formed(&self) -> Result<(), AlertError> {
        self.text.check()?;
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(AlertError::Expiry);
        }
        check_time(self.proposed_at).map_err(|_| AlertError::Time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> AlertText {
        AlertText {
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            language: "my".into(),
            title: "Fake factory jobs on Facebook".into(),
            body: "A broker asks 30,000 baht for a job that does not exist.\n\nDo not pay.".into(),
        }
    }

    fn alert() -> BrokerAlert {
        BrokerAlert {
            network_id: NetworkId([1; 16]),
            reviewer: OrgId([2; 32]),
            id: AlertId([3; 16]),
            proposed_by: None,
            text: text(),
            published_at: Timestamp(1_000),
            expires_at: Timestamp(1_000 + 86_400),
            withdrawn: false,
        }
    }

    #[test]
    fn field_rules() {
        assert_eq!(alert().check_well_formed(), Ok(()));
        let bad = |f: &dyn Fn(&mut BrokerAlert)| {
            let mut a = alert();
            f(&mut a);
            a.check_well_formed().err()
        };
        assert_eq!(
            bad(&|a| a.text.language = "MY".into()),
            Some(AlertError::Language)
        );
        assert_eq!(
            bad(&|a| a.text.title = "a\nb".into()),
            Some(AlertError::Title)
        );
        assert_eq!(bad(&|a| a.text.body = " ".into()), Some(AlertError::Body));
        assert_eq!(
            bad(&|a| a.expires_at = a.published_at),
            Some(AlertError::Expiry)
        );
        assert_eq!(
            bad(&|a| a.expires_at = a.published_at.plus_secs(366 * 86_400)),
            Some(AlertError::Expiry)
        );
    }

    #[test]
    fn shown_until_expiry_or_withdrawal() {
        let a = alert();
        assert!(a.is_shown(a.published_at));
        assert!(!a.is_shown(a.expires_at));
        let mut later = alert();
        later.published_at = a.published_at.plus_secs(1);
        later.withdrawn = true;
        assert!(later.replaces(&a) && !a.replaces(&later));
        assert!(!later.is_shown(later.published_at));
    }
}
