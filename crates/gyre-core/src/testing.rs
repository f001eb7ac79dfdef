//! Test utilities (feature `test-util`): an in-memory transport that drives a real session without
//! sockets, a permissive [`ClientHandler`], and helpers for building values handlers receive.
//!
//! ```ignore
//! let node = Node::new(NodeConfig::default(), Arc::new(TestHandler::default()));
//! let mut conn = testing::connect(&node, testing::transport_info(ProtocolType::Json));
//! conn.send_json(r#"{"id":1,"connect":{"token":"alice"}}"#);
//! let reply = conn.recv_json().await.unwrap();
//! assert_eq!(reply["id"], 1);
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::client::{ClientRef, ClientShared};
use crate::disconnect::Disconnect;
use crate::handler::*;
use crate::node::Node;
use crate::options::{PublishOptions, SubscribeOptions};
use crate::transport::{ProtocolType, ReadError, TransportInfo, TransportReader, TransportWriter};

/// A bidirectional WebSocket-like transport description with application-level pings.
pub fn transport_info(protocol: ProtocolType) -> TransportInfo {
    TransportInfo {
        name: "websocket",
        protocol,
        unidirectional: false,
        emulation: false,
        disconnect_push: false,
        app_level_ping: true,
        headers: HashMap::new(),
        max_message_size: 65536,
        write_timeout: Duration::from_secs(1),
        session: String::new(),
        raw_connect_errors: false,
    }
}

/// How the fake socket's write side behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Writes complete at once.
    Normal,
    /// Writes never complete (a peer that stopped reading): exercises write timeouts and 3008.
    Stalled,
    /// Writes fail with an I/O error.
    Failing,
}

struct TestReader {
    rx: mpsc::UnboundedReceiver<Result<Bytes, ReadError>>,
}

#[async_trait]
impl TransportReader for TestReader {
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
        self.rx.recv().await
    }
}

struct TestWriter {
    out: mpsc::UnboundedSender<Bytes>,
    mode: watch::Receiver<WriteMode>,
    closed: watch::Sender<Option<Option<Disconnect>>>,
    batches: Arc<Mutex<Vec<usize>>>,
}

#[async_trait]
impl TransportWriter for TestWriter {
    async fn write_batch(&mut self, messages: &[Bytes]) -> Result<(), std::io::Error> {
        loop {
            let mode = *self.mode.borrow_and_update();
            match mode {
                WriteMode::Normal => break,
                WriteMode::Failing => return Err(std::io::Error::other("test write failure")),
                WriteMode::Stalled => {
                    if self.mode.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
        self.batches.lock().push(messages.len());
        for m in messages {
            let _ = self.out.send(m.clone());
        }
        Ok(())
    }

    async fn close(&mut self, disconnect: Option<Disconnect>) {
        self.closed.send_replace(Some(disconnect));
    }
}

/// The client side of an in-memory connection served by [`Node::serve_connection`].
pub struct TestConn {
    protocol: ProtocolType,
    input: Option<mpsc::UnboundedSender<Result<Bytes, ReadError>>>,
    output: mpsc::UnboundedReceiver<Bytes>,
    mode: watch::Sender<WriteMode>,
    closed: watch::Receiver<Option<Option<Disconnect>>>,
    batches: Arc<Mutex<Vec<usize>>>,
    task: Option<JoinHandle<()>>,
}

/// Starts serving an in-memory connection on `node` (spawned on the current runtime).
pub fn connect(node: &Node, transport: TransportInfo) -> TestConn {
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (mode_tx, mode_rx) = watch::channel(WriteMode::Normal);
    let (closed_tx, closed_rx) = watch::channel(None);
    let batches = Arc::new(Mutex::new(Vec::new()));
    let protocol = transport.protocol;
    let reader = TestReader { rx: in_rx };
    let writer = TestWriter {
        out: out_tx,
        mode: mode_rx,
        closed: closed_tx,
        batches: batches.clone(),
    };
    let node = node.clone();
    let task = tokio::spawn(async move { node.serve_connection(transport, reader, writer).await });
    TestConn {
        protocol,
        input: Some(in_tx),
        output: out_rx,
        mode: mode_tx,
        closed: closed_rx,
        batches,
        task: Some(task),
    }
}

impl TestConn {
    /// Sends one transport frame as is.
    pub fn send_frame(&self, frame: impl Into<Bytes>) {
        if let Some(input) = &self.input {
            let _ = input.send(Ok(frame.into()));
        }
    }

    /// Sends one JSON frame (possibly several `\n`-separated commands).
    pub fn send_json(&self, frame: &str) {
        self.send_frame(Bytes::copy_from_slice(frame.as_bytes()));
    }

    /// Sends commands as one frame in this connection's protocol. JSON commands are written with
    /// `data` fields as embedded JSON, which requires them to hold valid JSON.
    pub fn send_commands(&self, commands: &[gyre_protocol::Command]) {
        self.send_frame(encode_commands(self.protocol, commands));
    }

    /// Makes the next read fail as an oversized message would.
    pub fn send_too_big(&self) {
        if let Some(input) = &self.input {
            let _ = input.send(Err(ReadError::MessageTooBig));
        }
    }

    /// The client goes away (the server's reader sees the end of the stream).
    pub fn close(&mut self) {
        self.input = None;
    }

    /// Changes how the server's writes behave from now on.
    pub fn set_write_mode(&self, mode: WriteMode) {
        self.mode.send_replace(mode);
    }

    /// The next message the server wrote (one reply or push, unframed); `None` once the server
    /// closed the connection and everything written was read.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.output.recv().await
    }

    /// A message already written, without waiting.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.output.try_recv().ok()
    }

    /// The next message parsed as JSON (JSON connections).
    pub async fn recv_json(&mut self) -> Option<serde_json::Value> {
        let msg = self.recv().await?;
        Some(serde_json::from_slice(&msg).expect("server wrote invalid JSON"))
    }

    /// The next message decoded as a protobuf `Reply` (bidirectional protobuf connections).
    pub async fn recv_reply(&mut self) -> Option<gyre_protocol::Reply> {
        let msg = self.recv().await?;
        Some(prost::Message::decode(msg).expect("server wrote an invalid Reply"))
    }

    /// Waits until the server closed the transport; returns the disconnect it closed with (`None`
    /// for a close without code, i.e. 3000 "connection closed").
    pub async fn closed(&mut self) -> Option<Disconnect> {
        loop {
            if let Some(d) = self.closed.borrow_and_update().clone() {
                return d;
            }
            if self.closed.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Whether the server closed the transport, and with what.
    pub fn try_closed(&self) -> Option<Option<Disconnect>> {
        self.closed.borrow().clone()
    }

    /// Waits until `serve_connection` returned (teardown complete).
    pub async fn finished(&mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Sizes of the batches the server wrote so far.
    pub fn batch_sizes(&self) -> Vec<usize> {
        self.batches.lock().clone()
    }
}

/// Encodes commands as one client frame: JSON lines, or varint-delimited protobuf.
pub fn encode_commands(protocol: ProtocolType, commands: &[gyre_protocol::Command]) -> Bytes {
    match protocol {
        ProtocolType::Json => {
            let lines: Vec<String> = commands.iter().map(command_to_json).collect();
            Bytes::from(lines.join("\n"))
        }
        ProtocolType::Protobuf => {
            let mut out = BytesMut::new();
            for c in commands {
                prost::Message::encode_length_delimited(c, &mut out).expect("encoding into BytesMut");
            }
            out.freeze()
        }
    }
}

/// A JSON rendering of a command good enough for tests: covers connect, subscribe (with `delta`
/// and `tf`), unsubscribe,
/// publish, presence, presence_stats, history, rpc, refresh and sub_refresh.
fn command_to_json(c: &gyre_protocol::Command) -> String {
    use serde_json::{json, Map, Value};
    fn raw(b: &Bytes) -> Value {
        if b.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(b).expect("command data must be JSON for JSON connections")
        }
    }
    let mut m = Map::new();
    if c.id > 0 {
        m.insert("id".into(), json!(c.id));
    }
    if let Some(r) = &c.connect {
        m.insert(
            "connect".into(),
            json!({"token": r.token, "name": r.name, "data": raw(&r.data)}),
        );
    }
    if let Some(r) = &c.subscribe {
        let mut s = json!({"channel": r.channel, "token": r.token, "recover": r.recover,
            "offset": r.offset, "epoch": r.epoch, "positioned": r.positioned,
            "recoverable": r.recoverable, "join_leave": r.join_leave, "flag": r.flag});
        if !r.delta.is_empty() {
            s["delta"] = json!(r.delta);
        }
        if let Some(tf) = &r.tf {
            s["tf"] = filter_to_json(tf);
        }
        m.insert("subscribe".into(), s);
    }
    if let Some(r) = &c.unsubscribe {
        m.insert("unsubscribe".into(), json!({"channel": r.channel}));
    }
    if let Some(r) = &c.publish {
        m.insert(
            "publish".into(),
            json!({"channel": r.channel, "data": raw(&r.data)}),
        );
    }
    if let Some(r) = &c.presence {
        m.insert("presence".into(), json!({"channel": r.channel}));
    }
    if let Some(r) = &c.presence_stats {
        m.insert("presence_stats".into(), json!({"channel": r.channel}));
    }
    if let Some(r) = &c.history {
        let mut h = json!({"channel": r.channel, "limit": r.limit, "reverse": r.reverse});
        if let Some(s) = &r.since {
            h["since"] = json!({"offset": s.offset, "epoch": s.epoch});
        }
        m.insert("history".into(), h);
    }
    if let Some(r) = &c.rpc {
        m.insert("rpc".into(), json!({"method": r.method, "data": raw(&r.data)}));
    }
    if let Some(r) = &c.refresh {
        m.insert("refresh".into(), json!({"token": r.token}));
    }
    if let Some(r) = &c.sub_refresh {
        m.insert(
            "sub_refresh".into(),
            json!({"channel": r.channel, "token": r.token}),
        );
    }
    Value::Object(m).to_string()
}

fn filter_to_json(node: &gyre_protocol::FilterNode) -> serde_json::Value {
    serde_json::json!({
        "op": node.op,
        "key": node.key,
        "cmp": node.cmp,
        "val": node.val,
        "vals": node.vals,
        "nodes": node.nodes.iter().map(filter_to_json).collect::<Vec<_>>(),
    })
}

/// A [`ClientRef`] not attached to any node, for unit tests of handlers. It has the given
/// transport, user and connection info and no subscriptions; pushes to it go nowhere.
pub fn client_ref(transport: TransportInfo, user: &str, info: Bytes) -> ClientRef {
    let shared = ClientShared::new(transport, 0);
    {
        let mut state = shared.state.lock();
        state.user = user.to_string();
        state.info = info;
    }
    shared.client_ref()
}

/// Unix seconds as the core sees them (they follow paused tokio time in tests): use this to build
/// expiry times.
pub fn unix_secs() -> i64 {
    crate::clock::unix_secs()
}

/// A permissive handler: the connect token is the user id (`expire_at`, `info` and server-side
/// subscriptions come from the fields below), every channel may be subscribed with
/// `subscribe_options`, published to with `publish_options`, and presence/history read; `rpc`
/// echoes its data.
#[derive(Debug, Clone, Default)]
pub struct TestHandler {
    pub expire_at: i64,
    pub client_side_refresh: bool,
    pub conn_info: Bytes,
    pub subscriptions: HashMap<String, SubscribeOptions>,
    pub subscribe_options: SubscribeOptions,
    pub subscribe_client_side_refresh: bool,
    pub publish_options: PublishOptions,
    /// Expiry returned by `on_refresh` and `on_sub_refresh`.
    pub refresh_expire_at: i64,
}

#[async_trait]
impl ClientHandler for TestHandler {
    async fn on_connecting(&self, event: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        Ok(ConnectingReply {
            credentials: Credentials {
                user: event.token,
                expire_at: self.expire_at,
                info: self.conn_info.clone(),
            },
            subscriptions: self.subscriptions.clone(),
            client_side_refresh: self.client_side_refresh,
            ..Default::default()
        })
    }

    async fn on_refresh(
        &self,
        _client: &ClientRef,
        _event: RefreshEvent,
    ) -> Result<RefreshReply, HandlerError> {
        Ok(RefreshReply {
            expire_at: self.refresh_expire_at,
            ..Default::default()
        })
    }

    async fn on_subscribe(
        &self,
        _client: &ClientRef,
        _event: SubscribeEvent,
    ) -> Result<SubscribeReply, HandlerError> {
        Ok(SubscribeReply {
            options: self.subscribe_options.clone(),
            client_side_refresh: self.subscribe_client_side_refresh,
            tag: 0,
        })
    }

    /// The token `expired` stands for an expired subscription token.
    async fn on_sub_refresh(
        &self,
        _client: &ClientRef,
        event: SubRefreshEvent,
    ) -> Result<SubRefreshReply, HandlerError> {
        Ok(SubRefreshReply {
            expired: event.token == "expired",
            expire_at: self.refresh_expire_at,
            ..Default::default()
        })
    }

    async fn on_publish(
        &self,
        _client: &ClientRef,
        _event: PublishEvent,
    ) -> Result<PublishReply, HandlerError> {
        Ok(PublishReply {
            options: self.publish_options.clone(),
            ..Default::default()
        })
    }

    async fn on_rpc(&self, _client: &ClientRef, event: RpcEvent) -> Result<RpcReply, HandlerError> {
        Ok(RpcReply { data: event.data })
    }

    async fn on_presence(&self, _client: &ClientRef, _channel: &str) -> Result<(), HandlerError> {
        Ok(())
    }

    async fn on_presence_stats(&self, _client: &ClientRef, _channel: &str) -> Result<(), HandlerError> {
        Ok(())
    }

    async fn on_history(&self, _client: &ClientRef, _event: &HistoryEvent) -> Result<(), HandlerError> {
        Ok(())
    }
}
