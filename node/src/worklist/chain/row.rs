//! The row of a brand's case, built from its status reports: what each report concerns,
//! what is overdue in it, and the days it reached each organisation.

use super::super::condition::Key;
use super::super::{CaseRow, Source, member_name};
use crate::aggregates::{chain, opened, reports};
use crate::membership::MembershipState;
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use ilm_protocol::{OrgId, Timestamp};

/// The row of a brand's case (None when its reports are gone).
pub fn row_of(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    key: &Key,
) -> Result<Option<CaseRow>, StoreError> {
    let reports = reports::reports_of(store, &opened::case_of(key))?;
    Ok(report_row(&reports, &member_name(membership), now))
}

/// The row of a case a brand knows from its status reports (`group`, in id order), naming
/// each supplier or agency a report concerns; None for no reports.
pub(in crate::worklist) fn report_row(
    group: &[StatusReport],
    name: &dyn Fn(&OrgId) -> String,
    now: Timestamp,
) -> Option<CaseRow> {
    let s = crate::aggregates::chain::summary(group)?;
    // Each once, in the reports' order: two CSOs' reports about one party are not adjacent.
    let mut counterparties: Vec<OrgId> = Vec::new();
    for o in group.iter().map(|r| r.supplier).chain([s.cso]) {
        if !counterparties.contains(&o) {
            counterparties.push(o);
        }
    }
    let counterparty_names: Vec<String> = counterparties.iter().map(name).collect();
    let late = late_in_reports(group, now);
    Some(CaseRow {
        case_ref: s.case_ref,
        status: s.status.code().to_string(),
        opened_at: s.opened_at,
        site: String::new(),
        counterparties,
        counterparty_names,
        workers: group.iter().map(|r| r.workers_affected).max().unwrap_or(0),
        next_due: s.next_due,
        overdue: !late.is_empty(),
        overdue_with: late,
        closed: s.closed(),
        categories: s.categories,
        source: Source::Report,
        sector: s.sector,
        corridor: s.corridor,
        reached: group
            .iter()
            .map(|r| super::super::Reached {
                party: r.supplier,
                at: r.escalated_at,
                categories: r.categories.clone(),
                sector: r.sector.clone(),
                corridor: r.corridor.clone(),
            })
            .collect(),
        text: String::new(),
    })
}

/// The suppliers and agencies of a case's status reports that have something overdue (none
/// in a closed case).
fn late_in_reports(reports: &[StatusReport], now: Timestamp) -> Vec<OrgId> {
    let mut out: Vec<OrgId> = chain::overdue_in(reports, now)
        .into_iter()
        .map(|(r, _)| r.supplier)
        .collect();
    out.sort();
    out.dedup();
    out
}
