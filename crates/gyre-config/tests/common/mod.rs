#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use gyre_config::{load, load_str, Format, LoadOptions, Loaded};
use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn load_fixture(name: &str) -> Loaded {
    load(&LoadOptions {
        path: Some(fixture(name)),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Loads JSON text with the given env and flags.
pub fn load_json(json: &str, env_pairs: &[(&str, &str)], flags: &[(&str, Value)]) -> Loaded {
    try_load_json(json, env_pairs, flags).unwrap_or_else(|e| panic!("{e}"))
}

pub fn try_load_json(
    json: &str,
    env_pairs: &[(&str, &str)],
    flags: &[(&str, Value)],
) -> Result<Loaded, gyre_config::LoadError> {
    load_str(
        json,
        Format::Json,
        &LoadOptions {
            env: env(env_pairs),
            flags: flags.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            ..Default::default()
        },
    )
}
