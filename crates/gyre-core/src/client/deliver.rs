//! Delivery of one broadcast publication to one subscriber: the position check, the tags filter
//! verdict and, on a delta subscription, the choice between a patch and the full payload.

use bytes::Bytes;
use tokio::time::Instant;

use super::state::{advance_position, Buffered, Phase, Verdict};
use super::{ClientShared, PayloadForm};
use crate::disconnect::Disconnect;
use crate::hub::PreparedPublication;

/// What the hub tells a subscriber besides the publication itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivery {
    /// The subscription has no tags filter, or its filter accepts the publication. A rejected
    /// publication is not sent but still advances the position, so the next one is no gap.
    pub(crate) passes: bool,
    /// The publication spent longer in PUB/SUB than `channel_position_max_time_lag`.
    pub(crate) lag_exceeded: bool,
    /// The broadcast's time, taken once for every subscriber.
    pub(crate) now: Instant,
}

impl ClientShared {
    /// A publication from the hub. Runs under the hub shard's read lock: synchronous, no I/O. The
    /// encoding this subscriber needs is made (once per kind of subscriber) under its state lock,
    /// because only that state says which form it needs.
    pub(crate) fn deliver_publication(
        &self,
        channel: &str,
        prepared: &mut PreparedPublication<'_>,
        delivery: Delivery,
    ) {
        let position = prepared.position();
        let mut state = self.state.lock();
        let Some(ch) = state.channels.get_mut(channel) else {
            return;
        };
        let verdict = match &mut ch.phase {
            Phase::Failed => return,
            Phase::Pending { buffer, bytes } => {
                // Held publications go out behind the subscribe reply, before the client holds
                // any base the hub could know of: on a delta subscription they are full.
                let data = if delivery.passes {
                    let form = if ch.delta {
                        PayloadForm::Full
                    } else {
                        PayloadForm::Plain
                    };
                    let Some(data) = prepared.encoded(self.key.with_form(form)) else {
                        drop(state);
                        self.request_close(Disconnect::INAPPROPRIATE_PROTOCOL);
                        return;
                    };
                    Some(data)
                } else {
                    None
                };
                *bytes += data.as_ref().map_or(0, Bytes::len);
                if self.max_queue > 0 && *bytes > self.max_queue {
                    drop(state);
                    self.request_close(Disconnect::SLOW);
                    return;
                }
                buffer.push(Buffered {
                    offset: position.offset,
                    epoch: position.epoch.clone(),
                    data,
                });
                return;
            }
            Phase::Live if !ch.positioned || position.offset == 0 => Verdict::Deliver,
            Phase::Live if delivery.lag_exceeded => Verdict::Insufficient,
            Phase::Live => {
                let verdict = advance_position(&mut ch.position, position.offset, &position.epoch);
                if verdict == Verdict::Deliver {
                    // Traffic proves the position; the periodic check waits for silence.
                    ch.position_confirmed = delivery.now;
                }
                verdict
            }
        };
        match verdict {
            Verdict::Deliver if !delivery.passes => {}
            Verdict::Deliver => {
                let data = if ch.delta {
                    // A patch only against exactly what the client holds: after a filtered or
                    // skipped publication, or a full payload without a position, the base is
                    // not the stream's previous publication and the full payload goes out.
                    let patch = match &ch.delta_base {
                        Some(base) if prepared.patch_applies_to(base) => prepared.patch_for(self.key),
                        _ => None,
                    };
                    ch.delta_base = (position.offset > 0).then(|| position.clone());
                    patch.or_else(|| prepared.encoded(self.key.with_form(PayloadForm::Full)))
                } else {
                    prepared.encoded(self.key)
                };
                match data {
                    Some(data) => {
                        self.push(data, "publication");
                    }
                    // Only JSON encoding can fail: the payload is not JSON, so this subscriber can
                    // never receive it.
                    None => {
                        drop(state);
                        self.request_close(Disconnect::INAPPROPRIATE_PROTOCOL);
                    }
                }
            }
            Verdict::Skip => {}
            Verdict::Insufficient => {
                ch.phase = Phase::Failed;
                let (server_side, gen) = (ch.server_side, ch.gen);
                drop(state);
                self.insufficient_state(channel, gen, server_side);
            }
        }
    }
}
