//! Ethical job listings: a recruitment agency or supplier publishes a job with everything a
//! worker needs to judge it before leaving home (employer, site, wages, hours, contract,
//! every cost charged to the worker, who keeps the documents), signed, for the CSOs whose
//! portals show it. A listing ends at its expiry date, or earlier when a later version
//! withdraws it.
//!
//! Each listing has an id chosen by its publisher; a later record of the same id (a
//! correction, a withdrawal) replaces an earlier one, judged by `published_at`.

use crate::bytes::{byte_newtype, to_hex};
use crate::codebook::{Currency, Money};
use crate::identity::{Country, OrgId, Timestamp};
use crate::limits::{check_text, check_time};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest name, site or job title, in bytes (100 characters of Thai or Burmese).
pub const MAX_SHORT: usize = 300;
/// Longest description of the work, in bytes (2,000 characters of Thai or Burmese).
pub const MAX_DESCRIPTION: usize = 6_000;
/// Most costs one listing names.
pub const MAX_COSTS: usize = 20;
/// Most contract languages one listing names.
pub const MAX_LANGUAGES: usize = 8;
/// Longest a listing stays up from its publication: 180 days, so that an abandoned listing
/// does not outlive the job.
pub const MAX_VALIDITY_SECS: u64 = 180 * 86_400;

byte_newtype!(
    /// A listing's id, random, chosen by its publisher.
    ListingId,
    16
);

/// Who keeps the worker's passport and work permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentsKeeper {
    /// The worker keeps their own documents (as the ILO's indicators require).
    Worker,
    /// The employer keeps them.
    Employer,
    /// The recruitment agency keeps them.
    Agency,
}

/// The period a wage is stated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WagePeriod {
    /// Per hour.
    Hour,
    /// Per day.
    Day,
    /// Per month.
    Month,
}

/// One cost charged to the worker (a fee, a medical check, a visa, transport...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerCost {
    /// What it is for.
    pub item: String,
    /// How much the worker pays.
    pub amount: Money,
}

/// A job as its publisher states it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobListing {
    /// The network.
    pub network_id: NetworkId,
    /// The agency or supplier that publishes it (and signs).
    pub publisher: OrgId,
    /// Which listing (the same id in a later record replaces this one).
    pub id: ListingId,
    /// The employer's name.
    pub employer: String,
    /// Where the work is (a factory, a vessel's home port, a farm...).
    pub site: String,
    /// The job's title.
    pub job: String,
    /// What the work is, shifts, housing, anything else a worker should know.
    pub description: String,
    /// The country workers are recruited from.
    pub origin: Country,
    /// The country of the work.
    pub destination: Country,
    /// How many workers are wanted.
    pub workers_wanted: u32,
    /// The wage, before any deduction.
    pub wage: Money,
    /// The period the wage is for.
    pub wage_period: WagePeriod,
    /// Normal hours of work per week.
    pub hours_per_week: u32,
    /// The contract's length, in months.
    pub contract_months: u32,
    /// The languages the contract is written in (as the worker would name them).
    pub contract_languages: Vec<String>,
    /// Every cost charged to the worker; none under the Employer Pays principle.
    pub costs: Vec<WorkerCost>,
    /// Who keeps the worker's documents.
    pub documents_kept_by: DocumentsKeeper,
    /// When the first version of this listing was published (kept by every later one, so
    /// that a case opened after it counts against it whatever was republished since).
    pub first_published_at: Timestamp,
    /// When this version was published.
    pub published_at: Timestamp,
    /// When the listing ends.
    pub expires_at: Timestamp,
    /// Whether this version takes the listing down.
    pub withdrawn: bool,
}

impl RecordBody for JobListing {
    const KIND: RecordKind = RecordKind::JobListing;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.publisher]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.published_at)
    }
}

/// Why a listing is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    /// The employer, site or job is empty, too long or has control characters.
    #[error("{0} must be 1 to {MAX_SHORT} bytes on one line")]
    Short(&'static str),
    /// The description is too long or has control characters.
    #[error("the description must be at most {MAX_DESCRIPTION} bytes")]
    Description,
    /// No worker wanted, or more than 100,000.
    #[error("workers wanted must be 1 to 100000")]
    Workers,
    /// A wage of zero.
    #[error("the wage must be more than zero")]
    Wage,
    /// Hours per week above 84 or zero.
    #[error("hours per week must be 1 to 84")]
    Hours,
    /// A contract shorter than a month or longer than ten years.
    #[error("the contract must last 1 to 120 months")]
    Contract,
    /// No contract language, too many, or one that is empty or too long.
    #[error("name 1 to {MAX_LANGUAGES} contract languages, each 1 to 50 bytes")]
    Languages,
    /// Too many costs, or one with an empty or too long item.
    #[error("at most {MAX_COSTS} costs, each with what it is for (1 to {MAX_SHORT} bytes)")]
    Costs,
    /// A time after the year 9999.
    #[error("a time after the year 9999")]
    Time,
    /// An expiry not after publication, or more than 180 days after it.
    #[error("a listing expires after its publication and within 180 days of it")]
    Expiry,
    /// A first publication after this version's.
    #[error("the first publication cannot be later than this version")]
    FirstPublished,
}

impl ListingError {
    /// A stable code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ListingError::Short(_) => "listing.text",
            ListingError::Description => "listing.description",
            ListingError::Workers => "listing.workers",
            ListingError::Wage => "listing.wage",
            ListingError::Hours => "listing.hours",
            ListingError::Contract => "listing.contract",
            ListingError::Languages => "listing.languages",
            ListingError::Costs => "listing.costs",
            ListingError::Time => "listing.time",
            ListingError::Expiry => "listing.expiry",
            ListingError::FirstPublished => "listing.first_published",
        }
    }
}

fn short(text: &str, what: &'static str) -> Result<(), ListingError> {
    if text.trim().is_empty() || check_text(text, MAX_SHORT, true).is_err() {
        return Err(ListingError::Short(what));
    }
    Ok(())
}

impl JobListing {
    /// Checks the field rules every receiver enforces.
    pub fn check_well_formed(&self) -> Result<(), ListingError> {
        short(&self.employer, "the employer")?;
        short(&self.site, "the site")?;
        short(&self.job, "the job")?;
        check_text(&self.description, MAX_DESCRIPTION, false)
            .map_err(|_| ListingError::Description)?;
        if !(1..=100_000).contains(&self.workers_wanted) {
            return Err(ListingError::Workers);
        }
        if self.wage.minor_units == 0 {
            return Err(ListingError::Wage);
        }
        if !(1..=84).contains(&self.hours_per_week) {
            return Err(ListingError::Hours);
        }
        if !(1..=120).contains(&self.contract_months) {
            return Err(ListingError::Contract);
        }
        let language_ok = |l: &String| !l.trim().is_empty() && check_text(l, 50, true).is_ok();
        if self.contract_languages.is_empty()
            || self.contract_languages.len() > MAX_LANGUAGES
            || !self.contract_languages.iter().all(language_ok)
        {
            return Err(ListingError::Languages);
        }
        let cost_ok = |c: &WorkerCost| {
            !c.item.trim().is_empty() && check_text(&c.item, MAX_SHORT, true).is_ok()
        };
        if self.costs.len() > MAX_COSTS || !self.costs.iter().all(cost_ok) {
            return Err(ListingError::Costs);
        }
        check_time(self.published_at).map_err(|_| ListingError::Time)?;
        if self.first_published_at > self.published_at {
            return Err(ListingError::FirstPublished);
        }
        check_time(self.expires_at).map_err(|_| ListingError::Time)?;
        if self.expires_at <= self.published_at
            || self.expires_at > self.published_at.plus_secs(MAX_VALIDITY_SECS)
        {
            return Err(ListingError::Expiry);
        }
        Ok(())
    }

    /// Whether this record replaces `held` (a later version of the same listing, keeping
    /// its first publication date).
    pub fn replaces(&self, held: &JobListing) -> bool {
        self.publisher == held.publisher
            && self.id == held.id
            && self.first_published_at == held.first_published_at
            && self.published_at > held.published_at
    }

    /// Whether the listing is up at `now` (published, neither withdrawn nor expired).
    pub fn is_open(&self, now: Timestamp) -> bool {
        !self.withdrawn && self.published_at <= now && now < self.expires_at
    }

    /// What the worker pays in all, per currency (empty under the Employer Pays principle).
    pub fn worker_pays(&self) -> BTreeMap<Currency, u64> {
        let mut out = BTreeMap::new();
        for c in self.costs.iter().filter(|c| c.amount.minor_units > 0) {
            let sum: &mut u64 = out.entry(c.amount.currency.clone()).or_default();
            *sum = sum.saturating_add(c.amount.minor_units);
        }
        out
    }

    /// Whether a fee of `fee` charged to a worker contradicts this listing: the listing
    /// charges nothing, or less than `fee` in its currency. A fee in a currency the listing
    /// does not use, while it charges something in another, cannot be compared and is not
    /// counted as a contradiction.
    pub fn contradicted_by_fee(&self, fee: &Money) -> bool {
        if fee.minor_units == 0 {
            return false;
        }
        let pays = self.worker_pays();
        if pays.is_empty() {
            return true;
        }
        pays.get(&fee.currency)
            .is_some_and(|listed| fee.minor_units > *listed)
    }

    /// The storage id: publisher then listing id.
    pub fn key(&self) -> String {
        format!("{}{}", self.publisher.to_hex(), to_hex(self.id.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor_units: u64, currency: &str) -> Money {
        Money {
            minor_units,
            currency: currency.parse().expect("currency"),
        }
    }

    pub(crate) fn sample() -> JobListing {
        JobListing {
            network_id: NetworkId([1; 16]),
            publisher: OrgId([2; 32]),
            id: ListingId([3; 16]),
            employer: "Andaman Seafood Co.".into(),
            site: "Samut Sakhon".into(),
            job: "Shrimp peeler".into(),
            description: String::new(),
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            workers_wanted: 40,
            wage: money(1_200_000, "THB"),
            wage_period: WagePeriod::Month,
            hours_per_week: 48,
            contract_months: 24,
            contract_languages: vec!["Burmese".into(), "Thai".into()],
            costs: vec![],
            documents_kept_by: DocumentsKeeper::Worker,
            first_published_at: Timestamp(1_000_000),
            published_at: Timestamp(1_000_000),
            expires_at: Timestamp(1_000_000 + 30 * 86_400),
            withdrawn: false,
        }
    }

    #[test]
    fn field_rules() {
        let ok = sample();
        assert_eq!(ok.check_well_formed(), Ok(()));
        let bad = |f: &dyn Fn(&mut JobListing)| {
            let mut l = sample();
            f(&mut l);
            l.check_well_formed().err()
        };
        assert_eq!(
            bad(&|l| l.employer = " ".into()),
            Some(ListingError::Short("the employer"))
        );
        assert_eq!(
            bad(&|l| l.job = "a\nb".into()),
            Some(ListingError::Short("the job"))
        );
        assert_eq!(bad(&|l| l.workers_wanted = 0), Some(ListingError::Workers));
        assert_eq!(bad(&|l| l.wage.minor_units = 0), Some(ListingError::Wage));
        assert_eq!(bad(&|l| l.hours_per_week = 85), Some(ListingError::Hours));
        assert_eq!(
            bad(&|l| l.contract_months = 0),
            Some(ListingError::Contract)
        );
        assert_eq!(
            bad(&|l| l.contract_languages.clear()),
            Some(ListingError::Languages)
        );
        assert_eq!(
            bad(&|l| l.expires_at = l.published_at),
            Some(ListingError::Expiry)
        );
        assert_eq!(
            bad(&|l| l.first_published_at = l.published_at.plus_secs(1)),
            Some(ListingError::FirstPublished)
        );
        assert_eq!(
            bad(&|l| l.expires_at = l.published_at.plus_secs(MAX_VALIDITY_SECS + 1)),
            Some(ListingError::Expiry)
        );
        assert_eq!(
            bad(&|l| l.costs = vec![
                WorkerCost {
                    item: "x".into(),
                    amount: money(1, "THB")
                };
                MAX_COSTS + 1
            ]),
            Some(ListingError::Costs)
        );
    }

    #[test]
    fn a_fee_contradicts_a_listing_that_charges_less() {
        let mut l = sample();
        // Employer Pays: any fee contradicts it.
        assert!(l.contradicted_by_fee(&money(500_000, "MMK")));
        assert!(!l.contradicted_by_fee(&money(0, "THB")));
        l.costs = vec![
            WorkerCost {
                item: "medical check".into(),
                amount: money(100_000, "THB"),
            },
            WorkerCost {
                item: "visa".into(),
                amount: money(50_000, "THB"),
            },
        ];
        assert_eq!(
            l.worker_pays().get(&"THB".parse().expect("c")),
            Some(&150_000)
        );
        assert!(!l.contradicted_by_fee(&money(150_000, "THB")));
        assert!(l.contradicted_by_fee(&money(150_001, "THB")));
        // Another currency cannot be compared.
        assert!(!l.contradicted_by_fee(&money(9_000_000, "MMK")));
    }

    #[test]
    fn a_later_version_replaces_and_a_withdrawal_closes() {
        let l = sample();
        let mut later = sample();
        later.published_at = l.published_at.plus_secs(1);
        later.withdrawn = true;
        assert!(later.replaces(&l));
        assert!(!l.replaces(&later));
        // A version that moves the first publication (to clear the listing's record) does not.
        let mut moved = later.clone();
        moved.first_published_at = later.published_at;
        assert!(!moved.replaces(&l));
        assert!(
            !l.is_open(Timestamp(l.published_at.0 - 1)),
            "not before publication"
        );
        assert!(l.is_open(l.published_at));
        assert!(!l.is_open(l.expires_at));
        assert!(!later.is_open(later.published_at));
    }
}
