//! Reading a request body up to a limit, with the statuses Centrifugo answers when that fails.

use axum::body::Body;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

/// The status Go's handlers use for a client that went away while sending its body (nginx's
/// "client closed request"); nobody reads it, but logs and metrics see it.
pub(crate) const CLIENT_CLOSED: u16 = 499;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than the limit: 413.
    TooLarge,
    /// The client stopped sending (the connection broke).
    Failed,
}

impl BodyError {
    /// The answer of the bidirectional streams and `/emulation`.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Failed => StatusCode::from_u16(CLIENT_CLOSED).unwrap_or(StatusCode::BAD_REQUEST),
        }
    }
}

/// The limit of a `max_request_body_size` setting: zero or negative means the 64 KiB default.
pub(crate) fn limit(configured: i64) -> usize {
    usize::try_from(configured)
        .ok()
        .filter(|v| *v > 0)
        .unwrap_or(65536)
}

/// Reads the whole body, refusing it as soon as it grows past `limit` bytes (a declared
/// `Content-Length` over the limit is refused before reading anything).
pub(crate) async fn read_limited(
    body: Body,
    declared: Option<u64>,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut out = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Failed)?;
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// The `Content-Length` a request declares, if any.
pub(crate) fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(parts: &[&'static [u8]]) -> Body {
        let parts: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Body::from_stream(futures_util::stream::iter(parts))
    }

    #[tokio::test]
    async fn limits() {
        assert_eq!(
            read_limited(chunked(&[b"abc", b"de"]), None, 5).await,
            Ok(Bytes::from_static(b"abcde"))
        );
        assert_eq!(
            read_limited(chunked(&[b"abc", b"def"]), None, 5).await,
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            read_limited(chunked(&[]), Some(6), 5).await,
            Err(BodyError::TooLarge)
        );
        assert_eq!(read_limited(chunked(&[]), None, 5).await, Ok(Bytes::new()));
        let broken: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(Bytes::from_static(b"a")), Err(std::io::Error::other("reset"))];
        let body = Body::from_stream(futures_util::stream::iter(broken));
        assert_eq!(read_limited(body, None, 5).await, Err(BodyError::Failed));
        assert_eq!(BodyError::TooLarge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(BodyError::Failed.status().as_u16(), 499);
    }

    #[test]
    fn configured_limits() {
        assert_eq!(limit(0), 65536);
        assert_eq!(limit(-1), 65536);
        assert_eq!(limit(100), 100);
    }
}
