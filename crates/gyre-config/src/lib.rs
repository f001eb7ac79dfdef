//! Gyre configuration: one typed [`Config`] with Centrifugo v6 key names drives file parsing
//! (JSON/YAML/TOML), the `CENTRIFUGO_*` environment overlay, command-line flags, defaults,
//! validation and the generated configs (`genconfig`, `defaultconfig`, `defaultenv`).
#![forbid(unsafe_code)]

use std::sync::Arc;

pub mod channels;
pub mod duration;
pub mod glob;
pub mod types;

pub use channels::{ChannelError, Channels, Resolved};
pub use duration::Duration;
pub use types::*;

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
