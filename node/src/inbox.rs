//! A responding party's inbox: the cases escalated to this node, a page at a time. First the
//! cases in which it owes something, soonest due first (so what is overdue leads), then the
//! others (answered rounds, closed cases), newest first.
//!
//! Read from the indexes kept with the aggregates, not from every case: the first part is
//! this node's own due-date list ([`due::BY_PARTY`]), the second its list of the cases it
//! owes nothing in ([`due::SETTLED`]); the totals come from the party's aggregate cells. A
//! page then costs its rows and the keys of its part before it.

use crate::aggregates::{due, opened};
use crate::cases::{self, Overdue, overdue_items};
use crate::store::{Store, StoreError};
use crate::worklist::{MAX_PER_PAGE, page_size};
use ilm_protocol::event::Escalation;
use ilm_protocol::{CaseRef, CaseState, CaseStatus, EventKind, OrgId, PartyStage, Timestamp};
use serde::{Deserialize, Serialize};

/// A case escalated to this node, as its inbox lists it.
#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    /// The case.
    pub case_ref: CaseRef,
    /// The case's status.
    pub status: CaseStatus,
    /// The CSO that owns the case (and escalated it).
    pub owner: OrgId,
    /// When the case was first escalated to this node.
    pub escalated_at: Timestamp,
    /// The next date this node owes something by (none when it owes nothing).
    pub next_due: Option<Timestamp>,
    /// Where this node's own round stands.
    pub stage: PartyStage,
    /// The latest escalation to this node (what is asked, and by when).
    pub escalation: Escalation,
    /// What this node owes past its due date.
    pub overdue: Vec<Overdue>,
    /// Events in the case.
    pub event_count: u32,
    /// What this node may add now.
    pub allowed: Vec<EventKind>,
}

/// Which page of the inbox to show.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboxQuery {
    /// Page number, from 1 (0: the first).
    pub page: usize,
    /// Items per page, 1 to [`MAX_PER_PAGE`] (0: [`crate::worklist::PER_PAGE`]).
    pub per_page: usize,
}

/// Why an inbox page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// A page size out of range.
    #[error("per_page: 1 to {MAX_PER_PAGE}")]
    BadPageSize,
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of the inbox.
#[derive(Debug, Clone, Serialize)]
pub struct InboxPage {
    /// The cases of this page, in the inbox's order.
    pub items: Vec<InboxItem>,
    /// Cases escalated to this node, on every page.
    pub total: usize,
    /// Of them, the cases in which this node owes something (they come first).
    pub owing: usize,
    /// This page, from 1.
    pub page: usize,
    /// Number of pages (at least 1).
    pub pages: usize,
}

/// The page of `me`'s inbox that `query` asks for (a page past the last shows the last).
pub fn page(
    store: &Store,
    me: &OrgId,
    now: Timestamp,
    query: InboxQuery,
) -> Result<InboxPage, InboxError> {
    let per_page = page_size(query.per_page).ok_or(InboxError::BadPageSize)?;
    // Counted from the aggregate cells kept with the lists (in the same batches), not by
    // reading the lists' keys. Every case in which this node owes something is also one
    // escalated to it (an owner is never a party, as a CSO is never escalated to).
    let owing = due::owing(store, me)?;
    let total = count(store, me)?.max(owing);
    let pages = total.div_ceil(per_page).max(1);
    let page = query.page.clamp(1, pages);
    let skip = (page - 1) * per_page;
    let mut keys: Vec<opened::Key> = due::BY_PARTY
        .ids_in(store, me.as_bytes(), skip, per_page)?
        .iter()
        .filter_map(|id| opened::key_of(id))
        .collect();
    if keys.len() < per_page && total > owing {
        keys.extend(
            due::SETTLED
                .ids_in(
                    store,
                    me.as_bytes(),
                    skip.saturating_sub(owing),
                    per_page - keys.len(),
                )?
                .iter()
                .filter_map(|id| opened::key_of(id)),
        );
    }
    let mut items = Vec::with_capacity(keys.len());
    for key in &keys {
        if let Some(state) = cases::state_of(store, &opened::case_of(key))?
            && let Some(item) = item(&state, me, now)
        {
            items.push(item);
        }
    }
    Ok(InboxPage {
        items,
        total,
        owing,
        page,
        pages,
    })
}

/// How many cases are escalated to `me` here (the dashboards' count of the inbox).
pub fn count(store: &Store, me: &OrgId) -> Result<usize, StoreError> {
    crate::aggregates::party::cases_of(store, me)
}

/// A case's entry in `me`'s inbox (None when `me` is not a party to it).
pub fn item(state: &CaseState, me: &OrgId, now: Timestamp) -> Option<InboxItem> {
    let mine = state.party(me)?;
    let next_due = state
        .obligations(now)
        .iter()
        .filter(|o| o.party == *me)
        .map(|o| o.due)
        .min();
    Some(InboxItem {
        case_ref: state.case_ref,
        status: state.status(),
        owner: state.owner,
        escalated_at: mine.first_escalated_at,
        next_due,
        stage: mine.stage,
        escalation: mine.escalation.clone(),
        overdue: overdue_items(state, now)
            .into_iter()
            .filter(|o| o.party == *me)
            .collect(),
        event_count: state.events,
        allowed: state.allowed(me),
    })
}

#[cfg(test)]
pub(crate) mod tests;
