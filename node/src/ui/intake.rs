//! The CSO's intake desk: record a contact (nothing preselected, pickers with names, one
//! contact per form even when submitted twice), then open a case for it.

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
    ctx["countries"] = json!(crate::intake::COUNTRIES);
    ctx["spoken"] = json!(crate::intake::SPOKEN_LANGUAGES);
    ctx["sectors"] = json!(crate::intake::SECTORS);
    ctx["categories"] = json!(IssueCategory::ALL);
    // A fresh key per form: submitting this form twice records one contact.
    ctx["idempotency_key"] = json!(
        ilm_protocol::identity::random_bytes::<16>()
            .map(|b| ilm_protocol::bytes::to_hex(&b))
            .unwrap_or_default()
    );
    ctx["can_open_case"] = json!(Permission::Casework.allows(p.role));
    let members = |role: Role| {
        let mut v: Vec<Value> = st
            .membership
            .known()
            .into_iter()
            .filter(|c| c.role == role && st.membership.current(&c.org_id).is_some())
            .map(|c| json!({ "org_id": c.org_id, "name": c.name }))
            .collect();
        v.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        v
    };
    ctx["suppliers"] = json!(members(Role::Supplier));
    ctx["agencies"] = json!(members(Role::Agency));
    render(&st, "intake.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
