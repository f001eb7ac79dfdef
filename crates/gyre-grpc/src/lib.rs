//! Gyre's two GRPC servers, wire-compatible with Centrifugo v6:
//!
//! * [`api_server`]: the server API, service `centrifugal.centrifugo.api.CentrifugoApi`
//!   (`grpc_api.*`, port 10000). Every call runs on the same [`gyre_api::Executor`] as the HTTP
//!   API, so both answer identically. Errors travel in the response's `error` field, or as GRPC
//!   statuses in transport error mode. `apikey` metadata auth, TLS, reflection, message size limit.
//! * [`uni_server`]: the unidirectional client transport, service
//!   `centrifugal.centrifugo.unistream.CentrifugoUniStream` (`uni_grpc.*`, port 11000):
//!   `Consume(ConnectRequest)` streams the connection's pushes, driven by [`gyre_core::Node`].
//!
//! [`pb`] and [`unistream`] hold the prost/tonic code generated from `proto/` and committed under
//! `src/generated/` (a test regenerates it and fails when it is stale). They include clients, so
//! Rust backends can use this crate to call Gyre or Centrifugo.
#![forbid(unsafe_code)]

mod api;
mod auth;
mod incoming;
mod limit;
mod server;
mod tls;
mod uni;

/// Messages, client and server of `centrifugal.centrifugo.api` (generated).
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod pb {
    include!("generated/centrifugal.centrifugo.api.rs");

    /// The encoded `FileDescriptorSet` of `api.proto`, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("generated/api_descriptor.bin");
}

/// Messages and client of `centrifugal.centrifugo.unistream` (generated; the server is
/// hand-written because pushes leave the core already encoded).
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod unistream {
    include!("generated/centrifugal.centrifugo.unistream.rs");
}

pub use server::{api_server, uni_server, GrpcServer};

/// A GRPC server that cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{section}.tls: {reason}")]
    Tls { section: &'static str, reason: String },
    #[error("grpc_api.reflection: {0}")]
    Reflection(String),
}
