//! Running the server: config → node, routes on the external and internal listeners, signals
//! (SIGTERM/SIGINT graceful shutdown, SIGHUP reload).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use axum::routing::any;
use axum::Router;
use gyre_config::{Config, SharedConfig, Snapshot};
use gyre_core::{Disconnect, Node, NodeConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config_load::{self, Loaded};
use crate::metrics::Metrics;

/// What a user sees in `version` outputs, connect results and the `info` API.
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " gyre");

/// Converts the `client` section into the core's settings. Zero or negative limits mean "use the
/// default", never "unlimited" (a 0 queue size must not turn off slow-client protection).
pub(crate) fn node_config(cfg: &Config, name: String) -> NodeConfig {
    let d = NodeConfig::default();
    let c = &cfg.client;
    let positive = |v: i64, default: usize| if v > 0 { v as usize } else { default };
    let duration =
        |v: gyre_config::Duration, default: Duration| if v.is_zero() { default } else { v.as_std() };
    // Centrifugo treats a negative ping/pong setting as "disabled"; Gyre's Duration cannot be
    // negative, so the loader maps "-1"/negative values to zero and zero keeps the default.
    NodeConfig {
        name,
        version: VERSION.to_string(),
        ping_interval: Some(duration(c.ping_interval, Duration::from_secs(25))),
        pong_timeout: Some(duration(c.pong_timeout, Duration::from_secs(8))),
        stale_close_delay: duration(c.stale_close_delay, d.stale_close_delay),
        expired_close_delay: duration(c.expired_close_delay, d.expired_close_delay),
        expired_sub_close_delay: duration(c.expired_sub_close_delay, d.expired_sub_close_delay),
        client_queue_max_size: positive(c.queue_max_size, d.client_queue_max_size),
        client_channel_limit: positive(c.channel_limit, d.client_channel_limit),
        user_connection_limit: c.user_connection_limit.max(0) as usize,
        presence_update_interval: duration(c.presence_update_interval, d.presence_update_interval),
        history_max_publication_limit: positive(
            c.history_max_publication_limit,
            d.history_max_publication_limit,
        ),
        recovery_max_publication_limit: positive(
            c.recovery_max_publication_limit,
            d.recovery_max_publication_limit,
        ),
        channel_position_check_delay: duration(
            c.channel_position_check_delay,
            d.channel_position_check_delay,
        ),
        channel_position_max_time_lag: (!c.channel_position_max_time_lag.is_zero())
            .then(|| c.channel_position_max_time_lag.as_std()),
        connect_include_server_time: c.connect_include_server_time,
        unidirectional_code_to_disconnect: if c.connect_code_to_unidirectional_disconnect.enabled {
            c.connect_code_to_unidirectional_disconnect
                .transforms
                .iter()
                .map(|t| (t.code, Disconnect::custom(t.to.code, t.to.reason.clone())))
                .collect()
        } else {
            Vec::new()
        },
        ..d
    }
}

/// The node name of the `info` API: `node.name`, else `<hostname>_<port>`.
fn node_name(cfg: &Config) -> String {
    if !cfg.node.name.is_empty() {
        return cfg.node.name.clone();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}_{}", cfg.http_server.port)
}

/// Runs the server until SIGTERM/SIGINT.
pub(crate) async fn run(
    config_path: &Path,
    path_explicit: bool,
    flags: Vec<(String, serde_json::Value)>,
) -> anyhow::Result<()> {
    let Loaded {
        config,
        warnings,
        file_found,
        ..
    } = config_load::load(config_path, path_explicit, &flags)?;
    let level_warning = crate::logging::init(&config.log.level, &config.log.file)?;
    if !file_found {
        tracing::warn!("config file not found, continue using environment and flag options");
    } else {
        tracing::info!(path = %config_path.display(), "using config file");
    }
    for w in warnings.iter().chain(level_warning.iter()) {
        tracing::warn!("{w}");
    }
    if let Err(errors) = gyre_config::validate(&config) {
        for e in &errors {
            tracing::error!(error = %e, "error validating config");
        }
        anyhow::bail!("invalid configuration ({} problems)", errors.len());
    }
    warn_insecure(&config);
    if !config.pid_file.is_empty() {
        std::fs::write(&config.pid_file, std::process::id().to_string()).context("error writing PID")?;
    }

    let snapshot = Snapshot::new(config.clone()).context("compiling channel rules")?;
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(snapshot));
    let metrics = Arc::new(Metrics::new(VERSION)?);
    let handler =
        Arc::new(gyre_handler::Handler::new(shared.clone()).context("error setting up client handler")?);
    let node = Node::new(node_config(&config, node_name(&config)), handler.clone());
    node.set_observer(metrics.clone());
    handler.set_node(node.clone());
    tracing::info!(
        version = VERSION,
        pid = std::process::id(),
        engine = "memory",
        "starting Gyre"
    );
    if config.rpc.ping.enabled {
        tracing::info!(method = %config.rpc.ping.method, "RPC ping extension enabled");
    }

    let mut signals = Signals::install()?;
    let (external, internal) = build_routers(&config, &node, &shared, &metrics);
    let shutdown = CancellationToken::new();
    let mut servers = tokio::task::JoinSet::new();
    let external_addr = listen_addr(&config.http_server.address, config.http_server.port)?;
    let internal_port = if config.http_server.internal_port.is_empty() {
        config.http_server.port
    } else {
        config
            .http_server
            .internal_port
            .parse()
            .context("http_server.internal_port")?
    };
    let internal_address = if config.http_server.internal_address.is_empty() {
        &config.http_server.address
    } else {
        &config.http_server.internal_address
    };
    let internal_addr = listen_addr(internal_address, internal_port)?;
    let external_local = if internal_addr == external_addr {
        serve(
            &mut servers,
            external_addr,
            external.merge(internal),
            shutdown.clone(),
        )
        .await?
    } else {
        let local = serve(&mut servers, external_addr, external, shutdown.clone()).await?;
        serve(&mut servers, internal_addr, internal, shutdown.clone()).await?;
        local
    };
    if config.webtransport.enabled {
        serve_webtransport(&mut servers, &config, external_local, &node, &shared, &shutdown)?;
    }
    serve_grpc(&mut servers, &config, &node, &shared, &metrics, &shutdown).await?;

    wait_for_shutdown(
        &mut signals,
        config_path,
        path_explicit,
        &flags,
        &shared,
        &handler,
    )
    .await;
    tracing::info!("shutting down");
    let timeout = if config.shutdown.timeout.is_zero() {
        Duration::from_secs(30)
    } else {
        config.shutdown.timeout.as_std()
    };
    let graceful = async {
        // Clients first (3001), then the listeners, so no new connection slips in unnoticed.
        node.shutdown().await;
        shutdown.cancel();
        while servers.join_next().await.is_some() {}
    };
    if tokio::time::timeout(timeout, graceful).await.is_err() {
        tracing::error!("shutdown timeout reached, exiting");
    }
    if !config.pid_file.is_empty() {
        let _ = std::fs::remove_file(&config.pid_file);
    }
    Ok(())
}

fn warn_insecure(config: &Config) {
    if config.client.insecure {
        tracing::warn!("INSECURE client mode enabled, make sure you understand risks");
    }
    if config.client.insecure_skip_token_signature_verify {
        tracing::warn!("INSECURE: token signature verification is disabled (client.insecure_skip_token_signature_verify)");
    }
    if config.http_api.insecure {
        tracing::warn!("INSECURE HTTP API mode enabled, make sure you understand risks");
    }
    if config.admin.insecure {
        tracing::warn!("INSECURE admin mode enabled, make sure you understand risks");
    }
    if config.client.allowed_origins.iter().any(|o| o == "*") {
        tracing::warn!("usage of allowed_origins * is discouraged for security reasons, consider setting exact list of origins");
    }
}

fn listen_addr(address: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let host = if address.is_empty() { "0.0.0.0" } else { address };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = host
        .parse()
        .with_context(|| format!("invalid listen address {host:?}"))?;
    Ok(SocketAddr::new(ip, port))
}

/// External routes (client transports) and internal routes (API, health, metrics), as
/// Centrifugo splits them; merged when both live on one address.
fn build_routers(
    config: &Config,
    node: &Node,
    shared: &SharedConfig,
    metrics: &Arc<Metrics>,
) -> (Router, Router) {
    let mut external = Router::new();
    let mut internal = Router::new();
    if !config.websocket.disabled {
        external = external.merge(gyre_transport::websocket_router(node.clone(), shared.clone()));
    }
    let emulation = gyre_transport::emulation_routers(node.clone(), shared.clone());
    external = external
        .merge(emulation.connections)
        .merge(gyre_transport::unidirectional_router(
            node.clone(),
            shared.clone(),
        ));
    let limits = crate::admission::Admission::new(node.clone(), shared.clone(), metrics.clone());
    external = external.layer(axum::middleware::from_fn_with_state(
        limits,
        crate::admission::admit,
    ));
    // Added after the admission layer: `/emulation` carries commands of existing connections,
    // which connection limits must not refuse (Centrifugo applies them to connections only).
    external = external.merge(emulation.endpoint);
    if !config.http_api.disabled {
        let api = gyre_api::http_router(
            gyre_api::Executor::new(node.clone(), shared.clone()),
            shared.clone(),
            metrics.clone(),
        );
        if config.http_api.external {
            external = external.merge(api);
        } else {
            internal = internal.merge(api);
        }
    }
    if config.health.enabled {
        let path = prefix_or(&config.health.handler_prefix, "/health");
        internal = internal.route(
            &path,
            any(|| async { ([("content-type", "application/json")], "{}") }),
        );
    }
    if config.prometheus.enabled {
        let path = prefix_or(&config.prometheus.handler_prefix, "/metrics");
        let (node, metrics) = (node.clone(), metrics.clone());
        internal = internal.route(
            &path,
            any(move || {
                let text = metrics.render(&node);
                async move { ([("content-type", "text/plain; version=0.0.4")], text) }
            }),
        );
    }
    (external, internal)
}

fn prefix_or(prefix: &str, default: &str) -> String {
    if prefix.is_empty() {
        default.to_string()
    } else {
        prefix.to_string()
    }
}

/// Binds and serves one HTTP listener; returns the address it is bound to.
async fn serve(
    servers: &mut tokio::task::JoinSet<()>,
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("error running HTTP server on {addr}"))?;
    let local = listener.local_addr()?;
    // Test harnesses parse this line to find the port when started with `-p 0`.
    tracing::info!(address = %local, "HTTP server listening");
    servers.spawn(gyre_transport::serve_http(listener, router, shutdown));
    Ok(local)
}

/// WebTransport over HTTP/3 on the external HTTP server's address and port, over UDP
/// (configuration validation has made sure HTTP/3 and TLS are on).
#[cfg(feature = "webtransport")]
fn serve_webtransport(
    servers: &mut tokio::task::JoinSet<()>,
    config: &Config,
    addr: SocketAddr,
    node: &Node,
    shared: &SharedConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let server = gyre_transport::WebTransportServer::bind(addr, &config.http_server.tls)?;
    tracing::info!(address = %server.local_addr()?, "WebTransport (HTTP/3) listening");
    servers.spawn(server.serve(node.clone(), shared.clone(), shutdown.clone()));
    Ok(())
}

#[cfg(not(feature = "webtransport"))]
fn serve_webtransport(
    _servers: &mut tokio::task::JoinSet<()>,
    _config: &Config,
    _addr: SocketAddr,
    _node: &Node,
    _shared: &SharedConfig,
    _shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    tracing::warn!(
        "webtransport: this Gyre build has no WebTransport support (build with --features webtransport); ignored"
    );
    Ok(())
}

/// The GRPC API (`grpc_api.enabled`) and uni GRPC (`uni_grpc.enabled`) servers, each on its own
/// listener. The API runs on an executor over the same node and live config as the HTTP API.
async fn serve_grpc(
    servers: &mut tokio::task::JoinSet<()>,
    config: &Config,
    node: &Node,
    shared: &SharedConfig,
    metrics: &Arc<Metrics>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    if config.grpc_api.enabled {
        let executor = gyre_api::Executor::new(node.clone(), shared.clone());
        let server = gyre_grpc::api_server(&config.grpc_api, &executor, metrics.clone())?;
        let addr = listen_addr(&config.grpc_api.address, config.grpc_api.port)?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("error running GRPC API server on {addr}"))?;
        // Harnesses started with `--grpc_api.port 0` read the port from this line.
        tracing::info!(address = %listener.local_addr()?, "GRPC API server listening");
        servers.spawn(server.serve(listener, shutdown.clone()));
    }
    if config.uni_grpc.enabled {
        let server = gyre_grpc::uni_server(&config.uni_grpc, node.clone(), shared.clone())?;
        let addr = listen_addr(&config.uni_grpc.address, config.uni_grpc.port)?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("error running uni GRPC server on {addr}"))?;
        tracing::info!(address = %listener.local_addr()?, "uni GRPC server listening");
        servers.spawn(server.serve(listener, shutdown.clone()));
    }
    Ok(())
}

/// SIGTERM, SIGINT and SIGHUP streams. Installed before the listeners start, so a signal sent
/// right after the "listening" line is handled instead of killing the process.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
        })
    }
}

/// Waits for SIGTERM/SIGINT; on SIGHUP reloads channel options and token verifiers.
async fn wait_for_shutdown(
    signals: &mut Signals,
    config_path: &Path,
    path_explicit: bool,
    flags: &[(String, serde_json::Value)],
    shared: &SharedConfig,
    handler: &gyre_handler::Handler,
) {
    loop {
        tokio::select! {
            _ = signals.term.recv() => { tracing::info!("signal received: terminated"); return; }
            _ = signals.int.recv() => { tracing::info!("signal received: interrupt"); return; }
            _ = signals.hup.recv() => {
                tracing::info!("reloading configuration");
                reload(config_path, path_explicit, flags, shared, handler);
            }
        }
    }
}

/// Reloads what is safe to swap live: channel/namespace and RPC options and token verifiers.
/// Listeners, engines and client limits keep their start-up values.
fn reload(
    config_path: &Path,
    path_explicit: bool,
    flags: &[(String, serde_json::Value)],
    shared: &SharedConfig,
    handler: &gyre_handler::Handler,
) {
    let loaded = match config_load::load(config_path, path_explicit, flags) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "error reading config");
            return;
        }
    };
    if let Err(errors) = gyre_config::validate(&loaded.config) {
        for e in errors {
            tracing::error!("error validating config: {e}");
        }
        return;
    }
    match Snapshot::new(loaded.config) {
        Ok(snapshot) => {
            let previous = shared.swap(Arc::new(snapshot));
            if let Err(e) = handler.reload() {
                tracing::error!(error = %e, "error reloading: token verifiers kept");
                shared.store(previous);
                return;
            }
            tracing::info!("configuration successfully reloaded");
        }
        Err(e) => tracing::error!("error reloading: {e}"),
    }
}
