//! Node-wide calls: `channels`, `info`, `rpc`.

use gyre_config::glob::Glob;
use tokio::time::Instant;

use super::Executor;
use crate::error::ApiError;
use crate::requests::{ChannelsRequest, InfoRequest, RpcRequest};
use crate::results::{ChannelInfo, ChannelsResult, InfoResult, NodeResult, RpcResult};

impl Executor {
    /// Channels with at least one subscriber, optionally filtered by a glob pattern.
    pub async fn channels(&self, req: ChannelsRequest) -> Result<ChannelsResult, ApiError> {
        let started = Instant::now();
        let result = self.channels_inner(req);
        self.observe("channels", started);
        result
    }

    fn channels_inner(&self, req: ChannelsRequest) -> Result<ChannelsResult, ApiError> {
        let pattern = if req.pattern.is_empty() {
            None
        } else {
            // Centrifugo answers a malformed pattern with 100 (its survey fails); it is the
            // caller's mistake, so Gyre answers 107.
            Some(Glob::new(&req.pattern).map_err(|_| {
                tracing::error!(pattern = %req.pattern, "bad channels request: invalid pattern");
                ApiError::BAD_REQUEST
            })?)
        };
        let channels = self
            .node
            .channels()
            .into_iter()
            .filter(|(channel, n)| *n > 0 && pattern.as_ref().is_none_or(|g| g.is_match(channel)))
            .map(|(channel, n)| (channel, ChannelInfo { num_clients: n }))
            .collect();
        Ok(ChannelsResult { channels })
    }

    /// Facts about the running nodes.
    pub async fn info(&self, _req: InfoRequest) -> Result<InfoResult, ApiError> {
        let started = Instant::now();
        let result = InfoResult {
            nodes: vec![NodeResult::from(self.node.info())],
        };
        self.observe("info", started);
        Ok(result)
    }

    /// Server API RPC extensions. Open-source Centrifugo registers none, so every named method
    /// is unknown.
    pub async fn rpc(&self, req: RpcRequest) -> Result<RpcResult, ApiError> {
        let started = Instant::now();
        let result = if req.method.is_empty() {
            tracing::error!("bad rpc request: method required");
            Err(ApiError::BAD_REQUEST)
        } else {
            Err(ApiError::NOT_FOUND)
        };
        self.observe("rpc", started);
        result
    }
}
