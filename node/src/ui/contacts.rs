//! The CSO's contacts page: find a past contact or a repeat caller.

use super::*;
use crate::contact_list::ContactQuery;
use axum::extract::rejection::QueryRejection;

pub(crate) async fn contacts(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    query: Result<Query<ContactQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
    };
    let page = match crate::api::workflow::contact_page(&st, &p, &query) {
        Ok(page) => page,
        Err(ApiError(StatusCode::BAD_REQUEST, _)) => {
            return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
        }
        Err(e) => return e.into_response(),
    };
    let link = |n: usize| {
        let mut q = query.clone();
        q.page = n;
        serde_urlencoded::to_string(&q).unwrap_or_default()
    };
    let mut ctx = base_ctx(&st, Some(&p), "contacts_page_title", "/contacts");
    ctx["identities"] = json!(Permission::Intake.allows(p.role));
    ctx["can_export"] = json!(Permission::Read.allows(p.role));
    ctx["prev"] = json!((page.page > 1).then(|| link(page.page - 1)));
    ctx["next"] = json!((page.page < page.pages).then(|| link(page.page + 1)));
    ctx["page"] = json!(page);
    ctx["query"] = json!(query);
    render(&st, "contacts.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
