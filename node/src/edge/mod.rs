//! The HTTP edge of the admin listener: one router above the JSON API and the web pages, and
//! the layers every request passes through, outermost first: the Host/Origin guard, the
//! security headers, then authentication and the role policy (`edge::auth`, `access`).

mod auth;
pub mod guard;
mod openapi;
pub mod public;
pub mod routes;
pub mod tls;

use crate::access::Permission;
use crate::api::{ApiError, ApiState};
use axum::http::StatusCode;
use axum::routing::MethodRouter;
use axum::{Extension, Router, middleware};
use ilm_protocol::Role;
use routes::Route;
use std::sync::Arc;

/// The admin listener's router, built from the route table ([`routes::all`]): public
/// routes outside authentication, every other route behind it and its own permission check.
pub fn router(state: Arc<ApiState>) -> Router {
    let mut protected = Router::new();
    let mut public = Router::new();
    for route in routes::all() {
        if route.permission == Permission::Public {
            public = public.route(route.path, route.handler());
        } else {
            let check = middleware::from_fn_with_state(route.permission, auth::authorize);
            let handler = if route.offered_by(state.role) {
                route.handler()
            } else {
                not_offered(route, state.role)
            };
            protected = protected.route(route.path, handler.layer(check));
        }
    }
    protected
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .merge(public)
        .layer(Extension(Arc::new(openapi::document())))
        .layer(middleware::from_fn(guard::security_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::host_check,
        ))
        .with_state(state)
}

/// What a route answers at a node whose role does not offer it (after the permission check,
/// so it tells nothing to a caller who may not use it anyway).
fn not_offered(route: &Route, role: Role) -> MethodRouter<Arc<ApiState>> {
    let path = route.path;
    let message = format!("a {role} node does not offer this");
    route
        .verb
        .on(move || async move { auth::deny(StatusCode::FORBIDDEN, path, &message) })
}

/// Serves `app` over plain HTTP on `listener`, without handing handlers the peer's address,
/// until the returned sender is used or dropped (the public page, the workers' portal).
pub fn spawn_plain(
    listener: tokio::net::TcpListener,
    app: Router,
    what: &'static str,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!("{what} stopped: {e}");
        }
    });
    stop
}
