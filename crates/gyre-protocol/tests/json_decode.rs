//! JSON command decoding: every command kind, raw payload passthrough, `null`, framing.

mod common;

use bytes::Bytes;
use gyre_protocol::codec::{decode_commands, decode_commands_shared, iter_commands};
use gyre_protocol::json::decode_command;
use gyre_protocol::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const JSON: ProtocolType = ProtocolType::Json;
const LIMIT: usize = 65536;

fn one(text: &str) -> Command {
    let mut commands = decode_commands(JSON, text.as_bytes(), LIMIT).unwrap();
    assert_eq!(commands.len(), 1);
    commands.pop().unwrap()
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn malformed(text: &[u8]) -> bool {
    matches!(decode_commands(JSON, text, LIMIT), Err(DecodeError::Malformed(_)))
}

#[test]
fn js_sdk_first_frame() {
    let frame = "{\"id\":1,\"connect\":{\"token\":\"JWT\",\"name\":\"js\"}}\n{\"id\":2,\"subscribe\":{\"channel\":\"chat:index\",\"flag\":1}}";
    let commands = decode_commands(JSON, frame.as_bytes(), LIMIT).unwrap();
    assert_eq!(
        commands,
        vec![
            Command {
                id: 1,
                connect: Some(ConnectRequest {
                    token: "JWT".into(),
                    name: "js".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Command {
                id: 2,
                subscribe: Some(SubscribeRequest {
                    channel: "chat:index".into(),
                    flag: 1,
                    ..Default::default()
                }),
                ..Default::default()
            },
        ]
    );
    assert_eq!(command_method(&commands[0]), Some(Method::Connect));
    assert_eq!(command_method(&commands[1]), Some(Method::Subscribe));
}

#[test]
fn empty_object_is_a_pong() {
    let cmd = one("{}");
    assert_eq!(cmd, Command::default());
    assert_eq!(command_method(&cmd), None);
}

#[test]
fn connect_every_field() {
    let cmd = one(
        r#"{"id":1,"connect":{"token":"t","data":{"k":[1,2]},"subs":{"news":{"recover":true,"epoch":"e","offset":18446744073709551615,"delta":"fossil"},"empty":{}},"name":"python","version":"1.0","headers":{"Authorization":"x","X-Empty":""},"flag":-9223372036854775808,"dict":"d1","profile":"mobile"}}"#,
    );
    let c = cmd.connect.unwrap();
    assert_eq!(c.token, "t");
    assert_eq!(c.data, b(r#"{"k":[1,2]}"#));
    assert_eq!(c.subs.len(), 2);
    assert_eq!(
        c.subs["news"],
        SubscribeRequest {
            recover: true,
            epoch: "e".into(),
            offset: u64::MAX,
            delta: "fossil".into(),
            ..Default::default()
        }
    );
    assert_eq!(c.subs["empty"], SubscribeRequest::default());
    assert_eq!(c.name, "python");
    assert_eq!(c.version, "1.0");
    assert_eq!(c.headers.len(), 2);
    assert_eq!(c.headers["Authorization"], "x");
    assert_eq!(c.flag, i64::MIN);
    assert_eq!(c.dict, "d1");
    assert_eq!(c.profile, "mobile");
}

#[test]
fn subscribe_every_field_with_filter_tree() {
    let cmd = one(
        r#"{"id":2,"subscribe":{"channel":"c","token":"st","recover":true,"epoch":"ep","offset":7,"data":[1,"two"],"positioned":true,"recoverable":true,"join_leave":true,"delta":"fossil","tf":{"op":"and","nodes":[{"key":"k","cmp":"eq","val":"v"},{"op":"not","nodes":[{"key":"n","cmp":"in","vals":["a","b"]}]}]},"flag":3,"type":1,"phase":2,"cursor":"cur","limit":50,"asc":true}}"#,
    );
    let s = cmd.subscribe.unwrap();
    let expected = SubscribeRequest {
        channel: "c".into(),
        token: "st".into(),
        recover: true,
        epoch: "ep".into(),
        offset: 7,
        data: b(r#"[1,"two"]"#),
        positioned: true,
        recoverable: true,
        join_leave: true,
        delta: "fossil".into(),
        tf: Some(FilterNode {
            op: "and".into(),
            nodes: vec![
                FilterNode {
                    key: "k".into(),
                    cmp: "eq".into(),
                    val: "v".into(),
                    ..Default::default()
                },
                FilterNode {
                    op: "not".into(),
                    nodes: vec![FilterNode {
                        key: "n".into(),
                        cmp: "in".into(),
                        vals: vec!["a".into(), "b".into()],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
        flag: 3,
        r#type: 1,
        phase: 2,
        cursor: "cur".into(),
        limit: 50,
        asc: true,
    };
    assert_eq!(s, expected);
}

#[test]
fn remaining_commands_every_field() {
    let frame = [
        r#"{"id":3,"unsubscribe":{"channel":"u"}}"#,
        r#"{"id":4,"publish":{"channel":"p","data":"str","type":1,"key":"k","removed":true}}"#,
        r#"{"id":5,"presence":{"channel":"pr"}}"#,
        r#"{"id":6,"presence_stats":{"channel":"ps"}}"#,
        r#"{"id":7,"history":{"channel":"h","limit":-1,"since":{"offset":10,"epoch":"xyz"},"reverse":true}}"#,
        r#"{"id":8,"ping":{}}"#,
        r#"{"send":{"data":12.5e-1}}"#,
        r#"{"id":9,"rpc":{"data":true,"method":"getUser"}}"#,
        r#"{"id":10,"refresh":{"token":"rt"}}"#,
        r#"{"id":11,"sub_refresh":{"channel":"sr","token":"t","type":1,"track":[{"signature":"sig","items":[{"key":"a","version":3},{"key":"b"}]}],"untrack":["x","y"]}}"#,
    ]
    .join("\n");
    let c = decode_commands(JSON, frame.as_bytes(), LIMIT).unwrap();
    assert_eq!(c.len(), 10);
    assert_eq!(c[0].unsubscribe, Some(UnsubscribeRequest { channel: "u".into() }));
    assert_eq!(
        c[1].publish,
        Some(PublishRequest {
            channel: "p".into(),
            data: b("\"str\""),
            r#type: 1,
            key: "k".into(),
            removed: true
        })
    );
    assert_eq!(c[2].presence, Some(PresenceRequest { channel: "pr".into() }));
    assert_eq!(
        c[3].presence_stats,
        Some(PresenceStatsRequest { channel: "ps".into() })
    );
    assert_eq!(
        c[4].history,
        Some(HistoryRequest {
            channel: "h".into(),
            limit: -1,
            since: Some(StreamPosition {
                offset: 10,
                epoch: "xyz".into()
            }),
            reverse: true,
        })
    );
    assert_eq!(c[5].ping, Some(PingRequest {}));
    assert_eq!(
        (c[6].id, c[6].send.clone()),
        (0, Some(SendRequest { data: b("12.5e-1") }))
    );
    assert_eq!(
        c[7].rpc,
        Some(RpcRequest {
            data: b("true"),
            method: "getUser".into()
        })
    );
    assert_eq!(c[8].refresh, Some(RefreshRequest { token: "rt".into() }));
    assert_eq!(
        c[9].sub_refresh,
        Some(SubRefreshRequest {
            channel: "sr".into(),
            token: "t".into(),
            r#type: 1,
            track: vec![TrackBatch {
                signature: "sig".into(),
                items: vec![
                    KeyedItem {
                        key: "a".into(),
                        version: 3
                    },
                    KeyedItem {
                        key: "b".into(),
                        version: 0
                    },
                ],
            }],
            untrack: vec!["x".into(), "y".into()],
        })
    );
    let methods: Vec<_> = c.iter().map(|c| command_method(c).unwrap().as_str()).collect();
    assert_eq!(
        methods,
        [
            "unsubscribe",
            "publish",
            "presence",
            "presence_stats",
            "history",
            "ping",
            "send",
            "rpc",
            "refresh",
            "sub_refresh"
        ]
    );
}

#[test]
fn raw_data_is_the_exact_json_text() {
    let cases: &[(&str, &str)] = &[
        (r#"{"a": 1}"#, r#"{"a": 1}"#),
        ("[1, [2, {}]]", "[1, [2, {}]]"),
        (r#""he said \"hi\" \u00e9""#, r#""he said \"hi\" \u00e9""#),
        ("-0.5E+10", "-0.5E+10"),
        ("null", "null"),
        ("false", "false"),
        // Whitespace around the value is not part of it; whitespace inside is kept.
        (" \t\r {\"x\" :\t[ 1 ,2 ] } \t", "{\"x\" :\t[ 1 ,2 ] }"),
    ];
    for (value, expected) in cases {
        let text = format!("{{\"id\":1,\"publish\":{{\"channel\":\"c\",\"data\":{value}}}}}");
        let data = one(&text).publish.unwrap().data;
        assert_eq!(data, Bytes::copy_from_slice(expected.as_bytes()), "value {value}");
    }
    // A single message may contain raw newlines (the frame splitter never sees this one).
    let cmd = decode_command(b"{\"id\":1,\"rpc\":{\"data\":{\n  \"a\": [\n 1\n ]\n}}}").unwrap();
    assert_eq!(cmd.rpc.unwrap().data, b("{\n  \"a\": [\n 1\n ]\n}"));
}

#[test]
fn shared_decode_slices_raw_data_from_the_frame() {
    let frame = Bytes::from_static(b"{\"id\":1,\"publish\":{\"channel\":\"c\",\"data\":{\"k\":\"v\"}}}");
    let cmd = decode_commands_shared(JSON, &frame, LIMIT)
        .unwrap()
        .pop()
        .unwrap();
    let data = cmd.publish.unwrap().data;
    assert_eq!(data, b("{\"k\":\"v\"}"));
    let start = frame.as_ptr() as usize;
    assert!((start..start + frame.len()).contains(&(data.as_ptr() as usize)));
}

#[test]
fn null_means_not_set() {
    let cmd = one(
        r#"{"id":null,"connect":null,"publish":{"channel":null,"data":null,"type":null,"removed":null}}"#,
    );
    assert_eq!(cmd.id, 0);
    assert_eq!(cmd.connect, None);
    // A null payload keeps its text, as Go's raw type does.
    assert_eq!(
        cmd.publish,
        Some(PublishRequest {
            data: b("null"),
            ..Default::default()
        })
    );

    let cmd = one(r#"{"id":1,"connect":{"subs":{"a":null},"headers":{"h":null}}}"#);
    let c = cmd.connect.unwrap();
    assert_eq!(c.subs["a"], SubscribeRequest::default());
    assert_eq!(c.headers["h"], "");

    let cmd = one(r#"{"id":1,"sub_refresh":{"track":[null,{"items":[null]}],"untrack":[null,"x"]}}"#);
    let s = cmd.sub_refresh.unwrap();
    assert_eq!(
        s.track,
        vec![
            TrackBatch::default(),
            TrackBatch {
                items: vec![KeyedItem::default()],
                ..Default::default()
            }
        ]
    );
    assert_eq!(s.untrack, vec!["".to_string(), "x".to_string()]);

    let cmd = one(r#"{"id":1,"subscribe":{"channel":"c","tf":null},"history":{"since":null}}"#);
    assert_eq!(cmd.subscribe.unwrap().tf, None);
    assert_eq!(cmd.history.unwrap().since, None);
}

#[test]
fn unknown_fields_are_ignored() {
    let cmd = one(
        r#"{"id":1,"future":{"deep":[1,{"x":null}]},"publish":{"channel":"c","data":1,"extra":"yes","more":[]},"method":7}"#,
    );
    assert_eq!(cmd.id, 1);
    assert_eq!(
        cmd.publish,
        Some(PublishRequest {
            channel: "c".into(),
            data: b("1"),
            ..Default::default()
        })
    );
}

#[test]
fn keys_match_like_go() {
    // Exact match first, then case-insensitive.
    let cmd = one(r#"{"ID":4,"Publish":{"CHANNEL":"c","Data":[]}}"#);
    assert_eq!(cmd.id, 4);
    assert_eq!(
        cmd.publish,
        Some(PublishRequest {
            channel: "c".into(),
            data: b("[]"),
            ..Default::default()
        })
    );
    // Escaped keys are unescaped before matching.
    assert_eq!(one(r#"{"i\u0064":5}"#).id, 5);
    // A repeated key overwrites.
    assert_eq!(one(r#"{"id":1,"id":2}"#).id, 2);
}

#[test]
fn integers_must_be_json_numbers() {
    assert!(malformed(br#"{"id":"1"}"#));
    assert!(malformed(br#"{"id":1,"subscribe":{"channel":"c","offset":"5"}}"#));
    assert!(malformed(br#"{"id":1.0}"#));
    assert!(malformed(br#"{"id":1e2}"#));
    assert!(malformed(br#"{"id":-1}"#));
    assert!(malformed(br#"{"id":4294967296}"#));
    assert!(malformed(br#"{"id":1,"connect":{"flag":9223372036854775808}}"#));
    assert!(malformed(br#"{"id":1,"history":{"reverse":1}}"#));
    assert!(malformed(br#"{"id":1,"publish":{"channel":5}}"#));
    assert_eq!(one(r#"{"id":1,"connect":{"flag":-5}}"#).connect.unwrap().flag, -5);
}

#[test]
fn structure_errors_are_malformed() {
    for bad in [
        &b"null"[..],
        b"[]",
        b"1",
        b"\"x\"",
        b"{",
        b"{}x",
        b"{}{}",
        b"{\"id\":1,}",
        b"{\"unsubscribe\":[\"c\"]}",
        b"{\"unsubscribe\":\"c\"}",
        b"{\"connect\":{\"subs\":[]}}",
        b"{\"connect\":{\"headers\":{\"a\":1}}}",
        b"{\"publish\":{\"data\":}}",
        b"{\"publish\":{\"channel\":\"\xff\"}}",
        b"\xef\xbb\xbf{}",
        b"  ",
    ] {
        assert!(
            malformed(bad),
            "{:?} should be malformed",
            String::from_utf8_lossy(bad)
        );
    }
    // Invalid UTF-8 inside a raw payload is refused too (payloads must be valid JSON text).
    assert!(malformed(b"{\"publish\":{\"data\":\"\xff\"}}"));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut text = String::from("{\"id\":1,\"subscribe\":{\"channel\":\"c\",\"tf\":");
    for _ in 0..10_000 {
        text.push_str("{\"nodes\":[");
    }
    match decode_command(text.as_bytes()) {
        Err(DecodeError::Malformed(msg)) => assert!(msg.contains("recursion"), "{msg}"),
        other => panic!("expected a recursion error, got {other:?}"),
    }
}

#[test]
fn batch_framing() {
    let ok = |frame: &str| decode_commands(JSON, frame.as_bytes(), LIMIT).map(|c| c.len());
    assert_eq!(ok("{}"), Ok(1));
    assert_eq!(ok("{}\n"), Ok(1));
    assert_eq!(ok("{}\n{\"id\":1,\"ping\":{}}"), Ok(2));
    assert_eq!(ok("{}\n{}\n"), Ok(2));
    // `\r\n` separators: the `\r` is whitespace of the message before it.
    assert_eq!(ok("{}\r\n{}\r\n"), Ok(2));
    // Whitespace around a message is fine.
    assert_eq!(ok("  {} \t"), Ok(1));
    assert_eq!(ok(""), Err(DecodeError::Empty));
    for bad in ["\n", "{}\n\n", "\n{}", "{}\n\n{}", "{}\n \n{}"] {
        assert!(matches!(ok(bad), Err(DecodeError::Malformed(_))), "{bad:?}");
    }
    assert_eq!(ok("{}\r"), Ok(1));
}

#[test]
fn iterator_yields_commands_before_the_error() {
    let frame = b"{\"id\":1,\"ping\":{}}\n{\"id\":2,\"ping\":{}}\nnot json\n{}";
    let mut it = iter_commands(JSON, frame, LIMIT);
    assert_eq!(it.next().unwrap().unwrap().id, 1);
    assert_eq!(it.next().unwrap().unwrap().id, 2);
    assert!(matches!(it.next(), Some(Err(DecodeError::Malformed(_)))));
    assert_eq!(it.next(), None);
    let mut it = iter_commands(JSON, b"", LIMIT);
    assert_eq!(it.next(), Some(Err(DecodeError::Empty)));
    assert_eq!(it.next(), None);
}

#[test]
fn message_size_limit_applies_per_message() {
    let msg = "{\"id\":1,\"ping\":{}}"; // 18 bytes
    assert_eq!(msg.len(), 18);
    let frame = format!("{msg}\n{msg}\n");
    assert_eq!(decode_commands(JSON, frame.as_bytes(), 18).unwrap().len(), 2);
    assert_eq!(
        decode_commands(JSON, frame.as_bytes(), 17),
        Err(DecodeError::TooLarge(18))
    );
    let frame = format!("{{}}\n{msg} ");
    assert_eq!(
        decode_commands(JSON, frame.as_bytes(), 18),
        Err(DecodeError::TooLarge(19))
    );
}

#[test]
fn unidirectional_and_emulation_bodies() {
    let c = codec::decode_connect_request(
        JSON,
        br#"{"token":"t","subs":{"ch":{"recover":true,"offset":3,"epoch":"e"}},"data":{"x":1}}"#,
    )
    .unwrap();
    assert_eq!(c.token, "t");
    assert_eq!(c.data, b("{\"x\":1}"));
    assert_eq!(c.subs["ch"].offset, 3);
    let e = codec::decode_emulation_request(
        JSON,
        br#"{"node":"n1","session":"s1","data":"{\"id\":2,\"ping\":{}}"}"#,
    )
    .unwrap();
    assert_eq!(e.node, "n1");
    assert_eq!(e.session, "s1");
    assert_eq!(e.data, b(r#""{\"id\":2,\"ping\":{}}""#));
}

// ---- property tests: a command written as JSON decodes back to itself ----

/// Writes `cmd` as JSON with every field present (zero values included); `bytes` fields are
/// spliced in as raw text through placeholders.
fn command_json(cmd: &Command) -> String {
    let mut raws = Vec::new();
    let mut o = Map::new();
    o.insert("id".into(), json!(cmd.id));
    if let Some(c) = &cmd.connect {
        let subs: Map<String, Value> = c
            .subs
            .iter()
            .map(|(k, v)| (k.clone(), subscribe_json(v, &mut raws)))
            .collect();
        let mut m = Map::new();
        m.insert("token".into(), json!(c.token));
        put_raw(&mut m, "data", &c.data, &mut raws);
        m.insert("subs".into(), Value::Object(subs));
        m.insert("name".into(), json!(c.name));
        m.insert("version".into(), json!(c.version));
        m.insert("headers".into(), json!(c.headers));
        m.insert("flag".into(), json!(c.flag));
        m.insert("dict".into(), json!(c.dict));
        m.insert("profile".into(), json!(c.profile));
        o.insert("connect".into(), Value::Object(m));
    }
    if let Some(s) = &cmd.subscribe {
        o.insert("subscribe".into(), subscribe_json(s, &mut raws));
    }
    if let Some(u) = &cmd.unsubscribe {
        o.insert("unsubscribe".into(), json!({ "channel": u.channel }));
    }
    if let Some(p) = &cmd.publish {
        let mut m = Map::new();
        m.insert("channel".into(), json!(p.channel));
        put_raw(&mut m, "data", &p.data, &mut raws);
        m.insert("type".into(), json!(p.r#type));
        m.insert("key".into(), json!(p.key));
        m.insert("removed".into(), json!(p.removed));
        o.insert("publish".into(), Value::Object(m));
    }
    if let Some(p) = &cmd.presence {
        o.insert("presence".into(), json!({ "channel": p.channel }));
    }
    if let Some(p) = &cmd.presence_stats {
        o.insert("presence_stats".into(), json!({ "channel": p.channel }));
    }
    if let Some(h) = &cmd.history {
        let since = h
            .since
            .as_ref()
            .map(|s| json!({ "offset": s.offset, "epoch": s.epoch }));
        o.insert(
            "history".into(),
            json!({ "channel": h.channel, "limit": h.limit, "since": since, "reverse": h.reverse }),
        );
    }
    if cmd.ping.is_some() {
        o.insert("ping".into(), json!({}));
    }
    if let Some(s) = &cmd.send {
        let mut m = Map::new();
        put_raw(&mut m, "data", &s.data, &mut raws);
        o.insert("send".into(), Value::Object(m));
    }
    if let Some(r) = &cmd.rpc {
        let mut m = Map::new();
        put_raw(&mut m, "data", &r.data, &mut raws);
        m.insert("method".into(), json!(r.method));
        o.insert("rpc".into(), Value::Object(m));
    }
    if let Some(r) = &cmd.refresh {
        o.insert("refresh".into(), json!({ "token": r.token }));
    }
    if let Some(s) = &cmd.sub_refresh {
        let track: Vec<Value> = s
            .track
            .iter()
            .map(|t| {
                let items: Vec<Value> = t
                    .items
                    .iter()
                    .map(|i| json!({ "key": i.key, "version": i.version }))
                    .collect();
                json!({ "signature": t.signature, "items": items })
            })
            .collect();
        o.insert(
            "sub_refresh".into(),
            json!({ "channel": s.channel, "token": s.token, "type": s.r#type, "track": track, "untrack": s.untrack }),
        );
    }
    let mut text = Value::Object(o).to_string();
    for (i, raw) in raws.iter().enumerate() {
        let placeholder = format!("\"@@raw{i}@@\"");
        text = text.replacen(&placeholder, std::str::from_utf8(raw).unwrap(), 1);
    }
    text
}

fn put_raw(m: &mut Map<String, Value>, key: &str, raw: &Bytes, raws: &mut Vec<Bytes>) {
    if !raw.is_empty() {
        m.insert(key.into(), Value::String(format!("@@raw{}@@", raws.len())));
        raws.push(raw.clone());
    }
}

fn filter_json(f: &FilterNode) -> Value {
    let nodes: Vec<Value> = f.nodes.iter().map(filter_json).collect();
    json!({ "op": f.op, "key": f.key, "cmp": f.cmp, "val": f.val, "vals": f.vals, "nodes": nodes })
}

fn subscribe_json(s: &SubscribeRequest, raws: &mut Vec<Bytes>) -> Value {
    let mut m = Map::new();
    m.insert("channel".into(), json!(s.channel));
    m.insert("token".into(), json!(s.token));
    m.insert("recover".into(), json!(s.recover));
    m.insert("epoch".into(), json!(s.epoch));
    m.insert("offset".into(), json!(s.offset));
    put_raw(&mut m, "data", &s.data, raws);
    m.insert("positioned".into(), json!(s.positioned));
    m.insert("recoverable".into(), json!(s.recoverable));
    m.insert("join_leave".into(), json!(s.join_leave));
    m.insert("delta".into(), json!(s.delta));
    if let Some(tf) = &s.tf {
        m.insert("tf".into(), filter_json(tf));
    }
    m.insert("flag".into(), json!(s.flag));
    m.insert("type".into(), json!(s.r#type));
    m.insert("phase".into(), json!(s.phase));
    m.insert("cursor".into(), json!(s.cursor));
    m.insert("limit".into(), json!(s.limit));
    m.insert("asc".into(), json!(s.asc));
    Value::Object(m)
}

fn single_line_json() -> BoxedStrategy<Bytes> {
    common::json_bytes()
        .prop_filter("no raw newline", |b| !b.contains(&b'\n'))
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn json_commands_round_trip(cmd in common::command(common::json_bytes().boxed())) {
        let text = command_json(&cmd);
        prop_assert_eq!(decode_command(text.as_bytes()).unwrap(), cmd);
    }

    #[test]
    fn json_frames_round_trip(
        commands in prop::collection::vec(common::command(single_line_json()), 1..4),
        trailing_newline in any::<bool>(),
    ) {
        let mut frame = commands.iter().map(command_json).collect::<Vec<_>>().join("\n");
        if trailing_newline {
            frame.push('\n');
        }
        prop_assert_eq!(decode_commands(JSON, frame.as_bytes(), usize::MAX).unwrap(), commands.clone());
        let shared = Bytes::from(frame);
        prop_assert_eq!(decode_commands_shared(JSON, &shared, usize::MAX).unwrap(), commands);
    }

    #[test]
    fn arbitrary_bytes_never_panic(frame in prop::collection::vec(any::<u8>(), 0..256), limit in 0usize..512) {
        let _ = decode_commands(JSON, &frame, limit);
        let _ = decode_commands_shared(JSON, &Bytes::from(frame.clone()), limit);
        let _ = codec::decode_connect_request(JSON, &frame);
        let _ = codec::decode_emulation_request(JSON, &frame);
    }

    #[test]
    fn mutated_commands_never_panic(
        cmd in common::command(single_line_json()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut text = command_json(&cmd).into_bytes();
        for (index, byte) in edits {
            let i = index.index(text.len());
            text[i] = byte;
        }
        let _ = decode_commands(JSON, &text, LIMIT);
        let _ = decode_commands_shared(JSON, &Bytes::from(text), LIMIT);
    }
}
