//! permessage-deflate for the load tool's subscribers (`--compression`). tungstenite implements
//! no extension, so the byte stream under it is rewritten instead: after the handshake every
//! server frame is parsed, a compressed one (RSV1) is inflated (no context takeover, as Gyre and
//! Centrifugo negotiate it) and handed up as the plain frame it stands for. Client frames go out
//! uncompressed, which the extension allows.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use flate2::{Decompress, FlushDecompress};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The offer a subscriber sends with `--compression`.
pub(crate) const OFFER: &str = "permessage-deflate; client_max_window_bits";

/// Appended to each compressed message before inflating: the stripped tail (RFC 7692 §7.2.2)
/// and an empty final block.
const TAIL: [u8; 9] = [0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff];

/// The stream under a subscriber's WebSocket.
pub(crate) enum BenchStream {
    Plain(TcpStream),
    Inflating(Box<Inflating>),
}

pub(crate) struct Inflating {
    tcp: TcpStream,
    rewriter: Rewriter,
}

/// Turns the server's byte stream into the one tungstenite reads.
#[derive(Default)]
struct Rewriter {
    head_done: bool,
    /// Bytes read from the socket and not yet turned into `ready`.
    raw: Vec<u8>,
    /// Bytes for tungstenite.
    ready: Vec<u8>,
    ready_at: usize,
    inflater: Option<Decompress>,
}

impl BenchStream {
    pub(crate) fn new(tcp: TcpStream, compression: bool) -> BenchStream {
        if !compression {
            return BenchStream::Plain(tcp);
        }
        BenchStream::Inflating(Box::new(Inflating {
            tcp,
            rewriter: Rewriter::default(),
        }))
    }
}

impl Rewriter {
    /// Takes bytes from the socket; every complete unit (the response head, then frames) moves
    /// to `ready`.
    fn feed(&mut self, data: &[u8]) -> io::Result<()> {
        self.raw.extend_from_slice(data);
        if !self.head_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return Ok(());
            };
            self.ready.extend(self.raw.drain(..end + 4));
            self.head_done = true;
        }
        let mut at = 0;
        while let Some((b0, header, len)) = frame_header(&self.raw[at..]) {
            let Some(payload) = self.raw.get(at + header..at + header + len) else {
                break;
            };
            if b0 & 0x40 == 0 {
                self.ready.extend_from_slice(&self.raw[at..at + header + len]);
            } else {
                let inflater = self.inflater.get_or_insert_with(|| Decompress::new(false));
                let message = inflate(inflater, payload)?;
                push_header(&mut self.ready, b0 & !0x40, message.len());
                self.ready.extend_from_slice(&message);
            }
            at += header + len;
        }
        self.raw.drain(..at);
        Ok(())
    }
}

/// `(first byte, header length, payload length)` of an unmasked server frame, when complete.
fn frame_header(buf: &[u8]) -> Option<(u8, usize, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    match b1 & 0x7F {
        126 => Some((
            b0,
            4,
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
        )),
        127 => {
            let len = u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?);
            Some((b0, 10, len as usize))
        }
        n => Some((b0, 2, usize::from(n))),
    }
}

fn push_header(out: &mut Vec<u8>, b0: u8, len: usize) {
    out.push(b0);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

fn inflate(inflater: &mut Decompress, payload: &[u8]) -> io::Result<Vec<u8>> {
    inflater.reset(false);
    let mut out = Vec::with_capacity(payload.len() * 4 + 64);
    for mut input in [payload, &TAIL[..]] {
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            let before = inflater.total_in();
            let status = inflater
                .decompress_vec(input, &mut out, FlushDecompress::Sync)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            input = &input[(inflater.total_in() - before) as usize..];
            if status == flate2::Status::StreamEnd {
                return Ok(out);
            }
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "compressed message without an end",
    ))
}

impl AsyncRead for BenchStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = match self.get_mut() {
            BenchStream::Plain(tcp) => return Pin::new(tcp).poll_read(cx, buf),
            BenchStream::Inflating(this) => this,
        };
        loop {
            let rw = &mut this.rewriter;
            if rw.ready_at < rw.ready.len() {
                let n = buf.remaining().min(rw.ready.len() - rw.ready_at);
                buf.put_slice(&rw.ready[rw.ready_at..rw.ready_at + n]);
                rw.ready_at += n;
                if rw.ready_at == rw.ready.len() {
                    rw.ready.clear();
                    rw.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.tcp).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => this.rewriter.feed(read.filled())?,
                other => return other,
            }
        }
    }
}

impl AsyncWrite for BenchStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            BenchStream::Plain(tcp) => Pin::new(tcp).poll_write(cx, data),
            BenchStream::Inflating(this) => Pin::new(&mut this.tcp).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            BenchStream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            BenchStream::Inflating(this) => Pin::new(&mut this.tcp).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            BenchStream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            BenchStream::Inflating(this) => Pin::new(&mut this.tcp).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use flate2::{Compress, Compression, FlushCompress};

    use super::*;

    #[test]
    fn compressed_frames_become_plain_frames() {
        let message =
            br#"{"push":{"channel":"bench.0","pub":{"data":{"s":1,"p":"xxxxxxxxxxxxxxxxxxxxxxxx"}}}}"#;
        let mut c = Compress::new(Compression::new(1), false);
        let mut compressed = Vec::with_capacity(1024);
        c.compress_vec(message, &mut compressed, FlushCompress::Sync)
            .unwrap();
        compressed.truncate(compressed.len() - 4);
        let mut wire = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        push_header(&mut wire, 0xC1, compressed.len());
        wire.extend_from_slice(&compressed);
        push_header(&mut wire, 0x81, 2);
        wire.extend_from_slice(b"{}");

        let mut expected = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        push_header(&mut expected, 0x81, message.len());
        expected.extend_from_slice(message);
        push_header(&mut expected, 0x81, 2);
        expected.extend_from_slice(b"{}");

        // Fed byte by byte, as the socket may deliver it.
        let mut rewriter = Rewriter::default();
        for b in wire {
            rewriter.feed(&[b]).unwrap();
        }
        assert_eq!(rewriter.ready, expected);
    }
}
