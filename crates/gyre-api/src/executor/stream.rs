//! Channel state reads: `presence`, `presence_stats`, `history`, `history_remove`.

use gyre_config::ChannelOptions;
use gyre_core::{HistoryOptions, StreamPosition};
use tokio::time::Instant;

use super::{channel_options, history_enabled, Executor};
use crate::error::ApiError;
use crate::requests::{HistoryRemoveRequest, HistoryRequest, PresenceRequest, PresenceStatsRequest};
use crate::results::{
    ClientInfo, HistoryRemoveResult, HistoryResult, PresenceResult, PresenceStatsResult, Publication,
};

fn require_presence(channel: &str, options: &ChannelOptions) -> Result<(), ApiError> {
    if options.presence {
        return Ok(());
    }
    tracing::warn!(channel, "presence is not enabled for channel in configuration");
    Err(ApiError::NOT_AVAILABLE)
}

fn require_history(channel: &str, options: &ChannelOptions) -> Result<(), ApiError> {
    if history_enabled(options) {
        return Ok(());
    }
    tracing::warn!(
        channel,
        "history is not enabled for channel in configuration (history_size and history_ttl must both be > 0)"
    );
    Err(ApiError::NOT_AVAILABLE)
}

impl Executor {
    /// Clients present in a channel.
    pub async fn presence(&self, req: PresenceRequest) -> Result<PresenceResult, ApiError> {
        let started = Instant::now();
        let result = self.presence_inner(req).await;
        self.observe("presence", started);
        result
    }

    async fn presence_inner(&self, req: PresenceRequest) -> Result<PresenceResult, ApiError> {
        let channel = req.channel.as_str();
        if channel.is_empty() {
            return Err(ApiError::BAD_REQUEST);
        }
        require_presence(channel, channel_options(&self.snapshot(), channel)?)?;
        let presence = self
            .node
            .presence(channel)
            .await
            .map_err(|e| super::internal("error getting presence for channel", channel, &e))?;
        Ok(PresenceResult {
            presence: presence
                .into_iter()
                .map(|(id, info)| (id, ClientInfo::from(info)))
                .collect(),
        })
    }

    /// Client and user counts of a channel's presence.
    pub async fn presence_stats(&self, req: PresenceStatsRequest) -> Result<PresenceStatsResult, ApiError> {
        let started = Instant::now();
        let result = self.presence_stats_inner(req).await;
        self.observe("presence_stats", started);
        result
    }

    async fn presence_stats_inner(&self, req: PresenceStatsRequest) -> Result<PresenceStatsResult, ApiError> {
        let channel = req.channel.as_str();
        if channel.is_empty() {
            return Err(ApiError::BAD_REQUEST);
        }
        require_presence(channel, channel_options(&self.snapshot(), channel)?)?;
        let stats = self
            .node
            .presence_stats(channel)
            .await
            .map_err(|e| super::internal("error getting presence stats for channel", channel, &e))?;
        Ok(PresenceStatsResult {
            num_clients: stats.num_clients,
            num_users: stats.num_users,
        })
    }

    /// Reads a channel's history stream. The server API has no publication limit cap.
    pub async fn history(&self, req: HistoryRequest) -> Result<HistoryResult, ApiError> {
        let started = Instant::now();
        let result = self.history_inner(req).await;
        self.observe("history", started);
        result
    }

    async fn history_inner(&self, req: HistoryRequest) -> Result<HistoryResult, ApiError> {
        let channel = req.channel.as_str();
        if channel.is_empty() {
            return Err(ApiError::BAD_REQUEST);
        }
        let snapshot = self.snapshot();
        let options = channel_options(&snapshot, channel)?;
        require_history(channel, options)?;
        // Nothing lies before offset 0 when paging backwards. Centrifugo's library reports this
        // as a bad request that the API turns into 100; Gyre answers 107, which is what it is.
        if req.reverse && req.since.as_ref().is_some_and(|s| s.offset == 0) {
            return Err(ApiError::BAD_REQUEST);
        }
        let since = req.since.map(|s| StreamPosition {
            offset: s.offset,
            epoch: s.epoch,
        });
        let since_epoch = since.as_ref().map(|s| s.epoch.clone()).unwrap_or_default();
        let opts = HistoryOptions {
            limit: req.limit,
            since,
            reverse: req.reverse,
            meta_ttl: Some(snapshot.channels.history_meta_ttl(options)),
        };
        let history = match self.node.history(channel, opts).await {
            Ok(h) => h,
            Err(e) if e.code == gyre_core::Error::UNRECOVERABLE_POSITION.code => {
                return Err(ApiError::UNRECOVERABLE_POSITION);
            }
            Err(e) => return Err(super::internal("error getting history for channel", channel, &e)),
        };
        // A position from another epoch describes a stream that no longer exists.
        if !since_epoch.is_empty() && since_epoch != history.position.epoch {
            return Err(ApiError::UNRECOVERABLE_POSITION);
        }
        Ok(HistoryResult {
            publications: history.publications.into_iter().map(Publication::from).collect(),
            epoch: history.position.epoch,
            offset: history.position.offset,
        })
    }

    /// Drops a channel's publications but keeps its stream position.
    pub async fn history_remove(&self, req: HistoryRemoveRequest) -> Result<HistoryRemoveResult, ApiError> {
        let started = Instant::now();
        let result = self.history_remove_inner(req).await;
        self.observe("history_remove", started);
        result
    }

    async fn history_remove_inner(&self, req: HistoryRemoveRequest) -> Result<HistoryRemoveResult, ApiError> {
        let channel = req.channel.as_str();
        if channel.is_empty() {
            return Err(ApiError::BAD_REQUEST);
        }
        require_history(channel, channel_options(&self.snapshot(), channel)?)?;
        self.node
            .remove_history(channel)
            .await
            .map_err(|e| super::internal("error removing history for channel", channel, &e))?;
        Ok(HistoryRemoveResult {})
    }
}
