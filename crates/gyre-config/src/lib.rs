//! Gyre configuration: one typed [`Config`] with Centrifugo v6 key names drives file parsing
//! (JSON/YAML/TOML), the `CENTRIFUGO_*` environment overlay, command-line flags, defaults,
//! validation and the generated configs (`genconfig`, `defaultconfig`, `defaultenv`).
//!
//! * [`load()`] / [`load_str`]: file → env → flags → defaults, with unknown keys and env vars
//!   reported, never fatal. See the [`load`](mod@load) module for the zero-value rule.
//! * [`read_dotenv`] + [`merge_env`]: `.env` support (the process environment wins).
//! * [`validate`]: every problem at once, Centrifugo's wording.
//! * [`genconfig`], [`defaultconfig`], [`defaultenv`]: CLI renders.
#![forbid(unsafe_code)]

use std::sync::Arc;

pub mod channels;
mod dotenv;
pub mod duration;
mod env;
mod format;
pub mod glob;
pub mod load;
mod normalize;
pub mod pem;
mod render;
mod schema;
mod seed_proxy;
pub mod types;
pub mod types_engine;
pub mod types_net;
pub mod types_proxy;
mod unsupported;
mod validate;
mod validate_channel;

pub use channels::{ChannelError, Channels, Resolved};
pub use dotenv::{merge_env, parse_dotenv, read_dotenv};
pub use duration::{format_go_duration, parse_go_duration, Duration, DurationError};
pub use format::{Format, FormatError};
pub use load::{load, load_str, LoadError, LoadOptions, Loaded};
pub use render::{defaultconfig, defaultenv, genconfig, RenderError};
pub use types::*;
pub use types_engine::*;
pub use types_net::*;
pub use types_proxy::*;
pub use validate::{validate, ValidationError, DEFAULT_PROXY_NAME};

/// A loaded configuration with what is derived from it (compiled channel rules).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub config: Config,
    pub channels: Channels,
}

impl Snapshot {
    pub fn new(config: Config) -> Result<Snapshot, regex::Error> {
        let channels = Channels::new(&config)?;
        Ok(Snapshot { config, channels })
    }
}

/// The live configuration, swapped atomically on reload (SIGHUP). Readers call `load()` per
/// request and never hold the guard across an `.await`.
pub type SharedConfig = Arc<arc_swap::ArcSwap<Snapshot>>;
