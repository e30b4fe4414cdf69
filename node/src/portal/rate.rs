//! Ratings on the portal: a worker holding a receipt rates an employer or agency of the
//! network on the six fixed questions (from the status page of the report), and anyone reads
//! the published ratings: the CSOs' signed summaries added up, with each organisation's
//! answer. Nothing about an organisation is shown before some CSO published a summary of at
//! least k ratings of it.

use super::pages::{CheckForm, LangQuery, open_thread, refused, status_page};
use super::thread::{self, PortalError};
use super::{Portal, language};
use crate::membership::now;
use crate::ratings::{self, RatingRefused, RatingSource, StoredRating};
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ilm_protocol::{Dimension, OrgId};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

type St = State<Arc<Portal>>;

/// The rating form as posted, with the report's codes.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RateForm {
    #[serde(flatten)]
    codes: CheckForm,
    org: String,
    recruitment_fees: String,
    honest_contract: String,
    wages_paid: String,
    documents_kept: String,
    freedom_to_leave: String,
    treatment: String,
}

impl RateForm {
    /// The scores in [`Dimension::ALL`] order (digits of any offered script), or None when
    /// one is missing or out of range.
    fn scores(&self) -> Option<Vec<u8>> {
        [
            &self.recruitment_fees,
            &self.honest_contract,
            &self.wages_paid,
            &self.documents_kept,
            &self.freedom_to_leave,
            &self.treatment,
        ]
        .iter()
        .map(|s| {
            super::credentials::ascii_digits(s)?
                .parse::<u8>()
                .ok()
                .filter(|n| ilm_protocol::rating::SCORES.contains(n))
        })
        .collect()
    }
}

/// `POST /rate`: records the rating of the report's contact, then shows the report again.
pub(super) async fn rate(
    State(p): St,
    h: HeaderMap,
    form: Result<Form<RateForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return p.problem(language(None, &h), StatusCode::BAD_REQUEST, "error_form");
    };
    let lang = language(Some(&form.codes.lang), &h);
    let t = match open_thread(&p, &form.codes).await {
        Ok(t) => t,
        Err(why) => return refused(&p, lang, &form.codes, why),
    };
    let (Some(scores), Ok(org)) = (form.scores(), form.org.parse::<OrgId>()) else {
        let err = ("error_rating", StatusCode::UNPROCESSABLE_ENTITY);
        return status_page(&p, lang, &form.codes, &t, None, Some(err));
    };
    let _guard = p.api.intake_lock.lock().await;
    let (store, membership, me, vault, contact) = (
        p.api.store.clone(),
        p.api.membership.clone(),
        p.api.keys.org_id(),
        p.api.vault.clone(),
        t.contact,
    );
    let rating = StoredRating {
        org,
        scores,
        at: now(),
        source: RatingSource::Portal,
        // Counted once a caseworker answered the report (at once if one has).
        awaiting_triage: t.last_cso_at.is_none(),
    };
    let recorded = thread::blocking(move || {
        match ratings::record(&store, &membership, &me, &vault, &contact, rating) {
            Err(RatingRefused::Store(e)) => Err(PortalError::Store(e)),
            Err(RatingRefused::Vault(e)) => Err(PortalError::Task(e.to_string())),
            other => Ok(other),
        }
    })
    .await;
    let refusal = match recorded {
        Ok(Ok(())) => return status_page(&p, lang, &form.codes, &t, Some("rating_saved"), None),
        Ok(Err(RatingRefused::AlreadyRated)) => "error_already_rated",
        Ok(Err(_)) => "error_rating",
        Err(e) => {
            tracing::warn!("a portal rating could not be stored: {e}");
            let err = ("error_store", StatusCode::SERVICE_UNAVAILABLE);
            return status_page(&p, lang, &form.codes, &t, None, Some(err));
        }
    };
    let err = (refusal, StatusCode::UNPROCESSABLE_ENTITY);
    status_page(&p, lang, &form.codes, &t, None, Some(err))
}

/// `GET /ratings`: the published ratings of every employer and agency, with their answers.
pub(super) async fn published(State(p): St, q: Query<LangQuery>, h: HeaderMap) -> Response {
    let lang = language(q.lang.as_deref(), &h);
    let shown = match ratings::published(&p.api.store, &p.api.membership, &|_| true) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("ratings could not be read: {e}");
            return p.problem(lang, StatusCode::SERVICE_UNAVAILABLE, "error_store");
        }
    };
    let mut ctx = p.ctx(lang, "/ratings");
    ctx["ratings"] = json!(shown);
    ctx["dimensions"] = json!(Dimension::ALL.iter().map(|d| d.code()).collect::<Vec<_>>());
    p.render(StatusCode::OK, "portal/ratings.html", ctx)
}
