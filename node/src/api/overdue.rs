//! `GET /api/overdue`: what is past its due date, the most overdue cases first, with how many
//! cases have something overdue and, per organisation, how many it owes something in. Read
//! from the due-date indexes (at a brand, the lists and cells kept with its status reports),
//! so that only the listed cases are loaded, and at a brand the few it holds the history of.

use super::{ApiError, ApiResult, ApiState};
use crate::aggregates::{chain, due, opened, reports};
use crate::cases::{self, overdue_items};
use crate::membership::now;
use crate::schema;
use crate::store::{Store, StoreError};
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
pub type Listed = (Timestamp, CaseRef, Vec<Value>);

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
    // A brand's supply chain, from the CSOs' status reports.
    let reported = from_reports(&st.store, t, limit)?;
    cases += reported.cases;
    for (party, n) in reported.per_party {
        match by_party.iter_mut().find(|(p, _)| *p == party) {
            Some((_, m)) => *m += n,
            None => by_party.push((party, n)),
        }
    }
    by_party.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    listed.extend(reported.listed);
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

/// What a brand's supply chain has overdue, from the status reports it holds about cases it
/// holds no history of ([`from_reports`]).
#[derive(Debug, Default, PartialEq)]
pub struct Reported {
    /// The first cases asked for, most overdue first, with their overdue items.
    pub listed: Vec<Listed>,
    /// How many cases have something overdue.
    pub cases: u64,
    /// How many of them each supplier or agency owes something in (none at zero): its
    /// reports that do, as a case has one report per party (its reference derives from its
    /// one CSO, which every delivery of a report is checked for).
    pub per_party: BTreeMap<OrgId, u64>,
}

/// Case histories read at a time while looking for those the reports also tell of.
const CHUNK: usize = 256;

/// A brand's supply chain, from the cells and lists kept with its status reports (one per
/// case and party), so that only the listed cases are read: the first `limit` cases in which
/// some party owes something due before `now`, how many there are, and per party. Cases this
/// node holds the history of are left out (their history lists them): the few escalated to
/// the brand itself, each read to take it out of the counts.
pub fn from_reports(store: &Store, now: Timestamp, limit: usize) -> Result<Reported, StoreError> {
    let mut cases = chain::cases_overdue(store, now)?;
    if cases == 0 {
        return Ok(Reported::default());
    }
    let mut per_party = BTreeMap::new();
    for party in reports::owing_parties(store)? {
        let n = reports::overdue(store, &party, now)?;
        if n > 0 {
            per_party.insert(party, n);
        }
    }
    let mut held = BTreeSet::new();
    let mut from = Vec::new();
    loop {
        let ids = store.ids_from(&schema::CASE_STATES, &[], &from, CHUNK)?;
        for id in &ids {
            let Ok(case) = <[u8; 16]>::try_from(id.as_slice()).map(CaseRef) else {
                continue;
            };
            let group = reports::reports_of(store, &case)?;
            let owing: Vec<OrgId> = chain::overdue_in(&group, now)
                .into_iter()
                .map(|(r, _)| r.supplier)
                .collect();
            if owing.is_empty() {
                continue;
            }
            held.insert(case);
            cases = cases.saturating_sub(1);
            for party in owing {
                if let Some(n) = per_party.get_mut(&party) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        match ids.last() {
            Some(last) if ids.len() == CHUNK => from = [last.as_slice(), &[0]].concat(),
            _ => break,
        }
    }
    per_party.retain(|_, n| *n > 0);
    let mut listed = Vec::new();
    for (due, case) in chain::overdue_page(store, now, limit.saturating_add(held.len()))? {
        if listed.len() == limit {
            break;
        }
        if held.contains(&case) {
            continue;
        }
        let group = reports::reports_of(store, &case)?;
        let items = chain::overdue_in(&group, now)
            .into_iter()
            .flat_map(|(r, late)| {
                late.into_iter().map(|(what, due)| {
                    json!({ "case_ref": r.case_ref, "party": r.supplier, "what": what, "due": due })
                })
            })
            .collect();
        listed.push((due, case, items));
    }
    Ok(Reported {
        listed,
        cases,
        per_party,
    })
}
