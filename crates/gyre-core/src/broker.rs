//! The Broker abstraction: PUB/SUB between nodes plus per-channel history streams.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::options::{HistoryOptions, PublishOptions};
use gyre_protocol::{ClientInfo, Publication};

/// Position in a channel's history stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct StreamPosition {
    pub offset: u64,
    pub epoch: String,
}

/// What a publish produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishResult {
    /// Position of the publication; offset 0 and empty epoch when published without history.
    pub position: StreamPosition,
    /// The publish was suppressed (idempotency key seen, or stale version) and this is the cached
    /// or current position.
    pub suppressed: bool,
}

/// A history read result.
#[derive(Debug, Clone, Default)]
pub struct HistoryResult {
    pub publications: Vec<Publication>,
    /// Current stream top.
    pub position: StreamPosition,
}

/// Failures of a broker or presence manager. Mapped to error 100 at the client/API edge.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    #[error("feature not available in this broker")]
    NotAvailable,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unrecoverable position")]
    UnrecoverablePosition,
    #[error("broker failure: {0}")]
    Failure(String),
}

/// Receives what a broker delivers. Implemented by the node. Every method is synchronous and must
/// not block: it only queues work into client outboxes.
pub trait BrokerEventHandler: Send + Sync + 'static {
    /// A publication for `channel`. Calls for one channel never overlap and arrive in offset order.
    /// `prev` is the previous publication when the broker knows it (delta compression).
    fn handle_publication(
        &self,
        channel: &str,
        publication: Arc<Publication>,
        position: StreamPosition,
        delta: bool,
        prev: Option<Arc<Publication>>,
    );
    fn handle_join(&self, channel: &str, info: ClientInfo);
    fn handle_leave(&self, channel: &str, info: ClientInfo);
}

/// PUB/SUB and history.
///
/// Contract: appending to the history stream and delivering to subscribers are atomic per channel,
/// and the publications of one channel reach the [`BrokerEventHandler`] in offset order.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Installs the handler publications are delivered to. Called once, before any other method.
    fn register_event_handler(&self, handler: Arc<dyn BrokerEventHandler>);
    async fn publish(
        &self,
        channel: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, BrokerError>;
    async fn publish_join(&self, channel: &str, info: ClientInfo) -> Result<(), BrokerError>;
    async fn publish_leave(&self, channel: &str, info: ClientInfo) -> Result<(), BrokerError>;
    /// This node wants publications of these channels (no-op for the memory broker).
    async fn subscribe(&self, channels: &[String]) -> Result<(), BrokerError>;
    async fn unsubscribe(&self, channels: &[String]) -> Result<(), BrokerError>;
    async fn history(&self, channel: &str, opts: HistoryOptions) -> Result<HistoryResult, BrokerError>;
    async fn remove_history(&self, channel: &str) -> Result<(), BrokerError>;
}
