//! Unsigned LEB128 varints as used for the Protobuf length prefix.
//!
//! prost has its own varint helpers, but they report a truncated prefix and an overlong one with
//! the same error; the frame decoder must tell them apart (`Truncated` vs `Malformed`).

use bytes::BufMut;

/// The longest encoding of a `u64`.
pub(crate) const MAX_LEN: usize = 10;

/// Outcome of reading a varint from the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Varint {
    /// The value and the number of bytes it occupied.
    Value(u64, usize),
    /// The buffer ends before the last byte of the varint.
    Truncated,
    /// More than ten bytes, or a tenth byte that does not fit into 64 bits.
    Overflow,
}

/// Reads one varint from the start of `buf`.
pub(crate) fn read(buf: &[u8]) -> Varint {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().enumerate() {
        if i == MAX_LEN - 1 && byte > 1 {
            return Varint::Overflow;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Varint::Value(value, i + 1);
        }
    }
    Varint::Truncated
}

/// Appends `value` as a varint.
pub(crate) fn write(out: &mut impl BufMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// Number of bytes [`write`] uses for `value`.
pub(crate) fn len(value: u64) -> usize {
    // Each byte carries 7 bits; a zero still takes one byte.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_boundaries() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            write(&mut buf, v);
            assert_eq!(buf.len(), len(v), "len of {v}");
            assert_eq!(read(&buf), Varint::Value(v, buf.len()));
            // Every strict prefix is incomplete.
            for cut in 0..buf.len() {
                assert_eq!(read(&buf[..cut]), Varint::Truncated);
            }
        }
    }

    #[test]
    fn rejects_overlong() {
        assert_eq!(read(&[0xff; 10]), Varint::Overflow);
        assert_eq!(read(&[0xff; 11]), Varint::Overflow);
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(read(&max), Varint::Value(u64::MAX, 10));
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert_eq!(read(&too_big), Varint::Overflow);
    }
}
