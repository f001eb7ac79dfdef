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
use crate::tags_filter::CompiledFilter;
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
///
/// Publications a tags filter rejects are dropped after the contiguity check: they are part of
/// the recovered range, not gaps in it.
pub(super) async fn recover_stream(
    node: &NodeInner,
    channel: &str,
    since: &StreamPosition,
    meta_ttl: Option<Duration>,
    filter: Option<&CompiledFilter>,
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
        Ok(history) => {
            let mut outcome = stream_outcome(history.publications, history.position, since);
            if let Some(filter) = filter {
                outcome.publications.retain(|p| filter.matches(&p.tags));
            }
            Ok(outcome)
        }
        // A broker that checks the epoch itself still has a top to start from.
        Err(BrokerError::UnrecoverablePosition) => {
            Ok(Recovery::failed(stream_top(node, channel, meta_ttl).await?))
        }
        Err(e) => Err(e),
    }
}

/// Cache mode: only the latest publication matters.
///
/// With a tags filter it is the latest one the filter accepts, looked for among the newest
/// `recovery_max_publication_limit` publications; whether the cache is recovered still depends on
/// the stream's latest publication. When none of them passes, the outcome is that of an empty
/// cache, as in the reference.
pub(super) async fn recover_cache(
    node: &NodeInner,
    channel: &str,
    since: &StreamPosition,
    meta_ttl: Option<Duration>,
    filter: Option<&CompiledFilter>,
) -> Result<Recovery, BrokerError> {
    let limit = match (filter, node.config.recovery_max_publication_limit) {
        (None, _) => 1,
        (Some(_), 0) => -1,
        (Some(_), max) => i32::try_from(max).unwrap_or(i32::MAX),
    };
    let opts = HistoryOptions {
        limit,
        since: None,
        reverse: true,
        meta_ttl,
    };
    let history = node.broker.history(channel, opts).await?;
    let latest_offset = history.publications.first().map(|p| p.offset);
    let chosen = history
        .publications
        .into_iter()
        .find(|p| filter.is_none_or(|f| f.matches(&p.tags)));
    let latest = latest_offset.zip(chosen);
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
///
/// `latest` is the offset of the stream's latest publication and the publication to deliver
/// (the same one unless a tags filter chose an older one).
fn cache_outcome(
    latest: Option<(u64, Publication)>,
    top: StreamPosition,
    since: &StreamPosition,
) -> Recovery {
    let at_top = since.offset > 0 && since.offset == top.offset && since.epoch == top.epoch;
    let Some((latest_offset, chosen)) = latest else {
        return Recovery {
            position: top,
            publications: Vec::new(),
            recovered: at_top,
        };
    };
    let recovered = latest_offset == top.offset;
    let publications = if recovered && !at_top {
        vec![client_publication(chosen)]
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

    fn latest(offset: u64) -> Option<(u64, Publication)> {
        pubs([offset]).pop().map(|p| (offset, p))
    }

    #[test]
    fn cache_returns_latest_only() {
        let latest = latest(7);
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
        let r = cache_outcome(latest(2), pos(3, "e"), &pos(0, ""));
        assert!(!r.recovered && r.publications.is_empty());
    }

    #[test]
    fn cache_delivers_the_chosen_publication_when_latest_is_top() {
        let chosen = pubs([5]).pop().unwrap();
        let r = cache_outcome(Some((7, chosen)), pos(7, "e"), &pos(0, ""));
        assert!(r.recovered);
        assert_eq!(offsets(&r), vec![5]);
    }
}
