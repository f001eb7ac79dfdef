//! Command line: the root command runs the server (as Centrifugo's does); subcommands mirror
//! Centrifugo's names and flags so scripts written for `centrifugo` work with `gyre`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(
    name = "gyre",
    about = "Gyre: real-time messaging server, drop-in compatible with Centrifugo v6",
    args_conflicts_with_subcommands = true,
    disable_version_flag = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Gyre version information.
    Version,
    /// Generate a minimal configuration file to start with.
    Genconfig {
        /// Path of the output config file (format by extension: json, yaml, yml, toml).
        #[arg(short = 'c', long = "config", default_value = "config.json")]
        config: PathBuf,
    },
    /// Check a configuration file.
    Checkconfig {
        #[arg(short = 'c', long = "config", default_value = "config.json")]
        config: PathBuf,
        /// Fail on unknown keys.
        #[arg(short = 's', long = "strict")]
        strict: bool,
    },
    /// Generate a full configuration with all defaults.
    Defaultconfig {
        /// Path of the output file (format by extension).
        #[arg(short = 'c', long = "config", default_value = "config.json")]
        config: PathBuf,
        /// Take values from this existing config as the base.
        #[arg(short = 'b', long = "base")]
        base: Option<PathBuf>,
        /// Print to stdout instead of writing the file.
        #[arg(short = 'd', long = "dry-run")]
        dry_run: bool,
    },
    /// Print every option as a CENTRIFUGO_* environment variable with its default.
    Defaultenv {
        /// Take values from this existing config as the base.
        #[arg(short = 'b', long = "base")]
        base: Option<PathBuf>,
        /// With --base: print only options whose value is not zero.
        #[arg(long = "base-non-zero-only")]
        base_non_zero_only: bool,
    },
    /// Generate a sample connection JWT for a user.
    Gentoken {
        #[arg(short = 'c', long = "config", default_value = "config.json")]
        config: PathBuf,
        /// User ID; empty = anonymous.
        #[arg(short = 'u', long = "user", default_value = "")]
        user: String,
        /// Token TTL in seconds; -1 for a token without expiration.
        #[arg(
            short = 't',
            long = "ttl",
            default_value_t = 604800,
            allow_negative_numbers = true
        )]
        ttl: i64,
        /// Only print the token.
        #[arg(short = 'q', long = "quiet")]
        quiet: bool,
    },
    /// Generate a sample subscription JWT for a user and channel.
    Gensubtoken {
        #[arg(short = 'c', long = "config", default_value = "config.json")]
        config: PathBuf,
        #[arg(short = 'u', long = "user", default_value = "")]
        user: String,
        #[arg(short = 's', long = "channel", default_value = "")]
        channel: String,
        #[arg(
            short = 't',
            long = "ttl",
            default_value_t = 604800,
            allow_negative_numbers = true
        )]
        ttl: i64,
        #[arg(short = 'q', long = "quiet")]
        quiet: bool,
    },
    /// Check a connection JWT.
    Checktoken {
        #[arg(short = 'c', long = "config", default_value = "config.json")]
        config: PathBuf,
        token: Option<String>,
    },
    /// Check a subscription JWT.
    Checksubtoken {
        #[arg(short = 'c', long = "config", default_value = "config.json")]
        config: PathBuf,
        token: Option<String>,
    },
    /// Gyre only: run a development server from `gyre-dev.json`, generating it (random secrets,
    /// demo namespaces) when missing, and print an API key and a demo token.
    Dev {
        #[arg(short = 'c', long = "config", default_value = "gyre-dev.json")]
        config: PathBuf,
        #[command(flatten)]
        flags: Box<ServerFlags>,
    },
    /// Gyre only: the load tool (WebSocket fan-out against Gyre, Centrifugo or nats-server);
    /// see docs/performance.md.
    Bench(Box<gyre_bench::Args>),
}

/// Root command arguments (running the server).
#[derive(Args, Debug, Default)]
pub(crate) struct ServeArgs {
    /// Path to the config file (JSON, YAML or TOML).
    #[arg(short = 'c', long = "config", default_value = "config.json")]
    pub(crate) config: PathBuf,
    #[command(flatten)]
    pub(crate) flags: ServerFlags,
}

/// Server flags. Each maps to a config key and overrides file and env only when given.
#[derive(Args, Debug, Default, Clone)]
pub(crate) struct ServerFlags {
    /// Optional path to create a PID file.
    #[arg(long = "pid_file")]
    pid_file: Option<String>,
    /// Interface address to listen on.
    #[arg(short = 'a', long = "http_server.address")]
    address: Option<String>,
    /// Port to bind the HTTP server to (0 = any free port).
    #[arg(short = 'p', long = "http_server.port")]
    port: Option<u16>,
    /// Custom interface address for internal endpoints.
    #[arg(long = "http_server.internal_address")]
    internal_address: Option<String>,
    /// Custom port for internal endpoints.
    #[arg(long = "http_server.internal_port")]
    internal_port: Option<String>,
    /// Engine to use: memory or redis.
    #[arg(long = "engine.type")]
    engine_type: Option<String>,
    #[arg(long = "broker.enabled", num_args = 0..=1, default_missing_value = "true")]
    broker_enabled: Option<bool>,
    #[arg(long = "broker.type")]
    broker_type: Option<String>,
    #[arg(long = "presence_manager.enabled", num_args = 0..=1, default_missing_value = "true")]
    presence_manager_enabled: Option<bool>,
    #[arg(long = "presence_manager.type")]
    presence_manager_type: Option<String>,
    #[arg(long = "map_broker.type")]
    map_broker_type: Option<String>,
    /// Log level: trace, debug, info, warn, error, fatal or none.
    #[arg(long = "log.level")]
    log_level: Option<String>,
    /// Optional log file.
    #[arg(long = "log.file")]
    log_file: Option<String>,
    #[arg(long = "debug.enabled", num_args = 0..=1, default_missing_value = "true")]
    debug_enabled: Option<bool>,
    #[arg(long = "admin.enabled", num_args = 0..=1, default_missing_value = "true")]
    admin_enabled: Option<bool>,
    #[arg(long = "admin.external", num_args = 0..=1, default_missing_value = "true")]
    admin_external: Option<bool>,
    #[arg(long = "admin.insecure", num_args = 0..=1, default_missing_value = "true")]
    admin_insecure: Option<bool>,
    /// Enable the Prometheus metrics endpoint.
    #[arg(long = "prometheus.enabled", num_args = 0..=1, default_missing_value = "true")]
    prometheus_enabled: Option<bool>,
    #[arg(long = "swagger.enabled", num_args = 0..=1, default_missing_value = "true")]
    swagger_enabled: Option<bool>,
    /// Enable the health check endpoint.
    #[arg(long = "health.enabled", num_args = 0..=1, default_missing_value = "true")]
    health_enabled: Option<bool>,
    #[arg(long = "uni_websocket.enabled", num_args = 0..=1, default_missing_value = "true")]
    uni_websocket_enabled: Option<bool>,
    #[arg(long = "uni_sse.enabled", num_args = 0..=1, default_missing_value = "true")]
    uni_sse_enabled: Option<bool>,
    #[arg(long = "uni_http_stream.enabled", num_args = 0..=1, default_missing_value = "true")]
    uni_http_stream_enabled: Option<bool>,
    #[arg(long = "sse.enabled", num_args = 0..=1, default_missing_value = "true")]
    sse_enabled: Option<bool>,
    #[arg(long = "http_stream.enabled", num_args = 0..=1, default_missing_value = "true")]
    http_stream_enabled: Option<bool>,
    #[arg(long = "init.enabled", num_args = 0..=1, default_missing_value = "true")]
    init_enabled: Option<bool>,
    /// Start in insecure client mode (no auth, every channel permission granted).
    #[arg(long = "client.insecure", num_args = 0..=1, default_missing_value = "true")]
    client_insecure: Option<bool>,
    /// Insecure API mode (no API key).
    #[arg(long = "http_api.insecure", num_args = 0..=1, default_missing_value = "true")]
    http_api_insecure: Option<bool>,
    #[arg(long = "http_api.external", num_args = 0..=1, default_missing_value = "true")]
    http_api_external: Option<bool>,
    #[arg(long = "grpc_api.enabled", num_args = 0..=1, default_missing_value = "true")]
    grpc_api_enabled: Option<bool>,
    #[arg(long = "grpc_api.port")]
    grpc_api_port: Option<u16>,
    #[arg(long = "uni_grpc.enabled", num_args = 0..=1, default_missing_value = "true")]
    uni_grpc_enabled: Option<bool>,
    #[arg(long = "uni_grpc.port")]
    uni_grpc_port: Option<u16>,
}

impl ServerFlags {
    /// The flags that were given, as (dotted config key, value) pairs.
    pub(crate) fn overrides(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                out.push((key.to_string(), v));
            }
        };
        let s = |v: &Option<String>| v.clone().map(Value::from);
        let b = |v: &Option<bool>| v.map(Value::from);
        let n = |v: &Option<u16>| v.map(Value::from);
        put("pid_file", s(&self.pid_file));
        put("http_server.address", s(&self.address));
        put("http_server.port", n(&self.port));
        put("http_server.internal_address", s(&self.internal_address));
        put("http_server.internal_port", s(&self.internal_port));
        put("engine.type", s(&self.engine_type));
        put("broker.enabled", b(&self.broker_enabled));
        put("broker.type", s(&self.broker_type));
        put("presence_manager.enabled", b(&self.presence_manager_enabled));
        put("presence_manager.type", s(&self.presence_manager_type));
        put("map_broker.type", s(&self.map_broker_type));
        put("log.level", s(&self.log_level));
        put("log.file", s(&self.log_file));
        put("debug.enabled", b(&self.debug_enabled));
        put("admin.enabled", b(&self.admin_enabled));
        put("admin.external", b(&self.admin_external));
        put("admin.insecure", b(&self.admin_insecure));
        put("prometheus.enabled", b(&self.prometheus_enabled));
        put("swagger.enabled", b(&self.swagger_enabled));
        put("health.enabled", b(&self.health_enabled));
        put("uni_websocket.enabled", b(&self.uni_websocket_enabled));
        put("uni_sse.enabled", b(&self.uni_sse_enabled));
        put("uni_http_stream.enabled", b(&self.uni_http_stream_enabled));
        put("sse.enabled", b(&self.sse_enabled));
        put("http_stream.enabled", b(&self.http_stream_enabled));
        put("init.enabled", b(&self.init_enabled));
        put("client.insecure", b(&self.client_insecure));
        put("http_api.insecure", b(&self.http_api_insecure));
        put("http_api.external", b(&self.http_api_external));
        put("grpc_api.enabled", b(&self.grpc_api_enabled));
        put("grpc_api.port", n(&self.grpc_api_port));
        put("uni_grpc.enabled", b(&self.uni_grpc_enabled));
        put("uni_grpc.port", n(&self.uni_grpc_port));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_flags_become_overrides() {
        let cli = Cli::try_parse_from(["gyre", "-p", "0", "--client.insecure", "--log.level=debug"]).unwrap();
        assert!(cli.command.is_none());
        let o = cli.serve.flags.overrides();
        assert!(o.contains(&("http_server.port".into(), Value::from(0))));
        assert!(o.contains(&("client.insecure".into(), Value::from(true))));
        assert!(o.contains(&("log.level".into(), Value::from("debug"))));
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn gentoken_flags() {
        let cli = Cli::try_parse_from(["gyre", "gentoken", "-u", "42", "-t", "-1", "-q"]).unwrap();
        match cli.command {
            Some(Command::Gentoken { user, ttl, quiet, .. }) => {
                assert_eq!(user, "42");
                assert_eq!(ttl, -1);
                assert!(quiet);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
