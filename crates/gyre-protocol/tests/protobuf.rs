//! Protobuf codec: round trips through the public API and varint framing edge cases.

mod common;

use bytes::{Bytes, BytesMut};
use gyre_protocol::codec::{
    decode_commands, decode_commands_shared, encode_push, encode_reply, frame_messages,
    frame_stream_messages, iter_commands,
};
use gyre_protocol::*;
use proptest::prelude::*;
use prost::Message as _;

const PB: ProtocolType = ProtocolType::Protobuf;
const LIMIT: usize = 65536;

fn frame_of(commands: &[Command]) -> Bytes {
    let encoded: Vec<Bytes> = commands.iter().map(|c| Bytes::from(c.encode_to_vec())).collect();
    let mut out = BytesMut::new();
    frame_messages(PB, &encoded, &mut out);
    out.freeze()
}

fn publish_cmd(id: u32, data: &'static [u8]) -> Command {
    Command {
        id,
        publish: Some(PublishRequest {
            channel: "chat:index".into(),
            data: Bytes::from_static(data),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn zero_length_prefix_is_a_pong() {
    assert_eq!(decode_commands(PB, &[0x00], LIMIT), Ok(vec![Command::default()]));
    // Three pongs in one frame.
    assert_eq!(decode_commands(PB, &[0, 0, 0], LIMIT).unwrap().len(), 3);
}

#[test]
fn empty_frame_is_rejected() {
    assert_eq!(decode_commands(PB, &[], LIMIT), Err(DecodeError::Empty));
}

#[test]
fn multi_message_frame_keeps_order() {
    let commands = vec![
        Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "t".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Command {
            id: 2,
            subscribe: Some(SubscribeRequest {
                channel: "a".into(),
                flag: 1,
                ..Default::default()
            }),
            ..Default::default()
        },
        Command::default(),
        publish_cmd(3, b"\x00\x01binary"),
    ];
    let frame = frame_of(&commands);
    assert_eq!(decode_commands(PB, &frame, LIMIT).unwrap(), commands);
    assert_eq!(decode_commands_shared(PB, &frame, LIMIT).unwrap(), commands);
}

#[test]
fn shared_decode_slices_the_frame() {
    let frame = frame_of(&[publish_cmd(1, b"payload-bytes")]);
    let commands = decode_commands_shared(PB, &frame, LIMIT).unwrap();
    let data = &commands[0].publish.as_ref().unwrap().data;
    let frame_range = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
    assert!(
        frame_range.contains(&(data.as_ptr() as usize)),
        "data should point into the frame"
    );
}

#[test]
fn truncated_prefix_is_truncated() {
    // 0x80 announces a continuation byte that never comes.
    assert_eq!(decode_commands(PB, &[0x80], LIMIT), Err(DecodeError::Truncated));
    let mut frame = frame_of(&[publish_cmd(1, b"{}")]).to_vec();
    frame.push(0x81);
    assert_eq!(decode_commands(PB, &frame, LIMIT), Err(DecodeError::Truncated));
}

#[test]
fn truncated_body_is_truncated() {
    let frame = frame_of(&[publish_cmd(1, b"{\"a\":1}")]);
    for cut in 1..frame.len() {
        assert_eq!(
            decode_commands(PB, &frame[..cut], LIMIT),
            Err(DecodeError::Truncated),
            "cut at {cut}"
        );
    }
}

#[test]
fn overlong_prefix_is_malformed() {
    let frame = [0xffu8; 11];
    assert!(matches!(
        decode_commands(PB, &frame, LIMIT),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn declared_length_over_limit_is_rejected_before_reading_the_body() {
    // Declares u64::MAX bytes and carries none: must be TooLarge, not Truncated, and must not try
    // to allocate.
    let mut frame = vec![0xff; 9];
    frame.push(0x01);
    assert_eq!(
        decode_commands(PB, &frame, LIMIT),
        Err(DecodeError::TooLarge(usize::MAX))
    );
    // 2^31: the kind of length a hostile peer announces.
    assert_eq!(
        decode_commands(PB, &[0x80, 0x80, 0x80, 0x80, 0x08], LIMIT),
        Err(DecodeError::TooLarge(1 << 31))
    );
    // One byte over the limit with the body present.
    let body = vec![0u8; 11];
    let mut frame = Vec::new();
    frame.push(11);
    frame.extend_from_slice(&body);
    assert_eq!(decode_commands(PB, &frame, 10), Err(DecodeError::TooLarge(11)));
    // Every message of the frame is checked, not just the first.
    let mut frame = vec![0x00, 11];
    frame.extend_from_slice(&body);
    assert_eq!(decode_commands(PB, &frame, 10), Err(DecodeError::TooLarge(11)));
    // Exactly at the limit is fine (the bytes are not a valid command, which is the next check).
    let frame = frame_of(&[publish_cmd(1, b"x")]);
    let len = frame.len() - 1;
    assert!(decode_commands(PB, &frame, len).is_ok());
    assert_eq!(
        decode_commands(PB, &frame, len - 1),
        Err(DecodeError::TooLarge(len))
    );
}

#[test]
fn undecodable_body_is_malformed() {
    // Field 1 with wire type 7 does not exist.
    assert!(matches!(
        decode_commands(PB, &[0x01, 0x0f], LIMIT),
        Err(DecodeError::Malformed(_))
    ));
    // Invalid UTF-8 in a string field.
    let mut bad = Vec::new();
    bad.extend_from_slice(&[0x32, 0x03, 0x0a, 0x01, 0xff]); // unsubscribe{channel: 0xff}
    let mut frame = vec![bad.len() as u8];
    frame.extend_from_slice(&bad);
    assert!(matches!(
        decode_commands(PB, &frame, LIMIT),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn iterator_yields_commands_before_the_error_then_stops() {
    let mut frame = frame_of(&[publish_cmd(1, b"a"), publish_cmd(2, b"b")]).to_vec();
    frame.push(0x05); // five bytes announced, none follow
    let mut it = iter_commands(PB, &frame, LIMIT);
    assert_eq!(it.next().unwrap().unwrap().id, 1);
    assert_eq!(it.next().unwrap().unwrap().id, 2);
    assert_eq!(it.next(), Some(Err(DecodeError::Truncated)));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
}

#[test]
fn frame_messages_prefixes_lengths() {
    let messages = vec![
        Bytes::from_static(b"abc"),
        Bytes::new(),
        Bytes::from(vec![7u8; 300]),
    ];
    let mut out = BytesMut::new();
    frame_messages(PB, &messages, &mut out);
    let mut expected = vec![3, b'a', b'b', b'c', 0, 0xac, 0x02];
    expected.extend_from_slice(&[7u8; 300]);
    assert_eq!(&out[..], &expected[..]);
    let mut stream = BytesMut::new();
    frame_stream_messages(PB, &messages, &mut stream);
    assert_eq!(stream, out);
}

#[test]
fn ping_reply_is_single_zero_prefix() {
    let ping = encode_reply(PB, &Reply::default()).unwrap();
    assert!(ping.is_empty());
    let mut out = BytesMut::new();
    frame_messages(PB, &[ping], &mut out);
    assert_eq!(&out[..], &[0x00]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn commands_round_trip(commands in prop::collection::vec(common::command(common::any_bytes().boxed()), 1..4)) {
        let frame = frame_of(&commands);
        prop_assert_eq!(decode_commands(PB, &frame, usize::MAX).unwrap(), commands.clone());
        prop_assert_eq!(decode_commands_shared(PB, &frame, usize::MAX).unwrap(), commands);
    }

    #[test]
    fn replies_round_trip(reply in common::reply(common::any_bytes().boxed())) {
        let encoded = encode_reply(PB, &reply).unwrap();
        prop_assert_eq!(Reply::decode(encoded).unwrap(), reply);
    }

    #[test]
    fn pushes_round_trip(push in common::push(common::any_bytes().boxed())) {
        let encoded = encode_push(PB, &push).unwrap();
        prop_assert_eq!(Push::decode(encoded).unwrap(), push);
    }

    #[test]
    fn arbitrary_bytes_never_panic(frame in prop::collection::vec(any::<u8>(), 0..256), limit in 0usize..512) {
        let _ = decode_commands(PB, &frame, limit);
        let shared = Bytes::from(frame.clone());
        let _ = decode_commands_shared(PB, &shared, limit);
        let _ = codec::decode_connect_request(PB, &frame);
        let _ = codec::decode_emulation_request(PB, &frame);
    }

    #[test]
    fn corrupted_frames_never_panic(
        commands in prop::collection::vec(common::command(common::any_bytes().boxed()), 1..3),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut frame = frame_of(&commands).to_vec();
        for (index, byte) in flips {
            let i = index.index(frame.len());
            frame[i] = byte;
        }
        let _ = decode_commands(PB, &frame, LIMIT);
    }
}
