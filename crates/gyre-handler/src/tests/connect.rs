use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use gyre_core::{
    ConnectingEvent, ConnectingReply, ProtocolType, StreamPosition, SubscriptionSource, TransportInfo,
};
use gyre_jwt::{ConnectToken, SubscribeClaim, SubscribeOverride, TokenError};
use gyre_protocol::SubscribeRequest;

use super::*;
use crate::connect::{authenticate, complete_connect, single_connection_channel};
use crate::tokens::fake::FakeTokens;

fn transport(headers: &[(&str, &str)]) -> TransportInfo {
    TransportInfo {
        name: "websocket",
        protocol: ProtocolType::Json,
        unidirectional: false,
        emulation: false,
        disconnect_push: false,
        app_level_ping: true,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        max_message_size: 65536,
        write_timeout: Duration::from_secs(1),
        session: String::new(),
        raw_connect_errors: false,
    }
}

fn connecting(token: &str) -> ConnectingEvent {
    ConnectingEvent {
        client_id: "client-1".into(),
        transport: transport(&[]),
        token: token.into(),
        data: Bytes::new(),
        name: "js".into(),
        version: String::new(),
        headers: HashMap::new(),
        subs: HashMap::new(),
    }
}

fn asking(token: &str, channels: &[&str]) -> ConnectingEvent {
    ConnectingEvent {
        subs: channels
            .iter()
            .map(|c| (c.to_string(), SubscribeRequest::default()))
            .collect(),
        ..connecting(token)
    }
}

fn connect_token(user: &str) -> ConnectToken {
    ConnectToken {
        user_id: user.into(),
        ..Default::default()
    }
}

fn tokens() -> FakeTokens {
    let mut t = FakeTokens::default();
    t.connect.insert(
        "user-42".into(),
        Ok(ConnectToken {
            expire_at: 1_900_000_000,
            info: Bytes::from_static(b"{\"name\":\"A\"}"),
            meta: Some(Bytes::from_static(b"{\"m\":1}")),
            ..connect_token("42")
        }),
    );
    t.connect.insert("anonymous".into(), Ok(connect_token("")));
    t.connect.insert("expired".into(), Err(TokenError::Expired));
    t.connect
        .insert("invalid".into(), Err(TokenError::Invalid("bad signature".into())));
    t.connect.insert(
        "channels".into(),
        Ok(ConnectToken {
            channels: vec!["chat:a".into(), "closed:b".into()],
            ..connect_token("42")
        }),
    );
    t.connect.insert(
        "subs".into(),
        Ok(ConnectToken {
            // `channels` is ignored when `subs` is present.
            channels: vec!["chat:ignored".into()],
            subs: HashMap::from([(
                "chat:s".to_string(),
                SubscribeClaim {
                    info: Bytes::from_static(b"{\"i\":1}"),
                    data: Bytes::from_static(b"{\"d\":1}"),
                    override_: SubscribeOverride {
                        presence: Some(false),
                        force_positioning: Some(true),
                        ..Default::default()
                    },
                },
            )]),
            ..connect_token("42")
        }),
    );
    t.connect.insert(
        "unknown-ns".into(),
        Ok(ConnectToken {
            channels: vec!["nope:x".into()],
            ..connect_token("")
        }),
    );
    t
}

fn connect(config: Config, event: &ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
    let s = snapshot(config);
    let auth = authenticate(&s, &tokens(), event)?;
    complete_connect(&s, auth, event)
}

#[test]
fn token_outcomes() {
    use Outcome::*;
    let cases: &[(&str, Outcome)] = &[
        ("user-42", Ok),
        ("anonymous", Ok),
        ("expired", Error(109)),
        ("invalid", Disconnect(3500)),
        ("unknown-ns", Error(102)),
    ];
    for (token, expected) in cases {
        assert_eq!(
            &outcome(&connect(config(), &connecting(token))),
            expected,
            "{token}"
        );
    }
    let mut strict = config();
    strict.client.disallow_anonymous_connection_tokens = true;
    assert_eq!(
        outcome(&connect(strict.clone(), &connecting("anonymous"))),
        Disconnect(3507)
    );
    assert_eq!(outcome(&connect(strict.clone(), &connecting("user-42"))), Ok);
    // Centrifugo resolves token channels while verifying, before the anonymous rule.
    assert_eq!(outcome(&connect(strict, &connecting("unknown-ns"))), Error(102));
}

#[test]
fn credentials_from_token() {
    let reply = connect(config(), &connecting("user-42")).unwrap();
    assert_eq!(reply.credentials.user, "42");
    assert_eq!(reply.credentials.expire_at, 1_900_000_000);
    assert_eq!(reply.credentials.info, Bytes::from_static(b"{\"name\":\"A\"}"));
    assert_eq!(reply.meta, Some(Bytes::from_static(b"{\"m\":1}")));
    assert!(reply.client_side_refresh);
    assert!(reply.subscriptions.is_empty());

    let mut insecure = config();
    insecure.client.insecure = true;
    let reply = connect(insecure, &connecting("user-42")).unwrap();
    assert_eq!(
        reply.credentials.expire_at, 0,
        "insecure connections never expire"
    );
}

#[test]
fn without_token() {
    assert_eq!(
        outcome(&connect(config(), &connecting(""))),
        Outcome::Disconnect(3501)
    );
    for flag in [0, 1] {
        let mut c = config();
        if flag == 0 {
            c.client.allow_anonymous_connect_without_token = true;
        } else {
            c.client.insecure = true;
        }
        let reply = connect(c, &connecting("")).unwrap();
        assert_eq!(reply.credentials.user, "");
        assert_eq!(reply.credentials.expire_at, 0);
    }
}

#[test]
fn user_id_header() {
    let mut c = config();
    c.client.user_id_http_header = "X-User-Id".into();
    c.client.subscribe_to_user_personal_channel.enabled = true;
    let event = ConnectingEvent {
        transport: transport(&[("x-user-id", "17")]),
        ..asking("", &["chat:room"])
    };
    let reply = connect(c.clone(), &event).unwrap();
    assert_eq!(reply.credentials.user, "17");
    // As in Centrifugo, header credentials get neither the personal channel nor requested subs.
    assert!(reply.subscriptions.is_empty());
    assert_eq!(
        outcome(&connect(c.clone(), &connecting(""))),
        Outcome::Disconnect(3501)
    );
    // Anonymous access is evaluated first.
    c.client.allow_anonymous_connect_without_token = true;
    assert_eq!(connect(c, &event).unwrap().credentials.user, "");
}

#[test]
fn token_server_side_subscriptions() {
    let reply = connect(config(), &connecting("channels")).unwrap();
    let mut channels: Vec<_> = reply.subscriptions.keys().cloned().collect();
    channels.sort();
    assert_eq!(channels, ["chat:a", "closed:b"], "not permission-checked");
    let chat = &reply.subscriptions["chat:a"];
    assert!(chat.emit_presence && chat.emit_join_leave);
    assert_eq!(chat.source, SubscriptionSource::ConnectionToken);

    let s = snapshot(config());
    let event = connecting("subs");
    let auth = authenticate(&s, &tokens(), &event).unwrap();
    let reply = complete_connect(&s, auth, &event).unwrap();
    assert_eq!(reply.subscriptions.len(), 1);
    let sub = &reply.subscriptions["chat:s"];
    assert_eq!(sub.source, SubscriptionSource::ConnectionToken);
    assert_eq!(sub.channel_info, Bytes::from_static(b"{\"i\":1}"));
    assert_eq!(sub.data, Bytes::from_static(b"{\"d\":1}"));
    assert!(!sub.emit_presence && sub.enable_positioning);
}

fn personal_config(single: bool) -> Config {
    let mut c = config();
    c.channel.namespaces.push(namespace(
        "personal",
        gyre_config::ChannelOptions {
            presence: true,
            ..Default::default()
        },
    ));
    let p = &mut c.client.subscribe_to_user_personal_channel;
    p.enabled = true;
    p.personal_channel_namespace = "personal".into();
    p.single_connection = single;
    c
}

#[test]
fn personal_channel() {
    let reply = connect(personal_config(false), &connecting("user-42")).unwrap();
    let sub = &reply.subscriptions["personal:#42"];
    assert!(sub.emit_presence);
    assert_eq!(sub.source, SubscriptionSource::Server);
    // Anonymous connections have no personal channel.
    let mut anon = personal_config(false);
    anon.client.allow_anonymous_connect_without_token = true;
    assert!(connect(anon, &connecting("")).unwrap().subscriptions.is_empty());
    // A missing namespace is 102.
    let mut missing = personal_config(false);
    missing
        .client
        .subscribe_to_user_personal_channel
        .personal_channel_namespace = "gone".into();
    assert_eq!(
        outcome(&connect(missing, &connecting("user-42"))),
        Outcome::Error(102)
    );
}

#[test]
fn single_connection_only_for_identified_users() {
    let s = snapshot(personal_config(true));
    let t = tokens();
    let auth = authenticate(&s, &t, &connecting("user-42")).unwrap();
    assert_eq!(
        single_connection_channel(&s, &auth).as_deref(),
        Some("personal:#42")
    );
    let auth = authenticate(&s, &t, &connecting("anonymous")).unwrap();
    assert_eq!(single_connection_channel(&s, &auth), None);
    let s = snapshot(personal_config(false));
    let auth = authenticate(&s, &t, &connecting("user-42")).unwrap();
    assert_eq!(single_connection_channel(&s, &auth), None);
}

#[test]
fn requested_subscriptions() {
    let asked = asking(
        "user-42",
        &[
            "chat:room",    // allowed for clients
            "closed:room",  // not allowed: ignored
            "$chat:room",   // private: ignored
            "proxied:room", // subscribe proxy: ignored
            "dialog:#42",   // user-limited, listed
            "dialog:#43",   // user-limited, not listed
            "chat:ünïcode", // invalid name: ignored
        ],
    );
    let reply = connect(config(), &asked).unwrap();
    let mut got: Vec<_> = reply.subscriptions.keys().cloned().collect();
    got.sort();
    assert_eq!(got, ["chat:room", "dialog:#42"]);

    // Unknown namespace is a disconnect here, not an error reply.
    let unknown = asking("user-42", &["nope:x"]);
    assert_eq!(outcome(&connect(config(), &unknown)), Outcome::Disconnect(3501));

    // Anonymous connections: only anonymous-friendly namespaces, or everything non-private when
    // insecure.
    let mut anon = config();
    anon.client.allow_anonymous_connect_without_token = true;
    let asked = asking("", &["chat:room", "public:room", "dialog:#"]);
    let mut got: Vec<_> = connect(anon, &asked).unwrap().subscriptions.into_keys().collect();
    got.sort();
    assert_eq!(got, ["public:room"]);
    let mut insecure = config();
    insecure.client.insecure = true;
    let asked = asking("", &["chat:room", "closed:x", "$p"]);
    let mut got: Vec<_> = connect(insecure, &asked)
        .unwrap()
        .subscriptions
        .into_keys()
        .collect();
    got.sort();
    assert_eq!(got, ["chat:room", "closed:x"]);
}

#[test]
fn requested_subscriptions_keep_token_options_and_positions() {
    let mut event = asking("subs", &["chat:s", "chat:room"]);
    event.subs.insert(
        "chat:s".into(),
        SubscribeRequest {
            recover: true,
            offset: 7,
            epoch: "e1".into(),
            ..Default::default()
        },
    );
    let reply = connect(config(), &event).unwrap();
    let token_sub = &reply.subscriptions["chat:s"];
    assert_eq!(
        token_sub.channel_info,
        Bytes::from_static(b"{\"i\":1}"),
        "token entry kept"
    );
    assert_eq!(
        token_sub.recover_since,
        Some(StreamPosition {
            offset: 7,
            epoch: "e1".into()
        })
    );
    assert_eq!(
        reply.subscriptions["chat:room"].recover_since, None,
        "recover not asked"
    );
}
