//! One upgraded WebSocket connection: the session reads through [`WsReader`], the core's writer
//! task writes through [`WsWriter`], both straight on the socket ([`Io`]). There is no socket
//! task and no channel between them: an idle connection costs its socket and a few flags.
//!
//! Control frames the reader must answer (pong, the close echo, the close that ends a protocol
//! violation) and native pings are queued in `control` and written by whoever holds the write
//! lock next: at once without waiting when the lock is free and the socket takes them, else by a
//! short-lived flush task. Frames are never interleaved: every write holds the lock.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::time::Instant;

use gyre_core::{Disconnect, ProtocolType, ReadError, TransportReader, TransportWriter};

use super::deflate::{self, Deflate, InflateError};
use super::frame::{self, FrameError, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT};
use super::io::Io;

/// How long a close handshake may take before the socket is dropped (Centrifugo waits as long).
const CLOSE_HANDSHAKE_WAIT: Duration = Duration::from_secs(5);
/// How long the socket stays open after a close frame sent because reading failed: the peer's
/// answer cannot be read any more, but closing at once could reset the connection before the
/// peer has read our close frame.
const CLOSE_AFTER_READ_ERROR_GRACE: Duration = Duration::from_millis(500);
/// Unsent control frames beyond this are dropped (a ping flood from a peer that does not read
/// must not queue pongs without limit; answering the latest ping is enough, RFC 6455 §5.5.3).
const MAX_PENDING_CONTROL: usize = 1024;

/// Native WebSocket ping/pong (`cf_ws_frame_ping_pong=true`) instead of application pings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NativePing {
    pub(crate) interval: Duration,
    pub(crate) pong_timeout: Duration,
}

/// Per-connection settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) protocol: ProtocolType,
    /// Bounds a message as it arrives on the wire (compressed or not).
    pub(crate) max_message_size: usize,
    /// permessage-deflate was negotiated: compressed messages are accepted and inflated up to
    /// this many bytes.
    pub(crate) inflate_limit: Option<usize>,
    pub(crate) write_timeout: Duration,
    pub(crate) native_ping: Option<NativePing>,
    /// A batch of messages goes out as one frame (`\n`-joined JSON, varint-delimited
    /// protobuf); otherwise each message is a frame of its own (`uni_websocket` without
    /// `join_push_messages`).
    pub(crate) join_messages: bool,
    /// A close from the server sends a close frame and waits for the answer; without it the
    /// socket is just dropped (`uni_websocket.disable_closing_handshake`).
    pub(crate) closing_handshake: bool,
}

/// Write-side state, behind the lock that serialises frames. The bytes being written live here
/// with a cursor, not in the writing future: a write abandoned halfway (a slow consumer cut
/// off with 3008) leaves its remainder here, and the close finishes that frame before the close
/// frame, so the peer still reads a well-formed stream and learns why.
#[derive(Default)]
struct WriteState {
    pending: Vec<Bytes>,
    index: usize,
    offset: usize,
    /// A write failed: the stream is unusable.
    failed: bool,
}

impl WriteState {
    fn idle(&self) -> bool {
        self.index >= self.pending.len()
    }

    /// Writes everything pending; resumable after cancellation.
    async fn write_pending(&mut self, io: &Io) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "websocket write failed earlier",
            ));
        }
        while !self.idle() {
            let written = match io.write_some(&self.pending[self.index..], self.offset).await {
                Ok(n) => n,
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            };
            let (mut index, mut offset) = (self.index, self.offset);
            super::io::advance(&self.pending, &mut index, &mut offset, written);
            self.index = index;
            self.offset = offset;
        }
        // Nothing is held between writes.
        self.pending = Vec::new();
        self.index = 0;
        self.offset = 0;
        if let Err(e) = io.flush().await {
            self.failed = true;
            return Err(e);
        }
        Ok(())
    }
}

pub(crate) struct Shared {
    io: Io,
    write: tokio::sync::Mutex<WriteState>,
    control: parking_lot::Mutex<Vec<u8>>,
    flush_scheduled: AtomicBool,
    /// A close frame was queued or written; no second one is sent.
    close_queued: AtomicBool,
    /// The peer's close frame arrived (or the peer is gone): nothing to wait for at the end.
    peer_done: AtomicBool,
    /// Reading failed and a close frame explains why: linger briefly, then drop.
    read_failed: AtomicBool,
    /// Bytes the reader had buffered when it was dropped (the peer's close may be among them).
    leftover: parking_lot::Mutex<BytesMut>,
    write_timeout: Duration,
}

/// Splits a connection into the core's reader and writer; `initial` is what hyper read past the
/// handshake; `deflate` is set when permessage-deflate was negotiated.
pub(crate) fn start(
    io: Io,
    initial: Bytes,
    settings: Settings,
    deflate: Option<Deflate>,
) -> (WsReader, WsWriter, Arc<Shared>) {
    let shared = Arc::new(Shared {
        io,
        write: tokio::sync::Mutex::new(WriteState::default()),
        control: parking_lot::Mutex::new(Vec::new()),
        flush_scheduled: AtomicBool::new(false),
        close_queued: AtomicBool::new(false),
        peer_done: AtomicBool::new(false),
        read_failed: AtomicBool::new(false),
        leftover: parking_lot::Mutex::new(BytesMut::new()),
        write_timeout: settings.write_timeout,
    });
    let reader = WsReader {
        shared: shared.clone(),
        buf: BytesMut::from(&initial[..]),
        message: None,
        settings,
        next_ping: settings.native_ping.map(|p| Instant::now() + p.interval),
        pong_deadline: None,
        done: false,
    };
    let writer = WsWriter {
        shared: shared.clone(),
        protocol: settings.protocol,
        join_messages: settings.join_messages,
        closing_handshake: settings.closing_handshake,
        deflate,
    };
    (reader, writer, shared)
}

impl Shared {
    /// Queues a control frame and gets it written without blocking the caller.
    fn send_control(self: &Arc<Self>, opcode: u8, payload: &[u8]) {
        {
            let mut control = self.control.lock();
            if opcode != OP_CLOSE && control.len() >= MAX_PENDING_CONTROL {
                return;
            }
            frame::push_control(&mut control, opcode, payload);
        }
        self.flush_control_soon();
    }

    pub(crate) fn queue_close(self: &Arc<Self>, code: u16, reason: &str) {
        if !self.close_queued.swap(true, Ordering::AcqRel) {
            self.send_control(OP_CLOSE, &frame::close_payload(code, reason));
        }
    }

    /// Writes queued control frames now if that needs no waiting, else hands them to a task.
    fn flush_control_soon(self: &Arc<Self>) {
        if let Ok(state) = self.write.try_lock() {
            if state.failed {
                self.control.lock().clear();
                return;
            }
            let mut control = self.control.lock();
            if !state.idle() {
                // Half a data frame is still out; the flush task completes it first.
                drop(control);
                drop(state);
                return self.spawn_flush();
            }
            if let Some(result) = self.io.try_write(&control) {
                match result {
                    Ok(n) => {
                        control.drain(..n);
                    }
                    Err(_) => {
                        control.clear();
                        return;
                    }
                }
                if control.is_empty() {
                    *control = Vec::new();
                    return;
                }
            }
        }
        self.spawn_flush();
    }

    fn spawn_flush(self: &Arc<Self>) {
        if self.flush_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = self.clone();
        tokio::spawn(async move {
            let mut state = shared.write.lock().await;
            shared.flush_scheduled.store(false, Ordering::Release);
            let control = std::mem::take(&mut *shared.control.lock());
            if !control.is_empty() {
                state.pending.push(Bytes::from(control));
            }
            let write = state.write_pending(&shared.io);
            if tokio::time::timeout(shared.write_timeout, write).await.is_err() {
                state.failed = true;
            }
        });
    }

    /// After the session: waits (bounded) for the peer's answer to our close frame, or lingers
    /// briefly after a read error, so the peer reads our close frame before the socket goes.
    pub(crate) async fn finish(&self) {
        if self.read_failed.load(Ordering::Acquire) {
            tokio::time::sleep(CLOSE_AFTER_READ_ERROR_GRACE).await;
        } else if self.close_queued.load(Ordering::Acquire) && !self.peer_done.load(Ordering::Acquire) {
            let buf = std::mem::take(&mut *self.leftover.lock());
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE_WAIT, self.await_peer_close(buf)).await;
        }
        self.io.shutdown().await;
    }

    /// Reads and drops frames until the peer's close frame or the end of the stream. Payloads
    /// are skipped as they arrive, never buffered whole.
    async fn await_peer_close(&self, mut buf: BytesMut) {
        let mut skip: u64 = 0;
        loop {
            let n = skip.min(buf.len() as u64) as usize;
            buf.advance(n);
            skip -= n as u64;
            if skip == 0 {
                match frame::parse_header(&buf, u64::MAX, true) {
                    Err(_) => return,
                    Ok(Some(h)) if h.opcode == OP_CLOSE => return,
                    Ok(Some(h)) => {
                        buf.advance(h.header_len);
                        skip = h.payload_len;
                        continue;
                    }
                    Ok(None) => {}
                }
            }
            match self.io.read_into(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

/// A fragmented message being assembled.
struct Partial {
    opcode: u8,
    /// Its first frame had RSV1: `data` is compressed.
    compressed: bool,
    data: BytesMut,
}

pub(crate) struct WsReader {
    shared: Arc<Shared>,
    /// Received bytes not yet parsed. Empty, holding no allocation, while the connection idles.
    buf: BytesMut,
    message: Option<Partial>,
    settings: Settings,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    done: bool,
}

/// What one parsed frame means for the reader.
enum Step {
    Message(Bytes),
    /// A control frame or a fragment was handled; parse on.
    Continue,
    /// The frame is not complete yet.
    NeedMore,
    /// The peer closed the connection.
    Closed,
}

#[async_trait::async_trait]
impl TransportReader for WsReader {
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
        loop {
            if self.done {
                return None;
            }
            match self.step() {
                Ok(Step::Message(payload)) => return Some(Ok(payload)),
                Ok(Step::Continue) => continue,
                Ok(Step::Closed) => {
                    self.done = true;
                    return None;
                }
                Ok(Step::NeedMore) => {}
                Err(e) => return Some(Err(self.fail(e))),
            }
            if self.buf.is_empty() {
                // Between messages the connection holds no buffer.
                self.buf = BytesMut::new();
            }
            let timer = match (self.next_ping, self.pong_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // This wait is what every idle connection holds, boxed by `async_trait`: only the
            // socket read stays inline; the rarely used timer race is boxed on its own.
            let read = match timer {
                None => self.shared.io.read_into(&mut self.buf).await,
                Some(at) => match Box::pin(read_or_timer(&self.shared.io, &mut self.buf, at)).await {
                    Some(read) => read,
                    None => {
                        if let Some(e) = self.on_ping_timer() {
                            return Some(Err(e));
                        }
                        continue;
                    }
                },
            };
            if matches!(read, Ok(0) | Err(_)) {
                self.shared.peer_done.store(true, Ordering::Release);
                self.done = true;
                return None;
            }
        }
    }
}

/// A socket read, or `None` when `at` comes first.
async fn read_or_timer(io: &Io, buf: &mut BytesMut, at: Instant) -> Option<io::Result<usize>> {
    tokio::select! {
        read = io.read_into(buf) => Some(read),
        _ = tokio::time::sleep_until(at) => None,
    }
}

impl WsReader {
    /// Parses the next frame from the buffer.
    fn step(&mut self) -> Result<Step, FrameError> {
        let assembled = self.message.as_ref().map_or(0, |m| m.data.len());
        let limit = self.settings.max_message_size.saturating_sub(assembled) as u64;
        let deflate = self.settings.inflate_limit.is_some();
        let Some(header) = frame::parse_header(&self.buf, limit, deflate)? else {
            return Ok(Step::NeedMore);
        };
        let total = header.header_len + header.payload_len as usize;
        if self.buf.len() < total {
            // Reserve once for the whole frame (bounded by the size limit checked above).
            self.buf.reserve(total - self.buf.len());
            return Ok(Step::NeedMore);
        }
        let mut payload = self.buf.split_to(total);
        payload.advance(header.header_len);
        frame::unmask(&mut payload, header.mask, 0);
        match header.opcode {
            OP_PING => {
                self.shared.send_control(OP_PONG, &payload);
                Ok(Step::Continue)
            }
            OP_PONG => {
                self.pong_deadline = None;
                Ok(Step::Continue)
            }
            OP_CLOSE => {
                let code = frame::parse_close(&payload)?;
                self.shared.peer_done.store(true, Ordering::Release);
                if !self.shared.close_queued.swap(true, Ordering::AcqRel) {
                    let echo = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                    self.shared.send_control(OP_CLOSE, &echo);
                }
                Ok(Step::Closed)
            }
            OP_TEXT | OP_BINARY => {
                if self.message.is_some() {
                    return Err(FrameError::Protocol("new message inside a fragmented one"));
                }
                if header.fin {
                    return self.finish_message(header.opcode, header.rsv1, payload);
                }
                self.message = Some(Partial {
                    opcode: header.opcode,
                    compressed: header.rsv1,
                    data: payload,
                });
                Ok(Step::Continue)
            }
            _ => {
                let Some(mut message) = self.message.take() else {
                    return Err(FrameError::Protocol("continuation without a message"));
                };
                message.data.extend_from_slice(&payload);
                if header.fin {
                    return self.finish_message(message.opcode, message.compressed, message.data);
                }
                self.message = Some(message);
                Ok(Step::Continue)
            }
        }
    }

    /// A whole message: inflated when it came compressed, then checked.
    fn finish_message(&self, opcode: u8, compressed: bool, data: BytesMut) -> Result<Step, FrameError> {
        let data = match self.settings.inflate_limit.filter(|_| compressed) {
            None => data.freeze(),
            Some(limit) => {
                let mut out = Vec::new();
                deflate::inflate(&data, limit, &mut out).map_err(|e| match e {
                    InflateError::TooBig => FrameError::InflatedTooBig,
                    InflateError::Invalid => FrameError::BadCompression,
                })?;
                Bytes::from(out)
            }
        };
        if opcode == OP_TEXT && std::str::from_utf8(&data).is_err() {
            return Err(FrameError::Protocol(INVALID_UTF8));
        }
        Ok(Step::Message(data))
    }

    /// Ends reading after a violation: a close frame with the matching code tells the peer why.
    fn fail(&mut self, e: FrameError) -> ReadError {
        self.done = true;
        self.shared.read_failed.store(true, Ordering::Release);
        match e {
            FrameError::TooBig => {
                self.shared.queue_close(1009, "message too big");
                ReadError::MessageTooBig
            }
            FrameError::InflatedTooBig => {
                self.shared
                    .queue_close(1009, "message too big after decompression");
                ReadError::MessageTooBig
            }
            FrameError::BadCompression => {
                let d = Disconnect::BAD_REQUEST;
                self.shared.queue_close(d.code as u16, &d.reason);
                ReadError::Transport("invalid compressed message".into())
            }
            FrameError::Protocol(what) if what == INVALID_UTF8 => {
                self.shared.queue_close(1007, "invalid utf-8");
                ReadError::Transport(what.into())
            }
            FrameError::Protocol(what) => {
                self.shared.queue_close(1002, "protocol error");
                ReadError::Transport(what.into())
            }
        }
    }

    /// Sends a native ping when due; gives up on a peer whose pong is overdue.
    fn on_ping_timer(&mut self) -> Option<ReadError> {
        let now = Instant::now();
        if self.pong_deadline.is_some_and(|d| d <= now) {
            self.done = true;
            self.shared.peer_done.store(true, Ordering::Release);
            return Some(ReadError::Transport("no pong".into()));
        }
        if let (Some(at), Some(ping)) = (self.next_ping, self.settings.native_ping) {
            if at <= now {
                self.shared.send_control(OP_PING, &[]);
                if self.pong_deadline.is_none() {
                    self.pong_deadline = Some(now + ping.pong_timeout);
                }
                self.next_ping = Some(now + ping.interval);
            }
        }
        None
    }
}

const INVALID_UTF8: &str = "text message is not UTF-8";

impl Drop for WsReader {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            *self.shared.leftover.lock() = std::mem::take(&mut self.buf);
        }
    }
}

pub(crate) struct WsWriter {
    shared: Arc<Shared>,
    protocol: ProtocolType,
    join_messages: bool,
    closing_handshake: bool,
    deflate: Option<Deflate>,
}

impl WsWriter {
    /// One data frame holding `messages`, compressed when permessage-deflate was negotiated and
    /// the frame is above the minimum size.
    fn push_frame(&self, messages: &[Bytes], pending: &mut Vec<Bytes>) {
        let framing = Framing::new(self.protocol, messages);
        match self.deflate.as_ref().filter(|d| d.applies(framing.payload_len)) {
            None => framing.push_parts(messages, pending),
            Some(deflate) => deflate.push_frame(self.protocol, messages, pending),
        }
    }
}

#[async_trait::async_trait]
impl TransportWriter for WsWriter {
    async fn write_batch(&mut self, messages: &[Bytes]) -> Result<(), io::Error> {
        // Nothing may follow a close frame (one the reader sent after a violation, say).
        if messages.is_empty() || self.shared.close_queued.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut state = self.shared.write.lock().await;
        // Finish a frame a cancelled write left behind (never the case in normal operation).
        state.write_pending(&self.shared.io).await?;
        let control = std::mem::take(&mut *self.shared.control.lock());
        if !control.is_empty() {
            state.pending.push(Bytes::from(control));
        }
        if self.join_messages {
            self.push_frame(messages, &mut state.pending);
        } else {
            for message in messages.chunks(1) {
                self.push_frame(message, &mut state.pending);
            }
        }
        state.write_pending(&self.shared.io).await
    }

    async fn close(&mut self, disconnect: Option<Disconnect>) {
        let mut state = self.shared.write.lock().await;
        // The frame a 3008 cut off is completed first; the close frame then ends a valid stream.
        if state.write_pending(&self.shared.io).await.is_err() {
            return;
        }
        let mut control = std::mem::take(&mut *self.shared.control.lock());
        if self.closing_handshake && !self.shared.close_queued.swap(true, Ordering::AcqRel) {
            let (code, reason) = close_code(disconnect.as_ref());
            frame::push_control(&mut control, OP_CLOSE, &frame::close_payload(code, reason));
        }
        if !control.is_empty() {
            state.pending.push(Bytes::from(control));
            if let Err(e) = state.write_pending(&self.shared.io).await {
                tracing::debug!(error = %e, "websocket close frame not sent");
            }
        }
    }
}

/// How a batch of encoded messages becomes one data frame: JSON messages joined with `\n` in a
/// text frame, protobuf messages each behind a varint length in a binary frame. The messages
/// themselves are written from their shared buffers (`writev`), never copied.
struct Framing {
    header: [u8; frame::MAX_HEADER],
    header_len: usize,
    /// The frame's payload length, uncompressed.
    payload_len: usize,
    /// Varint length prefixes (protobuf), back to back.
    prefixes: Vec<u8>,
}

impl Framing {
    fn new(protocol: ProtocolType, messages: &[Bytes]) -> Framing {
        let mut prefixes = Vec::new();
        let (opcode, len) = match protocol {
            ProtocolType::Json => (
                OP_TEXT,
                messages.iter().map(Bytes::len).sum::<usize>() + messages.len() - 1,
            ),
            ProtocolType::Protobuf => {
                for m in messages {
                    crate::varint::put(&mut prefixes, m.len() as u64);
                }
                (
                    OP_BINARY,
                    messages.iter().map(Bytes::len).sum::<usize>() + prefixes.len(),
                )
            }
        };
        let mut header = [0u8; frame::MAX_HEADER];
        let header_len = frame::write_header(&mut header, opcode, len);
        Framing {
            header,
            header_len,
            payload_len: len,
            prefixes,
        }
    }

    /// Appends the frame's pieces: the header, then the messages themselves (reference-counted,
    /// not copied) with their separators or length prefixes.
    fn push_parts(self, messages: &[Bytes], out: &mut Vec<Bytes>) {
        out.push(Bytes::copy_from_slice(&self.header[..self.header_len]));
        if self.prefixes.is_empty() {
            for (i, m) in messages.iter().enumerate() {
                if i > 0 {
                    out.push(Bytes::from_static(b"\n"));
                }
                out.push(m.clone());
            }
        } else {
            let prefixes = Bytes::from(self.prefixes);
            let mut at = 0;
            for m in messages {
                let len = crate::varint::len(m.len() as u64);
                out.push(prefixes.slice(at..at + len));
                at += len;
                out.push(m.clone());
            }
        }
    }
}

/// The close frame for a core disconnect: its code and reason, or a normal closure when the core
/// has no advice (`None`, or the internal 3000 marker which is never written to the wire).
fn close_code(disconnect: Option<&Disconnect>) -> (u16, &str) {
    match disconnect {
        Some(d) if d.code != Disconnect::CONNECTION_CLOSED.code => match u16::try_from(d.code) {
            Ok(code) => (code, d.reason.as_ref()),
            Err(_) => (1000, ""),
        },
        _ => (1000, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes() {
        assert_eq!(close_code(None), (1000, ""));
        assert_eq!(close_code(Some(&Disconnect::CONNECTION_CLOSED)), (1000, ""));
        assert_eq!(close_code(Some(&Disconnect::SHUTDOWN)), (3001, "shutdown"));
        assert_eq!(
            close_code(Some(&Disconnect::MESSAGE_TOO_BIG)),
            (1009, "message too big")
        );
        assert_eq!(close_code(Some(&Disconnect::custom(4500, "bye"))), (4500, "bye"));
        assert_eq!(close_code(Some(&Disconnect::custom(70_000, "?"))), (1000, ""));
    }

    fn framed(protocol: ProtocolType, messages: &[Bytes]) -> Vec<u8> {
        let framing = Framing::new(protocol, messages);
        let mut parts = Vec::new();
        framing.push_parts(messages, &mut parts);
        parts.concat()
    }

    #[test]
    fn json_batches_join_with_newlines() {
        let msgs = [Bytes::from_static(b"{\"a\":1}"), Bytes::from_static(b"{}")];
        assert_eq!(framed(ProtocolType::Json, &msgs), b"\x81\x0a{\"a\":1}\n{}");
        assert_eq!(framed(ProtocolType::Json, &msgs[1..]), b"\x81\x02{}");
    }

    #[test]
    fn protobuf_batches_are_varint_delimited() {
        let big = Bytes::from(vec![7u8; 300]);
        let msgs = [Bytes::from_static(b"\x08\x01"), big.clone()];
        let out = framed(ProtocolType::Protobuf, &msgs);
        let mut expected = vec![0x82, 126, 0x01, 0x31, 2, 8, 1, 0xAC, 0x02];
        expected.extend_from_slice(&big);
        assert_eq!(out, expected);
    }
}
