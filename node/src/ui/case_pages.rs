//! The case list and the page of one case.

use super::*;

#[derive(Deserialize)]
pub(crate) struct CaseFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
}

pub(crate) async fn case_list(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    Query(f): Query<CaseFilter>,
) -> Response {
    let mut rows = Vec::new();
    let states = match cases::states(&st.store) {
        Ok(s) => s,
        Err(e) => {
            return error_page(
                &st,
                Some(&p),
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            );
        }
    };
    let (me, t) = (st.keys.org_id(), now());
    for state in states {
        let v = json!(cases::summary(state, &me, t));
        let status_ok = f.status.is_empty() || v["status"] == f.status.as_str();
        let q_ok = f.q.is_empty()
            || v["case_ref"]
                .as_str()
                .is_some_and(|r| r.contains(f.q.trim()));
        if status_ok && q_ok {
            rows.push(v);
        }
    }
    let mut ctx = base_ctx(&st, Some(&p), "cases_title", "/cases");
    ctx["cases"] = json!(rows);
    ctx["q"] = json!(f.q);
    ctx["status"] = json!(f.status);
    ctx["statuses"] = json!(
        ilm_protocol::CaseStatus::ALL
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
    );
    render(&st, "cases.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn case_page(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    Path(case): Path<String>,
) -> Response {
    let Ok(case) = case.parse::<ilm_protocol::CaseRef>() else {
        return error_page(
            &st,
            Some(&p),
            StatusCode::BAD_REQUEST,
            "not a case reference",
        );
    };
    let local: Option<LocalCase> = st
        .store
        .get(&schema::LOCAL_CASES, case.as_bytes())
        .ok()
        .flatten();
    let history = cases::load_history(&st.store, &st.membership, &case)
        .ok()
        .flatten();
    if history.is_none() && local.is_none() {
        return error_page(&st, Some(&p), StatusCode::NOT_FOUND, "no such case here");
    }
    let me = st.keys.org_id();
    let state = history.as_ref().and_then(|h| h.state().cloned());
    let mut view = match history
        .as_ref()
        .and_then(|h| cases::view(h, &st.membership, &me, now()))
    {
        Some(v) => json!(v),
        None => json!({ "case_ref": case, "status": "open", "events": [] }),
    };
    if let Some(events) = view["events"].as_array_mut() {
        for e in events {
            e["when"] = json!(fmt_day(e["authored_at"].as_u64()));
        }
    }
    let is_owner = st.role == Role::Cso && state.as_ref().is_none_or(|s| s.owner == me);
    let is_responder = state.as_ref().is_some_and(|s| s.party(&me).is_some());
    let writer = matches!(p.role, OperatorRole::Admin | OperatorRole::Caseworker);
    let targets: Vec<Value> = st
        .membership
        .known()
        .into_iter()
        .filter(|c| {
            matches!(
                c.role,
                Role::Agency | Role::Supplier | Role::Brand | Role::Government
            )
        })
        .filter(|c| st.membership.current(&c.org_id).is_some())
        .map(|c| json!({ "org_id": c.org_id, "name": c.name, "role": c.role }))
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "case", "/cases");
    ctx["case"] = view;
    ctx["local"] = json!(
        local
            .as_ref()
            .map(|l| json!({ "workers": l.workers, "site": l.site }))
    );
    ctx["can_escalate"] = json!(writer && is_owner && local.is_some());
    // Only what the lifecycle allows now (the protocol's rule; every receiver enforces it too).
    let allowed: Vec<ilm_protocol::EventKind> =
        state.as_ref().map(|s| s.allowed(&me)).unwrap_or_default();
    let may = |k: ilm_protocol::EventKind| allowed.contains(&k);
    ctx["can_verify"] =
        json!(writer && is_owner && may(ilm_protocol::EventKind::WorkerVerification));
    ctx["can_respond"] = json!(writer && is_responder && !allowed.is_empty());
    ctx["targets"] = json!(targets);
    render(&st, "case.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

