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
    render(&st, "network.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
