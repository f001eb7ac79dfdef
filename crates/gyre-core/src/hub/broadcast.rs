//! Fan-out of publications, joins and leaves to a channel's local subscribers.
//!
//! Each message is encoded once per [`PreparedKey`] (protocol × direction: at most four
//! encodings) and the resulting `Bytes` is shared by every subscriber of that kind. The shard read
//! lock is held for the loop; delivering to a client only takes that client's state lock and
//! queues into its outbox, so nothing here blocks or awaits.

use bytes::Bytes;

use super::Hub;
use crate::broker::StreamPosition;
use crate::client::{encode_push_for, PreparedKey};
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

impl Hub {
    /// Delivers a publication to every local subscriber of `channel`. Returns how many encodings
    /// were made (for tests and metrics).
    pub(crate) fn broadcast_publication(
        &self,
        channel: &str,
        publication: &Publication,
        position: &StreamPosition,
        lag_exceeded: bool,
    ) -> usize {
        let wire = wire_publication(channel, publication, position);
        let mut prepared: Prepared = Default::default();
        let mut encodings = 0;
        let shard = self.sub_shard(channel).read();
        let Some(subs) = shard.channels.get(channel) else {
            return 0;
        };
        let now = tokio::time::Instant::now();
        for sub in subs.values() {
            let key = sub.client.key;
            let data = prepared[key.index()].get_or_insert_with(|| {
                encodings += 1;
                let push = Push {
                    channel: channel.to_string(),
                    r#pub: Some(wire.clone()),
                    ..Default::default()
                };
                encode_push_for(key, push).ok()
            });
            match data {
                Some(data) => sub
                    .client
                    .deliver_publication(channel, data, position, lag_exceeded, now),
                // Only JSON encoding can fail: the payload is not JSON, so this subscriber can
                // never receive it.
                None => sub.client.request_close(Disconnect::INAPPROPRIATE_PROTOCOL),
            }
        }
        encodings
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
