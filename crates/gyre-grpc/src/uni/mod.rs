//! `centrifugal.centrifugo.unistream.CentrifugoUniStream/Consume`: the unidirectional GRPC
//! transport. The call's `ConnectRequest` becomes the connection's connect command; its response
//! stream carries the connection's pushes (connect push first, publications, empty pushes as
//! pings, a disconnect push before the stream ends).
//!
//! Written by hand rather than generated: pushes leave the core already encoded for the client
//! protocol, whose `Push` is field-compatible with the unistream `Push`, so they are sent as they
//! are instead of being decoded and encoded again (Centrifugo's raw codec does the same).

mod codec;
mod transport;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use gyre_config::{SharedConfig, Snapshot};
use gyre_core::{Node, ProtocolType, TransportInfo};
use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::codegen::{http, Body, BoxFuture, Context, Poll, Service, StdError};
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use tonic::server::{Grpc, NamedService, ServerStreamingService};
use tonic::Status;

use crate::unistream;
use codec::UniCodec;
use transport::PushStream;

const CONSUME_PATH: &str = "/centrifugal.centrifugo.unistream.CentrifugoUniStream/Consume";

struct Inner {
    node: Node,
    config: SharedConfig,
}

/// The uni stream service, ready to be added to a tonic server.
#[derive(Clone)]
pub(crate) struct UniStreamServer {
    inner: Arc<Inner>,
    max_decoding_message_size: Option<usize>,
}

impl UniStreamServer {
    /// `max_receive_message_size`: the largest `ConnectRequest` accepted (`None` = 4 MiB).
    pub(crate) fn new(node: Node, config: SharedConfig, max_receive_message_size: Option<usize>) -> Self {
        UniStreamServer {
            inner: Arc::new(Inner { node, config }),
            max_decoding_message_size: max_receive_message_size,
        }
    }
}

impl NamedService for UniStreamServer {
    const NAME: &'static str = "centrifugal.centrifugo.unistream.CentrifugoUniStream";
}

impl<B> Service<http::Request<B>> for UniStreamServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != CONSUME_PATH {
            return Box::pin(async move { Ok(Status::unimplemented("").into_http()) });
        }
        let method = Consume(self.inner.clone());
        let max_decoding = self.max_decoding_message_size;
        Box::pin(async move {
            // Centrifugo registers the gzip compressor: compressed connect requests are accepted.
            let mut accept = EnabledCompressionEncodings::default();
            accept.enable(CompressionEncoding::Gzip);
            let mut grpc = Grpc::new(UniCodec)
                .apply_compression_config(accept, EnabledCompressionEncodings::default())
                .apply_max_message_size_config(max_decoding, None);
            Ok(grpc.server_streaming(method, request).await)
        })
    }
}

struct Consume(Arc<Inner>);

impl ServerStreamingService<unistream::ConnectRequest> for Consume {
    type Response = Bytes;
    type ResponseStream = PushStream;
    type Future = BoxFuture<tonic::Response<PushStream>, Status>;

    fn call(&mut self, request: tonic::Request<unistream::ConnectRequest>) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move {
            let headers = retained_metadata(&inner.config.load(), request.metadata());
            let frame = connect_frame(request.into_inner());
            let info = TransportInfo {
                name: "uni_grpc",
                protocol: ProtocolType::Protobuf,
                unidirectional: true,
                emulation: false,
                disconnect_push: true,
                app_level_ping: true,
                headers,
                // The only inbound frame is the connect command built here, from a request
                // tonic already held to `max_receive_message_size`.
                max_message_size: frame.len(),
                // grpc-go has no write deadline either: a client that stops reading is handled
                // by HTTP/2 flow control and the outbox byte limit (3008).
                write_timeout: Duration::ZERO,
                session: String::new(),
                raw_connect_errors: false,
            };
            let (reader, writer, stream) = transport::pipe(frame);
            tokio::spawn(inner.node.serve_connection(info, reader, writer));
            Ok(tonic::Response::new(stream))
        })
    }
}

/// The client protocol's connect command for the stream's request, as a varint-delimited
/// protobuf frame. Only the fields Centrifugo copies are taken.
fn connect_frame(req: unistream::ConnectRequest) -> Bytes {
    let subs = req
        .subs
        .into_iter()
        .map(|(channel, s)| {
            let sub = gyre_protocol::SubscribeRequest {
                recover: s.recover,
                epoch: s.epoch,
                offset: s.offset,
                ..Default::default()
            };
            (channel, sub)
        })
        .collect();
    let command = gyre_protocol::Command {
        id: 1,
        connect: Some(gyre_protocol::ConnectRequest {
            token: req.token,
            data: req.data,
            subs,
            name: req.name,
            version: req.version,
            headers: req.headers,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut out = BytesMut::new();
    prost::Message::encode_length_delimited(&command, &mut out).expect("encoding into BytesMut cannot fail");
    out.freeze()
}

/// The call's metadata a proxy may forward: keys in some proxy's `grpc_metadata` allow-list.
/// Repeated keys are joined with ", " like repeated HTTP headers; binary (`-bin`) keys and
/// values that are not text are left out.
fn retained_metadata(snapshot: &Snapshot, metadata: &MetadataMap) -> HashMap<String, String> {
    let allowed = |name: &str| {
        snapshot
            .config
            .all_proxies()
            .any(|p| p.grpc_metadata.iter().any(|k| k.eq_ignore_ascii_case(name)))
    };
    let mut out: HashMap<String, String> = HashMap::new();
    for entry in metadata.iter() {
        let KeyAndValueRef::Ascii(key, value) = entry else {
            continue;
        };
        let (Ok(value), name) = (value.to_str(), key.as_str()) else {
            continue;
        };
        if !allowed(name) {
            continue;
        }
        out.entry(name.to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use gyre_config::Config;

    use super::*;

    #[test]
    fn connect_request_becomes_a_protobuf_connect_command() {
        let mut subs = HashMap::new();
        subs.insert(
            "news".to_owned(),
            unistream::SubscribeRequest {
                recover: true,
                epoch: "e".into(),
                offset: 7,
            },
        );
        let frame = connect_frame(unistream::ConnectRequest {
            token: "t".into(),
            data: Bytes::from_static(b"{}"),
            subs,
            name: "n".into(),
            version: "v".into(),
            headers: HashMap::from([("h".to_owned(), "1".to_owned())]),
        });
        let command = <gyre_protocol::Command as prost::Message>::decode_length_delimited(frame).unwrap();
        assert_eq!(command.id, 1);
        let connect = command.connect.unwrap();
        assert_eq!((connect.token.as_str(), &connect.data[..]), ("t", &b"{}"[..]));
        assert_eq!((connect.name.as_str(), connect.version.as_str()), ("n", "v"));
        assert_eq!(connect.headers["h"], "1");
        let sub = &connect.subs["news"];
        assert!(sub.recover);
        assert_eq!((sub.epoch.as_str(), sub.offset), ("e", 7));
    }

    #[test]
    fn only_allow_listed_metadata_is_kept() {
        let mut config = Config::default();
        config.client.proxy.connect.proxy.grpc_metadata = vec!["X-Tenant".into()];
        let snapshot = Snapshot::new(config).unwrap();
        let mut metadata = MetadataMap::new();
        metadata.insert("x-tenant", "a".parse().unwrap());
        metadata.append("x-tenant", "b".parse().unwrap());
        metadata.insert("authorization", "secret".parse().unwrap());
        metadata.insert_bin(
            "x-tenant-bin",
            tonic::metadata::MetadataValue::from_bytes(b"\x00"),
        );
        let kept = retained_metadata(&snapshot, &metadata);
        assert_eq!(kept, HashMap::from([("x-tenant".to_owned(), "a, b".to_owned())]));
    }
}
