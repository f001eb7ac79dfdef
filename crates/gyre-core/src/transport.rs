//! What a transport gives the core: a description of itself, a reader of inbound frames and a
//! writer of outbound messages. The WebSocket implementation lives in the server crate; tests use
//! in-memory channels.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::disconnect::Disconnect;
pub use gyre_protocol::ProtocolType;

/// Static facts about a connection's transport.
#[derive(Debug, Clone)]
pub struct TransportInfo {
    /// `websocket`, `sse`, `http_stream`, `uni_websocket`, … (used in metrics and proxy requests).
    pub name: &'static str,
    pub protocol: ProtocolType,
    /// Unidirectional transports get bare pushes and no pong. Their client sends one bare
    /// `ConnectRequest`; the transport hands it to the core as a frame holding the command
    /// `{"id":1,"connect":<request>}` (protobuf: a length-prefixed `Command`). The connect result
    /// then arrives as a `connect` push, and connect errors become disconnects.
    pub unidirectional: bool,
    /// Bidirectional emulation (SSE / HTTP-streaming + `/emulation`).
    pub emulation: bool,
    /// Disconnects are sent as a `disconnect` push before closing (everything but bidirectional
    /// WebSocket, which uses the close frame).
    pub disconnect_push: bool,
    /// Application-level ping/pong; `None` when the transport pings natively.
    pub app_level_ping: bool,
    /// HTTP request headers of the upgrade/stream request (lower-case names).
    pub headers: HashMap<String, String>,
    /// Largest accepted inbound message.
    pub max_message_size: usize,
    /// How long one write may take before the connection is closed with 3009.
    pub write_timeout: Duration,
    /// Session id of an emulation or unidirectional connection, when the transport chose it
    /// (the `/emulation` endpoint finds a stream by it); empty lets the core generate one.
    pub session: String,
    /// Unidirectional only: a connect that fails with an error closes with the error's own
    /// code and message instead of the mapped disconnect, for a transport that answers it
    /// with an HTTP status (`connect_code_to_http_response`).
    pub raw_connect_errors: bool,
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Inbound message over the size limit (close 1009).
    #[error("message too big")]
    MessageTooBig,
    /// Transport-level protocol violation.
    #[error("transport error: {0}")]
    Transport(String),
}

/// Inbound side. Owned by the session task.
#[async_trait]
pub trait TransportReader: Send + 'static {
    /// The next inbound message payload; `None` when the peer closed.
    ///
    /// Must be cancel-safe: the session races it against timers and close requests and drops the
    /// future when another event wins (a stream's `next()` or a channel's `recv()` is fine).
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>>;
}

/// Outbound side. Owned by the connection's writer task.
#[async_trait]
pub trait TransportWriter: Send + 'static {
    /// Writes encoded messages (each one reply or push, unframed) as one transport write.
    ///
    /// Runs under `TransportInfo::write_timeout`. The future may be dropped unfinished when the
    /// connection is being closed as a slow consumer (3008); `close` is the only call that follows.
    async fn write_batch(&mut self, messages: &[Bytes]) -> Result<(), std::io::Error>;
    /// Closes the transport, telling the peer why when `disconnect` is set. Also bounded by the
    /// write timeout; the writer is dropped afterwards.
    async fn close(&mut self, disconnect: Option<Disconnect>);
}
