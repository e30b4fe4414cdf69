//! Ratings of employers and recruitment agencies by workers, on fixed dimensions tied to
//! forced-labour indicators. Workers' ratings stay at the CSO that collected them; what
//! leaves it is a signed summary per rated organisation: how many ratings and the sum of the
//! scores on each dimension, published only once at least k ratings are counted, and each
//! later summary only once at least k more are (so that subtracting two summaries tells of
//! no fewer than k workers). The rated organisation answers with a signed public statement.

use crate::identity::{OrgId, Timestamp};
use crate::limits::{check_text, check_time};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};

/// The smallest k a summary may be published with.
pub const MIN_K: u32 = 5;
/// The lowest and highest score on a dimension.
pub const SCORES: std::ops::RangeInclusive<u8> = 1..=5;
/// Most ratings one summary counts (more than any CSO collects about one organisation).
pub const MAX_COUNT: u32 = 1_000_000;
/// Longest public answer, in bytes (2,000 characters of Thai or Burmese).
pub const MAX_ANSWER: usize = 6_000;

/// What workers rate, each tied to forced-labour indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// No recruitment fees charged to workers (debt bondage).
    RecruitmentFees,
    /// The contract was honest and understood (deception).
    HonestContract,
    /// Wages paid in full and on time (withholding of wages).
    WagesPaid,
    /// Workers keep their own documents (retention of identity documents).
    DocumentsKept,
    /// Workers are free to leave the job and the housing (restriction of movement).
    FreedomToLeave,
    /// Workers are treated with respect, without threats or violence.
    Treatment,
}

impl Dimension {
    /// Every dimension, in the order forms and summaries list them.
    pub const ALL: [Dimension; 6] = [
        Dimension::RecruitmentFees,
        Dimension::HonestContract,
        Dimension::WagesPaid,
        Dimension::DocumentsKept,
        Dimension::FreedomToLeave,
        Dimension::Treatment,
    ];

    /// The snake_case code used in forms and files.
    pub fn code(&self) -> &'static str {
        match self {
            Dimension::RecruitmentFees => "recruitment_fees",
            Dimension::HonestContract => "honest_contract",
            Dimension::WagesPaid => "wages_paid",
            Dimension::DocumentsKept => "documents_kept",
            Dimension::FreedomToLeave => "freedom_to_leave",
            Dimension::Treatment => "treatment",
        }
    }
}

/// The sum of the scores given on one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionSum {
    /// The dimension.
    pub dimension: Dimension,
    /// The sum of every counted rating's score on it.
    pub sum: u64,
}

/// A CSO's summary of the ratings it collected about one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingSummary {
    /// The network.
    pub network_id: NetworkId,
    /// The CSO that collected the ratings (and signs).
    pub publisher: OrgId,
    /// The employer or agency rated.
    pub org: OrgId,
    /// The threshold the CSO published with (at least [`MIN_K`]).
    pub k: u32,
    /// How many ratings are counted.
    pub count: u32,
    /// The sum of the scores on each dimension, in [`Dimension::ALL`] order.
    pub sums: Vec<DimensionSum>,
    /// When it was published.
    pub published_at: Timestamp,
}

impl RecordBody for RatingSummary {
    const KIND: RecordKind = RecordKind::RatingSummary;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.publisher]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.published_at)
    }
}

/// Why a summary breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    /// A threshold below [`MIN_K`].
    #[error("k must be at least {MIN_K}")]
    SmallK,
    /// Fewer ratings than k, or more than [`MAX_COUNT`].
    #[error("a summary counts at least k and at most {MAX_COUNT} ratings")]
    TooFew,
    /// The sums are not one per dimension, in order, each within the scores' range.
    #[error("one sum per dimension, in order, each between 1 and 5 times the count")]
    Sums,
    /// A CSO summarising ratings of itself.
    #[error("an organisation cannot be rated by itself")]
    SelfRated,
    /// A time after the year 9999.
    #[error("a time after the year 9999")]
    Time,
    /// A later summary adding fewer than k ratings to an earlier one, or not extending it.
    #[error("a later summary must add at least k ratings to the earlier one")]
    SmallStep,
    /// A summary with more ratings than the one held, published no later than it.
    #[error("a summary with more ratings must be published after the earlier one")]
    NotLater,
}

impl RatingError {
    /// A stable code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            RatingError::SmallK => "rating.k",
            RatingError::TooFew => "rating.too_few",
            RatingError::Sums => "rating.sums",
            RatingError::SelfRated => "rating.self",
            RatingError::Time => "rating.time",
            RatingError::SmallStep => "rating.small_step",
            RatingError::NotLater => "rating.not_later",
        }
    }
}

/// The range of a sum of `count` scores.
fn sum_range(count: u64) -> std::ops::RangeInclusive<u64> {
    count * u64::from(*SCORES.start())..=count * u64::from(*SCORES.end())
}

impl RatingSummary {
    /// Checks the rules every receiver enforces on one summary.
    pub fn check(&self) -> Result<(), RatingError> {
        if self.k < MIN_K {
            return Err(RatingError::SmallK);
        }
        if self.count < self.k || self.count > MAX_COUNT {
            return Err(RatingError::TooFew);
        }
        if self.publisher == self.org {
            return Err(RatingError::SelfRated);
        }
        let in_order = self.sums.len() == Dimension::ALL.len()
            && self.sums.iter().zip(Dimension::ALL).all(|(s, d)| {
                s.dimension == d && sum_range(u64::from(self.count)).contains(&s.sum)
            });
        if !in_order {
            return Err(RatingError::Sums);
        }
        check_time(self.published_at).map_err(|_| RatingError::Time)
    }

    /// Whether this summary should replace `held`, an earlier one of the same CSO and
    /// organisation: `Ok(false)` when it is older or the same, an error when it adds fewer
    /// than k ratings (the difference would tell of fewer than k workers) or its sums
    /// could not extend the held ones.
    pub fn follows(&self, held: &RatingSummary) -> Result<bool, RatingError> {
        if self.count <= held.count {
            return Ok(false);
        }
        let added = u64::from(self.count - held.count);
        if added < u64::from(self.k.max(held.k)) {
            return Err(RatingError::SmallStep);
        }
        let extends = self
            .sums
            .iter()
            .zip(&held.sums)
            .all(|(new, old)| sum_range(added).contains(&new.sum.saturating_sub(old.sum)));
        if !extends {
            return Err(RatingError::SmallStep);
        }
        if self.published_at <= held.published_at {
            return Err(RatingError::NotLater);
        }
        Ok(true)
    }

    /// The mean score on `dimension`, from 1 to 5.
    pub fn mean(&self, dimension: Dimension) -> Option<f64> {
        let s = self.sums.iter().find(|s| s.dimension == dimension)?;
        (self.count > 0).then(|| s.sum as f64 / f64::from(self.count))
    }
}

/// A rated organisation's public answer to its ratings; a later one replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingAnswer {
    /// The network.
    pub network_id: NetworkId,
    /// The organisation answering (and signing).
    pub org: OrgId,
    /// What it says (empty: it withdraws its answer).
    pub text: String,
    /// When it answered.
    pub answered_at: Timestamp,
}

impl RecordBody for RatingAnswer {
    const KIND: RecordKind = RecordKind::RatingAnswer;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.org]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.answered_at)
    }
}

impl RatingAnswer {
    /// Checks the field rules every receiver enforces.
    pub fn check(&self) -> Result<(), &'static str> {
        check_text(&self.text, MAX_ANSWER, false)?;
        check_time(self.answered_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(count: u32, score: u64, at: u64) -> RatingSummary {
        RatingSummary {
            network_id: NetworkId([1; 16]),
            publisher: OrgId([2; 32]),
            org: OrgId([3; 32]),
            k: 5,
            count,
            sums: Dimension::ALL
                .iter()
                .map(|d| DimensionSum {
                    dimension: *d,
                    sum: score * u64::from(count),
                })
                .collect(),
            published_at: Timestamp(at),
        }
    }

    #[test]
    fn a_summary_counts_at_least_k_ratings_of_another_organisation() {
        assert_eq!(summary(5, 3, 10).check(), Ok(()));
        assert_eq!(summary(4, 3, 10).check(), Err(RatingError::TooFew));
        assert_eq!(
            summary(MAX_COUNT + 1, 3, 10).check(),
            Err(RatingError::TooFew)
        );
        let mut s = summary(9, 3, 10);
        s.k = 4;
        assert_eq!(s.check(), Err(RatingError::SmallK));
        let mut s = summary(5, 3, 10);
        s.org = s.publisher;
        assert_eq!(s.check(), Err(RatingError::SelfRated));
        let mut s = summary(5, 3, 10);
        s.sums[2].sum = 26;
        assert_eq!(s.check(), Err(RatingError::Sums));
        let mut s = summary(5, 3, 10);
        s.sums.swap(0, 1);
        assert_eq!(s.check(), Err(RatingError::Sums));
    }

    #[test]
    fn a_later_summary_adds_at_least_k_ratings() {
        let first = summary(5, 3, 10);
        assert_eq!(summary(10, 3, 20).follows(&first), Ok(true));
        // Subtracting these two would tell of one worker.
        assert_eq!(
            summary(6, 3, 20).follows(&first),
            Err(RatingError::SmallStep)
        );
        assert_eq!(first.follows(&summary(10, 3, 20)), Ok(false));
        assert_eq!(first.follows(&first), Ok(false));
        // Sums that fell cannot extend the earlier ones.
        let mut lower = summary(10, 3, 20);
        lower.sums[0].sum = 10;
        assert_eq!(lower.follows(&first), Err(RatingError::SmallStep));
        assert_eq!(
            summary(10, 3, 10).follows(&first),
            Err(RatingError::NotLater)
        );
        assert_eq!(summary(10, 4, 20).mean(Dimension::Treatment), Some(4.0));
    }
}
