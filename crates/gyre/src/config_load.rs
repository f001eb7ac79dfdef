//! Loading the configuration the way Centrifugo does: `.env` in the working directory, the file,
//! `CENTRIFUGO_*` environment variables, then command-line flags.

use std::path::Path;

use gyre_config::Config;

/// A loaded configuration and what to tell the operator about it.
pub(crate) struct Loaded {
    pub(crate) config: Config,
    pub(crate) warnings: Vec<String>,
    pub(crate) file_found: bool,
    pub(crate) unknown_keys: Vec<String>,
}

/// Loads `path` (format by extension), overlaying `.env`, the process environment and `flags`.
pub(crate) fn load(
    path: &Path,
    path_explicit: bool,
    flags: &[(String, serde_json::Value)],
) -> anyhow::Result<Loaded> {
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    let mut warnings = Vec::new();
    let dotenv = Path::new(".env");
    if dotenv.exists() {
        // Process variables win over .env ones (godotenv semantics).
        for (k, v) in gyre_config::read_dotenv(dotenv)? {
            if !env.iter().any(|(ek, _)| *ek == k) {
                env.push((k, v));
            }
        }
        warnings.push("environment variables have been loaded from .env file".into());
    }
    let opts = gyre_config::LoadOptions {
        path: Some(path.to_path_buf()),
        path_explicit,
        env,
        flags: flags.to_vec(),
    };
    let loaded = gyre_config::load(&opts)?;
    warnings.extend(loaded.warnings);
    Ok(Loaded {
        config: loaded.config,
        warnings,
        file_found: loaded.file_found,
        unknown_keys: loaded.unknown_keys,
    })
}
