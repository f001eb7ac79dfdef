//! Fossil delta round trips (`apply(a, create(a, b)) == b`) and the decoder's behaviour on
//! malformed or hostile deltas: always an error, never a panic or an outsized allocation.

use gyre_protocol::fossil::{apply, apply_with_limit, checksum, create, FossilError};
use proptest::collection::vec;
use proptest::prelude::*;

/// Header, trailing insert header and checksum: the most a delta adds to the target's length.
const MAX_OVERHEAD: usize = 36;

fn round_trip(source: &[u8], target: &[u8]) -> Vec<u8> {
    let delta = create(source, target);
    assert!(
        delta.len() <= target.len() + MAX_OVERHEAD,
        "delta of {} bytes for a target of {}",
        delta.len(),
        target.len()
    );
    match apply(source, &delta) {
        Ok(out) => assert_eq!(out, target),
        Err(e) => panic!("own delta rejected: {e}: {}", String::from_utf8_lossy(&delta)),
    }
    delta
}

#[derive(Debug, Clone)]
enum Edit {
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    /// Duplicates a slice of the current data somewhere else (a moved or repeated block).
    Duplicate {
        from: usize,
        len: usize,
        at: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..64_usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), vec(any::<u8>(), 1..32)).prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        (any::<usize>(), 1..300_usize, any::<usize>()).prop_map(|(from, len, at)| Edit::Duplicate {
            from,
            len,
            at
        }),
    ]
}

fn apply_edits(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let n = data.len();
        match edit {
            Edit::Delete { at, len } if n > 0 => {
                let at = at % n;
                data.drain(at..(at + len).min(n));
            }
            Edit::Delete { .. } => {}
            Edit::Insert { at, bytes } => {
                let at = at % (n + 1);
                data.splice(at..at, bytes.iter().copied());
            }
            Edit::Duplicate { from, len, at } => {
                let from = from % (n + 1);
                let piece = data[from..(from + len).min(n)].to_vec();
                let at = at % (n + 1);
                data.splice(at..at, piece);
            }
        }
    }
    data
}

/// Data with few distinct bytes repeats itself a lot, which fills hash chains and exercises the
/// candidate budget; full-range bytes exercise binary handling.
fn payload(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..max),
        vec(prop::sample::select(b"ab".to_vec()), 0..max),
        vec(prop::sample::select(b"{\"k\":[1,2]}, ".to_vec()), 0..max),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_pairs_round_trip(source in payload(3000), target in payload(3000)) {
        round_trip(&source, &target);
    }

    #[test]
    fn similar_pairs_round_trip(source in payload(6000), edits in vec(edit(), 0..12)) {
        let target = apply_edits(source.clone(), &edits);
        let delta = round_trip(&source, &target);
        // A handful of local edits to a long payload must compress, or the encoder is not
        // finding the copies it should.
        if source.len() >= 4000 && edits.len() <= 3 && source.iter().any(|&b| b > b'b') {
            prop_assert!(delta.len() < target.len() / 2, "{} vs {}", delta.len(), target.len());
        }
    }

    #[test]
    fn identical_and_empty_sides_round_trip(data in payload(3000)) {
        let same = round_trip(&data, &data);
        if data.len() > 32 {
            prop_assert!(same.len() < 40, "identical input gave {} bytes", same.len());
        }
        round_trip(&[], &data);
        round_trip(&data, &[]);
    }

    /// Whatever the bytes, the decoder returns instead of panicking, and a success really is a
    /// target of the declared length with the declared checksum.
    #[test]
    fn arbitrary_deltas_never_panic(source in vec(any::<u8>(), 0..64), delta in vec(any::<u8>(), 0..64)) {
        if let Ok(out) = apply_with_limit(&source, &delta, 4096) {
            prop_assert!(out.len() <= 4096);
        }
    }

    /// Mutating one byte of a valid delta is caught (or, rarely, still decodes to something of
    /// the declared size): never a panic.
    #[test]
    fn mutated_deltas_never_panic(
        source in payload(500),
        edits in vec(edit(), 0..4),
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let target = apply_edits(source.clone(), &edits);
        let mut delta = create(&source, &target);
        let at = at % delta.len();
        delta[at] = byte;
        let _ = apply(&source, &delta);
    }
}

#[test]
fn edge_cases_round_trip() {
    let text = b"the quick brown fox jumps over the lazy dog, again and again".repeat(4);
    round_trip(b"", b"");
    round_trip(b"abc", b"");
    round_trip(b"", b"x");
    round_trip(&text, &text[..text.len() - 1]);
    round_trip(&text, &text[1..]);
    round_trip(&text[..16], &text);
    round_trip(&text[..17], &text);
    round_trip(&text, b"short");
    let mut big = text.repeat(300);
    round_trip(&big, &big);
    big[5000] ^= 0xff;
    round_trip(&text.repeat(300), &big);
}

#[test]
fn exact_small_deltas() {
    // Source too small to index: one insert, then the checksum of "hello, world".
    let delta = create(b"hello", b"hello, world");
    assert_eq!(delta, b"C\nC:hello, world170~a7;");
    // Identical 1120-byte payloads: a single copy.
    let text = b"0123456789abcdef".repeat(70);
    let delta = create(&text, &text);
    assert!(
        delta.starts_with(b"HW\nHW@0,"),
        "{}",
        String::from_utf8_lossy(&delta)
    );
}

fn err(source: &[u8], delta: &[u8]) -> FossilError {
    match apply(source, delta) {
        Ok(out) => panic!("{:?} accepted: {:?}", String::from_utf8_lossy(delta), out),
        Err(e) => e,
    }
}

/// `value` in fossil's digits, written independently of the encoder.
fn fossil_int(mut value: u64) -> String {
    const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";
    let mut digits = vec![DIGITS[(value & 63) as usize]];
    value >>= 6;
    while value > 0 {
        digits.push(DIGITS[(value & 63) as usize]);
        value >>= 6;
    }
    digits.reverse();
    String::from_utf8(digits).unwrap()
}

/// The checksum trailer value of "hello", to build valid and broken deltas around it.
fn hello_checksum() -> String {
    fossil_int(checksum(b"hello").into())
}

#[test]
fn hand_written_delta_applies() {
    let sum = hello_checksum();
    let delta = format!("5\n2:he3@2,{sum};");
    assert_eq!(apply(b"__llo", delta.as_bytes()).unwrap(), b"hello");
}

#[test]
fn truncated_deltas_are_rejected() {
    let source = b"a fairly long source text that the target mostly copies from".repeat(3);
    let mut target = source.clone();
    target.splice(70..75, *b"EDITED");
    let delta = create(&source, &target);
    for cut in 0..delta.len() {
        assert!(apply(&source, &delta[..cut]).is_err(), "prefix of {cut} accepted");
    }
    assert_eq!(apply(&source, &delta).unwrap(), target);
}

#[test]
fn malformed_deltas_give_typed_errors() {
    let sum = hello_checksum();
    let src = b"__llo";
    assert_eq!(err(src, b""), FossilError::ExpectedInteger { at: 0 });
    assert_eq!(err(src, b"\n"), FossilError::ExpectedInteger { at: 0 });
    assert_eq!(err(src, b"5"), FossilError::BadHeader);
    assert_eq!(err(src, b"5 2:he"), FossilError::BadHeader);
    assert_eq!(err(src, b"5\n"), FossilError::Unterminated);
    assert_eq!(err(src, b"5\n2:he"), FossilError::Unterminated);
    assert_eq!(err(src, b"5\n2"), FossilError::UnknownOperator { at: 3 });
    assert_eq!(err(src, b"5\n2!he"), FossilError::UnknownOperator { at: 3 });
    assert_eq!(err(src, b"5\n:he"), FossilError::ExpectedInteger { at: 2 });
    assert_eq!(
        err(src, b"5\n2:h"),
        FossilError::InsertOutOfRange { at: 3, len: 2 }
    );
    assert_eq!(err(src, b"5\n3@2;"), FossilError::CopyNotTerminated { at: 5 });
    assert_eq!(err(src, b"5\n3@2"), FossilError::CopyNotTerminated { at: 5 });
    assert_eq!(err(src, b"5\n3@@"), FossilError::ExpectedInteger { at: 4 });
    assert_eq!(
        err(src, b"5\n3@3,"),
        FossilError::CopyOutOfRange {
            offset: 3,
            len: 3,
            source_len: 5
        }
    );
    // offset + count overflows usize.
    assert_eq!(
        err(src, b"5\n1@F~~~~~~~~~~,"),
        FossilError::CopyOutOfRange {
            offset: usize::MAX,
            len: 1,
            source_len: 5
        }
    );
    assert_eq!(err(src, b"5\n2:he!!"), FossilError::ExpectedInteger { at: 6 });
    assert_eq!(
        err(src, b"5\n6:hello!"),
        FossilError::OutputTooLong { declared: 5 }
    );
    assert_eq!(
        err(src, b"5\n3@0,3@0,"),
        FossilError::OutputTooLong { declared: 5 }
    );
    assert_eq!(
        err(src, format!("5\n2:he{sum};").as_bytes()),
        FossilError::OutputTooShort {
            declared: 5,
            actual: 2
        }
    );
    assert!(matches!(
        err(src, b"5\n2:he3@2,0;"),
        FossilError::BadChecksum { expected: 0, .. }
    ));
    assert_eq!(
        err(src, format!("5\n2:he3@2,{sum};x").as_bytes()),
        FossilError::TrailingData(1)
    );
    // Only ASCII digits count, even though the SDKs would read 0xB0 as '0'.
    assert_eq!(err(src, b"\xb5\n"), FossilError::ExpectedInteger { at: 0 });
    assert_eq!(
        err(src, b"~~~~~~~~~~~~\n"),
        FossilError::IntegerOverflow { at: 0 }
    );
}

#[test]
fn declared_size_is_capped() {
    // 2^36 bytes declared by a 9-byte delta: refused before anything is allocated.
    assert_eq!(
        err(b"", b"1000000\n;"),
        FossilError::TargetTooLarge {
            declared: 1 << 36,
            max: gyre_protocol::fossil::DEFAULT_MAX_OUTPUT
        }
    );
    assert_eq!(
        apply_with_limit(b"", b"11\n", 64),
        Err(FossilError::TargetTooLarge {
            declared: 65,
            max: 64
        })
    );
    // Exactly at the limit is fine.
    let target = vec![b'z'; 64];
    let delta = create(b"", &target);
    assert_eq!(apply_with_limit(b"", &delta, 64).unwrap(), target);
}

#[test]
fn output_capacity_never_exceeds_declared_length() {
    // 100 copies of a 10-byte source: the output grows far past source + delta, which is the
    // decoder's first guess, and must still stop at exactly the declared 1000 bytes.
    let source = b"0123456789";
    let target = source.repeat(100);
    let mut delta = format!("{}\n", fossil_int(1000)).into_bytes();
    for _ in 0..100 {
        delta.extend_from_slice(b"A@0,");
    }
    delta.extend_from_slice(fossil_int(checksum(&target).into()).as_bytes());
    delta.push(b';');
    let out = apply(source, &delta).unwrap();
    assert_eq!(out, target);
    assert!(out.capacity() <= 1000, "capacity {}", out.capacity());
}
