//! Centrifugo's client handler (its `internal/client/handler.go`) for Gyre: connection token
//! verification, anonymous and insecure modes, server-side subscriptions from tokens and the
//! personal channel, subscribe/publish/history/presence permission rules, subscription tokens,
//! refresh and sub_refresh, RPC (`rpc.ping`), and the HTTP/GRPC backend proxies (`gyre-proxy`)
//! for connect, refresh, subscribe, publish, sub_refresh, RPC and subscribe streams.
//!
//! Every decision is a pure function over the configuration snapshot, the caller (user, client
//! id) and the request; [`Handler`] only loads the live snapshot and verifiers and calls them.
#![forbid(unsafe_code)]

mod channel_ops;
mod connect;
mod handler;
pub mod options;
mod permissions;
mod proxy;
mod proxy_events;
mod refresh;
mod rpc;
mod stream_proxy;
mod subscribe;
mod tokens;

#[cfg(test)]
mod tests;

pub use handler::Handler;
pub use options::server_side_subscribe_options;
pub use permissions::publication_data_valid;
pub use tokens::{verifier_config, SetupError};
