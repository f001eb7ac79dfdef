//! The HTTP accept loop. `axum::serve` has no header read timeout, so a client sending one header
//! byte at a time could hold a connection (and its task) forever; this loop serves the same
//! router through hyper with Centrifugo's 10 s header read timeout (reliability.md §1.5, A7).
//!
//! HTTP/1.1 only, as Go's server speaks without TLS (no h2c). That also lets a WebSocket upgrade
//! take the `TcpStream` itself back from hyper (see `websocket/io.rs`).

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a client may take to send its request headers (Go's ReadHeaderTimeout).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight HTTP requests get to finish once shutdown starts. WebSocket connections are
/// not waited for here: they are detached from hyper after the upgrade and closed by the node.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until `shutdown` is cancelled, then waits (bounded) for in-flight requests.
pub(crate) async fn accept_loop(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connections = TaskTracker::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(router.clone());
                    let connection = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    let shutdown = shutdown.clone();
                    connections.spawn(async move {
                        tokio::pin!(connection);
                        let result = tokio::select! {
                            result = connection.as_mut() => result,
                            _ = shutdown.cancelled() => {
                                // Finish the request in flight, then close (keep-alive ends).
                                connection.as_mut().graceful_shutdown();
                                connection.await
                            }
                        };
                        if let Err(e) = result {
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
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the drain timeout");
    }
}
