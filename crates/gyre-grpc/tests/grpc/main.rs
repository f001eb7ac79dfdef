//! The GRPC servers end to end: a real node, the HTTP API next to the GRPC API on the same
//! executor, tonic clients over loopback.

mod api;
mod common;
mod limits;
mod parity;
mod tls;
mod uni;
mod wire;
