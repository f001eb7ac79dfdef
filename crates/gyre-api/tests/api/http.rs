//! The HTTP perimeter: auth, methods, paths, body and decode errors, error modes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::common::{Api, KEY};

fn publish(headers: &[(&str, &str)], uri: &str) -> Request<Body> {
    let mut builder = Request::post(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(Body::from(r#"{"channel":"plain:a","data":{}}"#))
        .unwrap()
}

#[tokio::test]
async fn empty_configured_key_refuses_everything() {
    let mut config = crate::common::base_config();
    config.http_api.key = String::new();
    let api = Api::with_config(config);
    for request in [
        publish(&[("x-api-key", "")], "/api/publish"),
        publish(&[("authorization", "apikey ")], "/api/publish"),
        publish(&[], "/api/publish?api_key="),
        publish(&[("x-api-key", KEY)], "/api/publish"),
        publish(&[("x-api-key", KEY)], "/api"),
    ] {
        let response = api.send(request).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.body, "");
    }
}

#[tokio::test]
async fn key_sources_and_failures() {
    let api = Api::new();
    let ok: &[(&[(&str, &str)], &str)] = &[
        (&[("x-api-key", KEY)], "/api/publish"),
        (&[("authorization", &format!("apikey {KEY}"))], "/api/publish"),
        (&[("authorization", &format!("APIKEY {KEY}"))], "/api/publish"),
        (&[], &format!("/api/publish?api_key={KEY}")),
        (&[("x-api-key", "wrong")], &format!("/api/publish?api_key={KEY}")),
    ];
    for (headers, uri) in ok {
        let response = api.send(publish(headers, uri)).await;
        assert_eq!(response.status, StatusCode::OK, "{headers:?} {uri}");
        assert_eq!(response.json(), json!({"result": {}}));
    }
    let bad: &[(&[(&str, &str)], &str)] = &[
        (&[], "/api/publish"),
        (&[("x-api-key", "wrong")], "/api/publish"),
        (&[("x-api-key", &KEY[..KEY.len() - 1])], "/api/publish"),
        (&[("authorization", &format!("bearer {KEY}"))], "/api/publish"),
        (
            &[("authorization", &format!("apikey {KEY} extra"))],
            "/api/publish",
        ),
        (&[("authorization", KEY)], "/api/publish"),
        (
            &[
                ("x-api-key", "wrong"),
                ("authorization", &format!("apikey {KEY}")),
            ],
            "/api/publish",
        ),
        (&[], "/api/publish?api_key=wrong"),
        (&[], "/api/publish?apikey=secret-key"),
    ];
    for (headers, uri) in bad {
        let response = api.send(publish(headers, uri)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{headers:?} {uri}");
        assert_eq!(response.body, "");
    }
}

#[tokio::test]
async fn insecure_skips_the_key() {
    let mut config = crate::common::base_config();
    config.http_api.key = String::new();
    config.http_api.insecure = true;
    let api = Api::with_config(config);
    let response = api.send(publish(&[], "/api/publish")).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn key_is_read_live() {
    let api = Api::new();
    api.reconfigure(|c| c.http_api.key = "rotated".into());
    let response = api.send(publish(&[("x-api-key", KEY)], "/api/publish")).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    let response = api
        .send(publish(&[("x-api-key", "rotated")], "/api/publish"))
        .await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_method_is_405_before_auth() {
    let api = Api::new();
    for method in ["GET", "PUT", "DELETE"] {
        for path in ["/api/publish", "/api", "/api/batch"] {
            let response = api
                .send(
                    Request::builder()
                        .method(method)
                        .uri(path)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(response.body, "");
        }
    }
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let api = Api::new();
    for path in [
        "/api/nope",
        "/api/map_publish",
        "/api/shared_poll_publish",
        "/api/connections",
        "/api/publish/",
        "/api/",
    ] {
        let response = api.post(path, "{}").await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn bad_bodies_are_400() {
    let api = Api::new();
    for body in ["", "{", "[]", r#"{"channel": 5}"#, "{}{}", r#"{"limit":"1"}"#] {
        let response = api.post("/api/history", body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(response.body, "Bad Request\n");
        assert!(response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
    }
    // Even info needs a body.
    assert_eq!(api.post("/api/info", "").await.status, StatusCode::BAD_REQUEST);
    assert!(api
        .recorder
        .errors()
        .contains(&("history".into(), "unmarshal".into())));
}

#[tokio::test]
async fn null_body_is_an_empty_request() {
    let api = Api::new();
    let response = api.post("/api/publish", "null").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["error"]["code"], 107);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let api = Api::new();
    let big = format!(
        r#"{{"channel":"plain:a","data":"{}"}}"#,
        "x".repeat(gyre_api::MAX_BODY_SIZE)
    );
    let response = api.post("/api/publish", big).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_keys_ignored_and_nulls_are_zero() {
    let api = Api::new();
    let result = api
        .ok(
            "publish",
            json!({"channel": "hist:nulls", "data": {"a": 1}, "whatever": [1, {"x": 2}],
                   "tags": null, "idempotency_key": null, "skip_history": null, "Channel": "ignored"}),
        )
        .await;
    assert_eq!(result["offset"], 1);
}

#[tokio::test]
async fn transport_error_mode_by_header() {
    let api = Api::new();
    let cases = [
        ("publish", json!({"channel": ""}), 400, 107),
        ("publish", json!({"channel": "nope:x", "data": 1}), 404, 102),
        ("presence", json!({"channel": "plain:x"}), 400, 108),
        ("rpc", json!({"method": "x"}), 404, 104),
        ("broadcast", json!({"channels": []}), 400, 107),
    ];
    for (method, body, status, code) in cases {
        let response = api
            .send(
                Request::post(format!("/api/{method}"))
                    .header("x-api-key", KEY)
                    .header("x-centrifugo-error-mode", "transport")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status.as_u16(), status, "{method}");
        assert_eq!(response.json()["code"], code, "{method}: {}", response.body);
        assert!(response.json().get("error").is_none());
    }
    // Other header values keep the default mode.
    let response = api
        .send(
            Request::post("/api/publish")
                .header("x-api-key", KEY)
                .header("x-centrifugo-error-mode", "Transport")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["error"]["code"], 107);
}

#[tokio::test]
async fn transport_error_mode_by_config() {
    let api = Api::new();
    api.reconfigure(|c| c.http_api.error_mode = "transport".into());
    let response = api.post("/api/history", r#"{"channel":"plain:x"}"#).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({"code": 108, "message": "not available"}));
    // Success is unchanged.
    let response = api
        .post("/api/publish", r#"{"channel":"plain:x","data":1}"#)
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"result": {}}));
    // Per-channel broadcast errors stay in the body.
    let response = api
        .post("/api/broadcast", r#"{"channels":["plain:x","nope:x"],"data":1}"#)
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["result"]["responses"][1]["error"]["code"], 102);
    // A batch never uses transport errors.
    let response = api
        .post("/api/batch", r#"{"commands":[{"publish":{"channel":""}}]}"#)
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["replies"][0]["error"]["code"], 107);
}

#[tokio::test]
async fn custom_prefix() {
    let mut config = crate::common::base_config();
    config.http_api.handler_prefix = "/custom/".into();
    let api = Api::with_config(config);
    let response = api
        .post("/custom/publish", r#"{"channel":"plain:x","data":1}"#)
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let response = api.post("/custom", r#"{"method":"info","params":{}}"#).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(api.post("/api/publish", "{}").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn observer_sees_commands_and_errors() {
    let api = Api::new();
    api.ok("publish", json!({"channel": "plain:x", "data": 1})).await;
    api.code("publish", json!({"channel": "nope:x", "data": 1})).await;
    api.ok("broadcast", json!({"channels": ["plain:x", ""], "data": 1}))
        .await;
    assert_eq!(api.recorder.methods(), ["publish", "publish", "broadcast"]);
    assert!(api
        .recorder
        .commands
        .lock()
        .unwrap()
        .iter()
        .all(|(p, _)| p == "http"));
    assert_eq!(
        api.recorder.errors(),
        [
            ("publish".to_string(), "102".to_string()),
            ("broadcast_publish".to_string(), "107".to_string())
        ]
    );
}
