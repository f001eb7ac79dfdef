//! What every subscriber connection shares regardless of server kind: the WebSocket dial with
//! small buffers (10k connections must stay cheap), and the per-connection delivery state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::inflate_stream::{self, BenchStream};

use crate::payload;
use crate::seq::SeqChecker;
use crate::stats::{DeliveryRecorder, SampleBatch};

pub(crate) type Ws = WebSocketStream<BenchStream>;

/// Opens a WebSocket connection to `url` (plain `ws://` only). `read_buffer` bounds one socket
/// read: tungstenite zero-fills that much before every read (including the one that finds the
/// socket empty), so it is sized to the expected frames rather than to its 128 KiB default.
/// `compression` offers permessage-deflate and inflates what the server compresses.
pub(crate) async fn dial(url: &str, read_buffer: usize, compression: bool) -> anyhow::Result<Ws> {
    let host_port = url
        .strip_prefix("ws://")
        .context("only ws:// URLs are supported")?
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let tcp = TcpStream::connect(host_port)
        .await
        .with_context(|| format!("TCP connect to {host_port}"))?;
    tcp.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0);
    let mut request = url.into_client_request()?;
    if compression {
        request.headers_mut().insert(
            "sec-websocket-extensions",
            HeaderValue::from_static(inflate_stream::OFFER),
        );
    }
    let stream = BenchStream::new(tcp, compression);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .context("WebSocket handshake")?;
    Ok(ws)
}

/// A close frame as `code 3500 "invalid token"` (or `no close frame`).
pub(crate) fn close_text(frame: &Option<CloseFrame>) -> String {
    match frame {
        Some(f) => format!("code {} {:?}", u16::from(f.code), f.reason.as_str()),
        None => "no close frame".to_owned(),
    }
}

/// Counters shared by all subscribers.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) recorder: Arc<Mutex<DeliveryRecorder>>,
    /// Distinct publications delivered so far, over all connections (for the drain wait).
    pub(crate) delivered: AtomicU64,
}

/// One connection's view of its channel.
#[derive(Debug)]
pub(crate) struct SubState {
    pub(crate) channel: usize,
    pub(crate) checker: SeqChecker,
    batch: SampleBatch,
    shared: Arc<Shared>,
    /// Deliveries since the last flush into `shared.delivered`.
    unflushed: u64,
    pub(crate) pings: u64,
    pub(crate) unparsed: u64,
}

impl SubState {
    pub(crate) fn new(channel: usize, shared: Arc<Shared>) -> SubState {
        SubState {
            channel,
            checker: SeqChecker::default(),
            batch: SampleBatch::new(shared.recorder.clone()),
            shared,
            unflushed: 0,
            pings: 0,
            unparsed: 0,
        }
    }

    /// A publication's data (or a message containing it) arrived at `now_ns`.
    pub(crate) fn on_publication(&mut self, data: &[u8], now_ns: u64) {
        match payload::parse(data) {
            Some((seq, sent_ns)) => {
                if self.checker.observe(seq).is_new() {
                    self.unflushed += 1;
                }
                self.batch.push(sent_ns, now_ns);
            }
            None => self.unparsed += 1,
        }
    }

    /// Publishes the delivery count; called once per received frame, not per message.
    pub(crate) fn end_frame(&mut self) {
        if self.unflushed > 0 {
            self.shared.delivered.fetch_add(self.unflushed, Ordering::Relaxed);
            self.unflushed = 0;
        }
    }

    /// Hands pending latency samples to the recorder.
    pub(crate) fn finish(&mut self) {
        self.end_frame();
        self.batch.flush();
    }
}

/// What a subscriber connection ended with.
#[derive(Debug)]
pub(crate) struct SubOutcome {
    pub(crate) channel: usize,
    pub(crate) checker: SeqChecker,
    pub(crate) pings: u64,
    pub(crate) unparsed: u64,
    /// Why the connection ended before it was told to stop.
    pub(crate) error: Option<String>,
}

impl SubState {
    pub(crate) fn into_outcome(mut self, error: Option<String>) -> SubOutcome {
        self.finish();
        SubOutcome {
            channel: self.channel,
            checker: std::mem::take(&mut self.checker),
            pings: self.pings,
            unparsed: self.unparsed,
            error,
        }
    }
}

/// The next message, or `None` once `stop` changes; `Err` says why the connection ended early.
pub(crate) async fn next_or_stop(
    ws: &mut Ws,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Option<tokio_tungstenite::tungstenite::Message>, String> {
    use futures_util::StreamExt as _;
    let msg = tokio::select! {
        biased;
        _ = stop.changed() => return Ok(None),
        msg = ws.next() => msg,
    };
    match msg {
        None => Err("connection closed".into()),
        Some(Err(e)) => Err(format!("read error: {e}")),
        Some(Ok(msg)) => Ok(Some(msg)),
    }
}
