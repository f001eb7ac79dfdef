//! Format-independent entry points: decode the commands of one transport frame, encode one reply or
//! push, and join encoded messages into a transport frame.
//!
//! Decoding a frame (protocol.md §1.3):
//! * JSON: messages are separated by exactly one `\n`; one trailing `\n` is accepted. An empty
//!   line anywhere else (`a\n\nb`, `a\n\n`, a lone `\n`) is an empty message and therefore
//!   malformed, as in the Go server. A `\r` before the `\n` is JSON whitespace and accepted.
//!   A message longer than `max_size` bytes (not counting the `\n`) is `TooLarge`, as the Go
//!   stream decoder does.
//! * Protobuf: each message is prefixed by its length as an unsigned varint. The declared length
//!   is checked against `max_size` before anything is sliced or allocated, then against the bytes
//!   left (`Truncated`). A zero length is an empty command (a pong). A frame that ends inside a
//!   length prefix is `Truncated`; a prefix longer than ten bytes is `Malformed`.
//! * An empty frame is [`DecodeError::Empty`]; any error ends the frame (the session maps all of
//!   them to disconnect 3501).
//!
//! [`iter_commands`] yields commands one at a time, so a session can handle the commands before a
//! broken one exactly like the Go server does, and never holds a whole frame of decoded commands
//! (a 64 KiB frame of one-byte pongs would otherwise become 64 Ki `Command` structs at once).
//! [`decode_commands`] collects the same iterator.
//!
//! Encoding produces ONE message without framing; [`frame_messages`] and
//! [`frame_stream_messages`] add the framing of a transport.

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message as _;

use crate::json;
use crate::types::{Command, ConnectRequest, EmulationRequest, Push, Reply};
use crate::varint::{self, Varint};

pub use crate::method::{command_method, Method};

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
    iter_commands(proto, frame, max_size).collect()
}

/// Like [`decode_commands`], but `bytes` fields of the commands are zero-copy slices of `frame`.
pub fn decode_commands_shared(
    proto: ProtocolType,
    frame: &Bytes,
    max_size: usize,
) -> Result<Vec<Command>, DecodeError> {
    iter_commands_shared(proto, frame, max_size).collect()
}

/// Commands of one frame, decoded lazily. Yields `Err` at most once, then stops.
pub fn iter_commands(proto: ProtocolType, frame: &[u8], max_size: usize) -> CommandIter<'_> {
    CommandIter {
        proto,
        frame,
        owner: None,
        pos: 0,
        max_size,
        state: IterState::Start,
    }
}

/// Like [`iter_commands`], with `bytes` fields sliced from `frame` instead of copied.
pub fn iter_commands_shared(proto: ProtocolType, frame: &Bytes, max_size: usize) -> CommandIter<'_> {
    CommandIter {
        proto,
        frame,
        owner: Some(frame),
        pos: 0,
        max_size,
        state: IterState::Start,
    }
}

/// Iterator returned by [`iter_commands`].
#[derive(Debug)]
pub struct CommandIter<'a> {
    proto: ProtocolType,
    frame: &'a [u8],
    owner: Option<&'a Bytes>,
    pos: usize,
    max_size: usize,
    state: IterState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IterState {
    Start,
    Running,
    Done,
}

impl Iterator for CommandIter<'_> {
    type Item = Result<Command, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.state {
            IterState::Done => return None,
            IterState::Start => {
                if self.frame.is_empty() {
                    self.state = IterState::Done;
                    return Some(Err(DecodeError::Empty));
                }
                self.state = IterState::Running;
            }
            IterState::Running => {
                if self.pos >= self.frame.len() {
                    self.state = IterState::Done;
                    return None;
                }
            }
        }
        let item = match self.proto {
            ProtocolType::Json => self.next_json(),
            ProtocolType::Protobuf => self.next_protobuf(),
        };
        if item.is_err() {
            self.state = IterState::Done;
        }
        Some(item)
    }
}

impl std::iter::FusedIterator for CommandIter<'_> {}

impl CommandIter<'_> {
    /// Bytes of the frame consumed so far (message bodies plus their framing).
    pub fn consumed(&self) -> usize {
        self.pos
    }

    fn next_json(&mut self) -> Result<Command, DecodeError> {
        let rest = &self.frame[self.pos..];
        let (msg, consumed) = match memchr::memchr(b'\n', rest) {
            Some(nl) => (&rest[..nl], nl + 1),
            None => (rest, rest.len()),
        };
        self.pos += consumed;
        if msg.len() > self.max_size {
            return Err(DecodeError::TooLarge(msg.len()));
        }
        let ctx = match self.owner {
            Some(owner) => json::Ctx::shared(owner),
            None => json::Ctx::COPY,
        };
        json::decode_command_in(msg, ctx)
    }

    fn next_protobuf(&mut self) -> Result<Command, DecodeError> {
        let rest = &self.frame[self.pos..];
        let (declared, prefix_len) = match varint::read(rest) {
            Varint::Value(value, len) => (value, len),
            Varint::Truncated => return Err(DecodeError::Truncated),
            Varint::Overflow => return Err(DecodeError::Malformed("length prefix overflows 64 bits".into())),
        };
        // The limit comes first: the declared length is attacker-controlled.
        if declared > self.max_size as u64 {
            return Err(DecodeError::TooLarge(
                usize::try_from(declared).unwrap_or(usize::MAX),
            ));
        }
        let len = declared as usize;
        let body = &rest[prefix_len..];
        if len > body.len() {
            return Err(DecodeError::Truncated);
        }
        let from = self.pos + prefix_len;
        self.pos = from + len;
        let decoded = match self.owner {
            Some(owner) => Command::decode(owner.slice(from..from + len)),
            None => Command::decode(&body[..len]),
        };
        decoded.map_err(|e| DecodeError::Malformed(e.to_string()))
    }
}

/// Decodes a bare, unframed connect request: the first message of unidirectional transports.
pub fn decode_connect_request(proto: ProtocolType, data: &[u8]) -> Result<ConnectRequest, DecodeError> {
    match proto {
        ProtocolType::Json => json::decode_connect_request(data),
        ProtocolType::Protobuf => {
            ConnectRequest::decode(data).map_err(|e| DecodeError::Malformed(e.to_string()))
        }
    }
}

/// Decodes the unframed body of an emulation POST. In JSON, `data` is the raw JSON of its value.
pub fn decode_emulation_request(proto: ProtocolType, data: &[u8]) -> Result<EmulationRequest, DecodeError> {
    match proto {
        ProtocolType::Json => json::decode_emulation_request(data),
        ProtocolType::Protobuf => {
            EmulationRequest::decode(data).map_err(|e| DecodeError::Malformed(e.to_string()))
        }
    }
}

/// Encodes one reply (no framing).
pub fn encode_reply(proto: ProtocolType, reply: &Reply) -> Result<Bytes, EncodeError> {
    match proto {
        ProtocolType::Json => json::encode_reply(reply),
        ProtocolType::Protobuf => Ok(Bytes::from(reply.encode_to_vec())),
    }
}

/// Encodes one push, bare (unidirectional transports) — bidirectional transports wrap a push in a
/// [`Reply`] with `id == 0` and use [`encode_reply`].
pub fn encode_push(proto: ProtocolType, push: &Push) -> Result<Bytes, EncodeError> {
    match proto {
        ProtocolType::Json => json::encode_push(push),
        ProtocolType::Protobuf => Ok(Bytes::from(push.encode_to_vec())),
    }
}

/// Appends encoded messages to `out` as one WebSocket frame payload: JSON messages joined by `\n`
/// (no trailing newline), Protobuf messages each prefixed with its varint length.
pub fn frame_messages(proto: ProtocolType, messages: &[Bytes], out: &mut BytesMut) {
    match proto {
        ProtocolType::Json => {
            let total: usize = messages.iter().map(Bytes::len).sum();
            out.reserve(total + messages.len().saturating_sub(1));
            for (i, msg) in messages.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b'\n');
                }
                out.extend_from_slice(msg);
            }
        }
        ProtocolType::Protobuf => put_delimited(messages, out),
    }
}

/// Appends encoded messages to `out` for stream transports (HTTP streaming, WebTransport): every
/// JSON message followed by `\n`, Protobuf messages varint-delimited as in [`frame_messages`].
pub fn frame_stream_messages(proto: ProtocolType, messages: &[Bytes], out: &mut BytesMut) {
    match proto {
        ProtocolType::Json => {
            let total: usize = messages.iter().map(Bytes::len).sum();
            out.reserve(total + messages.len());
            for msg in messages {
                out.extend_from_slice(msg);
                out.put_u8(b'\n');
            }
        }
        ProtocolType::Protobuf => put_delimited(messages, out),
    }
}

fn put_delimited(messages: &[Bytes], out: &mut BytesMut) {
    let total: usize = messages
        .iter()
        .map(|m| m.len() + varint::len(m.len() as u64))
        .sum();
    out.reserve(total);
    for msg in messages {
        varint::write(out, msg.len() as u64);
        out.extend_from_slice(msg);
    }
}
