//! The page of one case.

use super::*;

pub(crate) async fn case_page(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    Path(case): Path<String>,
) -> Response {
    let Ok(case) = case.parse::<ilm_protocol::CaseRef>() else {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "not_a_case");
    };
    let page = match case_ctx(&st, &p, &case) {
        Ok(Some(ctx)) => Ok(Some(("case.html", ctx))),
        Ok(None) => report_ctx(&st, &p, &case).map(|c| c.map(|c| ("report_case.html", c))),
        Err(e) => Err(e),
    };
    match page {
        Ok(Some((template, ctx))) => render(&st, template, ctx)
            .map(IntoResponse::into_response)
            .unwrap_or_else(IntoResponse::into_response),
        Ok(None) => error_page(&st, Some(&p), StatusCode::NOT_FOUND, "no_such_case"),
        Err(e) => e.into_response(),
    }
}

/// A case this node knows only from what it legitimately received (a brand: the CSO's status
/// reports for its linked suppliers, and the attestation), not from its history.
fn report_ctx(
    st: &ApiState,
    p: &Principal,
    case: &ilm_protocol::CaseRef,
) -> Result<Option<Value>, ApiError> {
    let reports: Vec<crate::records::StatusReport> =
        st.store.scan(&schema::STATUS_REPORTS, case.as_bytes())?;
    let attestation = st.store.get(&schema::ATTESTATIONS, case.as_bytes())?;
    if reports.is_empty() && attestation.is_none() {
        return Ok(None);
    }
    let t = now();
    let me = st.keys.org_id();
    let mut ctx = base_ctx(st, Some(p), "case", "/cases");
    ctx["title"] = json!(format!(
        "{} {}",
        ctx["t"]["case"].as_str().unwrap_or("Case"),
        case.to_hex().get(..12).unwrap_or_default()
    ));
    ctx["case_ref"] = json!(case);
    ctx["names"] = json!(member_names(st));
    ctx["reports"] = json!(reports_shown(&reports, t));
    ctx["status"] = json!(
        reports
            .iter()
            .max_by_key(|r| r.reported_at)
            .map(|r| r.status.code())
    );
    ctx["attestation"] = json!(attestation.as_ref().map(|a| crate::views::attestation(
        &st.membership,
        &me,
        a
    )));
    ctx["can_download"] = json!(crate::views::bundle(&st.store, &st.membership, case).is_ok());
    Ok(Some(ctx))
}

/// A case's status reports as its page shows them, each with what its party owes and whether
/// it is overdue at `t`: nothing in a case its newest report closes (`chain::owed_in`).
fn reports_shown(
    reports: &[crate::records::StatusReport],
    t: ilm_protocol::Timestamp,
) -> Vec<Value> {
    reports
        .iter()
        .zip(crate::aggregates::chain::owed_in(reports))
        .map(|(r, owed)| {
            let mut v = json!(r);
            v["owed"] = json!(
                owed.iter()
                    .map(|(what, due)| json!({ "what": what, "due": due, "overdue": t > *due }))
                    .collect::<Vec<_>>()
            );
            v
        })
        .collect()
}

/// Everything the case page shows: the lifecycle state and timeline, who is who, our
/// messages' delivery, the attestation, the contacts (at the CSO) and what may be done now.
fn case_ctx(
    st: &ApiState,
    p: &Principal,
    case: &ilm_protocol::CaseRef,
) -> Result<Option<Value>, ApiError> {
    let local: Option<LocalCase> = st.store.get(&schema::LOCAL_CASES, case.as_bytes())?;
    let history = cases::load_history(&st.store, &st.membership, case)?;
    if history.is_none() && local.is_none() {
        return Ok(None);
    }
    let me = st.keys.org_id();
    let t = now();
    let state = history.as_ref().and_then(|h| h.state().cloned());
    let view = match history
        .as_ref()
        .and_then(|h| cases::view(h, &st.membership, &me, t))
    {
        Some(v) => json!(v),
        None => json!({ "case_ref": case, "status": "open", "events": [], "allowed": [] }),
    };
    let is_owner = st.role == Role::Cso && state.as_ref().is_none_or(|s| s.owner == me);
    let writer = Permission::Casework.allows(p.role);
    // Only what the lifecycle allows now (the protocol's rule; every receiver enforces it too).
    let allowed: Vec<EventKind> = state.as_ref().map(|s| s.allowed(&me)).unwrap_or_default();
    let may = |k: EventKind| writer && allowed.contains(&k);
    let mut ctx = base_ctx(st, Some(p), "case", "/cases");
    ctx["title"] = json!(format!(
        "{} {}",
        ctx["t"]["case"].as_str().unwrap_or("Case"),
        case.to_hex().get(..12).unwrap_or_default()
    ));
    ctx["case"] = view;
    ctx["now"] = json!(t);
    ctx["names"] = json!(member_names(st));
    ctx["roles"] = json!(member_roles(st));
    ctx["me"] = json!(me);
    ctx["local"] = json!(local);
    ctx["next_due"] = json!(state.as_ref().and_then(|s| s.next_due(t)));
    ctx["categories"] = json!(state.as_ref().map(|s| s.categories()));
    ctx["workers_affected"] = json!(state.as_ref().map(|s| s.workers_affected()));
    ctx["amounts"] = json!(state.as_ref().map(|s| s.amounts_repaid()));
    // The improvement plans the parties shared with this node (a CSO they work with).
    let mut plans = serde_json::Map::new();
    for party in state.iter().flat_map(|s| s.parties.iter()) {
        if let Ok(plan) = crate::api::improvements::of_org(&st.store, &st.membership, &party.party)
            && !plan.is_empty()
        {
            plans.insert(party.party.to_string(), json!(plan));
        }
    }
    ctx["plans"] = Value::Object(plans);
    ctx["overdue"] = json!(
        state
            .as_ref()
            .is_some_and(|s| s.obligations(t).iter().any(|o| o.overdue))
    );
    ctx["contacts"] = json!(case_contacts(st, p, local.as_ref())?);
    ctx["deliveries"] = json!(deliveries(st, case)?);
    ctx["attestation"] = json!(
        st.store
            .get(&schema::ATTESTATIONS, case.as_bytes())?
            .map(|a| crate::views::attestation(&st.membership, &me, &a))
    );
    // A new case may be escalated; an escalated one while the lifecycle allows it.
    let escalation_open = state.is_none() || allowed.contains(&EventKind::Escalation);
    ctx["can_escalate"] = json!(writer && is_owner && local.is_some() && escalation_open);
    ctx["can_verify"] = json!(is_owner && may(EventKind::WorkerVerification));
    ctx["can_close"] = json!(is_owner && may(EventKind::Closed));
    ctx["can_respond"] = json!(
        !is_owner
            && [
                EventKind::Acknowledgement,
                EventKind::Dispute,
                EventKind::RemediationPlan,
                EventKind::RemediationAction,
                EventKind::RemediationReported,
            ]
            .into_iter()
            .any(may)
    );
    ctx["may"] = json!(
        allowed
            .iter()
            .filter(|_| writer)
            .map(|k| (json!(k).as_str().unwrap_or_default().to_string(), true))
            .collect::<std::collections::BTreeMap<_, _>>()
    );
    ctx["can_cosign"] = json!(writer && ctx["attestation"]["awaiting_my_signature"] == true);
    ctx["targets"] = json!(targets(st, local.as_ref()));
    ctx["recipients"] = json!(
        state
            .as_ref()
            .map(|s| s.responders().collect::<Vec<_>>())
            .unwrap_or_default()
    );
    Ok(Some(ctx))
}

/// Member names by org id (and our own), for `name()` in templates.
pub(crate) fn member_names(st: &ApiState) -> std::collections::BTreeMap<String, String> {
    let mut names: std::collections::BTreeMap<String, String> = st
        .membership
        .known()
        .into_iter()
        .map(|c| (c.org_id.to_string(), c.name))
        .collect();
    names.insert(st.keys.org_id().to_string(), st.name.clone());
    names
}

/// Member roles by org id.
pub(crate) fn member_roles(st: &ApiState) -> std::collections::BTreeMap<String, Role> {
    let mut roles: std::collections::BTreeMap<String, Role> = st
        .membership
        .known()
        .into_iter()
        .map(|c| (c.org_id.to_string(), c.role))
        .collect();
    roles.insert(st.keys.org_id().to_string(), st.role);
    roles
}

/// Escalation targets in groups: the case's own supplier and agencies first, then every
/// current member by role.
fn targets(st: &ApiState, local: Option<&LocalCase>) -> Vec<Value> {
    let current: Vec<_> = st
        .membership
        .known()
        .into_iter()
        .filter(|c| st.membership.current(&c.org_id).is_some())
        .collect();
    let own: Vec<_> = local
        .map(|l| l.supplier.iter().chain(&l.agencies).copied().collect())
        .unwrap_or_default();
    let entry = |c: &ilm_protocol::MembershipCertificate| json!({ "org_id": c.org_id, "name": c.name, "role": c.role });
    let mut groups = Vec::new();
    let first: Vec<Value> = own
        .iter()
        .filter_map(|id| current.iter().find(|c| c.org_id == *id))
        .map(entry)
        .collect();
    if !first.is_empty() {
        groups.push(json!({ "label": "case_parties", "members": first }));
    }
    for role in [Role::Supplier, Role::Agency, Role::Brand, Role::Government] {
        let members: Vec<Value> = current
            .iter()
            .filter(|c| c.role == role && !own.contains(&c.org_id))
            .map(entry)
            .collect();
        if !members.is_empty() {
            groups.push(json!({ "label": format!("roles_{role}"), "members": members }));
        }
    }
    groups
}

/// The case's contacts at the CSO; the worker's name only for operators who may see it.
fn case_contacts(
    st: &ApiState,
    p: &Principal,
    local: Option<&LocalCase>,
) -> Result<Vec<Value>, ApiError> {
    let Some(local) = local else {
        return Ok(Vec::new());
    };
    let identity = Permission::Intake.allows(p.role);
    let mut out = Vec::new();
    for id in &local.contacts {
        let Some(c) = st.store.get(&schema::CONTACTS, &id.0)? else {
            continue;
        };
        let name = if identity {
            st.vault
                .open_json::<crate::intake::SealedContact>(&id.0, &c.sealed)
                .ok()
                .map(|s| s.identity.name)
        } else {
            None
        };
        out.push(json!({
            "id": c.id, "received_at": c.received_at, "channel": c.channel,
            "language": c.language, "name": name,
        }));
    }
    Ok(out)
}

/// Our messages about this case and how far each got.
fn deliveries(st: &ApiState, case: &ilm_protocol::CaseRef) -> Result<Vec<Value>, ApiError> {
    let entries: Vec<crate::records::OutboxEntry> = st.store.scan(&schema::OUTBOX, &[])?;
    let mut rows: Vec<Value> = entries
        .into_iter()
        .filter(|e| e.case_ref.as_ref() == Some(case))
        .map(|e| {
            json!({
                "recipient": e.recipient, "kind": e.kind, "state": e.state,
                "attempts": e.attempts, "created_at": e.created_at,
                "delivered_at": e.delivered_at,
            })
        })
        .collect();
    rows.sort_by_key(|r| r["created_at"].as_u64());
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::StatusReport;
    use ilm_protocol::{CaseNonce, CaseRef, CaseStatus, OrgId, PartyStage, Timestamp};

    /// A report about `party` owing its acknowledgement since day 7, saying `status`.
    fn report(party: u8, status: CaseStatus, reported: u64) -> StatusReport {
        let t0 = Timestamp(1_767_225_600);
        StatusReport {
            case_ref: CaseRef([1; 16]),
            case_nonce: CaseNonce([1; 16]),
            cso: OrgId([1; 32]),
            supplier: OrgId([party; 32]),
            status,
            stage: PartyStage::Escalated,
            categories: Vec::new(),
            workers_affected: 1,
            escalated_at: t0,
            acknowledge_by: t0.plus_days(7),
            remediate_by: t0.plus_days(30),
            acknowledged_at: None,
            remediated_at: None,
            verified_at: None,
            reported_at: Timestamp(t0.0 + reported),
            sector: None,
            corridor: None,
        }
    }

    /// What the page shows owed, report by report: (what, overdue).
    fn owed(shown: &[Value]) -> Vec<Vec<(String, bool)>> {
        shown
            .iter()
            .map(|v| {
                v["owed"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| {
                        let what = o["what"].as_str().unwrap_or_default().to_string();
                        (what, o["overdue"] == json!(true))
                    })
                    .collect()
            })
            .collect()
    }

    /// The supplier's report still owes its acknowledgement, overdue; once the agency's newer
    /// report closes the case, the page shows nothing owed.
    #[test]
    fn a_closed_case_shows_nothing_owed() {
        let late = Timestamp(1_767_225_600).plus_days(10);
        let open = [report(3, CaseStatus::Escalated, 10)];
        let shown = owed(&reports_shown(&open, late));
        assert!(!shown[0].is_empty() && shown[0].iter().any(|(_, overdue)| *overdue));
        let closed = [
            report(3, CaseStatus::Escalated, 10),
            report(4, CaseStatus::Closed, 20),
        ];
        assert_eq!(owed(&reports_shown(&closed, late)), vec![vec![], vec![]]);
    }
}
