//! The responding parties' inbox.

use super::*;
use crate::inbox::{InboxError, InboxQuery};
use axum::extract::rejection::QueryRejection;

pub(crate) async fn inbox(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    query: Result<Query<InboxQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
    };
    let page = match crate::inbox::page(&st.store, &st.keys.org_id(), now(), query) {
        Ok(v) => v,
        Err(InboxError::BadPageSize) => {
            return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
        }
        Err(InboxError::Store(e)) => return ApiError::from(e).into_response(),
    };
    let items = &page.items;
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
    let link = |n: usize| {
        let mut q = query;
        q.page = n;
        serde_urlencoded::to_string(q).unwrap_or_default()
    };
    let mut ctx = base_ctx(&st, Some(&p), "inbox_title", "/inbox");
    ctx["rows"] = json!(rows);
    ctx["prev"] = json!((page.page > 1).then(|| link(page.page - 1)));
    ctx["next"] = json!((page.page < page.pages).then(|| link(page.page + 1)));
    ctx["page"] = json!({ "page": page.page, "pages": page.pages, "total": page.total });
    ctx["names"] = json!(super::case_pages::member_names(&st));
    render(&st, "inbox.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
