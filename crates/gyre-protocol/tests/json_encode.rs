//! JSON reply/push encoding of payloads: raw JSON passthrough and validation, newline stripping,
//! delta string mode, framing, and property tests over arbitrary messages.

mod common;

use bytes::{Bytes, BytesMut};
use gyre_protocol::codec::{encode_push, encode_reply, frame_messages, frame_stream_messages};
use gyre_protocol::json::{self, DataMode};
use gyre_protocol::*;
use proptest::prelude::*;
use serde_json::Value;

const JSON: ProtocolType = ProtocolType::Json;

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn reply_text(reply: &Reply) -> String {
    String::from_utf8(encode_reply(JSON, reply).unwrap().to_vec()).unwrap()
}

fn pub_push(channel: &str, publication: Publication) -> Reply {
    Reply {
        push: Some(Push {
            channel: channel.into(),
            r#pub: Some(publication),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn raw_newlines_are_stripped() {
    let pretty = pub_push(
        "c",
        Publication {
            data: b("{\n  \"a\": [\n    1,\n    \"x\\ny\"\n  ]\n}\n"),
            ..Default::default()
        },
    );
    let text = reply_text(&pretty);
    assert_eq!(
        text,
        r#"{"push":{"channel":"c","pub":{"data":{  "a": [    1,    "x\ny"  ]}}}}"#
    );
    assert!(!text.as_bytes().contains(&b'\n'));
    // Only newlines: Go writes null.
    let only_newlines = pub_push(
        "c",
        Publication {
            data: b("\n"),
            ..Default::default()
        },
    );
    assert_eq!(
        reply_text(&only_newlines),
        r#"{"push":{"channel":"c","pub":{"data":null}}}"#
    );
}

#[test]
fn invalid_json_payloads_are_refused_wherever_they_are() {
    let bad = b("\x00\x01binary");
    let info = ClientInfo {
        conn_info: bad.clone(),
        ..Default::default()
    };
    let chan = ClientInfo {
        chan_info: b("{"),
        ..Default::default()
    };
    let replies = vec![
        pub_push(
            "c",
            Publication {
                data: bad.clone(),
                ..Default::default()
            },
        ),
        pub_push(
            "c",
            Publication {
                info: Some(info),
                ..Default::default()
            },
        ),
        pub_push(
            "c",
            Publication {
                info: Some(chan),
                ..Default::default()
            },
        ),
        pub_push(
            "c",
            Publication {
                prev_data: b("nul"),
                ..Default::default()
            },
        ),
        Reply {
            id: 1,
            rpc: Some(RpcResult {
                data: b("{\"a\":1} extra"),
            }),
            ..Default::default()
        },
        Reply {
            id: 1,
            connect: Some(ConnectResult {
                data: b("'single'"),
                ..Default::default()
            }),
            ..Default::default()
        },
        Reply {
            id: 1,
            subscribe: Some(SubscribeResult {
                data: Bytes::from_static(b"\"\xff\""),
                ..Default::default()
            }),
            ..Default::default()
        },
        Reply {
            id: 1,
            history: Some(HistoryResult {
                publications: vec![Publication {
                    data: b("[1,]"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
        Reply {
            push: Some(Push {
                message: Some(Message { data: b("  ") }),
                ..Default::default()
            }),
            ..Default::default()
        },
        Reply {
            push: Some(Push {
                subscribe: Some(Subscribe {
                    data: b("tru"),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    for reply in replies {
        assert_eq!(
            encode_reply(JSON, &reply),
            Err(EncodeError::InvalidJson),
            "{reply:?}"
        );
    }
    // Protobuf does not care.
    let binary = pub_push(
        "c",
        Publication {
            data: bad,
            ..Default::default()
        },
    );
    assert!(encode_reply(ProtocolType::Protobuf, &binary).is_ok());
    // Raw text with a control character inside a string is invalid, unless that character is a
    // newline, which is stripped first (as Go does).
    let tab = pub_push(
        "c",
        Publication {
            data: b("\"a\tb\""),
            ..Default::default()
        },
    );
    assert_eq!(encode_reply(JSON, &tab), Err(EncodeError::InvalidJson));
    let nl = pub_push(
        "c",
        Publication {
            data: b("\"a\nb\""),
            ..Default::default()
        },
    );
    assert_eq!(reply_text(&nl), r#"{"push":{"channel":"c","pub":{"data":"ab"}}}"#);
}

#[test]
fn write_reply_appends_and_restores_on_error() {
    let mut out = b"prefix".to_vec();
    json::write_reply(
        &mut out,
        &Reply {
            id: 1,
            publish: Some(PublishResult {}),
            ..Default::default()
        },
        DataMode::Raw,
    )
    .unwrap();
    assert_eq!(out, b"prefix{\"id\":1,\"publish\":{}}");
    let bad = pub_push(
        "c",
        Publication {
            data: b("{"),
            ..Default::default()
        },
    );
    assert_eq!(
        json::write_reply(&mut out, &bad, DataMode::Raw),
        Err(EncodeError::InvalidJson)
    );
    assert_eq!(out, b"prefix{\"id\":1,\"publish\":{}}");
}

#[test]
fn delta_string_mode() {
    let full = pub_push(
        "c",
        Publication {
            data: b(r#"{"a":1}"#),
            offset: 2,
            ..Default::default()
        },
    );
    let text = json::encode_reply_with(&full, DataMode::String).unwrap();
    assert_eq!(
        &text[..],
        br#"{"push":{"channel":"c","pub":{"data":"{\"a\":1}","offset":2}}}"#
    );
    // A fossil patch is not JSON and may hold any byte.
    let patch = pub_push(
        "c",
        Publication {
            data: Bytes::from_static(b"7\n3@0,\x01<\xff;"),
            delta: true,
            ..Default::default()
        },
    );
    let text = json::encode_reply_with(&patch, DataMode::String).unwrap();
    assert_eq!(
        &text[..],
        br#"{"push":{"channel":"c","pub":{"data":"7\n3@0,\u0001\u003c\ufffd;","delta":true}}}"#
    );
    // Empty data is still written, as an empty string.
    let empty = Push {
        channel: "c".into(),
        r#pub: Some(Publication {
            offset: 1,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        &json::encode_push_with(&empty, DataMode::String).unwrap()[..],
        br#"{"channel":"c","pub":{"data":"","offset":1}}"#
    );
    // Recovered publications in a subscribe reply follow the mode too; other raw fields do not.
    let subscribe = Reply {
        id: 2,
        subscribe: Some(SubscribeResult {
            publications: vec![Publication {
                data: b("[1]"),
                ..Default::default()
            }],
            data: b("{\"x\":1}"),
            delta: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        &json::encode_reply_with(&subscribe, DataMode::String).unwrap()[..],
        br#"{"id":2,"subscribe":{"publications":[{"data":"[1]"}],"data":{"x":1},"delta":true}}"#
    );
}

#[test]
fn json_frames() {
    let messages = vec![b("{\"id\":1,\"publish\":{}}"), b("{}"), b("{\"push\":{}}")];
    let mut out = BytesMut::new();
    frame_messages(JSON, &messages, &mut out);
    assert_eq!(&out[..], b"{\"id\":1,\"publish\":{}}\n{}\n{\"push\":{}}");
    let mut out = BytesMut::from(&b"keep:"[..]);
    frame_messages(JSON, &messages[1..2], &mut out);
    assert_eq!(&out[..], b"keep:{}");
    let mut stream = BytesMut::new();
    frame_stream_messages(JSON, &messages, &mut stream);
    assert_eq!(&stream[..], b"{\"id\":1,\"publish\":{}}\n{}\n{\"push\":{}}\n");
    let mut none = BytesMut::new();
    frame_messages(JSON, &[], &mut none);
    assert!(none.is_empty());
}

#[test]
fn encoded_frames_decode_as_json_lines() {
    // A reply frame built by the server splits into valid JSON documents on `\n`.
    let replies = [
        Reply {
            id: 1,
            publish: Some(PublishResult {}),
            ..Default::default()
        },
        pub_push(
            "c",
            Publication {
                data: b("{\n\"multi\":\n\"line\"\n}"),
                ..Default::default()
            },
        ),
        Reply::default(),
    ];
    let encoded: Vec<Bytes> = replies.iter().map(|r| encode_reply(JSON, r).unwrap()).collect();
    let mut frame = BytesMut::new();
    frame_messages(JSON, &encoded, &mut frame);
    let lines: Vec<Value> = frame[..]
        .split(|&c| c == b'\n')
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["push"]["pub"]["data"]["multi"], "line");
}

fn json_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn valid_payloads_give_valid_single_line_json(reply in common::reply(common::json_bytes().boxed())) {
        let encoded = encode_reply(JSON, &reply).unwrap();
        prop_assert!(!encoded.contains(&b'\n'));
        let value = json_value(&encoded);
        if reply.id != 0 {
            prop_assert_eq!(value["id"].as_u64(), Some(u64::from(reply.id)));
        } else {
            prop_assert!(value.get("id").is_none());
        }
        prop_assert_eq!(value.get("error").is_some(), reply.error.is_some());
        if let Some(history) = &reply.history {
            let h = &value["history"];
            prop_assert_eq!(h["publications"].as_array().map(Vec::len), Some(history.publications.len()));
            prop_assert_eq!(h["epoch"].as_str(), Some(history.epoch.as_str()));
            prop_assert_eq!(h["offset"].as_u64(), Some(history.offset));
        }
        if let Some(publication) = reply.push.as_ref().and_then(|p| p.r#pub.as_ref()) {
            let data = &value["push"]["pub"]["data"];
            if publication.data.is_empty() {
                prop_assert!(data.is_null());
            } else {
                prop_assert_eq!(data, &json_value(&publication.data));
            }
            if let Some(info) = &publication.info {
                prop_assert_eq!(value["push"]["pub"]["info"]["user"].as_str(), Some(info.user.as_str()));
                prop_assert_eq!(value["push"]["pub"]["info"]["client"].as_str(), Some(info.client.as_str()));
            }
            for (k, v) in &publication.tags {
                prop_assert_eq!(value["push"]["pub"]["tags"][k].as_str(), Some(v.as_str()));
            }
        }
        // String mode is valid JSON too and never fails.
        let as_strings = json::encode_reply_with(&reply, DataMode::String).unwrap();
        let _ = json_value(&as_strings);
    }

    #[test]
    fn pushes_give_valid_json(push in common::push(common::json_bytes().boxed())) {
        let encoded = encode_push(JSON, &push).unwrap();
        prop_assert!(!encoded.contains(&b'\n'));
        let value = json_value(&encoded);
        prop_assert_eq!(value.get("channel").and_then(Value::as_str), (!push.channel.is_empty()).then_some(push.channel.as_str()));
    }

    #[test]
    fn arbitrary_payloads_are_valid_json_or_refused(reply in common::reply(common::any_bytes().boxed())) {
        match encode_reply(JSON, &reply) {
            Ok(encoded) => {
                prop_assert!(!encoded.contains(&b'\n'));
                let _ = json_value(&encoded);
            }
            Err(EncodeError::InvalidJson) => {}
        }
        let as_strings = json::encode_reply_with(&reply, DataMode::String);
        // Only non-publication raw fields can still fail in string mode.
        if let Ok(encoded) = as_strings {
            let _ = json_value(&encoded);
        }
    }

    #[test]
    fn string_mode_preserves_utf8_payload_bytes(data in "\\PC{0,40}") {
        let reply = pub_push("c", Publication { data: Bytes::from(data.clone()), ..Default::default() });
        let encoded = json::encode_reply_with(&reply, DataMode::String).unwrap();
        let value = json_value(&encoded);
        prop_assert_eq!(value["push"]["pub"]["data"].as_str(), Some(data.as_str()));
    }
}
