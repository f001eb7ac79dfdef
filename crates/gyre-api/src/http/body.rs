//! Reading a request body under a size cap, and the plain-text error responses Go's
//! `http.Error` produces.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

/// Largest accepted API request body. Centrifugo has no cap; Gyre refuses bigger bodies with 413
/// so one request cannot exhaust memory.
pub const MAX_BODY_SIZE: usize = 16 * 1024 * 1024;

pub(crate) enum BodyError {
    TooLarge,
    Read(axum::Error),
}

pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Read)?;
        total += chunk.len();
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        // One chunk (the usual case) is handed on without copying.
        let Some(f) = &first else {
            first = Some(chunk);
            continue;
        };
        rest.get_or_insert_with(|| BytesMut::from(&f[..]))
            .extend_from_slice(&chunk);
    }
    Ok(match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}

/// A `text/plain` error with the status text as body, like Go's `http.Error`.
pub(crate) fn plain_error(status: StatusCode) -> Response {
    let text = format!("{}\n", status.canonical_reason().unwrap_or("Error"));
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        text,
    )
        .into_response()
}

/// A JSON body with the given status.
pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}
