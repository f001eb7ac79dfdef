//! The application hooks of a client session (the Go library's `OnConnecting`, `OnSubscribe`, …).
//!
//! The core knows nothing about tokens, namespaces or permissions: the server implements
//! [`ClientHandler`] and answers each event with options or with a [`HandlerError`].

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::Bytes;

use crate::broker::{PublishResult, StreamPosition};
use crate::client::ClientRef;
use crate::disconnect::Disconnect;
use crate::error::Error;
use crate::options::{PublishOptions, SubscribeOptions};
use crate::transport::TransportInfo;
use gyre_protocol::{FilterNode, SubscribeRequest};

/// A handler's refusal: an error reply (the session goes on) or a disconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    Error(Error),
    Disconnect(Disconnect),
}

impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        HandlerError::Error(e)
    }
}

impl From<Disconnect> for HandlerError {
    fn from(d: Disconnect) -> Self {
        HandlerError::Disconnect(d)
    }
}

/// Who the connection is.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// User id; empty = anonymous.
    pub user: String,
    /// Unix seconds at which the connection expires; 0 = never.
    pub expire_at: i64,
    /// `conn_info` shown in presence, join/leave and client publications.
    pub info: Bytes,
}

/// The connect command.
#[derive(Debug, Clone)]
pub struct ConnectingEvent {
    pub client_id: String,
    pub transport: TransportInfo,
    pub token: String,
    pub data: Bytes,
    pub name: String,
    pub version: String,
    /// Emulated headers sent in the connect command.
    pub headers: HashMap<String, String>,
    /// Server-side subscriptions the client asks for (connect `subs`), with recovery positions.
    pub subs: HashMap<String, SubscribeRequest>,
}

#[derive(Debug, Clone, Default)]
pub struct ConnectingReply {
    pub credentials: Credentials,
    /// Custom data for the connect result.
    pub data: Bytes,
    /// Server-side subscriptions to establish before the connect reply.
    pub subscriptions: HashMap<String, SubscribeOptions>,
    /// The client refreshes its own credentials (refresh command) rather than the server asking
    /// [`ClientHandler::on_refresh`] at expiry.
    pub client_side_refresh: bool,
    /// Connection meta (JSON object) kept server-side for proxies.
    pub meta: Option<Bytes>,
}

#[derive(Debug, Clone)]
pub struct RefreshEvent {
    pub client_side_refresh: bool,
    /// The new token (client-side refresh).
    pub token: String,
}

#[derive(Debug, Clone, Default)]
pub struct RefreshReply {
    pub expired: bool,
    /// New expiry in unix seconds; 0 = never.
    pub expire_at: i64,
    /// Replaces the connection info when set.
    pub info: Option<Bytes>,
    /// Replaces the connection meta (JSON object kept for proxies) when set.
    pub meta: Option<Bytes>,
}

#[derive(Debug, Clone)]
pub struct SubscribeEvent {
    pub channel: String,
    pub token: String,
    pub data: Bytes,
    pub positioned: bool,
    pub recoverable: bool,
    pub join_leave: bool,
    /// Requested delta type (validated by the core: unknown → 3501).
    pub delta: String,
    pub tags_filter: Option<FilterNode>,
}

#[derive(Debug, Clone, Default)]
pub struct SubscribeReply {
    pub options: SubscribeOptions,
    pub client_side_refresh: bool,
    /// The application's identity for this subscription, checked by
    /// [`ClientRef::unsubscribe_tagged`] so that a late request cannot end a newer subscription
    /// to the same channel. 0 when unused.
    pub tag: u64,
}

#[derive(Debug, Clone)]
pub struct SubRefreshEvent {
    pub client_side_refresh: bool,
    pub channel: String,
    pub token: String,
}

#[derive(Debug, Clone, Default)]
pub struct SubRefreshReply {
    pub expired: bool,
    pub expire_at: i64,
    pub info: Option<Bytes>,
}

#[derive(Debug, Clone)]
pub struct PublishEvent {
    pub channel: String,
    pub data: Bytes,
}

#[derive(Debug, Clone, Default)]
pub struct PublishReply {
    /// How the core publishes (history etc.). The publisher's ClientInfo is added by the core.
    pub options: PublishOptions,
    /// Replaces the client's data when set (publish proxy).
    pub data: Option<Bytes>,
    /// The handler already published; the core must not publish again.
    pub result: Option<PublishResult>,
}

#[derive(Debug, Clone)]
pub struct RpcEvent {
    pub method: String,
    pub data: Bytes,
}

#[derive(Debug, Clone, Default)]
pub struct RpcReply {
    pub data: Bytes,
}

#[derive(Debug, Clone)]
pub struct HistoryEvent {
    pub channel: String,
    pub limit: i32,
    pub since: Option<StreamPosition>,
    pub reverse: bool,
}

/// Application hooks. Every method may await (proxies); the session processes one command at a time.
/// Default implementations refuse what the Go library refuses when no handler is set.
#[async_trait]
pub trait ClientHandler: Send + Sync + 'static {
    /// Authenticates a connection.
    async fn on_connecting(&self, event: ConnectingEvent) -> Result<ConnectingReply, HandlerError>;

    /// Client-side refresh (refresh command) or server-side refresh at expiry.
    async fn on_refresh(
        &self,
        _client: &ClientRef,
        _event: RefreshEvent,
    ) -> Result<RefreshReply, HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    async fn on_subscribe(
        &self,
        _client: &ClientRef,
        _event: SubscribeEvent,
    ) -> Result<SubscribeReply, HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    async fn on_sub_refresh(
        &self,
        _client: &ClientRef,
        _event: SubRefreshEvent,
    ) -> Result<SubRefreshReply, HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    async fn on_publish(
        &self,
        _client: &ClientRef,
        _event: PublishEvent,
    ) -> Result<PublishReply, HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    async fn on_rpc(&self, _client: &ClientRef, _event: RpcEvent) -> Result<RpcReply, HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    /// Permission check for presence (the core then reads the presence manager).
    async fn on_presence(&self, _client: &ClientRef, _channel: &str) -> Result<(), HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    async fn on_presence_stats(&self, _client: &ClientRef, _channel: &str) -> Result<(), HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    /// Permission check for history (the core then reads the broker, clamping the limit).
    async fn on_history(&self, _client: &ClientRef, _event: &HistoryEvent) -> Result<(), HandlerError> {
        Err(HandlerError::Error(Error::NOT_AVAILABLE))
    }

    /// A subscription the handler accepted has ended, whatever ended it (unsubscribe command,
    /// server unsubscribe, a failure after [`ClientHandler::on_subscribe`] answered, or the
    /// connection closing). Lets a handler stop what it started for the subscription, such as a
    /// backend stream feeding [`ClientRef::write_publication`]. Must not block.
    fn on_unsubscribe(&self, _client: &ClientRef, _channel: &str) {}

    /// The connection is gone (for logging and metrics). Must not block.
    fn on_disconnect(&self, _client: &ClientRef, _disconnect: &Disconnect) {}
}
