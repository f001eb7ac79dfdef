//! `--compare a.json b.json …`: a side-by-side markdown table of runs (for the docs) and, with
//! `--plot`, one chart with all of them.

use anyhow::Context as _;

use crate::args::Args;
use crate::plot;
use crate::report::{rate_text, us, BenchResult};
use crate::resources::Usage;

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let runs = args
        .compare
        .iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<BenchResult>(&text).with_context(|| format!("parsing {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    print!("{}", table(&runs));
    if let Some(path) = &args.plot {
        std::fs::write(path, plot::compare_chart(&runs))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

type Row = (&'static str, fn(&BenchResult) -> String);

const ROWS: &[Row] = &[
    ("host load (1 min, start → end)", |r| {
        format!(
            "{} → {}",
            opt(r.host.load_1m_start, |v| format!("{v:.2}")),
            opt(r.host.load_1m_end, |v| format!("{v:.2}"))
        )
    }),
    ("connections × channels", |r| {
        format!("{} × {}", r.args.connections, r.args.channels)
    }),
    ("publishers, target rate", |r| match r.publish {
        Some(_) => format!("{}, {}", r.args.effective_publishers(), rate_text(r.args.rate)),
        None => "no publishing".into(),
    }),
    ("payload bytes", |r| r.args.payload_size.to_string()),
    ("connect ramp", |r| {
        format!("{:.2} s ({:.0} conn/s)", r.connect.seconds, r.connect.per_second)
    }),
    ("server RSS per connection", |r| {
        opt(r.connect.server_rss_kib_per_connection, |v| format!("{v:.1} KiB"))
    }),
    ("idle CPU per connection", |r| {
        opt(
            r.idle.as_ref().and_then(|i| i.server_cpu_us_per_s_per_connection),
            |v| format!("{v:.2} µs/s"),
        )
    }),
    ("publications/s", |r| {
        opt(r.publish.as_ref().map(|p| p.per_second), |v| format!("{v:.0}"))
    }),
    ("deliveries/s", |r| {
        opt(r.delivery.as_ref().map(|d| d.per_second), |v| format!("{v:.0}"))
    }),
    ("latency p50", |r| lat(r, |l| l.p50_us)),
    ("latency p90", |r| lat(r, |l| l.p90_us)),
    ("latency p99", |r| lat(r, |l| l.p99_us)),
    ("latency p99.9", |r| lat(r, |l| l.p999_us)),
    ("latency max", |r| lat(r, |l| l.max_us)),
    ("publish round trip p50 / p99", |r| match &r.publish {
        Some(p) if p.round_trip.count > 0 => {
            format!("{} / {}", us(p.round_trip.p50_us), us(p.round_trip.p99_us))
        }
        _ => "-".into(),
    }),
    ("lost / gaps / dup / reorder", |r| match &r.delivery {
        Some(d) => format!("{} / {} / {} / {}", d.lost, d.gaps, d.duplicates, d.reorders),
        None => "-".into(),
    }),
    ("errors (connect / publish / dropped)", |r| {
        format!(
            "{} / {} / {}",
            r.connect.failed,
            r.publish.as_ref().map_or(0, |p| p.errors),
            r.delivery.as_ref().map_or(0, |d| d.connections_dropped)
        )
    }),
    ("server CPU (cores)", |r| {
        opt(usage(r).and_then(|u| u.server_cpu_cores), |v| format!("{v:.2}"))
    }),
    ("server RSS at end", |r| {
        opt(usage(r).and_then(|u| u.server_rss_kib_end), |v| {
            format!("{:.1} MiB", v as f64 / 1024.0)
        })
    }),
    ("bench CPU (cores)", |r| {
        opt(usage(r).and_then(|u| u.bench_cpu_cores), |v| format!("{v:.2}"))
    }),
];

/// Resources of the publish window, or of the idle window for a run without publishing.
fn usage(r: &BenchResult) -> Option<Usage> {
    r.resources.or_else(|| r.idle.as_ref().map(|i| i.usage))
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or("-".into(), f)
}

fn lat(r: &BenchResult, f: fn(&crate::stats::Percentiles) -> u64) -> String {
    match &r.delivery {
        Some(d) if d.latency.count > 0 => us(f(&d.latency)),
        _ => "-".into(),
    }
}

/// A markdown table: one row per metric, one column per run.
pub(crate) fn table(runs: &[BenchResult]) -> String {
    let mut out = String::from("| metric |");
    for r in runs {
        out.push_str(&format!(" {} |", r.label.replace('|', "/")));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(runs.len()));
    out.push('\n');
    for (name, cell) in ROWS {
        out.push_str(&format!("| {name} |"));
        for r in runs {
            out.push_str(&format!(" {} |", cell(r)));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ConnectReport, DeliveryReport, SeriesPoint};
    use crate::stats::Percentiles;
    use clap::Parser as _;

    fn result(label: &str, p99: u64) -> BenchResult {
        BenchResult {
            label: label.into(),
            args: crate::args::Cli::parse_from(["gyre-bench", "-n", "50", "--channels", "5"]).args,
            host: Default::default(),
            connect: ConnectReport {
                requested: 50,
                connected: 50,
                seconds: 0.5,
                per_second: 100.0,
                ..Default::default()
            },
            idle: None,
            publish: None,
            delivery: Some(DeliveryReport {
                latency: Percentiles {
                    count: 10,
                    p50_us: 150,
                    p99_us: p99,
                    max_us: p99 * 2,
                    ..Default::default()
                },
                per_second: 5000.0,
                ..Default::default()
            }),
            resources: None,
            series: (0..3)
                .map(|s| SeriesPoint {
                    second: s,
                    deliveries: 5000,
                    p99_us: p99,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn table_has_a_column_per_run() {
        let t = table(&[result("gyre", 900), result("nats", 2500)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "| metric | gyre | nats |");
        assert_eq!(lines[1], "|---|---|---|");
        assert_eq!(lines.len(), 2 + ROWS.len());
        assert!(t.contains("| latency p99 | 900µs | 2.50ms |"), "{t}");
        assert!(lines.iter().all(|l| l.matches('|').count() == 4));
    }

    #[test]
    fn results_round_trip_through_json_and_plot() {
        let r = result("gyre", 900);
        let back: BenchResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.series.len(), 3);
        let svg = plot::compare_chart(&[r, back]);
        crate::svg::assert_well_formed(&svg);
        let single = plot::run_chart(&result("x", 10));
        crate::svg::assert_well_formed(&single);
    }
}
