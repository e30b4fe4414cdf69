//! The public listener: published network statistics for anyone (a website can link or
//! embed it), with no login. It has its own router holding only these routes, so nothing
//! of the admin listener (pages, API, sessions, static script) is reachable through it.

use crate::api::{ApiError, ApiState};
use crate::ui;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Router, middleware};
use std::sync::Arc;

/// The paths the public listener serves; everything else is 404.
pub const PATHS: &[&str] = &[
    "/",
    "/statistics.json",
    "/static/style.css",
    "/static/fonts/{name}",
];

/// The public listener's router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route(PATHS[0], get(ui::public_page))
        .route(PATHS[1], get(ui::public_json))
        .route(PATHS[2], get(ui::style_css))
        .route(PATHS[3], get(ui::font))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such page".into()) })
        .layer(middleware::from_fn(super::guard::security_headers))
        .with_state(state)
}
