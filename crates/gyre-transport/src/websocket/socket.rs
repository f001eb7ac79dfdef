//! One task owns each upgraded WebSocket. The session reads through [`WsReader`] and the core's
//! writer task writes through [`WsWriter`]; both talk to the socket task over channels.
//!
//! Owning the socket in one place is what lets the transport (not the session) answer
//! transport-level failures with the right close frame (1009 for an oversized message, 1002 for
//! protocol violations, 1007 for invalid UTF-8), keep reading while a close handshake completes,
//! and send native pings when a client asked for them.

use std::io;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::{Bytes, BytesMut};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use gyre_core::{Disconnect, ProtocolType, ReadError, TransportReader, TransportWriter};

/// How long a close handshake may take before the socket is dropped (Centrifugo waits as long).
const CLOSE_HANDSHAKE_WAIT: Duration = Duration::from_secs(5);
/// How long the socket stays open after a close frame sent because reading failed: the peer's
/// answer cannot be read any more, but closing at once could reset the connection before the
/// peer has read our close frame.
const CLOSE_AFTER_READ_ERROR_GRACE: Duration = Duration::from_millis(500);
/// Close-frame reasons must fit a 125-byte control frame with its 2-byte code.
const MAX_CLOSE_REASON: usize = 123;

/// Native WebSocket ping/pong (`cf_ws_frame_ping_pong=true`) instead of application pings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NativePing {
    pub(crate) interval: Duration,
    pub(crate) pong_timeout: Duration,
}

/// Per-connection settings of the socket task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SocketSettings {
    pub(crate) protocol: ProtocolType,
    pub(crate) write_timeout: Duration,
    pub(crate) native_ping: Option<NativePing>,
}

/// What the socket task hands the session: a payload, a read failure, or `None` once the peer
/// closed.
type Inbound = Option<Result<Bytes, ReadError>>;

enum Outbound {
    Frame(Message, oneshot::Sender<io::Result<()>>),
    Close(Option<Disconnect>, oneshot::Sender<()>),
}

/// Splits an upgraded socket into the core's reader and writer plus the task that drives it. The
/// task must be polled (joined with the session) for either side to make progress.
pub(crate) fn start(
    socket: WebSocket,
    settings: SocketSettings,
) -> (WsReader, WsWriter, impl std::future::Future<Output = ()>) {
    // One slot each way: the session reads one message ahead at most, and the writer waits for
    // each frame anyway.
    let (inbound_tx, inbound_rx) = mpsc::channel(1);
    let (outbound_tx, outbound_rx) = mpsc::channel(1);
    let reader = WsReader {
        inbound: inbound_rx,
        done: false,
    };
    let writer = WsWriter {
        outbound: outbound_tx,
        protocol: settings.protocol,
    };
    (reader, writer, run(socket, outbound_rx, inbound_tx, settings))
}

pub(crate) struct WsReader {
    inbound: mpsc::Receiver<Inbound>,
    done: bool,
}

#[async_trait::async_trait]
impl TransportReader for WsReader {
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
        if self.done {
            return None;
        }
        // Cancel-safe: the session polls this inside a select.
        match self.inbound.recv().await {
            Some(Some(Ok(payload))) => Some(Ok(payload)),
            Some(Some(Err(e))) => {
                self.done = true;
                Some(Err(e))
            }
            Some(None) | None => {
                self.done = true;
                None
            }
        }
    }
}

pub(crate) struct WsWriter {
    outbound: mpsc::Sender<Outbound>,
    protocol: ProtocolType,
}

#[async_trait::async_trait]
impl TransportWriter for WsWriter {
    async fn write_batch(&mut self, messages: &[Bytes]) -> Result<(), io::Error> {
        if messages.is_empty() {
            return Ok(());
        }
        let payload = if messages.len() == 1 && self.protocol == ProtocolType::Json {
            // A single JSON message is its own frame: no copy.
            messages[0].clone()
        } else {
            let mut out = BytesMut::new();
            gyre_protocol::codec::frame_messages(self.protocol, messages, &mut out);
            out.freeze()
        };
        let message = match self.protocol {
            ProtocolType::Json => Message::Text(
                Utf8Bytes::try_from(payload).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            ),
            ProtocolType::Protobuf => Message::Binary(payload),
        };
        let (done_tx, done_rx) = oneshot::channel();
        self.outbound
            .send(Outbound::Frame(message, done_tx))
            .await
            .map_err(|_| socket_gone())?;
        done_rx.await.map_err(|_| socket_gone())?
    }

    async fn close(&mut self, disconnect: Option<Disconnect>) {
        let (done_tx, done_rx) = oneshot::channel();
        if self
            .outbound
            .send(Outbound::Close(disconnect, done_tx))
            .await
            .is_ok()
        {
            let _ = done_rx.await;
        }
    }
}

fn socket_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "websocket closed")
}

/// Where the close handshake stands.
#[derive(Debug, Default)]
struct CloseState {
    /// tungstenite still yields messages.
    readable: bool,
    /// The peer sent a close frame (tungstenite answers it by itself).
    peer_closed: bool,
    /// We sent a close frame.
    sent: bool,
    /// Keep the socket open until then before dropping it.
    linger_until: Option<Instant>,
}

async fn run(
    socket: WebSocket,
    mut commands: mpsc::Receiver<Outbound>,
    inbound: mpsc::Sender<Inbound>,
    settings: SocketSettings,
) {
    let (mut sink, mut stream) = socket.split();
    let mut state = CloseState {
        readable: true,
        ..Default::default()
    };
    let mut next_ping = settings.native_ping.map(|p| Instant::now() + p.interval);
    let mut pong_deadline: Option<Instant> = None;
    loop {
        let timer = earliest(next_ping, pong_deadline);
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(Outbound::Frame(message, done)) => {
                    let result = send(&mut sink, message, settings.write_timeout).await;
                    let failed = result.is_err();
                    let _ = done.send(result);
                    if failed {
                        break;
                    }
                }
                Some(Outbound::Close(disconnect, done)) => {
                    let (code, reason) = close_code(disconnect.as_ref());
                    send_close(&mut sink, &mut state, code, reason, settings.write_timeout).await;
                    let _ = done.send(());
                    if state.readable {
                        // Read (and drop) until the peer answers our close frame.
                        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_WAIT, drain(&mut stream)).await;
                    }
                    break;
                }
                None => break,
            },
            _ = sleep_until(timer), if timer.is_some() => {
                let now = Instant::now();
                if pong_deadline.is_some_and(|d| d <= now) {
                    let _ = inbound.try_send(Some(Err(ReadError::Transport("no pong".into()))));
                    break;
                }
                if let (Some(at), Some(ping)) = (next_ping, settings.native_ping) {
                    if at <= now {
                        if send(&mut sink, Message::Ping(Bytes::new()), settings.write_timeout).await.is_err() {
                            break;
                        }
                        pong_deadline = Some(now + ping.pong_timeout);
                        next_ping = Some(now + ping.interval);
                    }
                }
            }
            (permit, item) = next_inbound(&mut stream, &inbound), if state.readable => {
                let delivered: Inbound = match item {
                    Some(Ok(Message::Text(text))) => Some(Ok(Bytes::from(text))),
                    Some(Ok(Message::Binary(data))) => Some(Ok(data)),
                    // tungstenite queued the pong (replacing an unsent one, so a ping flood
                    // cannot pile them up); the next read flushes it.
                    Some(Ok(Message::Ping(_))) => continue,
                    Some(Ok(Message::Pong(_))) => {
                        pong_deadline = None;
                        continue;
                    }
                    Some(Ok(Message::Close(_))) => {
                        // Keep reading: the next read sends tungstenite's answer and ends the
                        // stream.
                        state.peer_closed = true;
                        None
                    }
                    None => {
                        state.readable = false;
                        None
                    }
                    Some(Err(e)) => {
                        state.readable = false;
                        let failure = classify(e);
                        if let Some(code) = failure.close_code {
                            send_close(&mut sink, &mut state, code, failure.reason, settings.write_timeout).await;
                            state.linger_until = Some(Instant::now() + CLOSE_AFTER_READ_ERROR_GRACE);
                        }
                        failure.read_error.map(Err)
                    }
                };
                if let Some(permit) = permit {
                    permit.send(delivered);
                }
            }
        }
    }
    if let Some(until) = state.linger_until {
        tokio::time::sleep_until(until).await;
    }
}

/// Reserves room for one inbound item, then reads the next message. Both steps are cancel-safe,
/// so the command branch may win the select at any point. Without room (the session has not
/// consumed the previous message) the socket is not read: backpressure to the peer. Once the
/// reader is gone, messages are read and dropped so that control frames still flow.
async fn next_inbound<'a>(
    stream: &mut SplitStream<WebSocket>,
    inbound: &'a mpsc::Sender<Inbound>,
) -> (
    Option<mpsc::Permit<'a, Inbound>>,
    Option<Result<Message, axum::Error>>,
) {
    let permit = inbound.reserve().await.ok();
    (permit, stream.next().await)
}

async fn drain(stream: &mut SplitStream<WebSocket>) {
    while let Some(Ok(message)) = stream.next().await {
        if matches!(message, Message::Close(_)) {
            break;
        }
    }
}

async fn send(
    sink: &mut SplitSink<WebSocket, Message>,
    message: Message,
    timeout: Duration,
) -> io::Result<()> {
    match tokio::time::timeout(timeout, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io::Error::other(e)),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "websocket write timed out",
        )),
    }
}

/// Sends one close frame unless either side already did.
async fn send_close(
    sink: &mut SplitSink<WebSocket, Message>,
    state: &mut CloseState,
    code: u16,
    reason: &str,
    timeout: Duration,
) {
    if state.sent || state.peer_closed {
        return;
    }
    state.sent = true;
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(truncate_reason(reason)),
    };
    if let Err(e) = send(sink, Message::Close(Some(frame)), timeout).await {
        tracing::debug!(error = %e, code, "websocket close frame not sent");
    }
}

/// The close frame for a core disconnect: its code and reason, or a normal closure when the core
/// has no advice (`None`, or the internal 3000 marker which is never written to the wire).
fn close_code(disconnect: Option<&Disconnect>) -> (u16, &str) {
    match disconnect {
        Some(d) if d.code != Disconnect::CONNECTION_CLOSED.code => match u16::try_from(d.code) {
            Ok(code) => (code, d.reason.as_ref()),
            Err(_) => (1000, ""),
        },
        _ => (1000, ""),
    }
}

fn truncate_reason(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// How a read failure ends the connection.
#[derive(Debug)]
struct ReadFailure {
    /// Close frame to send, if the connection can still carry one.
    close_code: Option<u16>,
    reason: &'static str,
    /// What the session is told (`None`: the peer went away).
    read_error: Option<ReadError>,
}

fn classify(error: axum::Error) -> ReadFailure {
    use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
    let inner = error.into_inner();
    let Some(ws) = inner.downcast_ref::<WsError>() else {
        return ReadFailure {
            close_code: None,
            reason: "",
            read_error: Some(ReadError::Transport(inner.to_string())),
        };
    };
    match ws {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => ReadFailure {
            close_code: Some(1009),
            reason: "message too big",
            read_error: Some(ReadError::MessageTooBig),
        },
        WsError::Utf8(_) => ReadFailure {
            close_code: Some(1007),
            reason: "invalid utf-8",
            read_error: Some(ReadError::Transport(ws.to_string())),
        },
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake | ProtocolError::SendAfterClosing)
        | WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Io(_) => ReadFailure {
            close_code: None,
            reason: "",
            read_error: None,
        },
        WsError::Protocol(_) => ReadFailure {
            close_code: Some(1002),
            reason: "protocol error",
            read_error: Some(ReadError::Transport(ws.to_string())),
        },
        other => ReadFailure {
            close_code: None,
            reason: "",
            read_error: Some(ReadError::Transport(other.to_string())),
        },
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes() {
        assert_eq!(close_code(None), (1000, ""));
        assert_eq!(close_code(Some(&Disconnect::CONNECTION_CLOSED)), (1000, ""));
        assert_eq!(close_code(Some(&Disconnect::SHUTDOWN)), (3001, "shutdown"));
        assert_eq!(
            close_code(Some(&Disconnect::MESSAGE_TOO_BIG)),
            (1009, "message too big")
        );
        assert_eq!(close_code(Some(&Disconnect::custom(4500, "bye"))), (4500, "bye"));
        assert_eq!(close_code(Some(&Disconnect::custom(70_000, "?"))), (1000, ""));
    }

    #[test]
    fn reasons_fit_a_control_frame() {
        let long = "é".repeat(100);
        let cut = truncate_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON && long.starts_with(cut));
        assert_eq!(truncate_reason("short"), "short");
    }

    #[test]
    fn read_failures() {
        use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
        let too_long = classify(axum::Error::new(WsError::Capacity(
            CapacityError::MessageTooLong {
                size: 10,
                max_size: 5,
            },
        )));
        assert_eq!(too_long.close_code, Some(1009));
        assert!(matches!(too_long.read_error, Some(ReadError::MessageTooBig)));
        let unmasked = classify(axum::Error::new(WsError::Protocol(
            ProtocolError::UnmaskedFrameFromClient,
        )));
        assert_eq!(unmasked.close_code, Some(1002));
        let reset = classify(axum::Error::new(WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake,
        )));
        assert_eq!((reset.close_code, reset.read_error.is_none()), (None, true));
        let other = classify(axum::Error::new(io::Error::other("x")));
        assert!(matches!(other.read_error, Some(ReadError::Transport(_))));
    }
}
