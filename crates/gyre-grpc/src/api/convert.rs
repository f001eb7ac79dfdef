//! Protobuf messages ⇄ the executor's typed requests and results. Field for field: the
//! executor's types carry the names of `api.proto`, and `bytes` fields are the raw payloads the
//! HTTP adapter takes from embedded JSON. PRO-only request fields (`label_filter`, `all_users`)
//! are dropped, as the HTTP adapter ignores them.

use gyre_api::requests as rq;
use gyre_api::results as rs;
use gyre_api::{ApiError, BatchItem, Command, CommandResult, Reply};

use crate::pb;

pub(crate) fn error(e: ApiError) -> pb::Error {
    pb::Error {
        code: e.code,
        message: e.message.into_owned(),
    }
}

fn position(p: pb::StreamPosition) -> rq::StreamPosition {
    rq::StreamPosition {
        offset: p.offset,
        epoch: p.epoch,
    }
}

fn bool_value(v: pb::BoolValue) -> rq::BoolValue {
    rq::BoolValue { value: v.value }
}

pub(crate) fn publish(r: pb::PublishRequest) -> rq::PublishRequest {
    rq::PublishRequest {
        channel: r.channel,
        data: r.data,
        b64data: r.b64data,
        skip_history: r.skip_history,
        tags: r.tags,
        idempotency_key: r.idempotency_key,
        delta: r.delta,
        version: r.version,
        version_epoch: r.version_epoch,
    }
}

pub(crate) fn broadcast(r: pb::BroadcastRequest) -> rq::BroadcastRequest {
    rq::BroadcastRequest {
        channels: r.channels,
        data: r.data,
        b64data: r.b64data,
        skip_history: r.skip_history,
        tags: r.tags,
        idempotency_key: r.idempotency_key,
        delta: r.delta,
        version: r.version,
        version_epoch: r.version_epoch,
    }
}

pub(crate) fn subscribe(r: pb::SubscribeRequest) -> rq::SubscribeRequest {
    rq::SubscribeRequest {
        channel: r.channel,
        user: r.user,
        expire_at: r.expire_at,
        info: r.info,
        b64info: r.b64info,
        client: r.client,
        data: r.data,
        b64data: r.b64data,
        recover_since: r.recover_since.map(position),
        override_: r.r#override.map(|o| rq::SubscribeOptionOverride {
            presence: o.presence.map(bool_value),
            join_leave: o.join_leave.map(bool_value),
            force_recovery: o.force_recovery.map(bool_value),
            force_positioning: o.force_positioning.map(bool_value),
            force_push_join_leave: o.force_push_join_leave.map(bool_value),
        }),
        session: r.session,
    }
}

pub(crate) fn unsubscribe(r: pb::UnsubscribeRequest) -> rq::UnsubscribeRequest {
    rq::UnsubscribeRequest {
        channel: r.channel,
        user: r.user,
        client: r.client,
        session: r.session,
    }
}

pub(crate) fn disconnect(r: pb::DisconnectRequest) -> rq::DisconnectRequest {
    rq::DisconnectRequest {
        user: r.user,
        disconnect: r.disconnect.map(|d| rq::DisconnectObject {
            code: d.code,
            reason: d.reason,
        }),
        client: r.client,
        whitelist: r.whitelist,
        session: r.session,
    }
}

pub(crate) fn refresh(r: pb::RefreshRequest) -> rq::RefreshRequest {
    rq::RefreshRequest {
        user: r.user,
        client: r.client,
        expired: r.expired,
        expire_at: r.expire_at,
        info: r.info,
        session: r.session,
    }
}

pub(crate) fn presence(r: pb::PresenceRequest) -> rq::PresenceRequest {
    rq::PresenceRequest { channel: r.channel }
}

pub(crate) fn presence_stats(r: pb::PresenceStatsRequest) -> rq::PresenceStatsRequest {
    rq::PresenceStatsRequest { channel: r.channel }
}

pub(crate) fn history(r: pb::HistoryRequest) -> rq::HistoryRequest {
    rq::HistoryRequest {
        channel: r.channel,
        limit: r.limit,
        since: r.since.map(position),
        reverse: r.reverse,
    }
}

pub(crate) fn history_remove(r: pb::HistoryRemoveRequest) -> rq::HistoryRemoveRequest {
    rq::HistoryRemoveRequest { channel: r.channel }
}

pub(crate) fn info(_: pb::InfoRequest) -> rq::InfoRequest {
    rq::InfoRequest {}
}

pub(crate) fn rpc(r: pb::RpcRequest) -> rq::RpcRequest {
    rq::RpcRequest {
        method: r.method,
        params: r.params,
    }
}

pub(crate) fn channels(r: pb::ChannelsRequest) -> rq::ChannelsRequest {
    rq::ChannelsRequest { pattern: r.pattern }
}

/// A batch element. The first set field wins, in the executor's method order (Centrifugo's);
/// a command naming none of the executor's methods (map, shared poll, PRO methods, or nothing)
/// is answered with 104.
fn command(c: pb::Command) -> BatchItem {
    let command = if let Some(r) = c.publish {
        Command::Publish(publish(r))
    } else if let Some(r) = c.broadcast {
        Command::Broadcast(broadcast(r))
    } else if let Some(r) = c.subscribe {
        Command::Subscribe(subscribe(r))
    } else if let Some(r) = c.unsubscribe {
        Command::Unsubscribe(unsubscribe(r))
    } else if let Some(r) = c.disconnect {
        Command::Disconnect(disconnect(r))
    } else if let Some(r) = c.history {
        Command::History(history(r))
    } else if let Some(r) = c.history_remove {
        Command::HistoryRemove(history_remove(r))
    } else if let Some(r) = c.presence {
        Command::Presence(presence(r))
    } else if let Some(r) = c.presence_stats {
        Command::PresenceStats(presence_stats(r))
    } else if let Some(r) = c.info {
        Command::Info(info(r))
    } else if let Some(r) = c.rpc {
        Command::Rpc(rpc(r))
    } else if let Some(r) = c.refresh {
        Command::Refresh(refresh(r))
    } else if let Some(r) = c.channels {
        Command::Channels(channels(r))
    } else {
        return BatchItem::Unknown;
    };
    BatchItem::Command(Box::new(command))
}

pub(crate) fn batch(r: pb::BatchRequest) -> gyre_api::BatchRequest {
    gyre_api::BatchRequest {
        commands: r.commands.into_iter().map(command).collect(),
        parallel: r.parallel,
    }
}

pub(crate) fn batch_result(r: gyre_api::BatchResult) -> pb::BatchResponse {
    pb::BatchResponse {
        replies: r.replies.into_iter().map(reply).collect(),
    }
}

fn reply(Reply(r): Reply) -> pb::Reply {
    let mut out = pb::Reply::default();
    match r {
        Err(e) => out.error = Some(error(e)),
        Ok(CommandResult::Publish(r)) => out.publish = Some(publish_result(r)),
        Ok(CommandResult::Broadcast(r)) => out.broadcast = Some(broadcast_result(r)),
        Ok(CommandResult::Subscribe(r)) => out.subscribe = Some(subscribe_result(r)),
        Ok(CommandResult::Unsubscribe(r)) => out.unsubscribe = Some(unsubscribe_result(r)),
        Ok(CommandResult::Disconnect(r)) => out.disconnect = Some(disconnect_result(r)),
        Ok(CommandResult::History(r)) => out.history = Some(history_result(r)),
        Ok(CommandResult::HistoryRemove(r)) => out.history_remove = Some(history_remove_result(r)),
        Ok(CommandResult::Presence(r)) => out.presence = Some(presence_result(r)),
        Ok(CommandResult::PresenceStats(r)) => out.presence_stats = Some(presence_stats_result(r)),
        Ok(CommandResult::Info(r)) => out.info = Some(info_result(r)),
        Ok(CommandResult::Rpc(r)) => out.rpc = Some(rpc_result(r)),
        Ok(CommandResult::Refresh(r)) => out.refresh = Some(refresh_result(r)),
        Ok(CommandResult::Channels(r)) => out.channels = Some(channels_result(r)),
    }
    out
}

pub(crate) fn publish_result(r: rs::PublishResult) -> pb::PublishResult {
    pb::PublishResult {
        offset: r.offset,
        epoch: r.epoch,
    }
}

pub(crate) fn broadcast_result(r: rs::BroadcastResult) -> pb::BroadcastResult {
    let responses = r
        .responses
        .into_iter()
        .map(|r| match r {
            Ok(r) => pb::PublishResponse {
                error: None,
                result: Some(publish_result(r)),
            },
            Err(e) => pb::PublishResponse {
                error: Some(error(e)),
                result: None,
            },
        })
        .collect();
    pb::BroadcastResult { responses }
}

pub(crate) fn subscribe_result(_: rs::SubscribeResult) -> pb::SubscribeResult {
    pb::SubscribeResult {}
}

pub(crate) fn unsubscribe_result(_: rs::UnsubscribeResult) -> pb::UnsubscribeResult {
    pb::UnsubscribeResult {}
}

pub(crate) fn disconnect_result(_: rs::DisconnectResult) -> pb::DisconnectResult {
    pb::DisconnectResult {}
}

pub(crate) fn refresh_result(_: rs::RefreshResult) -> pb::RefreshResult {
    pb::RefreshResult {}
}

pub(crate) fn history_remove_result(_: rs::HistoryRemoveResult) -> pb::HistoryRemoveResult {
    pb::HistoryRemoveResult {}
}

fn client_info(c: rs::ClientInfo) -> pb::ClientInfo {
    pb::ClientInfo {
        user: c.user,
        client: c.client,
        conn_info: c.conn_info,
        chan_info: c.chan_info,
    }
}

pub(crate) fn presence_result(r: rs::PresenceResult) -> pb::PresenceResult {
    pb::PresenceResult {
        presence: r.presence.into_iter().map(|(k, v)| (k, client_info(v))).collect(),
    }
}

pub(crate) fn presence_stats_result(r: rs::PresenceStatsResult) -> pb::PresenceStatsResult {
    pb::PresenceStatsResult {
        num_clients: r.num_clients,
        num_users: r.num_users,
    }
}

pub(crate) fn history_result(r: rs::HistoryResult) -> pb::HistoryResult {
    let publications = r
        .publications
        .into_iter()
        .map(|p| pb::Publication {
            data: p.data,
            info: p.info.map(client_info),
            offset: p.offset,
            tags: p.tags.into_iter().collect(),
        })
        .collect();
    pb::HistoryResult {
        publications,
        epoch: r.epoch,
        offset: r.offset,
    }
}

/// `metrics` and `process` stay unset: OSS Centrifugo never fills them either.
pub(crate) fn info_result(r: rs::InfoResult) -> pb::InfoResult {
    let nodes = r
        .nodes
        .into_iter()
        .map(|n| pb::NodeResult {
            uid: n.uid,
            name: n.name,
            version: n.version,
            num_clients: n.num_clients,
            num_users: n.num_users,
            num_channels: n.num_channels,
            uptime: n.uptime,
            metrics: None,
            process: None,
            num_subs: n.num_subs,
        })
        .collect();
    pb::InfoResult { nodes }
}

pub(crate) fn rpc_result(r: rs::RpcResult) -> pb::RpcResult {
    pb::RpcResult { data: r.data }
}

pub(crate) fn channels_result(r: rs::ChannelsResult) -> pb::ChannelsResult {
    pb::ChannelsResult {
        channels: r
            .channels
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    pb::ChannelInfo {
                        num_clients: v.num_clients,
                    },
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_picks_the_first_method_in_executor_order() {
        let both = pb::Command {
            channels: Some(pb::ChannelsRequest::default()),
            publish: Some(pb::PublishRequest {
                channel: "a".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let map_only = pb::Command {
            map_publish: Some(pb::MapPublishRequest::default()),
            ..Default::default()
        };
        let req = batch(pb::BatchRequest {
            commands: vec![both, map_only, pb::Command::default()],
            parallel: true,
        });
        assert!(req.parallel);
        assert!(matches!(&req.commands[0], BatchItem::Command(c) if c.method() == "publish"));
        assert!(matches!(req.commands[1], BatchItem::Unknown));
        assert!(matches!(req.commands[2], BatchItem::Unknown));
    }

    #[test]
    fn replies_fill_the_method_field_or_error() {
        let out = batch_result(gyre_api::BatchResult {
            replies: vec![
                Reply(Ok(CommandResult::Subscribe(rs::SubscribeResult {}))),
                Reply(Err(ApiError::NOT_FOUND)),
            ],
        });
        // An empty result is still present on the wire, as Go sets a non-nil pointer.
        assert_eq!(out.replies[0].subscribe, Some(pb::SubscribeResult {}));
        assert_eq!(out.replies[0].error, None);
        assert_eq!(
            out.replies[1].error,
            Some(pb::Error {
                code: 104,
                message: "not found".into()
            })
        );
    }
}
