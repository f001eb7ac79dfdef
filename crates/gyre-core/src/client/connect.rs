//! The `connect` command: authentication through the handler, limits, the connect result, and the
//! server-side subscriptions established before the reply.

use std::collections::HashMap;

use super::session::Session;
use super::state::{ChannelState, Status};
use super::subscribe::Established;
use super::timers::{first_tick, MAX_TTL_SECS};
use crate::broker::StreamPosition;
use crate::clock;
use crate::disconnect::Disconnect;
use crate::error::Error;
use crate::handler::{ConnectingEvent, HandlerError, SubscribeReply};
use gyre_protocol::{Connect, ConnectRequest, ConnectResult, Push, Reply, SubscribeRequest};

impl Session {
    pub(super) async fn handle_connect(&mut self, id: u32, req: ConnectRequest) -> Result<(), HandlerError> {
        if self.authenticated {
            tracing::debug!(client = %self.client.id, "second connect");
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let config = &self.node.config;
        let transport = self.client.transport.clone();
        let event = ConnectingEvent {
            client_id: self.client.id.to_string(),
            transport: transport.clone(),
            token: req.token.clone(),
            data: req.data.clone(),
            name: req.name.clone(),
            version: req.version.clone(),
            headers: req.headers.clone(),
            subs: req.subs.clone(),
        };
        let reply = self.node.handler.on_connecting(event).await?;

        // Transports that ping natively (WebSocket frames) need no application-level ping.
        if transport.app_level_ping {
            self.ping_interval = config.ping_interval.filter(|d| !d.is_zero());
            self.pong_timeout = config.pong_timeout.filter(|d| !d.is_zero());
        }
        let subscriptions: Vec<_> = reply
            .subscriptions
            .into_iter()
            .filter(|(ch, _)| !ch.is_empty())
            .collect();
        if config.client_channel_limit > 0 && subscriptions.len() > config.client_channel_limit {
            return Err(Disconnect::CHANNEL_LIMIT.into());
        }

        let now = clock::unix_secs();
        let credentials = reply.credentials;
        let exp = credentials.expire_at.min(now + MAX_TTL_SECS);
        let user = credentials.user.clone();
        {
            let mut state = self.client.state.lock();
            state.user = credentials.user;
            state.info = credentials.info;
            state.meta = reply.meta;
            state.exp = exp.max(0);
        }
        if config.user_connection_limit > 0
            && !user.is_empty()
            && self.node.hub.num_user_connections(&user) >= config.user_connection_limit
        {
            tracing::info!(user, client = %self.client.id, "user connection limit reached");
            return Err(Disconnect::CONNECTION_LIMIT.into());
        }
        let mut ttl = 0;
        if exp > 0 {
            if exp < now {
                return Err(Error::EXPIRED.into());
            }
            ttl = (exp - now) as u32;
        }
        self.client_side_refresh = reply.client_side_refresh;
        self.client_name = req.name.clone();
        self.client_version = req.version.clone();

        let mut result = ConnectResult {
            client: self.client.id.to_string(),
            version: config.version.clone(),
            data: reply.data,
            ping: self.ping_interval.map_or(0, |d| d.as_secs() as u32),
            pong: !transport.unidirectional && self.pong_timeout.is_some(),
            ..Default::default()
        };
        // Only a client that refreshes itself needs to know when it expires.
        if self.client_side_refresh && exp > 0 {
            result.expires = true;
            result.ttl = ttl;
        }
        if transport.unidirectional || transport.emulation {
            result.session = self.client.session.clone();
        }
        if transport.emulation {
            result.node = self.node.id.clone();
        }
        if config.connect_include_server_time {
            result.time = clock::unix_millis();
        }

        // From here the connection is reachable by the server API.
        self.authenticated = true;
        self.node.hub.add_client(&user, self.client.clone());
        let reserved: Vec<u64> = subscriptions.iter().map(|_| self.next_gen()).collect();
        {
            let mut state = self.client.state.lock();
            for ((channel, _), gen) in subscriptions.iter().zip(&reserved) {
                state
                    .channels
                    .insert(channel.clone(), ChannelState::reserved(*gen));
            }
        }
        let mut established: Vec<Established> = Vec::with_capacity(subscriptions.len());
        let mut subs = HashMap::with_capacity(subscriptions.len());
        for ((channel, options), gen) in subscriptions.into_iter().zip(reserved.iter().copied()) {
            let sub_req =
                server_side_request(&channel, req.subs.get(&channel), options.recover_since.as_ref());
            let reply = SubscribeReply {
                options,
                client_side_refresh: false,
                tag: 0,
            };
            match self.establish(&channel, gen, reply, &sub_req, true).await {
                Ok(done) => {
                    subs.insert(channel, done.result.clone());
                    established.push(done);
                }
                Err(e) => {
                    // Undo every connect-time subscription, established or merely reserved.
                    let channels: Vec<String> = {
                        let state = self.client.state.lock();
                        state.channels.keys().cloned().collect()
                    };
                    for channel in channels {
                        self.remove_subscription(&channel, None).await;
                    }
                    return Err(e);
                }
            }
        }
        result.subs = subs;

        if transport.unidirectional {
            let push = Push {
                connect: Some(connect_push(result)),
                ..Default::default()
            };
            self.client.send_push(push, "connect");
        } else {
            let reply = Reply {
                connect: Some(result),
                ..Default::default()
            };
            self.write_reply(id, reply, "connect");
        }
        for done in &established {
            self.commit(&done.channel, done.gen);
        }
        self.client.state.lock().status = Status::Connected;
        let observer = self.node.observer();
        observer.connection_accepted(transport.name, &self.client_name, &self.client_version);
        for done in established {
            observer.subscription_accepted(&self.client_name);
            self.publish_join(&done).await;
        }
        self.schedule_after_connect();
        Ok(())
    }

    fn schedule_after_connect(&mut self) {
        self.timers.stale = None;
        let presence_interval = self.node.config.presence_update_interval;
        if !presence_interval.is_zero() {
            self.timers.presence = Some(first_tick(presence_interval));
        }
        if let Some(interval) = self.ping_interval {
            self.timers.ping = Some(first_tick(interval));
        }
        self.schedule_expire();
        self.schedule_sub_expire();
        self.schedule_position_check();
    }
}

/// The subscribe request a connect-time server-side subscription acts on: the client may ask to
/// recover it (connect `subs`), and may ask for delta. A position the handler chose
/// (`SubscribeOptions::recover_since`) wins over the one the client sent.
fn server_side_request(
    channel: &str,
    requested: Option<&SubscribeRequest>,
    recover_since: Option<&StreamPosition>,
) -> SubscribeRequest {
    let mut req = SubscribeRequest {
        channel: channel.to_string(),
        ..Default::default()
    };
    if let Some(r) = requested {
        req.recover = r.recover;
        req.offset = r.offset;
        req.epoch = r.epoch.clone();
        req.delta = r.delta.clone();
    }
    if let Some(since) = recover_since {
        req.recover = true;
        req.offset = since.offset;
        req.epoch = since.epoch.clone();
    }
    req
}

/// The connect result as the first push of a unidirectional connection.
fn connect_push(r: ConnectResult) -> Connect {
    Connect {
        client: r.client,
        version: r.version,
        data: r.data,
        subs: r.subs,
        expires: r.expires,
        ttl: r.ttl,
        ping: r.ping,
        pong: r.pong,
        session: r.session,
        node: r.node,
        time: r.time,
    }
}
