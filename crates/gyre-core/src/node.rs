//! The node: owns the hub, the broker and presence manager, and the client handler; runs
//! connections; serves the operations of the server API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::broker::{Broker, HistoryResult, PublishResult};
use crate::disconnect::{Disconnect, Unsubscribe};
use crate::error::Error;
use crate::handler::ClientHandler;
use crate::observer::Observer;
use crate::options::{HistoryOptions, PublishOptions, SubscribeOptions, Target};
use crate::presence::{PresenceManager, PresenceStats};
use crate::transport::{TransportInfo, TransportReader, TransportWriter};
use gyre_protocol::ClientInfo;

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
    /// Messages per transport write (16).
    pub max_messages_in_frame: usize,
    /// How many connections close at once on shutdown (128).
    pub shutdown_close_concurrency: usize,
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
            max_messages_in_frame: 16,
            shutdown_close_concurrency: 128,
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
    _private: Arc<()>,
}

impl Node {
    /// A node on the memory broker and presence manager.
    pub fn new(config: NodeConfig, handler: Arc<dyn ClientHandler>) -> Node {
        let _ = (config, handler);
        todo!("core work package")
    }

    /// A node on the given broker and presence manager.
    pub fn with_engines(
        config: NodeConfig,
        handler: Arc<dyn ClientHandler>,
        broker: Arc<dyn Broker>,
        presence: Arc<dyn PresenceManager>,
    ) -> Node {
        let _ = (config, handler, broker, presence);
        todo!("core work package")
    }

    /// Installs the metrics observer (before serving connections).
    pub fn set_observer(&self, observer: Arc<dyn Observer>) {
        let _ = observer;
        todo!("core work package")
    }

    /// Unique id of this node (UUID).
    pub fn id(&self) -> &str {
        todo!("core work package")
    }

    /// Serves one connection until it ends: reads commands from `reader` in order, writes through a
    /// writer task owning `writer`, runs ping/pong, stale and expiry timers, and cleans up the hub,
    /// presence and join/leave on exit.
    pub async fn serve_connection(
        &self,
        transport: TransportInfo,
        reader: impl TransportReader,
        writer: impl TransportWriter,
    ) {
        let _ = (transport, reader, writer);
        todo!("core work package")
    }

    /// Publishes into a channel.
    pub async fn publish(
        &self,
        channel: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, Error> {
        let _ = (channel, data, opts);
        todo!("core work package")
    }

    /// Server-side subscription of the user's live connections (filtered by `target`); each gets a
    /// `subscribe` push.
    pub async fn subscribe(
        &self,
        target: Target,
        channel: &str,
        opts: SubscribeOptions,
    ) -> Result<(), Error> {
        let _ = (target, channel, opts);
        todo!("core work package")
    }

    /// Unsubscribes the user's live connections (filtered by `target`) from `channel`.
    pub async fn unsubscribe(
        &self,
        target: Target,
        channel: &str,
        unsubscribe: Unsubscribe,
    ) -> Result<(), Error> {
        let _ = (target, channel, unsubscribe);
        todo!("core work package")
    }

    /// Disconnects the user's live connections (filtered by `target`), except `whitelist` client ids.
    pub async fn disconnect(
        &self,
        target: Target,
        disconnect: Disconnect,
        whitelist: &[String],
    ) -> Result<(), Error> {
        let _ = (target, disconnect, whitelist);
        todo!("core work package")
    }

    /// Refreshes the user's live connections: expire now, move expiry, replace info.
    pub async fn refresh(
        &self,
        target: Target,
        expired: bool,
        expire_at: i64,
        info: Option<Bytes>,
    ) -> Result<(), Error> {
        let _ = (target, expired, expire_at, info);
        todo!("core work package")
    }

    pub async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, Error> {
        let _ = channel;
        todo!("core work package")
    }

    pub async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, Error> {
        let _ = channel;
        todo!("core work package")
    }

    pub async fn history(&self, channel: &str, opts: HistoryOptions) -> Result<HistoryResult, Error> {
        let _ = (channel, opts);
        todo!("core work package")
    }

    pub async fn remove_history(&self, channel: &str) -> Result<(), Error> {
        let _ = channel;
        todo!("core work package")
    }

    /// Channels with at least one local subscriber, with their local subscriber counts.
    pub fn channels(&self) -> Vec<(String, u32)> {
        todo!("core work package")
    }

    /// This node's facts (single node; a cluster adds the others' from control messages).
    pub fn info(&self) -> NodeInfo {
        todo!("core work package")
    }

    /// Stops accepting commands and closes every connection with 3001, at most
    /// `shutdown_close_concurrency` at a time; returns when all are closed.
    pub async fn shutdown(&self) {
        todo!("core work package")
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").finish_non_exhaustive()
    }
}
