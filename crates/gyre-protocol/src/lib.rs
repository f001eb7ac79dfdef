//! Centrifugo client protocol v2 for Gyre: message types ([`types`]), the JSON codec ([`json`]),
//! the Protobuf codec and stream framing ([`codec`]).
//!
//! This crate has no async runtime dependency: it turns bytes into commands and replies/pushes into
//! bytes, nothing else.
#![forbid(unsafe_code)]

pub mod codec;
pub mod json;
pub mod types;

pub use codec::{DecodeError, EncodeError, ProtocolType};
pub use types::*;
