//! `gyre-bench`: the project's load tool. N WebSocket subscribers spread over C channels, P
//! publishers with one publisher per channel, and per subscriber a check of every channel
//! sequence number (loss, gaps, duplicates, reorders) plus end-to-end latency. Drives Gyre (or
//! Centrifugo) through its client protocol and HTTP server API, or nats-server through its
//! WebSocket listener and NATS TCP, so both can be compared under the same workload.
//!
//! The `gyre` binary mounts [`Args`] as `gyre bench` and calls [`run`].
#![forbid(unsafe_code)]

mod args;
mod compare;
mod fleet;
mod gyre_ws;
mod http;
mod inflate_stream;
mod jwt;
mod nats_proto;
mod nats_ws;
mod payload;
mod pb;
mod plot;
mod proc_stats;
mod publish;
mod publish_http;
mod publish_nats;
mod report;
mod resources;
mod run;
mod seq;
mod stats;
mod subscriber;
mod svg;

pub use args::{Args, Cli, Mode, Protocol, SubscribeMode};

/// Runs the bench (or, with `--compare`, the comparison) described by `args`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if !args.compare.is_empty() {
        return compare::run(&args);
    }
    args.validate()?;
    raise_nofile_limit(args.quiet);
    let result = run::bench(args.clone()).await?;
    print!("{}", result.summary());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&result)?;
        std::fs::write(path, text + "\n").map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, plot::run_chart(&result))
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    if args.strict && !result.clean() {
        anyhow::bail!("the run saw losses, order anomalies or errors (--strict)");
    }
    Ok(())
}

/// Synchronous entry: builds a multi-threaded runtime and runs [`run`].
pub fn run_blocking(args: Args) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// Thousands of sockets need more descriptors than the usual soft limit of 1024.
fn raise_nofile_limit(quiet: bool) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if !quiet => eprintln!("open files limit: {limit}"),
        Ok(_) => {}
        Err(e) => eprintln!("could not raise the open files limit: {e}"),
    }
}
