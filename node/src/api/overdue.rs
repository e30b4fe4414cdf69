//! `GET /api/overdue`: what is past its due date, the most overdue cases first, with how many
//! cases have something overdue and, per organisation, how many it owes something in. Read
//! from the due-date indexes, so that only the listed cases are loaded.

use super::{ApiError, ApiResult, ApiState};
use crate::aggregates::{due, opened};
use crate::cases::{self, overdue_items};
use crate::membership::now;
use crate::records::StatusReport;
use crate::schema;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use ilm_protocol::{CaseRef, OrgId, Role, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What `GET /api/overdue` lists.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct OverdueQuery {
    /// The most cases listed (1 to `MAX_PER_PAGE`; default `LISTED`).
    limit: Option<usize>,
}

/// Cases listed unless asked for another number: the counts always cover every case.
const LISTED: usize = 500;

/// One listed case: its earliest overdue date, and its overdue items as JSON.
type Listed = (Timestamp, CaseRef, Vec<Value>);

pub(crate) async fn overdue(
    State(st): State<Arc<ApiState>>,
    query: Result<Query<OverdueQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(LISTED);
    if !(1..=crate::worklist::MAX_PER_PAGE).contains(&limit) {
        return Err(ApiError::bad(format!(
            "limit: 1 to {}",
            crate::worklist::MAX_PER_PAGE
        )));
    }
    let me = st.keys.org_id();
    let t = now();
    // A CSO owns its cases: every overdue item in them. Any other node lists what it owes
    // itself (its histories hold what other parties owe too, which is theirs to answer).
    let (mut listed, mut cases, mut by_party) = if st.role == Role::Cso {
        let by_party = due::overdue_by_party(&st.store, t)?;
        let listed = from_index(&st, &due::LISTS, due::ALL, t, limit, &|_| true)?;
        (listed, due::overdue(&st.store, t)?, by_party)
    } else {
        let mine = |p: &OrgId| *p == me;
        let listed = from_index(&st, &due::BY_PARTY, me.as_bytes(), t, limit, &mine)?;
        let n = due::overdue_at(&st.store, &me, t)?;
        let by_party = if n > 0 { vec![(me, n)] } else { Vec::new() };
        (listed, n, by_party)
    };
    // A brand's supply chain, from the CSOs' status reports (one per case and party) of
    // cases it holds no history of.
    let (reported, per_party) = from_reports(&st, t)?;
    cases += reported.len() as u64;
    for (party, n) in per_party {
        match by_party.iter_mut().find(|(p, _)| *p == party) {
            Some((_, m)) => *m += n,
            None => by_party.push((party, n)),
        }
    }
    by_party.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    listed.extend(reported);
    listed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    listed.truncate(limit);
    Ok(Json(json!({
        "overdue": listed.iter().flat_map(|(_, _, items)| items).collect::<Vec<_>>(),
        "cases": cases,
        "listed": listed.len(),
        "by_party": by_party
            .iter()
            .map(|(party, n)| json!({ "party": party, "cases": n }))
            .collect::<Vec<_>>(),
    })))
}

/// The first `limit` cases of the due-date list `term` of `lists` due before `now`, with the
/// overdue items of the parties `shown` keeps.
fn from_index(
    st: &ApiState,
    lists: &due::DueLists,
    term: &[u8],
    now: Timestamp,
    limit: usize,
    shown: &dyn Fn(&OrgId) -> bool,
) -> Result<Vec<Listed>, ApiError> {
    let mut out = Vec::new();
    for id in lists.ids_in(&st.store, term, 0, limit)? {
        let Some(due) = due::due_of(term, &id).filter(|d| *d < now) else {
            break;
        };
        let Some(key) = opened::key_of(&id) else {
            continue;
        };
        let Some(state) = cases::state_of(&st.store, &opened::case_of(&key))? else {
            continue;
        };
        let items = overdue_items(&state, now)
            .into_iter()
            .filter(|o| shown(&o.party))
            .map(|o| json!(o))
            .collect();
        out.push((due, state.case_ref, items));
    }
    Ok(out)
}

/// The overdue cases of the status reports this node holds (a brand's), most overdue first,
/// for cases it holds no history of, and how many each supplier or agency owes something in.
fn from_reports(
    st: &ApiState,
    now: Timestamp,
) -> Result<(Vec<Listed>, BTreeMap<OrgId, u64>), ApiError> {
    let mut cases: BTreeMap<CaseRef, Listed> = BTreeMap::new();
    let mut per_party: BTreeMap<OrgId, BTreeSet<CaseRef>> = BTreeMap::new();
    let mut failed = None;
    st.store
        .for_each(&schema::STATUS_REPORTS, &[], |r: StatusReport| {
            let late = r.overdue(now);
            let Some(first) = late.iter().map(|(_, due)| *due).min() else {
                return;
            };
            match st.store.contains(&schema::CASE_STATES, r.case_ref.as_bytes()) {
                Ok(false) => {}
                Ok(true) => return,
                Err(e) => {
                    failed = Some(e);
                    return;
                }
            }
            per_party.entry(r.supplier).or_default().insert(r.case_ref);
            let entry = cases
                .entry(r.case_ref)
                .or_insert_with(|| (first, r.case_ref, Vec::new()));
            entry.0 = entry.0.min(first);
            for (what, due) in late {
                entry.2.push(
                    json!({ "case_ref": r.case_ref, "party": r.supplier, "what": what, "due": due }),
                );
            }
        })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let counts = per_party
        .into_iter()
        .map(|(p, c)| (p, c.len() as u64))
        .collect();
    Ok((cases.into_values().collect(), counts))
}
