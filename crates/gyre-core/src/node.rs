//! The node: owns the hub, the broker and presence manager, and the client handler; runs
//! connections; serves the operations of the server API.

mod events;
pub(crate) mod inner;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, Semaphore};

use crate::broker::{Broker, HistoryResult, PublishResult};
use crate::client::SessionOp;
use crate::disconnect::{Disconnect, Unsubscribe};
use crate::error::Error;
use crate::handler::ClientHandler;
use crate::memory::{MemoryBroker, MemoryBrokerConfig, MemoryPresenceManager};
use crate::observer::Observer;
use crate::options::{HistoryOptions, PublishOptions, SubscribeOptions, Target};
use crate::presence::{PresenceManager, PresenceStats};
use crate::transport::{TransportInfo, TransportReader, TransportWriter};
use gyre_protocol::ClientInfo;
use inner::{broker_error, NodeInner};

/// Node-wide settings (Centrifugo's `client.*` section, already converted).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Shown in `info` and logs.
    pub name: String,
    /// Sent as `version` in connect/refresh results.
    pub version: String,
    /// `client.ping_interval`; `None` disables pings.
    pub ping_interval: Option<Duration>,
    /// `client.pong_timeout`; `None` = pongs not required.
    pub pong_timeout: Option<Duration>,
    pub stale_close_delay: Duration,
    pub expired_close_delay: Duration,
    pub expired_sub_close_delay: Duration,
    /// Byte limit of a connection's outbox (3008 when exceeded).
    pub client_queue_max_size: usize,
    /// `client.channel_limit`: 106 on subscribe, 3505 at connect.
    pub client_channel_limit: usize,
    /// `client.user_connection_limit` (0 = off): 3504.
    pub user_connection_limit: usize,
    pub presence_update_interval: Duration,
    pub history_max_publication_limit: usize,
    pub recovery_max_publication_limit: usize,
    pub channel_position_check_delay: Duration,
    pub channel_position_max_time_lag: Option<Duration>,
    pub connect_include_server_time: bool,
    /// At most this many queued messages go out in one transport write (64). Only a backlog
    /// fills a frame (a lone message is written at once), so the cap trades nothing at low rates;
    /// under saturation 64 per write delivered 30% more than 16 on the fan-out benchmark.
    pub max_messages_in_frame: usize,
    /// How many connections close at once on shutdown (128).
    pub shutdown_close_concurrency: usize,
    /// `client.connect_code_to_unidirectional_disconnect`: connect error code → the disconnect
    /// a unidirectional client gets instead (checked before the built-in mapping).
    pub unidirectional_code_to_disconnect: Vec<(u32, Disconnect)>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            name: "gyre".into(),
            version: String::new(),
            ping_interval: Some(Duration::from_secs(25)),
            pong_timeout: Some(Duration::from_secs(8)),
            stale_close_delay: Duration::from_secs(10),
            expired_close_delay: Duration::from_secs(25),
            expired_sub_close_delay: Duration::from_secs(25),
            client_queue_max_size: 1_048_576,
            client_channel_limit: 128,
            user_connection_limit: 0,
            presence_update_interval: Duration::from_secs(27),
            history_max_publication_limit: 300,
            recovery_max_publication_limit: 300,
            channel_position_check_delay: Duration::from_secs(40),
            channel_position_max_time_lag: None,
            connect_include_server_time: false,
            max_messages_in_frame: 64,
            shutdown_close_concurrency: 128,
            unidirectional_code_to_disconnect: Vec::new(),
        }
    }
}

/// Node facts for the `info` API.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub uid: String,
    pub name: String,
    pub version: String,
    pub num_clients: u32,
    pub num_users: u32,
    pub num_subs: u32,
    pub num_channels: u32,
    pub uptime_seconds: u32,
}

/// Cheap cloneable handle to a node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

impl Node {
    /// A node on the memory broker and presence manager.
    ///
    /// Must be called inside a tokio runtime: the memory broker spawns its sweep task on it.
    pub fn new(config: NodeConfig, handler: Arc<dyn ClientHandler>) -> Node {
        let broker = Arc::new(MemoryBroker::new(MemoryBrokerConfig::default()));
        let presence = Arc::new(MemoryPresenceManager::new());
        Node::with_engines(config, handler, broker, presence)
    }

    /// A node on the given broker and presence manager. Registers the node as the broker's event
    /// handler. Connections are served on whatever runtime calls [`Node::serve_connection`]; each
    /// connection spawns its writer task on the current runtime.
    pub fn with_engines(
        config: NodeConfig,
        handler: Arc<dyn ClientHandler>,
        broker: Arc<dyn Broker>,
        presence: Arc<dyn PresenceManager>,
    ) -> Node {
        let inner = NodeInner::new(config, handler, broker, presence);
        inner
            .broker
            .register_event_handler(Arc::new(events::NodeEvents::new(&inner)));
        Node { inner }
    }

    /// The observer metrics and hooks are reported to.
    pub fn observer(&self) -> Arc<dyn Observer> {
        self.inner.observer()
    }

    /// Installs the metrics observer (before serving connections).
    pub fn set_observer(&self, observer: Arc<dyn Observer>) {
        self.inner.set_observer(observer);
    }

    /// Unique id of this node (UUID).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The node's settings.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// Serves one connection until it ends: reads commands from `reader` in order, writes through a
    /// writer task owning `writer`, runs ping/pong, stale and expiry timers, and cleans up the hub,
    /// presence and join/leave on exit.
    ///
    /// `reader.read()` must be cancel-safe (it is raced against timers and close requests); a
    /// stream's `next()` or a channel's `recv()` is. After [`Node::shutdown`] started, a new
    /// connection is closed with 3001 at once.
    ///
    /// The connection is set up when this is called; the returned future runs it (spawn it, or
    /// chain what must follow it, without wrapping it in another `async` block that would hold a
    /// second copy of its state).
    pub fn serve_connection(
        &self,
        transport: TransportInfo,
        reader: impl TransportReader,
        writer: impl TransportWriter,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        crate::client::session::serve(self.inner.clone(), transport, reader, writer)
    }

    /// Publishes into a channel.
    pub async fn publish(
        &self,
        channel: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, Error> {
        self.inner.publish(channel, data, opts).await
    }

    /// Server-side subscription of the user's live connections (filtered by `target`); each gets a
    /// `subscribe` push. Connections already subscribed to the channel are skipped.
    ///
    /// Targets follow Centrifugo: `user` selects one user's connections (the empty user is the
    /// bucket of anonymous connections, not "everyone"); a non-empty `client` / `session`
    /// narrows to that connection.
    ///
    /// Each connection applies the operation on its own session task, in order with its commands,
    /// and this call waits for that. Do not await it from inside a [`ClientHandler`] call made for
    /// a connection the target selects: that session is busy running the handler.
    pub async fn subscribe(
        &self,
        target: Target,
        channel: &str,
        opts: SubscribeOptions,
    ) -> Result<(), Error> {
        let mut pending = Vec::new();
        for client in self.inner.targets(&target) {
            let (done, rx) = oneshot::channel();
            let op = SessionOp::Subscribe {
                channel: channel.to_string(),
                options: opts.clone(),
                done,
            };
            if client.send_op(op) {
                pending.push(rx);
            }
        }
        let mut first_error = None;
        for rx in pending {
            // A dropped sender means the connection closed meanwhile: nothing to do for it.
            if let Ok(Err(e)) = rx.await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Unsubscribes the user's live connections (filtered by `target`) from `channel`; an empty
    /// channel unsubscribes them from every channel. Each affected connection gets an
    /// `unsubscribe` push with the given code. Waits like [`Node::subscribe`].
    pub async fn unsubscribe(
        &self,
        target: Target,
        channel: &str,
        unsubscribe: Unsubscribe,
    ) -> Result<(), Error> {
        let mut pending = Vec::new();
        for client in self.inner.targets(&target) {
            let (done, rx) = oneshot::channel();
            let op = SessionOp::Unsubscribe {
                channel: channel.to_string(),
                tag: None,
                unsubscribe: unsubscribe.clone(),
                done,
            };
            if client.send_op(op) {
                pending.push(rx);
            }
        }
        for rx in pending {
            let _ = rx.await;
        }
        Ok(())
    }

    /// Disconnects the user's live connections (filtered by `target`), except `whitelist` client
    /// ids. Returns once every close is requested; connections tear down on their own tasks.
    pub async fn disconnect(
        &self,
        target: Target,
        disconnect: Disconnect,
        whitelist: &[String],
    ) -> Result<(), Error> {
        for client in self.inner.targets(&target) {
            if whitelist.iter().any(|w| **w == *client.id) {
                continue;
            }
            client.request_close(disconnect.clone());
        }
        Ok(())
    }

    /// Refreshes the user's live connections: expire now, move expiry, replace info.
    /// `expire_at == 0` makes them non-expiring. Waits like [`Node::subscribe`].
    pub async fn refresh(
        &self,
        target: Target,
        expired: bool,
        expire_at: i64,
        info: Option<Bytes>,
    ) -> Result<(), Error> {
        let mut pending = Vec::new();
        for client in self.inner.targets(&target) {
            let (done, rx) = oneshot::channel();
            let op = SessionOp::Refresh {
                expired,
                expire_at,
                info: info.clone(),
                done,
            };
            if client.send_op(op) {
                pending.push(rx);
            }
        }
        for rx in pending {
            let _ = rx.await;
        }
        Ok(())
    }

    pub async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, Error> {
        self.inner.presence.presence(channel).await.map_err(broker_error)
    }

    pub async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, Error> {
        self.inner
            .presence
            .presence_stats(channel)
            .await
            .map_err(broker_error)
    }

    pub async fn history(&self, channel: &str, opts: HistoryOptions) -> Result<HistoryResult, Error> {
        self.inner
            .broker
            .history(channel, opts)
            .await
            .map_err(broker_error)
    }

    pub async fn remove_history(&self, channel: &str) -> Result<(), Error> {
        self.inner
            .broker
            .remove_history(channel)
            .await
            .map_err(broker_error)
    }

    /// Channels with at least one local subscriber, with their local subscriber counts.
    pub fn channels(&self) -> Vec<(String, u32)> {
        self.inner.hub.channels()
    }

    /// This node's facts (single node; a cluster adds the others' from control messages).
    pub fn info(&self) -> NodeInfo {
        let hub = &self.inner.hub;
        NodeInfo {
            uid: self.inner.id.clone(),
            name: self.inner.config.name.clone(),
            version: self.inner.config.version.clone(),
            num_clients: hub.num_clients() as u32,
            num_users: hub.num_users() as u32,
            num_subs: hub.num_subscriptions() as u32,
            num_channels: hub.num_channels() as u32,
            uptime_seconds: self.inner.started.elapsed().as_secs() as u32,
        }
    }

    /// Stops accepting commands and closes every connection with 3001, at most
    /// `shutdown_close_concurrency` at a time; returns when all are closed.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if !inner.begin_shutdown() {
            inner.tasks.wait().await;
            return;
        }
        let permits = Arc::new(Semaphore::new(inner.config.shutdown_close_concurrency.max(1)));
        let mut closing = tokio::task::JoinSet::new();
        for client in inner.hub.all_clients() {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            client.request_close(Disconnect::SHUTDOWN);
            closing.spawn(async move {
                client.wait_finished().await;
                drop(permit);
            });
        }
        while closing.join_next().await.is_some() {}
        // Connections that never completed `connect` are not in the hub; they close now.
        inner.shutdown.cancel();
        inner.tasks.close();
        inner.tasks.wait().await;
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}
