//! Subscribe stream proxies (experimental in Centrifugo, GRPC only): a subscription backed by a
//! long-lived call. The backend's first message decides the subscribe like a subscribe proxy
//! reply; every later message is a publication for that one subscriber. Bidirectional streams
//! also carry the subscriber's publishes to the backend.

use std::collections::HashMap;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::ProxyError;
use crate::grpc::{method_path, GrpcProxy};
use crate::grpc_convert as conv;
use crate::grpc_types as pb;
use crate::headers::CallContext;
use crate::types_request::SubscribeRequest;
use crate::types_response::{Outcome, SubscribeResult};

/// Publishes queued towards the backend before a publisher waits: a client's publishes are
/// answered one at a time, so a small window is enough to keep the stream busy.
const OUTBOUND_WINDOW: usize = 16;

/// A backend publication for the subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPublication {
    pub data: Bytes,
    pub tags: HashMap<String, String>,
}

/// The open stream after the backend's first message. Dropping it (and every
/// [`StreamPublisher`]) cancels the call.
pub struct SubscribeStream {
    inbound: tonic::Streaming<pb::StreamSubscribeResponse>,
    publisher: Option<StreamPublisher>,
}

impl std::fmt::Debug for SubscribeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscribeStream")
            .field("bidirectional", &self.publisher.is_some())
            .finish()
    }
}

impl SubscribeStream {
    /// The next publication. `Ok(None)`: the backend ended the stream normally; `Err`: the call
    /// failed. Messages without a publication are skipped.
    pub async fn next(&mut self) -> Result<Option<StreamPublication>, ProxyError> {
        loop {
            match self.inbound.message().await {
                Ok(Some(message)) => {
                    if let Some(p) = message.publication {
                        return Ok(Some(StreamPublication {
                            data: p.data,
                            tags: p.tags,
                        }));
                    }
                }
                Ok(None) => return Ok(None),
                Err(status) => {
                    return Err(ProxyError::GrpcStatus {
                        code: status.code() as i32,
                        message: status.message().to_owned(),
                    })
                }
            }
        }
    }

    /// The sending half of a bidirectional stream.
    pub fn publisher(&self) -> Option<StreamPublisher> {
        self.publisher.clone()
    }
}

/// Sends the subscriber's publications to the backend on a bidirectional stream.
#[derive(Clone, Debug)]
pub struct StreamPublisher {
    tx: mpsc::Sender<pb::StreamSubscribeRequest>,
}

impl StreamPublisher {
    pub async fn publish(&self, data: Bytes) -> Result<(), ProxyError> {
        let message = pb::StreamSubscribeRequest {
            subscribe_request: None,
            publication: Some(pb::Publication {
                data,
                tags: HashMap::new(),
            }),
        };
        self.tx
            .send(message)
            .await
            .map_err(|_| ProxyError::Transport("subscribe stream closed".to_owned()))
    }
}

impl GrpcProxy {
    /// Opens `SubscribeUnidirectional` or `SubscribeBidirectional` and waits, at most the proxy
    /// timeout, for the backend's first message, which must carry the subscribe response. The
    /// stream itself has no deadline: it lives as long as the subscription.
    pub async fn subscribe_stream(
        &self,
        bidirectional: bool,
        req: &SubscribeRequest,
        ctx: &CallContext,
    ) -> Result<(Outcome<SubscribeResult>, SubscribeStream), ProxyError> {
        let timeout = self.config().timeout;
        let opened = tokio::time::timeout(timeout, self.open(bidirectional, req, ctx)).await;
        let (first, stream) = match opened {
            Ok(res) => res?,
            Err(_) => return Err(ProxyError::Timeout(timeout)),
        };
        let Some(rep) = first.subscribe_response else {
            return Err(ProxyError::Decode(
                "no subscribe response in first message from stream proxy".to_owned(),
            ));
        };
        let outcome = conv::outcome(rep.result, rep.error, rep.disconnect, conv::subscribe_result)?;
        Ok((outcome, stream))
    }

    async fn open(
        &self,
        bidirectional: bool,
        req: &SubscribeRequest,
        ctx: &CallContext,
    ) -> Result<(pb::StreamSubscribeResponse, SubscribeStream), ProxyError> {
        let subscribe = conv::subscribe_request(req);
        let mut grpc = self.ready_client().await?;
        let (response, publisher) = if bidirectional {
            let (tx, rx) = mpsc::channel(OUTBOUND_WINDOW);
            let first = pb::StreamSubscribeRequest {
                subscribe_request: Some(subscribe),
                publication: None,
            };
            tx.try_send(first).expect("a new channel has room");
            let path = method_path("SubscribeBidirectional")?;
            let codec =
                tonic_prost::ProstCodec::<pb::StreamSubscribeRequest, pb::StreamSubscribeResponse>::default();
            // Ends (END_STREAM to the backend) once every publisher is dropped.
            let outbound = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|message| (message, rx))
            });
            let request = self.request(outbound, ctx);
            let response = grpc.streaming(request, path, codec).await;
            (response, Some(StreamPublisher { tx }))
        } else {
            let path = method_path("SubscribeUnidirectional")?;
            let codec =
                tonic_prost::ProstCodec::<pb::SubscribeRequest, pb::StreamSubscribeResponse>::default();
            let request = self.request(subscribe, ctx);
            (grpc.server_streaming(request, path, codec).await, None)
        };
        let mut inbound = response.map_err(|status| self.status_error(status))?.into_inner();
        let first = match inbound.message().await {
            Ok(Some(first)) => first,
            Ok(None) => {
                return Err(ProxyError::Decode(
                    "subscribe stream ended before its first message".to_owned(),
                ))
            }
            Err(status) => return Err(self.status_error(status)),
        };
        Ok((first, SubscribeStream { inbound, publisher }))
    }
}
