//! The single-node broker: history streams in process memory, delivery straight to the node.
//!
//! Channels are spread over sharded `parking_lot` mutexes. A publish holds its channel's shard for
//! the whole append-and-deliver step, and calls the node's [`BrokerEventHandler`] while still holding
//! it: that is what keeps one channel's publications in offset order for every subscriber.
//! Delivering is synchronous and only queues into client outboxes, so the lock is never held
//! across I/O or an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::stream::Stream;
use crate::broker::{Broker, BrokerError, BrokerEventHandler, HistoryResult, PublishResult, StreamPosition};
use crate::clock;
use crate::hub::shard_index;
use crate::options::{HistoryOptions, PublishOptions};
use gyre_protocol::{ClientInfo, Publication};

const NUM_SHARDS: usize = 1024;
const DEFAULT_IDEMPOTENT_RESULT_TTL: Duration = Duration::from_secs(300);

/// Settings of the memory broker.
#[derive(Debug, Clone)]
pub struct MemoryBrokerConfig {
    /// How long a stream's meta (offset and epoch) outlives its last publish or read when the
    /// publish/history options do not say (Centrifugo's `channel.history_meta_ttl`, 720h).
    pub history_meta_ttl: Duration,
    /// How often the background sweep runs.
    pub sweep_interval: Duration,
    /// Shards examined per sweep, which bounds the work of one tick.
    pub sweep_shards_per_tick: usize,
}

impl Default for MemoryBrokerConfig {
    fn default() -> Self {
        MemoryBrokerConfig {
            history_meta_ttl: Duration::from_secs(720 * 3600),
            sweep_interval: Duration::from_secs(1),
            sweep_shards_per_tick: 64,
        }
    }
}

struct CachedResult {
    position: StreamPosition,
    expire_at: Instant,
}

#[derive(Default)]
struct Shard {
    streams: HashMap<String, Stream>,
    /// Idempotency results keyed by (channel, key).
    results: HashMap<(String, String), CachedResult>,
}

impl Shard {
    /// The channel's stream, created when missing; expired data is dropped on the way.
    fn stream(&mut self, channel: &str, now: Instant) -> &mut Stream {
        if self.streams.get(channel).is_some_and(|s| s.meta_expired(now)) {
            self.streams.remove(channel);
        }
        let stream = self
            .streams
            .entry(channel.to_string())
            .or_insert_with(Stream::new);
        if stream.items_expired(now) {
            stream.clear();
            stream.items_expire_at = None;
        }
        stream
    }

    fn cached_result(&self, channel: &str, key: &str, now: Instant) -> Option<StreamPosition> {
        // Allocating the tuple key is acceptable here: idempotent publishes are the rare path.
        let entry = self.results.get(&(channel.to_string(), key.to_string()))?;
        (entry.expire_at > now).then(|| entry.position.clone())
    }

    fn sweep(&mut self, now: Instant) {
        self.streams.retain(|_, s| !s.meta_expired(now));
        for stream in self.streams.values_mut() {
            if stream.items_expired(now) {
                stream.clear();
                stream.items_expire_at = None;
            }
        }
        self.results.retain(|_, r| r.expire_at > now);
    }
}

struct Inner {
    config: MemoryBrokerConfig,
    shards: Box<[Mutex<Shard>]>,
    handler: OnceLock<Arc<dyn BrokerEventHandler>>,
    sweep_cursor: Mutex<usize>,
}

/// In-memory [`Broker`] for a single node.
#[derive(Clone)]
pub struct MemoryBroker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker").finish_non_exhaustive()
    }
}

impl Default for MemoryBroker {
    fn default() -> Self {
        MemoryBroker::new(MemoryBrokerConfig::default())
    }
}

impl MemoryBroker {
    /// Creates the broker. When called inside a tokio runtime it also spawns the sweep task that
    /// frees expired streams and idempotency results (it ends when the broker is dropped); without
    /// a runtime expired data is only dropped lazily, when its channel is touched.
    pub fn new(config: MemoryBrokerConfig) -> MemoryBroker {
        let inner = Arc::new(Inner {
            config,
            shards: (0..NUM_SHARDS).map(|_| Mutex::default()).collect(),
            handler: OnceLock::new(),
            sweep_cursor: Mutex::new(0),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(sweep_loop(Arc::downgrade(&inner), inner.config.sweep_interval));
        }
        MemoryBroker { inner }
    }

    fn shard(&self, channel: &str) -> &Mutex<Shard> {
        &self.inner.shards[shard_index(channel, NUM_SHARDS)]
    }

    fn handler(&self) -> Result<&Arc<dyn BrokerEventHandler>, BrokerError> {
        self.inner
            .handler
            .get()
            .ok_or_else(|| BrokerError::Failure("broker has no event handler".into()))
    }

    /// Examines the next `sweep_shards_per_tick` shards.
    pub fn sweep(&self) {
        self.inner.sweep_some(Instant::now());
    }

    /// Synchronous body of `publish`: the shard lock is held from the idempotency check to the
    /// delivery.
    fn publish_locked(
        &self,
        channel: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, BrokerError> {
        let handler = self.handler()?.clone();
        let now = Instant::now();
        let mut shard = self.shard(channel).lock();
        if let Some(key) = opts.idempotency_key.as_deref() {
            if let Some(position) = shard.cached_result(channel, key, now) {
                return Ok(PublishResult {
                    position,
                    suppressed: true,
                });
            }
        }
        let publication = Publication {
            data,
            info: opts.client_info.clone(),
            tags: opts.tags.clone(),
            time: clock::unix_millis(),
            version: opts.version,
            ..Default::default()
        };
        let with_history = opts.history_size > 0 && !opts.history_ttl.is_zero();
        let (publication, position, prev) = if with_history {
            let meta_ttl = opts
                .history_meta_ttl
                .unwrap_or(self.inner.config.history_meta_ttl);
            let stream = shard.stream(channel, now);
            stream.items_expire_at = Some(now + opts.history_ttl);
            stream.meta_expire_at = (!meta_ttl.is_zero()).then(|| now + meta_ttl);
            if opts.version > 0 && stream.is_stale_version(opts.version, &opts.version_epoch) {
                return Ok(PublishResult {
                    position: stream.position(),
                    suppressed: true,
                });
            }
            let prev = if opts.delta { stream.last() } else { None };
            let publication = stream.add(publication, opts.history_size, opts.version, &opts.version_epoch);
            (publication, stream.position(), prev)
        } else {
            (Arc::new(publication), StreamPosition::default(), None)
        };
        if let Some(key) = opts.idempotency_key {
            let ttl = opts
                .idempotent_result_ttl
                .unwrap_or(DEFAULT_IDEMPOTENT_RESULT_TTL);
            shard.results.insert(
                (channel.to_string(), key),
                CachedResult {
                    position: position.clone(),
                    expire_at: now + ttl,
                },
            );
        }
        handler.handle_publication(channel, publication, position.clone(), opts.delta, prev);
        Ok(PublishResult {
            position,
            suppressed: false,
        })
    }

    fn history_locked(&self, channel: &str, opts: HistoryOptions) -> HistoryResult {
        let now = Instant::now();
        let meta_ttl = opts.meta_ttl.unwrap_or(self.inner.config.history_meta_ttl);
        let mut shard = self.shard(channel).lock();
        let stream = shard.stream(channel, now);
        // Reading keeps the meta alive (and creates it): a subscriber that learned this epoch
        // must see the same epoch when the first publication arrives.
        if !meta_ttl.is_zero() {
            stream.meta_expire_at = Some(now + meta_ttl);
        }
        let publications = stream
            .get(opts.since.as_ref(), opts.limit, opts.reverse)
            .into_iter()
            .map(|p| (*p).clone())
            .collect();
        HistoryResult {
            publications,
            position: stream.position(),
        }
    }
}

impl Inner {
    fn sweep_some(&self, now: Instant) {
        let count = self.config.sweep_shards_per_tick.clamp(1, NUM_SHARDS);
        let start = {
            let mut cursor = self.sweep_cursor.lock();
            let start = *cursor;
            *cursor = (start + count) % NUM_SHARDS;
            start
        };
        for i in 0..count {
            self.shards[(start + i) % NUM_SHARDS].lock().sweep(now);
        }
    }
}

async fn sweep_loop(inner: Weak<Inner>, interval: Duration) {
    let interval = interval.max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(interval).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.sweep_some(Instant::now());
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn register_event_handler(&self, handler: Arc<dyn BrokerEventHandler>) {
        let _ = self.inner.handler.set(handler);
    }

    async fn publish(
        &self,
        channel: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, BrokerError> {
        self.publish_locked(channel, data, opts)
    }

    async fn publish_join(&self, channel: &str, info: ClientInfo) -> Result<(), BrokerError> {
        self.handler()?.handle_join(channel, info);
        Ok(())
    }

    async fn publish_leave(&self, channel: &str, info: ClientInfo) -> Result<(), BrokerError> {
        self.handler()?.handle_leave(channel, info);
        Ok(())
    }

    async fn subscribe(&self, _channels: &[String]) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn unsubscribe(&self, _channels: &[String]) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn history(&self, channel: &str, opts: HistoryOptions) -> Result<HistoryResult, BrokerError> {
        Ok(self.history_locked(channel, opts))
    }

    async fn remove_history(&self, channel: &str) -> Result<(), BrokerError> {
        let mut shard = self.shard(channel).lock();
        if let Some(stream) = shard.streams.get_mut(channel) {
            stream.clear();
        }
        Ok(())
    }
}
