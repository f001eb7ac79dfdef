//! Headers as the backend actually receives them.

mod common;

use std::collections::HashMap;

use common::{start, Reply};
use gyre_proxy::{CallContext, ConnectRequest};

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn header_precedence_on_the_wire() {
    let mut b = start(Reply::Json(200, "{}")).await;
    let p = b.proxy(|c| {
        c.static_headers = map(&[
            ("X-Static", "static"),
            ("X-Token", "static"),
            ("Content-Type", "text/plain"),
        ]);
        c.emulated_headers = vec!["X-Token".into(), "X-Emu-Only".into()];
        c.http_headers = vec!["x-token".into(), "User-Agent".into()];
    });
    let ctx = CallContext {
        headers: map(&[("x-token", "transport"), ("user-agent", "ua"), ("cookie", "c")]),
        emulated_headers: map(&[
            ("X-Token", "emulated"),
            ("x-emu-only", "e"),
            ("User-Agent", "forged"),
        ]),
        ..Default::default()
    };
    p.connect(&ConnectRequest::default(), &ctx).await.unwrap();
    let rec = b.next_request().await;
    let h = &rec.headers;
    assert_eq!(h["x-static"], "static");
    assert_eq!(h["x-token"], "transport");
    assert_eq!(h["x-emu-only"], "e");
    assert_eq!(h["user-agent"], "ua");
    assert!(h.get("cookie").is_none());
    let ct: Vec<_> = h.get_all("content-type").iter().collect();
    assert_eq!(ct, vec!["application/json"]);

    // Without the transport value the emulated one wins over the static one.
    let ctx = CallContext {
        headers: HashMap::new(),
        emulated_headers: map(&[("x-token", "emulated")]),
        ..Default::default()
    };
    p.connect(&ConnectRequest::default(), &ctx).await.unwrap();
    assert_eq!(b.next_request().await.headers["x-token"], "emulated");
}
