//! The HTTP accept loop. `axum::serve` has no header read timeout, so a client sending one header
//! byte at a time could hold a connection (and its task) forever; this loop serves the same
//! router through hyper with Centrifugo's 10 s header read timeout (reliability.md §1.5, A7).

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long a client may take to send its request headers (Go's ReadHeaderTimeout).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight HTTP requests get to finish once shutdown starts. WebSocket connections are
/// not waited for here: they are detached from hyper after the upgrade and closed by the node.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until `shutdown` is cancelled, then waits (bounded) for in-flight requests.
pub(crate) async fn accept_loop(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(router.clone());
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(error = %e, "HTTP connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning on a full descriptor table.
                    tracing::error!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.cancelled() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the drain timeout");
    }
}
