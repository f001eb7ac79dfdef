//! Options attached to publications and subscriptions. The core is namespace-agnostic: whoever
//! publishes or authorises a subscription (the server's handler, the HTTP API) turns channel
//! configuration into these values.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use crate::broker::StreamPosition;
use gyre_protocol::ClientInfo;

/// How a recovering subscription is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Missed publications from the history stream.
    #[default]
    Stream,
    /// Only the latest publication ("cache" mode).
    Cache,
}

/// Delta compression formats a subscription may negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaType {
    Fossil,
}

impl DeltaType {
    pub fn parse(s: &str) -> Option<DeltaType> {
        (s == "fossil").then_some(DeltaType::Fossil)
    }
}

/// Where a subscription came from. Only `Client` subscriptions are client-side; the other
/// variants are server-side and differ only in what the application may later check (e.g. a
/// connection refresh compares the new token's channels with the `ConnectionToken` ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionSource {
    /// The client sent a subscribe command.
    #[default]
    Client,
    /// Server-side: connect proxy, personal channel, or the server API.
    Server,
    /// Server-side, from the connection token's `channels`/`subs` claims.
    ConnectionToken,
}

impl SubscriptionSource {
    pub fn is_server_side(self) -> bool {
        self != SubscriptionSource::Client
    }
}

/// Everything the core needs to know about one subscription once it is allowed.
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// Unix seconds at which the subscription expires; 0 = never.
    pub expire_at: i64,
    /// `chan_info` of this client in this channel.
    pub channel_info: Bytes,
    pub emit_presence: bool,
    pub emit_join_leave: bool,
    pub push_join_leave: bool,
    pub enable_positioning: bool,
    pub enable_recovery: bool,
    pub recovery_mode: RecoveryMode,
    /// Cache recovery mode only: recover (deliver the latest publication) on every subscribe,
    /// even when the client did not ask — e.g. server-side subscriptions of clients that keep
    /// no position (Centrifugo's `auto_cache_recover`). Ignored in stream mode, where recovering
    /// without the client's position could not preserve continuity.
    pub auto_cache_recover: bool,
    /// Custom data returned in the subscribe result / subscribe push.
    pub data: Bytes,
    /// Server API subscribe: recover from this position.
    pub recover_since: Option<StreamPosition>,
    pub history_meta_ttl: Option<Duration>,
    pub allowed_delta_types: Vec<DeltaType>,
    pub allow_tags_filter: bool,
    pub source: SubscriptionSource,
}

/// Options of one publish call.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// History stream size; 0 = no history (pure PUB/SUB, no offset).
    pub history_size: usize,
    pub history_ttl: Duration,
    pub history_meta_ttl: Option<Duration>,
    pub client_info: Option<ClientInfo>,
    pub tags: HashMap<String, String>,
    pub idempotency_key: Option<String>,
    /// How long an idempotent result is remembered (default 300 s).
    pub idempotent_result_ttl: Option<Duration>,
    pub delta: bool,
    pub version: u64,
    pub version_epoch: String,
}

/// Options of a history read.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// 0 = only the stream top; negative = no limit; positive = at most that many.
    pub limit: i32,
    pub since: Option<StreamPosition>,
    pub reverse: bool,
    pub meta_ttl: Option<Duration>,
}

/// Which connections of a user an operation targets (server API subscribe/unsubscribe/disconnect/
/// refresh). Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub user: String,
    pub client: String,
    pub session: String,
}
