//! The HTTP edge of the admin listener: one router above the JSON API and the web pages, and
//! the layers every request passes through, outermost first: the Host/Origin guard, the
//! security headers, then authentication and the role policy (`edge::auth`, `access`).

mod auth;
pub mod guard;

use crate::api::{ApiError, ApiState};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The admin listener's router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::ui::page_routes())
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .merge(crate::ui::public_routes())
        .route("/api/hello", get(hello))
        .layer(middleware::from_fn(guard::security_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::host_check,
        ))
        .with_state(state)
}

#[derive(Deserialize)]
struct HelloQuery {
    challenge: String,
}

/// Proves to the CLI that this is the node's daemon (it knows the admin token) before the
/// CLI sends the token: `crate::client::admin_proof` over the CLI's random challenge.
async fn hello(
    State(st): State<Arc<ApiState>>,
    Query(q): Query<HelloQuery>,
) -> Result<Json<Value>, ApiError> {
    let challenge = ilm_protocol::bytes::from_hex(&q.challenge)
        .ok()
        .filter(|c| (16..=64).contains(&c.len()))
        .ok_or_else(|| ApiError::bad("challenge: 16 to 64 bytes of lowercase hex"))?;
    let proof = crate::client::admin_proof(&st.token, &challenge);
    Ok(Json(
        json!({ "proof": ilm_protocol::bytes::to_hex(&proof) }),
    ))
}
