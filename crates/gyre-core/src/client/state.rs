//! Per-connection state shared between the session task and the hub: what the client is, and where
//! each of its subscriptions stands.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::broker::StreamPosition;

/// Lifecycle of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Waiting for a successful `connect`.
    Connecting,
    Connected,
    /// Cleanup started; nothing may be added any more.
    Closed,
}

/// Mutable connection state, behind the client's mutex. Never held across `.await`.
pub(crate) struct ClientState {
    pub(crate) status: Status,
    pub(crate) user: String,
    pub(crate) info: Bytes,
    pub(crate) meta: Option<Bytes>,
    /// Unix seconds; 0 = never expires.
    pub(crate) exp: i64,
    /// Boxed: a map allocates room for several entries at once, and most connections have one or
    /// two subscriptions; boxing keeps that room at a pointer per slot.
    pub(crate) channels: HashMap<String, Box<ChannelState>>,
}

impl ClientState {
    /// Applies a refresh: the new expiry (0 = never; `expires: false` promises no further expiry,
    /// so none is kept) and the info and meta when the reply replaces them.
    pub(crate) fn refreshed(&mut self, expire_at: i64, info: Option<Bytes>, meta: Option<Bytes>) {
        self.exp = expire_at.max(0);
        if let Some(info) = info {
            self.info = info;
        }
        if meta.is_some() {
            self.meta = meta;
        }
    }

    pub(crate) fn new() -> ClientState {
        ClientState {
            status: Status::Connecting,
            user: String::new(),
            info: Bytes::new(),
            meta: None,
            exp: 0,
            channels: HashMap::new(),
        }
    }
}

/// A publication that arrived while its subscription was being established.
#[derive(Debug)]
pub(crate) struct Buffered {
    pub(crate) offset: u64,
    pub(crate) epoch: String,
    /// `None` when the subscription's tags filter rejected it: it is not sent, but it still
    /// advances the position when merged.
    pub(crate) data: Option<Bytes>,
}

/// Where one subscription stands.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Reserved by a subscribe in progress. Once the subscription is registered in the hub,
    /// publications are held here until the subscribe reply is queued, so that none is lost and
    /// none overtakes the reply.
    Pending { buffer: Vec<Buffered>, bytes: usize },
    /// Established: publications flow straight to the outbox.
    Live,
    /// Insufficient state was detected; publications are dropped until the session removes the
    /// subscription.
    Failed,
}

#[derive(Debug)]
pub(crate) struct ChannelState {
    /// Identifies this subscription attempt in the hub, so that the cleanup of an older attempt
    /// never removes a newer one.
    pub(crate) gen: u64,
    pub(crate) phase: Phase,
    pub(crate) server_side: bool,
    /// What created the subscription (reported to the application through `ClientRef`).
    pub(crate) source: crate::options::SubscriptionSource,
    pub(crate) client_side_refresh: bool,
    pub(crate) emit_presence: bool,
    pub(crate) emit_join_leave: bool,
    pub(crate) push_join_leave: bool,
    /// Positioning (or recovery) is on: offsets are tracked and gaps reported.
    pub(crate) positioned: bool,
    /// `chan_info` of this client in this channel.
    pub(crate) info: Bytes,
    /// Unix seconds; 0 = never.
    pub(crate) expire_at: i64,
    pub(crate) position: StreamPosition,
    /// When the position was last known to be right: a publication advanced it, or a periodic
    /// check agreed with the stream top. The next periodic check is due a check delay later.
    pub(crate) position_confirmed: Instant,
    /// A periodic check saw the stream top ahead of the position; the publications up to it may
    /// still be on their way through PUB/SUB, so the gap is reported only if they have not
    /// arrived by the given deadline.
    pub(crate) position_suspect: Option<(StreamPosition, Instant)>,
    pub(crate) history_meta_ttl: Option<Duration>,
    /// Fossil delta compression was negotiated: every publication goes out in delta form.
    pub(crate) delta: bool,
    /// Position of the last publication whose whole payload the client holds, on a delta
    /// subscription: a patch is sent only against exactly that publication. `None` until a full
    /// payload was sent, and after one without a position.
    pub(crate) delta_base: Option<StreamPosition>,
    /// The handler's identity for this subscription (`SubscribeReply::tag`).
    pub(crate) tag: u64,
}

impl ChannelState {
    pub(crate) fn reserved(gen: u64) -> Box<ChannelState> {
        Box::new(ChannelState {
            gen,
            phase: Phase::Pending {
                buffer: Vec::new(),
                bytes: 0,
            },
            server_side: false,
            source: crate::options::SubscriptionSource::Client,
            client_side_refresh: false,
            emit_presence: false,
            emit_join_leave: false,
            push_join_leave: false,
            positioned: false,
            info: Bytes::new(),
            expire_at: 0,
            position: StreamPosition::default(),
            position_confirmed: Instant::now(),
            position_suspect: None,
            history_meta_ttl: None,
            delta: false,
            delta_base: None,
            tag: 0,
        })
    }

    pub(crate) fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Live)
    }
}

/// What to do with a live publication on a positioned subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Deliver,
    /// Older than what the client already has (PUB/SUB lag): skip silently.
    Skip,
    /// A gap or an epoch change: the client must recover.
    Insufficient,
}

/// Advances `current` past a publication at `offset` in `epoch`, or says why it cannot.
///
/// An unknown epoch (the stream did not exist when the subscription read its position) is
/// adopted only from the stream's first publication, offset 1, which the hub stamps with the
/// epoch: any other publication of an unknown epoch proves that something was missed.
pub(crate) fn advance_position(current: &mut StreamPosition, offset: u64, epoch: &str) -> Verdict {
    if epoch != current.epoch {
        if current.epoch.is_empty() && current.offset == 0 && offset == 1 {
            current.epoch = epoch.to_string();
        } else {
            return Verdict::Insufficient;
        }
    }
    let next = current.offset + 1;
    if offset > next {
        Verdict::Insufficient
    } else if offset < next {
        Verdict::Skip
    } else {
        current.offset = offset;
        Verdict::Deliver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(offset: u64, epoch: &str) -> StreamPosition {
        StreamPosition {
            offset,
            epoch: epoch.into(),
        }
    }

    #[test]
    fn position_rules() {
        let mut p = pos(5, "e");
        assert_eq!(advance_position(&mut p, 6, "e"), Verdict::Deliver);
        assert_eq!(p.offset, 6);
        assert_eq!(advance_position(&mut p, 6, "e"), Verdict::Skip);
        assert_eq!(advance_position(&mut p, 8, "e"), Verdict::Insufficient);
        assert_eq!(advance_position(&mut p, 7, "x"), Verdict::Insufficient);
        let mut empty = pos(0, "");
        assert_eq!(advance_position(&mut empty, 1, "new"), Verdict::Deliver);
        assert_eq!(empty, pos(1, "new"));
    }

    #[test]
    fn unknown_epoch_is_adopted_only_from_offset_one() {
        let mut empty = pos(0, "");
        assert_eq!(advance_position(&mut empty, 2, "new"), Verdict::Insufficient);
        assert_eq!(empty, pos(0, ""));
        // A known epoch is never replaced.
        let mut known = pos(0, "old");
        assert_eq!(advance_position(&mut known, 1, "new"), Verdict::Insufficient);
        // The same (empty) epoch on both sides is an ordinary offset comparison.
        let mut none = pos(0, "");
        assert_eq!(advance_position(&mut none, 1, ""), Verdict::Deliver);
    }
}
