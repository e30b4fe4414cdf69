//! The case list (every case this node holds, searched, filtered, sorted and paged by the
//! worklist query the API shares) and its CSV export.

use super::*;
use crate::worklist::{self, CasePage, CaseQuery};
use axum::extract::rejection::QueryRejection;

/// What a search matches for a category: its words in the operator's language and in
/// English.
fn labels<'a>(st: &'a ApiState, lang: &str) -> impl Fn(IssueCategory) -> String + 'a {
    let t = st.i18n.table(lang);
    let en = st.i18n.table("en");
    move |c| {
        format!(
            "{} {}",
            crate::api::category_words(t, c),
            crate::api::category_words(en, c)
        )
    }
}

/// The rows a query selects, with category search in the operator's language.
fn select(st: &ApiState, p: &Principal, query: &CaseQuery) -> Result<CasePage, ApiError> {
    let label = labels(st, &p.lang);
    let me = st.keys.org_id();
    Ok(worklist::list(
        &st.store,
        &st.membership,
        &me,
        now(),
        query,
        &label,
    )?)
}

pub(crate) async fn case_list(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    query: Result<Query<CaseQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(_) => return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query"),
    };
    let page = match select(&st, &p, &query) {
        Ok(page) => page,
        Err(ApiError(StatusCode::BAD_REQUEST, _)) => {
            return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
        }
        Err(e) => return e.into_response(),
    };
    // Counterparties to filter by: every member that can be one, by name.
    let names = super::case_pages::member_names(&st);
    let me = st.keys.org_id().to_string();
    let mut parties: Vec<(&String, &String)> = names.iter().filter(|(id, _)| **id != me).collect();
    parties.sort_by(|a, b| a.1.cmp(b.1));
    let link = |page: usize| {
        let mut q = query.clone();
        q.page = page;
        serde_urlencoded::to_string(&q).unwrap_or_default()
    };
    let mut ctx = base_ctx(&st, Some(&p), "cases_title", "/cases");
    ctx["page"] = json!(page);
    ctx["query"] = json!(query);
    ctx["names"] = json!(names);
    ctx["now"] = json!(now());
    ctx["parties"] = json!(
        parties
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect::<Vec<_>>()
    );
    ctx["statuses"] = json!(
        std::iter::once("open")
            .chain(ilm_protocol::CaseStatus::ALL.iter().map(|s| s.code()))
            .collect::<Vec<_>>()
    );
    ctx["categories"] = json!(IssueCategory::ALL);
    // A brand narrows by the sector and corridor its status reports give; the one asked
    // for is offered even when no report names it, so the form shows what narrows the list.
    let brand = st.role == Role::Brand;
    ctx["brand"] = json!(brand);
    if brand {
        let corridors = crate::aggregates::reports::corridors(&st.store).unwrap_or_default();
        ctx["sectors"] = json!(crate::intake::SECTORS);
        ctx["corridors"] = super::supply_chain::corridor_options(corridors, &query.corridor);
    }
    ctx["prev"] = json!((page.page > 1).then(|| link(page.page - 1)));
    ctx["next"] = json!((page.page < page.pages).then(|| link(page.page + 1)));
    ctx["export"] = json!(link(0));
    render(&st, "cases.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

/// The case list as CSV: every row the query selects, on one sheet, in the operator's
/// language; streamed a chunk of rows at a time (`worklist::export`), so a large node's
/// export never holds every row.
pub(crate) async fn case_list_csv(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    query: Result<Query<CaseQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Err(e) = worklist::Filter::parse_at(&query, &st.membership, &st.keys.org_id()) {
        return ApiError::bad(e.to_string()).into_response();
    }
    crate::api::exports::streamed("cases.csv", "text/csv; charset=utf-8", move |send| {
        let t = st.i18n.table(&p.lang);
        let label = labels(&st, &p.lang);
        let tr = |k: String| t.get(&k).cloned().unwrap_or(k);
        // A byte-order mark, so spreadsheets read Thai, Burmese and Japanese as UTF-8.
        let mut out = String::from("\u{FEFF}");
        let header = [
            "case",
            "opened",
            "status",
            "site",
            "counterparty",
            "categories",
            "workers",
            "next_due",
            "overdue",
        ];
        crate::csv::push_row(&mut out, header.iter().map(|h| tr(format!("col_{h}"))));
        let mut gone = false;
        worklist::export::each_row(
            &st.store,
            &st.membership,
            &st.keys.org_id(),
            now(),
            &query,
            &label,
            &mut |r| {
                let cats = r
                    .categories
                    .iter()
                    .map(|c| tr(format!("cat_{}", c.code())))
                    .collect::<Vec<_>>()
                    .join("; ");
                crate::csv::push_row(
                    &mut out,
                    [
                        r.case_ref.to_hex(),
                        crate::clock::fmt_day(r.opened_at),
                        tr(format!("status_{}", r.status)),
                        r.site.clone(),
                        r.counterparty_names.join("; "),
                        cats,
                        r.workers.to_string(),
                        r.next_due.map(crate::clock::fmt_day).unwrap_or_default(),
                        if r.overdue {
                            tr("overdue".into())
                        } else {
                            String::new()
                        },
                    ],
                );
                if out.len() >= crate::api::exports::CHUNK && !send(std::mem::take(&mut out)) {
                    gone = true;
                }
                !gone
            },
        )
        .map_err(|e| e.to_string())?;
        if !gone {
            send(out);
        }
        Ok(())
    })
}
