//! `publish` and `broadcast`.

use std::collections::HashMap;

use bytes::Bytes;
use gyre_config::{ChannelOptions, Snapshot};
use gyre_core::PublishOptions;
use tokio::time::Instant;

use super::{b64_or_raw, channel_options, Executor};
use crate::error::ApiError;
use crate::requests::{BroadcastRequest, PublishRequest};
use crate::results::{BroadcastResult, PublishResponse, PublishResult};

/// What publish and broadcast share besides channel and data.
struct PublishParams {
    skip_history: bool,
    tags: HashMap<String, String>,
    idempotency_key: String,
    delta: bool,
    version: u64,
    version_epoch: String,
}

impl Executor {
    /// Publishes into one stream channel.
    pub async fn publish(&self, req: PublishRequest) -> Result<PublishResult, ApiError> {
        let started = Instant::now();
        let result = self.publish_inner(req).await;
        self.observe("publish", started);
        result
    }

    async fn publish_inner(&self, req: PublishRequest) -> Result<PublishResult, ApiError> {
        if req.channel.is_empty() {
            tracing::error!("bad publish request: channel required");
            return Err(ApiError::BAD_REQUEST);
        }
        let data = b64_or_raw(&req.b64data, req.data)?;
        let params = PublishParams {
            skip_history: req.skip_history,
            tags: req.tags,
            idempotency_key: req.idempotency_key,
            delta: req.delta,
            version: req.version,
            version_epoch: req.version_epoch,
        };
        let snapshot = self.snapshot();
        self.publish_one(&snapshot, &req.channel, data, &params).await
    }

    /// Publishes the same data into many channels, concurrently (bounded), answering per channel
    /// in request order. Only an empty channel list or bad base64 fail the whole call.
    pub async fn broadcast(&self, req: BroadcastRequest) -> Result<BroadcastResult, ApiError> {
        let started = Instant::now();
        let result = self.broadcast_inner(req).await;
        self.observe("broadcast", started);
        result
    }

    async fn broadcast_inner(&self, req: BroadcastRequest) -> Result<BroadcastResult, ApiError> {
        if req.channels.is_empty() {
            tracing::error!("bad broadcast request: channels required");
            return Err(ApiError::BAD_REQUEST);
        }
        let data = b64_or_raw(&req.b64data, req.data)?;
        let params = PublishParams {
            skip_history: req.skip_history,
            tags: req.tags,
            idempotency_key: req.idempotency_key,
            delta: req.delta,
            version: req.version,
            version_epoch: req.version_epoch,
        };
        let snapshot = self.snapshot();
        let mut futures = Vec::with_capacity(req.channels.len());
        for channel in &req.channels {
            futures.push(self.broadcast_channel(&snapshot, channel, data.clone(), &params));
        }
        let responses = super::run_bounded(futures).await;
        Ok(BroadcastResult { responses })
    }

    async fn broadcast_channel(
        &self,
        snapshot: &Snapshot,
        channel: &str,
        data: Bytes,
        params: &PublishParams,
    ) -> PublishResponse {
        let response = self.publish_one(snapshot, channel, data, params).await;
        if let Err(e) = &response {
            self.count_error("broadcast_publish", e);
        }
        response
    }

    /// Validation after the payload is known, then the publish itself.
    async fn publish_one(
        &self,
        snapshot: &Snapshot,
        channel: &str,
        data: Bytes,
        params: &PublishParams,
    ) -> PublishResponse {
        if channel.is_empty() {
            return Err(ApiError::BAD_REQUEST);
        }
        let options = channel_options(snapshot, channel)?;
        // Map and shared-poll namespaces have their own publish APIs. Centrifugo's broadcast
        // skips this check; Gyre applies it per channel so both methods agree.
        if !matches!(options.subscription_type.as_str(), "" | "stream") {
            tracing::warn!(
                channel,
                subscription_type = %options.subscription_type,
                "publish called on non-stream namespace"
            );
            return Err(ApiError::BAD_REQUEST);
        }
        if !gyre_handler::publication_data_valid(&data, &options.publication_data_format) {
            tracing::error!(channel, format = %options.publication_data_format, "bad publish request: data format");
            return Err(ApiError::BAD_REQUEST);
        }
        let opts = publish_options(snapshot, options, params);
        match self.node.publish(channel, data, opts).await {
            Ok(result) => Ok(PublishResult {
                offset: result.position.offset,
                epoch: result.position.epoch,
            }),
            Err(e) => Err(super::internal("error publishing data to channel", channel, &e)),
        }
    }
}

fn publish_options(snapshot: &Snapshot, options: &ChannelOptions, params: &PublishParams) -> PublishOptions {
    let (history_size, history_ttl) = if params.skip_history {
        (0, std::time::Duration::ZERO)
    } else {
        (
            usize::try_from(options.history_size).unwrap_or(0),
            options.history_ttl.as_std(),
        )
    };
    PublishOptions {
        history_size,
        history_ttl,
        history_meta_ttl: Some(snapshot.channels.history_meta_ttl(options)),
        client_info: None,
        tags: params.tags.clone(),
        idempotency_key: (!params.idempotency_key.is_empty()).then(|| params.idempotency_key.clone()),
        idempotent_result_ttl: None,
        delta: params.delta || options.delta_publish,
        version: params.version,
        version_epoch: params.version_epoch.clone(),
    }
}
