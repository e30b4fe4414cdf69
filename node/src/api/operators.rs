//! The handlers of the node's operators (the people who log in to its UI): adding, listing,
//! disabling them and setting passwords.

use super::{ApiError, ApiResult, ApiState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OperatorBody {
    name: String,
    role: crate::operators::OperatorRole,
    password: String,
}

fn operator_error(e: crate::operators::OperatorError) -> ApiError {
    use crate::operators::OperatorError;
    match e {
        OperatorError::Store(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        OperatorError::Unknown(_) => ApiError(StatusCode::NOT_FOUND, e.to_string()),
        other => ApiError::bad(other.to_string()),
    }
}

pub(crate) async fn add_operator(
    State(st): State<Arc<ApiState>>,
    body: Result<Json<OperatorBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(b) = body.map_err(ApiError::from)?;
    crate::operators::add_operator(&st.store, &b.name, b.role, &b.password)
        .map_err(operator_error)?;
    Ok(Json(json!({ "name": b.name, "role": b.role })))
}

pub(crate) async fn list_operators(State(st): State<Arc<ApiState>>) -> ApiResult {
    let ops = crate::operators::list(&st.store).map_err(operator_error)?;
    Ok(Json(json!({ "operators": ops.iter().map(|o| json!({
        "name": o.name, "role": o.role, "disabled": o.disabled,
    })).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisableBody {
    disabled: bool,
}

/// Disables (or enables) an operator; its sessions end at once.
pub(crate) async fn disable_operator(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    body: Result<Json<DisableBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(b) = body.map_err(ApiError::from)?;
    crate::operators::set_disabled(&st.store, &name, b.disabled).map_err(operator_error)?;
    if b.disabled {
        st.sessions.end_all_of(&name);
    }
    Ok(Json(json!({ "name": name, "disabled": b.disabled })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    password: String,
}

/// Sets an operator's password (an admin for anyone, an operator for itself); its other
/// sessions end.
pub(crate) async fn set_password(
    State(st): State<Arc<ApiState>>,
    axum::Extension(p): axum::Extension<crate::access::Principal>,
    Path(name): Path<String>,
    body: Result<Json<PasswordBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    if p.role != crate::operators::OperatorRole::Admin && p.name != name {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "operators change only their own password".into(),
        ));
    }
    let Json(b) = body.map_err(ApiError::from)?;
    let store = st.store.clone();
    let who = name.clone();
    tokio::task::spawn_blocking(move || crate::operators::set_password(&store, &who, &b.password))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(operator_error)?;
    st.sessions.end_all_of(&name);
    Ok(Json(json!({ "name": name, "password_changed": true })))
}
