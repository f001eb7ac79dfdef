//! Prometheus metrics with Centrifugo's names and labels, so existing dashboards and alerts keep
//! working. The core and the API report events through observer traits; node gauges are read
//! from the node at scrape time.

use std::collections::HashMap;
use std::time::Duration;

use gyre_core::{Node, Observer};
use prometheus::{
    Counter, CounterVec, Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, Opts, Registry,
    TextEncoder,
};

const NS: &str = "centrifugo";

const COMMAND_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const BROADCAST_BUCKETS: &[f64] = &[
    0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric Gyre exports, registered in one registry.
pub(crate) struct Metrics {
    registry: Registry,
    num_clients: Gauge,
    num_users: Gauge,
    num_subscriptions: Gauge,
    num_channels: Gauge,
    num_nodes: Gauge,
    messages_sent: CounterVec,
    messages_received: CounterVec,
    broadcast_duration: HistogramVec,
    connections_accepted: CounterVec,
    subscriptions_accepted: CounterVec,
    command_duration: HistogramVec,
    reply_errors: CounterVec,
    server_unsubscribes: CounterVec,
    server_disconnects: CounterVec,
    recover: CounterVec,
    tags_filter_dropped: CounterVec,
    transport_sent: CounterVec,
    transport_sent_size: CounterVec,
    /// Resolved `transport_sent`/`transport_sent_size` children by transport and frame type:
    /// `with_label_values` hashes and clones on every call, and this is the per-write path.
    sent_cache: SentCache,
    transport_received: CounterVec,
    transport_received_size: CounterVec,
    api_duration: HistogramVec,
    api_errors: CounterVec,
    proxy_duration: HistogramVec,
    proxy_errors: CounterVec,
    proxy_inflight: GaugeVec,
    /// Connections refused by `client.connection_limit`.
    pub(crate) connection_limit: IntCounter,
}

fn opts(subsystem: &str, name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace(NS).subsystem(subsystem)
}

fn hist(subsystem: &str, name: &str, help: &str, buckets: &[f64]) -> HistogramOpts {
    HistogramOpts::new(name, help)
        .namespace(NS)
        .subsystem(subsystem)
        .buckets(buckets.to_vec())
}

impl Metrics {
    pub(crate) fn new(version: &str) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| -> prometheus::Result<Gauge> {
            let g = Gauge::with_opts(opts("node", name, help))?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter =
            |sub: &str, name: &str, help: &str, labels: &[&str]| -> prometheus::Result<CounterVec> {
                let c = CounterVec::new(opts(sub, name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let histogram = |sub: &str, name: &str, help: &str, buckets: &[f64], labels: &[&str]| {
            let h = HistogramVec::new(hist(sub, name, help, buckets), labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, prometheus::Error>(h)
        };
        let build = GaugeVec::new(opts("node", "build", "Node build info."), &["version"])?;
        registry.register(Box::new(build.clone()))?;
        build.with_label_values(&[version]).set(1.0);
        let connection_limit = IntCounter::with_opts(opts(
            "node",
            "client_connection_limit",
            "Number of refused requests due to node client connection limit.",
        ))?;
        registry.register(Box::new(connection_limit.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let proxy_inflight = GaugeVec::new(
            opts(
                "proxy",
                "inflight_requests",
                "Number of in-flight proxy requests.",
            ),
            &["protocol", "type", "name"],
        )?;
        registry.register(Box::new(proxy_inflight.clone()))?;

        let ns = "channel_namespace";
        Ok(Metrics {
            num_clients: gauge("num_clients", "Number of clients connected.")?,
            num_users: gauge("num_users", "Number of unique users connected.")?,
            num_subscriptions: gauge("num_subscriptions", "Number of subscriptions.")?,
            num_channels: gauge("num_channels", "Number of channels with one or more subscribers.")?,
            num_nodes: gauge("num_nodes", "Number of nodes in the cluster.")?,
            messages_sent: counter("node", "messages_sent_count", "Number of messages sent by node to broker.", &["type", ns])?,
            messages_received: counter(
                "node",
                "messages_received_count",
                "Number of messages received from broker.",
                &["type", ns],
            )?,
            broadcast_duration: histogram(
                "node",
                "broadcast_duration_seconds",
                "Broadcast duration in seconds",
                BROADCAST_BUCKETS,
                &["type", ns],
            )?,
            connections_accepted: counter(
                "client",
                "connections_accepted",
                "Count of accepted transports.",
                &["transport", "accept_protocol", "client_name", "client_version"],
            )?,
            subscriptions_accepted: counter(
                "client",
                "subscriptions_accepted",
                "Count of accepted client subscriptions.",
                &["client_name", ns],
            )?,
            command_duration: histogram(
                "client",
                "command_duration_seconds_histogram",
                "Client command duration histogram. Use for histogram_quantile() and OpenTelemetry export.",
                COMMAND_BUCKETS,
                &["method", ns],
            )?,
            reply_errors: counter(
                "client",
                "num_reply_errors",
                "Number of errors in replies sent to clients.",
                &["method", "code", ns],
            )?,
            server_unsubscribes: counter(
                "client",
                "num_server_unsubscribes",
                "Number of server initiated unsubscribes.",
                &["code", ns],
            )?,
            server_disconnects: counter(
                "client",
                "num_server_disconnects",
                "Number of server initiated disconnects.",
                &["code"],
            )?,
            recover: counter(
                "client",
                "recover",
                "Count of recover operations with success/fail resolution.",
                &["recovered", ns, "has_recovered_publications"],
            )?,
            tags_filter_dropped: counter(
                "node",
                "tags_filter_dropped_publications",
                "Number of publications dropped due to tags filtering.",
                &[ns],
            )?,
            transport_sent: counter(
                "transport",
                "messages_sent",
                "Number of messages sent to client connections over specific transport.",
                &["transport", "frame_type", ns],
            )?,
            transport_sent_size: counter(
                "transport",
                "messages_sent_size",
                "Size in bytes of messages sent to client connections over specific transport (uncompressed and does not include framing overhead).",
                &["transport", "frame_type", ns],
            )?,
            sent_cache: SentCache::default(),
            transport_received: counter(
                "transport",
                "messages_received",
                "Number of messages received from client connections over specific transport.",
                &["transport", "frame_type", ns],
            )?,
            transport_received_size: counter(
                "transport",
                "messages_received_size",
                "Size in bytes of messages received from client connections over specific transport (uncompressed and does not include framing overhead).",
                &["transport", "frame_type", ns],
            )?,
            api_duration: histogram(
                "api",
                "command_duration_seconds_histogram",
                "Histogram of duration of API per command.",
                prometheus::DEFAULT_BUCKETS,
                &["protocol", "method"],
            )?,
            api_errors: counter(
                "api",
                "command_errors_total",
                "Total errors in API commands.",
                &["protocol", "method", "error"],
            )?,
            proxy_duration: histogram(
                "proxy",
                "duration_seconds_histogram",
                "Duration of proxy calls.",
                prometheus::DEFAULT_BUCKETS,
                &["protocol", "type", "name"],
            )?,
            proxy_errors: counter(
                "proxy",
                "errors",
                "Number of proxy calls that failed.",
                &["protocol", "type", "name"],
            )?,
            proxy_inflight,
            connection_limit,
            registry,
        })
    }

    /// Reads the node gauges and renders the Prometheus text format.
    pub(crate) fn render(&self, node: &Node) -> String {
        let info = node.info();
        self.num_clients.set(f64::from(info.num_clients));
        self.num_users.set(f64::from(info.num_users));
        self.num_subscriptions.set(f64::from(info.num_subs));
        self.num_channels.set(f64::from(info.num_channels));
        self.num_nodes.set(1.0);
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Observer for Metrics {
    fn connection_accepted(&self, transport: &str, client_name: &str, client_version: &str) {
        self.connections_accepted
            .with_label_values(&[transport, "h1", client_name, client_version])
            .inc();
    }
    fn subscription_accepted(&self, client_name: &str) {
        self.subscriptions_accepted
            .with_label_values(&[client_name, ""])
            .inc();
    }
    fn command_processed(&self, method: &str, elapsed: Duration) {
        self.command_duration
            .with_label_values(&[method, ""])
            .observe(elapsed.as_secs_f64());
    }
    fn reply_error(&self, method: &str, code: u32) {
        self.reply_errors
            .with_label_values(&[method, &code.to_string(), ""])
            .inc();
    }
    fn server_disconnect(&self, code: u32) {
        self.server_disconnects
            .with_label_values(&[&code.to_string()])
            .inc();
    }
    fn server_unsubscribe(&self, code: u32) {
        self.server_unsubscribes
            .with_label_values(&[&code.to_string(), ""])
            .inc();
    }
    fn recover(&self, recovered: bool, has_recovered_publications: bool) {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        self.recover
            .with_label_values(&[yes_no(recovered), "", yes_no(has_recovered_publications)])
            .inc();
    }
    fn tags_filter_dropped(&self, _channel: &str, count: usize) {
        self.tags_filter_dropped
            .with_label_values(&[""])
            .inc_by(count as f64);
    }
    fn transport_messages_sent(&self, transport: &str, frame_type: &str, count: usize, bytes: usize) {
        let add = |(messages, size): &(Counter, Counter)| {
            messages.inc_by(count as f64);
            size.inc_by(bytes as f64);
        };
        {
            let cache = self.sent_cache.read().unwrap_or_else(|e| e.into_inner());
            if let Some(counters) = cache.get(transport).and_then(|kinds| kinds.get(frame_type)) {
                return add(counters);
            }
        }
        add(&self.sent_counters(transport, frame_type));
    }
    fn proxy_started(&self, protocol: &str, kind: &str, name: &str) {
        self.proxy_inflight
            .with_label_values(&[protocol, kind, name])
            .inc();
    }
    fn proxy_finished(&self, protocol: &str, kind: &str, name: &str, seconds: f64, failed: bool) {
        let labels = [protocol, kind, name];
        self.proxy_inflight.with_label_values(&labels).dec();
        self.proxy_duration.with_label_values(&labels).observe(seconds);
        if failed {
            self.proxy_errors.with_label_values(&labels).inc();
        }
    }
    fn transport_message_received(&self, transport: &str, frame_type: &str, size: usize) {
        self.transport_received
            .with_label_values(&[transport, frame_type, ""])
            .inc();
        self.transport_received_size
            .with_label_values(&[transport, frame_type, ""])
            .inc_by(size as f64);
    }
    fn node_message_sent(&self, kind: &str) {
        self.messages_sent.with_label_values(&[kind, ""]).inc();
    }
    fn node_message_received(&self, kind: &str) {
        self.messages_received.with_label_values(&[kind, ""]).inc();
    }
    fn broadcast_duration(&self, kind: &str, elapsed: Duration) {
        self.broadcast_duration
            .with_label_values(&[kind, ""])
            .observe(elapsed.as_secs_f64());
    }
}

impl gyre_api::ApiObserver for Metrics {
    fn command(&self, protocol: &str, method: &str, elapsed: Duration) {
        self.api_duration
            .with_label_values(&[protocol, method])
            .observe(elapsed.as_secs_f64());
    }
    fn command_error(&self, protocol: &str, method: &str, error: &str) {
        self.api_errors
            .with_label_values(&[protocol, method, error])
            .inc();
    }
}

type SentCache = std::sync::RwLock<HashMap<String, HashMap<String, (Counter, Counter)>>>;

impl Metrics {
    /// Resolves and caches the counters of a (transport, frame type) pair seen for the first time.
    fn sent_counters(&self, transport: &str, frame_type: &str) -> (Counter, Counter) {
        let counters = (
            self.transport_sent
                .with_label_values(&[transport, frame_type, ""]),
            self.transport_sent_size
                .with_label_values(&[transport, frame_type, ""]),
        );
        self.sent_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(transport.to_string())
            .or_default()
            .insert(frame_type.to_string(), counters.clone());
        counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_centrifugo() {
        let m = Metrics::new("0.1.0").unwrap();
        m.connection_accepted("websocket", "js", "5.8.0");
        m.server_disconnect(3008);
        Observer::recover(&m, true, false);
        m.tags_filter_dropped("ch", 2);
        gyre_api::ApiObserver::command(&m, "http", "publish", Duration::from_millis(1));
        let text = {
            let mut buf = Vec::new();
            TextEncoder::new().encode(&m.registry.gather(), &mut buf).unwrap();
            String::from_utf8(buf).unwrap()
        };
        for name in [
            "centrifugo_node_num_clients",
            "centrifugo_node_build{version=\"0.1.0\"} 1",
            "centrifugo_client_connections_accepted{accept_protocol=\"h1\",client_name=\"js\",client_version=\"5.8.0\",transport=\"websocket\"} 1",
            "centrifugo_client_num_server_disconnects{code=\"3008\"} 1",
            "centrifugo_client_recover{channel_namespace=\"\",has_recovered_publications=\"no\",recovered=\"yes\"} 1",
            "centrifugo_node_tags_filter_dropped_publications{channel_namespace=\"\"} 2",
            "centrifugo_api_command_duration_seconds_histogram_count{method=\"publish\",protocol=\"http\"} 1",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }
}
