//! The CSO's page of its workers' portal: the reports raised through it with their messages
//! and a form to answer each, the know-your-rights pages and the broker alerts with forms to
//! write them.

use super::*;

/// Reports shown per page: each opens its sealed words and messages.
const THREADS_PER_PAGE: usize = 20;

/// The page of reports asked for (from 1).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct PortalQuery {
    page: usize,
}

pub(crate) async fn portal_page(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    query: Result<Query<PortalQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
    };
    // Those awaiting an answer come first; only this page's reports are opened.
    let all = match crate::portal::thread::all(&st.store) {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (shown, total, page, page_count) =
        crate::worklist::paginate(all, query.page, THREADS_PER_PAGE);
    let threads = match crate::api::portal::views(&st, shown, true) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let pages = match crate::portal::rights::all(&st.store) {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let at = now();
    let alerts = match crate::portal::alerts::held(&st.store, &st.membership, at) {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let proposals = match crate::portal::alerts::proposals(&st.store, &st.membership) {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut ctx = base_ctx(&st, Some(&p), "portal_admin_title", "/portal");
    ctx["alerts"] = json!(alerts);
    ctx["proposals"] = json!(proposals);
    ctx["me"] = json!(st.keys.org_id());
    ctx["threads"] = json!(threads);
    ctx["page"] = json!({ "page": page, "pages": page_count, "total": total });
    ctx["prev"] = json!((page > 1).then(|| format!("page={}", page - 1)));
    ctx["next"] = json!((page < page_count).then(|| format!("page={}", page + 1)));
    ctx["pages"] = json!(pages);
    ctx["countries"] = json!(crate::intake::COUNTRIES);
    ctx["portal_languages"] = json!(
        crate::portal::LANGUAGES
            .iter()
            .map(|(c, n)| json!({ "code": c, "name": n }))
            .collect::<Vec<_>>()
    );
    render(&st, "portal.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
