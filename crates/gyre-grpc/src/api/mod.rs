//! The `CentrifugoApi` service: decode, run on the shared executor, encode.
//!
//! As in Centrifugo, an API error is returned inside the response's `error` field with an OK
//! status, unless transport error mode is on (`grpc_api.error_mode: transport`, or metadata
//! `x-centrifugo-error-mode: transport` on the call): then the call fails with the mapped GRPC
//! code, the error message, and the `Error` message as a status detail. `Batch` never fails that
//! way, and `Broadcast` only for its top-level error.

pub(crate) mod convert;
mod status;

use std::future::Future;
use std::sync::Arc;

use gyre_api::{ApiError, ApiObserver, Executor};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::pb;
use crate::pb::centrifugo_api_server::CentrifugoApi;

pub(crate) struct ApiService {
    executor: Executor,
    transport_error_mode: bool,
}

impl ApiService {
    /// `executor` is wrapped to report under the `grpc` protocol label.
    pub(crate) fn new(
        executor: &Executor,
        observer: Arc<dyn ApiObserver>,
        transport_error_mode: bool,
    ) -> Self {
        ApiService {
            executor: executor.with_observer("grpc", observer),
            transport_error_mode,
        }
    }

    fn transport_error_mode(&self, metadata: &MetadataMap) -> bool {
        self.transport_error_mode
            || metadata
                .get("x-centrifugo-error-mode")
                .is_some_and(|v| v.as_bytes() == b"transport")
    }

    /// Runs a call on its own task: a client that cancels must not stop half a broadcast or
    /// batch, and a panic becomes an `Internal` status instead of a reset stream.
    async fn run<T, F, Fut>(&self, call: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(Executor) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        tokio::spawn(call(self.executor.clone())).await.map_err(|e| {
            tracing::error!(error = %e, "GRPC API call failed");
            Status::internal("internal server error")
        })
    }

    /// `(error, result)` of a single-method response, or the transport-mode status.
    fn outcome<R>(
        &self,
        method: &str,
        result: Result<R, ApiError>,
        transport_mode: bool,
    ) -> Result<(Option<pb::Error>, Option<R>), Status> {
        match result {
            Ok(r) => Ok((None, Some(r))),
            Err(e) => {
                self.executor
                    .observer()
                    .command_error(self.executor.protocol(), method, &e.code.to_string());
                if transport_mode {
                    Err(status::transport_status(&e))
                } else {
                    Ok((Some(convert::error(e)), None))
                }
            }
        }
    }
}

/// The service impl. Generated as a whole by one macro because `#[async_trait]` must see the
/// expanded methods. Single-method RPCs share their name with the executor method and the
/// request conversion; RPCs without an executor method answer as Centrifugo's generated stubs
/// do (the key check still runs first).
macro_rules! api_service {
    (
        calls: [$(($method:ident, $Req:ident, $Resp:ident, $result:ident)),* $(,)?],
        unimplemented: [$(($stub:ident, $SReq:ident, $SResp:ident, $name:literal)),* $(,)?] $(,)?
    ) => {
        #[tonic::async_trait]
        impl CentrifugoApi for ApiService {
            async fn batch(&self, request: Request<pb::BatchRequest>) -> Result<Response<pb::BatchResponse>, Status> {
                let req = convert::batch(request.into_inner());
                let result = self
                    .run(move |executor| async move { executor.batch(req).await })
                    .await?;
                Ok(Response::new(convert::batch_result(result)))
            }

            $(
                async fn $method(&self, request: Request<pb::$Req>) -> Result<Response<pb::$Resp>, Status> {
                    let transport_mode = self.transport_error_mode(request.metadata());
                    let req = convert::$method(request.into_inner());
                    let result = self
                        .run(move |executor| async move { executor.$method(req).await })
                        .await?;
                    let (error, result) = self.outcome(stringify!($method), result, transport_mode)?;
                    Ok(Response::new(pb::$Resp {
                        error,
                        result: result.map(convert::$result),
                    }))
                }
            )*

            $(
                async fn $stub(&self, _: Request<pb::$SReq>) -> Result<Response<pb::$SResp>, Status> {
                    Err(Status::unimplemented(concat!("method ", $name, " not implemented")))
                }
            )*
        }
    };
}

api_service! {
    calls: [
        (publish, PublishRequest, PublishResponse, publish_result),
        (broadcast, BroadcastRequest, BroadcastResponse, broadcast_result),
        (subscribe, SubscribeRequest, SubscribeResponse, subscribe_result),
        (unsubscribe, UnsubscribeRequest, UnsubscribeResponse, unsubscribe_result),
        (disconnect, DisconnectRequest, DisconnectResponse, disconnect_result),
        (presence, PresenceRequest, PresenceResponse, presence_result),
        (presence_stats, PresenceStatsRequest, PresenceStatsResponse, presence_stats_result),
        (history, HistoryRequest, HistoryResponse, history_result),
        (history_remove, HistoryRemoveRequest, HistoryRemoveResponse, history_remove_result),
        (info, InfoRequest, InfoResponse, info_result),
        (rpc, RpcRequest, RpcResponse, rpc_result),
        (refresh, RefreshRequest, RefreshResponse, refresh_result),
        (channels, ChannelsRequest, ChannelsResponse, channels_result),
    ],
    unimplemented: [
        (connections, ConnectionsRequest, ConnectionsResponse, "Connections"),
        (update_user_status, UpdateUserStatusRequest, UpdateUserStatusResponse, "UpdateUserStatus"),
        (get_user_status, GetUserStatusRequest, GetUserStatusResponse, "GetUserStatus"),
        (delete_user_status, DeleteUserStatusRequest, DeleteUserStatusResponse, "DeleteUserStatus"),
        (block_user, BlockUserRequest, BlockUserResponse, "BlockUser"),
        (unblock_user, UnblockUserRequest, UnblockUserResponse, "UnblockUser"),
        (revoke_token, RevokeTokenRequest, RevokeTokenResponse, "RevokeToken"),
        (invalidate_user_tokens, InvalidateUserTokensRequest, InvalidateUserTokensResponse, "InvalidateUserTokens"),
        (device_register, DeviceRegisterRequest, DeviceRegisterResponse, "DeviceRegister"),
        (device_update, DeviceUpdateRequest, DeviceUpdateResponse, "DeviceUpdate"),
        (device_remove, DeviceRemoveRequest, DeviceRemoveResponse, "DeviceRemove"),
        (device_list, DeviceListRequest, DeviceListResponse, "DeviceList"),
        (device_topic_list, DeviceTopicListRequest, DeviceTopicListResponse, "DeviceTopicList"),
        (device_topic_update, DeviceTopicUpdateRequest, DeviceTopicUpdateResponse, "DeviceTopicUpdate"),
        (user_topic_list, UserTopicListRequest, UserTopicListResponse, "UserTopicList"),
        (user_topic_update, UserTopicUpdateRequest, UserTopicUpdateResponse, "UserTopicUpdate"),
        (send_push_notification, SendPushNotificationRequest, SendPushNotificationResponse, "SendPushNotification"),
        (update_push_status, UpdatePushStatusRequest, UpdatePushStatusResponse, "UpdatePushStatus"),
        (cancel_push, CancelPushRequest, CancelPushResponse, "CancelPush"),
        (map_publish, MapPublishRequest, MapPublishResponse, "MapPublish"),
        (map_remove, MapRemoveRequest, MapRemoveResponse, "MapRemove"),
        (map_read_state, MapReadStateRequest, MapReadStateResponse, "MapReadState"),
        (map_read_stream, MapReadStreamRequest, MapReadStreamResponse, "MapReadStream"),
        (map_stats, MapStatsRequest, MapStatsResponse, "MapStats"),
        (map_clear, MapClearRequest, MapClearResponse, "MapClear"),
        (shared_poll_publish, SharedPollPublishRequest, SharedPollPublishResponse, "SharedPollPublish"),
    ],
}
