//! Gyre configuration: one typed [`Config`] with Centrifugo v6 key names drives file parsing
//! (JSON/YAML/TOML), the `CENTRIFUGO_*` environment overlay, command-line flags, defaults,
//! validation and the generated configs (`genconfig`, `defaultconfig`, `defaultenv`).
#![forbid(unsafe_code)]

pub mod duration;
pub mod types;

pub use duration::Duration;
pub use types::*;
