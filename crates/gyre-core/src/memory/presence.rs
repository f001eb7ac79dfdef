//! In-memory presence: channel → client id → ClientInfo, sharded by channel.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use parking_lot::RwLock;

use crate::broker::BrokerError;
use crate::hub::shard_index;
use crate::presence::{PresenceManager, PresenceStats};
use gyre_protocol::ClientInfo;

const NUM_SHARDS: usize = 64;

type Channels = HashMap<String, HashMap<String, ClientInfo>>;

/// In-memory [`PresenceManager`] for a single node. Entries never expire by time: the node
/// removes them when a subscription ends.
pub struct MemoryPresenceManager {
    shards: Box<[RwLock<Channels>]>,
}

impl Default for MemoryPresenceManager {
    fn default() -> Self {
        MemoryPresenceManager::new()
    }
}

impl std::fmt::Debug for MemoryPresenceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPresenceManager").finish_non_exhaustive()
    }
}

impl MemoryPresenceManager {
    pub fn new() -> MemoryPresenceManager {
        MemoryPresenceManager {
            shards: (0..NUM_SHARDS).map(|_| RwLock::default()).collect(),
        }
    }

    fn shard(&self, channel: &str) -> &RwLock<Channels> {
        &self.shards[shard_index(channel, NUM_SHARDS)]
    }

    /// Channels with at least one presence entry (for leak checks in tests).
    pub fn num_channels(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }
}

#[async_trait]
impl PresenceManager for MemoryPresenceManager {
    async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, BrokerError> {
        Ok(self
            .shard(channel)
            .read()
            .get(channel)
            .cloned()
            .unwrap_or_default())
    }

    async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, BrokerError> {
        let shard = self.shard(channel).read();
        let Some(clients) = shard.get(channel) else {
            return Ok(PresenceStats::default());
        };
        let users: HashSet<&str> = clients.values().map(|i| i.user.as_str()).collect();
        Ok(PresenceStats {
            num_clients: clients.len() as u32,
            num_users: users.len() as u32,
        })
    }

    async fn add_presence(
        &self,
        channel: &str,
        client_id: &str,
        info: ClientInfo,
    ) -> Result<(), BrokerError> {
        self.shard(channel)
            .write()
            .entry(channel.to_string())
            .or_default()
            .insert(client_id.to_string(), info);
        Ok(())
    }

    async fn remove_presence(&self, channel: &str, client_id: &str, _user: &str) -> Result<(), BrokerError> {
        let mut shard = self.shard(channel).write();
        if let Some(clients) = shard.get_mut(channel) {
            clients.remove(client_id);
            if clients.is_empty() {
                shard.remove(channel);
            }
        }
        Ok(())
    }
}
