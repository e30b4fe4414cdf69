//! The responding parties' inbox.

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
