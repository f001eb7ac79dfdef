//! Reply decoding, precedence, status transforms and keep-alive over a real backend.

mod common;

use std::sync::atomic::Ordering;

use common::{start, Reply};
use gyre_proxy::{
    BoolValue, CallContext, ConnectRequest, DisconnectReply, ErrorReply, Outcome, ProxyError, PublishRequest,
    RefreshRequest, StatusTransform, SubscribeRequest,
};

fn connect_req() -> ConnectRequest {
    ConnectRequest {
        client: "c1".into(),
        transport: "websocket".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn full_connect_result_decodes() {
    let body = r#"{"result":{"user":"42","expire_at":1700000000,"info":{"name":"Ann"},
        "b64data":"aGk=","channels":["news"],"meta":{"tier":"gold"},"unknown_key":1,
        "caps":[{"channels":["x"],"allow":["sub"]}],
        "subs":{"personal":{"info":{"i":1},"b64data":"AQI=","expire_at":5,"cache_recover":true,
        "override":{"presence":{"value":true},"join_leave":{},"force_recovery":{"value":false}}}}}}"#;
    let b = start(Reply::Json(200, body)).await;
    let p = b.proxy(|_| {});
    let out = p.connect(&connect_req(), &CallContext::default()).await.unwrap();
    let Outcome::Result(Some(r)) = out else {
        panic!("expected result, got {out:?}");
    };
    assert_eq!(r.user, "42");
    assert_eq!(r.expire_at, 1_700_000_000);
    assert_eq!(r.info.as_ref().unwrap().get(), r#"{"name":"Ann"}"#);
    assert_eq!(r.data_bytes().unwrap().unwrap(), b"hi");
    assert_eq!(r.channels, vec!["news".to_string()]);
    assert_eq!(r.meta.as_ref().unwrap().get(), r#"{"tier":"gold"}"#);
    let s = &r.subs["personal"];
    assert_eq!(s.info_bytes().unwrap().unwrap(), br#"{"i":1}"#);
    assert_eq!(s.data_bytes().unwrap().unwrap(), vec![1, 2]);
    assert_eq!(s.expire_at, 5);
    assert!(s.cache_recover);
    let o = s.r#override.as_ref().unwrap();
    assert_eq!(o.presence, Some(BoolValue { value: true }));
    // `{}` is a present override with value false; an absent key is no override.
    assert_eq!(o.join_leave, Some(BoolValue { value: false }));
    assert_eq!(o.force_recovery, Some(BoolValue { value: false }));
    assert_eq!(o.force_positioning, None);
    assert_eq!(o.force_push_join_leave, None);
}

#[tokio::test]
async fn disconnect_beats_error_beats_result() {
    let all = r#"{"result":{"user":"1"},"error":{"code":1000,"message":"m","temporary":true},
                  "disconnect":{"code":4500,"reason":"bye"}}"#;
    let b = start(Reply::Json(200, all)).await;
    let out = b
        .proxy(|_| {})
        .connect(&connect_req(), &CallContext::default())
        .await;
    assert!(
        matches!(out, Ok(Outcome::Disconnect { code: 4500, ref reason }) if reason == "bye"),
        "{out:?}"
    );

    let two = r#"{"result":{"user":"1"},"error":{"code":1000,"message":"m","temporary":true}}"#;
    let b = start(Reply::Json(200, two)).await;
    let out = b
        .proxy(|_| {})
        .connect(&connect_req(), &CallContext::default())
        .await;
    assert!(
        matches!(out, Ok(Outcome::Error { code: 1000, ref message, temporary: true }) if message == "m"),
        "{out:?}"
    );
}

#[tokio::test]
async fn absent_or_null_result_is_none() {
    for body in ["{}", "null", r#"{"result":null,"error":null}"#] {
        let b = start(Reply::Json(200, body)).await;
        let out = b
            .proxy(|_| {})
            .refresh(&RefreshRequest::default(), &CallContext::default())
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Result(None)), "{body}: {out:?}");
    }
    // An empty result object is a present (default) result: subscribe allowed as is.
    let b = start(Reply::Json(200, r#"{"result":{}}"#)).await;
    let out = b
        .proxy(|_| {})
        .subscribe(&SubscribeRequest::default(), &CallContext::default())
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Result(Some(_))));
}

#[tokio::test]
async fn publish_result_fields() {
    let body = r#"{"result":{"data":{"x":1},"b64data":"AA==","skip_history":true,
        "tags":{"k":"v"},"idempotency_key":"ik","delta":true,"version":7,"version_epoch":"e"}}"#;
    let b = start(Reply::Json(200, body)).await;
    let out = b
        .proxy(|_| {})
        .publish(&PublishRequest::default(), &CallContext::default())
        .await
        .unwrap();
    let Outcome::Result(Some(r)) = out else {
        panic!("{out:?}")
    };
    // The publish handler prefers raw data over b64data.
    assert_eq!(r.data_bytes().unwrap().unwrap(), br#"{"x":1}"#);
    assert!(r.skip_history && r.delta);
    assert_eq!(r.tags["k"], "v");
    assert_eq!(r.idempotency_key, "ik");
    assert_eq!(r.version, 7);
    assert_eq!(r.version_epoch, "e");
}

#[tokio::test]
async fn status_500_is_error_and_transforms_apply() {
    let b = start(Reply::Json(500, "{}")).await;
    let err = b
        .proxy(|_| {})
        .connect(&connect_req(), &CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Status(500)), "{err:?}");

    let transforms = vec![
        StatusTransform {
            status_code: 403,
            to_error: Some(ErrorReply {
                code: 403,
                message: "forbidden".into(),
                temporary: false,
            }),
            to_disconnect: None,
        },
        StatusTransform {
            status_code: 401,
            to_error: Some(ErrorReply::default()),
            to_disconnect: Some(DisconnectReply {
                code: 4501,
                reason: "unauthorized".into(),
            }),
        },
    ];
    let b403 = start(Reply::Json(403, "")).await;
    let p = b403.proxy(|c| c.status_to_code_transforms = transforms.clone());
    let out = p.connect(&connect_req(), &CallContext::default()).await;
    assert!(
        matches!(out, Ok(Outcome::Error { code: 403, ref message, temporary: false }) if message == "forbidden"),
        "{out:?}"
    );
    // A zero-code to_error is skipped in favour of to_disconnect, as in Centrifugo.
    let b401 = start(Reply::Json(401, "")).await;
    let p = b401.proxy(|c| c.status_to_code_transforms = transforms.clone());
    let out = p.connect(&connect_req(), &CallContext::default()).await;
    assert!(
        matches!(out, Ok(Outcome::Disconnect { code: 4501, ref reason }) if reason == "unauthorized"),
        "{out:?}"
    );
    // An unmapped status still fails.
    let b404 = start(Reply::Json(404, "")).await;
    let p = b404.proxy(|c| c.status_to_code_transforms = transforms);
    assert!(matches!(
        p.connect(&connect_req(), &CallContext::default()).await,
        Err(ProxyError::Status(404))
    ));
}

#[tokio::test]
async fn undecodable_json_is_decode_error() {
    for body in ["", "not json", r#"{"result":{"user":5}}"#, "{} trailing"] {
        let b = start(Reply::Json(200, body)).await;
        let err = b
            .proxy(|_| {})
            .connect(&connect_req(), &CallContext::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ProxyError::Decode(_)), "{body:?}: {err:?}");
    }
}

#[tokio::test]
async fn calls_reuse_one_connection() {
    let mut b = start(Reply::Json(200, "{}")).await;
    let p = b.proxy(|_| {});
    for _ in 0..3 {
        p.connect(&connect_req(), &CallContext::default()).await.unwrap();
        b.next_request().await;
    }
    assert_eq!(b.connections.load(Ordering::SeqCst), 1);
}
