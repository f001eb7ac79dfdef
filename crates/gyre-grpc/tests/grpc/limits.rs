//! `max_receive_message_size` on both servers: refused with grpc-go's status, the server keeps
//! serving.

use bytes::Bytes;
use gyre_core::NodeConfig;
use gyre_grpc::pb;
use gyre_grpc::unistream;
use gyre_grpc::unistream::centrifugo_uni_stream_client::CentrifugoUniStreamClient;
use tonic::Code;

use crate::common::{base_config, Harness};

const LIMIT: usize = 1024;

fn publish(size: usize) -> pb::PublishRequest {
    pb::PublishRequest {
        channel: "plain:x".into(),
        data: Bytes::from(format!("\"{}\"", "a".repeat(size))),
        ..Default::default()
    }
}

#[tokio::test]
async fn api_message_over_the_limit_is_resource_exhausted() {
    let mut config = base_config();
    config.grpc_api.max_receive_message_size = LIMIT as i64;
    let h = Harness::with(config, NodeConfig::default()).await;
    let mut client = h.client().await;
    let status = client.publish(h.request(publish(2 * LIMIT))).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status
            .message()
            .starts_with("grpc: received message larger than max ("),
        "{}",
        status.message()
    );
    assert!(
        status.message().ends_with(&format!(" vs. {LIMIT})")),
        "{}",
        status.message()
    );
    let ok = client
        .publish(h.request(publish(LIMIT / 2)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.result, Some(pb::PublishResult::default()));
}

#[tokio::test]
async fn default_limit_is_four_mebibytes() {
    let h = Harness::start().await;
    let mut client = h.client().await;
    let status = client
        .publish(h.request(publish(4 * 1024 * 1024 + 1)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    let ok = client
        .publish(h.request(publish(3 * 1024 * 1024)))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.error.is_none());
}

#[tokio::test]
async fn uni_connect_request_over_the_limit_is_resource_exhausted() {
    let mut config = base_config();
    config.uni_grpc.max_receive_message_size = LIMIT as i64;
    let h = Harness::with(config, NodeConfig::default()).await;
    let mut client = CentrifugoUniStreamClient::connect(format!("http://{}", h.uni_addr))
        .await
        .unwrap();
    let status = client
        .consume(unistream::ConnectRequest {
            token: "u".repeat(2 * LIMIT),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(h.node.info().num_clients, 0);
    let mut stream = client
        .consume(unistream::ConnectRequest {
            token: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let push = stream.message().await.unwrap().unwrap();
    assert!(push.connect.is_some(), "{push:?}");
}
