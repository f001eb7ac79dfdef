//! Centrifugo client protocol v2 for Gyre: message types ([`types`]), the JSON codec ([`json`]),
//! the Protobuf codec and stream framing ([`codec`]), and the fossil delta format ([`fossil`]).
//!
//! This crate has no async runtime dependency: it turns bytes into commands and replies/pushes into
//! bytes, nothing else.
#![forbid(unsafe_code)]

pub mod codec;
pub mod fossil;
pub mod json;
mod method;
pub mod types;
mod varint;

pub use codec::{DecodeError, EncodeError, ProtocolType};
pub use method::{command_method, Method};
pub use types::*;
