//! A supplier's or agency's improvement plan: the activities it planned and completed, a form
//! to add one, and one to mark a planned one completed (each signed and shared on submit).

use super::*;
use crate::api::improvements::of_org;

pub(crate) async fn improvements(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let plan = match of_org(&st.store, &st.membership, &st.keys.org_id()) {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut ctx = base_ctx(&st, Some(&p), "improvements_title", "/improvements");
    ctx["plan"] = json!(plan);
    ctx["can_edit"] = json!(Permission::Casework.allows(p.role));
    ctx["kinds"] = json!(ilm_protocol::ActivityKind::ALL);
    // The latest day anyone may call today: dates are chosen in the operator's time zone.
    ctx["today"] = json!(crate::clock::fmt_day(
        now().plus_secs(ilm_protocol::improvement::COMPLETION_SLACK_SECS)
    ));
    render(&st, "improvements.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
