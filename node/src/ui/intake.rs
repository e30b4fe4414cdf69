//! The CSO's intake desk.

use super::*;

pub(crate) async fn intake(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let mut ctx = base_ctx(&st, Some(&p), "intake_title", "/intake");
    ctx["channels"] = json!([
        "phone_call",
        "line",
        "facebook",
        "viber",
        "worker_app",
        "in_person",
        "other"
    ]);
    ctx["genders"] = json!(["female", "male", "other", "undisclosed"]);
    ctx["age_bands"] = json!(["under_18", "18_24", "25_34", "35_44", "45_plus", "unknown"]);
    ctx["categories"] = json!(
        IssueCategory::ALL
            .iter()
            .map(|c| json!({ "code": c.code(), "label": c.label() }))
            .collect::<Vec<_>>()
    );
    ctx["can_open_case"] = json!(matches!(
        p.role,
        OperatorRole::Admin | OperatorRole::Caseworker
    ));
    ctx["suppliers"] = json!(
        st.membership
            .known()
            .into_iter()
            .filter(|c| c.role == Role::Supplier && st.membership.current(&c.org_id).is_some())
            .map(|c| json!({ "org_id": c.org_id, "name": c.name }))
            .collect::<Vec<_>>()
    );
    render(&st, "intake.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
