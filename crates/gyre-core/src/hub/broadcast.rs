//! Fan-out of publications, joins and leaves to a channel's local subscribers.
//!
//! Each message is encoded at most once per [`PreparedKey`] (protocol × direction × payload form)
//! and the resulting `Bytes` is shared by every subscriber of that kind; publications are encoded
//! lazily, as subscribers ask for a form (see `prepared.rs`). The shard read lock is held for the
//! loop; delivering to a client only takes that client's state lock and queues into its outbox,
//! so nothing here blocks or awaits.

use bytes::Bytes;

use super::prepared::PreparedPublication;
use super::Hub;
use crate::broker::StreamPosition;
use crate::client::{encode_push_for, Delivery, PreparedKey};
use crate::disconnect::Disconnect;
use gyre_protocol::{ClientInfo, Join, Leave, Publication, Push};

/// Encodings computed so far for one message, one per [`PreparedKey`] flavour.
type Prepared = [Option<Option<Bytes>>; PreparedKey::FLAVOURS];

/// The publication as clients see it: no internal fields, and the epoch only on offset 1 so that a
/// client which subscribed to an empty stream learns it.
fn wire_publication(channel: &str, publication: &Publication, position: &StreamPosition) -> Publication {
    let offset = if position.offset > 0 {
        position.offset
    } else {
        publication.offset
    };
    Publication {
        data: publication.data.clone(),
        info: publication.info.clone(),
        offset,
        tags: publication.tags.clone(),
        delta: false,
        time: 0,
        channel: if publication.channel == channel {
            String::new()
        } else {
            publication.channel.clone()
        },
        key: publication.key.clone(),
        removed: publication.removed,
        score: publication.score,
        epoch: if offset == 1 {
            position.epoch.clone()
        } else {
            String::new()
        },
        prev_data: Bytes::new(),
        version: publication.version,
    }
}

/// What one publication's fan-out did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BroadcastStats {
    /// Encodings made (at most one per [`PreparedKey`] in use).
    pub(crate) encodings: usize,
    /// Subscribers whose tags filter rejected the publication.
    pub(crate) filtered: usize,
}

impl Hub {
    /// Delivers a publication to every local subscriber of `channel`. `prev` is the stream's
    /// previous publication when the publisher asked for delta compression.
    pub(crate) fn broadcast_publication(
        &self,
        channel: &str,
        publication: &Publication,
        position: &StreamPosition,
        prev: Option<&Publication>,
        lag_exceeded: bool,
    ) -> BroadcastStats {
        let wire = wire_publication(channel, publication, position);
        let mut prepared = PreparedPublication::new(channel, wire, position, prev);
        let mut filtered = 0;
        let shard = self.sub_shard(channel).read();
        let Some(subs) = shard.channels.get(channel) else {
            return BroadcastStats::default();
        };
        let now = tokio::time::Instant::now();
        for sub in subs.values() {
            // Evaluated only for subscribers that have a filter: the common case costs nothing.
            let passes = sub.filter.as_ref().is_none_or(|f| f.matches(&publication.tags));
            if !passes {
                filtered += 1;
            }
            let delivery = Delivery {
                passes,
                lag_exceeded,
                now,
            };
            sub.client.deliver_publication(channel, &mut prepared, delivery);
        }
        BroadcastStats {
            encodings: prepared.encodings_made(),
            filtered,
        }
    }

    pub(crate) fn broadcast_join(&self, channel: &str, info: &ClientInfo) {
        let push = |_: PreparedKey| Push {
            channel: channel.to_string(),
            join: Some(Join {
                info: Some(info.clone()),
            }),
            ..Default::default()
        };
        self.broadcast_join_leave(channel, push, "join");
    }

    pub(crate) fn broadcast_leave(&self, channel: &str, info: &ClientInfo) {
        let push = |_: PreparedKey| Push {
            channel: channel.to_string(),
            leave: Some(Leave {
                info: Some(info.clone()),
            }),
            ..Default::default()
        };
        self.broadcast_join_leave(channel, push, "leave");
    }

    fn broadcast_join_leave(&self, channel: &str, make: impl Fn(PreparedKey) -> Push, kind: &'static str) {
        let mut prepared: Prepared = Default::default();
        let shard = self.sub_shard(channel).read();
        let Some(subs) = shard.channels.get(channel) else {
            return;
        };
        for sub in subs.values() {
            // Checked before encoding so that a payload a JSON client cannot read only closes
            // clients that would actually have received it.
            if !sub.client.wants_join_leave(channel) {
                continue;
            }
            let key = sub.client.key;
            let data = prepared[key.index()].get_or_insert_with(|| encode_push_for(key, make(key)).ok());
            match data {
                Some(data) => sub.client.deliver_join_leave(channel, data, kind),
                None => sub.client.request_close(Disconnect::INAPPROPRIATE_PROTOCOL),
            }
        }
    }
}
