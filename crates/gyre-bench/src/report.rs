//! The result of a run: every number, serializable to the `--json` file and printable as a
//! human summary. Comparison and plots read the same structure back.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::args::Args;
use crate::resources::Usage;
use crate::stats::Percentiles;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BenchResult {
    pub(crate) label: String,
    pub(crate) args: Args,
    pub(crate) host: HostReport,
    pub(crate) connect: ConnectReport,
    pub(crate) idle: Option<IdleReport>,
    pub(crate) publish: Option<PublishReport>,
    pub(crate) delivery: Option<DeliveryReport>,
    /// Server and bench resources over the measurement window.
    pub(crate) resources: Option<Usage>,
    /// One point per second of the measurement window.
    pub(crate) series: Vec<SeriesPoint>,
}

/// The machine the run shared: server and bench compete for these CPUs with anything else.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct HostReport {
    pub(crate) cpus: usize,
    pub(crate) load_1m_start: Option<f64>,
    pub(crate) load_1m_end: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ConnectReport {
    pub(crate) requested: usize,
    pub(crate) connected: usize,
    pub(crate) failed: usize,
    pub(crate) first_error: Option<String>,
    /// From the first connection attempt until the last one connected and subscribed.
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    pub(crate) server_rss_kib_before: Option<u64>,
    pub(crate) server_rss_kib_after: Option<u64>,
    /// (after − before) / connected.
    pub(crate) server_rss_kib_per_connection: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct IdleReport {
    pub(crate) seconds: f64,
    pub(crate) usage: Usage,
    /// Server CPU microseconds per second per idle connection.
    pub(crate) server_cpu_us_per_s_per_connection: Option<f64>,
    /// Connections that ended before the bench stopped them (any time in the run).
    #[serde(default)]
    pub(crate) connections_dropped: usize,
    #[serde(default)]
    pub(crate) first_connection_error: Option<String>,
    /// Server pings answered by all subscribers over the run.
    #[serde(default)]
    pub(crate) pings_answered: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PublishReport {
    pub(crate) publishers: usize,
    /// Publications per second asked for (0 = saturated).
    pub(crate) target_rate: f64,
    /// Publications sent inside the window.
    pub(crate) publications: u64,
    pub(crate) per_second: f64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    /// Publish round trips (HTTP request; NATS: PING/PONG after a batch of 64 when saturated).
    pub(crate) round_trip: Percentiles,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct DeliveryReport {
    /// Publications × subscribers of their channel, over the whole run (warm-up included).
    pub(crate) expected: u64,
    pub(crate) delivered: u64,
    pub(crate) lost: u64,
    pub(crate) gaps: u64,
    pub(crate) duplicates: u64,
    pub(crate) reorders: u64,
    /// Publication messages the bench could not read.
    pub(crate) unparsed: u64,
    /// Connections that ended before the bench stopped them.
    pub(crate) connections_dropped: usize,
    pub(crate) first_connection_error: Option<String>,
    /// Deliveries of publications sent inside the window, and per second of window.
    pub(crate) deliveries_in_window: u64,
    pub(crate) per_second: f64,
    /// Send → receive, publications sent inside the window.
    pub(crate) latency: Percentiles,
    /// Time from the last publication until everything expected arrived (or the grace ended).
    pub(crate) drain_seconds: f64,
    /// Server pings answered by all subscribers.
    pub(crate) pings_answered: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct SeriesPoint {
    pub(crate) second: usize,
    pub(crate) publications: u64,
    pub(crate) deliveries: u64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) server_cpu_cores: Option<f64>,
    pub(crate) server_rss_kib: Option<u64>,
    pub(crate) bench_cpu_cores: Option<f64>,
}

impl BenchResult {
    /// True when the run saw no losses, order anomalies, failed connections or errors.
    pub(crate) fn clean(&self) -> bool {
        let delivery_ok = self.delivery.as_ref().is_none_or(|d| {
            d.lost == 0
                && d.gaps == 0
                && d.duplicates == 0
                && d.reorders == 0
                && d.unparsed == 0
                && d.connections_dropped == 0
        });
        let publish_ok = self.publish.as_ref().is_none_or(|p| p.errors == 0);
        let idle_ok = self.idle.as_ref().is_none_or(|i| i.connections_dropped == 0);
        self.connect.failed == 0 && delivery_ok && publish_ok && idle_ok
    }

    pub(crate) fn summary(&self) -> String {
        let mut s = String::new();
        let a = &self.args;
        let _ = writeln!(
            s,
            "== {} ({}): {} connections, {} channels, {} publishers, rate {}, {} B payloads",
            self.label,
            a.wire_name(),
            a.connections,
            a.channels,
            a.effective_publishers(),
            rate_text(a.rate),
            a.payload_size
        );
        let h = &self.host;
        let _ = writeln!(
            s,
            "host      {} CPUs, load average (1 min) {} at start, {} at end",
            h.cpus,
            num(h.load_1m_start),
            num(h.load_1m_end)
        );
        let c = &self.connect;
        let _ = writeln!(
            s,
            "connect   {}/{} in {:.2} s ({:.0} conn/s), {} failed{}",
            c.connected,
            c.requested,
            c.seconds,
            c.per_second,
            c.failed,
            opt_err(&c.first_error)
        );
        if let Some(per) = c.server_rss_kib_per_connection {
            let _ = writeln!(
                s,
                "memory    server RSS {} → {} KiB: {:.1} KiB per connection",
                c.server_rss_kib_before.unwrap_or(0),
                c.server_rss_kib_after.unwrap_or(0),
                per
            );
        }
        if let Some(i) = &self.idle {
            let _ = writeln!(
                s,
                "idle      {:.0} s: server {} cores ({} µs CPU/s per connection), bench {} cores; \
                 {} pings answered, {} connections dropped{}",
                i.seconds,
                num(i.usage.server_cpu_cores),
                num(i.server_cpu_us_per_s_per_connection),
                num(i.usage.bench_cpu_cores),
                i.pings_answered,
                i.connections_dropped,
                opt_err(&i.first_connection_error)
            );
        }
        if let Some(p) = &self.publish {
            let rtt = if p.round_trip.count == 0 {
                "not measured".to_owned()
            } else {
                format!(
                    "p50 {} p99 {} max {}",
                    us(p.round_trip.p50_us),
                    us(p.round_trip.p99_us),
                    us(p.round_trip.max_us)
                )
            };
            let _ = writeln!(
                s,
                "publish   {} in window, {:.0}/s, {} errors{}; round trip {rtt}",
                p.publications,
                p.per_second,
                p.errors,
                opt_err(&p.first_error),
            );
            if p.target_rate > 0.0 && p.per_second < p.target_rate * 0.95 {
                let _ = writeln!(
                    s,
                    "          below the target rate {}/s: the server (or machine) could not keep up \
                     with {} publishers awaiting each publish",
                    p.target_rate, p.publishers
                );
            }
        }
        if let Some(d) = &self.delivery {
            let _ = writeln!(
                s,
                "deliver   {}/{} delivered, {:.0}/s in window; lost {} gaps {} dup {} reorder {} unparsed {} dropped conns {}{}",
                d.delivered,
                d.expected,
                d.per_second,
                d.lost,
                d.gaps,
                d.duplicates,
                d.reorders,
                d.unparsed,
                d.connections_dropped,
                opt_err(&d.first_connection_error)
            );
            let l = &d.latency;
            let _ = writeln!(
                s,
                "latency   p50 {} p90 {} p99 {} p99.9 {} max {} (mean {:.0} µs, {} samples); drained in {:.2} s",
                us(l.p50_us),
                us(l.p90_us),
                us(l.p99_us),
                us(l.p999_us),
                us(l.max_us),
                l.mean_us,
                l.count,
                d.drain_seconds
            );
        }
        if let Some(r) = &self.resources {
            let _ = writeln!(
                s,
                "resources server {} cores, RSS {} → {} KiB; bench {} cores",
                num(r.server_cpu_cores),
                r.server_rss_kib_start.map_or("-".into(), |v| v.to_string()),
                r.server_rss_kib_end.map_or("-".into(), |v| v.to_string()),
                num(r.bench_cpu_cores)
            );
        }
        let _ = writeln!(
            s,
            "result    {}",
            if self.clean() { "CLEAN" } else { "ANOMALIES" }
        );
        s
    }
}

pub(crate) fn rate_text(rate: f64) -> String {
    if rate > 0.0 {
        format!("{rate}/s")
    } else {
        "saturated".to_owned()
    }
}

/// Microseconds as a short human duration.
pub(crate) fn us(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.2}s", v as f64 / 1e6)
    } else if v >= 1000 {
        format!("{:.2}ms", v as f64 / 1e3)
    } else {
        format!("{v}µs")
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |v| format!("{v:.3}"))
}

fn opt_err(e: &Option<String>) -> String {
    e.as_ref().map_or(String::new(), |e| format!(" (first: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(us(950), "950µs");
        assert_eq!(us(1500), "1.50ms");
        assert_eq!(us(2_500_000), "2.50s");
    }
}
