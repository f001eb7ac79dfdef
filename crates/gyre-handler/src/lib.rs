//! Centrifugo's client handler (its `internal/client/handler.go`) for Gyre: connection token
//! verification, anonymous and insecure modes, server-side subscriptions from tokens and the
//! personal channel, subscribe/publish/history/presence permission rules, subscription tokens,
//! refresh and sub_refresh, RPC (`rpc.ping`).
#![forbid(unsafe_code)]

pub mod options;

pub use options::server_side_subscribe_options;
