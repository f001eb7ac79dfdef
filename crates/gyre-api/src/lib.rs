//! The server API (`/api/<method>`): a transport-agnostic [`Executor`] and its HTTP adapter.
//! CONTRACT (implemented by the API work package).
#![forbid(unsafe_code)]

use std::sync::Arc;

use gyre_config::SharedConfig;
use gyre_core::Node;

/// Runs server API commands against a node.
#[derive(Clone)]
pub struct Executor {
    _private: (),
}

impl Executor {
    pub fn new(node: Node, config: SharedConfig) -> Executor {
        let _ = (node, config);
        todo!("API work package")
    }
}

/// Hooks the server wires in (metrics). All methods have no-op defaults.
pub trait ApiObserver: Send + Sync + 'static {
    /// One API command ran (`protocol` = `http`, `method` = `publish`, …).
    fn command(&self, _protocol: &str, _method: &str, _elapsed: std::time::Duration) {}
    /// One API command failed with this error code (or `read_body`/`unmarshal`/`marshal`).
    fn command_error(&self, _protocol: &str, _method: &str, _error: &str) {}
}

/// The HTTP API routes (`{http_api.handler_prefix}/<method>` and the legacy exact prefix path),
/// with API key authentication. Mounted by the server on the internal (or external) listener.
pub fn http_router(executor: Executor, config: SharedConfig, observer: Arc<dyn ApiObserver>) -> axum::Router {
    let _ = (executor, config, observer);
    todo!("API work package")
}
