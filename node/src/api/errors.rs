//! API errors: a status and a message people can act on, sent as `{"error": ...}`.

use crate::core::CoreError;
use crate::register::RegisterError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error: status code and a clear message, sent as `{"error": ...}`.
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    /// A 400 with a message.
    pub fn bad(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError::*;
        match e {
            // A damaged or full disk is the node's state, not a bug: 503, saying so (the
            // store has logged it with its path).
            Corrupt(_) | Engine(_) | WriteFailed(_) => ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the node's database failed: {e}; nothing was changed by this request (see /api/status)"
                ),
            ),
            _ => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Refused(r) => ApiError(StatusCode::UNPROCESSABLE_ENTITY, r.to_string()),
            CoreError::UnknownCase(c) => ApiError(StatusCode::NOT_FOUND, format!("no case {c}")),
            CoreError::Storage(e) => ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the node could not store this: {e}"),
            ),
            CoreError::Unavailable => ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                CoreError::Unavailable.to_string(),
            ),
        }
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::NotSteward => ApiError(StatusCode::FORBIDDEN, e.to_string()),
            RegisterError::Store(_) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            other => ApiError::bad(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        let status = match e {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(status, friendly_json_error(&e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        let raw = e.body_text();
        let msg = raw
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&raw);
        ApiError::bad(format!("query: {}", friendly_json_error(msg)))
    }
}

impl From<crate::worklist::QueryError> for ApiError {
    fn from(e: crate::worklist::QueryError) -> Self {
        ApiError::bad(e.to_string())
    }
}

impl From<crate::inbox::InboxError> for ApiError {
    fn from(e: crate::inbox::InboxError) -> Self {
        match e {
            crate::inbox::InboxError::BadPageSize => ApiError::bad(e.to_string()),
            crate::inbox::InboxError::Store(s) => s.into(),
        }
    }
}

impl From<crate::worklist::ListError> for ApiError {
    fn from(e: crate::worklist::ListError) -> Self {
        match e {
            crate::worklist::ListError::Query(q) => q.into(),
            crate::worklist::ListError::Store(s) => s.into(),
        }
    }
}

/// Turns serde's and axum's wording into a message for people: no framework prefix, no
/// line and column, and never a value the request carried (it may be a worker's name or
/// passport number), only the field and what is accepted.
pub fn friendly_json_error(raw: &str) -> String {
    let mut msg = raw;
    for prefix in [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to parse the request body as JSON: ",
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            msg = rest;
        }
    }
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    let (field, what) = match msg.split_once(": ") {
        Some((f, w)) if !f.contains(' ') => (Some(f), w),
        _ => (None, msg),
    };
    let what = if let Some(rest) = what.strip_prefix("unknown variant `") {
        let expected = rest.split_once("`, ").map(|(_, e)| e).unwrap_or("");
        format!("not an accepted value; {expected}")
    } else if let Some(rest) = what.strip_prefix("missing field `") {
        format!("`{}` is required", rest.trim_end_matches('`'))
    } else if let Some(rest) = what.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once("`, ").unwrap_or((rest, ""));
        format!(
            "`{}` is not a field here; {expected}",
            name.trim_end_matches('`')
        )
    } else if let Some(rest) = what.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", ").map(|(_, e)| e).unwrap_or("");
        format!("wrong type; {expected}")
    } else if let Some(rest) = what.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", ").map(|(_, e)| e).unwrap_or("");
        format!("not an accepted value; {expected}")
    } else {
        what.to_string()
    };
    match field {
        Some(f) => format!("{f}: {what}"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::friendly_json_error as f;

    #[test]
    fn messages_name_the_field_and_what_is_accepted_but_never_the_value() {
        let m = f(
            "Failed to deserialize the JSON body into the target type: channel: unknown variant `Aye Aye`, expected `line` or `viber` at line 1 column 20",
        );
        assert_eq!(
            m,
            "channel: not an accepted value; expected `line` or `viber`"
        );
        let m = f(
            "Failed to deserialize the JSON body into the target type: identity.id_numbers: invalid type: string \"AB1234567\", expected a sequence at line 1 column 40",
        );
        assert_eq!(m, "identity.id_numbers: wrong type; expected a sequence");
        assert!(!m.contains("AB1234567"));
        let m = f(
            "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 2",
        );
        assert_eq!(m, "`name` is required");
        let m = f(
            "Failed to parse the request body as JSON: EOF while parsing an object at line 1 column 1",
        );
        assert_eq!(m, "EOF while parsing an object");
    }
}
