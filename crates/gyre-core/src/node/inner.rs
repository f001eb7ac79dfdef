//! The node's shared state and the operations sessions use: subscription bookkeeping (hub +
//! broker), publishing, and target selection for server API operations.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::NodeConfig;
use crate::broker::{Broker, BrokerError, PublishResult};
use crate::client::ClientShared;
use crate::error::Error;
use crate::handler::ClientHandler;
use crate::hub::{shard_index, Hub, SubSettings};
use crate::observer::{NoopObserver, Observer};
use crate::options::{PublishOptions, Target};
use crate::presence::PresenceManager;

/// Shards of the broker subscription locks.
const NUM_SUB_LOCKS: usize = 16384;

/// Maps engine failures to the client/API error table.
pub(crate) fn broker_error(e: BrokerError) -> Error {
    match e {
        BrokerError::NotAvailable => Error::NOT_AVAILABLE,
        BrokerError::BadRequest(_) => Error::BAD_REQUEST,
        BrokerError::UnrecoverablePosition => Error::UNRECOVERABLE_POSITION,
        BrokerError::Failure(msg) => {
            tracing::warn!(error = %msg, "broker or presence failure");
            Error::INTERNAL
        }
    }
}

pub(crate) struct NodeInner {
    pub(crate) id: String,
    pub(crate) config: NodeConfig,
    pub(crate) handler: Arc<dyn ClientHandler>,
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) presence: Arc<dyn PresenceManager>,
    observer: RwLock<Arc<dyn Observer>>,
    pub(crate) hub: Hub,
    /// Serialise "first local subscriber → broker.subscribe" with "last one left →
    /// broker.unsubscribe" per channel. The only tokio mutex in the core: it is held across the
    /// broker call, which awaits. Nothing else is locked while it is held.
    sub_locks: Box<[tokio::sync::Mutex<()>]>,
    /// Cancelled at the end of shutdown: connections not in the hub close with 3001.
    pub(crate) shutdown: CancellationToken,
    shutting_down: AtomicBool,
    /// Every connection (session and writer) holds a token of this tracker.
    pub(crate) tasks: TaskTracker,
    pub(crate) started: Instant,
}

impl NodeInner {
    pub(crate) fn new(
        config: NodeConfig,
        handler: Arc<dyn ClientHandler>,
        broker: Arc<dyn Broker>,
        presence: Arc<dyn PresenceManager>,
    ) -> Arc<NodeInner> {
        Arc::new(NodeInner {
            id: uuid::Uuid::new_v4().to_string(),
            config,
            handler,
            broker,
            presence,
            observer: RwLock::new(Arc::new(NoopObserver)),
            hub: Hub::new(),
            sub_locks: (0..NUM_SUB_LOCKS).map(|_| tokio::sync::Mutex::new(())).collect(),
            shutdown: CancellationToken::new(),
            shutting_down: AtomicBool::new(false),
            tasks: TaskTracker::new(),
            started: Instant::now(),
        })
    }

    pub(crate) fn observer(&self) -> Arc<dyn Observer> {
        self.observer.read().clone()
    }

    pub(crate) fn set_observer(&self, observer: Arc<dyn Observer>) {
        *self.observer.write() = observer;
    }

    /// Returns false when shutdown had already begun.
    pub(crate) fn begin_shutdown(&self) -> bool {
        !self.shutting_down.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) async fn publish(
        &self,
        channel: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, Error> {
        self.observer().node_message_sent("publication");
        self.broker
            .publish(channel, data, opts)
            .await
            .map_err(broker_error)
    }

    /// Registers a subscription in the hub and, for the channel's first local subscriber, on the
    /// broker. On broker failure the hub entry is rolled back.
    pub(crate) async fn add_subscription(
        &self,
        channel: &str,
        client: &Arc<ClientShared>,
        gen: u64,
        settings: SubSettings,
    ) -> Result<(), BrokerError> {
        let _guard = self.sub_locks[shard_index(channel, NUM_SUB_LOCKS)].lock().await;
        let first = self.hub.add_sub(channel, client.clone(), gen, settings);
        if first {
            if let Err(e) = self.broker.subscribe(&[channel.to_string()]).await {
                self.hub.remove_sub(channel, &client.id, gen);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Removes one generation of a subscription; when that leaves the channel without local
    /// subscribers the node unsubscribes from the broker (still under the channel's lock, so a
    /// concurrent first subscriber waits and then subscribes again).
    pub(crate) async fn remove_subscription(&self, channel: &str, client_id: &str, gen: u64) {
        let _guard = self.sub_locks[shard_index(channel, NUM_SUB_LOCKS)].lock().await;
        let removed = self.hub.remove_sub(channel, client_id, gen);
        if removed.removed && removed.empty {
            if let Err(e) = self.broker.unsubscribe(&[channel.to_string()]).await {
                tracing::warn!(channel, error = %e, "broker unsubscribe failed");
            }
        }
    }

    /// Live connections selected by a server API target.
    pub(crate) fn targets(&self, target: &Target) -> Vec<Arc<ClientShared>> {
        let mut clients = self.hub.user_connections(&target.user);
        clients.retain(|c| {
            (target.client.is_empty() || *c.id == *target.client)
                && (target.session.is_empty() || c.session == target.session)
        });
        clients
    }
}
