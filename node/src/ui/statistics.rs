//! The network statistics page (every role; a CSO's admins also publish from it) and the
//! public page of the same picture, which the public listener serves without a login.

use super::dashboard::label;
use super::figures::Labels;
use super::session::{LangQuery, negotiate};
use super::*;
use crate::statistics::{self, NetworkMonth};
use ilm_protocol::StatTable;
use std::collections::HashMap;

/// The catalogue key of a table's title and how its cells are labelled.
fn table_kind(name: &str) -> (&'static str, Labels) {
    match name {
        "contacts.channel" => ("by_channel", Labels::Prefix("channel")),
        "contacts.language" => ("by_language", Labels::Prefix("lang")),
        "contacts.nationality" => ("by_nationality", Labels::Prefix("country")),
        "contacts.gender" => ("by_gender", Labels::Prefix("gender")),
        "contacts.age_band" => ("by_age_band", Labels::Prefix("age")),
        "contacts.sector" => ("by_sector", Labels::Plain),
        "contacts.corridor" => ("by_corridor", Labels::Corridor),
        "contacts.destination" => ("by_destination", Labels::Prefix("country")),
        "cases.category" => ("issues_by_category", Labels::Prefix("cat")),
        "cases.opened" => ("cases_opened", Labels::Plain),
        _ => ("", Labels::Plain),
    }
}

fn title(tr: &HashMap<String, String>, name: &str) -> String {
    let (key, _) = table_kind(name);
    tr.get(key).cloned().unwrap_or_else(|| name.to_string())
}

fn cell_label(tr: &HashMap<String, String>, table: &str, code: &str) -> String {
    let (_, labels) = table_kind(table);
    // Corridors are counted as ORIGIN-DESTINATION; the dashboard's labels use an arrow.
    let code = match labels {
        Labels::Corridor => code.replacen('-', "→", 1),
        _ => code.to_string(),
    };
    label(tr, &labels, &code)
}

/// The network-wide picture in `lang`, as the shared template reads it.
fn months_ctx(tr: &HashMap<String, String>, months: &[NetworkMonth]) -> Value {
    json!(
        months
            .iter()
            .map(|m| json!({
                "month": m.month,
                "contributors": m.contributors.iter().map(|c| json!({
                    "name": c.name,
                    "published_at": crate::clock::fmt_day(c.published_at),
                })).collect::<Vec<_>>(),
                "tables": m.tables.iter().map(|t| json!({
                    "name": t.name,
                    "title": title(tr, &t.name),
                    "total": t.total.value,
                    "total_at_least": t.total.at_least,
                    "rows": t.cells.iter().map(|(code, f)| json!({
                        "label": cell_label(tr, &t.name, code),
                        "value": f.value,
                        "at_least": f.at_least,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}

/// One table about to be published, as the confirmation shows it.
fn preview(tr: &HashMap<String, String>, t: &StatTable) -> Value {
    json!({
        "title": title(tr, &t.name),
        "total": t.total.unwrap_or(0),
        "total_at_least": t.total.is_none(),
        "rows": t.cells.iter().map(|(code, v)| json!({
            "label": cell_label(tr, &t.name, code),
            "value": v,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /statistics`: the picture, and at a CSO, for its admins, each month it may publish
/// with exactly what would be signed and sent.
pub(crate) async fn statistics_page(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let page = || -> Result<Value, ApiError> {
        let tr = st.i18n.table(&p.lang);
        let months = statistics::network_picture(&st.store, &st.membership)?;
        let mut ctx = base_ctx(&st, Some(&p), "statistics_title", "/statistics");
        ctx["months"] = months_ctx(tr, &months);
        if st.role == Role::Cso && p.role == OperatorRole::Admin {
            let mut offer = Vec::new();
            for month in crate::api::statistics::publishable(&st)? {
                let tables = statistics::tables(&st.store, month, st.statistics.k)?;
                offer.push(json!({
                    "month": month,
                    "fingerprint": statistics::fingerprint(&tables),
                    "tables": tables.iter().map(|t| preview(tr, t)).collect::<Vec<_>>(),
                }));
            }
            ctx["publishable"] = json!(offer);
            ctx["k"] = json!(st.statistics.k);
        }
        Ok(ctx)
    };
    match page().and_then(|ctx| render(&st, "statistics.html", ctx)) {
        Ok(h) => h.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /` on the public listener: the published picture, in the language asked for (or the
/// browser's), with no login and nothing else.
pub(crate) async fn public_page(
    State(st): State<Arc<ApiState>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = negotiate(&st, q.lang.as_deref(), &headers);
    let page = || -> Result<Value, ApiError> {
        let tr = st.i18n.table(&lang);
        let months = statistics::network_picture(&st.store, &st.membership)?;
        let mut ctx = page_ctx(&st, None, &lang, "public_statistics_title", "");
        ctx["months"] = months_ctx(tr, &months);
        ctx["network_name"] = json!(st.membership.network().name());
        Ok(ctx)
    };
    match page().and_then(|ctx| render(&st, "public.html", ctx)) {
        Ok(h) => h.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /statistics.json` on the public listener: the same picture as data.
pub(crate) async fn public_json(State(st): State<Arc<ApiState>>) -> Response {
    match statistics::network_picture(&st.store, &st.membership) {
        Ok(months) => axum::Json(json!({ "months": months })).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
