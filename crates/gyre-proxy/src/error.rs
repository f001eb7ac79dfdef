use std::time::Duration;

/// Why a proxy call produced no usable backend reply.
///
/// Centrifugo treats all of these alike (error 100 for most events, +60 s for refreshes); they are
/// kept apart so logs and metrics can say what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Connecting to or talking with the backend failed (refused, reset, protocol error).
    #[error("proxy transport error: {0}")]
    Transport(String),
    /// The whole call (connect, send, status and body) took longer than the proxy timeout.
    #[error("proxy call timed out after {0:?}")]
    Timeout(Duration),
    /// The HTTP backend answered with a status other than 200 and no transform matched it.
    #[error("unexpected HTTP status code: {0}")]
    Status(u16),
    /// The 200 body was not a JSON object of the expected shape.
    #[error("error decoding proxy response: {0}")]
    Decode(String),
    /// The body was larger than the configured response limit; reading stopped at the limit.
    #[error("proxy response body exceeds {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The GRPC backend answered with a non-OK status (other than deadline / unavailable, which map
    /// to `Timeout` / `Transport`); `code` is the numeric GRPC code.
    #[error("proxy GRPC call failed with status {code}: {message}")]
    GrpcStatus { code: i32, message: String },
    /// The request could not be serialised (should not happen with validated payloads).
    #[error("error encoding proxy request: {0}")]
    Encode(String),
}

/// An error and its sources on one line: hyper's and tonic's errors print as "client error
/// (Connect)" or "transport error"; the useful part is further down the chain.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
