//! Connection admission on the client endpoints: `client.connection_limit` (connections per node)
//! and `client.connection_rate_limit` (new connections per second per node). Refused requests get
//! HTTP 503 before any upgrade, as in Centrifugo. Both limits are read from the live config, so a
//! reload changes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gyre_config::SharedConfig;
use gyre_core::Node;

use crate::metrics::Metrics;

#[derive(Clone)]
pub(crate) struct Admission {
    node: Node,
    config: SharedConfig,
    metrics: Arc<Metrics>,
    window: Arc<RateWindow>,
}

/// Counts requests within the current one-second window; cheap and lock-free, which is enough
/// for a per-node ceiling (it is not a fairness mechanism).
#[derive(Default)]
struct RateWindow {
    /// Upper 32 bits: second of the window; lower 32 bits: count in that second.
    state: AtomicU64,
}

impl RateWindow {
    fn try_acquire(&self, now_sec: u64, limit: u64) -> bool {
        let sec = now_sec & 0xffff_ffff;
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let (window, count) = (current >> 32, current & 0xffff_ffff);
            let next = if window == sec {
                if count >= limit {
                    return false;
                }
                current + 1
            } else {
                (sec << 32) | 1
            };
            match self
                .state
                .compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

impl Admission {
    pub(crate) fn new(node: Node, config: SharedConfig, metrics: Arc<Metrics>) -> Admission {
        Admission {
            node,
            config,
            metrics,
            window: Arc::default(),
        }
    }
}

pub(crate) async fn admit(State(admission): State<Admission>, request: Request, next: Next) -> Response {
    // Copy the values out: an arc-swap guard must not live across the `.await` below.
    let (limit, rate) = {
        let snapshot = admission.config.load();
        (
            snapshot.config.client.connection_limit,
            snapshot.config.client.connection_rate_limit,
        )
    };
    if limit > 0 && i64::from(admission.node.info().num_clients) >= limit {
        admission.metrics.connection_limit.inc();
        tracing::info!(limit, "node connection limit reached");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if rate > 0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if !admission.window.try_acquire(now, rate as u64) {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window() {
        let w = RateWindow::default();
        assert!(w.try_acquire(10, 2));
        assert!(w.try_acquire(10, 2));
        assert!(!w.try_acquire(10, 2));
        assert!(w.try_acquire(11, 2));
    }
}
