//! Typed API requests, one per method, with the snake_case field names of Centrifugo's
//! `api.proto`. The HTTP adapter decodes them from JSON (unknown keys ignored, `null` = zero
//! value, raw fields kept verbatim); a gRPC adapter builds them from the protobuf messages.
//!
//! PRO-only fields (`label_filter`, `all_users`) are not modelled: they are ignored like any
//! unknown key.

use std::collections::HashMap;

use bytes::Bytes;
use serde::Deserialize;

use crate::raw::{nullable, object, raw};

/// A stream position (`{offset, epoch}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StreamPosition {
    #[serde(default, deserialize_with = "nullable")]
    pub offset: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub epoch: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublishRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channel: String,
    /// Raw JSON (HTTP) or bytes (gRPC).
    #[serde(default, deserialize_with = "raw")]
    pub data: Bytes,
    /// Standard base64; wins over `data` when non-empty.
    #[serde(default, deserialize_with = "nullable")]
    pub b64data: String,
    #[serde(default, deserialize_with = "nullable")]
    pub skip_history: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: HashMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub idempotency_key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub delta: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub version: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub version_epoch: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BroadcastRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channels: Vec<String>,
    #[serde(default, deserialize_with = "raw")]
    pub data: Bytes,
    #[serde(default, deserialize_with = "nullable")]
    pub b64data: String,
    #[serde(default, deserialize_with = "nullable")]
    pub skip_history: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: HashMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub idempotency_key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub delta: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub version: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub version_epoch: String,
}

/// `{"value": bool}` (protobuf wrapper, so "unset" differs from `false`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct BoolValue {
    #[serde(default, deserialize_with = "nullable")]
    pub value: bool,
}

/// Per-subscription overrides of the namespace options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SubscribeOptionOverride {
    #[serde(default, deserialize_with = "object")]
    pub presence: Option<BoolValue>,
    #[serde(default, deserialize_with = "object")]
    pub join_leave: Option<BoolValue>,
    #[serde(default, deserialize_with = "object")]
    pub force_recovery: Option<BoolValue>,
    #[serde(default, deserialize_with = "object")]
    pub force_positioning: Option<BoolValue>,
    #[serde(default, deserialize_with = "object")]
    pub force_push_join_leave: Option<BoolValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscribeRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channel: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    /// Unix seconds; 0 = never.
    #[serde(default, deserialize_with = "nullable")]
    pub expire_at: i64,
    /// Channel info (raw JSON).
    #[serde(default, deserialize_with = "raw")]
    pub info: Bytes,
    #[serde(default, deserialize_with = "nullable")]
    pub b64info: String,
    #[serde(default, deserialize_with = "nullable")]
    pub client: String,
    #[serde(default, deserialize_with = "raw")]
    pub data: Bytes,
    #[serde(default, deserialize_with = "nullable")]
    pub b64data: String,
    #[serde(default, deserialize_with = "object")]
    pub recover_since: Option<StreamPosition>,
    #[serde(default, rename = "override", deserialize_with = "object")]
    pub override_: Option<SubscribeOptionOverride>,
    #[serde(default, deserialize_with = "nullable")]
    pub session: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UnsubscribeRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channel: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub client: String,
    #[serde(default, deserialize_with = "nullable")]
    pub session: String,
}

/// A custom disconnect (`{code, reason}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DisconnectObject {
    #[serde(default, deserialize_with = "nullable")]
    pub code: u32,
    #[serde(default, deserialize_with = "nullable")]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DisconnectRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    /// Defaults to 3503 "force disconnect".
    #[serde(default, deserialize_with = "object")]
    pub disconnect: Option<DisconnectObject>,
    #[serde(default, deserialize_with = "nullable")]
    pub client: String,
    /// Client ids to keep connected.
    #[serde(default, deserialize_with = "nullable")]
    pub whitelist: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub session: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RefreshRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub client: String,
    #[serde(default, deserialize_with = "nullable")]
    pub expired: bool,
    /// Unix seconds; 0 = keep the current expiry.
    #[serde(default, deserialize_with = "nullable")]
    pub expire_at: i64,
    /// New connection info (raw JSON); empty = unchanged.
    #[serde(default, deserialize_with = "raw")]
    pub info: Bytes,
    #[serde(default, deserialize_with = "nullable")]
    pub session: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PresenceRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channel: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PresenceStatsRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channel: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channel: String,
    /// 0 = only the stream top, negative = everything, n = at most n.
    #[serde(default, deserialize_with = "nullable")]
    pub limit: i32,
    /// Exclusive lower bound (upper bound when `reverse`).
    #[serde(default, deserialize_with = "object")]
    pub since: Option<StreamPosition>,
    #[serde(default, deserialize_with = "nullable")]
    pub reverse: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryRemoveRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub channel: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChannelsRequest {
    /// Glob pattern; empty = every channel.
    #[serde(default, deserialize_with = "nullable")]
    pub pattern: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InfoRequest {}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RpcRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub method: String,
    #[serde(default, deserialize_with = "raw")]
    pub params: Bytes,
}
