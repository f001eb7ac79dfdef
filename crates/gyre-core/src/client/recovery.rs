//! Recovery of missed publications on subscribe (`recover: true` with the client's last position).
//!
//! What is implemented today is the part that needs no history replay: a client whose position is
//! the stream top (same epoch) has missed nothing and is `recovered` with no publications. Any
//! other position is answered exactly as the reference answers a failed recovery: not recovered,
//! no publications, the current top — the SDK then knows it may have missed publications.
//! Replaying publications from history (stream and cache modes) plugs into [`recover`]: the caller
//! already puts `publications` into the reply and sets the subscription's position to
//! `position`, and publications that arrived during the subscribe are merged behind the reply by
//! the commit step (duplicates skipped, gaps reported).

use std::time::Duration;

use crate::broker::{BrokerError, StreamPosition};
use crate::node::inner::NodeInner;
use crate::options::HistoryOptions;
use gyre_protocol::Publication;

pub(super) struct RecoveryOutcome {
    /// The subscription's position once `publications` are applied.
    pub(super) position: StreamPosition,
    pub(super) publications: Vec<Publication>,
    pub(super) recovered: bool,
}

pub(super) async fn recover(
    node: &NodeInner,
    channel: &str,
    since: &StreamPosition,
    meta_ttl: Option<Duration>,
) -> Result<RecoveryOutcome, BrokerError> {
    let opts = HistoryOptions {
        limit: 0,
        meta_ttl,
        ..Default::default()
    };
    let top = node.broker.history(channel, opts).await?.position;
    let same_epoch = since.epoch.is_empty() || since.epoch == top.epoch;
    let recovered = same_epoch && since.offset == top.offset;
    Ok(RecoveryOutcome {
        position: top,
        publications: Vec::new(),
        recovered,
    })
}
