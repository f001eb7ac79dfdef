//! JSON protocol codec (see `codec.rs` for the format-independent contract).
//!
//! * Inbound ([`decode_command`]): one command per call, `bytes` fields keep the exact raw JSON
//!   text of their value, unknown keys are ignored, `null` means "not set", 64-bit integers are
//!   JSON numbers (a string is an error, as in Go).
//! * Outbound ([`encode_reply`], [`encode_push`]): a hand-written writer in .proto field order
//!   with Go's omitempty rules; `bytes` fields are embedded verbatim minus raw `\n` bytes and must
//!   be valid JSON, else [`EncodeError::InvalidJson`].
//!
//! Deliberate differences from the Go decoder, all stricter on input no SDK sends: anything after
//! the JSON value of a message is an error (Go ignores trailing bytes), the top-level value must be
//! an object (Go takes `null` as an empty command), text must be UTF-8, and nesting is limited to
//! 128 levels.

mod decode;
mod encode;
mod writer;

use bytes::Bytes;

use crate::codec::{DecodeError, EncodeError};
use crate::types::{Command, ConnectRequest, EmulationRequest, Push, Reply};

pub(crate) use decode::Ctx;
pub use writer::is_valid_json;

/// How `Publication.data` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataMode {
    /// Embedded raw JSON (the normal case).
    #[default]
    Raw,
    /// A JSON string holding the bytes: used once fossil delta is negotiated on a subscription,
    /// since patches are not JSON (protocol.md §8). Applies to every publication in the message,
    /// is always written (`""` when empty) and never fails; non-UTF-8 bytes become U+FFFD.
    String,
}

/// Decodes one JSON command (a single message, no `\n` framing).
pub fn decode_command(msg: &[u8]) -> Result<Command, DecodeError> {
    decode::decode_message(msg, Ctx::COPY)
}

/// Like [`decode_command`], but `bytes` fields are zero-copy slices of `msg`.
pub fn decode_command_shared(msg: &Bytes) -> Result<Command, DecodeError> {
    decode::decode_message(msg, Ctx::shared(msg))
}

pub(crate) fn decode_command_in(msg: &[u8], ctx: Ctx<'_>) -> Result<Command, DecodeError> {
    decode::decode_message(msg, ctx)
}

/// Decodes a bare connect request (the first message of unidirectional transports).
pub fn decode_connect_request(msg: &[u8]) -> Result<ConnectRequest, DecodeError> {
    decode::decode_message(msg, Ctx::COPY)
}

/// Decodes the body of an emulation POST; `data` keeps the raw JSON of its value (a JSON string
/// holding the command frame, which the caller unquotes).
pub fn decode_emulation_request(msg: &[u8]) -> Result<EmulationRequest, DecodeError> {
    decode::decode_message(msg, Ctx::COPY)
}

/// Encodes one reply.
pub fn encode_reply(reply: &Reply) -> Result<Bytes, EncodeError> {
    encode_reply_with(reply, DataMode::Raw)
}

/// Encodes one reply, writing publication data as `mode` says.
pub fn encode_reply_with(reply: &Reply, mode: DataMode) -> Result<Bytes, EncodeError> {
    let mut out = Vec::with_capacity(encode::reply_size_hint(reply));
    encode::reply(&mut out, reply, mode)?;
    Ok(Bytes::from(out))
}

/// Encodes one bare push (unidirectional transports).
pub fn encode_push(push: &Push) -> Result<Bytes, EncodeError> {
    encode_push_with(push, DataMode::Raw)
}

/// Encodes one bare push, writing publication data as `mode` says.
pub fn encode_push_with(push: &Push, mode: DataMode) -> Result<Bytes, EncodeError> {
    let mut out = Vec::with_capacity(encode::push_size_hint(push));
    encode::push(&mut out, push, mode)?;
    Ok(Bytes::from(out))
}

/// Appends one encoded reply to `out` (for callers reusing a buffer). On error `out` is restored
/// to its previous length.
pub fn write_reply(out: &mut Vec<u8>, reply: &Reply, mode: DataMode) -> Result<(), EncodeError> {
    let start = out.len();
    out.reserve(encode::reply_size_hint(reply));
    encode::reply(out, reply, mode).inspect_err(|_| out.truncate(start))
}

/// Appends one encoded bare push to `out`. On error `out` is restored to its previous length.
pub fn write_push(out: &mut Vec<u8>, push: &Push, mode: DataMode) -> Result<(), EncodeError> {
    let start = out.len();
    out.reserve(encode::push_size_hint(push));
    encode::push(out, push, mode).inspect_err(|_| out.truncate(start))
}
