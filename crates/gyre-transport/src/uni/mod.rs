//! Unidirectional transports: the client sends one connect request and then only reads — a
//! `connect` push first, then publications and other pushes, an empty push `{}` as the ping
//! (nothing to answer), and a `disconnect` push before the server ends the connection. Channels
//! come from server-side subscriptions only. JSON only.

mod connect;
mod http_response;
mod http_stream;
mod sse;
mod websocket;

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use tokio::sync::oneshot;

use gyre_config::{SharedConfig, Snapshot};
use gyre_core::{Node, ProtocolType, TransportInfo};

use crate::origin::OriginCache;
use crate::stream::{self, Framing, Head, Pipe, StreamReader, StreamWriter};
use crate::websocket::route_path;

pub(crate) use http_response::ConnectErrorResponses;

struct UniState {
    node: Node,
    config: SharedConfig,
    origins: OriginCache,
    /// Compressed messages shared by the `uni_websocket` connections that negotiated
    /// permessage-deflate.
    deflate_cache: Arc<crate::websocket::SegmentCache>,
}

/// `uni_websocket`, `uni_sse` and `uni_http_stream`, each when enabled.
pub(crate) fn router(node: Node, config: SharedConfig) -> Router {
    let snapshot = config.load_full();
    let c = &snapshot.config;
    let mut router = Router::new();
    if c.uni_websocket.enabled {
        router = router.route(
            &route_path(&c.uni_websocket.handler_prefix),
            any(websocket::handle),
        );
    }
    if c.uni_sse.enabled {
        router = router.route(&route_path(&c.uni_sse.handler_prefix), any(sse::handle));
    }
    if c.uni_http_stream.enabled {
        router = router.route(
            &route_path(&c.uni_http_stream.handler_prefix),
            any(http_stream::handle),
        );
    }
    let state = Arc::new(UniState {
        node,
        config: config.clone(),
        origins: OriginCache::default(),
        deflate_cache: Arc::default(),
    });
    crate::cors::layer(router.with_state(state), config)
}

/// Serves a unidirectional stream (SSE or HTTP-streaming). The answer waits for the connect, as
/// in Centrifugo: 200 and the stream once connected, or a plain status for a failed connect when
/// `connect_errors` is configured.
async fn serve_stream(
    state: &UniState,
    snapshot: &Snapshot,
    headers: &HeaderMap,
    name: &'static str,
    framing: Framing,
    connect: Bytes,
    connect_errors: Option<ConnectErrorResponses>,
) -> Response {
    let sse = framing == Framing::Sse;
    let info = TransportInfo {
        name,
        protocol: ProtocolType::Json,
        unidirectional: true,
        emulation: false,
        // The writer sends it (see `stream::writer`).
        disconnect_push: false,
        app_level_ping: true,
        headers: crate::headers::kept(headers, snapshot),
        max_message_size: connect.len(),
        write_timeout: stream::WRITE_TIMEOUT,
        session: String::new(),
        raw_connect_errors: connect_errors.is_some(),
    };
    let pipe = Pipe::new(sse.then(|| Bytes::from_static(stream::SSE_PREFIX)));
    let (head_tx, head_rx) = oneshot::channel();
    let reader = StreamReader::unidirectional(connect, pipe.peer.clone());
    let writer = StreamWriter::unidirectional(pipe.chunks, framing, head_tx, connect_errors.map(Arc::new));
    tokio::spawn(state.node.serve_connection(info, reader, writer));
    // Holding `pipe.body` meanwhile: if the client leaves now, dropping this future drops it,
    // which ends the connection.
    match head_rx.await {
        Ok(Head::Answer(status, body)) => {
            (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
        }
        Ok(Head::Stream) | Err(_) => stream::response(pipe.body, sse),
    }
}
