//! The session's one bidirectional stream as the core's reader and writer. A stream has no
//! message boundaries, so both directions carry the same framing as a WebSocket frame's
//! content: JSON messages each ending in `\n`, protobuf messages each behind a varint length.

use std::io;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use wtransport::{Connection, RecvStream, SendStream, VarInt};

use gyre_core::{Disconnect, ProtocolType, ReadError, TransportReader, TransportWriter};

/// Bytes taken from the stream per read (on the stack, not kept by an idle connection).
const READ_CHUNK: usize = 16 * 1024;
/// How long the closing writer waits for the peer to acknowledge the disconnect push before the
/// session is closed (closing the connection drops whatever is still unacknowledged).
const CLOSE_FLUSH_WAIT: Duration = Duration::from_secs(1);

pub(super) struct WtReader {
    recv: RecvStream,
    protocol: ProtocolType,
    max_message_size: usize,
    /// Received bytes that do not form a whole message yet.
    buf: BytesMut,
    done: bool,
}

impl WtReader {
    pub(super) fn new(recv: RecvStream, protocol: ProtocolType, max_message_size: usize) -> WtReader {
        WtReader {
            recv,
            protocol,
            max_message_size,
            buf: BytesMut::new(),
            done: false,
        }
    }
}

/// What the buffered bytes hold.
#[derive(Debug, PartialEq, Eq)]
enum Split {
    /// This many leading bytes are whole messages.
    Messages(usize),
    NeedMore,
    /// A message (or its declared length) is over the limit.
    TooBig,
    /// A protobuf length prefix longer than 10 bytes.
    Malformed,
}

/// Where the whole messages at the start of `buf` end.
fn split(buf: &[u8], protocol: ProtocolType, max: usize) -> Split {
    match protocol {
        ProtocolType::Json => match memrchr_newline(buf) {
            // Each line is checked against the limit by the decoder; only the unfinished tail
            // is bounded here.
            Some(end) if buf.len() - end - 1 > max => Split::TooBig,
            Some(end) => Split::Messages(end + 1),
            None if buf.len() > max => Split::TooBig,
            None => Split::NeedMore,
        },
        ProtocolType::Protobuf => {
            let mut at = 0;
            loop {
                let (len, prefix) = match varint(&buf[at..]) {
                    Varint::Value(len, prefix) => (len, prefix),
                    Varint::Truncated => break,
                    Varint::Overflow => return Split::Malformed,
                };
                // The declared length is the peer's claim: check it before waiting for it.
                if len > max as u64 {
                    return Split::TooBig;
                }
                let end = at + prefix + len as usize;
                if end > buf.len() {
                    break;
                }
                at = end;
            }
            if at == 0 {
                Split::NeedMore
            } else {
                Split::Messages(at)
            }
        }
    }
}

fn memrchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().rposition(|b| *b == b'\n')
}

enum Varint {
    Value(u64, usize),
    Truncated,
    Overflow,
}

fn varint(buf: &[u8]) -> Varint {
    let mut value: u64 = 0;
    for (i, b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Varint::Value(value, i + 1);
        }
    }
    if buf.len() >= 10 {
        Varint::Overflow
    } else {
        Varint::Truncated
    }
}

#[async_trait::async_trait]
impl TransportReader for WtReader {
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
        loop {
            if self.done {
                return None;
            }
            match split(&self.buf, self.protocol, self.max_message_size) {
                Split::Messages(n) => {
                    let frame = self.buf.split_to(n).freeze();
                    if self.buf.is_empty() {
                        self.buf = BytesMut::new();
                    }
                    return Some(Ok(frame));
                }
                Split::TooBig => {
                    self.done = true;
                    return Some(Err(ReadError::MessageTooBig));
                }
                Split::Malformed => {
                    self.done = true;
                    return Some(Err(ReadError::Transport("malformed length prefix".into())));
                }
                Split::NeedMore => {}
            }
            let mut chunk = [0u8; READ_CHUNK];
            // Cancel-safe: a read that has not completed has taken nothing from the stream.
            match self.recv.read(&mut chunk).await {
                Ok(Some(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Ok(None) | Err(_) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

pub(super) struct WtWriter {
    connection: Connection,
    send: SendStream,
    protocol: ProtocolType,
    /// Chunks of a write a cancelled `write_batch` left unfinished (quinn takes written bytes
    /// off their front): finished before anything else, so the stream stays well-formed.
    pending: Vec<Bytes>,
}

impl WtWriter {
    pub(super) fn new(connection: Connection, send: SendStream, protocol: ProtocolType) -> WtWriter {
        WtWriter {
            connection,
            send,
            protocol,
            pending: Vec::new(),
        }
    }

    async fn write_pending(&mut self) -> io::Result<()> {
        while !self.pending.is_empty() {
            let written = self
                .send
                .quic_stream_mut()
                .write_chunks(&mut self.pending)
                .await
                .map_err(io::Error::other)?;
            // Fully written chunks go as they are written, so a cancellation keeps only the rest.
            self.pending.drain(..written.chunks);
        }
        self.pending = Vec::new();
        Ok(())
    }
}

/// The chunks of one write: each JSON message followed by `\n`, each protobuf message behind its
/// varint length. The messages themselves are shared, not copied.
fn chunks(protocol: ProtocolType, messages: &[Bytes], out: &mut Vec<Bytes>) {
    match protocol {
        ProtocolType::Json => {
            for m in messages.iter().filter(|m| !m.is_empty()) {
                out.push(m.clone());
                out.push(Bytes::from_static(b"\n"));
            }
        }
        ProtocolType::Protobuf => {
            let mut prefixes = Vec::with_capacity(messages.len() * 2);
            for m in messages {
                crate::varint::put(&mut prefixes, m.len() as u64);
            }
            let prefixes = Bytes::from(prefixes);
            let mut at = 0;
            for m in messages {
                let len = crate::varint::len(m.len() as u64);
                out.push(prefixes.slice(at..at + len));
                at += len;
                // An empty message (a protobuf ping) is its prefix alone.
                if !m.is_empty() {
                    out.push(m.clone());
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl TransportWriter for WtWriter {
    async fn write_batch(&mut self, messages: &[Bytes]) -> Result<(), io::Error> {
        self.write_pending().await?;
        chunks(self.protocol, messages, &mut self.pending);
        self.write_pending().await
    }

    /// The core has already written the disconnect push (WebTransport has no close frame a
    /// browser reliably sees). The stream is finished, its data given a moment to be
    /// acknowledged, then the session closed with the disconnect's code, as Centrifugo does.
    async fn close(&mut self, disconnect: Option<Disconnect>) {
        let flushed = tokio::time::timeout(CLOSE_FLUSH_WAIT, async {
            if self.write_pending().await.is_ok() && self.send.quic_stream_mut().finish().is_ok() {
                let _ = self.send.quic_stream_mut().stopped().await;
            }
        });
        let _ = flushed.await;
        let d = disconnect.unwrap_or(Disconnect::CONNECTION_CLOSED);
        self.connection
            .close(VarInt::from_u32(d.code), d.reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_splits_after_the_last_newline() {
        let j = |b: &[u8], max| split(b, ProtocolType::Json, max);
        assert_eq!(j(b"", 10), Split::NeedMore);
        assert_eq!(j(b"{\"id\":1", 10), Split::NeedMore);
        assert_eq!(j(b"{\"id\":1}\n{\"id", 10), Split::Messages(9));
        assert_eq!(j(b"{}\n{}\n", 10), Split::Messages(6));
        // An unfinished line over the limit is refused without waiting for its end.
        assert_eq!(j(&[b'x'; 11], 10), Split::TooBig);
        assert_eq!(j(b"{}\nxxxxxxxxxxx", 10), Split::TooBig);
    }

    #[test]
    fn protobuf_splits_whole_messages() {
        let p = |b: &[u8], max| split(b, ProtocolType::Protobuf, max);
        assert_eq!(p(b"", 10), Split::NeedMore);
        assert_eq!(p(&[3, 1, 2], 10), Split::NeedMore);
        assert_eq!(p(&[2, 1, 2, 1, 9], 10), Split::Messages(5));
        assert_eq!(p(&[2, 1, 2, 3, 9], 10), Split::Messages(3));
        assert_eq!(p(&[0, 1, 7], 10), Split::Messages(3));
        assert_eq!(p(&[0x80], 10), Split::NeedMore);
        // The declared length decides, before its bytes arrive.
        assert_eq!(p(&[11], 10), Split::TooBig);
        let mut huge = vec![0xFF; 9];
        huge.push(0x7F);
        assert_eq!(p(&huge, 10), Split::TooBig);
        assert_eq!(p(&[0xFF; 10], 10), Split::Malformed);
    }

    #[test]
    fn chunks_frame_like_a_websocket_frame_content() {
        let messages = [Bytes::from_static(b"{\"a\":1}"), Bytes::from_static(b"{}")];
        let mut out = Vec::new();
        chunks(ProtocolType::Json, &messages, &mut out);
        assert_eq!(out.concat(), b"{\"a\":1}\n{}\n");
        let big = Bytes::from(vec![7u8; 300]);
        let mut out = Vec::new();
        chunks(
            ProtocolType::Protobuf,
            &[Bytes::from_static(b"\x08\x01"), big.clone()],
            &mut out,
        );
        let mut expected = vec![2, 8, 1, 0xAC, 0x02];
        expected.extend_from_slice(&big);
        assert_eq!(out.concat(), expected);
    }
}
