//! Format-independent entry points: decode the commands of one transport frame, encode one reply or
//! push, and join encoded messages into a transport frame.
//!
//! CONTRACT (implemented by the protocol work package):
//! * `decode_commands(proto, frame, max_size)` returns every command of a frame in order. JSON: the
//!   frame is split on `\n` (at most one trailing `\n` accepted); Protobuf: varint length-prefixed
//!   messages, a declared length is checked against `max_size` *before* allocating. An empty frame,
//!   or any undecodable message, is an error (the session maps it to disconnect 3501).
//! * `encode_reply` / `encode_push` produce ONE message without framing. JSON output keeps raw `data`
//!   bytes (stripping raw `\n`), fails with [`EncodeError::InvalidJson`] when a raw field is not JSON.
//! * `frame_messages` joins already-encoded messages into one WebSocket frame payload: JSON joins
//!   with `\n` (no trailing newline), Protobuf prefixes each with its varint length.

use bytes::{Bytes, BytesMut};

use crate::types::{Command, Push, Reply};

/// Wire format of a connection. Fixed for the lifetime of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolType {
    Json,
    Protobuf,
}

impl ProtocolType {
    /// The name used in logs, metrics and proxy requests (`json` / `protobuf`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolType::Json => "json",
            ProtocolType::Protobuf => "protobuf",
        }
    }
}

/// Why a frame could not be turned into commands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty frame")]
    Empty,
    #[error("message of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("truncated message")]
    Truncated,
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Why a reply or push could not be encoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    /// A raw payload that must be embedded into JSON is not valid JSON (session → disconnect 3506).
    #[error("payload is not valid JSON")]
    InvalidJson,
}

/// Decodes every command of one transport frame, in order.
pub fn decode_commands(
    proto: ProtocolType,
    frame: &[u8],
    max_size: usize,
) -> Result<Vec<Command>, DecodeError> {
    let _ = (proto, frame, max_size);
    todo!("protocol work package")
}

/// Encodes one reply (no framing).
pub fn encode_reply(proto: ProtocolType, reply: &Reply) -> Result<Bytes, EncodeError> {
    let _ = (proto, reply);
    todo!("protocol work package")
}

/// Encodes one push, bare (unidirectional transports) — bidirectional transports wrap a push in a
/// [`Reply`] with `id == 0` and use [`encode_reply`].
pub fn encode_push(proto: ProtocolType, push: &Push) -> Result<Bytes, EncodeError> {
    let _ = (proto, push);
    todo!("protocol work package")
}

/// Appends encoded messages to `out` as one WebSocket frame payload.
pub fn frame_messages(proto: ProtocolType, messages: &[Bytes], out: &mut BytesMut) {
    let _ = (proto, messages, out);
    todo!("protocol work package")
}
