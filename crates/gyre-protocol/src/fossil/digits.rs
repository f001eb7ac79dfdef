//! Fossil's integers: base 64, most significant digit first, `0-9 A-Z _ a-z ~`.

const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";

/// `DIGITS` inverted; 0xff marks bytes that are not digits. Only ASCII can be a digit: the SDK
/// decoders mask the top bit and would read 0xB0 as `0`, which no encoder emits, so rejecting it
/// costs nothing and keeps hostile input from being read two ways.
const VALUES: [u8; 256] = {
    let mut table = [0xff_u8; 256];
    let mut i = 0;
    while i < DIGITS.len() {
        table[DIGITS[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Appends `value` in fossil digits.
pub(super) fn write(out: &mut Vec<u8>, value: usize) {
    // usize has at most 64 bits, i.e. 11 base-64 digits.
    let mut buf = [0_u8; 11];
    let mut start = buf.len();
    let mut rest = value;
    loop {
        start -= 1;
        buf[start] = DIGITS[rest & 0x3f];
        rest >>= 6;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[start..]);
}

/// How many digits [`write`] emits for `value`.
pub(super) fn len(value: usize) -> usize {
    let bits = usize::BITS - (value | 1).leading_zeros();
    bits.div_ceil(6) as usize
}

/// Outcome of reading an integer at some position.
pub(super) enum Read {
    /// The value and the position just after its last digit.
    Value(usize, usize),
    /// No digit at the position.
    Missing,
    /// More digits than fit into a `usize`.
    Overflow,
}

/// Reads the integer starting at `buf[pos]`.
pub(super) fn read(buf: &[u8], pos: usize) -> Read {
    let mut value: usize = 0;
    let mut end = pos;
    while let Some(&byte) = buf.get(end) {
        let digit = VALUES[usize::from(byte)];
        if digit == 0xff {
            break;
        }
        if value.leading_zeros() < 6 {
            return Read::Overflow;
        }
        value = (value << 6) | usize::from(digit);
        end += 1;
    }
    if end == pos {
        Read::Missing
    } else {
        Read::Value(value, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_len_agree() {
        for value in [0, 1, 63, 64, 4095, 4096, 262_143, 262_144, usize::MAX] {
            let mut out = Vec::new();
            write(&mut out, value);
            assert_eq!(out.len(), len(value), "{value}");
            match read(&out, 0) {
                Read::Value(back, end) => {
                    assert_eq!(back, value);
                    assert_eq!(end, out.len());
                }
                _ => panic!("{value} did not read back"),
            }
        }
    }

    #[test]
    fn known_spellings() {
        let spell = |v| {
            let mut out = Vec::new();
            write(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(spell(0), "0");
        assert_eq!(spell(10), "A");
        assert_eq!(spell(36), "_");
        assert_eq!(spell(63), "~");
        assert_eq!(spell(64), "10");
        assert_eq!(spell(1755), "RR");
    }

    #[test]
    fn read_stops_at_non_digit_and_rejects_overflow() {
        assert!(matches!(read(b"Zz@", 0), Read::Value(v, 2) if v == 35 * 64 + 62));
        assert!(matches!(read(b"@", 0), Read::Missing));
        assert!(matches!(read(b"", 0), Read::Missing));
        assert!(matches!(read(&[0xb0], 0), Read::Missing));
        assert!(matches!(read(b"~~~~~~~~~~~~", 0), Read::Overflow));
    }
}
