//! Test harness: a real memory-engine node, a live config, the HTTP router driven by `oneshot`.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use gyre_api::{http_router, ApiObserver, Executor};
use gyre_config::{ChannelNamespace, ChannelOptions, Config, SharedConfig, Snapshot};
use gyre_core::{
    ClientHandler, ConnectingEvent, ConnectingReply, Credentials, HandlerError, Node, NodeConfig,
};
use serde_json::Value;
use std::sync::Mutex;
use tower::ServiceExt;

pub(crate) const KEY: &str = "secret-key";

/// Accepts every connection; the token is taken as the user id.
pub(crate) struct TokenIsUser;

#[async_trait]
impl ClientHandler for TokenIsUser {
    async fn on_connecting(&self, event: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        Ok(ConnectingReply {
            credentials: Credentials {
                user: event.token,
                ..Default::default()
            },
            ..Default::default()
        })
    }
}

/// Records what the API reports.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) commands: Mutex<Vec<(String, String)>>,
    pub(crate) errors: Mutex<Vec<(String, String, String)>>,
}

impl ApiObserver for Recorder {
    fn command(&self, protocol: &str, method: &str, _elapsed: Duration) {
        self.commands
            .lock()
            .unwrap()
            .push((protocol.into(), method.into()));
    }
    fn command_error(&self, protocol: &str, method: &str, error: &str) {
        self.errors
            .lock()
            .unwrap()
            .push((protocol.into(), method.into(), error.into()));
    }
}

impl Recorder {
    pub(crate) fn errors(&self) -> Vec<(String, String)> {
        self.errors
            .lock()
            .unwrap()
            .iter()
            .map(|(_, m, e)| (m.clone(), e.clone()))
            .collect()
    }
    pub(crate) fn methods(&self) -> Vec<String> {
        self.commands
            .lock()
            .unwrap()
            .iter()
            .map(|(_, m)| m.clone())
            .collect()
    }
}

fn namespace(name: &str, f: impl FnOnce(&mut ChannelOptions)) -> ChannelNamespace {
    let mut options = ChannelOptions::default();
    f(&mut options);
    ChannelNamespace {
        name: name.into(),
        options,
    }
}

/// The configuration every test starts from.
pub(crate) fn base_config() -> Config {
    let mut config = Config::default();
    config.http_api.key = KEY.into();
    config.channel.namespaces = vec![
        namespace("plain", |_| {}),
        namespace("hist", |o| {
            o.history_size = 10;
            o.history_ttl = gyre_config::Duration::from_secs(300);
            o.presence = true;
        }),
        namespace("sizeonly", |o| o.history_size = 10),
        namespace("pres", |o| o.presence = true),
        namespace("json", |o| o.publication_data_format = "json".into()),
        namespace("obj", |o| o.publication_data_format = "json_object".into()),
        namespace("bin", |o| o.publication_data_format = "binary".into()),
        namespace("map", |o| o.subscription_type = "map".into()),
        namespace("stream", |o| o.subscription_type = "stream".into()),
    ];
    config
}

pub(crate) struct Api {
    pub(crate) router: Router,
    pub(crate) node: Node,
    pub(crate) config: SharedConfig,
    pub(crate) recorder: Arc<Recorder>,
}

impl Api {
    pub(crate) fn new() -> Api {
        Api::with_config(base_config())
    }

    pub(crate) fn with_config(config: Config) -> Api {
        Api::with_handler(config, Arc::new(TokenIsUser))
    }

    pub(crate) fn with_handler(config: Config, handler: Arc<dyn ClientHandler>) -> Api {
        let node = Node::new(NodeConfig::default(), handler);
        let config: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config).unwrap()));
        let recorder = Arc::new(Recorder::default());
        let executor = Executor::new(node.clone(), config.clone());
        let router = http_router(executor, config.clone(), recorder.clone());
        Api {
            router,
            node,
            config,
            recorder,
        }
    }

    /// Swaps in a modified configuration (as a reload would).
    pub(crate) fn reconfigure(&self, f: impl FnOnce(&mut Config)) {
        let mut config = self.config.load().config.clone();
        f(&mut config);
        self.config.store(Arc::new(Snapshot::new(config).unwrap()));
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Response {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// POST with the right key in `X-API-Key`.
    pub(crate) async fn post(&self, path: &str, body: impl Into<String>) -> Response {
        self.send(
            Request::post(path)
                .header("x-api-key", KEY)
                .body(Body::from(body.into()))
                .unwrap(),
        )
        .await
    }

    /// Calls `/api/<method>` and returns the decoded JSON, asserting HTTP 200.
    pub(crate) async fn call(&self, method: &str, body: Value) -> Value {
        let response = self.post(&format!("/api/{method}"), body.to_string()).await;
        assert_eq!(response.status, StatusCode::OK, "body: {}", response.body);
        response.json()
    }

    /// The `result` of a successful call.
    pub(crate) async fn ok(&self, method: &str, body: Value) -> Value {
        let value = self.call(method, body).await;
        assert!(value.get("error").is_none(), "unexpected error: {value}");
        value["result"].clone()
    }

    /// The error code of a failed call.
    pub(crate) async fn code(&self, method: &str, body: Value) -> u64 {
        let value = self.call(method, body).await;
        assert!(value.get("result").is_none(), "unexpected result: {value}");
        value["error"]["code"].as_u64().unwrap()
    }
}

#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}
