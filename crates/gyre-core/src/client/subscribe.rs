//! Subscriptions: the `subscribe` command, server-side subscriptions (connect-time and server API),
//! and the steps they share.
//!
//! A subscription goes through three steps. *Reserve*: a `Pending` entry in the client's channels
//! with a fresh generation (duplicates and limits are checked here). *Establish*: register in the
//! hub (and broker), add presence, then read the stream position or recover from history;
//! publications the broker delivers meanwhile are held in the pending entry. *Commit*: after the
//! reply (or push) is queued, the held publications are delivered behind it — on a positioned
//! subscription only those newer than the position established, so that none is lost or
//! duplicated — and the entry turns `Live`. A failure at any step is undone by removing the
//! entry, which undoes exactly what was recorded in it.
//!
//! Registering before reading is what makes this exact: every publication above the position
//! read was appended after the read, hence delivered to the hub after the registration, hence
//! held. A held publication that does not continue the position is a gap the subscribe cannot
//! repair, and the connection is closed with 3010 as the reference does for a failed merge.

use std::sync::Arc;

use super::delta;
use super::recovery;
use super::session::Session;
use super::state::{advance_position, ChannelState, ClientState, Phase, Status, Verdict};
use crate::broker::{BrokerError, StreamPosition};
use crate::disconnect::Disconnect;
use crate::error::Error;
use crate::handler::{HandlerError, SubscribeEvent, SubscribeReply};
use crate::hub::SubSettings;
use crate::node::inner::broker_error;
use crate::options::{DeltaType, RecoveryMode, SubscribeOptions};
use crate::tags_filter::{self, CompiledFilter};
use gyre_protocol::json::DataMode;
use gyre_protocol::{
    ClientInfo, FilterNode, ProtocolType, Push, Reply, Subscribe, SubscribeRequest, SubscribeResult,
};

/// Subscribe `flag` bit: fail with 112 instead of answering `recovered: false`.
const FLAG_REJECT_UNRECOVERED: i64 = 2;

/// A subscription that is established but not yet committed.
pub(super) struct Established {
    pub(super) channel: String,
    pub(super) gen: u64,
    pub(super) result: SubscribeResult,
    pub(super) info: ClientInfo,
    pub(super) emit_join_leave: bool,
}

impl Session {
    pub(super) async fn handle_subscribe(
        &mut self,
        id: u32,
        req: SubscribeRequest,
    ) -> Result<(), HandlerError> {
        if req.channel.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        if !req.delta.is_empty() && DeltaType::parse(&req.delta).is_none() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let channel = req.channel.clone();
        let gen = self.next_gen();
        {
            let mut state = self.client.state.lock();
            if state.channels.contains_key(&channel) {
                return Err(Error::ALREADY_SUBSCRIBED.into());
            }
            let limit = self.node.config.client_channel_limit;
            if limit > 0 && state.channels.len() >= limit {
                return Err(Error::LIMIT_EXCEEDED.into());
            }
            state
                .channels
                .insert(channel.clone(), ChannelState::reserved(gen));
        }
        let event = SubscribeEvent {
            channel: channel.clone(),
            token: req.token.clone(),
            data: req.data.clone(),
            positioned: req.positioned,
            recoverable: req.recoverable,
            join_leave: req.join_leave,
            delta: req.delta.clone(),
            tags_filter: req.tf.clone(),
        };
        let client = self.client.client_ref();
        let reply = match self.node.handler.on_subscribe(&client, event).await {
            Ok(reply) => reply,
            Err(e) => {
                self.remove_subscription(&channel, Some(gen)).await;
                return Err(e);
            }
        };
        let mut done = match self.establish(&channel, gen, reply, &req, false).await {
            Ok(done) => done,
            Err(e) => {
                self.remove_subscription(&channel, Some(gen)).await;
                return Err(e);
            }
        };
        // Once delta is negotiated every publication of the subscription, recovered ones
        // included, carries its data as a JSON string on the JSON protocol (protocol.md §8).
        let mode = if done.result.delta {
            DataMode::String
        } else {
            DataMode::Raw
        };
        let reply = Reply {
            subscribe: Some(std::mem::take(&mut done.result)),
            ..Default::default()
        };
        self.write_reply_with(id, reply, "subscribe", mode);
        self.commit(&channel, gen);
        self.node.observer().subscription_accepted(&self.client_name);
        self.publish_join(&done).await;
        self.schedule_sub_expire();
        self.schedule_position_check();
        Ok(())
    }

    /// Server API subscribe of this connection. Already subscribed: nothing to do.
    pub(super) async fn server_subscribe(
        &mut self,
        channel: String,
        options: SubscribeOptions,
    ) -> Result<(), Error> {
        let gen = self.next_gen();
        {
            let mut state = self.client.state.lock();
            if state.status == Status::Closed {
                return Ok(());
            }
            let limit = self.node.config.client_channel_limit;
            if limit > 0 && state.channels.len() >= limit {
                drop(state);
                self.close(Disconnect::CHANNEL_LIMIT);
                return Ok(());
            }
            if state.channels.contains_key(&channel) {
                return Ok(());
            }
            state
                .channels
                .insert(channel.clone(), ChannelState::reserved(gen));
        }
        let mut req = SubscribeRequest {
            channel: channel.clone(),
            ..Default::default()
        };
        if let Some(since) = &options.recover_since {
            req.recover = true;
            req.offset = since.offset;
            req.epoch = since.epoch.clone();
        }
        let reply = SubscribeReply {
            options,
            client_side_refresh: false,
            tag: 0,
        };
        let mut done = match self.establish(&channel, gen, reply, &req, true).await {
            Ok(done) => done,
            Err(e) => {
                self.remove_subscription(&channel, Some(gen)).await;
                return match e {
                    HandlerError::Disconnect(d) => {
                        self.close(d);
                        Ok(())
                    }
                    HandlerError::Error(e) => Err(e),
                };
            }
        };
        let r = &done.result;
        let push = Push {
            channel: channel.clone(),
            subscribe: Some(Subscribe {
                recoverable: r.recoverable,
                epoch: r.epoch.clone(),
                offset: r.offset,
                positioned: r.positioned,
                data: r.data.clone(),
            }),
            ..Default::default()
        };
        self.client.send_push(push, "subscribe");
        // The subscribe push has no room for publications (the reference drops them there, and
        // the client would silently skip them): recovered ones follow it as ordinary
        // publication pushes, before anything held during the subscribe.
        for publication in std::mem::take(&mut done.result.publications) {
            let push = Push {
                channel: channel.clone(),
                r#pub: Some(publication),
                ..Default::default()
            };
            self.client.send_push(push, "publication");
        }
        self.commit(&channel, gen);
        self.node.observer().subscription_accepted(&self.client_name);
        self.publish_join(&done).await;
        self.schedule_sub_expire();
        self.schedule_position_check();
        Ok(())
    }

    /// Registers a reserved subscription everywhere it must be and builds its result. On error the
    /// caller removes the reservation, which undoes whatever was done here.
    pub(super) async fn establish(
        &mut self,
        channel: &str,
        gen: u64,
        reply: SubscribeReply,
        req: &SubscribeRequest,
        server_side: bool,
    ) -> Result<Established, HandlerError> {
        let opts = reply.options;
        let now = crate::clock::unix_secs();
        let mut result = SubscribeResult::default();
        if opts.expire_at > 0 {
            let ttl = opts.expire_at - now;
            if ttl <= 0 {
                return Err(Error::EXPIRED.into());
            }
            if reply.client_side_refresh {
                result.expires = true;
                result.ttl = ttl as u32;
            }
        }
        result.data = opts.data.clone();
        let filter = match &req.tf {
            Some(tf) => Some(compile_filter(channel, tf, &opts)?),
            None => None,
        };
        result.delta = negotiate_delta(req, &opts, server_side);
        let positioned = opts.enable_positioning || opts.enable_recovery;
        {
            let mut state = self.client.state.lock();
            let Some(ch) = state.channels.get_mut(channel).filter(|c| c.gen == gen) else {
                return Err(Disconnect::SERVER_ERROR.into());
            };
            ch.server_side = server_side;
            ch.source = match (server_side, opts.source) {
                (true, crate::options::SubscriptionSource::Client) => {
                    crate::options::SubscriptionSource::Server
                }
                (false, _) => crate::options::SubscriptionSource::Client,
                (true, source) => source,
            };
            ch.client_side_refresh = reply.client_side_refresh;
            ch.tag = reply.tag;
            ch.emit_join_leave = opts.emit_join_leave;
            ch.push_join_leave = opts.push_join_leave;
            ch.positioned = positioned;
            ch.info = opts.channel_info.clone();
            ch.expire_at = opts.expire_at;
            ch.history_meta_ttl = opts.history_meta_ttl;
            // Known before the hub can deliver anything: held publications take the delta form.
            ch.delta = result.delta;
        }
        let settings = SubSettings {
            filter: filter.clone(),
        };
        if let Err(e) = self
            .node
            .add_subscription(channel, &self.client, gen, settings)
            .await
        {
            tracing::warn!(channel, client = %self.client.id, error = %e, "broker subscribe failed");
            return Err(Disconnect::SERVER_ERROR.into());
        }
        let info = self.client_info(channel);
        if opts.emit_presence {
            // Recorded before the call: an add that failed half-way is still removed on cleanup.
            self.update_channel(channel, gen, |ch| ch.emit_presence = true);
            if let Err(e) = self
                .node
                .presence
                .add_presence(channel, &self.client.id, info.clone())
                .await
            {
                tracing::warn!(channel, client = %self.client.id, error = %e, "presence add failed");
                return Err(Disconnect::SERVER_ERROR.into());
            }
        }
        // Server-forced recovery exists only in cache mode: in stream mode recovering without
        // the client's position could not preserve continuity.
        let auto_cache = opts.auto_cache_recover && opts.recovery_mode == RecoveryMode::Cache;
        if positioned {
            result.positioned = true;
            result.recoverable = opts.enable_recovery;
            let mut delta_base = None;
            let (position, recovered) = if opts.enable_recovery && (req.recover || auto_cache) {
                let recovery = self.recover(channel, &opts, req, filter.as_deref()).await?;
                result.publications = recovery.publications;
                if result.delta {
                    if let Some(last) = result.publications.last() {
                        delta_base = Some(StreamPosition {
                            offset: last.offset,
                            epoch: recovery.position.epoch.clone(),
                        });
                    }
                    let json = self.client.transport.protocol == ProtocolType::Json;
                    result.publications = delta::chain(std::mem::take(&mut result.publications), json)
                        .ok_or(Disconnect::INAPPROPRIATE_PROTOCOL)?;
                }
                (recovery.position, recovery.recovered)
            } else {
                let top = recovery::stream_top(&self.node, channel, opts.history_meta_ttl)
                    .await
                    .map_err(|e| position_error(channel, e))?;
                (top, false)
            };
            result.recovered = recovered;
            result.epoch = position.epoch.clone();
            // After a successful recovery the client continues from its own offset and advances
            // while applying the recovered publications.
            result.offset = if recovered { req.offset } else { position.offset };
            let now = tokio::time::Instant::now();
            self.update_channel(channel, gen, |ch| {
                ch.position = position;
                ch.position_confirmed = now;
                ch.delta_base = delta_base;
            });
        }
        result.was_recovering = req.recover || (opts.enable_recovery && auto_cache);
        Ok(Established {
            channel: channel.to_string(),
            gen,
            result,
            info,
            emit_join_leave: opts.emit_join_leave,
        })
    }

    /// One recovery attempt from the client's position (stream or cache mode).
    async fn recover(
        &self,
        channel: &str,
        opts: &SubscribeOptions,
        req: &SubscribeRequest,
        filter: Option<&CompiledFilter>,
    ) -> Result<recovery::Recovery, HandlerError> {
        let since = StreamPosition {
            offset: req.offset,
            epoch: req.epoch.clone(),
        };
        let meta_ttl = opts.history_meta_ttl;
        let outcome = match opts.recovery_mode {
            RecoveryMode::Stream => {
                recovery::recover_stream(&self.node, channel, &since, meta_ttl, filter).await
            }
            RecoveryMode::Cache => {
                recovery::recover_cache(&self.node, channel, &since, meta_ttl, filter).await
            }
        };
        let outcome = outcome.map_err(|e| position_error(channel, e))?;
        // As in the reference, only stream recovery can be refused: in cache mode an empty cache
        // is the normal state of a channel nobody published to yet.
        if !outcome.recovered
            && opts.recovery_mode == RecoveryMode::Stream
            && req.flag & FLAG_REJECT_UNRECOVERED != 0
        {
            return Err(Error::UNRECOVERABLE_POSITION.into());
        }
        self.node
            .observer()
            .recover(outcome.recovered, !outcome.publications.is_empty());
        Ok(outcome)
    }

    /// Makes an established subscription live. The reply or push is already queued, so the
    /// publications held meanwhile go out behind it; on a positioned subscription those the client
    /// already has (from the recovery or before the position) are skipped, and one that does not
    /// continue the position is a gap found while merging: disconnect 3010, whichever side created
    /// the subscription.
    pub(super) fn commit(&self, channel: &str, gen: u64) {
        let mut state = self.client.state.lock();
        let Some(ch) = state.channels.get_mut(channel).filter(|c| c.gen == gen) else {
            return;
        };
        if !matches!(ch.phase, Phase::Pending { .. }) {
            return;
        }
        let Phase::Pending { buffer, .. } = std::mem::replace(&mut ch.phase, Phase::Live) else {
            return;
        };
        let now = tokio::time::Instant::now();
        for held in buffer {
            let verdict = if !ch.positioned || held.offset == 0 {
                Verdict::Deliver
            } else {
                advance_position(&mut ch.position, held.offset, &held.epoch)
            };
            match verdict {
                Verdict::Deliver => {
                    if ch.positioned {
                        ch.position_confirmed = now;
                    }
                    // A filtered publication only moves the position.
                    let Some(data) = held.data else {
                        continue;
                    };
                    if ch.delta {
                        // Held publications were encoded full: each one is the client's new base.
                        ch.delta_base = (held.offset > 0).then_some(StreamPosition {
                            offset: held.offset,
                            epoch: held.epoch,
                        });
                    }
                    self.client.push(data, "publication");
                }
                Verdict::Skip => {}
                Verdict::Insufficient => {
                    ch.phase = Phase::Failed;
                    drop(state);
                    tracing::debug!(channel, client = %self.client.id, "gap while merging a subscribe");
                    self.close(Disconnect::INSUFFICIENT_STATE);
                    return;
                }
            }
        }
    }

    pub(super) async fn publish_join(&self, done: &Established) {
        if !done.emit_join_leave {
            return;
        }
        self.node.observer().node_message_sent("join");
        if let Err(e) = self
            .node
            .broker
            .publish_join(&done.channel, done.info.clone())
            .await
        {
            tracing::warn!(channel = done.channel, error = %e, "publishing join failed");
        }
    }

    pub(super) fn update_channel(&self, channel: &str, gen: u64, f: impl FnOnce(&mut ChannelState)) {
        let mut state = self.client.state.lock();
        if let Some(ch) = state.channels.get_mut(channel).filter(|c| c.gen == gen) {
            f(ch);
        }
    }

    /// Who this client is in `channel` (for presence, join/leave and its publications).
    pub(super) fn client_info(&self, channel: &str) -> ClientInfo {
        let state = self.client.state.lock();
        let chan_info = state
            .channels
            .get(channel)
            .map(|c| c.info.clone())
            .unwrap_or_default();
        ClientInfo {
            user: state.user.clone(),
            client: self.client.id.to_string(),
            conn_info: state.info.clone(),
            chan_info,
        }
    }

    pub(super) fn client_info_locked(&self, state: &ClientState, ch: &ChannelState) -> ClientInfo {
        ClientInfo {
            user: state.user.clone(),
            client: self.client.id.to_string(),
            conn_info: state.info.clone(),
            chan_info: ch.info.clone(),
        }
    }
}

/// Validates and compiles a client's publication tags filter. Not allowed by the handler, or
/// malformed: error 107, the connection goes on.
fn compile_filter(
    channel: &str,
    tf: &FilterNode,
    opts: &SubscribeOptions,
) -> Result<Arc<CompiledFilter>, HandlerError> {
    if !opts.allow_tags_filter {
        tracing::debug!(channel, "tags filter not allowed");
        return Err(Error::BAD_REQUEST.into());
    }
    match tags_filter::compile(tf) {
        Ok(filter) => Ok(Arc::new(filter)),
        Err(e) => {
            tracing::debug!(channel, error = %e, "invalid tags filter");
            Err(Error::BAD_REQUEST.into())
        }
    }
}

/// Fossil delta is on when the client asked for it and the handler allows it; anything else is
/// silently full payloads. Gyre negotiates it for client-side subscriptions only: a connect
/// reply may mix delta and plain subscriptions, which its single JSON data mode cannot express,
/// and no SDK asks for delta on server-side subscriptions.
fn negotiate_delta(req: &SubscribeRequest, opts: &SubscribeOptions, server_side: bool) -> bool {
    !server_side
        && DeltaType::parse(&req.delta) == Some(DeltaType::Fossil)
        && opts.allowed_delta_types.contains(&DeltaType::Fossil)
}

/// A broker failure while reading the position or recovering. Like the reference, a failure of
/// the broker itself ends the connection (3004) while a refusal (not available, bad request) is
/// an error reply.
fn position_error(channel: &str, e: BrokerError) -> HandlerError {
    match e {
        BrokerError::Failure(_) => {
            tracing::warn!(channel, error = %e, "reading the stream position failed");
            Disconnect::SERVER_ERROR.into()
        }
        e => broker_error(e).into(),
    }
}
