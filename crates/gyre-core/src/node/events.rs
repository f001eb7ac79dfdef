//! The node as the broker's event handler: deliveries go straight to the hub.

use std::sync::{Arc, Weak};

use tokio::time::Instant;

use super::inner::NodeInner;
use crate::broker::{BrokerEventHandler, StreamPosition};
use crate::clock;
use gyre_protocol::{ClientInfo, Publication};

/// Holds the node weakly: the broker is owned by the node, so a strong reference would be a cycle.
pub(crate) struct NodeEvents {
    node: Weak<NodeInner>,
}

impl NodeEvents {
    pub(crate) fn new(node: &Arc<NodeInner>) -> NodeEvents {
        NodeEvents {
            node: Arc::downgrade(node),
        }
    }
}

impl BrokerEventHandler for NodeEvents {
    fn handle_publication(
        &self,
        channel: &str,
        publication: Arc<Publication>,
        position: StreamPosition,
        delta: bool,
        prev: Option<Arc<Publication>>,
    ) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        let observer = node.observer();
        observer.node_message_received("publication");
        let started = Instant::now();
        // A publication that spent too long in PUB/SUB may have been overtaken by history:
        // positioned subscribers are told to recover instead.
        let lag_exceeded = match node.config.channel_position_max_time_lag {
            Some(max) if publication.time > 0 => {
                clock::unix_millis() - publication.time > max.as_millis() as i64
            }
            _ => false,
        };
        // Brokers hand over the previous publication only for delta publishes; the flag is checked
        // anyway so that one that always sends it cannot turn delta on for other publications.
        let prev = prev.filter(|_| delta);
        let stats =
            node.hub
                .broadcast_publication(channel, &publication, &position, prev.as_deref(), lag_exceeded);
        if stats.filtered > 0 {
            observer.tags_filter_dropped(channel, stats.filtered);
        }
        observer.broadcast_duration("publication", started.elapsed());
    }

    fn handle_join(&self, channel: &str, info: ClientInfo) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        node.observer().node_message_received("join");
        node.hub.broadcast_join(channel, &info);
    }

    fn handle_leave(&self, channel: &str, info: ClientInfo) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        node.observer().node_message_received("leave");
        node.hub.broadcast_leave(channel, &info);
    }
}
