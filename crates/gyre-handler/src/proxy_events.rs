//! Connect, subscribe, publish and RPC decided by the backend through a proxy.

use std::collections::HashMap;

use bytes::Bytes;
use gyre_config::{ChannelOptions, Snapshot};
use gyre_core::{
    ClientRef, ConnectingEvent, Credentials, HandlerError, PublishReply, RefreshReply, RpcReply,
    SubRefreshReply, SubscribeOptions, SubscriptionSource,
};
use gyre_jwt::SubscribeOverride;
use gyre_proxy::{
    ConnectRequest, Outcome, Proxy as Backend, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest,
    SubscribeOptionOverride, SubscribeRequest,
};

use crate::connect::Authenticated;
use crate::options::{namespace_subscribe_options, publish_options, server_side_subscribe_options};
use crate::permissions::channel_error;
use crate::proxy::{bytes_of, call_context, common, context, data_fields, meta_field, outcome, Meter};

/// What the connect proxy decided: credentials (or none: the usual anonymous rules apply) and
/// the data for the client's connect result.
pub(crate) struct ProxyConnect {
    pub(crate) auth: Option<Authenticated>,
    pub(crate) data: Bytes,
}

pub(crate) async fn connect(
    snapshot: &Snapshot,
    proxy: &Backend,
    meter: Meter<'_>,
    event: &ConnectingEvent,
) -> Result<ProxyConnect, HandlerError> {
    let c = common(proxy, &event.client_id, &event.transport);
    let (data, b64data) = data_fields(proxy, &event.data)?;
    let request = ConnectRequest {
        client: c.client,
        transport: c.transport,
        protocol: c.protocol,
        encoding: c.encoding,
        data,
        b64data,
        name: event.name.clone(),
        version: event.version.clone(),
        channels: event.subs.keys().cloned().collect(),
    };
    let ctx = call_context(&event.transport, event.headers.clone());
    let Some(result) = outcome(
        "connect",
        meter.call("connect", proxy.connect(&request, &ctx)).await,
    )?
    else {
        return Ok(ProxyConnect {
            auth: None,
            data: Bytes::new(),
        });
    };
    let info = bytes_of("connect", result.info_bytes())?.unwrap_or_default();
    let data = bytes_of("connect", result.data_bytes())?.unwrap_or_default();
    let mut subscriptions = HashMap::new();
    for channel in &result.channels {
        let ns = snapshot.channels.resolve(channel).map_err(channel_error)?.options;
        subscriptions.insert(
            channel.clone(),
            server_side_subscribe_options(snapshot, ns, &SubscribeOverride::default()),
        );
    }
    for (channel, sub) in &result.subs {
        let ns = snapshot.channels.resolve(channel).map_err(channel_error)?.options;
        let mut options = server_side_subscribe_options(snapshot, ns, &overrides(sub.r#override.as_ref()));
        options.channel_info = bytes_of("connect", sub.info_bytes())?.unwrap_or_default();
        options.data = bytes_of("connect", sub.data_bytes())?.unwrap_or_default();
        subscriptions.insert(channel.clone(), options);
    }
    let meta = result
        .meta
        .as_ref()
        .map(|m| Bytes::copy_from_slice(m.get().as_bytes()));
    Ok(ProxyConnect {
        auth: Some(Authenticated {
            credentials: Credentials {
                user: result.user,
                expire_at: result.expire_at,
                info,
            },
            subscriptions,
            meta,
            from_handler: true,
        }),
        data,
    })
}

/// A subscription the backend allowed: namespace defaults with its overrides, info, data and
/// expiry.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn subscribe(
    snapshot: &Snapshot,
    proxy: &Backend,
    meter: Meter<'_>,
    client: &ClientRef,
    user: &str,
    ns: &ChannelOptions,
    channel: &str,
    data: &[u8],
) -> Result<SubscribeOptions, HandlerError> {
    let request = subscribe_request(proxy, client, user, channel, data)?;
    let result = outcome(
        "subscribe",
        meter
            .call("subscribe", proxy.subscribe(&request, &context(client)))
            .await,
    )?
    .unwrap_or_default();
    let mut options = namespace_subscribe_options(
        snapshot,
        ns,
        &overrides(result.r#override.as_ref()),
        SubscriptionSource::Client,
    );
    options.expire_at = result.expire_at;
    options.channel_info = bytes_of("subscribe", result.info_bytes())?.unwrap_or_default();
    options.data = bytes_of("subscribe", result.data_bytes())?.unwrap_or_default();
    Ok(options)
}

/// The request of a subscribe proxy and of a subscribe stream proxy.
pub(crate) fn subscribe_request(
    proxy: &Backend,
    client: &ClientRef,
    user: &str,
    channel: &str,
    data: &[u8],
) -> Result<SubscribeRequest, HandlerError> {
    let c = common(proxy, client.id(), client.transport());
    let (data, b64data) = data_fields(proxy, data)?;
    Ok(SubscribeRequest {
        client: c.client,
        transport: c.transport,
        protocol: c.protocol,
        encoding: c.encoding,
        user: user.to_owned(),
        channel: channel.to_owned(),
        token: String::new(),
        meta: meta_field(proxy, client.meta().as_ref()),
        data,
        b64data,
    })
}

/// A publication the backend allowed, possibly with its data replaced. The core then publishes
/// it with the client's info attached.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish(
    snapshot: &Snapshot,
    proxy: &Backend,
    meter: Meter<'_>,
    client: &ClientRef,
    user: &str,
    ns: &ChannelOptions,
    channel: &str,
    data: &[u8],
) -> Result<PublishReply, HandlerError> {
    let c = common(proxy, client.id(), client.transport());
    let (wire, b64data) = data_fields(proxy, data)?;
    let request = PublishRequest {
        client: c.client,
        transport: c.transport,
        protocol: c.protocol,
        encoding: c.encoding,
        user: user.to_owned(),
        channel: channel.to_owned(),
        data: wire,
        b64data,
        meta: meta_field(proxy, client.meta().as_ref()),
    };
    let result = outcome(
        "publish",
        meter
            .call("publish", proxy.publish(&request, &context(client)))
            .await,
    )?
    .unwrap_or_default();
    let data = bytes_of("publish", result.data_bytes())?;
    let mut options = publish_options(snapshot, ns);
    if result.skip_history {
        options.history_size = 0;
        options.history_ttl = std::time::Duration::ZERO;
    }
    if !result.idempotency_key.is_empty() {
        options.idempotency_key = Some(result.idempotency_key);
    }
    if !result.tags.is_empty() {
        options.tags = result.tags;
    }
    Ok(PublishReply {
        options,
        data,
        result: None,
    })
}

pub(crate) async fn rpc(
    proxy: &Backend,
    meter: Meter<'_>,
    client: &ClientRef,
    user: &str,
    method: &str,
    data: &[u8],
) -> Result<RpcReply, HandlerError> {
    let c = common(proxy, client.id(), client.transport());
    let (wire, b64data) = data_fields(proxy, data)?;
    let request = RPCRequest {
        client: c.client,
        transport: c.transport,
        protocol: c.protocol,
        encoding: c.encoding,
        user: user.to_owned(),
        method: method.to_owned(),
        data: wire,
        b64data,
        meta: meta_field(proxy, client.meta().as_ref()),
    };
    let result = outcome(
        "rpc",
        meter.call("rpc", proxy.rpc(&request, &context(client))).await,
    )?
    .unwrap_or_default();
    Ok(RpcReply {
        data: bytes_of("rpc", result.data_bytes())?.unwrap_or_default(),
    })
}

/// How long a connection or subscription lives on when its refresh call failed: backend blips
/// must not drop clients (Centrifugo's fixed minute).
const REFRESH_RETRY_SECS: i64 = 60;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What a refresh call decided, for connections and subscriptions alike.
struct Refreshed {
    expired: bool,
    expire_at: i64,
    info: Option<Bytes>,
    /// New connection meta (connection refresh only).
    meta: Option<Bytes>,
}

/// The refresh results' common fields.
trait RefreshResultFields {
    fn expired(&self) -> bool;
    fn expire_at(&self) -> i64;
    fn info(&self) -> Result<Option<Vec<u8>>, gyre_proxy::PayloadError>;
    fn meta(&self) -> Option<Bytes> {
        None
    }
}

impl RefreshResultFields for gyre_proxy::RefreshResult {
    fn expired(&self) -> bool {
        self.expired
    }
    fn expire_at(&self) -> i64 {
        self.expire_at
    }
    fn info(&self) -> Result<Option<Vec<u8>>, gyre_proxy::PayloadError> {
        self.info_bytes()
    }
    fn meta(&self) -> Option<Bytes> {
        self.meta
            .as_ref()
            .map(|m| Bytes::copy_from_slice(m.get().as_bytes()))
    }
}

impl RefreshResultFields for gyre_proxy::SubRefreshResult {
    fn expired(&self) -> bool {
        self.expired
    }
    fn expire_at(&self) -> i64 {
        self.expire_at
    }
    fn info(&self) -> Result<Option<Vec<u8>>, gyre_proxy::PayloadError> {
        self.info_bytes()
    }
}

/// A failed call grants a minute (backend blips must not drop clients); no result (errors and
/// disconnects in the reply are not acted on, as in Centrifugo) or `expired` means expired.
fn refreshed<R: RefreshResultFields>(
    event: &'static str,
    client: &ClientRef,
    call: Result<Outcome<R>, gyre_proxy::ProxyError>,
) -> Result<Refreshed, HandlerError> {
    let expired = Refreshed {
        expired: true,
        expire_at: 0,
        info: None,
        meta: None,
    };
    match call {
        Err(e) => {
            tracing::error!(error = %e, client = client.id(), event, "error proxying refresh");
            Ok(Refreshed {
                expired: false,
                expire_at: unix_now() + REFRESH_RETRY_SECS,
                info: None,
                meta: None,
            })
        }
        Ok(Outcome::Result(Some(result))) if !result.expired() => Ok(Refreshed {
            expired: false,
            expire_at: result.expire_at(),
            info: bytes_of(event, result.info())?,
            meta: result.meta(),
        }),
        Ok(Outcome::Result(Some(_))) => Ok(expired),
        Ok(_) => {
            tracing::error!(client = client.id(), event, "no refresh result found");
            Ok(expired)
        }
    }
}

/// Server-side connection refresh (see [`refreshed`] for the failure rules).
pub(crate) async fn refresh(
    proxy: &Backend,
    meter: Meter<'_>,
    client: &ClientRef,
    user: &str,
) -> Result<RefreshReply, HandlerError> {
    let c = common(proxy, client.id(), client.transport());
    let request = RefreshRequest {
        client: c.client,
        transport: c.transport,
        protocol: c.protocol,
        encoding: c.encoding,
        user: user.to_owned(),
        meta: meta_field(proxy, client.meta().as_ref()),
    };
    let call = meter
        .call("refresh", proxy.refresh(&request, &context(client)))
        .await;
    let r = refreshed("refresh", client, call)?;
    Ok(RefreshReply {
        expired: r.expired,
        expire_at: r.expire_at,
        info: r.info,
        meta: r.meta,
    })
}

/// Server-side subscription refresh, with the same rules as [`refresh`].
pub(crate) async fn sub_refresh(
    proxy: &Backend,
    meter: Meter<'_>,
    client: &ClientRef,
    user: &str,
    channel: &str,
) -> Result<SubRefreshReply, HandlerError> {
    let c = common(proxy, client.id(), client.transport());
    let request = SubRefreshRequest {
        client: c.client,
        transport: c.transport,
        protocol: c.protocol,
        encoding: c.encoding,
        user: user.to_owned(),
        channel: channel.to_owned(),
        meta: meta_field(proxy, client.meta().as_ref()),
    };
    let call = meter
        .call("sub_refresh", proxy.sub_refresh(&request, &context(client)))
        .await;
    let r = refreshed("sub_refresh", client, call)?;
    Ok(SubRefreshReply {
        expired: r.expired,
        expire_at: r.expire_at,
        info: r.info,
    })
}

pub(crate) fn overrides(o: Option<&SubscribeOptionOverride>) -> SubscribeOverride {
    let Some(o) = o else {
        return SubscribeOverride::default();
    };
    let v = |b: &Option<gyre_proxy::BoolValue>| b.as_ref().map(|b| b.value);
    SubscribeOverride {
        presence: v(&o.presence),
        join_leave: v(&o.join_leave),
        force_push_join_leave: v(&o.force_push_join_leave),
        force_recovery: v(&o.force_recovery),
        force_positioning: v(&o.force_positioning),
    }
}
