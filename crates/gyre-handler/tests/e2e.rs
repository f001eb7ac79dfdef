//! The handler behind a real node, driven through gyre-core's in-memory connection with JWTs
//! signed by gyre-jwt.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use serde_json::{json, Value};

use gyre_config::{ChannelNamespace, ChannelOptions, Config, SharedConfig, Snapshot};
use gyre_core::testing::{self, TestConn};
use gyre_core::{Disconnect, Node, NodeConfig, ProtocolType};
use gyre_handler::Handler;

const SECRET: &str = "e2e-secret";
const WAIT: Duration = Duration::from_secs(5);

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn token(claims: Value) -> String {
    gyre_jwt::sign_hs256(SECRET.as_bytes(), &claims)
}

fn config() -> Config {
    let mut config = Config::default();
    config.client.token.hmac_secret_key = SECRET.into();
    let ns = |name: &str, options: ChannelOptions| ChannelNamespace {
        name: name.into(),
        options,
    };
    config.channel.namespaces = vec![
        ns(
            "chat",
            ChannelOptions {
                allow_subscribe_for_client: true,
                allow_publish_for_subscriber: true,
                presence: true,
                allow_presence_for_subscriber: true,
                ..Default::default()
            },
        ),
        ns(
            "dialog",
            ChannelOptions {
                allow_user_limited_channels: true,
                ..Default::default()
            },
        ),
        ns("closed", ChannelOptions::default()),
        ns(
            "personal",
            ChannelOptions {
                presence: true,
                ..Default::default()
            },
        ),
    ];
    config
}

struct Env {
    node: Node,
}

fn start(config: Config) -> Env {
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config).unwrap()));
    let handler = Arc::new(Handler::new(shared).unwrap());
    let node = Node::new(NodeConfig::default(), handler.clone());
    handler.set_node(node.clone());
    Env { node }
}

impl Env {
    fn conn(&self) -> TestConn {
        testing::connect(&self.node, testing::transport_info(ProtocolType::Json))
    }
}

/// The reply to command `id` (pushes in between are skipped).
async fn reply(conn: &mut TestConn, id: u64) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, conn.recv_json())
            .await
            .expect("no reply in time")
            .unwrap_or_else(|| panic!("connection closed before reply {id}"));
        if msg["id"].as_u64() == Some(id) {
            return msg;
        }
    }
}

async fn command(conn: &mut TestConn, id: u64, method: &str, body: Value) -> Value {
    let mut cmd = json!({ "id": id });
    cmd[method] = body;
    conn.send_json(&cmd.to_string());
    reply(conn, id).await
}

async fn closed(conn: &mut TestConn) -> Option<Disconnect> {
    tokio::time::timeout(WAIT, conn.closed())
        .await
        .expect("not closed in time")
}

fn error_code(reply: &Value) -> Option<u64> {
    reply["error"]["code"].as_u64()
}

async fn connect_as(env: &Env, user: &str) -> TestConn {
    let mut conn = env.conn();
    let jwt = token(json!({"sub": user, "exp": now() + 3600}));
    let r = command(&mut conn, 1, "connect", json!({ "token": jwt })).await;
    assert!(r.get("error").is_none(), "connect failed: {r}");
    conn
}

#[tokio::test]
async fn connect_with_jwt() {
    let env = start(config());
    let mut conn = env.conn();
    let jwt = token(json!({"sub": "42", "exp": now() + 3600, "info": {"name": "A"}}));
    let r = command(&mut conn, 1, "connect", json!({ "token": jwt })).await;
    assert!(r["connect"]["client"].is_string(), "{r}");
    assert_eq!(r["connect"]["expires"], true);

    let mut expired = env.conn();
    let jwt = token(json!({"sub": "42", "exp": now() - 10}));
    let r = command(&mut expired, 1, "connect", json!({ "token": jwt })).await;
    assert_eq!(error_code(&r), Some(109));

    let mut forged = env.conn();
    let jwt = gyre_jwt::sign_hs256(b"other-secret", &json!({"sub": "42"}));
    forged.send_json(&json!({"id": 1, "connect": {"token": jwt}}).to_string());
    assert_eq!(closed(&mut forged).await.map(|d| d.code), Some(3500));

    let mut anonymous = env.conn();
    anonymous.send_json(r#"{"id":1,"connect":{}}"#);
    assert_eq!(closed(&mut anonymous).await.map(|d| d.code), Some(3501));
}

#[tokio::test]
async fn subscribe_permissions() {
    let env = start(config());
    let mut conn = connect_as(&env, "42").await;
    let cases = [
        ("chat:room", None),
        ("closed:room", Some(103)),
        ("nope:room", Some(102)),
        ("$chat:secret", Some(103)),
        ("dialog:#42,43", None),
        ("dialog:#43", Some(103)),
    ];
    let mut id = 2;
    for (channel, expected) in cases {
        let r = command(&mut conn, id, "subscribe", json!({ "channel": channel })).await;
        assert_eq!(error_code(&r), expected, "{channel}: {r}");
        id += 1;
    }
    // Errors did not end the connection: publish to a subscribed channel still works.
    let r = command(
        &mut conn,
        id,
        "publish",
        json!({"channel": "chat:room", "data": {"x": 1}}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    let r = command(&mut conn, id + 1, "presence", json!({"channel": "chat:room"})).await;
    assert!(r["presence"]["presence"].is_object(), "{r}");
    let r = command(&mut conn, id + 2, "history", json!({"channel": "chat:room"})).await;
    assert_eq!(error_code(&r), Some(108));
}

#[tokio::test]
async fn private_channel_with_subscription_token() {
    let env = start(config());
    let mut conn = connect_as(&env, "42").await;
    let sub = token(json!({"sub": "42", "channel": "$chat:secret", "exp": now() + 3600}));
    let r = command(
        &mut conn,
        2,
        "subscribe",
        json!({"channel": "$chat:secret", "token": sub}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(r["subscribe"]["expires"], true);

    let expired = token(json!({"sub": "42", "channel": "$chat:other", "exp": now() - 10}));
    let r = command(
        &mut conn,
        3,
        "subscribe",
        json!({"channel": "$chat:other", "token": expired}),
    )
    .await;
    assert_eq!(error_code(&r), Some(109));

    // A token for another channel is a disconnect.
    let wrong = token(json!({"sub": "42", "channel": "$chat:secret"}));
    conn.send_json(&json!({"id": 4, "subscribe": {"channel": "$chat:else", "token": wrong}}).to_string());
    assert_eq!(closed(&mut conn).await.map(|d| d.code), Some(3500));
}

#[tokio::test]
async fn insecure_mode() {
    let mut c = config();
    c.client.insecure = true;
    let env = start(c);
    let mut conn = env.conn();
    let r = command(&mut conn, 1, "connect", json!({})).await;
    assert!(r["connect"]["client"].is_string(), "{r}");
    assert!(r["connect"].get("expires").is_none(), "{r}");
    for (id, channel) in [(2, "closed:room"), (3, "dialog:#42")] {
        let r = command(&mut conn, id, "subscribe", json!({ "channel": channel })).await;
        assert!(r.get("error").is_none(), "{channel}: {r}");
    }
    let r = command(&mut conn, 4, "subscribe", json!({"channel": "$private"})).await;
    assert_eq!(error_code(&r), Some(103));
    let r = command(&mut conn, 5, "subscribe", json!({"channel": "nope:x"})).await;
    assert_eq!(error_code(&r), Some(102));
}

#[tokio::test]
async fn token_channels_and_personal_channel() {
    let mut c = config();
    let personal = &mut c.client.subscribe_to_user_personal_channel;
    personal.enabled = true;
    personal.personal_channel_namespace = "personal".into();
    let env = start(c);
    let mut conn = env.conn();
    let jwt = token(json!({"sub": "42", "channels": ["closed:news"]}));
    let r = command(
        &mut conn,
        1,
        "connect",
        json!({"token": jwt, "subs": {"chat:asked": {}, "closed:asked": {}}}),
    )
    .await;
    let subs = r["connect"]["subs"]
        .as_object()
        .unwrap_or_else(|| panic!("no subs: {r}"));
    let mut channels: Vec<&str> = subs.keys().map(String::as_str).collect();
    channels.sort();
    assert_eq!(channels, ["chat:asked", "closed:news", "personal:#42"]);

    let mut bad = env.conn();
    let jwt = token(json!({"sub": "42", "channels": ["nope:x"]}));
    let r = command(&mut bad, 1, "connect", json!({ "token": jwt })).await;
    assert_eq!(error_code(&r), Some(102));
}

#[tokio::test]
async fn single_connection_evicts_older_connections() {
    let mut c = config();
    let personal = &mut c.client.subscribe_to_user_personal_channel;
    personal.enabled = true;
    personal.personal_channel_namespace = "personal".into();
    personal.single_connection = true;
    let env = start(c);
    let mut first = connect_as(&env, "42").await;
    let mut other_user = connect_as(&env, "43").await;
    let mut second = connect_as(&env, "42").await;
    assert_eq!(closed(&mut first).await.map(|d| d.code), Some(3504));
    // Only the same user's older connection goes.
    let r = command(&mut other_user, 2, "subscribe", json!({"channel": "chat:room"})).await;
    assert!(r.get("error").is_none(), "{r}");
    let r = command(&mut second, 2, "subscribe", json!({"channel": "chat:room"})).await;
    assert!(r.get("error").is_none(), "{r}");
}

#[tokio::test]
async fn rpc_ping_extension() {
    let mut c = config();
    c.rpc.ping.enabled = true;
    let env = start(c);
    let mut conn = connect_as(&env, "42").await;
    let r = command(&mut conn, 2, "rpc", json!({"method": "ping"})).await;
    assert!(r.get("error").is_none(), "{r}");
    let r = command(&mut conn, 3, "rpc", json!({"method": "other"})).await;
    assert_eq!(error_code(&r), Some(104));
}

#[tokio::test]
async fn refresh_and_sub_refresh() {
    let env = start(config());
    let mut conn = connect_as(&env, "42").await;
    let fresh = token(json!({"sub": "42", "exp": now() + 7200}));
    let r = command(&mut conn, 2, "refresh", json!({ "token": fresh })).await;
    assert_eq!(r["refresh"]["expires"], true, "{r}");

    let sub = token(json!({"sub": "42", "channel": "$chat:s", "exp": now() + 60}));
    let r = command(
        &mut conn,
        3,
        "subscribe",
        json!({"channel": "$chat:s", "token": sub}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    let renewed = token(json!({"sub": "42", "channel": "$chat:s", "exp": now() + 3600}));
    let r = command(
        &mut conn,
        4,
        "sub_refresh",
        json!({"channel": "$chat:s", "token": renewed}),
    )
    .await;
    assert_eq!(r["sub_refresh"]["expires"], true, "{r}");

    // Another user's token is a disconnect.
    let stolen = token(json!({"sub": "43", "exp": now() + 7200}));
    conn.send_json(&json!({"id": 5, "refresh": {"token": stolen}}).to_string());
    assert_eq!(closed(&mut conn).await.map(|d| d.code), Some(3500));
}

#[tokio::test]
async fn builds_without_token_keys() {
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(Config::default()).unwrap()));
    assert!(Handler::new(shared).is_ok());
}

#[tokio::test]
async fn reload_swaps_verifiers_and_keeps_them_on_error() {
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config()).unwrap()));
    let handler = Arc::new(Handler::new(shared.clone()).unwrap());
    let node = Node::new(NodeConfig::default(), handler.clone());
    handler.set_node(node.clone());
    let env = Env { node };
    let connects = |conn: &mut TestConn, jwt: String| {
        conn.send_json(&json!({"id": 1, "connect": {"token": jwt}}).to_string());
    };

    // A broken key: reload fails and the previous verifier stays.
    let mut broken = config();
    broken.client.token.rsa_public_key = "not a PEM".into();
    shared.store(Arc::new(Snapshot::new(broken).unwrap()));
    assert!(handler.reload().is_err());
    let mut conn = env.conn();
    connects(&mut conn, token(json!({"sub": "1"})));
    assert!(reply(&mut conn, 1).await.get("error").is_none());

    // A new secret: old tokens are refused, new ones accepted.
    let mut rotated = config();
    rotated.client.token.hmac_secret_key = "rotated".into();
    shared.store(Arc::new(Snapshot::new(rotated).unwrap()));
    handler.reload().unwrap();
    let mut old = env.conn();
    connects(&mut old, token(json!({"sub": "1"})));
    assert_eq!(closed(&mut old).await.map(|d| d.code), Some(3500));
    let mut new = env.conn();
    connects(&mut new, gyre_jwt::sign_hs256(b"rotated", &json!({"sub": "1"})));
    assert!(reply(&mut new, 1).await.get("error").is_none());
}

#[tokio::test]
async fn separate_subscription_token_keys() {
    let mut c = config();
    c.client.subscription_token.enabled = true;
    c.client.subscription_token.token.hmac_secret_key = "sub-secret".into();
    let env = start(c);
    let mut conn = connect_as(&env, "42").await;
    let claims = json!({"sub": "42", "channel": "$chat:s"});
    // Signed with the connection key: not valid for subscriptions any more.
    let r = command(
        &mut conn,
        2,
        "subscribe",
        json!({"channel": "$chat:s", "token": token(claims.clone())}),
    )
    .await;
    assert_eq!(error_code(&r), Some(103));
    let sub = gyre_jwt::sign_hs256(b"sub-secret", &claims);
    let r = command(
        &mut conn,
        3,
        "subscribe",
        json!({"channel": "$chat:s", "token": sub}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
}

#[tokio::test]
async fn refresh_with_changed_token_channels_reconnects() {
    let env = start(config());
    let connect = |channels: Value| token(json!({"sub": "42", "exp": now() + 3600, "channels": channels}));
    for (refreshed, expected) in [
        (json!(["chat:a"]), None),
        (json!(["chat:a", "chat:b"]), Some(3010)),
        (json!([]), Some(3010)),
    ] {
        let mut conn = env.conn();
        let r = command(
            &mut conn,
            1,
            "connect",
            json!({"token": connect(json!(["chat:a"]))}),
        )
        .await;
        assert!(r.get("error").is_none(), "{r}");
        conn.send_json(&json!({"id": 2, "refresh": {"token": connect(refreshed.clone())}}).to_string());
        match expected {
            None => assert_eq!(reply(&mut conn, 2).await["refresh"]["expires"], true),
            Some(code) => assert_eq!(closed(&mut conn).await.map(|d| d.code), Some(code), "{refreshed}"),
        }
    }
}
