//! permessage-deflate (RFC 7692) without context takeover: compressing outbound frames and
//! inflating inbound messages under a hard size limit.
//!
//! Outbound, a frame carries a batch of encoded messages (replies and pushes). A publication is
//! encoded once and the same `Bytes` goes to every subscriber, so each message is compressed on
//! its own into a *segment* — DEFLATE blocks ending in a sync flush (an empty stored block,
//! `00 00 ff ff`, byte-aligned) — and segments are cached by the identity of the message's
//! buffer. A frame's payload is then its segments back to back, joined by stored blocks for the
//! JSON `\n` separators, minus the last segment's `00 00 ff ff` tail (RFC 7692 §7.2.1): a valid
//! DEFLATE stream whose blocks never refer back across segments, which is all the client's
//! inflater needs when no context is taken over. Broadcasting one publication to N compressing
//! subscribers costs one compression, not N, and the frame is still written with `writev` from
//! shared buffers.
//!
//! Inbound, a compressed message (bounded on the wire by `message_size_limit`) is inflated into
//! a buffer that grows only as output arrives and never past the decompressed limit plus one
//! byte, so a compression bomb is refused (1009) after at most that much memory.
//!
//! The compressor (a few hundred KiB of zlib state) and the decompressor live in thread-locals
//! and are reset per message: a connection holds neither.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use parking_lot::Mutex;

use gyre_core::ProtocolType;

/// What the sender stripped from the end of a message, and the receiver appends (RFC 7692 §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// An empty final stored block.
const FINAL_BLOCK: [u8; 5] = [0x01, 0x00, 0x00, 0xff, 0xff];
/// A non-final stored block holding the single byte `\n`: the JSON separator between segments.
const STORED_NEWLINE: [u8; 6] = [0x00, 0x01, 0x00, 0xfe, 0xff, b'\n'];
/// Cache slots (a power of two). Enough for the publications of many channels in flight at once.
const CACHE_SLOTS: usize = 128;
/// Messages above this are compressed per connection, never cached: the cache pins what it
/// holds, so this bounds it to `CACHE_SLOTS` × (32 KiB + its compressed form).
const MAX_CACHED_MESSAGE: usize = 32 * 1024;
/// A thread's compression scratch buffer is dropped when a message made it grow beyond this.
const MAX_KEPT_SCRATCH: usize = 256 * 1024;

/// Go's `flate` levels as Centrifugo accepts them: -2 (Huffman only), -1 (default, 6), 0 (stored)
/// to 9. zlib has no Huffman-only level, so -2 takes level 1, its fastest. Anything else is
/// refused; the caller keeps level 1, as Centrifugo's upgrader keeps its default.
pub(crate) fn level_from_config(level: i64) -> Option<u32> {
    match level {
        -2 => Some(1),
        -1 => Some(6),
        0..=9 => Some(level as u32),
        _ => None,
    }
}

/// Outbound compression of one connection: the shared segment cache, the level, and the size
/// a frame's payload must exceed to be compressed (`websocket.compression_min_size`; Centrifugo
/// compresses a frame when its length is above it, every frame when it is 0).
#[derive(Clone)]
pub(crate) struct Deflate {
    cache: Arc<SegmentCache>,
    level: u32,
    min_size: usize,
}

impl Deflate {
    pub(crate) fn new(cache: Arc<SegmentCache>, level: u32, min_size: usize) -> Deflate {
        Deflate {
            cache,
            level,
            min_size,
        }
    }

    /// Whether a frame whose uncompressed payload is `len` bytes goes out compressed.
    pub(crate) fn applies(&self, len: usize) -> bool {
        len > self.min_size
    }

    /// Appends one compressed data frame (RSV1 set) carrying `messages`, framed as `protocol`
    /// frames them: JSON joined by `\n`, protobuf each behind its varint length.
    pub(crate) fn push_frame(&self, protocol: ProtocolType, messages: &[Bytes], out: &mut Vec<Bytes>) {
        let header_at = out.len();
        out.push(Bytes::new());
        let prefixed = protocol == ProtocolType::Protobuf;
        for (i, m) in messages.iter().enumerate() {
            if i > 0 && !prefixed {
                out.push(Bytes::from_static(&STORED_NEWLINE));
            }
            out.push(self.cache.segment(m, self.level, prefixed));
        }
        let last = out.last_mut().expect("a segment was pushed");
        debug_assert!(last.ends_with(&TAIL));
        last.truncate(last.len() - TAIL.len());
        let len = out[header_at + 1..].iter().map(Bytes::len).sum();
        let opcode = match protocol {
            ProtocolType::Json => super::frame::OP_TEXT,
            ProtocolType::Protobuf => super::frame::OP_BINARY,
        };
        let mut header = [0u8; super::frame::MAX_HEADER];
        let n = super::frame::write_header(&mut header, opcode | super::frame::RSV1, len);
        out[header_at] = Bytes::copy_from_slice(&header[..n]);
    }
}

/// Compressed segments of recently sent messages, keyed by the identity (address and length) of
/// the message's buffer, shared by every connection of one WebSocket endpoint.
///
/// An entry keeps a clone of the message it was made from, so the buffer cannot be freed and its
/// address reused by other bytes while the entry exists: a hit is always the same bytes. Slots
/// are direct-mapped; a collision just replaces the older entry. Two threads missing on the same
/// message may both compress it; the result is identical, and at most one per worker thread.
pub(crate) struct SegmentCache {
    slots: Box<[Mutex<Option<Entry>>]>,
}

struct Entry {
    source: Bytes,
    level: u32,
    prefixed: bool,
    segment: Bytes,
}

impl Default for SegmentCache {
    fn default() -> Self {
        SegmentCache {
            slots: (0..CACHE_SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }
}

impl SegmentCache {
    /// The segment of `message` (preceded by its varint length when `prefixed`).
    fn segment(&self, message: &Bytes, level: u32, prefixed: bool) -> Bytes {
        if message.len() > MAX_CACHED_MESSAGE {
            return compress_segment(message, level, prefixed);
        }
        let addr = message.as_ptr() as usize as u64;
        let hash = (addr ^ (message.len() as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &self.slots[(hash >> 32) as usize & (CACHE_SLOTS - 1)];
        if let Some(e) = slot.lock().as_ref() {
            if e.source.as_ptr() == message.as_ptr()
                && e.source.len() == message.len()
                && e.level == level
                && e.prefixed == prefixed
            {
                return e.segment.clone();
            }
        }
        let segment = compress_segment(message, level, prefixed);
        let entry = Entry {
            source: message.clone(),
            level,
            prefixed,
            segment: segment.clone(),
        };
        // The evicted entry is freed after the lock is released.
        let _evicted = slot.lock().replace(entry);
        segment
    }
}

thread_local! {
    static COMPRESSOR: RefCell<Option<(u32, Compress, Vec<u8>)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// DEFLATE blocks of `message` (behind its varint length when `prefixed`), ending with a sync
/// flush, from a fresh compression context.
fn compress_segment(message: &[u8], level: u32, prefixed: bool) -> Bytes {
    let mut prefix = [0u8; 10];
    let prefix_len = if prefixed {
        crate::varint::put(&mut &mut prefix[..], message.len() as u64);
        crate::varint::len(message.len() as u64)
    } else {
        0
    };
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(l, _, _)| *l != level) {
            *cell = Some((level, Compress::new(Compression::new(level), false), Vec::new()));
        }
        let (_, compress, scratch) = cell.as_mut().expect("set above");
        compress.reset();
        scratch.clear();
        deflate_into(compress, &prefix[..prefix_len], FlushCompress::None, scratch);
        deflate_into(compress, message, FlushCompress::Sync, scratch);
        let segment = Bytes::copy_from_slice(scratch);
        if scratch.capacity() > MAX_KEPT_SCRATCH {
            *scratch = Vec::new();
        }
        segment
    })
}

fn deflate_into(compress: &mut Compress, mut input: &[u8], flush: FlushCompress, out: &mut Vec<u8>) {
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(input.len() / 2 + 256));
        }
        let before = compress.total_in();
        // zlib only fails on misuse (a stream error); nothing here can cause one.
        compress
            .compress_vec(input, out, flush)
            .expect("deflate on a valid stream");
        input = &input[(compress.total_in() - before) as usize..];
        // A flush is complete once zlib returns with output space left (zlib.h, deflate()).
        if input.is_empty() && out.len() < out.capacity() {
            return;
        }
    }
}

/// Why an inbound compressed message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates to more than the limit.
    TooBig,
    /// It is not valid DEFLATE data.
    Invalid,
}

/// Inflates one message payload (its `00 00 ff ff` tail stripped by the sender) into `out`,
/// never holding more than `limit + 1` bytes of output: the buffer grows by doubling as output
/// arrives, capped there, and inflating stops as soon as the message is known to be too big.
pub(crate) fn inflate(payload: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), InflateError> {
    DECOMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let decompress = cell.get_or_insert_with(|| Decompress::new(false));
        decompress.reset(false);
        let cap = limit.saturating_add(1);
        out.clear();
        out.reserve(payload.len().saturating_mul(4).max(256).min(cap));
        // After the tail the stream must sit at a block boundary; a final empty block then
        // ends it. A truncated or otherwise damaged message never reaches that end.
        for input in [payload, &TAIL[..], &FINAL_BLOCK[..]] {
            if inflate_part(decompress, input, cap, out)? {
                return if out.len() > limit {
                    Err(InflateError::TooBig)
                } else {
                    Ok(())
                };
            }
        }
        Err(InflateError::Invalid)
    })
}

/// Feeds `input` to the inflater; `Ok(true)` when the stream ended (a final block).
fn inflate_part(
    decompress: &mut Decompress,
    mut input: &[u8],
    cap: usize,
    out: &mut Vec<u8>,
) -> Result<bool, InflateError> {
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Err(InflateError::TooBig);
            }
            let grow = out.capacity().max(256).min(cap - out.len());
            out.reserve_exact(grow);
        }
        let (before_in, before_out) = (decompress.total_in(), decompress.total_out());
        let status = decompress
            .decompress_vec(input, out, FlushDecompress::Sync)
            .map_err(|_| InflateError::Invalid)?;
        input = &input[(decompress.total_in() - before_in) as usize..];
        let progressed = decompress.total_in() != before_in || decompress.total_out() != before_out;
        match status {
            Status::StreamEnd => return Ok(true),
            _ if input.is_empty() && out.len() < out.capacity() => return Ok(false),
            _ if !progressed && out.len() < out.capacity() => return Err(InflateError::Invalid),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::websocket::frame;

    /// What a client does with a compressed frame payload (RFC 7692 §7.2.2), with an independent
    /// inflater (flate2's reader).
    fn client_inflate(payload: &[u8]) -> Vec<u8> {
        let mut stream = payload.to_vec();
        stream.extend_from_slice(&TAIL);
        // A final empty block ends the stream cleanly for a reader that wants an end.
        stream.extend_from_slice(&FINAL_BLOCK);
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(&stream[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// What a client sends: the whole message compressed, sync-flushed, tail stripped.
    fn client_deflate(message: &[u8]) -> Vec<u8> {
        let mut c = Compress::new(Compression::new(6), false);
        let mut out = Vec::new();
        deflate_into(&mut c, message, FlushCompress::Sync, &mut out);
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        out
    }

    fn frame_of(deflate: &Deflate, protocol: ProtocolType, messages: &[Bytes]) -> (u8, Vec<u8>) {
        let mut parts = Vec::new();
        deflate.push_frame(protocol, messages, &mut parts);
        let header = parts.remove(0);
        let payload = parts.concat();
        let (len, at) = match header[1] {
            126 => (usize::from(u16::from_be_bytes([header[2], header[3]])), 4),
            127 => (u64::from_be_bytes(header[2..10].try_into().unwrap()) as usize, 10),
            n => (usize::from(n), 2),
        };
        assert_eq!(at, header.len());
        assert_eq!(len, payload.len());
        (header[0], payload)
    }

    fn deflate(level: u32) -> Deflate {
        Deflate::new(Arc::new(SegmentCache::default()), level, 0)
    }

    fn text(n: usize) -> Bytes {
        let s: String = (0..n)
            .map(|i| format!("{{\"seq\":{i},\"data\":\"hello\"}}"))
            .collect();
        Bytes::from(s)
    }

    #[test]
    fn json_batches_round_trip_at_every_level() {
        let messages = [text(1), Bytes::new(), text(40), Bytes::from_static(b"{}")];
        for level in 0..=9 {
            let d = deflate(level);
            for n in 1..=messages.len() {
                let (b0, payload) = frame_of(&d, ProtocolType::Json, &messages[..n]);
                assert_eq!(b0, 0x80 | frame::RSV1 | frame::OP_TEXT);
                let expected = messages[..n].join(&b'\n');
                assert_eq!(client_inflate(&payload), expected, "level {level}, {n} messages");
            }
        }
    }

    #[test]
    fn protobuf_batches_are_varint_delimited_inside() {
        let big = Bytes::from(vec![7u8; 300]);
        let messages = [Bytes::from_static(b"\x08\x01"), Bytes::new(), big.clone()];
        let (b0, payload) = frame_of(&deflate(1), ProtocolType::Protobuf, &messages);
        assert_eq!(b0, 0x80 | frame::RSV1 | frame::OP_BINARY);
        let mut expected = vec![2, 8, 1, 0, 0xAC, 0x02];
        expected.extend_from_slice(&big);
        assert_eq!(client_inflate(&payload), expected);
    }

    #[test]
    fn repetitive_data_shrinks() {
        let m = Bytes::from(br#"{"push":{"channel":"chat","pub":{"data":{"text":"aaaa"}}}}"#.repeat(50));
        let (_, payload) = frame_of(&deflate(1), ProtocolType::Json, std::slice::from_ref(&m));
        assert!(payload.len() * 10 < m.len(), "{} -> {}", m.len(), payload.len());
    }

    #[test]
    fn a_shared_message_is_compressed_once() {
        let cache = SegmentCache::default();
        let m = text(20);
        let a = cache.segment(&m, 1, false);
        let b = cache.segment(&m.clone(), 1, false);
        // The same allocation: the second call was a hit.
        assert_eq!(a.as_ptr(), b.as_ptr());
        // Another level, framing or buffer (even with equal bytes) is another entry.
        assert_ne!(cache.segment(&m, 2, false).as_ptr(), a.as_ptr());
        assert_ne!(
            cache.segment(&m, 1, true).as_ptr(),
            cache.segment(&m, 1, false).as_ptr()
        );
        let copy = Bytes::copy_from_slice(&m);
        let c = cache.segment(&copy, 1, false);
        assert_ne!(c.as_ptr(), cache.segment(&m, 1, false).as_ptr());
        assert_eq!(c, cache.segment(&m, 1, false));
        // A slice of the buffer is other bytes at another key.
        let head = m.slice(..10);
        assert_eq!(client_inflate(&strip(cache.segment(&head, 1, false))), &m[..10]);
        // Too big to cache: compressed anew each time, still correct.
        let big = Bytes::from(vec![b'x'; MAX_CACHED_MESSAGE + 1]);
        let (x, y) = (cache.segment(&big, 1, false), cache.segment(&big, 1, false));
        assert_ne!(x.as_ptr(), y.as_ptr());
        assert_eq!(client_inflate(&strip(x)), big);
    }

    fn strip(mut segment: Bytes) -> Vec<u8> {
        segment.truncate(segment.len() - 4);
        segment.to_vec()
    }

    #[test]
    fn min_size_is_exclusive_as_in_centrifugo() {
        let d = Deflate::new(Arc::new(SegmentCache::default()), 1, 100);
        assert!(!d.applies(100));
        assert!(d.applies(101));
        assert!(deflate(1).applies(1));
    }

    #[test]
    fn levels_follow_go() {
        assert_eq!(level_from_config(1), Some(1));
        assert_eq!(level_from_config(0), Some(0));
        assert_eq!(level_from_config(9), Some(9));
        assert_eq!(level_from_config(-1), Some(6));
        assert_eq!(level_from_config(-2), Some(1));
        assert_eq!(level_from_config(10), None);
        assert_eq!(level_from_config(-3), None);
    }

    #[test]
    fn inflates_what_clients_send() {
        let mut out = Vec::new();
        for message in [&b""[..], b"{}", &text(100)] {
            inflate(&client_deflate(message), 1 << 20, &mut out).unwrap();
            assert_eq!(out, message);
        }
        // What Gyre itself sends reads back too (several segments in one message).
        let messages = [text(3), text(7)];
        let (_, payload) = frame_of(&deflate(1), ProtocolType::Json, &messages);
        inflate(&payload, 1 << 20, &mut out).unwrap();
        assert_eq!(out, messages.join(&b'\n'));
        // An uncompressed stored stream with a final block (a client may end with one).
        let stored = [0x01, 0x02, 0x00, 0xfd, 0xff, b'h', b'i'];
        inflate(&stored, 10, &mut out).unwrap();
        assert_eq!(out, b"hi");
    }

    #[test]
    fn limit_is_inclusive() {
        let message = vec![b'a'; 1000];
        let payload = client_deflate(&message);
        let mut out = Vec::new();
        inflate(&payload, 1000, &mut out).unwrap();
        assert_eq!(out.len(), 1000);
        assert_eq!(inflate(&payload, 999, &mut out), Err(InflateError::TooBig));
    }

    #[test]
    fn bomb_is_refused_without_inflating_it() {
        // 16 MiB of zeros in about 16 KiB on the wire (DEFLATE tops out near 1000:1).
        let zeros = vec![0u8; 16 << 20];
        let bomb = client_deflate(&zeros);
        drop(zeros);
        assert!(bomb.len() < 32 * 1024, "{}", bomb.len());
        let limit = 640 * 1024;
        let mut out = Vec::new();
        assert_eq!(inflate(&bomb, limit, &mut out), Err(InflateError::TooBig));
        // The output buffer never grew past the limit (plus the byte that proves the excess).
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());
    }

    #[test]
    fn garbage_is_invalid() {
        let mut out = Vec::new();
        // BTYPE 11 is reserved.
        assert_eq!(inflate(&[0xff, 0xff], 100, &mut out), Err(InflateError::Invalid));
        // A stored block whose NLEN does not match LEN.
        assert_eq!(
            inflate(&[0x00, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5], 100, &mut out),
            Err(InflateError::Invalid)
        );
        // A message cut short in the middle of a block.
        let whole = client_deflate(&text(50));
        assert_eq!(
            inflate(&whole[..whole.len() / 2], 1 << 20, &mut out),
            Err(InflateError::Invalid)
        );
    }
}
