//! JSON reply/push golden frames: byte-exact output with the Go server's field order, omitempty
//! rules, always-present fields and string escaping.

use std::collections::HashMap;

use bytes::Bytes;
use gyre_protocol::codec::{encode_push, encode_reply};
use gyre_protocol::*;

const JSON: ProtocolType = ProtocolType::Json;

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn reply_text(reply: &Reply) -> String {
    String::from_utf8(encode_reply(JSON, reply).unwrap().to_vec()).unwrap()
}

fn push_text(push: &Push) -> String {
    String::from_utf8(encode_push(JSON, push).unwrap().to_vec()).unwrap()
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
fn illustrative_exchange_from_the_spec() {
    let connect = Reply {
        id: 1,
        connect: Some(ConnectResult {
            client: "c-uuid".into(),
            version: "6.9.1 OSS".into(),
            expires: true,
            ttl: 596,
            ping: 25,
            pong: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&connect),
        r#"{"id":1,"connect":{"client":"c-uuid","version":"6.9.1 OSS","expires":true,"ttl":596,"ping":25,"pong":true}}"#
    );
    let subscribe = Reply {
        id: 2,
        subscribe: Some(SubscribeResult {
            recoverable: true,
            epoch: "gWuY".into(),
            offset: 17,
            positioned: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&subscribe),
        r#"{"id":2,"subscribe":{"recoverable":true,"epoch":"gWuY","offset":17,"positioned":true}}"#
    );
    let hi = pub_push(
        "chat:index",
        Publication {
            data: b(r#"{"text":"hi"}"#),
            offset: 18,
            ..Default::default()
        },
    );
    assert_eq!(
        reply_text(&hi),
        r#"{"push":{"channel":"chat:index","pub":{"data":{"text":"hi"},"offset":18}}}"#
    );
    assert_eq!(reply_text(&Reply::default()), "{}");
    let published = Reply {
        id: 3,
        publish: Some(PublishResult {}),
        ..Default::default()
    };
    assert_eq!(reply_text(&published), r#"{"id":3,"publish":{}}"#);
    let yo = pub_push(
        "chat:index",
        Publication {
            data: b(r#"{"text":"yo"}"#),
            info: Some(ClientInfo {
                user: "42".into(),
                client: "c-uuid".into(),
                ..Default::default()
            }),
            offset: 19,
            ..Default::default()
        },
    );
    assert_eq!(
        reply_text(&yo),
        r#"{"push":{"channel":"chat:index","pub":{"data":{"text":"yo"},"info":{"user":"42","client":"c-uuid"},"offset":19}}}"#
    );
    let history = Reply {
        id: 4,
        history: Some(HistoryResult {
            publications: vec![Publication {
                data: b(r#"{"text":"yo"}"#),
                offset: 19,
                ..Default::default()
            }],
            epoch: "gWuY".into(),
            offset: 19,
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&history),
        r#"{"id":4,"history":{"publications":[{"data":{"text":"yo"},"offset":19}],"epoch":"gWuY","offset":19}}"#
    );
    let error = Reply {
        id: 5,
        error: Some(Error {
            code: 103,
            message: "permission denied".into(),
            temporary: false,
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&error),
        r#"{"id":5,"error":{"code":103,"message":"permission denied"}}"#
    );
    let temporary = Reply {
        id: 6,
        error: Some(Error {
            code: 100,
            message: "internal server error".into(),
            temporary: true,
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&temporary),
        r#"{"id":6,"error":{"code":100,"message":"internal server error","temporary":true}}"#
    );
}

#[test]
fn always_present_fields() {
    let presence = Reply {
        id: 6,
        presence: Some(PresenceResult::default()),
        ..Default::default()
    };
    assert_eq!(reply_text(&presence), r#"{"id":6,"presence":{"presence":{}}}"#);
    let mut who = HashMap::new();
    who.insert(
        "c1".to_string(),
        ClientInfo {
            client: "c1".into(),
            ..Default::default()
        },
    );
    let presence = Reply {
        id: 6,
        presence: Some(PresenceResult { presence: who }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&presence),
        r#"{"id":6,"presence":{"presence":{"c1":{"user":"","client":"c1"}}}}"#
    );
    let stats = Reply {
        id: 7,
        presence_stats: Some(PresenceStatsResult::default()),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&stats),
        r#"{"id":7,"presence_stats":{"num_clients":0,"num_users":0}}"#
    );
    let history = Reply {
        id: 8,
        history: Some(HistoryResult::default()),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&history),
        r#"{"id":8,"history":{"publications":[],"epoch":"","offset":0}}"#
    );
    let join = Push {
        channel: "c".into(),
        join: Some(Join {
            info: Some(ClientInfo::default()),
        }),
        ..Default::default()
    };
    assert_eq!(
        push_text(&join),
        r#"{"channel":"c","join":{"info":{"user":"","client":""}}}"#
    );
}

#[test]
fn present_but_empty_results_are_empty_objects() {
    let cases = [
        (
            Reply {
                id: 9,
                unsubscribe: Some(UnsubscribeResult {}),
                ..Default::default()
            },
            r#"{"id":9,"unsubscribe":{}}"#,
        ),
        (
            Reply {
                id: 10,
                ping: Some(PingResult {}),
                ..Default::default()
            },
            r#"{"id":10,"ping":{}}"#,
        ),
        (
            Reply {
                id: 11,
                rpc: Some(RpcResult::default()),
                ..Default::default()
            },
            r#"{"id":11,"rpc":{}}"#,
        ),
        (
            Reply {
                id: 12,
                refresh: Some(RefreshResult::default()),
                ..Default::default()
            },
            r#"{"id":12,"refresh":{}}"#,
        ),
        (
            Reply {
                id: 13,
                sub_refresh: Some(SubRefreshResult::default()),
                ..Default::default()
            },
            r#"{"id":13,"sub_refresh":{}}"#,
        ),
        (
            Reply {
                id: 14,
                subscribe: Some(SubscribeResult::default()),
                ..Default::default()
            },
            r#"{"id":14,"subscribe":{}}"#,
        ),
        (
            Reply {
                id: 15,
                connect: Some(ConnectResult::default()),
                ..Default::default()
            },
            r#"{"id":15,"connect":{}}"#,
        ),
        (
            Reply {
                id: 16,
                error: Some(Error::default()),
                ..Default::default()
            },
            r#"{"id":16,"error":{}}"#,
        ),
        (
            Reply {
                push: Some(Push::default()),
                ..Default::default()
            },
            r#"{"push":{}}"#,
        ),
    ];
    for (reply, expected) in cases {
        assert_eq!(reply_text(&reply), expected);
    }
}

#[test]
fn result_fields_in_proto_order() {
    let rpc = Reply {
        id: 1,
        rpc: Some(RpcResult {
            data: b(r#"{"ok":true}"#),
        }),
        ..Default::default()
    };
    assert_eq!(reply_text(&rpc), r#"{"id":1,"rpc":{"data":{"ok":true}}}"#);
    let refresh = Reply {
        id: 2,
        refresh: Some(RefreshResult {
            client: "c".into(),
            version: "v".into(),
            expires: true,
            ttl: 60,
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&refresh),
        r#"{"id":2,"refresh":{"client":"c","version":"v","expires":true,"ttl":60}}"#
    );
    let sub_refresh = Reply {
        id: 3,
        sub_refresh: Some(SubRefreshResult {
            expires: true,
            ttl: 5,
            items: vec![Publication {
                data: b("1"),
                key: "k".into(),
                version: 2,
                ..Default::default()
            }],
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&sub_refresh),
        r#"{"id":3,"sub_refresh":{"expires":true,"ttl":5,"items":[{"data":1,"key":"k","version":2}]}}"#
    );

    let mut subs = HashMap::new();
    subs.insert(
        "news".to_string(),
        SubscribeResult {
            recoverable: true,
            offset: 4,
            ..Default::default()
        },
    );
    let connect = Reply {
        id: 4,
        connect: Some(ConnectResult {
            client: "c".into(),
            version: "v".into(),
            expires: true,
            ttl: 1,
            data: b("[]"),
            subs,
            ping: 25,
            pong: true,
            session: "s".into(),
            node: "n".into(),
            time: 1_700_000_000_000,
            flag: 1,
            dict: Some(Dictionary {
                id: "d".into(),
                data: Bytes::new(),
                data_b64: "AAA=".into(),
            }),
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&connect),
        r#"{"id":4,"connect":{"client":"c","version":"v","expires":true,"ttl":1,"data":[],"subs":{"news":{"recoverable":true,"offset":4}},"ping":25,"pong":true,"session":"s","node":"n","time":1700000000000,"flag":1,"dict":{"id":"d","data_b64":"AAA="}}}"#
    );

    let full = SubscribeResult {
        expires: true,
        ttl: 1,
        recoverable: true,
        epoch: "e".into(),
        publications: vec![Publication {
            offset: 1,
            ..Default::default()
        }],
        recovered: true,
        offset: u64::MAX,
        positioned: true,
        data: b("\"d\""),
        was_recovering: true,
        delta: true,
        id: -7,
        r#type: 1,
        phase: -2,
        cursor: "cur".into(),
        state: vec![Publication {
            key: "k".into(),
            ..Default::default()
        }],
        publish_debounce: 100,
    };
    let subscribe = Reply {
        id: 5,
        subscribe: Some(full),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&subscribe),
        r#"{"id":5,"subscribe":{"expires":true,"ttl":1,"recoverable":true,"epoch":"e","publications":[{"offset":1}],"recovered":true,"offset":18446744073709551615,"positioned":true,"data":"d","was_recovering":true,"delta":true,"id":-7,"type":1,"phase":-2,"cursor":"cur","state":[{"key":"k"}],"publish_debounce":100}}"#
    );
}

#[test]
fn publication_every_field_in_order() {
    let mut tags = HashMap::new();
    tags.insert("t<1>".to_string(), "v\"1\"".to_string());
    let publication = Publication {
        data: b(r#"{"a":1}"#),
        info: Some(ClientInfo {
            user: "u".into(),
            client: "c".into(),
            conn_info: b("{\"n\":1}"),
            chan_info: b("[2]"),
        }),
        offset: 6,
        tags,
        delta: true,
        time: i64::MIN,
        channel: "ch".into(),
        key: "k".into(),
        removed: true,
        score: -3,
        epoch: "ep".into(),
        prev_data: b("0"),
        version: 16,
    };
    let push = Push {
        id: i64::MAX,
        channel: "ch".into(),
        r#pub: Some(publication),
        ..Default::default()
    };
    assert_eq!(
        push_text(&push),
        r#"{"id":9223372036854775807,"channel":"ch","pub":{"data":{"a":1},"info":{"user":"u","client":"c","conn_info":{"n":1},"chan_info":[2]},"offset":6,"tags":{"t\u003c1\u003e":"v\"1\""},"delta":true,"time":-9223372036854775808,"channel":"ch","key":"k","removed":true,"score":-3,"epoch":"ep","prev_data":0,"version":16}}"#
    );
}

#[test]
fn every_push_kind() {
    let info = || {
        Some(ClientInfo {
            user: "42".into(),
            client: "c1".into(),
            ..Default::default()
        })
    };
    let cases = [
        (
            Push {
                channel: "c".into(),
                join: Some(Join { info: info() }),
                ..Default::default()
            },
            r#"{"channel":"c","join":{"info":{"user":"42","client":"c1"}}}"#,
        ),
        (
            Push {
                channel: "c".into(),
                leave: Some(Leave { info: info() }),
                ..Default::default()
            },
            r#"{"channel":"c","leave":{"info":{"user":"42","client":"c1"}}}"#,
        ),
        (
            Push {
                channel: "c".into(),
                unsubscribe: Some(Unsubscribe {
                    code: 2000,
                    reason: "server unsubscribe".into(),
                }),
                ..Default::default()
            },
            r#"{"channel":"c","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}"#,
        ),
        (
            Push {
                message: Some(Message { data: b("{\"m\":1}") }),
                ..Default::default()
            },
            r#"{"message":{"data":{"m":1}}}"#,
        ),
        (
            Push {
                channel: "s".into(),
                subscribe: Some(Subscribe {
                    recoverable: true,
                    epoch: "e".into(),
                    offset: 3,
                    positioned: true,
                    data: b("null"),
                }),
                ..Default::default()
            },
            r#"{"channel":"s","subscribe":{"recoverable":true,"epoch":"e","offset":3,"positioned":true,"data":null}}"#,
        ),
        (
            Push {
                disconnect: Some(Disconnect {
                    code: 3001,
                    reason: "shutdown".into(),
                    reconnect: false,
                }),
                ..Default::default()
            },
            r#"{"disconnect":{"code":3001,"reason":"shutdown"}}"#,
        ),
        (
            Push {
                refresh: Some(Refresh {
                    expires: true,
                    ttl: 30,
                }),
                ..Default::default()
            },
            r#"{"refresh":{"expires":true,"ttl":30}}"#,
        ),
        (Push::default(), "{}"),
    ];
    for (push, expected) in cases {
        assert_eq!(push_text(&push), expected);
        // The same push wrapped in a reply.
        let wrapped = Reply {
            push: Some(push),
            ..Default::default()
        };
        assert_eq!(reply_text(&wrapped), format!("{{\"push\":{expected}}}"));
    }
    let connect = Push {
        connect: Some(Connect {
            client: "c".into(),
            version: "v".into(),
            data: b("1"),
            subs: HashMap::from([("a".to_string(), SubscribeResult::default())]),
            expires: true,
            ttl: 2,
            ping: 25,
            pong: false,
            session: "s".into(),
            node: "n".into(),
            time: 5,
        }),
        ..Default::default()
    };
    assert_eq!(
        push_text(&connect),
        r#"{"connect":{"client":"c","version":"v","data":1,"subs":{"a":{}},"expires":true,"ttl":2,"ping":25,"session":"s","node":"n","time":5}}"#
    );
}

#[test]
fn strings_are_escaped_like_go() {
    let reply = Reply {
        id: 1,
        error: Some(Error {
            code: 1,
            message: "<b>\"q\"\\ & \u{1}\n\u{2028}é".into(),
            temporary: false,
        }),
        ..Default::default()
    };
    assert_eq!(
        reply_text(&reply),
        "{\"id\":1,\"error\":{\"code\":1,\"message\":\"\\u003cb\\u003e\\\"q\\\"\\\\ \\u0026 \\u0001\\n\\u2028é\"}}"
    );
}
