//! The dashboard: figures and charts.

use super::*;

pub(crate) async fn dashboard(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let f = match charts::figures(&st.store, now()) {
        Ok(f) => f,
        Err(e) => {
            return error_page(
                &st,
                Some(&p),
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            );
        }
    };
    let rows = match crate::worklist::rows(&st.store, &st.membership, &st.keys.org_id(), now()) {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let open = rows.iter().filter(|r| !r.closed).count();
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let mut ctx = base_ctx(&st, Some(&p), "dashboard_title", "/dashboard");
    let t = st.i18n.table(&p.lang);
    let tr = |k: &str| t.get(k).cloned().unwrap_or_default();
    let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into());
    ctx["stats"] = json!([
        { "key": "contacts_total", "label": tr("contacts_total"), "value": f.contacts },
        { "key": "open_cases", "label": tr("open_cases"), "value": open, "href": "/cases" },
        { "key": "overdue_items", "label": tr("overdue_items"), "value": overdue, "href": "/cases?overdue=true" },
        { "key": "remediated", "label": tr("remediated"), "value": f.remediated },
        { "key": "median_ack", "label": tr("median_ack"), "value": days(f.median_ack_days) },
        { "key": "median_remediate", "label": tr("median_remediate"), "value": days(f.median_remediation_days) },
        { "key": "share_verified", "label": tr("share_verified"), "value": f.verified_share.map(|v| format!("{v}%")).unwrap_or_else(|| "—".into()) },
    ]);
    let charts = [
        ("contacts_by_month", &f.by_month),
        ("issues_by_category", &f.by_category),
        ("by_corridor", &f.by_corridor),
        ("by_channel", &f.by_channel),
        ("by_language", &f.by_language),
        ("cases_by_status", &f.by_status),
    ];
    ctx["charts"] = json!(
        charts
            .iter()
            .map(|(k, d)| json!({ "title": tr(k), "svg": charts::bar_chart(&tr(k), d) }))
            .collect::<Vec<_>>()
    );
    render(&st, "dashboard.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}
