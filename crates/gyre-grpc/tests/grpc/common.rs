//! Test harness: one memory-engine node with its live config, the HTTP API router (driven with
//! `oneshot`) and the GRPC API and uni GRPC servers on 127.0.0.1:0, all on the same executor.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use gyre_api::{ApiObserver, Executor};
use gyre_config::{ChannelNamespace, ChannelOptions, Config, SharedConfig, Snapshot};
use gyre_core::testing::{self, TestConn, TestHandler};
use gyre_core::{ClientHandler, Node, NodeConfig, ProtocolType};
use gyre_grpc::pb::centrifugo_api_client::CentrifugoApiClient;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tower::ServiceExt;

pub(crate) const HTTP_KEY: &str = "http-key";
pub(crate) const GRPC_KEY: &str = "grpc-key";
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// What the API reported, per protocol.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) errors: Mutex<Vec<(String, String, String)>>,
}

impl ApiObserver for Recorder {
    fn command_error(&self, protocol: &str, method: &str, error: &str) {
        self.errors
            .lock()
            .unwrap()
            .push((protocol.into(), method.into(), error.into()));
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

pub(crate) fn base_config() -> Config {
    let mut config = Config::default();
    config.http_api.key = HTTP_KEY.into();
    config.grpc_api.enabled = true;
    config.grpc_api.key = GRPC_KEY.into();
    config.uni_grpc.enabled = true;
    config.channel.namespaces = vec![
        namespace("plain", |_| {}),
        namespace("hist", |o| {
            o.history_size = 10;
            o.history_ttl = gyre_config::Duration::from_secs(300);
            o.presence = true;
        }),
        namespace("pres", |o| o.presence = true),
        namespace("json", |o| o.publication_data_format = "json".into()),
        namespace("bin", |o| o.publication_data_format = "binary".into()),
        namespace("map", |o| o.subscription_type = "map".into()),
    ];
    config
}

pub(crate) struct Harness {
    pub(crate) node: Node,
    pub(crate) recorder: Arc<Recorder>,
    router: axum::Router,
    pub(crate) api_addr: SocketAddr,
    pub(crate) uni_addr: SocketAddr,
    shutdown: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Harness::with(base_config(), NodeConfig::default()).await
    }

    pub(crate) async fn with(config: Config, node_config: NodeConfig) -> Harness {
        Harness::with_handler(config, node_config, Arc::new(TestHandler::default())).await
    }

    pub(crate) async fn with_handler(
        config: Config,
        node_config: NodeConfig,
        handler: Arc<dyn ClientHandler>,
    ) -> Harness {
        let node = Node::new(node_config, handler);
        let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config.clone()).unwrap()));
        let recorder = Arc::new(Recorder::default());
        let executor = Executor::new(node.clone(), shared.clone());
        let router = gyre_api::http_router(executor.clone(), shared.clone(), recorder.clone());
        let shutdown = CancellationToken::new();

        let api = gyre_grpc::api_server(&config.grpc_api, &executor, recorder.clone()).unwrap();
        let listener = bind().await;
        let api_addr = listener.local_addr().unwrap();
        tokio::spawn(api.serve(listener, shutdown.clone()));

        let uni = gyre_grpc::uni_server(&config.uni_grpc, node.clone(), shared).unwrap();
        let listener = bind().await;
        let uni_addr = listener.local_addr().unwrap();
        tokio::spawn(uni.serve(listener, shutdown.clone()));

        Harness {
            node,
            recorder,
            router,
            api_addr,
            uni_addr,
            shutdown,
        }
    }

    /// `POST /api/<method>`: the whole JSON response (`{"result":…}` or `{"error":…}`).
    pub(crate) async fn http(&self, method: &str, body: &Value) -> Value {
        let request = Request::post(format!("/api/{method}"))
            .header("x-api-key", HTTP_KEY)
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "HTTP {method} {body}");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A client without credentials.
    pub(crate) async fn client(&self) -> CentrifugoApiClient<Channel> {
        CentrifugoApiClient::connect(format!("http://{}", self.api_addr))
            .await
            .unwrap()
    }

    /// A request carrying the right key.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        with_auth(message, &format!("apikey {GRPC_KEY}"))
    }

    /// An in-memory JSON client connected as `user`; returns it with its client id.
    pub(crate) async fn connect(&self, user: &str) -> (TestConn, String) {
        let mut conn = testing::connect(&self.node, testing::transport_info(ProtocolType::Json));
        conn.send_json(&format!(r#"{{"id":1,"connect":{{"token":"{user}"}}}}"#));
        let reply = tokio::time::timeout(WAIT, conn.recv_json())
            .await
            .expect("connect reply")
            .expect("connection open");
        let client = reply["connect"]["client"].as_str().unwrap().to_owned();
        (conn, client)
    }
}

pub(crate) fn with_auth<T>(message: T, authorization: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    request
}
