//! Worklists of the responding parties and the brand's supply chain.

use super::*;

pub(crate) async fn inbox(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let items = match crate::views::inbox(&st.store, &st.keys.org_id(), now()) {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let may_answer = Permission::Casework.allows(p.role);
    let rows: Vec<Value> = items
        .iter()
        .map(|r| {
            let overdue: Vec<ilm_protocol::Owed> = r.overdue.iter().map(|o| o.what).collect();
            json!({
                "case_ref": r.case_ref, "status": r.status.code(), "stage": r.stage.code(),
                "owner": r.owner, "escalated_at": r.escalated_at, "next_due": r.next_due,
                "site": r.escalation.site, "categories": r.escalation.categories,
                "workers": r.escalation.workers_affected,
                "overdue": overdue,
                "can_ack": may_answer && r.allowed.contains(&EventKind::Acknowledgement),
            })
        })
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "inbox_title", "/inbox");
    ctx["rows"] = json!(rows);
    ctx["names"] = json!(super::case_pages::member_names(&st));
    render(&st, "inbox.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn supply_chain(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let suppliers = match crate::views::supply_chain(&st.store, &st.membership, &st.keys.org_id()) {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let t = crate::membership::now();
    let suppliers: Vec<Value> = suppliers
        .iter()
        .map(|s| {
            let mut v = json!(s);
            let card = crate::scorecard::of_supplier(s, t);
            let days = |d: Option<f64>| d.map_or_else(|| "—".to_string(), |d| format!("{d:.1}"));
            v["scorecard"] = json!({
                "open": card.open,
                "overdue": card.overdue,
                "median_ack": days(card.median_days_to_acknowledge),
                "median_remediate": days(card.median_days_to_remediate),
                "share_verified": card.share_verified.map_or_else(|| "—".to_string(), |p| format!("{p}%")),
                "attestations_verified": card.attestations_verified,
            });
            for (i, a) in s.attestations.iter().enumerate() {
                let downloadable =
                    crate::views::bundle(&st.store, &st.membership, &a.case_ref).is_ok();
                v["attestations"][i]["can_download"] = json!(downloadable);
            }
            v
        })
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "supply_chain_title", "/supply-chain");
    ctx["suppliers"] = json!(suppliers);
    render(&st, "supply_chain.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
