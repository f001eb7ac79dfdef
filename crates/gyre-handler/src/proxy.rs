//! The backend proxies a configuration defines, built once per configuration snapshot, and the
//! mapping between the core's events and the proxy protocol: request fields in, outcomes back
//! as the core's errors and disconnects (server.md §2.4–2.5).

use std::collections::HashMap;

use bytes::Bytes;
use gyre_config::{Config, Proxy};
use gyre_core::{ClientRef, Disconnect, Error, HandlerError, ProtocolType};
use gyre_proxy::{
    encode_data, CallContext, ClientTls, DisconnectReply, ErrorReply, Outcome, Proxy as Backend, ProxyConfig,
    ProxyError, ProxyHttpClient, StatusTransform,
};
use serde_json::value::RawValue;

/// Which configured proxy serves an event: the `default` one of its kind, or a named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Subscribe,
    Publish,
    SubRefresh,
    Rpc,
    SubscribeStream,
}

/// A proxy that could not be built (unusable TLS settings or another bad option): calls to it
/// fail like an unreachable backend.
type Built = Result<Backend, String>;

/// Every proxy of one configuration snapshot, sharing one HTTP connection pool.
pub(crate) struct Proxies {
    connect: Option<Built>,
    refresh: Option<Built>,
    subscribe: Built,
    publish: Built,
    sub_refresh: Built,
    rpc: Built,
    subscribe_stream: Built,
    named: HashMap<String, Built>,
}

impl Proxies {
    pub(crate) fn from_config(config: &Config, client: &ProxyHttpClient) -> Proxies {
        let build = |proxy: &Proxy| -> Built {
            Backend::new(proxy_config(proxy), client.clone()).map_err(|e| e.to_string())
        };
        let connect = &config.client.proxy.connect;
        let refresh = &config.client.proxy.refresh;
        let proxies = Proxies {
            connect: connect.enabled.then(|| build(&connect.proxy)),
            refresh: refresh.enabled.then(|| build(&refresh.proxy)),
            subscribe: build(&config.channel.proxy.subscribe),
            publish: build(&config.channel.proxy.publish),
            sub_refresh: build(&config.channel.proxy.sub_refresh),
            rpc: build(&config.rpc.proxy),
            subscribe_stream: build(&config.channel.proxy.subscribe_stream),
            named: config
                .proxies
                .iter()
                .map(|p| (p.name.clone(), build(&p.proxy)))
                .collect(),
        };
        proxies.log_unusable(config);
        proxies
    }

    /// Says once, at load, which enabled proxies cannot work in this build.
    fn log_unusable(&self, config: &Config) {
        if let Some(Err(e)) = &self.connect {
            tracing::error!(error = %e, "connect proxy cannot be used");
        }
        if let Some(Err(e)) = &self.refresh {
            tracing::error!(error = %e, "refresh proxy cannot be used");
        }
        let mut used: Vec<(Kind, &str)> = Vec::new();
        for ns in std::iter::once(&config.channel.without_namespace)
            .chain(config.channel.namespaces.iter().map(|n| &n.options))
        {
            if ns.subscribe_proxy_enabled {
                used.push((Kind::Subscribe, &ns.subscribe_proxy_name));
            }
            if ns.publish_proxy_enabled {
                used.push((Kind::Publish, &ns.publish_proxy_name));
            }
            if ns.sub_refresh_proxy_enabled {
                used.push((Kind::SubRefresh, &ns.sub_refresh_proxy_name));
            }
            if ns.subscribe_stream_proxy_enabled {
                used.push((Kind::SubscribeStream, &ns.subscribe_stream_proxy_name));
            }
        }
        for rpc in std::iter::once(&config.rpc.without_namespace)
            .chain(config.rpc.namespaces.iter().map(|n| &n.options))
        {
            if rpc.proxy_enabled {
                used.push((Kind::Rpc, &rpc.proxy_name));
            }
        }
        for (kind, name) in used {
            if let Err(e) = self.get(kind, name) {
                tracing::error!(error = %e, ?kind, name, "proxy cannot be used");
            }
        }
    }

    pub(crate) fn connect(&self) -> Option<Result<&Backend, String>> {
        self.connect.as_ref().map(|b| b.as_ref().map_err(Clone::clone))
    }

    pub(crate) fn refresh(&self) -> Option<Result<&Backend, String>> {
        self.refresh.as_ref().map(|b| b.as_ref().map_err(Clone::clone))
    }

    pub(crate) fn get(&self, kind: Kind, name: &str) -> Result<&Backend, String> {
        let built = if name.is_empty() || name == "default" {
            match kind {
                Kind::Subscribe => &self.subscribe,
                Kind::Publish => &self.publish,
                Kind::SubRefresh => &self.sub_refresh,
                Kind::Rpc => &self.rpc,
                Kind::SubscribeStream => &self.subscribe_stream,
            }
        } else {
            self.named
                .get(name)
                .ok_or_else(|| format!("no proxy named {name:?}"))?
        };
        built.as_ref().map_err(Clone::clone)
    }
}

fn proxy_config(proxy: &Proxy) -> ProxyConfig {
    let mut config = ProxyConfig::new(proxy.endpoint.clone());
    config.timeout = proxy.timeout.as_std();
    config.http_headers = proxy.http_headers.clone();
    config.emulated_headers = proxy.emulated_headers.clone();
    config.grpc_metadata = proxy.grpc_metadata.clone();
    config.static_headers = proxy
        .http
        .static_headers
        .0
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    config.status_to_code_transforms = proxy
        .http
        .status_to_code_transforms
        .iter()
        .map(|t| StatusTransform {
            status_code: u16::try_from(t.status_code).unwrap_or(0),
            to_error: (t.to_error.code > 0).then(|| ErrorReply {
                code: t.to_error.code,
                message: t.to_error.message.clone(),
                temporary: t.to_error.temporary,
            }),
            to_disconnect: (t.to_disconnect.code > 0).then(|| DisconnectReply {
                code: t.to_disconnect.code,
                reason: t.to_disconnect.reason.clone(),
            }),
        })
        .collect();
    config.binary_encoding = proxy.binary_encoding;
    config.include_connection_meta = proxy.include_connection_meta;
    config.grpc_static_metadata = proxy
        .grpc
        .static_metadata
        .0
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    config.grpc_credentials_key = proxy.grpc.credentials_key.clone();
    config.grpc_credentials_value = proxy.grpc.credentials_value.clone();
    config.grpc_compression = proxy.grpc.compression;
    config.http_tls = client_tls(&proxy.http.tls);
    config.grpc_tls = client_tls(&proxy.grpc.tls);
    config
}

/// Centrifugo applies a TLS object only when `enabled`; otherwise an `https://` endpoint uses
/// the default roots and GRPC stays plaintext.
fn client_tls(tls: &gyre_config::Tls) -> Option<ClientTls> {
    tls.enabled.then(|| ClientTls {
        server_ca_pem: tls.server_ca_pem.clone(),
        cert_pem: tls.cert_pem.clone(),
        key_pem: tls.key_pem.clone(),
        insecure_skip_verify: tls.insecure_skip_verify,
        server_name: tls.server_name.clone(),
    })
}

/// The fields every client-originated request carries.
pub(crate) struct Common {
    pub(crate) client: String,
    pub(crate) transport: String,
    pub(crate) protocol: String,
    pub(crate) encoding: String,
}

pub(crate) fn common(proxy: &Backend, client_id: &str, transport: &gyre_core::TransportInfo) -> Common {
    Common {
        client: client_id.to_owned(),
        transport: transport.name.to_owned(),
        protocol: match transport.protocol {
            ProtocolType::Json => "json",
            ProtocolType::Protobuf => "protobuf",
        }
        .to_owned(),
        encoding: proxy.config().encoding().to_owned(),
    }
}

/// What a call needs from the connection: its kept request headers (and no emulated ones
/// after connect).
pub(crate) fn context(client: &ClientRef) -> CallContext {
    call_context(client.transport(), HashMap::new())
}

/// The transport's kept request data as proxies see it: HTTP headers, or, for a connection made
/// over GRPC (uni GRPC, which keeps its metadata in `headers`), GRPC metadata, which proxies
/// forward by `grpc_metadata` instead of `http_headers`.
pub(crate) fn call_context(
    transport: &gyre_core::TransportInfo,
    emulated_headers: HashMap<String, String>,
) -> CallContext {
    let kept = transport.headers.clone();
    if transport.name == "uni_grpc" {
        CallContext {
            grpc_metadata: kept,
            emulated_headers,
            ..Default::default()
        }
    } else {
        CallContext {
            headers: kept,
            emulated_headers,
            ..Default::default()
        }
    }
}

/// Client data as the proxy wants it: raw JSON, or base64 with `binary_encoding`. Data that is
/// not JSON cannot travel in a JSON proxy request: the client gets 107, as in Centrifugo.
pub(crate) fn data_fields(
    proxy: &Backend,
    data: &[u8],
) -> Result<(Option<Box<RawValue>>, String), HandlerError> {
    if data.is_empty() {
        return Ok((None, String::new()));
    }
    let wire = encode_data(data, proxy.config().binary_encoding)
        .map_err(|_| HandlerError::from(Error::BAD_REQUEST))?;
    Ok((wire.data, wire.b64data))
}

/// The connection meta, when the proxy asks for it.
pub(crate) fn meta_field(proxy: &Backend, meta: Option<&Bytes>) -> Option<Box<RawValue>> {
    let raw = meta.and_then(|m| serde_json::from_slice::<Box<RawValue>>(m).ok());
    proxy.config().request_meta(raw.as_deref())
}

/// A proxy call's outcome as the core sees it; `None` is "no result".
pub(crate) fn outcome<T>(
    event: &'static str,
    result: Result<Outcome<T>, ProxyError>,
) -> Result<Option<T>, HandlerError> {
    match result {
        Ok(Outcome::Result(r)) => Ok(r),
        Ok(Outcome::Error {
            code,
            message,
            temporary,
        }) => Err(Error {
            code,
            message: message.into(),
            temporary,
        }
        .into()),
        Ok(Outcome::Disconnect { code, reason }) => Err(Disconnect::custom(code, reason).into()),
        Err(e) => {
            tracing::error!(error = %e, event, "proxy call failed");
            Err(Error::INTERNAL.into())
        }
    }
}

/// An unusable proxy fails the call like an unreachable backend.
pub(crate) fn unusable(event: &'static str, why: String) -> HandlerError {
    tracing::error!(error = %why, event, "proxy not usable");
    Error::INTERNAL.into()
}

/// Bytes from a result's raw or base64 field; bad base64 from the backend is its error.
pub(crate) fn bytes_of(
    event: &'static str,
    value: Result<Option<Vec<u8>>, gyre_proxy::PayloadError>,
) -> Result<Option<Bytes>, HandlerError> {
    match value {
        Ok(v) => Ok(v.map(Bytes::from)),
        Err(e) => {
            tracing::error!(error = %e, event, "undecodable proxy result field");
            Err(Error::INTERNAL.into())
        }
    }
}

/// What one event needs to call a named proxy: the snapshot's proxies and the node's observer,
/// held for the duration of the call.
pub(crate) struct CallSite {
    pub(crate) proxies: std::sync::Arc<Proxies>,
    pub(crate) observer: Option<std::sync::Arc<dyn gyre_core::Observer>>,
}

impl CallSite {
    /// The proxy of `kind` called `name` with its meter; an unusable one fails like an
    /// unreachable backend.
    pub(crate) fn proxy<'a>(
        &'a self,
        kind: Kind,
        name: &'a str,
        event: &'static str,
    ) -> Result<(&'a Backend, Meter<'a>), HandlerError> {
        let proxy = self.proxies.get(kind, name).map_err(|why| unusable(event, why))?;
        Ok((proxy, Meter::new(self.observer.as_deref(), name, proxy)))
    }
}

/// Where proxy calls are reported (the node's observer), and under which name.
#[derive(Clone, Copy)]
pub(crate) struct Meter<'a> {
    pub(crate) observer: Option<&'a dyn gyre_core::Observer>,
    pub(crate) name: &'a str,
    /// `http` or `grpc`.
    pub(crate) protocol: &'static str,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(
        observer: Option<&'a dyn gyre_core::Observer>,
        name: &'a str,
        proxy: &Backend,
    ) -> Meter<'a> {
        Meter {
            observer,
            name,
            protocol: proxy.protocol(),
        }
    }

    /// Runs one proxy call, reporting it as in flight and then its duration and failure.
    pub(crate) async fn call<T>(
        self,
        kind: &'static str,
        fut: impl std::future::Future<Output = Result<T, ProxyError>>,
    ) -> Result<T, ProxyError> {
        let Some(observer) = self.observer else {
            return fut.await;
        };
        observer.proxy_started(self.protocol, kind, self.name);
        let started = std::time::Instant::now();
        let result = fut.await;
        let seconds = started.elapsed().as_secs_f64();
        observer.proxy_finished(self.protocol, kind, self.name, seconds, result.is_err());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_objects_apply_only_when_enabled() {
        let mut proxy = Proxy {
            endpoint: "https://backend/connect".into(),
            ..Default::default()
        };
        proxy.http.tls.server_ca_pem = "ca".into();
        proxy.grpc.tls.server_name = "grpc.internal".into();
        let config = proxy_config(&proxy);
        assert_eq!(config.http_tls, None);
        assert_eq!(config.grpc_tls, None);

        proxy.http.tls.enabled = true;
        proxy.http.tls.cert_pem = "cert".into();
        proxy.http.tls.key_pem = "key".into();
        proxy.http.tls.insecure_skip_verify = true;
        proxy.grpc.tls.enabled = true;
        let config = proxy_config(&proxy);
        assert_eq!(
            config.http_tls,
            Some(ClientTls {
                server_ca_pem: "ca".into(),
                cert_pem: "cert".into(),
                key_pem: "key".into(),
                insecure_skip_verify: true,
                server_name: String::new(),
            })
        );
        assert_eq!(
            config.grpc_tls,
            Some(ClientTls {
                server_name: "grpc.internal".into(),
                ..Default::default()
            })
        );
    }

    #[test]
    fn uni_grpc_connections_carry_grpc_metadata() {
        let proxy = Proxy {
            endpoint: "http://backend/connect".into(),
            http_headers: vec!["x-http".into()],
            grpc_metadata: vec!["x-tenant".into()],
            ..Default::default()
        };
        assert_eq!(proxy_config(&proxy).grpc_metadata, ["x-tenant"]);

        let mut transport = gyre_core::testing::transport_info(ProtocolType::Protobuf);
        transport.headers = HashMap::from([("x-tenant".to_owned(), "acme".to_owned())]);
        let emulated = HashMap::from([("x-emu".to_owned(), "e".to_owned())]);
        let ws = call_context(&transport, emulated.clone());
        assert_eq!((ws.headers.len(), ws.grpc_metadata.len()), (1, 0));
        transport.name = "uni_grpc";
        let grpc = call_context(&transport, emulated);
        assert_eq!((grpc.headers.len(), grpc.grpc_metadata.len()), (0, 1));
        assert_eq!(grpc.emulated_headers["x-emu"], "e");
    }
}
