//! What both publisher kinds share: which channels a publisher owns, the pacing, and the
//! outcome it reports.

use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::stats::{new_histogram, record_us, Window};

/// One publisher's assignment.
#[derive(Debug, Clone)]
pub(crate) struct PubPlan {
    /// Channel indices this publisher owns (and nobody else publishes to).
    pub(crate) channels: Vec<usize>,
    /// Channel names, parallel to `channels`.
    pub(crate) names: Vec<String>,
    /// Time between two publications of this publisher; `None` = as fast as possible.
    pub(crate) interval: Option<Duration>,
    pub(crate) stop_at: Instant,
    pub(crate) window: Window,
    pub(crate) payload_size: usize,
    /// Offset of this publisher's first slot (see [`Pacer::with_phase`]).
    pub(crate) phase: Duration,
}

/// Splits `channels` among `publishers` round-robin: publisher j owns channels j, j+P, j+2P, ….
pub(crate) fn partition(channels: usize, publishers: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); publishers];
    for c in 0..channels {
        out[c % publishers].push(c);
    }
    out
}

/// Per-publisher interval for a total `rate` over `publishers`.
pub(crate) fn interval(rate: f64, publishers: usize) -> Option<Duration> {
    (rate > 0.0).then(|| Duration::from_secs_f64(publishers as f64 / rate))
}

/// Even pacing at a fixed interval. A publisher that falls behind catches up at most
/// `MAX_BACKLOG` worth of publications in a burst; beyond that the schedule slips, and the
/// achieved rate (reported) is lower than asked.
#[derive(Debug)]
pub(crate) struct Pacer {
    next: Instant,
    interval: Option<Duration>,
}

const MAX_BACKLOG: Duration = Duration::from_millis(10);

impl Pacer {
    /// A pacer whose first slot is `phase` from now. Publishers started together get phases
    /// spread over one interval: in step, P publishers would send in bursts of P and measure
    /// the server's queue behind each burst rather than its latency at the target rate.
    pub(crate) fn with_phase(interval: Option<Duration>, phase: Duration) -> Pacer {
        Pacer {
            next: Instant::now() + phase,
            interval,
        }
    }

    /// Waits for the next slot. Cancel-safe: the slot is only consumed when this returns.
    pub(crate) async fn wait(&mut self) {
        let Some(interval) = self.interval else {
            return;
        };
        tokio::time::sleep_until(self.next).await;
        let floor = Instant::now() - MAX_BACKLOG;
        self.next = self.next.max(floor) + interval;
    }
}

/// What a publisher did.
#[derive(Debug)]
pub(crate) struct PubOutcome {
    /// `(channel, publications accepted)`: sequence numbers 0..count were published.
    pub(crate) published: Vec<(usize, u64)>,
    /// Accepted publications with a send time inside the window.
    pub(crate) in_window: u64,
    pub(crate) per_second: Vec<u64>,
    /// Publish round trips inside the window, microseconds.
    pub(crate) rtt: Histogram<u64>,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

impl PubOutcome {
    pub(crate) fn new(plan: &PubPlan) -> PubOutcome {
        PubOutcome {
            published: plan.channels.iter().map(|&c| (c, 0)).collect(),
            in_window: 0,
            per_second: vec![0; plan.window.seconds()],
            rtt: new_histogram(3),
            errors: 0,
            first_error: None,
        }
    }

    /// Publication `k` (index into the plan's channels), sent at `sent_ns`, was accepted.
    pub(crate) fn accepted(&mut self, k: usize, sent_ns: u64, window: &Window) {
        self.published[k].1 += 1;
        if let Some(sec) = window.second(sent_ns) {
            self.in_window += 1;
            if let Some(n) = self.per_second.get_mut(sec) {
                *n += 1;
            }
        }
    }

    pub(crate) fn round_trip(&mut self, sent_ns: u64, rtt: Duration, window: &Window) {
        if window.second(sent_ns).is_some() {
            record_us(&mut self.rtt, rtt.as_micros() as u64);
        }
    }

    pub(crate) fn error(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_gives_each_channel_one_publisher() {
        let parts = partition(10, 4);
        assert_eq!(parts, vec![vec![0, 4, 8], vec![1, 5, 9], vec![2, 6], vec![3, 7]]);
        let mut all: Vec<usize> = parts.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn intervals() {
        assert_eq!(interval(1000.0, 4), Some(Duration::from_millis(4)));
        assert_eq!(interval(0.0, 4), None);
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_is_even_and_bounds_catch_up() {
        let mut p = Pacer::with_phase(Some(Duration::from_millis(5)), Duration::ZERO);
        let t0 = Instant::now();
        for _ in 0..4 {
            p.wait().await;
        }
        // Slots at 0, 5, 10, 15 ms.
        assert_eq!(Instant::now() - t0, Duration::from_millis(15));
        tokio::time::advance(Duration::from_millis(100)).await;
        // Far behind: at most MAX_BACKLOG (two slots here) goes out without waiting.
        let t1 = Instant::now();
        for _ in 0..3 {
            p.wait().await;
        }
        assert!(
            Instant::now() - t1 <= Duration::from_millis(5),
            "{:?}",
            Instant::now() - t1
        );
    }
}
