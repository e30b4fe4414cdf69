//! Improvement plans (systems strengthening): a supplier or recruitment agency records the
//! activities it plans and completes (a policy adopted, a grievance mechanism, training...),
//! signed, for its linked brands and the CSOs it works with. Brands see them as markers on
//! their trend charts, to judge whether issues fell after a change.
//!
//! Each activity has an id chosen by its organisation; a later record of the same id (a
//! completion, a corrected date, a withdrawal) replaces an earlier one, judged by
//! `recorded_at`.

use crate::bytes::{byte_newtype, to_hex};
use crate::identity::{OrgId, Timestamp};
use crate::limits::{check_text, check_time};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};

/// Longest title, in bytes (200 characters of Thai or Burmese).
pub const MAX_TITLE: usize = 600;
/// Longest description, in bytes (4,000 characters of Thai or Burmese).
pub const MAX_DESCRIPTION: usize = 12_000;
/// How far after `recorded_at` a completion date may fall: a day, since dates are chosen in
/// the organisation's time zone and recorded in UTC.
pub const COMPLETION_SLACK_SECS: u64 = 86_400;

byte_newtype!(
    /// An activity's id, random, chosen by the organisation that records it.
    ActivityId,
    16
);

/// What kind of change an activity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A policy adopted, such as the Employer Pays principle.
    PolicyAdopted,
    /// A grievance mechanism set up or improved.
    GrievanceMechanism,
    /// Training of managers, recruiters or workers.
    Training,
    /// A change of recruitment channel (an ethical agency, direct hiring...).
    RecruitmentChannelChange,
    /// A programme repaying recruitment fees.
    FeeRepaymentProgramme,
    /// Anything else.
    Other,
}

impl ActivityKind {
    /// Every kind, in the order forms list them.
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::PolicyAdopted,
        ActivityKind::GrievanceMechanism,
        ActivityKind::Training,
        ActivityKind::RecruitmentChannelChange,
        ActivityKind::FeeRepaymentProgramme,
        ActivityKind::Other,
    ];
}

/// One activity of an improvement plan, as its organisation states it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImprovementActivity {
    /// The network.
    pub network_id: NetworkId,
    /// The supplier or agency whose plan it is (and who signs).
    pub org: OrgId,
    /// Which activity (the same id in a later record replaces this one).
    pub id: ActivityId,
    /// What kind of change.
    pub kind: ActivityKind,
    /// A short title, e.g. "Employer Pays policy adopted".
    pub title: String,
    /// What is done, by whom, for how many workers.
    pub description: String,
    /// When it is planned for.
    pub planned_for: Timestamp,
    /// When it was completed (None while planned).
    pub completed_at: Option<Timestamp>,
    /// When this version was recorded.
    pub recorded_at: Timestamp,
    /// Whether this version withdraws the activity from the plan (absent: false, so records
    /// made before withdrawal existed are unchanged).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

impl RecordBody for ImprovementActivity {
    const KIND: RecordKind = RecordKind::ImprovementActivity;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.org]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.recorded_at)
    }
}

/// Why an activity record is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    /// The title is empty, too long or has control characters.
    #[error("the title must be 1 to {MAX_TITLE} bytes on one line")]
    Title,
    /// The description is too long or has control characters.
    #[error("the description must be at most {MAX_DESCRIPTION} bytes")]
    Description,
    /// A time after the year 9999.
    #[error("a time after the year 9999")]
    Time,
    /// A completion date in the future (more than a day after the record that states it).
    #[error("the completion date may not be in the future")]
    CompletedLater,
}

impl ActivityError {
    /// A stable code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ActivityError::Title => "activity.title",
            ActivityError::Description => "activity.description",
            ActivityError::Time => "activity.time",
            ActivityError::CompletedLater => "activity.completed_later",
        }
    }
}

impl ImprovementActivity {
    /// Checks the field rules every receiver enforces.
    pub fn check_well_formed(&self) -> Result<(), ActivityError> {
        if self.title.trim().is_empty() || check_text(&self.title, MAX_TITLE, true).is_err() {
            return Err(ActivityError::Title);
        }
        check_text(&self.description, MAX_DESCRIPTION, false)
            .map_err(|_| ActivityError::Description)?;
        for t in [
            Some(self.planned_for),
            self.completed_at,
            Some(self.recorded_at),
        ]
        .into_iter()
        .flatten()
        {
            check_time(t).map_err(|_| ActivityError::Time)?;
        }
        let latest = self.recorded_at.plus_secs(COMPLETION_SLACK_SECS);
        if self.completed_at.is_some_and(|c| c > latest) {
            return Err(ActivityError::CompletedLater);
        }
        Ok(())
    }

    /// Whether this record replaces `held` (a later version of the same activity).
    pub fn replaces(&self, held: &ImprovementActivity) -> bool {
        self.org == held.org && self.id == held.id && self.recorded_at > held.recorded_at
    }

    /// The date a chart marks: completion if completed, else the plan.
    pub fn marker_date(&self) -> Timestamp {
        self.completed_at.unwrap_or(self.planned_for)
    }

    /// The storage id: organisation then activity id.
    pub fn key(&self) -> String {
        format!("{}{}", self.org.to_hex(), to_hex(self.id.as_bytes()))
    }
}
