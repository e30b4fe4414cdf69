//! `POST /api/backup`: a consistent snapshot of the node, streamed to the caller (the CLI
//! seals it; the node never sees the backup's passphrase or recovery key).

use super::{ApiError, ApiState};
use crate::membership::now;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::io::Read;
use std::sync::Arc;

/// The header carrying the snapshot's time (seconds since the epoch).
pub const SNAPSHOT_AT: &str = "x-ilm-snapshot-at";
/// Bytes read from the snapshot file per chunk of the response.
const CHUNK: usize = 256 * 1024;

/// Takes the snapshot (writes wait meanwhile) and streams it. Its route's permission is
/// `Token`: the snapshot holds the node's keys, so no browser session may take one, even an
/// administrator's.
pub(crate) async fn backup(State(st): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let (dir, store, org) = (st.dir.clone(), st.store.clone(), st.keys.org_id());
    let at = now();
    let (file, len, summary) =
        tokio::task::spawn_blocking(move || crate::backup::write_archive(&dir, &store, org, at))
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| match e {
                crate::backup::BackupError::Store(e) => ApiError::from(e),
                e => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            })?;
    tracing::info!(
        bytes = len,
        records = summary.records,
        "snapshot taken for a backup"
    );
    let stream = futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((Ok(buf), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(SNAPSHOT_AT, HeaderValue::from(at.0));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
