//! The PresenceManager abstraction: who is subscribed to a channel, across nodes.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::broker::BrokerError;
use gyre_protocol::ClientInfo;

/// Counts of a channel's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PresenceStats {
    pub num_clients: u32,
    pub num_users: u32,
}

#[async_trait]
pub trait PresenceManager: Send + Sync + 'static {
    /// Client id → info for every client present in `channel`.
    async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, BrokerError>;
    async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, BrokerError>;
    /// Adds or refreshes one entry.
    async fn add_presence(&self, channel: &str, client_id: &str, info: ClientInfo)
        -> Result<(), BrokerError>;
    async fn remove_presence(&self, channel: &str, client_id: &str, user: &str) -> Result<(), BrokerError>;
}
