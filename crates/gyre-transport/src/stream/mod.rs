//! What the streaming HTTP transports (SSE and HTTP-streaming, bidirectional and
//! unidirectional) share: framing, the core's reader and writer, the response body and headers.

mod body;
mod framing;
mod reader;
mod writer;

use std::time::Duration;

use axum::http::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, PRAGMA};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) use body::StreamBody;
pub(crate) use framing::Framing;
pub(crate) use reader::StreamReader;
pub(crate) use writer::{Head, StreamWriter};

/// How long one write to a stream may take (Centrifugo's streaming write deadline).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// One chunk in flight between the core's writer and hyper: a write completes once hyper took
/// the previous chunk, which is the backpressure towards a client that stops reading.
const CHUNKS_IN_FLIGHT: usize = 1;

/// The two ends of a stream's body: the writer's sender, and the body that also tells the reader
/// (through `peer`) when it is dropped.
pub(crate) struct Pipe {
    pub(crate) chunks: mpsc::Sender<Bytes>,
    pub(crate) body: StreamBody,
    pub(crate) peer: CancellationToken,
}

impl Pipe {
    pub(crate) fn new(prefix: Option<Bytes>) -> Pipe {
        let (chunks, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let peer = CancellationToken::new();
        let body = StreamBody::new(prefix, rx, peer.clone().drop_guard());
        Pipe { chunks, body, peer }
    }
}

/// The 200 answer that carries a stream, with Centrifugo's headers (no caching, no proxy
/// buffering); SSE adds its content type.
pub(crate) fn response(body: StreamBody, sse: bool) -> Response {
    let mut response = Response::new(body.into_body());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    if sse {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
    }
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache, no-store, must-revalidate, max-age=0"),
    );
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(HeaderName::from_static("expire"), HeaderValue::from_static("0"));
    response
}

/// SSE responses start with an empty line (some proxies and browsers wait for a first byte).
pub(crate) const SSE_PREFIX: &[u8] = b"\r\n";
