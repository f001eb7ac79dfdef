//! [`Handler`]: the live configuration and token verifiers behind gyre-core's [`ClientHandler`].
//! Every event reads the current configuration snapshot once and delegates to a pure decision
//! function; only single-connection eviction talks to the node.

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use async_trait::async_trait;

use gyre_config::SharedConfig;
use gyre_core::{
    ClientHandler, ClientRef, ConnectingEvent, ConnectingReply, Disconnect, HandlerError, HistoryEvent, Node,
    PublishEvent, PublishReply, RefreshEvent, RefreshReply, RpcEvent, RpcReply, SubRefreshEvent,
    SubRefreshReply, SubscribeEvent, SubscribeReply, SubscriptionSource, Target,
};

use crate::channel_ops::{decide_history, decide_presence, decide_publish, PublishDecision};
use crate::connect::{authenticate, complete_connect, single_connection_channel};
use crate::permissions::Caller;
use crate::proxy::{unusable, CallSite, Kind, Meter, Proxies};
use crate::proxy_events;
use crate::refresh::decide_refresh;
use crate::rpc::{decide_rpc, RpcDecision};
use crate::stream_proxy::{self, Streams};
use crate::subscribe::{decide_sub_refresh, decide_subscribe, finish_subscribe, SubscribeDecision};
use crate::tokens::{SetupError, Verifiers};

/// Centrifugo's client handler for Gyre.
pub struct Handler {
    config: SharedConfig,
    verifiers: ArcSwap<Verifiers>,
    /// Rebuilt with the verifiers on reload; one HTTP connection pool for all of them.
    proxies: ArcSwap<Proxies>,
    proxy_client: gyre_proxy::ProxyHttpClient,
    node: OnceLock<Node>,
    /// Open subscribe streams (subscribe stream proxies), cancelled with their subscription.
    streams: Streams,
}

impl Handler {
    /// Builds the token verifiers from the current snapshot.
    pub fn new(config: SharedConfig) -> Result<Handler, SetupError> {
        let verifiers = Verifiers::from_config(&config.load().config.client)?;
        let proxy_client = gyre_proxy::ProxyHttpClient::new();
        let proxies = Proxies::from_config(&config.load().config, &proxy_client);
        Ok(Handler {
            config,
            verifiers: ArcSwap::from_pointee(verifiers),
            proxies: ArcSwap::from_pointee(proxies),
            proxy_client,
            node: OnceLock::new(),
            streams: Streams::default(),
        })
    }

    /// Rebuilds the token verifiers from the current snapshot (SIGHUP). On error the previous
    /// verifiers stay in place.
    pub fn reload(&self) -> Result<(), SetupError> {
        let verifiers = Verifiers::from_config(&self.config.load().config.client)?;
        self.verifiers.store(Arc::new(verifiers));
        let proxies = Proxies::from_config(&self.config.load().config, &self.proxy_client);
        self.proxies.store(Arc::new(proxies));
        Ok(())
    }

    /// Gives the handler its node (created after the handler, since the node owns the handler).
    /// Needed for `single_connection`; a second call is ignored.
    pub fn set_node(&self, node: Node) {
        if self.node.set(node).is_err() {
            tracing::warn!("client handler node already set");
        }
    }

    /// The node's observer, for proxy metrics (absent before `set_node`).
    fn observer(&self) -> Option<Arc<dyn gyre_core::Observer>> {
        self.node.get().map(Node::observer)
    }

    fn call_site(&self) -> CallSite {
        CallSite {
            proxies: self.proxies.load_full(),
            observer: self.observer(),
        }
    }

    /// Disconnects the user's other connections (3504) when its personal channel already has
    /// presence. Failures are 3004, as in Centrifugo.
    async fn evict_other_connections(
        &self,
        channel: &str,
        user: &str,
        client_id: &str,
    ) -> Result<(), HandlerError> {
        let Some(node) = self.node.get() else {
            tracing::error!("single connection mode needs the node: set_node was not called");
            return Err(Disconnect::SERVER_ERROR.into());
        };
        let stats = node.presence_stats(channel).await.map_err(|e| {
            tracing::error!(error = %e, channel, user, "error calling presence stats in connecting");
            HandlerError::from(Disconnect::SERVER_ERROR)
        })?;
        if stats.num_clients == 0 {
            return Ok(());
        }
        let target = Target {
            user: user.to_owned(),
            ..Default::default()
        };
        node.disconnect(target, Disconnect::CONNECTION_LIMIT, &[client_id.to_owned()])
            .await
            .map_err(|e| {
                tracing::error!(error = %e, user, "error disconnecting user in connecting");
                HandlerError::from(Disconnect::SERVER_ERROR)
            })
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler").finish_non_exhaustive()
    }
}

fn caller<'a>(client: &'a ClientRef, user: &'a str) -> Caller<'a> {
    Caller {
        user,
        client_id: client.id(),
    }
}

#[async_trait]
impl ClientHandler for Handler {
    async fn on_connecting(&self, event: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        let snapshot = self.config.load_full();
        // Without a token, an enabled connect proxy is asked first (server.md §4.1 order).
        let mut proxied = None;
        if event.token.is_empty() {
            let proxies = self.proxies.load_full();
            if let Some(proxy) = proxies.connect() {
                let proxy = proxy.map_err(|why| unusable("connect", why))?;
                let observer = self.observer();
                let meter = Meter::new(observer.as_deref(), "default", proxy);
                proxied = Some(proxy_events::connect(&snapshot, proxy, meter, &event).await?);
            }
        }
        let (auth, data) = match proxied {
            Some(proxy_events::ProxyConnect {
                auth: Some(auth),
                data,
            }) => (auth, data),
            _ => {
                let verifiers = self.verifiers.load();
                (
                    authenticate(&snapshot, &verifiers.now(), &event)?,
                    bytes::Bytes::new(),
                )
            }
        };
        if let Some(channel) = single_connection_channel(&snapshot, &auth) {
            self.evict_other_connections(&channel, &auth.credentials.user, &event.client_id)
                .await?;
        }
        let mut reply = complete_connect(&snapshot, auth, &event)?;
        reply.data = data;
        Ok(reply)
    }

    async fn on_refresh(
        &self,
        client: &ClientRef,
        event: RefreshEvent,
    ) -> Result<RefreshReply, HandlerError> {
        if event.token.is_empty() {
            // Server-side refresh: the refresh proxy decides; without one the connection ends.
            let proxies = self.proxies.load_full();
            return match proxies.refresh() {
                Some(proxy) => {
                    let proxy = proxy.map_err(|why| unusable("refresh", why))?;
                    let observer = self.observer();
                    let meter = Meter::new(observer.as_deref(), "default", proxy);
                    proxy_events::refresh(proxy, meter, client, &client.user()).await
                }
                None => Ok(RefreshReply {
                    expired: true,
                    ..Default::default()
                }),
            };
        }
        let snapshot = self.config.load_full();
        let user = client.user();
        let connect_channels: Vec<String> = client
            .channel_sources()
            .into_iter()
            .filter(|(_, source)| *source == SubscriptionSource::ConnectionToken)
            .map(|(channel, _)| channel)
            .collect();
        let verifiers = self.verifiers.load();
        decide_refresh(
            &snapshot,
            &verifiers.now(),
            caller(client, &user),
            &event.token,
            &|channel| client.is_subscribed(channel),
            &connect_channels,
        )
    }

    async fn on_subscribe(
        &self,
        client: &ClientRef,
        event: SubscribeEvent,
    ) -> Result<SubscribeReply, HandlerError> {
        let snapshot = self.config.load_full();
        let user = client.user();
        let decision = {
            let verifiers = self.verifiers.load();
            decide_subscribe(&snapshot, &verifiers.now(), caller(client, &user), &event)?
        };
        match decision {
            SubscribeDecision::Reply(reply) => Ok(reply),
            SubscribeDecision::Proxy(ns) => {
                let name = &ns.subscribe_proxy_name;
                let site = self.call_site();
                let (proxy, meter) = site.proxy(Kind::Subscribe, name, "subscribe")?;
                let options = proxy_events::subscribe(
                    &snapshot,
                    proxy,
                    meter,
                    client,
                    &user,
                    ns,
                    &event.channel,
                    &event.data,
                )
                .await?;
                finish_subscribe(&snapshot, ns, caller(client, &user), &event, options)
            }
            SubscribeDecision::Stream(ns) => {
                let name = &ns.subscribe_stream_proxy_name;
                let site = self.call_site();
                let (proxy, meter) = site.proxy(Kind::SubscribeStream, name, "subscribe_stream")?;
                stream_proxy::subscribe(
                    &self.streams,
                    &snapshot,
                    proxy,
                    meter,
                    client,
                    &user,
                    ns,
                    &event.channel,
                    &event.data,
                )
                .await
            }
        }
    }

    async fn on_sub_refresh(
        &self,
        client: &ClientRef,
        event: SubRefreshEvent,
    ) -> Result<SubRefreshReply, HandlerError> {
        let snapshot = self.config.load_full();
        let user = client.user();
        if event.token.is_empty() {
            if let Ok(resolved) = snapshot.channels.resolve(&event.channel) {
                let ns = resolved.options;
                if ns.sub_refresh_proxy_enabled {
                    let site = self.call_site();
                    let (proxy, meter) =
                        site.proxy(Kind::SubRefresh, &ns.sub_refresh_proxy_name, "sub_refresh")?;
                    return proxy_events::sub_refresh(proxy, meter, client, &user, &event.channel).await;
                }
            }
        }
        let verifiers = self.verifiers.load();
        decide_sub_refresh(&snapshot, &verifiers.now(), caller(client, &user), &event)
    }

    async fn on_publish(
        &self,
        client: &ClientRef,
        event: PublishEvent,
    ) -> Result<PublishReply, HandlerError> {
        let snapshot = self.config.load_full();
        let user = client.user();
        let subscribed = client.is_subscribed(&event.channel);
        let decision = decide_publish(
            &snapshot,
            caller(client, &user),
            subscribed,
            &event.channel,
            &event.data,
        )?;
        match decision {
            PublishDecision::Reply(reply) => Ok(*reply),
            PublishDecision::Stream => {
                stream_proxy::publish(&self.streams, client, &event.channel, event.data).await
            }
            PublishDecision::Proxy(ns) => {
                let name = &ns.publish_proxy_name;
                let site = self.call_site();
                let (proxy, meter) = site.proxy(Kind::Publish, name, "publish")?;
                proxy_events::publish(
                    &snapshot,
                    proxy,
                    meter,
                    client,
                    &user,
                    ns,
                    &event.channel,
                    &event.data,
                )
                .await
            }
        }
    }

    async fn on_rpc(&self, client: &ClientRef, event: RpcEvent) -> Result<RpcReply, HandlerError> {
        let snapshot = self.config.load_full();
        let decision = decide_rpc(&snapshot.config.rpc, &event.method)?;
        match decision {
            RpcDecision::Reply(reply) => Ok(reply),
            RpcDecision::Proxy(name) => {
                let site = self.call_site();
                let (proxy, meter) = site.proxy(Kind::Rpc, name, "rpc")?;
                let user = client.user();
                proxy_events::rpc(proxy, meter, client, &user, &event.method, &event.data).await
            }
        }
    }

    async fn on_presence(&self, client: &ClientRef, channel: &str) -> Result<(), HandlerError> {
        let snapshot = self.config.load_full();
        let user = client.user();
        decide_presence(
            &snapshot,
            caller(client, &user),
            client.is_subscribed(channel),
            channel,
        )
    }

    async fn on_presence_stats(&self, client: &ClientRef, channel: &str) -> Result<(), HandlerError> {
        let snapshot = self.config.load_full();
        let user = client.user();
        decide_presence(
            &snapshot,
            caller(client, &user),
            client.is_subscribed(channel),
            channel,
        )
    }

    async fn on_history(&self, client: &ClientRef, event: &HistoryEvent) -> Result<(), HandlerError> {
        let snapshot = self.config.load_full();
        let user = client.user();
        let subscribed = client.is_subscribed(&event.channel);
        decide_history(&snapshot, caller(client, &user), subscribed, &event.channel)
    }

    fn on_unsubscribe(&self, client: &ClientRef, channel: &str) {
        self.streams.remove(client.id(), channel);
    }

    fn on_disconnect(&self, client: &ClientRef, _disconnect: &Disconnect) {
        self.streams.remove_client(client.id());
    }
}
