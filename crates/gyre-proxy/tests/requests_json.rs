//! The JSON each event sends, compared with what Centrifugo's Go encoder produces for the same
//! proxy.proto message (snake_case, empty fields omitted, `user` always present).

mod common;

use common::{start, Backend, Reply};
use gyre_proxy::{
    encode_data, CallContext, ConnectRequest, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest,
    SubscribeRequest,
};
use serde_json::json;
use serde_json::value::RawValue;

fn raw(s: &str) -> Box<RawValue> {
    RawValue::from_string(s.to_owned()).unwrap()
}

async fn backend() -> Backend {
    start(Reply::Json(200, "{}")).await
}

#[tokio::test]
async fn connect_request_shape() {
    let mut b = backend().await;
    let p = b.proxy(|_| {});
    let wire = encode_data(br#"{"token":"x"}"#, false).unwrap();
    let req = ConnectRequest {
        client: "c1".into(),
        transport: "websocket".into(),
        protocol: "json".into(),
        encoding: p.config().encoding().into(),
        data: wire.data,
        b64data: wire.b64data,
        name: "centrifuge-js".into(),
        version: "5.0.0".into(),
        channels: vec!["news".into()],
    };
    p.connect(&req, &CallContext::default()).await.unwrap();
    let rec = b.next_request().await;
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.path, "/proxy");
    assert_eq!(
        Backend::body_json(&rec),
        json!({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",
               "data":{"token":"x"},"name":"centrifuge-js","version":"5.0.0","channels":["news"]})
    );
    // Client JSON goes out byte-for-byte, not re-encoded.
    assert!(String::from_utf8(rec.body)
        .unwrap()
        .contains(r#""data":{"token":"x"}"#));
}

#[tokio::test]
async fn connect_minimal_omits_empty_fields() {
    let mut b = backend().await;
    let p = b.proxy(|_| {});
    let req = ConnectRequest {
        client: "c1".into(),
        transport: "websocket".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        ..Default::default()
    };
    p.connect(&req, &CallContext::default()).await.unwrap();
    let rec = b.next_request().await;
    assert_eq!(
        Backend::body_json(&rec),
        json!({"client":"c1","transport":"websocket","protocol":"json","encoding":"json"})
    );
}

#[tokio::test]
async fn binary_encoding_sends_b64data() {
    let mut b = backend().await;
    let p = b.proxy(|c| c.binary_encoding = true);
    let wire = encode_data(&[0xde, 0xad, 0xbe, 0xef], p.config().binary_encoding).unwrap();
    let req = PublishRequest {
        client: "c1".into(),
        transport: "websocket".into(),
        protocol: "protobuf".into(),
        encoding: p.config().encoding().into(),
        user: "42".into(),
        channel: "chat".into(),
        data: wire.data,
        b64data: wire.b64data,
        meta: None,
    };
    p.publish(&req, &CallContext::default()).await.unwrap();
    let rec = b.next_request().await;
    assert_eq!(
        Backend::body_json(&rec),
        json!({"client":"c1","transport":"websocket","protocol":"protobuf","encoding":"binary",
               "user":"42","channel":"chat","b64data":"3q2+7w=="})
    );
}

#[tokio::test]
async fn refresh_keeps_empty_user_and_meta_only_when_enabled() {
    let mut b = backend().await;
    let with_meta = b.proxy(|c| c.include_connection_meta = true);
    let meta = raw(r#"{"plan":"pro"}"#);
    let req = RefreshRequest {
        client: "c1".into(),
        transport: "sse".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        user: String::new(),
        meta: with_meta.config().request_meta(Some(&meta)),
    };
    with_meta.refresh(&req, &CallContext::default()).await.unwrap();
    assert_eq!(
        Backend::body_json(&b.next_request().await),
        json!({"client":"c1","transport":"sse","protocol":"json","encoding":"json",
               "user":"","meta":{"plan":"pro"}})
    );

    let without = b.proxy(|_| {});
    let req = RefreshRequest {
        meta: without.config().request_meta(Some(&meta)),
        ..req
    };
    without.refresh(&req, &CallContext::default()).await.unwrap();
    assert_eq!(
        Backend::body_json(&b.next_request().await),
        json!({"client":"c1","transport":"sse","protocol":"json","encoding":"json","user":""})
    );
}

#[tokio::test]
async fn subscribe_rpc_sub_refresh_shapes() {
    let mut b = backend().await;
    let p = b.proxy(|_| {});
    let ctx = CallContext::default();

    let sub = SubscribeRequest {
        client: "c1".into(),
        transport: "websocket".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        user: "u".into(),
        channel: "ns:room".into(),
        token: String::new(),
        meta: Some(raw(r#"{"m":1}"#)),
        data: Some(raw("[1,2]")),
        b64data: String::new(),
    };
    p.subscribe(&sub, &ctx).await.unwrap();
    assert_eq!(
        Backend::body_json(&b.next_request().await),
        json!({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",
               "user":"u","channel":"ns:room","meta":{"m":1},"data":[1,2]})
    );

    let rpc = RPCRequest {
        client: "c1".into(),
        transport: "websocket".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        user: String::new(),
        method: "getCurrentYear".into(),
        data: Some(raw("{}")),
        b64data: String::new(),
        meta: None,
    };
    p.rpc(&rpc, &ctx).await.unwrap();
    assert_eq!(
        Backend::body_json(&b.next_request().await),
        json!({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",
               "user":"","method":"getCurrentYear","data":{}})
    );

    let sr = SubRefreshRequest {
        client: "c1".into(),
        transport: "uni_sse".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        user: "u".into(),
        channel: "news".into(),
        meta: None,
    };
    p.sub_refresh(&sr, &ctx).await.unwrap();
    assert_eq!(
        Backend::body_json(&b.next_request().await),
        json!({"client":"c1","transport":"uni_sse","protocol":"json","encoding":"json",
               "user":"u","channel":"news"})
    );
}
