use std::time::Duration;

use super::*;
use crate::channel_ops::{decide_history, decide_presence, decide_publish, PublishDecision};

fn publish(config: Config, caller: Caller<'_>, subscribed: bool, channel: &str, data: &[u8]) -> Outcome {
    match decide_publish(&snapshot(config), caller, subscribed, channel, data) {
        Ok(PublishDecision::Proxy(_) | PublishDecision::Stream) => Outcome::Proxy,
        other => outcome(&other),
    }
}

#[test]
fn publish_order_and_permissions() {
    use Outcome::*;
    // chat: publish for subscribers only.
    assert_eq!(publish(config(), USER_42, true, "chat:room", b"{}"), Ok);
    assert_eq!(publish(config(), USER_42, false, "chat:room", b"{}"), Error(103));
    assert_eq!(publish(config(), ANON, true, "chat:room", b"{}"), Error(103));
    // Data format is checked before permissions (empty data is refused by default).
    assert_eq!(publish(config(), USER_42, false, "chat:room", b""), Error(107));
    assert_eq!(publish(config(), USER_42, true, "nope:room", b"{}"), Error(102));
    assert_eq!(
        publish(config(), USER_42, true, "chat:ünïcode", b"{}"),
        Error(107)
    );
    // The publish proxy decides instead of the permission ladder (after the data format).
    assert_eq!(publish(config(), USER_42, true, "proxied:room", b"{}"), Proxy);
    assert_eq!(publish(config(), ANON, false, "proxied:room", b"{}"), Proxy);

    let mut c = config();
    c.channel.namespaces[1].options.allow_publish_for_client = true;
    assert_eq!(publish(c.clone(), USER_42, false, "public:room", b"x"), Ok);
    assert_eq!(publish(c.clone(), ANON, false, "public:room", b"x"), Error(103));
    c.channel.namespaces[1].options.allow_publish_for_anonymous = true;
    assert_eq!(publish(c, ANON, false, "public:room", b"x"), Ok);

    let mut insecure = config();
    insecure.client.insecure = true;
    assert_eq!(publish(insecure.clone(), ANON, false, "closed:room", b"x"), Ok);
    assert_eq!(publish(insecure, ANON, false, "closed:room", b""), Error(107));

    let mut json = config();
    json.channel.publication_data_format = "json_object".into();
    assert_eq!(
        publish(json.clone(), USER_42, true, "chat:room", b"[1]"),
        Error(107)
    );
    assert_eq!(publish(json, USER_42, true, "chat:room", b"{\"a\":1}"), Ok);
}

#[test]
fn publish_options_from_namespace() {
    let mut c = config();
    c.channel.namespaces[0].options.delta_publish = true;
    let reply = decide_publish(&snapshot(c), USER_42, true, "chat:room", b"{}")
        .unwrap()
        .reply();
    assert_eq!(reply.options.history_size, 10);
    assert_eq!(reply.options.history_ttl, Duration::from_secs(300));
    assert!(reply.options.delta);
    assert!(reply.data.is_none() && reply.result.is_none());
}

#[test]
fn history_and_presence_matrix() {
    use Outcome::*;
    let s = snapshot(config());
    // chat: enabled, allowed for subscribers.
    assert_eq!(outcome(&decide_history(&s, USER_42, true, "chat:room")), Ok);
    assert_eq!(
        outcome(&decide_history(&s, USER_42, false, "chat:room")),
        Error(103)
    );
    assert_eq!(outcome(&decide_history(&s, ANON, true, "chat:room")), Error(103));
    assert_eq!(outcome(&decide_presence(&s, USER_42, true, "chat:room")), Ok);
    assert_eq!(
        outcome(&decide_presence(&s, USER_42, false, "chat:room")),
        Error(103)
    );
    // Not enabled: 108 before permissions.
    assert_eq!(
        outcome(&decide_history(&s, USER_42, true, "public:room")),
        Error(108)
    );
    assert_eq!(
        outcome(&decide_presence(&s, USER_42, true, "public:room")),
        Error(108)
    );
    assert_eq!(
        outcome(&decide_history(&s, USER_42, true, "nope:room")),
        Error(102)
    );
    assert_eq!(
        outcome(&decide_presence(&s, USER_42, true, "nope:room")),
        Error(102)
    );

    // History needs both size and ttl.
    let mut c = config();
    c.channel.namespaces[0].options.history_ttl = gyre_config::Duration::ZERO;
    assert_eq!(
        outcome(&decide_history(&snapshot(c), USER_42, true, "chat:room")),
        Error(108)
    );

    let mut insecure = config();
    insecure.client.insecure = true;
    let s = snapshot(insecure);
    assert_eq!(outcome(&decide_history(&s, ANON, false, "chat:room")), Ok);
    assert_eq!(outcome(&decide_presence(&s, ANON, false, "chat:room")), Ok);
    assert_eq!(
        outcome(&decide_presence(&s, ANON, false, "public:room")),
        Error(108)
    );
}

#[test]
fn subscribe_stream_namespaces_take_publications_only_when_bidirectional() {
    let mut cfg = config();
    for (name, bidirectional) in [("uni", false), ("bidi", true)] {
        cfg.channel.namespaces.push(gyre_config::ChannelNamespace {
            name: name.into(),
            options: gyre_config::ChannelOptions {
                subscribe_stream_proxy_enabled: true,
                subscribe_stream_proxy_bidirectional: bidirectional,
                ..Default::default()
            },
        });
    }
    // No permission ladder either way: the stream decides, or there is nothing to publish to.
    assert_eq!(
        publish(cfg.clone(), ANON, false, "uni:x", b"{}"),
        Outcome::Error(108)
    );
    assert_eq!(publish(cfg.clone(), ANON, false, "bidi:x", b"{}"), Outcome::Proxy);
    // The data format check still comes first.
    assert_eq!(publish(cfg, USER_42, true, "bidi:x", b""), Outcome::Error(107));
}
