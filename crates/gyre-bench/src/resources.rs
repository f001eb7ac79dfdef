//! Server and bench CPU/memory over the run: point readings for the idle and publish windows,
//! and a once-a-second series while publishing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::proc_stats::{cores_between, ProcReader, ProcSample};

#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    server: Option<ProcReader>,
    own: ProcReader,
}

/// Readings of both processes at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    pub(crate) server: Option<ProcSample>,
    pub(crate) own: Option<ProcSample>,
}

/// Usage between two snapshots.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Usage {
    /// Server CPU cores used on average (None without --server-pid).
    pub(crate) server_cpu_cores: Option<f64>,
    pub(crate) server_rss_kib_start: Option<u64>,
    pub(crate) server_rss_kib_end: Option<u64>,
    /// CPU cores the bench itself used (it shares the machine with the server).
    pub(crate) bench_cpu_cores: Option<f64>,
}

impl Monitor {
    pub(crate) fn new(server_pid: Option<u32>) -> Monitor {
        Monitor {
            server: server_pid.map(ProcReader::for_pid),
            own: ProcReader::for_self(),
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            server: self.server.as_ref().and_then(ProcReader::sample),
            own: self.own.sample(),
        }
    }
}

pub(crate) fn usage(a: &Snapshot, b: &Snapshot) -> Usage {
    let cores = |x: &Option<ProcSample>, y: &Option<ProcSample>| match (x, y) {
        (Some(x), Some(y)) => Some(round3(cores_between(x, y))),
        _ => None,
    };
    Usage {
        server_cpu_cores: cores(&a.server, &b.server),
        server_rss_kib_start: a.server.map(|s| s.rss_kib),
        server_rss_kib_end: b.server.map(|s| s.rss_kib),
        bench_cpu_cores: cores(&a.own, &b.own),
    }
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Samples `seconds` one-second intervals starting at `from`: the usage over the whole span and
/// per second.
pub(crate) async fn sample_window(monitor: Monitor, from: Instant, seconds: usize) -> (Usage, Vec<Usage>) {
    tokio::time::sleep_until(from).await;
    let first = monitor.snapshot();
    let mut last = first;
    let mut series = Vec::with_capacity(seconds);
    let mut tick = tokio::time::interval_at(from + Duration::from_secs(1), Duration::from_secs(1));
    for _ in 0..seconds {
        tick.tick().await;
        let now = monitor.snapshot();
        series.push(usage(&last, &now));
        last = now;
    }
    (usage(&first, &last), series)
}
