//! The six GRPC proxy calls against a scripted tonic backend: request fields arrive, result fields
//! come back, and replies keep Centrifugo's disconnect > error > result order.

mod grpc_backend;

use std::collections::HashMap;

use grpc_backend::{start, Script};
use gyre_proxy::grpc_types as pb;
use gyre_proxy::{
    encode_data, CallContext, ConnectRequest, Outcome, ProxyError, PublishRequest, RPCRequest,
    RefreshRequest, SubRefreshRequest, SubscribeRequest,
};
use serde_json::value::RawValue;

const PATH: &str = "/centrifugal.centrifugo.proxy.CentrifugoProxy/";

fn raw(s: &str) -> Option<Box<RawValue>> {
    Some(RawValue::from_string(s.to_owned()).unwrap())
}

fn ctx() -> CallContext {
    CallContext::default()
}

fn result<T: std::fmt::Debug>(o: Outcome<T>) -> T {
    match o {
        Outcome::Result(Some(r)) => r,
        other => panic!("expected a result, got {other:?}"),
    }
}

fn yes(value: bool) -> Option<pb::BoolValue> {
    Some(pb::BoolValue { value })
}

#[tokio::test]
async fn connect_round_trip() {
    let mut subs = HashMap::new();
    subs.insert(
        "news".to_owned(),
        pb::SubscribeOptions {
            expire_at: 7,
            info: br#"{"s":1}"#.to_vec(),
            data: vec![0xff, 0x00],
            r#override: Some(pb::SubscribeOptionOverride {
                presence: yes(false),
                join_leave: yes(true),
                ..Default::default()
            }),
            cache_recover: true,
            ..Default::default()
        },
    );
    let mut b = start(Script {
        connect: pb::ConnectResponse {
            result: Some(pb::ConnectResult {
                user: "42".into(),
                expire_at: 1_900_000_000,
                info: br#"{"name":"x"}"#.to_vec(),
                // Binary data over GRPC: not JSON, must survive byte for byte.
                data: vec![0x01, 0x02, 0xfe],
                channels: vec!["a".into(), "b".into()],
                subs,
                meta: br#"{"plan":"pro"}"#.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = b.proxy(|_| {});
    let req = ConnectRequest {
        client: "cid".into(),
        transport: "websocket".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        data: raw(r#"{"token": 1}"#),
        name: "js".into(),
        version: "1.2".into(),
        channels: vec!["ch".into()],
        ..Default::default()
    };
    let r = result(p.connect(&req, &ctx()).await.unwrap());

    let (seen, got) = b.next_as::<pb::ConnectRequest>().await;
    assert_eq!(seen.path, format!("{PATH}Connect"));
    assert_eq!(seen.metadata["content-type"], "application/grpc");
    assert_eq!(
        got,
        pb::ConnectRequest {
            client: "cid".into(),
            transport: "websocket".into(),
            protocol: "json".into(),
            encoding: "json".into(),
            data: br#"{"token": 1}"#.to_vec(),
            b64data: String::new(),
            name: "js".into(),
            version: "1.2".into(),
            channels: vec!["ch".into()],
        }
    );

    assert_eq!(r.user, "42");
    assert_eq!(r.expire_at, 1_900_000_000);
    assert_eq!(r.info.as_deref().unwrap().get(), r#"{"name":"x"}"#);
    assert_eq!(r.data_bytes().unwrap().unwrap(), vec![0x01, 0x02, 0xfe]);
    assert_eq!(r.channels, vec!["a", "b"]);
    assert_eq!(r.meta.as_deref().unwrap().get(), r#"{"plan":"pro"}"#);
    let s = &r.subs["news"];
    assert_eq!(s.expire_at, 7);
    assert_eq!(s.info_bytes().unwrap().unwrap(), br#"{"s":1}"#.to_vec());
    assert_eq!(s.data_bytes().unwrap().unwrap(), vec![0xff, 0x00]);
    assert!(s.cache_recover);
    let o = s.r#override.as_ref().unwrap();
    // Present-but-false is kept apart from absent.
    assert_eq!(o.presence.map(|v| v.value), Some(false));
    assert_eq!(o.join_leave.map(|v| v.value), Some(true));
    assert!(o.force_recovery.is_none());
}

#[tokio::test]
async fn refresh_round_trip() {
    let mut b = start(Script {
        refresh: pb::RefreshResponse {
            result: Some(pb::RefreshResult {
                expired: false,
                expire_at: 123,
                b64info: "aGk=".into(),
                meta: b"{}".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = b.proxy(|_| {});
    let req = RefreshRequest {
        client: "c".into(),
        transport: "sse".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        user: "u".into(),
        meta: raw(r#"{"m":1}"#),
    };
    let r = result(p.refresh(&req, &ctx()).await.unwrap());
    let (seen, got) = b.next_as::<pb::RefreshRequest>().await;
    assert_eq!(seen.path, format!("{PATH}Refresh"));
    assert_eq!(got.user, "u");
    assert_eq!(got.transport, "sse");
    assert_eq!(got.meta, br#"{"m":1}"#.to_vec());
    assert!(!r.expired);
    assert_eq!(r.expire_at, 123);
    assert_eq!(r.info_bytes().unwrap().unwrap(), b"hi".to_vec());
    assert_eq!(r.meta.as_deref().unwrap().get(), "{}");
}

#[tokio::test]
async fn subscribe_round_trip() {
    let mut b = start(Script {
        subscribe: pb::SubscribeResponse {
            result: Some(pb::SubscribeResult {
                expire_at: 99,
                info: br#"{"i":true}"#.to_vec(),
                data: br#"[1,2]"#.to_vec(),
                r#override: Some(pb::SubscribeOptionOverride {
                    force_recovery: yes(true),
                    force_positioning: yes(false),
                    force_push_join_leave: yes(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = b.proxy(|_| {});
    let req = SubscribeRequest {
        client: "c".into(),
        user: "u".into(),
        channel: "chat:1".into(),
        data: raw(r#"{"want":"it"}"#),
        meta: raw("[]"),
        ..Default::default()
    };
    let r = result(p.subscribe(&req, &ctx()).await.unwrap());
    let (seen, got) = b.next_as::<pb::SubscribeRequest>().await;
    assert_eq!(seen.path, format!("{PATH}Subscribe"));
    assert_eq!(got.channel, "chat:1");
    assert_eq!(got.user, "u");
    assert_eq!(got.data, br#"{"want":"it"}"#.to_vec());
    assert_eq!(got.meta, b"[]".to_vec());
    assert_eq!(r.expire_at, 99);
    assert_eq!(r.info.as_deref().unwrap().get(), r#"{"i":true}"#);
    assert_eq!(r.data_bytes().unwrap().unwrap(), b"[1,2]".to_vec());
    let o = r.r#override.unwrap();
    assert_eq!(o.force_recovery.map(|v| v.value), Some(true));
    assert_eq!(o.force_positioning.map(|v| v.value), Some(false));
    assert_eq!(o.force_push_join_leave.map(|v| v.value), Some(true));
    assert!(o.presence.is_none() && o.join_leave.is_none());
}

#[tokio::test]
async fn publish_round_trip_raw_data_wins() {
    let mut tags = HashMap::new();
    tags.insert("k".to_owned(), "v".to_owned());
    let mut b = start(Script {
        publish: pb::PublishResponse {
            result: Some(pb::PublishResult {
                // The publish handler prefers raw data, even over a b64data the backend set.
                data: vec![0x80, 0x81],
                b64data: "aWdub3JlZA==".into(),
                skip_history: true,
                tags,
                idempotency_key: "idem".into(),
                delta: true,
                version: 5,
                version_epoch: "ep".into(),
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = b.proxy(|_| {});
    let req = PublishRequest {
        client: "c".into(),
        user: "u".into(),
        channel: "ch".into(),
        data: raw(r#"{"text":"hi"}"#),
        ..Default::default()
    };
    let r = result(p.publish(&req, &ctx()).await.unwrap());
    let (seen, got) = b.next_as::<pb::PublishRequest>().await;
    assert_eq!(seen.path, format!("{PATH}Publish"));
    assert_eq!(got.channel, "ch");
    assert_eq!(got.data, br#"{"text":"hi"}"#.to_vec());
    assert!(got.meta.is_empty());
    assert_eq!(r.data_bytes().unwrap().unwrap(), vec![0x80, 0x81]);
    assert!(r.skip_history && r.delta);
    assert_eq!(r.tags["k"], "v");
    assert_eq!(r.idempotency_key, "idem");
    assert_eq!(r.version, 5);
    assert_eq!(r.version_epoch, "ep");
}

#[tokio::test]
async fn rpc_round_trip_with_binary_encoding() {
    let mut b = start(Script {
        rpc: pb::RpcResponse {
            result: Some(pb::RpcResult {
                data: br#"{"ok":1}"#.to_vec(),
                b64data: String::new(),
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = b.proxy(|c| c.binary_encoding = true);
    // Centrifugo builds the request before choosing the transport: binary_encoding fills b64data
    // over GRPC too.
    let wire = encode_data(&[0xde, 0xad], true).unwrap();
    let req = RPCRequest {
        client: "c".into(),
        encoding: p.config().encoding().into(),
        user: "u".into(),
        method: "getUser".into(),
        data: wire.data,
        b64data: wire.b64data,
        ..Default::default()
    };
    let r = result(p.rpc(&req, &ctx()).await.unwrap());
    let (seen, got) = b.next_as::<pb::RpcRequest>().await;
    assert_eq!(seen.path, format!("{PATH}RPC"));
    assert_eq!(got.method, "getUser");
    assert_eq!(got.encoding, "binary");
    assert_eq!(got.b64data, "3q0=");
    assert!(got.data.is_empty());
    assert_eq!(r.data.as_deref().unwrap().get(), r#"{"ok":1}"#);
}

#[tokio::test]
async fn sub_refresh_round_trip() {
    let mut b = start(Script {
        sub_refresh: pb::SubRefreshResponse {
            result: Some(pb::SubRefreshResult {
                expired: true,
                expire_at: 0,
                info: b"not json".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = b.proxy(|c| c.include_connection_meta = true);
    let req = SubRefreshRequest {
        client: "c".into(),
        user: "u".into(),
        channel: "ch".into(),
        meta: raw(r#"{"x":1}"#),
        ..Default::default()
    };
    let r = result(p.sub_refresh(&req, &ctx()).await.unwrap());
    let (seen, got) = b.next_as::<pb::SubRefreshRequest>().await;
    assert_eq!(seen.path, format!("{PATH}SubRefresh"));
    assert_eq!(got.channel, "ch");
    assert_eq!(got.meta, br#"{"x":1}"#.to_vec());
    assert!(r.expired);
    assert_eq!(r.info_bytes().unwrap().unwrap(), b"not json".to_vec());
}

fn disconnect(code: u32) -> Option<pb::Disconnect> {
    Some(pb::Disconnect {
        code,
        reason: "bye".into(),
    })
}

fn error(code: u32) -> Option<pb::Error> {
    Some(pb::Error {
        code,
        message: "nope".into(),
        temporary: true,
    })
}

#[tokio::test]
async fn disconnect_then_error_then_result() {
    let bad_meta = Some(pb::ConnectResult {
        meta: b"\xff not json".to_vec(),
        ..Default::default()
    });
    let cases = [
        // A disconnect wins even over a result that could not be converted.
        (bad_meta.clone(), error(403), disconnect(4001), "disconnect"),
        (bad_meta.clone(), error(403), None, "error"),
        (None, None, None, "none"),
        (bad_meta, None, None, "decode"),
    ];
    for (result, err, disc, want) in cases {
        let b = start(Script {
            connect: pb::ConnectResponse {
                result,
                error: err,
                disconnect: disc,
            },
            ..Default::default()
        })
        .await;
        let got = b.proxy(|_| {}).connect(&ConnectRequest::default(), &ctx()).await;
        match (want, got) {
            ("disconnect", Ok(Outcome::Disconnect { code: 4001, reason })) => assert_eq!(reason, "bye"),
            (
                "error",
                Ok(Outcome::Error {
                    code: 403,
                    message,
                    temporary: true,
                }),
            ) => assert_eq!(message, "nope"),
            ("none", Ok(Outcome::Result(None))) => {}
            ("decode", Err(ProxyError::Decode(_))) => {}
            (want, got) => panic!("{want}: got {got:?}"),
        }
    }
}

#[tokio::test]
async fn empty_result_message_is_a_result() {
    // `result: {}` is present on the wire (an empty embedded message), unlike an absent one.
    let b = start(Script {
        subscribe: pb::SubscribeResponse {
            result: Some(pb::SubscribeResult::default()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let got = b
        .proxy(|_| {})
        .subscribe(&SubscribeRequest::default(), &ctx())
        .await
        .unwrap();
    let r = result(got);
    assert!(r.info.is_none() && r.data.is_none() && r.r#override.is_none());
}
