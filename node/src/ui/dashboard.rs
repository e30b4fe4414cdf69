//! The dashboard: each role's numbers (linking to the lists they count) and charts, in the
//! operator's language.

use super::charts::{self, Chart, Row};
use super::figures::{self, Labels};
use super::*;

pub(crate) async fn dashboard(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let t = now();
    let me = st.keys.org_id();
    // A brand's figures and its suppliers compared come from one comparison (every
    // attestation is read once).
    let comparison = match st.role {
        Role::Brand => {
            match crate::scorecard::compare(
                &st.store,
                &st.membership,
                &me,
                t,
                &Default::default(),
                0,
            ) {
                Ok(c) => Some(c),
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
        _ => None,
    };
    let board = match (st.role, &comparison) {
        (Role::Cso, _) => figures::cso(&st.store, t).map_err(ApiError::from),
        (Role::Brand, Some(c)) => {
            figures::brand(&st.store, &st.membership, &me, t, c).map_err(ApiError::from)
        }
        (Role::Steward, _) => {
            figures::steward(&st.membership, &st.store, t).map_err(ApiError::from)
        }
        _ => figures::responder(&st.store, &me, t).map_err(ApiError::from),
    };
    let board = match board {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let tr = st.i18n.table(&p.lang);
    let word = |k: &str| tr.get(k).cloned().unwrap_or_else(|| k.to_string());
    let charts: Vec<Value> = board
        .charts
        .iter()
        .map(|s| {
            let chart = Chart {
                key: s.key.to_string(),
                title: word(s.key),
                unit: word(s.unit),
                rows: s
                    .rows
                    .iter()
                    .map(|(code, value, partial)| Row {
                        label: label(tr, &s.labels, code),
                        value: *value,
                        partial: *partial,
                    })
                    .collect(),
                time: s.time,
                partial_note: word("partial_month"),
                markers: Vec::new(),
            };
            json!({ "chart": chart, "svg": charts::svg(&chart) })
        })
        .collect();
    let mut ctx = base_ctx(&st, Some(&p), "dashboard_title", "/dashboard");
    ctx["stats"] = json!(
        board
            .tiles
            .iter()
            .map(
                |x| json!({ "key": x.key, "label": word(x.key), "value": x.value, "href": x.href })
            )
            .collect::<Vec<_>>()
    );
    ctx["charts"] = json!(charts);
    ctx["response_times"] = json!(board.response_times);
    // Each organisation's overdue cases, linking to the case list that shows the same ones.
    let names = super::case_pages::member_names(&st);
    ctx["overdue_by_party"] = json!(
        board
            .overdue_by_party
            .iter()
            .map(|(party, cases)| {
                let id = party.to_string();
                json!({
                    "party": id,
                    "name": names.get(&id).cloned().unwrap_or_else(|| party.short()),
                    "cases": cases,
                    "href": format!("/cases?overdue=true&party={id}"),
                })
            })
            .collect::<Vec<_>>()
    );
    // A brand sees its suppliers compared, with the same figures as its Supply chain page.
    if let Some(c) = &comparison
        && !c.parties.is_empty()
    {
        let (rows, overall) = super::supply_chain::compared(c);
        ctx["compared"] = json!(rows);
        ctx["overall"] = overall;
        ctx["export"] = json!("");
    }
    render(&st, "dashboard.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

/// A chart or table label in the language of `tr`.
pub(crate) fn label(
    tr: &std::collections::HashMap<String, String>,
    labels: &Labels,
    code: &str,
) -> String {
    match labels {
        Labels::Prefix(prefix) => tr
            .get(&format!("{prefix}_{code}"))
            .cloned()
            .unwrap_or_else(|| code.to_string()),
        Labels::Corridor => code
            .split_once('→')
            .map(|(a, b)| {
                let c = |x: &str| {
                    tr.get(&format!("country_{x}"))
                        .cloned()
                        .unwrap_or_else(|| x.to_string())
                };
                format!("{} → {}", c(a), c(b))
            })
            .unwrap_or_else(|| code.to_string()),
        Labels::Plain => code.to_string(),
    }
}
