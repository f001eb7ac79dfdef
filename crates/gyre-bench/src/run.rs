//! One bench run, phase by phase: connect, idle, publish, drain, stop, report.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use crate::args::{Args, Mode};
use crate::fleet::{self, Fleet};
use crate::http::Endpoint;
use crate::payload::now_ns;
use crate::proc_stats::load_average_1m;
use crate::publish::{self, PubOutcome, PubPlan};
use crate::report::{
    BenchResult, ConnectReport, DeliveryReport, HostReport, IdleReport, PublishReport, SeriesPoint,
};
use crate::resources::{self, round3, Monitor, Usage};
use crate::stats::{new_histogram, Percentiles, Window};
use crate::subscriber::{Shared, SubOutcome};
use crate::{publish_http, publish_nats};

/// How long stopped connections get to hand in their results.
const STOP_GRACE: Duration = Duration::from_secs(15);

pub(crate) async fn bench(args: Args) -> anyhow::Result<BenchResult> {
    let args = Arc::new(args);
    let monitor = Monitor::new(args.server_pid);
    let shared = Arc::new(Shared::default());
    let say = |msg: String| {
        if !args.quiet {
            eprintln!("[{}] {msg}", args.label());
        }
    };

    let load_1m_start = load_average_1m();
    let before = monitor.snapshot();
    let (fleet, connect, per_channel) = connect_all(&args, shared.clone(), &say).await;
    let mut result = BenchResult {
        label: args.label(),
        args: (*args).clone(),
        host: HostReport {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_1m_start,
            load_1m_end: None,
        },
        connect,
        idle: None,
        publish: None,
        delivery: None,
        resources: None,
        series: Vec::new(),
    };
    let after = monitor.snapshot();
    if let (Some(b), Some(a)) = (before.server, after.server) {
        let c = &mut result.connect;
        c.server_rss_kib_before = Some(b.rss_kib);
        c.server_rss_kib_after = Some(a.rss_kib);
        if c.connected > 0 {
            c.server_rss_kib_per_connection =
                Some(round3((a.rss_kib as f64 - b.rss_kib as f64) / c.connected as f64));
        }
    }

    if args.idle > 0.0 {
        say(format!("idle for {} s", args.idle));
        let a = monitor.snapshot();
        tokio::time::sleep(Duration::from_secs_f64(args.idle)).await;
        let usage = resources::usage(&a, &monitor.snapshot());
        let n = result.connect.connected.max(1) as f64;
        result.idle = Some(IdleReport {
            seconds: args.idle,
            server_cpu_us_per_s_per_connection: usage.server_cpu_cores.map(|c| round3(c * 1e6 / n)),
            usage,
            ..Default::default()
        });
    }

    let publishing = args.duration > 0.0 && result.connect.connected > 0;
    let mut published = vec![0u64; args.channels];
    let mut drain_seconds = 0.0;
    let mut phase = None;
    if publishing {
        let (outcomes, usage, per_second_usage, window) =
            publish_phase(&args, &shared, &monitor, &say).await?;
        for o in &outcomes {
            for &(c, n) in &o.published {
                published[c] += n;
            }
        }
        result.publish = Some(publish_report(&args, &outcomes));
        result.resources = Some(usage);
        let expected: u64 = per_channel.iter().zip(&published).map(|(s, p)| s * p).sum();
        say(format!("draining (up to {} s)", args.drain));
        drain_seconds = drain(&shared, expected, Duration::from_secs_f64(args.drain)).await;
        phase = Some((outcomes, per_second_usage, window));
    }

    say("stopping connections".into());
    // Subscribers hand in their last latency samples when they stop, so the latency numbers
    // are read only after this.
    let (subs, abandoned) = fleet.stop(STOP_GRACE).await;
    if let Some(idle) = &mut result.idle {
        let dropped = subs.iter().filter_map(|s| s.error.as_ref());
        idle.first_connection_error = dropped.clone().next().cloned();
        idle.connections_dropped = dropped.count() + abandoned;
        idle.pings_answered = subs.iter().map(|s| s.pings).sum();
    }
    if let Some((outcomes, per_second_usage, window)) = phase {
        result.delivery = Some(delivery_report(
            &shared,
            &subs,
            abandoned,
            &published,
            drain_seconds,
            window,
        ));
        result.series = series(&shared, &outcomes, &per_second_usage, window);
    }
    result.host.load_1m_end = load_average_1m();
    Ok(result)
}

/// Opens every connection; returns the fleet, the ramp numbers and the connected count per
/// channel.
async fn connect_all(
    args: &Arc<Args>,
    shared: Arc<Shared>,
    say: &impl Fn(String),
) -> (Fleet, ConnectReport, Vec<u64>) {
    say(format!("connecting {} clients to {}", args.connections, args.url));
    let started = Instant::now();
    let (fleet, mut ready) = fleet::spawn(args.clone(), shared);
    let mut report = ConnectReport {
        requested: args.connections,
        ..Default::default()
    };
    let mut per_channel = vec![0u64; args.channels];
    let mut last = started;
    let mut progress = tokio::time::interval(Duration::from_secs(2));
    progress.tick().await;
    // Every connection task sends exactly one Ready (each has its own connect timeout), so
    // this loop ends; `None` means every sender is gone.
    while report.connected + report.failed < args.connections {
        tokio::select! {
            r = ready.recv() => {
                let Some(r) = r else { break };
                match r.result {
                    Ok(()) => {
                        report.connected += 1;
                        per_channel[r.channel] += 1;
                        last = last.max(r.at);
                    }
                    Err(e) => {
                        report.failed += 1;
                        report.first_error.get_or_insert(e);
                    }
                }
            }
            _ = progress.tick() => say(format!(
                "connected {}/{} ({} failed)", report.connected, args.connections, report.failed
            )),
        }
    }
    report.seconds = round3(last.duration_since(started).as_secs_f64());
    if report.seconds > 0.0 {
        report.per_second = (report.connected as f64 / report.seconds).round();
    }
    say(format!(
        "connected {}/{} in {:.2} s ({} failed)",
        report.connected, args.connections, report.seconds, report.failed
    ));
    (fleet, report, per_channel)
}

async fn publish_phase(
    args: &Args,
    shared: &Shared,
    monitor: &Monitor,
    say: &impl Fn(String),
) -> anyhow::Result<(Vec<PubOutcome>, Usage, Vec<Usage>, Window)> {
    let publishers = args.effective_publishers();
    let start = Instant::now();
    let start_ns = now_ns();
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    let window = Window {
        start_ns: start_ns + warmup.as_nanos() as u64,
        end_ns: start_ns + (warmup + duration).as_nanos() as u64,
    };
    shared
        .recorder
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set_window(window);
    say(format!(
        "publishing with {publishers} publishers at {} for {} s (+{} s warm-up)",
        crate::report::rate_text(args.rate),
        args.duration,
        args.warmup
    ));
    let sampler = tokio::spawn(resources::sample_window(
        monitor.clone(),
        start + warmup,
        window.seconds(),
    ));
    let mut handles = Vec::new();
    let interval = publish::interval(args.rate, publishers);
    for (j, channels) in publish::partition(args.channels, publishers)
        .into_iter()
        .enumerate()
    {
        let phase = interval.map_or(Duration::ZERO, |i| i * j as u32 / publishers as u32);
        let plan = PubPlan {
            phase,
            names: channels.iter().map(|&c| args.channel_name(c)).collect(),
            channels,
            interval: publish::interval(args.rate, publishers),
            stop_at: start + warmup + duration,
            window,
            payload_size: args.payload_size,
        };
        handles.push(match args.mode {
            Mode::Gyre => tokio::spawn(publish_http::run(
                plan,
                api_endpoint(args)?,
                args.api_key.clone(),
                args.batch.max(1),
            )),
            Mode::Nats => tokio::spawn(publish_nats::run(plan, nats_host_port(&args.nats_url)?)),
        });
    }
    let mut outcomes = Vec::with_capacity(handles.len());
    for h in handles {
        outcomes.push(h.await.context("publisher task")?);
    }
    let (usage, per_second) = sampler.await.context("resource sampler")?;
    Ok((outcomes, usage, per_second, window))
}

/// Waits until `expected` distinct deliveries arrived or `grace` passed; returns the wait.
async fn drain(shared: &Shared, expected: u64, grace: Duration) -> f64 {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while shared.delivered.load(Ordering::Relaxed) < expected && started.elapsed() < grace {
        tick.tick().await;
    }
    round3(started.elapsed().as_secs_f64())
}

fn publish_report(args: &Args, outcomes: &[PubOutcome]) -> PublishReport {
    let mut rtt = new_histogram(3);
    let mut report = PublishReport {
        publishers: outcomes.len(),
        target_rate: args.rate,
        ..Default::default()
    };
    for o in outcomes {
        rtt.add(&o.rtt).expect("same histogram bounds");
        report.publications += o.in_window;
        report.errors += o.errors;
        if report.first_error.is_none() {
            report.first_error.clone_from(&o.first_error);
        }
    }
    report.per_second = (report.publications as f64 / args.duration).round();
    report.round_trip = Percentiles::of(&rtt);
    report
}

fn delivery_report(
    shared: &Shared,
    subs: &[SubOutcome],
    abandoned: usize,
    published: &[u64],
    drain_seconds: f64,
    window: Window,
) -> DeliveryReport {
    let mut d = DeliveryReport {
        drain_seconds,
        connections_dropped: abandoned,
        ..Default::default()
    };
    for s in subs {
        let p = published[s.channel];
        d.expected += p;
        d.delivered += s.checker.delivered;
        d.lost += s.checker.lost(p);
        d.gaps += s.checker.gaps;
        d.duplicates += s.checker.duplicates;
        d.reorders += s.checker.reorders;
        d.unparsed += s.unparsed;
        d.pings_answered += s.pings;
        if let Some(e) = &s.error {
            d.connections_dropped += 1;
            d.first_connection_error.get_or_insert_with(|| e.clone());
        }
    }
    let rec = shared.recorder.lock().unwrap_or_else(|e| e.into_inner());
    d.latency = Percentiles::of(&rec.total);
    d.deliveries_in_window = rec.total.len();
    let seconds = (window.end_ns - window.start_ns) as f64 / 1e9;
    d.per_second = (d.deliveries_in_window as f64 / seconds.max(1e-9)).round();
    d
}

fn series(shared: &Shared, pubs: &[PubOutcome], usage: &[Usage], window: Window) -> Vec<SeriesPoint> {
    let rec = shared.recorder.lock().unwrap_or_else(|e| e.into_inner());
    (0..window.seconds())
        .map(|i| {
            let h = &rec.per_second[i];
            let u = usage.get(i).copied().unwrap_or_default();
            SeriesPoint {
                second: i,
                publications: pubs
                    .iter()
                    .map(|p| p.per_second.get(i).copied().unwrap_or(0))
                    .sum(),
                deliveries: h.len(),
                p50_us: if h.is_empty() { 0 } else { h.value_at_quantile(0.5) },
                p99_us: if h.is_empty() {
                    0
                } else {
                    h.value_at_quantile(0.99)
                },
                server_cpu_cores: u.server_cpu_cores,
                server_rss_kib: u.server_rss_kib_end,
                bench_cpu_cores: u.bench_cpu_cores,
            }
        })
        .collect()
}

/// `--api-url`, or `http://<host:port of --url>`.
fn api_endpoint(args: &Args) -> anyhow::Result<Endpoint> {
    let url = match &args.api_url {
        Some(u) => u.clone(),
        None => {
            let rest = args
                .url
                .strip_prefix("ws://")
                .context("--url must start with ws://")?;
            format!("http://{}", rest.split(['/', '?']).next().unwrap_or_default())
        }
    };
    Endpoint::parse(&url)
}

fn nats_host_port(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("nats://")
        .context("--nats-url must start with nats://")?;
    Ok(rest.trim_end_matches('/').to_owned())
}
