//! Per responding party, what its dashboard counts: its rounds by stage, by the month it was
//! first escalated to and by issue category, its days to acknowledge, the remediations the
//! workers confirmed, and the acknowledgements it owes. Kept with the other aggregates (in
//! the batch that stores the case, and in the recount), so that a supplier's, an agency's or
//! a labour office's dashboard reads a few cells instead of every case it holds.

use super::{Cells, add, days_between, month};
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseState, OrgId, Owed, Timestamp, Verdict};
use std::collections::BTreeMap;

/// Every per-party cell starts with this, then the party's id and a dot.
pub const PREFIX: &str = "party.";

/// The start of `org`'s cells.
pub fn prefix(org: &OrgId) -> String {
    format!("{PREFIX}{org}.")
}

/// Adds to `c` what one case counts per party.
pub(super) fn add_case(c: &mut Cells, state: &CaseState) {
    for p in &state.parties {
        let at = prefix(&p.party);
        add(c, format!("{at}stage.{}", p.stage.code()), 1);
        add(c, format!("{at}month.{}", month(p.first_escalated_at)), 1);
        for cat in &p.categories {
            add(c, format!("{at}category.{}", cat.code()), 1);
        }
        if let Some(a) = p.acknowledged_at {
            let d = days_between(p.escalated_at, a);
            add(c, format!("{at}ack.{d:03}"), 1);
        }
        if matches!(p.verdict, Some(Verdict::Resolved | Verdict::PartlyResolved)) {
            add(c, format!("{at}remediated"), 1);
        }
    }
    // What is owed does not depend on the time asked at; only whether it is overdue does.
    for o in state.obligations(Timestamp(0)) {
        if o.what == Owed::Acknowledgement {
            add(c, format!("{}owes_ack", prefix(&o.party)), 1);
        }
    }
}

/// How many cases `org` is a party to here (escalated to it): its rounds by stage, summed.
pub fn cases_of(store: &Store, org: &OrgId) -> Result<usize, StoreError> {
    let stages = super::with_prefix(store, &format!("{}stage.", prefix(org)))?;
    Ok(stages
        .values()
        .map(|n| usize::try_from(*n).unwrap_or(0))
        .sum())
}

/// One party's figures, as its cells hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartyFigures {
    /// Acknowledgements it owes (in open cases).
    pub owes_ack: u64,
    /// Its rounds whose remediation the workers confirmed (resolved or partly).
    pub remediated: u64,
    /// Its rounds by stage code.
    pub stages: BTreeMap<String, u64>,
    /// Its rounds by the month (`YYYY-MM`) it was first escalated to.
    pub months: BTreeMap<String, u64>,
    /// Issue categories of its rounds, by code.
    pub categories: BTreeMap<String, u64>,
    /// Its acknowledgements by whole days after the escalation (`ddd` to count).
    pub ack_days: BTreeMap<String, i64>,
}

/// `org`'s figures: one read of its cells.
pub fn figures(store: &Store, org: &OrgId) -> Result<PartyFigures, StoreError> {
    let mut f = PartyFigures::default();
    for (name, n) in super::with_prefix(store, &prefix(org))? {
        let count = u64::try_from(n).unwrap_or(0);
        match name.split_once('.') {
            Some(("stage", s)) => _ = f.stages.insert(s.to_string(), count),
            Some(("month", m)) => _ = f.months.insert(m.to_string(), count),
            Some(("category", c)) => _ = f.categories.insert(c.to_string(), count),
            Some(("ack", d)) => _ = f.ack_days.insert(d.to_string(), n),
            _ if name == "owes_ack" => f.owes_ack = count,
            _ if name == "remediated" => f.remediated = count,
            _ => {}
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests;
