//! The transport-agnostic executor: one async method per API call, typed request in, typed
//! result or [`ApiError`] out. Every method validates in Centrifugo's order and never panics on
//! input. Adapters (HTTP now, gRPC later) only decode, call and encode.

pub(crate) mod batch;
mod connections;
mod node_info;
mod publish;
mod stream;

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use gyre_config::{ChannelError, ChannelOptions, SharedConfig, Snapshot};
use gyre_core::Node;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::ApiObserver;

pub use batch::{BatchRequest, BatchResult, Reply};

/// How many channels of one broadcast, or commands of one parallel batch, run at once.
const MAX_CONCURRENCY: usize = 1024;

/// Runs server API commands against a node.
#[derive(Clone)]
pub struct Executor {
    node: Node,
    config: SharedConfig,
    observer: Arc<dyn ApiObserver>,
    protocol: &'static str,
}

struct NoopApiObserver;

impl ApiObserver for NoopApiObserver {}

impl Executor {
    pub fn new(node: Node, config: SharedConfig) -> Executor {
        Executor {
            node,
            config,
            observer: Arc::new(NoopApiObserver),
            protocol: "http",
        }
    }

    /// A copy of this executor that reports every command to `observer` under `protocol`
    /// (`http`, `grpc`). Each adapter wraps the shared executor once with its own label.
    pub fn with_observer(&self, protocol: &'static str, observer: Arc<dyn ApiObserver>) -> Executor {
        Executor {
            node: self.node.clone(),
            config: self.config.clone(),
            observer,
            protocol,
        }
    }

    /// The protocol label metrics are reported under.
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// The observer adapters report decode/encode failures to.
    pub fn observer(&self) -> &Arc<dyn ApiObserver> {
        &self.observer
    }

    /// The live configuration. An owned `Arc`, so holding it across `.await` blocks no reload.
    fn snapshot(&self) -> Arc<Snapshot> {
        self.config.load_full()
    }

    fn observe(&self, method: &str, started: Instant) {
        self.observer.command(self.protocol, method, started.elapsed());
    }

    pub(crate) fn count_error(&self, method: &str, error: &ApiError) {
        self.observer
            .command_error(self.protocol, method, &error.code.to_string());
    }
}

/// The options of `channel`'s namespace; an unconfigured namespace is error 102.
fn channel_options<'a>(snapshot: &'a Snapshot, channel: &'a str) -> Result<&'a ChannelOptions, ApiError> {
    match snapshot.channels.resolve(channel) {
        Ok(resolved) => Ok(resolved.options),
        Err(ChannelError::UnknownNamespace) => Err(ApiError::UNKNOWN_CHANNEL),
        Err(ChannelError::Invalid) => Err(ApiError::BAD_REQUEST),
    }
}

/// `b64…` wins over the raw field when non-empty; malformed base64 is a bad request.
fn b64_or_raw(b64: &str, raw: Bytes) -> Result<Bytes, ApiError> {
    if b64.is_empty() {
        return Ok(raw);
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(Bytes::from)
        .map_err(|_| ApiError::BAD_REQUEST)
}

/// Whether the namespace has a usable history stream (both size and TTL set).
fn history_enabled(options: &ChannelOptions) -> bool {
    options.history_size > 0 && !options.history_ttl.is_zero()
}

/// Runs futures at most `MAX_CONCURRENCY` at a time and returns their outputs in input order.
/// A plain loop rather than stream adaptors with closures, which trip rustc's `Send` inference
/// for higher-ranked lifetimes inside axum handlers.
async fn run_bounded<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use futures_util::stream::{FuturesOrdered, StreamExt};
    let mut outputs = Vec::with_capacity(futures.len());
    let mut pending = FuturesOrdered::new();
    for future in futures {
        if pending.len() >= MAX_CONCURRENCY {
            if let Some(output) = pending.next().await {
                outputs.push(output);
            }
        }
        pending.push_back(future);
    }
    while let Some(output) = pending.next().await {
        outputs.push(output);
    }
    outputs
}

/// Core failures are not the API's vocabulary: they are logged and answered with 100.
fn internal(context: &'static str, channel: &str, err: &gyre_core::Error) -> ApiError {
    tracing::error!(error = %err, channel, "{context}");
    ApiError::INTERNAL
}
