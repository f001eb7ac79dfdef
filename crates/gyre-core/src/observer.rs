//! Metrics hooks. The core counts nothing itself; the server plugs in an [`Observer`] that feeds
//! Prometheus with Centrifugo's metric names. Every method must be cheap and non-blocking.

use std::time::Duration;

/// Receives events worth counting. All methods have no-op defaults.
pub trait Observer: Send + Sync + 'static {
    /// A connection completed `connect`.
    fn connection_accepted(&self, _transport: &str, _client_name: &str, _client_version: &str) {}
    /// A subscription was established (client- or server-side).
    fn subscription_accepted(&self, _client_name: &str) {}
    /// A command was processed.
    fn command_processed(&self, _method: &str, _elapsed: Duration) {}
    /// A command got an error reply.
    fn reply_error(&self, _method: &str, _code: u32) {}
    /// The server disconnected a client with this code.
    fn server_disconnect(&self, _code: u32) {}
    /// The server unsubscribed a client with this code.
    fn server_unsubscribe(&self, _code: u32) {}
    /// `count` messages of one kind (`frame_type` = push type or reply method), `bytes` in all,
    /// written to a transport. Reported per write rather than per message: at a million
    /// deliveries a second, per-message metric updates cost a tenth of a core.
    fn transport_messages_sent(&self, _transport: &str, _frame_type: &str, _count: usize, _bytes: usize) {}
    /// Messages received from a transport.
    fn transport_message_received(&self, _transport: &str, _frame_type: &str, _size: usize) {}
    /// A backend proxy call started (`protocol` `http`/`grpc`, `kind` `connect`, `subscribe`, …,
    /// `name` the proxy's name or `default`).
    fn proxy_started(&self, _protocol: &str, _kind: &str, _name: &str) {}
    /// A backend proxy call ended after `seconds`; `failed` when it did not produce a reply
    /// (transport error, timeout, bad status or body).
    fn proxy_finished(&self, _protocol: &str, _kind: &str, _name: &str, _seconds: f64, _failed: bool) {}
    /// Broker traffic: `publication`, `join`, `leave`, `control`.
    fn node_message_sent(&self, _kind: &str) {}
    fn node_message_received(&self, _kind: &str) {}
    /// The node delivered a publication to local subscribers.
    fn broadcast_duration(&self, _kind: &str, _elapsed: Duration) {}
    /// A subscribe attempted to recover missed publications (once per attempt; an attempt
    /// refused with 112 because the client rejects unrecovered subscriptions is not counted).
    fn recover(&self, _recovered: bool, _has_recovered_publications: bool) {}
    /// A publication of `channel` was withheld from `count` local subscribers by their tags
    /// filters (reported once per publication, only when `count > 0`).
    fn tags_filter_dropped(&self, _channel: &str, _count: usize) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl Observer for NoopObserver {}
