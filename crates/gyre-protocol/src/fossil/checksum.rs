//! The 32-bit checksum that ends every fossil delta.

/// Fossil's checksum of `data`.
///
/// Fossil defines it as four per-lane byte sums folded together with shifts of 24, 16, 8 and 0,
/// plus the tail bytes at the same shifts. Because shifts distribute over wrapping addition, that
/// is exactly the wrapping sum of the data read as big-endian `u32` words, the last one padded
/// with zeros, which is what this computes (and what the compiler can vectorise).
pub fn checksum(data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(4);
    let mut sum = words.by_ref().fold(0_u32, |sum, word| {
        sum.wrapping_add(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
    });
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut last = [0_u8; 4];
        last[..tail.len()].copy_from_slice(tail);
        sum = sum.wrapping_add(u32::from_be_bytes(last));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::checksum;

    /// The definition written out lane by lane, to pin the folding argument above.
    fn by_lanes(data: &[u8]) -> u32 {
        let mut lanes = [0_u32; 4];
        let whole = data.len() / 4 * 4;
        for (i, &b) in data[..whole].iter().enumerate() {
            lanes[i % 4] = lanes[i % 4].wrapping_add(u32::from(b));
        }
        let mut sum = lanes[3]
            .wrapping_add(lanes[2] << 8)
            .wrapping_add(lanes[1] << 16)
            .wrapping_add(lanes[0] << 24);
        for (i, &b) in data[whole..].iter().enumerate() {
            sum = sum.wrapping_add(u32::from(b) << (24 - 8 * i));
        }
        sum
    }

    #[test]
    fn matches_lane_definition() {
        let data: Vec<u8> = (0..1000_u32).map(|i| (i * 7919 % 251) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(checksum(&data[..n]), by_lanes(&data[..n]), "len {n}");
        }
        let ones = vec![0xff_u8; 70_000];
        assert_eq!(checksum(&ones), by_lanes(&ones));
    }

    #[test]
    fn small_values() {
        assert_eq!(checksum(b""), 0);
        assert_eq!(checksum(b"a"), 0x6100_0000);
        assert_eq!(checksum(b"abcd"), 0x6162_6364);
        assert_eq!(checksum(b"abcde"), 0x6162_6364 + 0x6500_0000);
    }
}
