//! The brand analyst's Supply chain page: filters (escalation dates, issue category, sector,
//! corridor), the linked suppliers (and the agencies they recruit through) compared with each
//! other, and for each one its scorecard
//! (each figure opening the cases it counts), its cases by month with its improvement plan
//! marked, its plan, its cases and its attestations. Everything comes from what the brand legitimately
//! holds: the CSOs' status reports, verified attestations and the suppliers' signed plans.

use super::charts::{self, Chart, Marker, Row};
use super::figures::month_rows;
use super::*;
use crate::api::improvements::{ActivityView, of_org};
use crate::scorecard::{self, Filter, Scorecard};
use std::collections::{BTreeMap, HashMap};

fn days(d: Option<f64>) -> String {
    d.map_or_else(|| "—".to_string(), |d| format!("{d:.1}"))
}

/// A scorecard's figures as the page shows them.
fn card(c: &Scorecard) -> Value {
    json!({
        "cases": c.cases,
        "open": c.open,
        "overdue": c.overdue,
        "median_ack": days(c.median_days_to_acknowledge),
        "median_remediate": days(c.median_days_to_remediate),
        "share_verified": c.share_verified.map_or_else(|| "—".to_string(), |p| format!("{p}%")),
        "attestations_verified": c.attestations_verified,
        "amounts_repaid": c.amounts_repaid,
    })
}

/// The supplier's cases by month escalated, with its plan's activities marked (numbered in
/// date order, as the list under the chart).
fn trend(
    tr: &HashMap<String, String>,
    c: &Scorecard,
    plan: &[ActivityView],
    now: ilm_protocol::Timestamp,
) -> Chart {
    let word = |k: &str| tr.get(k).cloned().unwrap_or_else(|| k.to_string());
    let mut months: BTreeMap<String, u64> = c.by_month.clone();
    // The chart spans the plan's months too, so a change before the first case shows.
    for a in plan {
        months
            .entry(crate::aggregates::month(a.activity.marker_date()))
            .or_default();
    }
    let rows: Vec<Row> = month_rows(&months, now)
        .into_iter()
        .map(|(label, value, partial)| Row {
            label,
            value,
            partial,
        })
        .collect();
    let markers = plan
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let m = crate::aggregates::month(a.activity.marker_date());
            let row = rows.iter().position(|r| r.label == m)?;
            Some(Marker {
                row,
                number: i + 1,
                label: a.activity.title.clone(),
                done: a.activity.completed_at.is_some(),
            })
        })
        .collect();
    Chart {
        key: format!("trend-{}", c.supplier),
        title: word("trend_title"),
        unit: word("unit_cases"),
        rows,
        time: true,
        partial_note: word("partial_month"),
        markers,
    }
}

/// Each linked supplier's figures and those over all of them: the table the Supply chain
/// page and the brand's dashboard share.
pub(crate) fn compared(c: &scorecard::Comparison) -> (Vec<Value>, Value) {
    let rows = c.parties.iter().map(|(_, s)| compared_row(s)).collect();
    (rows, card(&c.overall))
}

/// One organisation's row of the comparison.
fn compared_row(c: &Scorecard) -> Value {
    json!({ "supplier": c.supplier, "role": c.role, "name": c.name, "figures": card(c) })
}

pub(crate) async fn supply_chain(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(filter)) = query else {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
    };
    let Ok(narrowing) = filter.parse() else {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
    };
    let page = || -> Result<Value, ApiError> {
        let t = now();
        let comparison = scorecard::compare(
            &st.store,
            &st.membership,
            &st.keys.org_id(),
            t,
            &narrowing,
            scorecard::RECENT,
        )?;
        let tr = st.i18n.table(&p.lang);
        let mut suppliers = Vec::new();
        for ((s, c), recent) in comparison.parties.iter().zip(&comparison.recent) {
            let mut v = json!(s);
            // In date order already, as the chart numbers them.
            let plan = of_org(&st.store, &st.membership, &s.supplier)?;
            let chart = trend(tr, c, &plan, t);
            v["scorecard"] = card(c);
            v["recent"] = json!(recent);
            v["trend"] = json!({ "chart": chart, "svg": charts::svg(&chart) });
            v["plan"] = json!(plan);
            v["recruits_for_names"] = json!(
                s.recruits_for
                    .iter()
                    .map(|o| st
                        .membership
                        .current(o)
                        .map_or_else(|| o.short(), |c| c.name))
                    .collect::<Vec<_>>()
            );
            // A bundle is offered where it verifies (a brand holds each one whole); the
            // check is the one remembered for the page, not made again per attestation.
            for (i, a) in s.attestations.iter().enumerate() {
                v["attestations"][i]["can_download"] = json!(a.complete && a.signature_verified);
            }
            suppliers.push(v);
        }
        let mut ctx = base_ctx(&st, Some(&p), "supply_chain_title", "/supply-chain");
        ctx["suppliers"] = json!(suppliers);
        let (rows, overall) = compared(&comparison);
        ctx["compared"] = json!(rows);
        ctx["overall"] = overall;
        ctx["filter"] = json!(filter);
        ctx["categories"] = json!(
            ilm_protocol::IssueCategory::ALL
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
        );
        ctx["sectors"] = json!(crate::intake::SECTORS);
        ctx["corridors"] = corridor_options(comparison.corridors.clone(), &filter.corridor);
        ctx["export"] = json!(serde_urlencoded::to_string(&filter).unwrap_or_default());
        Ok(ctx)
    };
    match page().and_then(|ctx| render(&st, "supply_chain.html", ctx)) {
        Ok(h) => h.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The options of a corridor select: each code (`MM-TH`) with its two countries, for their
/// names in the reader's language; the one `asked` for is offered even when no report names
/// it, so the form shows what narrows the page.
pub(crate) fn corridor_options(
    mut codes: std::collections::BTreeSet<String>,
    asked: &str,
) -> Value {
    if let Ok(Some((o, d))) = crate::worklist::corridor(asked) {
        codes.insert(format!("{}-{}", o.as_str(), d.as_str()));
    }
    json!(
        codes
            .iter()
            .filter_map(|code| {
                let (o, d) = code.split_once('-')?;
                Some(json!({ "code": code, "origin": o, "destination": d }))
            })
            .collect::<Vec<_>>()
    )
}
