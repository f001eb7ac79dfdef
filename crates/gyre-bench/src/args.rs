//! Command-line arguments. `Args` is a `clap::Args` so the `gyre` binary can mount it as a
//! `gyre bench` subcommand; `gyre-bench` wraps it in its own parser.

use std::path::PathBuf;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Gyre (or Centrifugo): WebSocket subscribers, HTTP API publishers.
    Gyre,
    /// nats-server: WebSocket subscribers, NATS TCP publishers.
    Nats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Json,
    Protobuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscribeMode {
    /// A subscribe command with a subscription token.
    Client,
    /// The channel in the connection token's `channels` claim.
    Server,
}

/// Fan-out load test: N WebSocket subscribers over C channels, P publishers, end-to-end latency,
/// loss/order checks, server CPU and memory.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct Args {
    /// Server kind to drive.
    #[arg(long, value_enum, default_value_t = Mode::Gyre)]
    pub mode: Mode,
    /// WebSocket URL subscribers connect to (gyre: .../connection/websocket; nats: the
    /// websocket listener, e.g. ws://127.0.0.1:8080).
    #[arg(long, default_value = "ws://127.0.0.1:8000/connection/websocket")]
    pub url: String,
    /// Base URL of the HTTP server API (gyre mode); default: the host and port of --url.
    #[arg(long)]
    pub api_url: Option<String>,
    /// Server API key (`http_api.key`), sent as X-API-Key.
    #[arg(long, env = "GYRE_BENCH_API_KEY", default_value = "", hide_env_values = true)]
    #[serde(skip_serializing, default)]
    pub api_key: String,
    /// HMAC secret for connection and subscription tokens (`client.token.hmac_secret_key`).
    #[arg(long, env = "GYRE_BENCH_SECRET", default_value = "", hide_env_values = true)]
    #[serde(skip_serializing, default)]
    pub secret: String,
    /// Client wire format (gyre mode).
    #[arg(long, value_enum, default_value_t = Protocol::Json)]
    pub protocol: Protocol,
    /// How subscribers join their channel (gyre mode).
    #[arg(long, value_enum, default_value_t = SubscribeMode::Client)]
    pub subscribe: SubscribeMode,
    /// Subscribers offer WebSocket permessage-deflate (gyre mode; the server compresses only
    /// with `websocket.compression` on). They inflate what arrives compressed.
    #[arg(long)]
    #[serde(default)]
    pub compression: bool,
    /// NATS server for the publishers (nats mode).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,

    /// Subscriber connections.
    #[arg(short = 'n', long, default_value_t = 1000)]
    pub connections: usize,
    /// Channels; connection i subscribes to channel i % channels. (No `-c`: in `gyre`
    /// commands `-c` is the config file.)
    #[arg(long, default_value_t = 10)]
    pub channels: usize,
    /// Channel name prefix; channel names are <prefix><index>.
    #[arg(long, default_value = "bench.")]
    pub channel_prefix: String,
    /// Connection handshakes in flight at once.
    #[arg(long, default_value_t = 100)]
    pub connect_concurrency: usize,
    /// Seconds one connection may take to be connected and subscribed.
    #[arg(long, default_value_t = 10.0)]
    pub connect_timeout: f64,

    /// Seconds to stay idle after everyone subscribed, measuring server CPU and memory.
    #[arg(long, default_value_t = 0.0)]
    pub idle: f64,
    /// Server process to sample (CPU from /proc/PID/stat, RSS from /proc/PID/status).
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Publisher connections (at most one per channel); channels are split among them, one
    /// publisher per channel. Each awaits every publish, so a paced rate needs enough of them
    /// that rate/publishers round trips fit into a second.
    #[arg(short = 'p', long, default_value_t = 10)]
    pub publishers: usize,
    /// Gyre mode: publications per HTTP request. Above 1 each request is one `/api/batch` of
    /// that many publish commands (executed in order), as a backend that publishes in bulk
    /// would send them; NATS publishers already pipeline.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Total publications per second, paced evenly; 0 = as fast as the publishers can.
    #[arg(short = 'r', long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds of measured publishing (0 = connect and idle only).
    #[arg(short = 'd', long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of publishing before the measurement starts.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Seconds to wait for outstanding deliveries after the last publication.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
    /// Bytes of JSON per publication.
    #[arg(long, default_value_t = 100)]
    pub payload_size: usize,

    /// Name of this run in reports and comparisons (default: the mode).
    #[arg(long)]
    pub label: Option<String>,
    /// Write every number as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write an SVG chart here (throughput and latency over time; with --compare, the comparison).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Do not run: compare these result files (from --json), print a markdown table and, with
    /// --plot, draw them into one SVG.
    #[arg(long, num_args = 1.., value_name = "RESULT_JSON")]
    #[serde(skip)]
    pub compare: Vec<PathBuf>,
    /// Exit with an error when the run saw losses, order anomalies or errors.
    #[arg(long)]
    pub strict: bool,
    /// Print only errors and the final summary.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

impl Args {
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| match self.mode {
            Mode::Gyre => "gyre".to_owned(),
            Mode::Nats => "nats".to_owned(),
        })
    }

    /// Server kind and wire format, for reports.
    pub fn wire_name(&self) -> &'static str {
        match (self.mode, self.protocol, self.subscribe) {
            (Mode::Nats, ..) => "nats-server, NATS over WebSocket",
            (Mode::Gyre, Protocol::Json, SubscribeMode::Client) => "gyre, JSON",
            (Mode::Gyre, Protocol::Protobuf, SubscribeMode::Client) => "gyre, Protobuf",
            (Mode::Gyre, Protocol::Json, SubscribeMode::Server) => "gyre, JSON, server-side subs",
            (Mode::Gyre, Protocol::Protobuf, SubscribeMode::Server) => "gyre, Protobuf, server-side subs",
        }
    }

    pub fn channel_name(&self, index: usize) -> String {
        format!("{}{index}", self.channel_prefix)
    }

    /// Publishers actually used: never more than channels (each channel has one publisher).
    pub fn effective_publishers(&self) -> usize {
        self.publishers.clamp(1, self.channels.max(1))
    }

    /// Checks combinations clap cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.channels > 0, "--channels must be at least 1");
        anyhow::ensure!(
            self.connect_concurrency > 0,
            "--connect-concurrency must be at least 1"
        );
        anyhow::ensure!(self.rate >= 0.0 && self.rate.is_finite(), "--rate must be >= 0");
        for (name, v) in [
            ("--duration", self.duration),
            ("--warmup", self.warmup),
            ("--drain", self.drain),
            ("--idle", self.idle),
            ("--connect-timeout", self.connect_timeout),
        ] {
            anyhow::ensure!(v >= 0.0 && v.is_finite(), "{name} must be a number >= 0");
        }
        if self.mode == Mode::Gyre && self.duration > 0.0 {
            anyhow::ensure!(!self.api_key.is_empty(), "gyre mode needs --api-key to publish");
        }
        Ok(())
    }
}

/// Parser for the standalone `gyre-bench` binary.
#[derive(Debug, clap::Parser)]
#[command(name = "gyre-bench", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub args: Args,
}
