//! The CSO's contacts page: find a past contact or a repeat caller.

use super::*;
use crate::contact_list::ContactQuery;
use axum::extract::rejection::QueryRejection;

pub(crate) async fn contacts(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
    query: Result<Query<ContactQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
    };
    let page = match crate::api::workflow::contact_page(&st, &p, &query) {
        Ok(page) => page,
        Err(ApiError(StatusCode::BAD_REQUEST, _)) => {
            return error_page(&st, Some(&p), StatusCode::BAD_REQUEST, "bad_query");
        }
        Err(e) => return e.into_response(),
    };
    let link = |n: usize| {
        let mut q = query.clone();
        q.page = n;
        serde_urlencoded::to_string(&q).unwrap_or_default()
    };
    let mut ctx = base_ctx(&st, Some(&p), "contacts_page_title", "/contacts");
    ctx["identities"] = json!(Permission::Intake.allows(p.role));
    ctx["can_export"] = json!(Permission::Read.allows(p.role));
    ctx["prev"] = json!((page.page > 1).then(|| link(page.page - 1)));
    ctx["next"] = json!((page.page < page.pages).then(|| link(page.page + 1)));
    ctx["page"] = json!(page);
    ctx["query"] = json!(query);
    render(&st, "contacts.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// A page whose search stopped counting says so, "≥" and why, in every UI language; a
    /// page counted whole says neither (the control).
    #[test]
    fn a_count_that_stopped_says_so_in_every_language() {
        let env = super::super::templates().expect("templates");
        let i18n = crate::i18n::I18n::load().expect("locales");
        for (lang, _) in crate::i18n::LANGUAGES {
            let t = i18n.table(lang);
            let render = |more: bool| {
                let page = json!({
                    "contacts": [], "total": 1_025, "total_at_least": more, "page": 1,
                    "pages": 41,
                });
                env.get_template("contacts.html")
                    .expect("template")
                    .render(json!({"t": t, "lang": lang, "page": page, "query": {"q": "x"}}))
                    .expect("render")
            };
            let why = t.get("contacts_found_more").expect("translated");
            let stopped = render(true);
            assert!(stopped.contains("≥ 1025"), "{lang}");
            assert!(stopped.contains(r#"data-at-least="true""#), "{lang}");
            assert!(stopped.contains(why.as_str()), "{lang}");
            assert!(
                stopped.contains("/ ≥ 41"),
                "{lang}: the pages counted so far"
            );
            let whole = render(false);
            assert!(whole.contains(": 1025") && whole.contains("/ 41"), "{lang}");
            assert!(
                !whole.contains('≥') && !whole.contains(why.as_str()),
                "{lang}"
            );
        }
    }
}
