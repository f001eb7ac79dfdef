//! The hub: this node's live connections (64 shards keyed by user) and subscriptions (64 shards
//! keyed by channel).
//!
//! Every method is synchronous and takes one shard lock at a time; nothing here awaits. The
//! subscription shards are the hot read path of every broadcast (see `broadcast.rs`).

mod broadcast;
mod prepared;
mod user_conns;

pub(crate) use prepared::PreparedPublication;

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::client::ClientShared;
use crate::tags_filter::CompiledFilter;
use user_conns::UserConns;

const NUM_SHARDS: usize = 64;

/// FNV-1a is enough for in-process sharding; nothing outside this process sees these indexes.
pub(crate) fn shard_index(key: &str, shards: usize) -> usize {
    let mut h = fnv::FnvHasher::default();
    h.write(key.as_bytes());
    (h.finish() % shards as u64) as usize
}

#[derive(Default)]
struct ConnShard {
    clients: HashMap<Arc<str>, Arc<ClientShared>>,
    users: HashMap<String, UserConns>,
}

/// One subscription of one client, as the broadcaster sees it.
pub(crate) struct Subscriber {
    pub(crate) client: Arc<ClientShared>,
    pub(crate) gen: u64,
    /// The subscription's publication tags filter.
    pub(crate) filter: Option<Arc<CompiledFilter>>,
}

/// What the broadcaster needs to know about a subscription beyond who holds it. Fixed for the
/// subscription's lifetime, so kept in the hub entry and read without the client's lock.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubSettings {
    pub(crate) filter: Option<Arc<CompiledFilter>>,
}

#[derive(Default)]
pub(crate) struct SubShard {
    pub(crate) channels: HashMap<String, HashMap<Arc<str>, Subscriber>>,
    num_subs: usize,
}

/// Result of removing one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Removed {
    /// This generation was registered and is gone now.
    pub(crate) removed: bool,
    /// The channel has no local subscriber left.
    pub(crate) empty: bool,
}

pub(crate) struct Hub {
    conns: Box<[RwLock<ConnShard>]>,
    subs: Box<[RwLock<SubShard>]>,
}

impl Hub {
    pub(crate) fn new() -> Hub {
        Hub {
            conns: (0..NUM_SHARDS).map(|_| RwLock::default()).collect(),
            subs: (0..NUM_SHARDS).map(|_| RwLock::default()).collect(),
        }
    }

    fn conn_shard(&self, user: &str) -> &RwLock<ConnShard> {
        &self.conns[shard_index(user, NUM_SHARDS)]
    }

    pub(crate) fn sub_shard(&self, channel: &str) -> &RwLock<SubShard> {
        &self.subs[shard_index(channel, NUM_SHARDS)]
    }

    /// Registers an authenticated connection under its user.
    pub(crate) fn add_client(&self, user: &str, client: Arc<ClientShared>) {
        let mut shard = self.conn_shard(user).write();
        match shard.users.get_mut(user) {
            Some(ids) => ids.insert(client.id.clone()),
            None => {
                shard
                    .users
                    .insert(user.to_string(), UserConns::One(client.id.clone()));
            }
        }
        shard.clients.insert(client.id.clone(), client);
    }

    pub(crate) fn remove_client(&self, user: &str, client_id: &str) -> bool {
        let mut shard = self.conn_shard(user).write();
        let existed = shard.clients.remove(client_id).is_some();
        if shard.users.get_mut(user).is_some_and(|ids| ids.remove(client_id)) {
            shard.users.remove(user);
        }
        existed
    }

    pub(crate) fn num_user_connections(&self, user: &str) -> usize {
        self.conn_shard(user)
            .read()
            .users
            .get(user)
            .map_or(0, |s| s.len())
    }

    /// The user's live connections (the empty user is the anonymous bucket).
    pub(crate) fn user_connections(&self, user: &str) -> Vec<Arc<ClientShared>> {
        let shard = self.conn_shard(user).read();
        let Some(ids) = shard.users.get(user) else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|id| shard.clients.get(id).cloned())
            .collect()
    }

    pub(crate) fn all_clients(&self) -> Vec<Arc<ClientShared>> {
        let mut out = Vec::new();
        for shard in self.conns.iter() {
            out.extend(shard.read().clients.values().cloned());
        }
        out
    }

    pub(crate) fn num_clients(&self) -> usize {
        self.conns.iter().map(|s| s.read().clients.len()).sum()
    }

    pub(crate) fn num_users(&self) -> usize {
        // A user lives in exactly one shard, so per-shard counts add up.
        self.conns.iter().map(|s| s.read().users.len()).sum()
    }

    /// Adds (or replaces) the client's subscription to `channel`. Returns true when this is the
    /// channel's first local subscriber.
    pub(crate) fn add_sub(
        &self,
        channel: &str,
        client: Arc<ClientShared>,
        gen: u64,
        settings: SubSettings,
    ) -> bool {
        let mut shard = self.sub_shard(channel).write();
        let shard = &mut *shard;
        let (first, subs) = match shard.channels.get_mut(channel) {
            Some(subs) => (false, subs),
            None => (true, shard.channels.entry(channel.to_string()).or_default()),
        };
        let id = client.id.clone();
        let sub = Subscriber {
            client,
            gen,
            filter: settings.filter,
        };
        if subs.insert(id, sub).is_none() {
            shard.num_subs += 1;
        }
        first
    }

    /// Removes the client's subscription if it still has generation `gen`: a stale cleanup of an
    /// older attempt leaves a newer subscription alone.
    pub(crate) fn remove_sub(&self, channel: &str, client_id: &str, gen: u64) -> Removed {
        let mut shard = self.sub_shard(channel).write();
        let shard = &mut *shard;
        let Some(subs) = shard.channels.get_mut(channel) else {
            return Removed {
                removed: false,
                empty: true,
            };
        };
        match subs.get(client_id) {
            Some(s) if s.gen == gen => {}
            Some(_) => {
                return Removed {
                    removed: false,
                    empty: false,
                }
            }
            None => {
                return Removed {
                    removed: false,
                    empty: subs.is_empty(),
                }
            }
        }
        subs.remove(client_id);
        shard.num_subs -= 1;
        let empty = subs.is_empty();
        if empty {
            shard.channels.remove(channel);
        }
        Removed { removed: true, empty }
    }

    /// Channels with local subscribers and their counts.
    pub(crate) fn channels(&self) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        for shard in self.subs.iter() {
            let shard = shard.read();
            out.extend(
                shard
                    .channels
                    .iter()
                    .map(|(ch, subs)| (ch.clone(), subs.len() as u32)),
            );
        }
        out
    }

    pub(crate) fn num_subscriptions(&self) -> usize {
        self.subs.iter().map(|s| s.read().num_subs).sum()
    }

    pub(crate) fn num_channels(&self) -> usize {
        self.subs.iter().map(|s| s.read().channels.len()).sum()
    }
}
