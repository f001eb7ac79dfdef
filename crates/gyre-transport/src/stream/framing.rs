//! How the streaming HTTP transports put messages on the wire.

use bytes::{BufMut, Bytes, BytesMut};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Server-Sent Events: `data: <message>\n\n` each. JSON messages never hold a raw newline
    /// (the encoder escapes them), so one `data:` line carries one message.
    Sse,
    /// HTTP-streaming with JSON: each message followed by `\n`.
    JsonLines,
    /// HTTP-streaming with Protobuf: each message behind its varint length.
    Protobuf,
}

impl Framing {
    /// One chunk holding `messages` in order.
    pub(crate) fn encode(self, messages: &[Bytes]) -> Bytes {
        let payload: usize = messages.iter().map(Bytes::len).sum();
        let mut out = BytesMut::with_capacity(payload + messages.len() * 10);
        for message in messages {
            match self {
                Framing::Sse => {
                    out.put_slice(b"data: ");
                    out.put_slice(message);
                    out.put_slice(b"\n\n");
                }
                Framing::JsonLines => {
                    out.put_slice(message);
                    out.put_u8(b'\n');
                }
                Framing::Protobuf => {
                    crate::varint::put(&mut out, message.len() as u64);
                    out.put_slice(message);
                }
            }
        }
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let msgs = [Bytes::from_static(b"{\"a\":1}"), Bytes::from_static(b"{}")];
        assert_eq!(
            Framing::Sse.encode(&msgs),
            &b"data: {\"a\":1}\n\ndata: {}\n\n"[..]
        );
        assert_eq!(Framing::JsonLines.encode(&msgs), &b"{\"a\":1}\n{}\n"[..]);
        let big = Bytes::from(vec![7u8; 300]);
        let out = Framing::Protobuf.encode(&[Bytes::from_static(b"\x08\x01"), big.clone()]);
        let mut expected = vec![2, 8, 1, 0xAC, 0x02];
        expected.extend_from_slice(&big);
        assert_eq!(out, expected);
        assert!(Framing::JsonLines.encode(&[]).is_empty());
    }
}
