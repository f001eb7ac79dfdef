//! Latency histograms and per-second counters of the measurement window.
//!
//! Subscribers do not lock anything per message: each keeps a [`SampleBatch`] and hands full
//! batches to the shared [`DeliveryRecorder`]. Whether a sample counts is decided by its send
//! time, so deliveries of publications sent during the warm-up (or after the window) are checked
//! for order and loss but left out of the latency and throughput numbers.

use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies are recorded in microseconds, up to ten minutes (larger values are clamped).
const MAX_US: u64 = 600_000_000;
const BATCH: usize = 256;

pub(crate) fn new_histogram(significant_digits: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, significant_digits).expect("valid histogram bounds")
}

/// Records `us` (clamped into the histogram's range).
pub(crate) fn record_us(h: &mut Histogram<u64>, us: u64) {
    h.saturating_record(us.clamp(1, MAX_US));
}

/// The measurement window in Unix nanoseconds, `[start, end)`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Window {
    pub(crate) start_ns: u64,
    pub(crate) end_ns: u64,
}

impl Window {
    /// Second of the window `ts_ns` falls in, `None` outside the window.
    pub(crate) fn second(&self, ts_ns: u64) -> Option<usize> {
        (ts_ns >= self.start_ns && ts_ns < self.end_ns)
            .then(|| ((ts_ns - self.start_ns) / 1_000_000_000) as usize)
    }

    pub(crate) fn seconds(&self) -> usize {
        (self.end_ns.saturating_sub(self.start_ns)).div_ceil(1_000_000_000) as usize
    }
}

/// End-to-end latency of deliveries, overall and per second of send time.
#[derive(Debug)]
pub(crate) struct DeliveryRecorder {
    window: Window,
    pub(crate) total: Histogram<u64>,
    pub(crate) per_second: Vec<Histogram<u64>>,
}

impl Default for DeliveryRecorder {
    fn default() -> Self {
        DeliveryRecorder {
            window: Window::default(),
            total: new_histogram(3),
            per_second: Vec::new(),
        }
    }
}

impl DeliveryRecorder {
    /// Must be set before the first publication is sent.
    pub(crate) fn set_window(&mut self, window: Window) {
        self.window = window;
        // Two significant digits per second keep a long run's series small.
        self.per_second = (0..window.seconds()).map(|_| new_histogram(2)).collect();
    }

    pub(crate) fn record(&mut self, sent_ns: u64, received_ns: u64) {
        let Some(sec) = self.window.second(sent_ns) else {
            return;
        };
        let us = received_ns.saturating_sub(sent_ns) / 1000;
        record_us(&mut self.total, us);
        if let Some(h) = self.per_second.get_mut(sec) {
            record_us(h, us);
        }
    }
}

/// A subscriber's pending samples `(sent_ns, received_ns)`.
#[derive(Debug)]
pub(crate) struct SampleBatch {
    samples: Vec<(u64, u64)>,
    shared: Arc<Mutex<DeliveryRecorder>>,
}

impl SampleBatch {
    pub(crate) fn new(shared: Arc<Mutex<DeliveryRecorder>>) -> SampleBatch {
        SampleBatch {
            samples: Vec::new(),
            shared,
        }
    }

    pub(crate) fn push(&mut self, sent_ns: u64, received_ns: u64) {
        if self.samples.capacity() == 0 {
            // Allocated on first use: idle connections of a large run cost nothing here.
            self.samples.reserve_exact(BATCH);
        }
        self.samples.push((sent_ns, received_ns));
        if self.samples.len() >= BATCH {
            self.flush();
        }
    }

    pub(crate) fn flush(&mut self) {
        if self.samples.is_empty() {
            return;
        }
        let mut rec = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        for &(sent, received) in &self.samples {
            rec.record(sent, received);
        }
        drop(rec);
        self.samples.clear();
    }
}

impl Drop for SampleBatch {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Percentiles of a histogram in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Percentiles {
    pub(crate) count: u64,
    pub(crate) mean_us: f64,
    pub(crate) p50_us: u64,
    pub(crate) p90_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) p999_us: u64,
    pub(crate) max_us: u64,
}

impl Percentiles {
    pub(crate) fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            mean_us: (h.mean() * 10.0).round() / 10.0,
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn window_seconds() {
        let w = Window {
            start_ns: 10 * S,
            end_ns: 13 * S,
        };
        assert_eq!(w.seconds(), 3);
        assert_eq!(w.second(10 * S), Some(0));
        assert_eq!(w.second(12 * S + 5), Some(2));
        assert_eq!(w.second(13 * S), None);
        assert_eq!(w.second(9 * S), None);
    }

    #[test]
    fn batches_reach_the_recorder_and_warmup_is_excluded() {
        let shared = Arc::new(Mutex::new(DeliveryRecorder::default()));
        shared.lock().unwrap().set_window(Window {
            start_ns: 100 * S,
            end_ns: 102 * S,
        });
        let mut batch = SampleBatch::new(shared.clone());
        batch.push(99 * S, 99 * S + 5_000); // warm-up
        for i in 0..1000 {
            batch.push(100 * S + i, 100 * S + i + 1_000_000); // 1 ms
        }
        batch.push(101 * S, 101 * S + 3_000_000); // 3 ms in second 1
        drop(batch);
        let rec = shared.lock().unwrap();
        assert_eq!(rec.total.len(), 1001);
        assert_eq!(rec.per_second[0].len(), 1000);
        assert_eq!(rec.per_second[1].len(), 1);
        let p = Percentiles::of(&rec.total);
        assert!((995..=1005).contains(&p.p50_us), "{p:?}");
        assert!((2990..=3010).contains(&p.max_us), "{p:?}");
    }

    #[test]
    fn empty_percentiles_are_zero() {
        assert_eq!(Percentiles::of(&new_histogram(3)), Percentiles::default());
    }
}
