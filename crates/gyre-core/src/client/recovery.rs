//! Recovery of missed publications on subscribe (`recover: true` with the client's last position,
//! or a server-side position).
//!
//! Recovery never delivers part of a gap: either every publication after the client's offset up
//! to the stream top is returned, in order, with `recovered: true`, or nothing is returned and the
//! subscription starts from the current top with `recovered: false`.
//!
//! Publications that arrive through the broker while the subscription is being established are
//! not handled here: the subscription is registered in the hub before the history is read, the
//! hub parks them in the subscription's pending buffer, and the commit step delivers those newer
//! than the position established here (see `subscribe.rs`).

use std::time::Duration;

use super::history::client_publication;
use crate::broker::{BrokerError, StreamPosition};
use crate::node::inner::NodeInner;
use crate::options::HistoryOptions;
use gyre_protocol::Publication;

/// What a recovery attempt found.
#[derive(Debug)]
pub(super) struct Recovery {
    /// The stream top the attempt saw: where the subscription stands once `publications` are
    /// applied (or, when not recovered, where it starts).
    pub(super) position: StreamPosition,
    /// The missed publications in offset order; empty unless `recovered`.
    pub(super) publications: Vec<Publication>,
    pub(super) recovered: bool,
}

impl Recovery {
    fn failed(position: StreamPosition) -> Recovery {
        Recovery {
            position,
            publications: Vec::new(),
            recovered: false,
        }
    }
}

/// The current top of a channel's stream (no publications read).
pub(super) async fn stream_top(
    node: &NodeInner,
    channel: &str,
    meta_ttl: Option<Duration>,
) -> Result<StreamPosition, BrokerError> {
    let opts = HistoryOptions {
        limit: 0,
        meta_ttl,
        ..Default::default()
    };
    Ok(node.broker.history(channel, opts).await?.position)
}

/// Stream mode: the publications after `since`, at most `recovery_max_publication_limit` of them.
/// More missed publications than the limit leave the last one read short of the top, which the
/// contiguity check turns into `recovered: false`, so no extra read is needed to detect it.
pub(super) async fn recover_stream(
    node: &NodeInner,
    channel: &str,
    since: &StreamPosition,
    meta_ttl: Option<Duration>,
) -> Result<Recovery, BrokerError> {
    let limit = match node.config.recovery_max_publication_limit {
        0 => -1,
        max => i32::try_from(max).unwrap_or(i32::MAX),
    };
    let opts = HistoryOptions {
        limit,
        since: Some(since.clone()),
        reverse: false,
        meta_ttl,
    };
    match node.broker.history(channel, opts).await {
        Ok(history) => Ok(stream_outcome(history.publications, history.position, since)),
        // A broker that checks the epoch itself still has a top to start from.
        Err(BrokerError::UnrecoverablePosition) => {
            Ok(Recovery::failed(stream_top(node, channel, meta_ttl).await?))
        }
        Err(e) => Err(e),
    }
}

/// Cache mode: only the latest publication matters.
pub(super) async fn recover_cache(
    node: &NodeInner,
    channel: &str,
    since: &StreamPosition,
    meta_ttl: Option<Duration>,
) -> Result<Recovery, BrokerError> {
    let opts = HistoryOptions {
        limit: 1,
        since: None,
        reverse: true,
        meta_ttl,
    };
    let history = node.broker.history(channel, opts).await?;
    let latest = history.publications.into_iter().next();
    Ok(cache_outcome(latest, history.position, since))
}

/// Recovered iff the epoch matches (an empty client epoch is not checked, as in the reference)
/// and the publications are exactly `since + 1 ..= top`, or there are none and `since` is the top.
fn stream_outcome(publications: Vec<Publication>, top: StreamPosition, since: &StreamPosition) -> Recovery {
    if !since.epoch.is_empty() && since.epoch != top.epoch {
        return Recovery::failed(top);
    }
    let contiguous = match (publications.first(), publications.last()) {
        (Some(first), Some(last)) => {
            first.offset == since.offset + 1
                && last.offset == top.offset
                && publications.windows(2).all(|w| w[1].offset == w[0].offset + 1)
        }
        _ => since.offset == top.offset,
    };
    if !contiguous {
        return Recovery::failed(top);
    }
    Recovery {
        position: top,
        publications: publications.into_iter().map(client_publication).collect(),
        recovered: true,
    }
}

/// Recovered iff the latest publication is the top. A client already at the top (same epoch, a
/// real offset) needs nothing; without a latest publication only such a client is recovered.
fn cache_outcome(latest: Option<Publication>, top: StreamPosition, since: &StreamPosition) -> Recovery {
    let at_top = since.offset > 0 && since.offset == top.offset && since.epoch == top.epoch;
    let Some(latest) = latest else {
        return Recovery {
            position: top,
            publications: Vec::new(),
            recovered: at_top,
        };
    };
    let recovered = latest.offset == top.offset;
    let publications = if recovered && !at_top {
        vec![client_publication(latest)]
    } else {
        Vec::new()
    };
    Recovery {
        position: top,
        publications,
        recovered,
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

    fn pubs(offsets: impl IntoIterator<Item = u64>) -> Vec<Publication> {
        offsets
            .into_iter()
            .map(|offset| Publication {
                offset,
                time: 123,
                ..Default::default()
            })
            .collect()
    }

    fn offsets(r: &Recovery) -> Vec<u64> {
        r.publications.iter().map(|p| p.offset).collect()
    }

    #[test]
    fn stream_recovers_exact_gap() {
        let r = stream_outcome(pubs(4..=6), pos(6, "e"), &pos(3, "e"));
        assert!(r.recovered);
        assert_eq!(offsets(&r), vec![4, 5, 6]);
        assert_eq!(r.position, pos(6, "e"));
        // Broker-internal fields never reach clients.
        assert!(r.publications.iter().all(|p| p.time == 0));
    }

    #[test]
    fn stream_at_top_recovers_nothing() {
        let r = stream_outcome(Vec::new(), pos(6, "e"), &pos(6, "e"));
        assert!(r.recovered);
        assert!(r.publications.is_empty());
    }

    #[test]
    fn stream_failures_return_no_publications() {
        // Stale epoch.
        let r = stream_outcome(pubs(4..=6), pos(6, "e"), &pos(3, "old"));
        assert!(!r.recovered && r.publications.is_empty());
        // Evicted start.
        let r = stream_outcome(pubs(5..=6), pos(6, "e"), &pos(3, "e"));
        assert!(!r.recovered && r.publications.is_empty());
        // Limit reached before the top.
        let r = stream_outcome(pubs(4..=5), pos(6, "e"), &pos(3, "e"));
        assert!(!r.recovered && r.publications.is_empty());
        // Client ahead of the top.
        let r = stream_outcome(Vec::new(), pos(6, "e"), &pos(9, "e"));
        assert!(!r.recovered);
        assert_eq!(r.position, pos(6, "e"));
        // A hole inside the range.
        let r = stream_outcome(pubs([4, 6]), pos(6, "e"), &pos(3, "e"));
        assert!(!r.recovered);
    }

    #[test]
    fn stream_empty_client_epoch_is_not_checked() {
        let r = stream_outcome(pubs(1..=2), pos(2, "e"), &pos(0, ""));
        assert!(r.recovered);
        assert_eq!(offsets(&r), vec![1, 2]);
    }

    #[test]
    fn cache_returns_latest_only() {
        let latest = pubs([7]).pop();
        let r = cache_outcome(latest.clone(), pos(7, "e"), &pos(0, ""));
        assert!(r.recovered);
        assert_eq!(offsets(&r), vec![7]);
        // Already at the top: recovered, nothing to send.
        let r = cache_outcome(latest.clone(), pos(7, "e"), &pos(7, "e"));
        assert!(r.recovered && r.publications.is_empty());
        // Same offset in another epoch is not "at the top".
        let r = cache_outcome(latest, pos(7, "e"), &pos(7, "x"));
        assert_eq!(offsets(&r), vec![7]);
    }

    #[test]
    fn cache_without_latest() {
        let r = cache_outcome(None, pos(0, "e"), &pos(0, ""));
        assert!(!r.recovered && r.publications.is_empty());
        // History expired, the client already has the top.
        let r = cache_outcome(None, pos(3, "e"), &pos(3, "e"));
        assert!(r.recovered);
        // The latest publication is not the top.
        let r = cache_outcome(pubs([2]).pop(), pos(3, "e"), &pos(0, ""));
        assert!(!r.recovered && r.publications.is_empty());
    }
}
