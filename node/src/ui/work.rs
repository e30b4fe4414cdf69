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
    let rows: Vec<Value> = items
        .iter()
        .map(|r| {
            let overdue: Vec<&str> = r
                .overdue
                .iter()
                .map(|o| match o.what {
                    ilm_protocol::Owed::Acknowledgement => "acknowledgement",
                    ilm_protocol::Owed::Remediation => "remediation",
                })
                .collect();
            json!({
                "case_ref": r.case_ref, "status": r.status,
                "ack_by": fmt_day(Some(r.escalation.acknowledge_by.0)),
                "remediate_by": fmt_day(Some(r.escalation.remediate_by.0)),
                "overdue": overdue.join(", "),
            })
        })
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "inbox_title", "/inbox");
    ctx["rows"] = json!(rows);
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
    let suppliers: Vec<Value> = suppliers
        .iter()
        .map(|s| {
            let mut v = json!(s);
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
