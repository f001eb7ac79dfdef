//! The server API (`/api/<method>`): a transport-agnostic [`Executor`] and its HTTP adapter.
//!
//! * [`Executor`] has one async method per API call taking a typed request from [`requests`] and
//!   returning a typed result from [`results`] or an [`ApiError`]. It validates in Centrifugo's
//!   order, resolves namespaces from the live config snapshot and calls the [`Node`].
//! * [`http_router`] decodes Centrifugo's JSON (snake_case keys, raw `data`/`info`/`params`),
//!   checks the API key before reading the body, and encodes results or errors (200 with an error
//!   body, or mapped statuses in transport error mode). It also serves the legacy `/api` stream.
//! * A gRPC adapter builds the same request structs and calls the same executor.
#![forbid(unsafe_code)]

mod error;
mod executor;
mod http;
mod legacy;
mod methods;
mod raw;
pub mod requests;
pub mod results;

use std::sync::Arc;

use gyre_config::SharedConfig;
#[cfg(doc)]
use gyre_core::Node;

pub use error::{ApiError, GrpcCode};
pub use executor::batch::BatchItem;
pub use executor::{BatchRequest, BatchResult, Executor, Reply};
pub use http::MAX_BODY_SIZE;
pub use legacy::{execute_legacy, LegacyError};
pub use methods::{Command, CommandResult};

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
    http::router(executor, config, observer)
}
