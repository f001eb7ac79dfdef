//! Protobuf's base-128 varint, the length prefix of every protobuf message the stream-oriented
//! transports write (WebSocket batches, HTTP-streaming, WebTransport, compressed segments).

use bytes::BufMut;

/// Appends `v` as a varint.
pub(crate) fn put(out: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// How many bytes [`put`] writes for `v`.
pub(crate) fn len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_match_what_is_written() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            put(&mut buf, v);
            assert_eq!(buf.len(), len(v), "{v}");
            assert_eq!(buf.last().map(|b| b & 0x80), Some(0), "{v}");
        }
        let mut buf = Vec::new();
        put(&mut buf, 300);
        assert_eq!(buf, [0xAC, 0x02]);
    }
}
