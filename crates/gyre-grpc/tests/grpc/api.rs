//! Authentication, unimplemented RPCs, transport error mode and reflection.

use gyre_core::NodeConfig;
use gyre_grpc::pb;
use prost::Message as _;
use tonic::Code;

use crate::common::{base_config, with_auth, Harness, GRPC_KEY};

fn publish(channel: &str) -> pb::PublishRequest {
    pb::PublishRequest {
        channel: channel.into(),
        data: bytes::Bytes::from_static(b"{}"),
        ..Default::default()
    }
}

#[tokio::test]
async fn missing_or_wrong_key_is_unauthenticated() {
    let h = Harness::start().await;
    let mut client = h.client().await;
    let missing = client.publish(publish("plain:x")).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert_eq!(missing.message(), "unauthenticated");
    for wrong in [
        format!("apikey {GRPC_KEY}x"),
        format!("Apikey {GRPC_KEY}"),
        format!("bearer {GRPC_KEY}"),
        GRPC_KEY.to_owned(),
        "apikey http-key".to_owned(),
    ] {
        let status = client
            .publish(with_auth(publish("plain:x"), &wrong))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{wrong}");
    }
    // Every RPC of the service is behind the key, implemented or not.
    let status = client.batch(pb::BatchRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .connections(pb::ConnectionsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // Nothing was published by the refused calls.
    let ok = client
        .info(h.request(pb::InfoRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.error.is_none());
}

#[tokio::test]
async fn no_key_configured_means_no_auth() {
    let mut config = base_config();
    config.grpc_api.key = String::new();
    let h = Harness::with(config, NodeConfig::default()).await;
    let mut client = h.client().await;
    let response = client.publish(publish("plain:x")).await.unwrap().into_inner();
    assert_eq!(response.error, None);
    assert_eq!(response.result, Some(pb::PublishResult::default()));
}

#[tokio::test]
async fn other_rpcs_are_unimplemented() {
    let h = Harness::start().await;
    let mut client = h.client().await;
    let status = client
        .connections(h.request(pb::ConnectionsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(status.message(), "method Connections not implemented");
    let status = client
        .map_publish(h.request(pb::MapPublishRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    let status = client
        .shared_poll_publish(h.request(pb::SharedPollPublishRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    let status = client
        .send_push_notification(h.request(pb::SendPushNotificationRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

/// `google.rpc.Status`, to read the detail grpc-go clients read.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

fn detail(status: &tonic::Status) -> pb::Error {
    let rpc = RpcStatus::decode(status.details()).expect("status details");
    assert_eq!(rpc.code, status.code() as i32);
    assert_eq!(rpc.details.len(), 1);
    assert_eq!(
        rpc.details[0].type_url,
        "type.googleapis.com/centrifugal.centrifugo.api.Error"
    );
    pb::Error::decode(&rpc.details[0].value[..]).unwrap()
}

fn transport_mode<T>(mut request: tonic::Request<T>) -> tonic::Request<T> {
    request
        .metadata_mut()
        .insert("x-centrifugo-error-mode", "transport".parse().unwrap());
    request
}

#[tokio::test]
async fn transport_error_mode_per_request() {
    let h = Harness::start().await;
    let mut client = h.client().await;
    // Default: the error travels in the response.
    let response = client
        .publish(h.request(publish("nope:x")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.error.unwrap().code, 102);

    let cases = [
        ("nope:x", Code::NotFound, 102, "unknown channel"),
        ("", Code::InvalidArgument, 107, "bad request"),
    ];
    for (channel, code, api_code, message) in cases {
        let status = client
            .publish(transport_mode(h.request(publish(channel))))
            .await
            .unwrap_err();
        assert_eq!((status.code(), status.message()), (code, message));
        let error = detail(&status);
        assert_eq!((error.code, error.message.as_str()), (api_code, message));
    }
    let status = client
        .presence(transport_mode(h.request(pb::PresenceRequest {
            channel: "plain:x".into(),
        })))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(detail(&status).code, 108);
    let status = client
        .history(transport_mode(h.request(pb::HistoryRequest {
            channel: "hist:x".into(),
            limit: -1,
            since: Some(pb::StreamPosition {
                offset: 5,
                epoch: "nope".into(),
            }),
            reverse: false,
        })))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange);
    assert_eq!(detail(&status).code, 112);
    // Success is unaffected.
    let ok = client
        .publish(transport_mode(h.request(publish("plain:x"))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.result, Some(pb::PublishResult::default()));

    // A broadcast fails as a whole only for its own error; per-channel errors stay inside.
    let broadcast = client
        .broadcast(transport_mode(h.request(pb::BroadcastRequest {
            channels: vec!["plain:x".into(), "nope:x".into()],
            data: bytes::Bytes::from_static(b"{}"),
            ..Default::default()
        })))
        .await
        .unwrap()
        .into_inner();
    let responses = broadcast.result.unwrap().responses;
    assert!(responses[0].result.is_some());
    assert_eq!(responses[1].error.as_ref().unwrap().code, 102);
    let status = client
        .broadcast(transport_mode(h.request(pb::BroadcastRequest::default())))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // A batch never fails as a whole.
    let batch = client
        .batch(transport_mode(h.request(pb::BatchRequest {
            commands: vec![pb::Command {
                publish: Some(publish("nope:x")),
                ..Default::default()
            }],
            parallel: false,
        })))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.replies[0].error.as_ref().unwrap().code, 102);
}

#[tokio::test]
async fn transport_error_mode_from_config() {
    let mut config = base_config();
    config.grpc_api.error_mode = "transport".into();
    let h = Harness::with(config, NodeConfig::default()).await;
    let mut client = h.client().await;
    let status = client.publish(h.request(publish("nope:x"))).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(detail(&status).code, 102);
}

#[tokio::test]
async fn reflection_lists_the_service_when_enabled() {
    use futures_util::StreamExt;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    let mut config = base_config();
    config.grpc_api.reflection = true;
    let h = Harness::with(config, NodeConfig::default()).await;
    let mut client = ServerReflectionClient::new(
        tonic::transport::Channel::from_shared(format!("http://{}", h.api_addr))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    // Reflection is not behind the API key, as in Centrifugo.
    let mut responses = client
        .server_reflection_info(futures_util::stream::iter([list.clone()]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(services)) = response.message_response else {
        panic!("unexpected {response:?}");
    };
    let names: Vec<String> = services.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"centrifugal.centrifugo.api.CentrifugoApi".to_owned()),
        "{names:?}"
    );

    let h = Harness::start().await;
    let mut client = ServerReflectionClient::new(
        tonic::transport::Channel::from_shared(format!("http://{}", h.api_addr))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let status = client
        .server_reflection_info(futures_util::stream::iter([list]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}
