//! Members, peers, the outbox and revocations.

use super::*;

pub(crate) async fn network(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let members: Vec<Value> = st
        .membership
        .known()
        .into_iter()
        .map(|c| json!({ "name": c.name, "role": c.role, "revoked": st.membership.is_revoked(&c) }))
        .collect();
    let peers: Vec<Value> = match st.net.status().await {
        Ok(n) => n
            .peers
            .iter()
            .map(|x| {
                let c = st.membership.current(&x.org_id);
                json!({ "peer_id": x.peer_id, "name": c.as_ref().map(|c| c.name.clone()), "role": c.map(|c| c.role) })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let outbox: Vec<Value> = st
        .store
        .scan(&schema::OUTBOX, &[])
        .unwrap_or_default()
        .iter()
        .rev()
        .take(50)
        .map(|e| json!({ "recipient": st.membership.current(&e.recipient).map(|c| c.name).unwrap_or_else(|| e.recipient.short()), "state": e.state, "attempts": e.attempts }))
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "network_title", "/network");
    ctx["members"] = json!(members);
    ctx["peers"] = json!(peers);
    ctx["outbox"] = json!(outbox);
    ctx["revocations"] = json!(st.membership.revocation_records().len());
    ctx["retention"] = retention_ctx(&st);
    render(&st, "network.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

/// The retention card: each data class's period, the last sweep and the totals erased.
fn retention_ctx(st: &ApiState) -> Value {
    let p = &st.retention;
    let state = crate::retention::state(&st.store).unwrap_or_default();
    json!({
        "rows": [
            { "key": "retention_identities", "days": p.worker_identities_days },
            { "key": "retention_notes", "days": p.contact_notes_days },
            { "key": "retention_closed", "days": p.closed_cases_days },
            { "key": "retention_outbox", "days": p.delivered_outbox_days },
        ],
        "last": state.last.map(|l| crate::clock::fmt_time(l.at)),
        "identities": state.identities_total,
        "notes": state.notes_total,
        "disclosures": state.disclosures_total,
        "compaction_due": st.store.compaction_due().unwrap_or(false),
    })
}
