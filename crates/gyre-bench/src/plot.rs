//! The bench's charts: one run over time, and several runs side by side.

use crate::report::BenchResult;
use crate::svg::{Axis, Bars, Line, Rect, Svg, PALETTE};

const W: f64 = 900.0;
const PANEL: f64 = 300.0;

fn fmt_us(v: f64) -> String {
    if v >= 1e6 {
        format!("{}s", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}ms", trim(v / 1e3))
    } else {
        format!("{}µs", trim(v))
    }
}

fn fmt_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn fmt_plain(v: f64) -> String {
    trim(v)
}

/// At most two decimals, no trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn panel(i: usize) -> Rect {
    Rect {
        x: 0.0,
        y: PANEL * i as f64,
        w: W,
        h: PANEL,
    }
}

const SECONDS: Axis<'static> = Axis {
    integer: true,
    label: "second of the measurement window",
    log: false,
    format: fmt_plain,
};

fn title(r: &BenchResult) -> String {
    format!("{}: {}", r.label, workload(r))
}

fn workload(r: &BenchResult) -> String {
    if r.delivery.is_none() {
        return format!(
            "{} connections, {} channels, no publishing",
            r.args.connections, r.args.channels
        );
    }
    format!(
        "{} connections, {} channels, rate {}",
        r.args.connections,
        r.args.channels,
        crate::report::rate_text(r.args.rate)
    )
}

/// Throughput, latency percentiles and CPU of one run, per second.
pub(crate) fn run_chart(r: &BenchResult) -> String {
    let mut svg = Svg::new(W, PANEL * 3.0);
    let at = |f: &dyn Fn(&crate::report::SeriesPoint) -> Option<f64>| -> Vec<(f64, f64)> {
        r.series
            .iter()
            .filter_map(|p| Some((p.second as f64, f(p)?)))
            .collect()
    };
    svg.line_chart(
        panel(0),
        &format!("{} — deliveries per second", title(r)),
        &SECONDS,
        &Axis {
            integer: false,
            label: "deliveries/s",
            log: false,
            format: fmt_count,
        },
        &[Line {
            name: "deliveries/s".into(),
            color: PALETTE[0],
            dashed: false,
            points: at(&|p| Some(p.deliveries as f64)),
        }],
    );
    svg.line_chart(
        panel(1),
        "end-to-end latency (by send second)",
        &SECONDS,
        &Axis {
            integer: false,
            label: "latency",
            log: true,
            format: fmt_us,
        },
        &[
            Line {
                name: "p50".into(),
                color: PALETTE[2],
                dashed: false,
                points: at(&|p| Some(p.p50_us as f64)),
            },
            Line {
                name: "p99".into(),
                color: PALETTE[1],
                dashed: false,
                points: at(&|p| Some(p.p99_us as f64)),
            },
        ],
    );
    svg.line_chart(
        panel(2),
        &format!(
            "CPU (publications/s: {})",
            r.publish.as_ref().map_or(0.0, |p| p.per_second)
        ),
        &SECONDS,
        &Axis {
            integer: false,
            label: "cores",
            log: false,
            format: fmt_plain,
        },
        &[
            Line {
                name: "server".into(),
                color: PALETTE[0],
                dashed: false,
                points: at(&|p| p.server_cpu_cores),
            },
            Line {
                name: "bench".into(),
                color: PALETTE[3],
                dashed: true,
                points: at(&|p| p.bench_cpu_cores),
            },
        ],
    );
    svg.finish()
}

/// Latency percentiles as bars, deliveries/s and p99 over time as lines, one colour per run.
/// Runs without publishing (connect and idle only) get [`idle_chart`] instead.
pub(crate) fn compare_chart(runs: &[BenchResult]) -> String {
    if runs.iter().all(|r| r.delivery.is_none()) {
        return idle_chart(runs);
    }
    let mut svg = Svg::new(W, PANEL * 3.0);
    let color = |i: usize| PALETTE[i % PALETTE.len()];
    let categories: Vec<String> = ["p50", "p90", "p99", "p99.9", "max"].map(String::from).to_vec();
    let bars: Vec<Bars> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let l = r.delivery.as_ref().map(|d| d.latency.clone()).unwrap_or_default();
            Bars {
                name: r.label.clone(),
                color: color(i),
                values: [l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us]
                    .map(|v| v as f64)
                    .to_vec(),
            }
        })
        .collect();
    let head = runs.first().map(workload).unwrap_or_default();
    svg.bar_chart(
        panel(0),
        &format!("end-to-end latency — {head}"),
        &categories,
        &Axis {
            integer: false,
            label: "latency",
            log: true,
            format: fmt_us,
        },
        &bars,
    );
    let lines = |f: fn(&crate::report::SeriesPoint) -> f64| -> Vec<Line> {
        runs.iter()
            .enumerate()
            .map(|(i, r)| Line {
                name: r.label.clone(),
                color: color(i),
                dashed: false,
                points: r.series.iter().map(|p| (p.second as f64, f(p))).collect(),
            })
            .collect()
    };
    svg.line_chart(
        panel(1),
        "deliveries per second",
        &SECONDS,
        &Axis {
            integer: false,
            label: "deliveries/s",
            log: false,
            format: fmt_count,
        },
        &lines(|p| p.deliveries as f64),
    );
    svg.line_chart(
        panel(2),
        "p99 latency per second",
        &SECONDS,
        &Axis {
            integer: false,
            label: "p99 latency",
            log: true,
            format: fmt_us,
        },
        &lines(|p| p.p99_us as f64),
    );
    svg.finish()
}

/// Title, unit, the value of one run, and its tick format.
type IdlePanel = (
    &'static str,
    &'static str,
    fn(&BenchResult) -> f64,
    fn(f64) -> String,
);

/// Memory and idle CPU per connection, and the connect rate, as bars (one group per run).
fn idle_chart(runs: &[BenchResult]) -> String {
    let mut svg = Svg::new(W, PANEL * 3.0);
    let head = runs.first().map(workload).unwrap_or_default();
    let panels: [IdlePanel; 3] = [
        (
            "server RSS per connection (KiB)",
            "KiB",
            |r| r.connect.server_rss_kib_per_connection.unwrap_or(0.0),
            fmt_plain,
        ),
        (
            "idle server CPU per connection (µs of CPU per second)",
            "µs/s",
            |r| {
                r.idle
                    .as_ref()
                    .and_then(|i| i.server_cpu_us_per_s_per_connection)
                    .unwrap_or(0.0)
            },
            fmt_plain,
        ),
        (
            "connect ramp (connections/s)",
            "conn/s",
            |r| r.connect.per_second,
            fmt_count,
        ),
    ];
    for (i, (name, unit, value, format)) in panels.into_iter().enumerate() {
        let bars: Vec<Bars> = runs
            .iter()
            .enumerate()
            .map(|(k, r)| Bars {
                name: r.label.clone(),
                color: PALETTE[k % PALETTE.len()],
                values: vec![value(r)],
            })
            .collect();
        let title = if i == 0 {
            format!("{name} — {head}")
        } else {
            name.to_string()
        };
        svg.bar_chart(
            panel(i),
            &title,
            &[String::new()],
            &Axis {
                integer: false,
                label: unit,
                log: false,
                format,
            },
            &bars,
        );
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_us(250.0), "250µs");
        assert_eq!(fmt_us(1500.0), "1.5ms");
        assert_eq!(fmt_us(2e6), "2s");
        assert_eq!(fmt_count(120_000.0), "120k");
        assert_eq!(fmt_count(0.5), "0.5");
    }
}
