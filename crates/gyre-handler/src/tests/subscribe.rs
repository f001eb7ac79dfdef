use bytes::Bytes;
use gyre_core::{RecoveryMode, SubRefreshEvent, SubscribeEvent, SubscriptionSource};
use gyre_jwt::{SubscribeOverride, SubscribeToken, TokenError};
use gyre_protocol::FilterNode;

use super::*;
use crate::subscribe::{decide_sub_refresh, decide_subscribe, SubscribeDecision};
use crate::tokens::fake::FakeTokens;

fn event(channel: &str) -> SubscribeEvent {
    SubscribeEvent {
        channel: channel.into(),
        token: String::new(),
        data: Bytes::new(),
        positioned: false,
        recoverable: false,
        join_leave: false,
        delta: String::new(),
        tags_filter: None,
    }
}

fn with_token(channel: &str, token: &str) -> SubscribeEvent {
    SubscribeEvent {
        token: token.into(),
        ..event(channel)
    }
}

fn sub_token(channel: &str, user: &str) -> SubscribeToken {
    SubscribeToken {
        user_id: user.into(),
        channel: channel.into(),
        ..Default::default()
    }
}

/// Tokens for the B3 matrix, all issued for user 42 unless stated.
fn tokens() -> FakeTokens {
    let mut t = FakeTokens::default();
    t.subscribe.insert("good".into(), Ok(sub_token("$secret", "42")));
    t.subscribe
        .insert("good-chat".into(), Ok(sub_token("chat:room", "42")));
    t.subscribe
        .insert("wrong-channel".into(), Ok(sub_token("$other", "42")));
    t.subscribe
        .insert("wrong-user".into(), Ok(sub_token("$secret", "43")));
    t.subscribe.insert(
        "bound-client".into(),
        Ok(SubscribeToken {
            client: "client-42".into(),
            ..sub_token("$secret", "42")
        }),
    );
    t.subscribe.insert(
        "other-client".into(),
        Ok(SubscribeToken {
            client: "someone-else".into(),
            ..sub_token("$secret", "42")
        }),
    );
    t.subscribe.insert("expired".into(), Err(TokenError::Expired));
    t.subscribe
        .insert("invalid".into(), Err(TokenError::Invalid("bad signature".into())));
    // A connection token has no `channel` claim: the verifier calls it invalid.
    t.subscribe.insert(
        "connection-token".into(),
        Err(TokenError::Invalid("channel claim is required".into())),
    );
    t.subscribe
        .insert("unknown-ns".into(), Ok(sub_token("nope:x", "42")));
    t.subscribe
        .insert("anonymous".into(), Ok(sub_token("$secret", "")));
    t
}

fn decide(config: Config, caller: Caller<'_>, event: &SubscribeEvent) -> Outcome {
    match decide_subscribe(&snapshot(config), &tokens(), caller, event) {
        Ok(SubscribeDecision::Proxy(_) | SubscribeDecision::Stream(_)) => Outcome::Proxy,
        other => outcome(&other),
    }
}

#[test]
fn b7_permission_matrix() {
    use Outcome::*;
    let cases: &[(&str, Caller<'_>, Outcome)] = &[
        // `$` channels need a token, whatever else the namespace allows.
        ("$secret", USER_42, Error(103)),
        ("$chat:room", USER_42, Error(103)),
        ("$public:room", ANON, Error(103)),
        // User-limited channels: only listed users.
        ("dialog:#42", USER_42, Ok),
        ("dialog:#42", USER_43, Error(103)),
        ("dialog:#42,43", USER_43, Ok),
        ("dialog:a#b#43", USER_43, Ok),
        ("dialog:#42", ANON, Error(103)),
        // Gyre decision: an empty user slot does not admit anonymous connections.
        ("dialog:#", ANON, Error(103)),
        ("dialog:#42,", ANON, Error(103)),
        // `#` without allow_user_limited_channels is an ordinary name.
        ("chat:#42", USER_43, Ok),
        ("chat:#42", ANON, Error(103)),
        // Namespaces and names.
        ("nope:room", USER_42, Error(102)),
        ("chat:ünïcode", USER_42, Error(107)),
        ("", USER_42, Error(102)),
        // allow_subscribe_for_client and anonymous access.
        ("chat:room", USER_42, Ok),
        ("chat:room", ANON, Error(103)),
        ("public:room", ANON, Ok),
        ("closed:room", USER_42, Error(103)),
        ("room", USER_42, Error(103)),
        // The namespace's subscribe proxy decides.
        ("proxied:room", USER_42, Proxy),
    ];
    for (channel, caller, expected) in cases {
        let got = decide(config(), *caller, &event(channel));
        assert_eq!(&got, expected, "channel {channel:?} user {:?}", caller.user);
    }
    let long = format!("chat:{}", "a".repeat(300));
    assert_eq!(decide(config(), USER_42, &event(&long)), Error(107));
}

#[test]
fn insecure_allows_everything_but_private_channels() {
    use Outcome::*;
    let mut c = config();
    c.client.insecure = true;
    for channel in ["closed:room", "room", "dialog:#42", "dialog:#42"] {
        assert_eq!(decide(c.clone(), ANON, &event(channel)), Ok, "{channel}");
    }
    assert_eq!(decide(c.clone(), ANON, &event("$room")), Error(103));
    assert_eq!(decide(c.clone(), USER_42, &event("nope:room")), Error(102));
    // The proxy rule comes before insecure in the order.
    assert_eq!(decide(c, USER_42, &event("proxied:room")), Proxy);
}

#[test]
fn b3_subscription_token_matrix() {
    use Outcome::*;
    let cases: &[(&str, Outcome)] = &[
        ("good", Ok),
        ("bound-client", Ok),
        ("wrong-channel", Disconnect(3500)),
        ("wrong-user", Disconnect(3500)),
        ("other-client", Disconnect(3500)),
        ("expired", Error(109)),
        ("invalid", Error(103)),
        ("connection-token", Error(103)),
        ("unknown-ns", Error(102)),
    ];
    for (token, expected) in cases {
        let got = decide(config(), USER_42, &with_token("$secret", token));
        assert_eq!(&got, expected, "token {token}");
    }
    // An anonymous subscription token only fits an anonymous connection.
    assert_eq!(
        decide(config(), USER_42, &with_token("$secret", "anonymous")),
        Disconnect(3500)
    );
    assert_eq!(decide(config(), ANON, &with_token("$secret", "anonymous")), Ok);
}

#[test]
fn token_decides_alone() {
    // `closed` allows nothing, the token still grants the subscription.
    let mut t = tokens();
    t.subscribe.insert(
        "closed".into(),
        Ok(SubscribeToken {
            expire_at: 1_900_000_000,
            info: Bytes::from_static(b"{\"role\":\"x\"}"),
            data: Bytes::from_static(b"{\"welcome\":1}"),
            override_: SubscribeOverride {
                presence: Some(true),
                force_recovery: Some(true),
                ..Default::default()
            },
            ..sub_token("closed:room", "42")
        }),
    );
    let reply = decide_subscribe(
        &snapshot(config()),
        &t,
        USER_42,
        &with_token("closed:room", "closed"),
    )
    .unwrap()
    .reply();
    let o = reply.options;
    assert_eq!(o.expire_at, 1_900_000_000);
    assert_eq!(o.channel_info, Bytes::from_static(b"{\"role\":\"x\"}"));
    assert_eq!(o.data, Bytes::from_static(b"{\"welcome\":1}"));
    assert!(o.emit_presence && o.enable_recovery);
    assert_eq!(o.source, SubscriptionSource::Client);
    assert!(reply.client_side_refresh);
    // A token on a non-private channel is still checked.
    assert_eq!(
        decide(config(), USER_42, &with_token("chat:room", "invalid")),
        Outcome::Error(103)
    );
    assert_eq!(
        decide(config(), USER_42, &with_token("chat:room", "good-chat")),
        Outcome::Ok
    );
}

#[test]
fn client_flags_need_permission() {
    let s = snapshot(config());
    let t = tokens();
    let wish = SubscribeEvent {
        positioned: true,
        recoverable: true,
        join_leave: true,
        ..event("chat:room")
    };
    // chat grants history and presence to subscribers, and the caller is about to be one.
    let o = decide_subscribe(&s, &t, USER_42, &wish).unwrap().reply().options;
    assert!(o.enable_positioning && o.enable_recovery && o.push_join_leave);
    assert!(o.emit_presence && o.emit_join_leave);

    // public grants nothing: the wishes are ignored, not refused.
    let o = decide_subscribe(
        &s,
        &t,
        ANON,
        &SubscribeEvent {
            channel: "public:room".into(),
            ..wish.clone()
        },
    )
    .unwrap()
    .reply()
    .options;
    assert!(!o.enable_positioning && !o.enable_recovery && !o.push_join_leave);

    // allow_positioning / allow_recovery grant the wish without history permission; join_leave
    // needs the namespace's join_leave as well as presence permission.
    let mut c = config();
    c.channel.namespaces[1].options.allow_positioning = true;
    c.channel.namespaces[1].options.allow_recovery = true;
    c.channel.namespaces[1].options.allow_presence_for_client = true;
    c.channel.namespaces[1].options.allow_presence_for_anonymous = true;
    let o = decide_subscribe(
        &snapshot(c),
        &t,
        ANON,
        &SubscribeEvent {
            channel: "public:room".into(),
            ..wish
        },
    )
    .unwrap()
    .reply()
    .options;
    assert!(o.enable_positioning && o.enable_recovery && !o.push_join_leave);
}

#[test]
fn namespace_options_reach_the_reply() {
    let mut c = config();
    let chat = &mut c.channel.namespaces[0].options;
    chat.force_positioning = true;
    chat.force_recovery = true;
    chat.force_recovery_mode = "cache".into();
    chat.auto_cache_recover = true;
    chat.force_push_join_leave = true;
    chat.allowed_delta_types = vec!["fossil".into()];
    chat.history_meta_ttl = gyre_config::Duration::from_secs(60);
    chat.sub_refresh_proxy_enabled = true;
    let reply = decide_subscribe(&snapshot(c), &tokens(), USER_42, &event("chat:room"))
        .unwrap()
        .reply();
    let o = &reply.options;
    assert!(o.enable_positioning && o.enable_recovery && o.push_join_leave);
    assert_eq!(o.recovery_mode, RecoveryMode::Cache);
    assert!(o.auto_cache_recover);
    assert_eq!(o.allowed_delta_types, vec![gyre_core::DeltaType::Fossil]);
    assert_eq!(o.history_meta_ttl, Some(std::time::Duration::from_secs(60)));
    assert_eq!(o.expire_at, 0);
    assert!(!reply.client_side_refresh);
}

#[test]
fn tags_filter_needs_namespace_permission() {
    let filtered = SubscribeEvent {
        tags_filter: Some(FilterNode::default()),
        ..event("chat:room")
    };
    assert_eq!(decide(config(), USER_42, &filtered), Outcome::Error(107));
    let mut c = config();
    c.channel.namespaces[0].options.allow_tags_filter = true;
    assert_eq!(decide(c, USER_42, &filtered), Outcome::Ok);
    // Permission comes first.
    let denied = SubscribeEvent {
        tags_filter: Some(FilterNode::default()),
        ..event("closed:room")
    };
    assert_eq!(decide(config(), USER_42, &denied), Outcome::Error(103));
}

#[test]
fn subscription_type_must_be_stream() {
    for (kind, expected) in [
        ("", Outcome::Ok),
        ("stream", Outcome::Ok),
        ("map", Outcome::Error(103)),
        ("shared_poll", Outcome::Error(103)),
    ] {
        let mut c = config();
        c.channel.namespaces[0].options.subscription_type = kind.into();
        assert_eq!(decide(c, USER_42, &event("chat:room")), expected, "{kind}");
    }
}

fn refresh(channel: &str, token: &str) -> SubRefreshEvent {
    SubRefreshEvent {
        client_side_refresh: true,
        channel: channel.into(),
        token: token.into(),
    }
}

#[test]
fn sub_refresh_matrix() {
    let s = snapshot(config());
    let mut t = tokens();
    t.subscribe.insert(
        "renewed".into(),
        Ok(SubscribeToken {
            expire_at: 1_900_000_000,
            info: Bytes::from_static(b"{}"),
            ..sub_token("$secret", "42")
        }),
    );
    let cases: &[(&str, Outcome)] = &[
        ("", Outcome::Error(107)),
        ("invalid", Outcome::Disconnect(3500)),
        ("wrong-channel", Outcome::Disconnect(3500)),
        ("wrong-user", Outcome::Disconnect(3500)),
        ("other-client", Outcome::Disconnect(3500)),
        ("unknown-ns", Outcome::Error(102)),
        ("expired", Outcome::Ok),
        ("renewed", Outcome::Ok),
    ];
    for (token, expected) in cases {
        let got = outcome(&decide_sub_refresh(&s, &t, USER_42, &refresh("$secret", token)));
        assert_eq!(&got, expected, "token {token:?}");
    }
    // Gyre decision: an expired token does not extend the subscription.
    let expired = decide_sub_refresh(&s, &t, USER_42, &refresh("$secret", "expired")).unwrap();
    assert!(expired.expired);
    let renewed = decide_sub_refresh(&s, &t, USER_42, &refresh("$secret", "renewed")).unwrap();
    assert!(!renewed.expired);
    assert_eq!(renewed.expire_at, 1_900_000_000);
    assert_eq!(renewed.info, Some(Bytes::from_static(b"{}")));
    let plain = decide_sub_refresh(&s, &t, USER_42, &refresh("$secret", "good")).unwrap();
    assert_eq!((plain.expire_at, plain.info), (0, None));
}
