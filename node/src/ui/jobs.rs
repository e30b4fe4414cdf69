//! Job listings in the admin UI: an agency's or supplier's own listings with the form to
//! publish one and a button to take one down; at a CSO, the listings its portal shows, those
//! contradicted by a later case first. An agency also proposes broker alerts here.

use super::*;

pub(crate) async fn jobs_page(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let mut listings = match crate::api::listings::held(&st) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let me = st.keys.org_id();
    if st.role != Role::Cso {
        listings.retain(|l| l.view.listing.publisher == me);
    }
    // Contradicted listings first: they are the ones to look into.
    listings.sort_by_key(|l| l.contradictions.is_empty());
    let mut ctx = base_ctx(&st, Some(&p), "jobs_title", "/jobs");
    ctx["listings"] = json!(listings);
    ctx["can_publish"] = json!(st.role != Role::Cso && Permission::Casework.allows(p.role));
    ctx["countries"] = json!(crate::intake::COUNTRIES);
    if st.role == Role::Agency {
        let proposals = match crate::portal::alerts::proposals(&st.store, &st.membership) {
            Ok(p) => p,
            Err(e) => return ApiError::from(e).into_response(),
        };
        ctx["proposals"] = json!(proposals);
        let mut csos: Vec<Value> = st
            .membership
            .known()
            .into_iter()
            .filter(|c| c.role == Role::Cso && st.membership.current(&c.org_id).is_some())
            .map(|c| json!({ "id": c.org_id, "name": c.name }))
            .collect();
        csos.sort_by_key(|c| c["name"].as_str().unwrap_or_default().to_string());
        ctx["csos"] = json!(csos);
        ctx["portal_languages"] = json!(
            crate::portal::LANGUAGES
                .iter()
                .map(|(c, n)| json!({ "code": c, "name": n }))
                .collect::<Vec<_>>()
        );
    }
    render(&st, "jobs.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
