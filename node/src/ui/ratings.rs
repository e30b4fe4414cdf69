//! Ratings in the admin UI: the published ratings this node may see; at a CSO, what it
//! collected, a form to record a worker's rating after a contact and the button to publish;
//! at a rated supplier or agency, the form for its public answer.

use super::*;

pub(crate) async fn ratings_page(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let shown = match crate::api::ratings::visible(&st) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let collected = if st.role == Role::Cso {
        match crate::api::ratings::collected(&st) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        }
    } else {
        Vec::new()
    };
    let me = st.keys.org_id();
    let answer = match crate::ratings::answer_of(&st.store, &st.membership, &me) {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut ctx = base_ctx(&st, Some(&p), "ratings_title", "/ratings");
    ctx["ratings"] = json!(shown);
    ctx["collected"] = json!(collected);
    ctx["k"] = json!(st.statistics.k);
    ctx["my_answer"] = json!(answer.map(|a| a.text));
    ctx["can_act"] = json!(Permission::Casework.allows(p.role));
    ctx["rateable"] = json!(
        crate::ratings::rateable(&st.membership)
            .into_iter()
            .map(|(org, name, role)| json!({ "id": org.to_hex(), "name": name, "role": role }))
            .collect::<Vec<_>>()
    );
    ctx["dimensions"] = json!(
        ilm_protocol::Dimension::ALL
            .iter()
            .map(|d| d.code())
            .collect::<Vec<_>>()
    );
    render(&st, "ratings.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
