//! The `gyre` binary: Centrifugo v6's command line, config and server on top of gyre-core.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

mod admission;
mod app;
mod cli;
mod commands;
mod config_load;
mod logging;
mod metrics;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(
            &cli.serve.config,
            cli.serve.config != Path::new("config.json"),
            cli.serve.flags.overrides(),
        ),
        Some(Command::Version) => commands::version(),
        Some(Command::Genconfig { config }) => commands::genconfig(&config),
        Some(Command::Checkconfig { config, strict }) => commands::checkconfig(&config, strict),
        Some(Command::Defaultconfig {
            config,
            base,
            dry_run,
        }) => commands::defaultconfig(&config, base.as_deref(), dry_run),
        Some(Command::Defaultenv {
            base,
            base_non_zero_only,
        }) => commands::defaultenv(base.as_deref(), base_non_zero_only),
        Some(Command::Gentoken {
            config,
            user,
            ttl,
            quiet,
        }) => commands::gentoken(&config, &user, ttl, quiet),
        Some(Command::Gensubtoken {
            config,
            user,
            channel,
            ttl,
            quiet,
        }) => commands::gensubtoken(&config, &user, &channel, ttl, quiet),
        Some(Command::Checktoken { config, token }) => commands::checktoken(&config, token.as_deref(), false),
        Some(Command::Checksubtoken { config, token }) => {
            commands::checktoken(&config, token.as_deref(), true)
        }
        Some(Command::Dev { config, flags }) => dev(&config, flags.overrides()),
        Some(Command::Bench(args)) => match gyre_bench::run_blocking(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

fn serve(config: &Path, explicit: bool, flags: Vec<(String, serde_json::Value)>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error starting runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(app::run(config, explicit, flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "fatal");
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `gyre dev`: creates a development config when missing, prints how to use it, runs the server.
fn dev(config: &Path, flags: Vec<(String, serde_json::Value)>) -> ExitCode {
    if !config.exists() {
        let text = serde_json::to_string_pretty(&commands::dev_config()).unwrap_or_default();
        if let Err(e) = std::fs::write(config, text) {
            eprintln!("error: writing {}: {e}", config.display());
            return ExitCode::from(1);
        }
        eprintln!("created development config {}", config.display());
    }
    let loaded = match config_load::load(config, true, &flags) {
        Ok(l) => l.config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let port = loaded.http_server.port;
    let token = gyre_jwt::sign_hs256(
        loaded.client.token.hmac_secret_key.as_bytes(),
        &commands::connection_claims(&loaded, "demo", 86_400),
    );
    eprintln!(
        "\nGyre development server (config {cfg})\n  API key:          {key}\n  demo user token:  {token}\n\n  \
         curl -X POST -H \"X-API-Key: {key}\" -H \"Content-Type: application/json\" \\\n    \
         -d '{{\"channel\": \"chat:room-1\", \"data\": {{\"text\": \"hello\"}}}}' http://localhost:{port}/api/publish\n\n  \
         WebSocket endpoint: ws://localhost:{port}/connection/websocket\n",
        cfg = config.display(),
        key = loaded.http_api.key,
    );
    serve(config, true, flags)
}
