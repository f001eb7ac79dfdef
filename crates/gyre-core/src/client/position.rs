//! The periodic stream position check of positioned subscriptions.
//!
//! Live publications prove a subscription's position as they come: a lost one shows as an offset
//! jump on the next. What they cannot show is a lost publication that nothing follows, so a
//! positioned subscription that had no traffic for `channel_position_check_delay` compares its
//! position with the stream top read from the broker, and a mismatch is insufficient state
//! (2500 for a client-side subscription, 3010 for a server-side one).
//!
//! A check must never fire for a channel that lost nothing (reliability #11). The cases, and why
//! each is safe:
//!
//! * Same epoch, same offset: the idle steady state, including the empty stream (offset 0).
//! * Same epoch, client behind: publications were lost — or are still on their way through
//!   PUB/SUB when the check races an in-flight publication. The reference reports at once (it
//!   only narrows the race by checking after a traffic-free delay); Gyre reports only if the
//!   position has not reached the top seen after a short grace, so a late delivery is not a gap.
//!   With the memory broker no grace is ever needed: appending and delivering happen under one
//!   lock, and the position is read after the top, so it already includes everything below it.
//! * Same epoch, client ahead: the stream lost publications the client has (a failover without
//!   the latest writes); reported. Publications delivered after the top was read also put the
//!   position above it, so only a position that was already ahead before the read counts.
//! * Another epoch, top offset 0: the stream was forgotten (its meta expired, or it was never
//!   kept) and nothing was published since. Nothing can have been missed, so this is not reported;
//!   the first publication of the new incarnation carries the new epoch, which the live check
//!   reports as an epoch change if the client's position is still the old one.
//! * Another epoch with publications: the stream was recreated and written to; reported, unless
//!   the subscription never knew an epoch and the first publication may still be in flight
//!   (treated like "behind").
//!
//! The check reads the top with the subscription's history meta TTL, which keeps an idle stream's
//! meta alive exactly as the subscribe read did.

use std::time::Duration;

use tokio::time::Instant;

use super::recovery;
use super::session::Session;
use super::state::{ChannelState, Phase};
use crate::broker::StreamPosition;
use crate::disconnect::{Disconnect, Unsubscribe};

/// How long a position behind the stream top may wait for the publications in flight.
const CONFIRM_GRACE: Duration = Duration::from_secs(1);

/// The result of comparing a position with the stream top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    Valid,
    /// The top is ahead; decided after the grace.
    Behind,
    Invalid,
}

/// Judges a position against the stream top. `before` is the position when the check started
/// (before the top was read), `now` the position after the read.
pub(super) fn judge(before: &StreamPosition, now: &StreamPosition, top: &StreamPosition) -> Check {
    if now.epoch == top.epoch {
        if now.offset == top.offset {
            Check::Valid
        } else if now.offset < top.offset {
            Check::Behind
        } else if before.epoch == top.epoch && before.offset > top.offset {
            Check::Invalid
        } else {
            Check::Valid
        }
    } else if top.offset == 0 {
        Check::Valid
    } else if now.epoch.is_empty() && now.offset == 0 {
        Check::Behind
    } else {
        Check::Invalid
    }
}

/// Whether a position waited on caught up with the top seen by the check.
fn caught_up(position: &StreamPosition, top: &StreamPosition) -> bool {
    position.epoch == top.epoch && position.offset >= top.offset
}

fn due_at(ch: &ChannelState, delay: Duration) -> Instant {
    match &ch.position_suspect {
        Some((_, at)) => *at,
        None => ch.position_confirmed + delay,
    }
}

fn checked(ch: &ChannelState) -> bool {
    ch.positioned && ch.is_live()
}

impl Session {
    /// Arms the position check timer at the earliest due check. Publications only move a
    /// subscription's deadline later, so a timer armed too early just finds nothing to do.
    pub(super) fn schedule_position_check(&mut self) {
        let delay = self.node.config.channel_position_check_delay;
        if delay.is_zero() {
            self.timers.position = None;
            return;
        }
        let state = self.client.state.lock();
        self.timers.position = state
            .channels
            .values()
            .filter(|c| checked(c))
            .map(|c| due_at(c, delay))
            .min();
    }

    /// Runs the checks that are due. The state lock is taken only around each comparison, never
    /// across the broker read.
    pub(super) async fn check_positions(&mut self) {
        let delay = self.node.config.channel_position_check_delay;
        if delay.is_zero() {
            self.timers.position = None;
            return;
        }
        let grace = CONFIRM_GRACE.min(delay);
        let now = Instant::now();
        let mut confirms = Vec::new();
        let mut checks = Vec::new();
        {
            let state = self.client.state.lock();
            for (channel, ch) in state.channels.iter().filter(|(_, c)| checked(c)) {
                match &ch.position_suspect {
                    Some((top, at)) if *at <= now => confirms.push((channel.clone(), ch.gen, top.clone())),
                    Some(_) => {}
                    None if ch.position_confirmed + delay <= now => {
                        checks.push((channel.clone(), ch.gen, ch.position.clone(), ch.history_meta_ttl))
                    }
                    None => {}
                }
            }
        }
        let mut failed = Vec::new();
        for (channel, gen, top) in confirms {
            let mut state = self.client.state.lock();
            let Some(ch) = state
                .channels
                .get_mut(&channel)
                .filter(|c| c.gen == gen && checked(c))
            else {
                continue;
            };
            ch.position_suspect = None;
            if caught_up(&ch.position, &top) {
                ch.position_confirmed = Instant::now();
            } else {
                ch.phase = Phase::Failed;
                failed.push((channel, gen, ch.server_side));
            }
        }
        for (channel, gen, before, meta_ttl) in checks {
            let top = match recovery::stream_top(&self.node, &channel, meta_ttl).await {
                Ok(top) => top,
                Err(e) => {
                    // Unknown is not a mismatch: check again a delay later.
                    tracing::warn!(channel, error = %e, "position check: reading the stream top failed");
                    self.update_channel(&channel, gen, |ch| ch.position_confirmed = Instant::now());
                    continue;
                }
            };
            let mut state = self.client.state.lock();
            let Some(ch) = state
                .channels
                .get_mut(&channel)
                .filter(|c| c.gen == gen && checked(c))
            else {
                continue;
            };
            match judge(&before, &ch.position, &top) {
                Check::Valid => ch.position_confirmed = Instant::now(),
                Check::Behind => ch.position_suspect = Some((top, Instant::now() + grace)),
                Check::Invalid => {
                    ch.phase = Phase::Failed;
                    failed.push((channel, gen, ch.server_side));
                }
            }
        }
        for (channel, gen, server_side) in failed {
            tracing::debug!(channel, client = %self.client.id, "insufficient state from the position check");
            if server_side {
                return self.close(Disconnect::INSUFFICIENT_STATE);
            }
            self.unsubscribe_with_push(&channel, Some(gen), Unsubscribe::INSUFFICIENT_STATE)
                .await;
        }
        self.schedule_position_check();
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
    fn idle_positions_are_valid() {
        assert_eq!(judge(&pos(5, "e"), &pos(5, "e"), &pos(5, "e")), Check::Valid);
        assert_eq!(judge(&pos(0, "e"), &pos(0, "e"), &pos(0, "e")), Check::Valid);
        // Forgotten stream, nothing published since.
        assert_eq!(judge(&pos(5, "e"), &pos(5, "e"), &pos(0, "new")), Check::Valid);
        assert_eq!(judge(&pos(0, ""), &pos(0, ""), &pos(0, "new")), Check::Valid);
    }

    #[test]
    fn traffic_during_the_read_is_valid() {
        assert_eq!(judge(&pos(5, "e"), &pos(7, "e"), &pos(6, "e")), Check::Valid);
    }

    #[test]
    fn mismatches() {
        assert_eq!(judge(&pos(5, "e"), &pos(5, "e"), &pos(6, "e")), Check::Behind);
        assert_eq!(judge(&pos(0, ""), &pos(0, ""), &pos(1, "e")), Check::Behind);
        assert_eq!(judge(&pos(7, "e"), &pos(7, "e"), &pos(6, "e")), Check::Invalid);
        assert_eq!(judge(&pos(5, "e"), &pos(5, "e"), &pos(1, "new")), Check::Invalid);
        assert!(caught_up(&pos(6, "e"), &pos(6, "e")));
        assert!(!caught_up(&pos(5, "e"), &pos(6, "e")));
        assert!(!caught_up(&pos(9, "x"), &pos(6, "e")));
    }
}
