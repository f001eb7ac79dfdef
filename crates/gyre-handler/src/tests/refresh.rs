use std::collections::HashSet;

use bytes::Bytes;
use gyre_jwt::{ConnectToken, TokenError};

use super::*;
use crate::refresh::decide_refresh;
use crate::tokens::fake::FakeTokens;

fn tokens() -> FakeTokens {
    let mut t = FakeTokens::default();
    let user = |u: &str| ConnectToken {
        user_id: u.into(),
        ..Default::default()
    };
    t.connect.insert(
        "fresh".into(),
        Ok(ConnectToken {
            expire_at: 1_900_000_000,
            info: Bytes::from_static(b"{\"v\":2}"),
            channels: vec!["chat:a".into()],
            ..user("42")
        }),
    );
    t.connect.insert("no-channels".into(), Ok(user("42")));
    t.connect.insert(
        "more-channels".into(),
        Ok(ConnectToken {
            channels: vec!["chat:a".into(), "chat:b".into()],
            ..user("42")
        }),
    );
    t.connect.insert(
        "unknown-ns".into(),
        Ok(ConnectToken {
            channels: vec!["nope:a".into()],
            ..user("42")
        }),
    );
    t.connect.insert("other-user".into(), Ok(user("43")));
    t.connect.insert("expired".into(), Err(TokenError::Expired));
    t.connect
        .insert("invalid".into(), Err(TokenError::Invalid("bad".into())));
    t
}

/// Refresh of user 42 whose connect token subscribed `connect_channels`, with `live` being the
/// channels it is subscribed to now.
fn refresh(
    token: &str,
    live: &[&str],
    connect_channels: &[&str],
) -> Result<gyre_core::RefreshReply, HandlerError> {
    let live: HashSet<String> = live.iter().map(|s| s.to_string()).collect();
    let connect: Vec<String> = connect_channels.iter().map(|s| s.to_string()).collect();
    decide_refresh(
        &snapshot(config()),
        &tokens(),
        USER_42,
        token,
        &|c| live.contains(c),
        &connect,
    )
}

#[test]
fn refresh_matrix() {
    use Outcome::*;
    let a = &["chat:a"][..];
    let cases: &[(&str, &[&str], &[&str], Outcome)] = &[
        ("fresh", a, a, Ok),
        ("expired", a, a, Ok),
        ("invalid", a, a, Disconnect(3500)),
        ("other-user", &[], &[], Disconnect(3500)),
        ("unknown-ns", a, a, Error(102)),
        // A channel the token adds that the connection does not have.
        ("more-channels", a, a, Disconnect(3010)),
        // A connect-token channel the new token drops while still subscribed.
        ("no-channels", a, a, Disconnect(3010)),
        // Dropped channel the connection already left (server unsubscribe): no change.
        ("no-channels", &[], a, Ok),
        // Client-side subscriptions are not the token's business.
        ("no-channels", &["chat:client-side"], &[], Ok),
    ];
    for (token, live, connect, expected) in cases {
        assert_eq!(
            &outcome(&refresh(token, live, connect)),
            expected,
            "{token} live={live:?}"
        );
    }
}

#[test]
fn refresh_reply() {
    let reply = refresh("fresh", &["chat:a"], &["chat:a"]).unwrap();
    assert!(!reply.expired);
    assert_eq!(reply.expire_at, 1_900_000_000);
    assert_eq!(reply.info, Some(Bytes::from_static(b"{\"v\":2}")));
    let reply = refresh("no-channels", &[], &[]).unwrap();
    assert_eq!((reply.expire_at, reply.info), (0, None));
    assert!(refresh("expired", &[], &[]).unwrap().expired);
}
