//! One client connection: its shared state ([`ClientRef`], what the hub stores) and the session
//! that processes commands. Split by command: connect, subscribe, publish, presence, history,
//! refresh, rpc; timers and teardown have their own files.

mod close;
mod connect;
mod deliver;
pub(crate) mod delta;
mod direct;
mod dispatch;
mod history;
mod join;
mod position;
mod presence;
mod publish;
mod recovery;
mod refresh;
mod rpc;
pub(crate) mod session;
pub(crate) mod state;
mod subscribe;
mod timers;
mod unsubscribe;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{oneshot, Notify};

use crate::disconnect::{Disconnect, Unsubscribe};
use crate::error::Error;
use crate::options::SubscribeOptions;
use crate::outbox::{Outbox, PushError, WriterCmd};
use crate::transport::TransportInfo;
use gyre_protocol::json::{self, DataMode};
use gyre_protocol::{codec, EncodeError, ProtocolType, Push, Reply};

pub(crate) use deliver::Delivery;
use state::ClientState;

/// A cheap handle to a live connection, as seen by handlers and the hub.
#[derive(Clone)]
pub struct ClientRef {
    pub(crate) inner: Arc<ClientShared>,
}

impl ClientRef {
    /// Server-generated client id (UUID v4).
    pub fn id(&self) -> &str {
        &self.inner.id
    }
    /// Session id (emulation/unidirectional transports), empty otherwise.
    pub fn session(&self) -> &str {
        &self.inner.session
    }
    /// Authenticated user id; empty when anonymous or before connect.
    pub fn user(&self) -> String {
        self.inner.state.lock().user.clone()
    }
    /// Connection info (`conn_info`).
    pub fn info(&self) -> Bytes {
        self.inner.state.lock().info.clone()
    }
    /// Connection meta (JSON object) if any.
    pub fn meta(&self) -> Option<Bytes> {
        self.inner.state.lock().meta.clone()
    }
    pub fn transport(&self) -> &TransportInfo {
        &self.inner.transport
    }
    /// Whether the client is subscribed (subscription established) to `channel`.
    pub fn is_subscribed(&self, channel: &str) -> bool {
        self.inner
            .state
            .lock()
            .channels
            .get(channel)
            .is_some_and(|c| c.is_live())
    }
    /// Channels the client is subscribed to.
    pub fn channels(&self) -> Vec<String> {
        self.inner
            .state
            .lock()
            .channels
            .iter()
            .filter(|(_, c)| c.is_live())
            .map(|(ch, _)| ch.clone())
            .collect()
    }
    /// Established subscriptions with where each came from.
    pub fn channel_sources(&self) -> Vec<(String, crate::options::SubscriptionSource)> {
        self.inner
            .state
            .lock()
            .channels
            .iter()
            .filter(|(_, c)| c.is_live())
            .map(|(ch, c)| (ch.clone(), c.source))
            .collect()
    }
    /// Closes the connection with `disconnect` (asynchronously: the session tears down on its own
    /// task). The first close request wins.
    pub fn disconnect(&self, disconnect: Disconnect) {
        self.inner.request_close(disconnect);
    }
    /// Sends `publication` to this client's subscription to `channel` alone, outside the hub and
    /// the broker (no history, no offset): a subscription turned into an individual stream, such
    /// as a subscribe stream proxy's. Allowed from the moment the handler is asked to accept the
    /// subscription: publications written before the subscribe reply is queued are held and
    /// follow it. `false` when there is no such subscription (any more) or the connection is
    /// closing.
    pub fn write_publication(&self, channel: &str, publication: gyre_protocol::Publication) -> bool {
        self.inner.write_publication(channel, publication)
    }
    /// Ends this client's subscription to `channel` with an `unsubscribe` push, as the server API
    /// does (asynchronously, in order with the session's other work).
    pub fn unsubscribe(&self, channel: &str, unsubscribe: Unsubscribe) {
        self.send_unsubscribe(channel, None, unsubscribe);
    }
    /// Like [`ClientRef::unsubscribe`], but only if the subscription is still the one the handler
    /// accepted with this `SubscribeReply::tag`: not a newer subscription to the same channel.
    pub fn unsubscribe_tagged(&self, channel: &str, tag: u64, unsubscribe: Unsubscribe) {
        self.send_unsubscribe(channel, Some(tag), unsubscribe);
    }
    fn send_unsubscribe(&self, channel: &str, tag: Option<u64>, unsubscribe: Unsubscribe) {
        let (done, _) = oneshot::channel();
        self.inner.send_op(SessionOp::Unsubscribe {
            channel: channel.to_string(),
            tag,
            unsubscribe,
            done,
        });
    }
}

impl std::fmt::Debug for ClientRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRef")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

/// Requests other tasks make of a session; handled in order with the client's commands so that
/// they never race a subscribe or unsubscribe of the same connection.
pub(crate) enum SessionOp {
    /// Server API subscribe.
    Subscribe {
        channel: String,
        options: SubscribeOptions,
        done: oneshot::Sender<Result<(), Error>>,
    },
    /// Server API unsubscribe; an empty channel means every channel.
    Unsubscribe {
        channel: String,
        /// Only the subscription with this tag (see `ClientRef::unsubscribe_tagged`).
        tag: Option<u64>,
        unsubscribe: Unsubscribe,
        done: oneshot::Sender<()>,
    },
    /// Server API refresh.
    Refresh {
        expired: bool,
        expire_at: i64,
        info: Option<Bytes>,
        done: oneshot::Sender<()>,
    },
    /// The hub saw a gap on a client-side positioned subscription.
    InsufficientState { channel: String, gen: u64 },
}

/// How a publication's payload travels in one encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadForm {
    /// The payload as published: embedded JSON, or raw bytes in protobuf.
    Plain,
    /// The whole payload on a subscription that negotiated delta compression (`delta: false`). In
    /// JSON the data is a JSON string holding the raw bytes, since the client's delta decoder
    /// works on bytes (protocol.md §8); in protobuf it is the same as `Plain`.
    Full,
    /// A fossil patch against the previous publication (`delta: true`), a JSON string in JSON.
    Patch,
}

/// Everything that decides how a push is encoded for one receiver: protocol, direction and, for
/// publications, the payload form. The hub encodes each broadcast at most once per key in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PreparedKey {
    pub(crate) protocol: ProtocolType,
    pub(crate) unidirectional: bool,
    pub(crate) form: PayloadForm,
}

impl PreparedKey {
    /// How many distinct keys exist (some share a slot, see [`PreparedKey::index`]).
    pub(crate) const FLAVOURS: usize = 12;

    /// This key with another payload form.
    pub(crate) fn with_form(self, form: PayloadForm) -> PreparedKey {
        PreparedKey { form, ..self }
    }

    /// A dense index in `0..FLAVOURS`. A full payload encodes in protobuf exactly as a plain one,
    /// so both share a slot and delta and non-delta protobuf subscribers share one encoding.
    pub(crate) fn index(self) -> usize {
        let base = match self.protocol {
            ProtocolType::Json => 0,
            ProtocolType::Protobuf => 2,
        } + usize::from(self.unidirectional);
        let form = match (self.form, self.protocol) {
            (PayloadForm::Plain, _) | (PayloadForm::Full, ProtocolType::Protobuf) => 0,
            (PayloadForm::Full, ProtocolType::Json) => 1,
            (PayloadForm::Patch, _) => 2,
        };
        form * 4 + base
    }

    /// How publication data is written in JSON.
    fn data_mode(self) -> DataMode {
        match self.form {
            PayloadForm::Plain => DataMode::Raw,
            PayloadForm::Full | PayloadForm::Patch => DataMode::String,
        }
    }
}

/// Encodes a push the way this kind of client receives it: bare on unidirectional transports,
/// wrapped in a `Reply` otherwise.
pub(crate) fn encode_push_for(key: PreparedKey, push: Push) -> Result<Bytes, EncodeError> {
    match (key.protocol, key.unidirectional) {
        (ProtocolType::Json, true) => json::encode_push_with(&push, key.data_mode()),
        (ProtocolType::Json, false) => {
            let reply = Reply {
                push: Some(push),
                ..Default::default()
            };
            json::encode_reply_with(&reply, key.data_mode())
        }
        (protocol, true) => codec::encode_push(protocol, &push),
        (protocol, false) => {
            let reply = Reply {
                push: Some(push),
                ..Default::default()
            };
            codec::encode_reply(protocol, &reply)
        }
    }
}

/// What the hub and the session share about one connection.
pub(crate) struct ClientShared {
    pub(crate) id: Arc<str>,
    pub(crate) session: String,
    pub(crate) transport: TransportInfo,
    pub(crate) key: PreparedKey,
    /// Byte limit of the outbox, reused as the limit of a pending subscription's buffer.
    max_queue: usize,
    pub(crate) outbox: Outbox,
    pub(crate) state: Mutex<ClientState>,
    close: Mutex<Option<Disconnect>>,
    /// Wakes the session for a close request or a queued op.
    pub(crate) wake: Notify,
    /// Requests from other tasks, handled by the session in order. `None` once the session has
    /// ended. A plain deque rather than a channel: idle connections then hold no allocation.
    ops: Mutex<Option<VecDeque<SessionOp>>>,
    /// Set (and `finished_notify` fired) when the connection's teardown is complete. Not a
    /// `CancellationToken`: that is a separate allocation per connection.
    finished: std::sync::atomic::AtomicBool,
    finished_notify: Notify,
}

impl ClientShared {
    pub(crate) fn new(mut transport: TransportInfo, max_queue: usize) -> Arc<ClientShared> {
        // Moved out, not copied: the session id is kept once per connection.
        let session = if !transport.session.is_empty() {
            std::mem::take(&mut transport.session)
        } else if transport.unidirectional || transport.emulation {
            uuid::Uuid::new_v4().to_string()
        } else {
            String::new()
        };
        let key = PreparedKey {
            protocol: transport.protocol,
            unidirectional: transport.unidirectional,
            form: PayloadForm::Plain,
        };
        Arc::new(ClientShared {
            id: Arc::from(uuid::Uuid::new_v4().to_string()),
            session,
            transport,
            key,
            max_queue,
            outbox: Outbox::new(max_queue),
            state: Mutex::new(ClientState::new()),
            close: Mutex::new(None),
            wake: Notify::new(),
            ops: Mutex::new(Some(VecDeque::new())),
            finished: std::sync::atomic::AtomicBool::new(false),
            finished_notify: Notify::new(),
        })
    }

    pub(crate) fn client_ref(self: &Arc<Self>) -> ClientRef {
        ClientRef { inner: self.clone() }
    }

    /// Queues an encoded message. Overflow closes the connection with 3008; a closing connection
    /// silently refuses (its teardown is already under way).
    pub(crate) fn push(&self, data: Bytes, kind: &'static str) -> bool {
        match self.outbox.push(crate::outbox::OutMsg { data, kind }) {
            Ok(()) => true,
            Err(PushError::Closed) => false,
            Err(PushError::Overflow) => {
                self.request_close(Disconnect::SLOW);
                false
            }
        }
    }

    /// Encodes and queues a push addressed to this client alone.
    pub(crate) fn send_push(&self, push: Push, kind: &'static str) -> bool {
        match encode_push_for(self.key, push) {
            Ok(data) => self.push(data, kind),
            Err(EncodeError::InvalidJson) => {
                self.request_close(Disconnect::INAPPROPRIATE_PROTOCOL);
                false
            }
        }
    }

    /// Asks the session to close the connection. The first request wins. A slow consumer is cut off
    /// at once: the writer stops without flushing the backlog that made it slow.
    pub(crate) fn request_close(&self, disconnect: Disconnect) {
        {
            let mut close = self.close.lock();
            if close.is_some() {
                return;
            }
            *close = Some(disconnect.clone());
        }
        if disconnect.code == Disconnect::SLOW.code {
            self.stop_writer(Some(disconnect), false);
        }
        // `notify_one` keeps a permit when the session is busy, so the request is never missed.
        self.wake.notify_one();
    }

    pub(crate) fn close_requested(&self) -> Option<Disconnect> {
        self.close.lock().clone()
    }

    /// Tells the writer how to end (which also refuses every later push). Transports without
    /// close frames get a `disconnect` push first.
    pub(crate) fn stop_writer(&self, disconnect: Option<Disconnect>, flush: bool) {
        let final_message = match &disconnect {
            Some(d) if self.transport.disconnect_push => {
                let push = Push {
                    disconnect: Some(d.to_proto()),
                    ..Default::default()
                };
                encode_push_for(self.key, push).ok()
            }
            _ => None,
        };
        self.outbox.stop(WriterCmd {
            disconnect,
            flush,
            final_message,
        });
    }

    /// The connection's teardown is complete.
    pub(crate) fn mark_finished(&self) {
        self.finished.store(true, std::sync::atomic::Ordering::Release);
        self.finished_notify.notify_waiters();
    }

    /// Waits until [`ClientShared::mark_finished`] was called.
    pub(crate) async fn wait_finished(&self) {
        loop {
            let notified = self.finished_notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a finish in between still wakes us.
            notified.as_mut().enable();
            if self.finished.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// Queues an op for the session; `false` (and the op dropped) when the session has ended.
    pub(crate) fn send_op(&self, op: SessionOp) -> bool {
        {
            let mut ops = self.ops.lock();
            let Some(queue) = ops.as_mut() else {
                return false;
            };
            queue.push_back(op);
        }
        self.wake.notify_one();
        true
    }

    /// The next queued op, for the session.
    pub(crate) fn next_op(&self) -> Option<SessionOp> {
        let mut ops = self.ops.lock();
        let queue = ops.as_mut()?;
        let op = queue.pop_front();
        if queue.is_empty() && queue.capacity() > 0 {
            *queue = VecDeque::new();
        }
        op
    }

    /// Refuses later ops and drops queued ones (their callers see the completion sender dropped).
    pub(crate) fn close_ops(&self) {
        let dropped = self.ops.lock().take();
        drop(dropped);
    }

    /// Whether this client receives join/leave pushes of `channel`.
    pub(crate) fn wants_join_leave(&self, channel: &str) -> bool {
        let state = self.state.lock();
        state
            .channels
            .get(channel)
            .is_some_and(|c| c.is_live() && c.push_join_leave)
    }

    /// A join or leave push, delivered only to subscribers that asked for them.
    pub(crate) fn deliver_join_leave(&self, channel: &str, data: &Bytes, kind: &'static str) {
        if self.wants_join_leave(channel) {
            self.push(data.clone(), kind);
        }
    }

    /// Client-side subscriptions are told to resubscribe (2500); a server-side subscription cannot
    /// be, so the connection is closed with 3010 and the client reconnects.
    pub(crate) fn insufficient_state(&self, channel: &str, gen: u64, server_side: bool) {
        if server_side {
            self.request_close(Disconnect::INSUFFICIENT_STATE);
        } else {
            self.send_op(SessionOp::InsufficientState {
                channel: channel.to_string(),
                gen,
            });
        }
    }
}
