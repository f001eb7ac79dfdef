//! `GET {uni_websocket.handler_prefix}` (default `/connection/uni_websocket`): a WebSocket the
//! server only writes to. The connect request is the `cf_connect` query parameter (checked before
//! the upgrade: 400 "invalid connect request") or else the client's first message (not a connect
//! request → close 3501 "bad request"); later messages are read and dropped. Pushes go out as
//! text frames, one per message unless `join_push_messages`. Native ping frames run on top of the
//! empty-push pings (a peer that answers no ping within ping interval + pong timeout is dropped);
//! a server disconnect sends the `disconnect` push (unless `disable_disconnect_push`) and a close
//! frame with the code (unless `disable_closing_handshake`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use gyre_core::{Disconnect, ProtocolType, ReadError, TransportInfo, TransportReader};

use super::connect::{connect_frame, CONNECT_PARAM};
use super::UniState;
use crate::query;
use crate::websocket::{self, CompressionLimits, Settings, Shared, WsReader};

const NAME: &str = "uni_websocket";
const DEFAULT_MESSAGE_SIZE_LIMIT: usize = 65536;
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) async fn handle(State(state): State<Arc<UniState>>, mut request: Request) -> Response {
    let connect = match query::get(request.uri().query(), CONNECT_PARAM).filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => match connect_frame(text.as_bytes()) {
            Ok(frame) => Some(frame),
            Err(e) => {
                tracing::info!(error = %e, transport = NAME, "error unmarshalling connect request");
                return invalid_connect_request();
            }
        },
    };
    let snapshot = state.config.load_full();
    let accepted = match websocket::accept(&mut request, &state.origins, &snapshot) {
        Ok(accepted) => accepted,
        Err(status) => return websocket::reject(status),
    };
    let config = &snapshot.config.uni_websocket;
    let message_size = usize::try_from(config.message_size_limit)
        .ok()
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_MESSAGE_SIZE_LIMIT);
    let write_timeout = if config.write_timeout.is_zero() {
        DEFAULT_WRITE_TIMEOUT
    } else {
        config.write_timeout.as_std()
    };
    let compression = CompressionLimits::from_config(
        config.compression,
        config.compression_level,
        config.compression_min_size,
        config.decompressed_message_size_limit,
        message_size,
    )
    .and_then(|c| c.if_offered(request.headers()));
    let settings = Settings {
        protocol: ProtocolType::Json,
        max_message_size: message_size,
        inflate_limit: compression.map(|c| c.decompressed_limit),
        write_timeout,
        // Always native pings here, whatever the query says (a tool or a browser answers them).
        native_ping: Some(websocket::native_ping(&snapshot)),
        join_messages: config.join_push_messages,
        closing_handshake: !config.disable_closing_handshake,
    };
    let info = TransportInfo {
        name: NAME,
        protocol: ProtocolType::Json,
        unidirectional: true,
        emulation: false,
        disconnect_push: !config.disable_disconnect_push,
        app_level_ping: true,
        headers: crate::headers::kept(request.headers(), &snapshot),
        // The core reads the connect request (and drops the rest) once inflated.
        max_message_size: compression
            .map_or(message_size, |c| c.decompressed_limit)
            .max(connect.as_ref().map_or(0, Bytes::len)),
        write_timeout,
        session: String::new(),
        raw_connect_errors: false,
    };
    accepted.serve(
        state.node.clone(),
        info,
        settings,
        compression.map(|c| c.deflate(state.deflate_cache.clone())),
        move |inner, shared| UniWsReader {
            inner,
            shared,
            connect,
            connected: false,
        },
        None,
    )
}

/// Go's `http.Error` answer to a malformed `cf_connect`.
fn invalid_connect_request() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        "invalid connect request\n",
    )
        .into_response()
}

/// Yields the connect command (from the query, or made of the first message), then reads and
/// drops whatever else the client sends until it goes away.
struct UniWsReader {
    inner: WsReader,
    shared: Arc<Shared>,
    connect: Option<Bytes>,
    /// The connect command was handed to the core.
    connected: bool,
}

#[async_trait::async_trait]
impl TransportReader for UniWsReader {
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
        if let Some(connect) = self.connect.take() {
            self.connected = true;
            return Some(Ok(connect));
        }
        loop {
            // The only await: cancelling here loses nothing.
            let message = match self.inner.read().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(e)),
            };
            if self.connected {
                continue;
            }
            self.connected = true;
            match connect_frame(&message) {
                Ok(connect) => return Some(Ok(connect)),
                Err(e) => {
                    tracing::info!(error = %e, transport = NAME, "error unmarshalling connect request");
                    // Told with a close frame alone (no disconnect push), as Centrifugo does;
                    // the core then sees the peer leaving.
                    let d = Disconnect::BAD_REQUEST;
                    self.shared.queue_close(d.code as u16, &d.reason);
                    return None;
                }
            }
        }
    }
}
