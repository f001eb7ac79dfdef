//! The byte stream under one WebSocket.
//!
//! Normally hyper hands the TCP stream itself back after the upgrade, and reads and writes go
//! straight to the socket on readiness: an idle connection then holds no read or write buffer at
//! all (design.md §6.1). Any other stream type (a server that wraps its sockets) falls back to
//! tokio's split halves, which is correct but keeps those halves' state.

use std::io::{self, IoSlice};

use bytes::{Bytes, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Bytes read per readiness event. Lives on the stack for the duration of one `try_read`, never
/// in the connection.
const READ_CHUNK: usize = 16 * 1024;
/// At most this many slices per `writev` (well under every IOV_MAX).
const MAX_IOVECS: usize = 64;

pub(crate) enum Io {
    Tcp(TcpStream),
    /// Boxed: rare, and twice the size of a `TcpStream`.
    Other(Box<OtherIo>),
}

pub(crate) struct OtherIo {
    read: Mutex<ReadHalf<TokioIo<Upgraded>>>,
    write: Mutex<WriteHalf<TokioIo<Upgraded>>>,
}

impl Io {
    /// The stream under an upgraded connection, and the bytes hyper had already read past the
    /// handshake (a client may send its first frame right behind the request).
    pub(crate) fn from_upgraded(upgraded: Upgraded) -> (Io, bytes::Bytes) {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (Io::Tcp(parts.io.into_inner()), parts.read_buf),
            Err(upgraded) => {
                let (read, write) = tokio::io::split(TokioIo::new(upgraded));
                let io = Io::Other(Box::new(OtherIo {
                    read: Mutex::new(read),
                    write: Mutex::new(write),
                }));
                (io, bytes::Bytes::new())
            }
        }
    }

    /// Appends what the peer sent to `buf`; `Ok(0)` at end of stream. Cancel-safe.
    pub(crate) async fn read_into(&self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Io::Tcp(stream) => read_tcp(stream, buf).await,
            // Boxed so that the common TCP wait stays small.
            Io::Other(other) => Box::pin(read_other(&other.read, buf)).await,
        }
    }

    /// Writes some of `parts` (in order, the first from `offset` on) with one `writev`, waiting
    /// for the socket to take at least one byte; returns how many it took. Cancel-safe: nothing
    /// is written unless this returns, so callers keep their place and resume after a cancelled
    /// write.
    pub(crate) async fn write_some(&self, parts: &[Bytes], offset: usize) -> io::Result<usize> {
        let Some(first) = parts.first() else {
            return Ok(0);
        };
        match self {
            Io::Tcp(stream) => {
                // On the stack: this runs for every write of every connection.
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let mut n = 0;
                for part in std::iter::once(&first[offset..]).chain(parts[1..].iter().map(|p| &p[..])) {
                    if n == MAX_IOVECS {
                        break;
                    }
                    if !part.is_empty() {
                        slices[n] = IoSlice::new(part);
                        n += 1;
                    }
                }
                if n == 0 {
                    return Ok(0);
                }
                loop {
                    match stream.try_write_vectored(&slices[..n]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(written) => return Ok(written),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
                        Err(e) => return Err(e),
                    }
                }
            }
            Io::Other(other) => {
                let part = std::iter::once(&first[offset..])
                    .chain(parts[1..].iter().map(|p| &p[..]))
                    .find(|p| !p.is_empty());
                let Some(part) = part else {
                    return Ok(0);
                };
                let mut write = other.write.lock().await;
                match write.write(part).await? {
                    0 => Err(io::ErrorKind::WriteZero.into()),
                    n => Ok(n),
                }
            }
        }
    }

    /// Pushes buffered bytes out (only the fallback stream buffers).
    pub(crate) async fn flush(&self) -> io::Result<()> {
        match self {
            Io::Tcp(_) => Ok(()),
            Io::Other(other) => other.write.lock().await.flush().await,
        }
    }

    /// Writes as much of `data` as the socket takes without waiting; returns how much. `None`
    /// when this stream cannot write without waiting.
    pub(crate) fn try_write(&self, data: &[u8]) -> Option<io::Result<usize>> {
        match self {
            Io::Tcp(stream) => Some(match stream.try_write(data) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                other => other,
            }),
            Io::Other(_) => None,
        }
    }

    /// Closes the write side (FIN) so the peer sees the end of the stream at once.
    pub(crate) async fn shutdown(&self) {
        if let Io::Other(other) = self {
            let _ = other.write.lock().await.shutdown().await;
        }
        // A TCP stream is closed when the connection's last reference drops it.
    }
}

async fn read_tcp(stream: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        let mut chunk = [0u8; READ_CHUNK];
        match stream.try_read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

async fn read_other(read: &Mutex<ReadHalf<TokioIo<Upgraded>>>, buf: &mut BytesMut) -> io::Result<usize> {
    let mut read = read.lock().await;
    buf.reserve(READ_CHUNK);
    read.read_buf(buf).await
}

/// Moves the (slice, offset) cursor past `n` written bytes.
pub(crate) fn advance<P: AsRef<[u8]>>(parts: &[P], index: &mut usize, offset: &mut usize, mut n: usize) {
    while n > 0 && *index < parts.len() {
        let left = parts[*index].as_ref().len() - *offset;
        if n < left {
            *offset += n;
            return;
        }
        n -= left;
        *index += 1;
        *offset = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_advances_across_slices() {
        let parts: [&[u8]; 4] = [b"ab", b"", b"cde", b"f"];
        let (mut i, mut o) = (0, 0);
        advance(&parts, &mut i, &mut o, 1);
        assert_eq!((i, o), (0, 1));
        advance(&parts, &mut i, &mut o, 2);
        assert_eq!((i, o), (2, 1));
        advance(&parts, &mut i, &mut o, 3);
        assert_eq!(i, 4);
    }
}
