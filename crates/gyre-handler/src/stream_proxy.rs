//! Subscribe stream proxies (GRPC, experimental in Centrifugo): a subscription fed by its own
//! backend stream instead of (well, besides) the channel's broker.
//!
//! The backend's first message accepts or refuses the subscribe like a subscribe proxy reply.
//! A task then forwards each later message to this one subscriber with
//! [`ClientRef::write_publication`]; the core holds those that arrive before the subscribe reply
//! is queued. The stream ending normally unsubscribes the client with 2000, a failed stream with
//! 2500 (Centrifugo's choice: the subscriber lost data and should resubscribe). Unsubscribing or
//! disconnecting cancels the stream. On a bidirectional stream the subscriber's publishes go to
//! the backend instead of the broker.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use gyre_config::{ChannelOptions, Snapshot};
use gyre_core::{
    ClientRef, Error, HandlerError, PublishReply, PublishResult, SubscribeOptions, SubscribeReply,
    SubscriptionSource, Unsubscribe,
};
use gyre_proxy::{Proxy as Backend, StreamPublisher, SubscribeStream};
use parking_lot::Mutex;

use crate::options::namespace_subscribe_options;
use crate::proxy::{bytes_of, context, outcome, unusable, Meter};
use crate::proxy_events::{overrides, subscribe_request};

/// Tags stream subscriptions (`SubscribeReply::tag`), so that a stream ending late unsubscribes
/// only its own subscription, never a newer one to the same channel.
static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

/// One live stream: the task feeding the subscriber, and the way back to the backend.
struct Stream {
    reader: tokio::task::AbortHandle,
    publisher: Option<StreamPublisher>,
}

impl Drop for Stream {
    /// Dropping the reader's stream (and the publisher, with this) cancels the call.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Every open stream, by client id and channel. Only connections that use streams have an entry.
#[derive(Default)]
pub(crate) struct Streams {
    by_client: Mutex<HashMap<String, HashMap<String, Stream>>>,
    /// How many clients have an entry. Every unsubscribe and disconnect of every connection asks
    /// to remove its streams; with none open (no stream proxy in use) that must not take the lock.
    /// A client's own insert happens earlier on its session task, so it is never missed.
    clients: AtomicUsize,
}

impl Streams {
    fn insert(&self, client: &str, channel: &str, stream: Stream) {
        let old = {
            let mut by_client = self.by_client.lock();
            let old = by_client
                .entry(client.to_owned())
                .or_default()
                .insert(channel.to_owned(), stream);
            self.clients.store(by_client.len(), Ordering::Release);
            old
        };
        // Dropped (cancelled) outside the lock.
        drop(old);
    }

    /// The subscription ended: cancel its stream.
    pub(crate) fn remove(&self, client: &str, channel: &str) {
        if self.clients.load(Ordering::Acquire) == 0 {
            return;
        }
        let removed = {
            let mut by_client = self.by_client.lock();
            let Some(channels) = by_client.get_mut(client) else {
                return;
            };
            let removed = channels.remove(channel);
            if channels.is_empty() {
                by_client.remove(client);
                self.clients.store(by_client.len(), Ordering::Release);
            }
            removed
        };
        drop(removed);
    }

    /// The connection ended: cancel all its streams.
    pub(crate) fn remove_client(&self, client: &str) {
        if self.clients.load(Ordering::Acquire) == 0 {
            return;
        }
        let removed = {
            let mut by_client = self.by_client.lock();
            let removed = by_client.remove(client);
            self.clients.store(by_client.len(), Ordering::Release);
            removed
        };
        drop(removed);
    }

    fn publisher(&self, client: &str, channel: &str) -> Option<StreamPublisher> {
        let by_client = self.by_client.lock();
        by_client.get(client)?.get(channel)?.publisher.clone()
    }
}

/// Opens the stream for a subscribe and answers it from the backend's first message.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn subscribe(
    streams: &Streams,
    snapshot: &Snapshot,
    proxy: &Backend,
    meter: Meter<'_>,
    client: &ClientRef,
    user: &str,
    ns: &ChannelOptions,
    channel: &str,
    data: &[u8],
) -> Result<SubscribeReply, HandlerError> {
    let Backend::Grpc(grpc) = proxy else {
        // Configuration validation refuses this; a reload that slipped past it still fails safe.
        return Err(unusable(
            "subscribe_stream",
            "subscribe stream proxies need a GRPC endpoint".to_owned(),
        ));
    };
    let request = subscribe_request(proxy, client, user, channel, data)?;
    let bidirectional = ns.subscribe_stream_proxy_bidirectional;
    let opened = meter
        .call(
            "subscribe_stream",
            grpc.subscribe_stream(bidirectional, &request, &context(client)),
        )
        .await;
    let (decision, stream) = match opened {
        Ok((decision, stream)) => (Ok(decision), Some(stream)),
        Err(e) => (Err(e), None),
    };
    // A refusal drops the stream here, which cancels it.
    let result = outcome("subscribe_stream", decision)?.unwrap_or_default();
    let stream = stream.expect("an accepted subscribe has its stream");
    let options = SubscribeOptions {
        expire_at: result.expire_at,
        channel_info: bytes_of("subscribe_stream", result.info_bytes())?.unwrap_or_default(),
        data: bytes_of("subscribe_stream", result.data_bytes())?.unwrap_or_default(),
        // The stream is the subscription's history: no positions, recovery, delta or filters.
        enable_positioning: false,
        enable_recovery: false,
        allowed_delta_types: Vec::new(),
        allow_tags_filter: false,
        ..namespace_subscribe_options(
            snapshot,
            ns,
            &overrides(result.r#override.as_ref()),
            SubscriptionSource::Client,
        )
    };
    let publisher = stream.publisher();
    let tag = NEXT_TAG.fetch_add(1, Ordering::Relaxed);
    let reader = tokio::spawn(forward(stream, client.clone(), channel.to_owned(), tag));
    streams.insert(
        client.id(),
        channel,
        Stream {
            reader: reader.abort_handle(),
            publisher,
        },
    );
    Ok(SubscribeReply {
        options,
        client_side_refresh: true,
        tag,
    })
}

/// Feeds the subscriber until the stream ends; cancelled (aborted) when the subscription ends
/// first.
async fn forward(mut stream: SubscribeStream, client: ClientRef, channel: String, tag: u64) {
    loop {
        match stream.next().await {
            Ok(Some(p)) => {
                let publication = gyre_protocol::Publication {
                    data: p.data,
                    tags: p.tags,
                    ..Default::default()
                };
                client.write_publication(&channel, publication);
            }
            Ok(None) => {
                tracing::debug!(channel, client = client.id(), "subscribe stream ended by backend");
                client.unsubscribe_tagged(&channel, tag, Unsubscribe::SERVER);
                return;
            }
            Err(e) => {
                tracing::info!(channel, client = client.id(), error = %e, "subscribe stream failed");
                client.unsubscribe_tagged(&channel, tag, Unsubscribe::INSUFFICIENT_STATE);
                return;
            }
        }
    }
}

/// A publish on a bidirectional stream's channel goes to the backend; success means sent, and the
/// core publishes nothing.
pub(crate) async fn publish(
    streams: &Streams,
    client: &ClientRef,
    channel: &str,
    data: Bytes,
) -> Result<PublishReply, HandlerError> {
    let Some(publisher) = streams.publisher(client.id(), channel) else {
        // Not subscribed through the stream (yet, or any more).
        return Err(Error::NOT_AVAILABLE.into());
    };
    if let Err(e) = publisher.publish(data).await {
        tracing::info!(channel, client = client.id(), error = %e, "publish to subscribe stream failed");
        return Err(Error::INTERNAL.into());
    }
    Ok(PublishReply {
        result: Some(PublishResult::default()),
        ..Default::default()
    })
}
