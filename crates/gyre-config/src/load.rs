//! Loading: file → JSON value → env overlay → flag overlay → normalisation → typed [`Config`].
//!
//! Precedence is flags > env > file > defaults. Nothing about unknown input is fatal: unknown
//! file keys and unknown `CENTRIFUGO_*` variables are returned for the caller to log (and for
//! `checkconfig --strict` to fail on). Values that cannot be read (a bad duration, `"abc"` for
//! a port, malformed JSON in an env var) are errors, as in Centrifugo.
//!
//! Zero values: Centrifugo fills defaults into fields that are still zero after file, env and
//! flags, so a non-zero default cannot be set to 0. Gyre keeps that rule (configs behave the
//! same on both servers) and extends it: a negative number or duration also takes the default,
//! with a warning. A loaded [`Config`] therefore never holds 0 or a negative value where the
//! default is positive (`queue_max_size`, `channel_limit`, `message_size_limit`, `max_length`,
//! `history_max_publication_limit`, `recovery_max_publication_limit`, `ping_interval`,
//! `pong_timeout`, …). Configs built in code can get the same treatment with
//! [`Config::normalized`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::env;
use crate::format::Format;
use crate::normalize::{self, Ctx};
use crate::schema;
use crate::types::Config;
use crate::unsupported;

/// What to load. Build one per load (and per SIGHUP reload).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Config file (`-c/--config`, default `config.json`). `None` loads env, flags and defaults.
    pub path: Option<PathBuf>,
    /// Whether `path` came from the command line. Informational only: Centrifugo treats a
    /// missing explicit file exactly like a missing default one (warning, continue), and
    /// `checkconfig` fails on [`Loaded::file_found`] instead.
    pub path_explicit: bool,
    /// The environment (process env with `.env` merged in, see [`crate::merge_env`]). Only
    /// `CENTRIFUGO_*` names are read; when a name repeats, the last entry wins.
    pub env: Vec<(String, String)>,
    /// Flags the user actually set, as dotted keys (`"http_server.port"`) with their values;
    /// strings are fine (`"8001"`), they are coerced to the key's type. Do not pass flag
    /// defaults: they would override the file.
    pub flags: Vec<(String, Value)>,
}

/// A loaded configuration and what the caller should report about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Human-readable warnings to log at WARN (missing file, deprecated keys, unsupported
    /// sections in use, negative values replaced, bare-number durations, unknown log level).
    /// Unknown keys and env vars are not repeated here.
    pub warnings: Vec<String>,
    /// Unknown file keys, sorted, in Centrifugo's format (`channel.namespaces.[0].proxy`).
    pub unknown_keys: Vec<String>,
    /// Unknown `CENTRIFUGO_*` variables, sorted (Kubernetes service vars and
    /// `CENTRIFUGO_VAR_*` excluded).
    pub unknown_envs: Vec<String>,
    /// False when a path was given but no file exists there (`checkconfig` exits 1 on it).
    pub file_found: bool,
}

/// Why loading failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("unsupported config file format {0:?}: use .json, .yaml, .yml or .toml")]
    UnsupportedFormat(PathBuf),
    #[error("error reading config file {path:?}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("error parsing config file {path:?}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("error processing env {var}: {message}")]
    Env { var: String, message: String },
    #[error("flag {flag}: {message}")]
    Flag { flag: String, message: String },
    #[error("{path}: {message}")]
    Value { path: String, message: String },
    #[error("error loading {path:?}: {message}")]
    Dotenv { path: PathBuf, message: String },
}

/// Loads the configuration described by `opts`.
pub fn load(opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut warnings = Vec::new();
    let mut file_found = false;
    let mut tree = Value::Object(Map::new());
    if let Some(path) = &opts.path {
        let format = Format::from_path(path).map_err(|_| LoadError::UnsupportedFormat(path.clone()))?;
        match std::fs::read_to_string(path) {
            Ok(text) => {
                file_found = true;
                tree = parse_document(&text, format, path)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                warnings.push(format!(
                    "config file {} not found, continue using environment and flag options",
                    path.display()
                ));
            }
            Err(source) => {
                return Err(LoadError::Read {
                    path: path.clone(),
                    source,
                })
            }
        }
    }
    let mut loaded = load_value(tree, opts, warnings)?;
    loaded.file_found = file_found;
    Ok(loaded)
}

/// Like [`load`], with the file content given as text (`opts.path` is ignored).
pub fn load_str(text: &str, format: Format, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let tree = parse_document(text, format, Path::new("<text>"))?;
    let mut loaded = load_value(tree, opts, Vec::new())?;
    loaded.file_found = true;
    Ok(loaded)
}

fn parse_document(text: &str, format: Format, path: &Path) -> Result<Value, LoadError> {
    let parse_error = |message: String| LoadError::Parse {
        path: path.to_owned(),
        message,
    };
    match format.parse(text).map_err(parse_error)? {
        Value::Null => Ok(Value::Object(Map::new())),
        value @ Value::Object(_) => Ok(value),
        _ => Err(parse_error("the top level must be an object".into())),
    }
}

fn load_value(mut tree: Value, opts: &LoadOptions, mut warnings: Vec<String>) -> Result<Loaded, LoadError> {
    let root = schema::root();
    normalize::lowercase_keys(root, &mut tree);
    apply_v5_aliases(&mut tree, &mut warnings);
    crate::seed_proxy::apply(&mut tree, &mut warnings);

    let mut unknown_keys = Vec::new();
    normalize::unknown_keys(root, &tree, "", &mut unknown_keys);
    unknown_keys.sort();
    warnings.extend(unknown_keys.iter().filter_map(|k| v5_hint(k)));

    let env: HashMap<String, String> = opts.env.iter().cloned().collect();
    let mut flag_keys = HashSet::new();
    for (flag, _) in &opts.flags {
        let path: Vec<&str> = flag.split('.').collect();
        if root.lookup(&path).and_then(|n| n.kind()).is_none() {
            return Err(LoadError::Flag {
                flag: flag.clone(),
                message: "no such configuration key".into(),
            });
        }
        flag_keys.insert(flag.clone());
    }

    let mut known_envs = BTreeSet::new();
    env::apply_env(&mut tree, &env, &flag_keys, &mut known_envs)?;
    for (flag, value) in &opts.flags {
        let path: Vec<&str> = flag.split('.').collect();
        env::set_path(&mut tree, &path, value.clone());
    }
    env::apply_item_env(&mut tree, &env, &mut known_envs)?;
    let unknown_envs = env::unknown_envs(&env, &known_envs);

    let mut ctx = Ctx {
        warnings: &mut warnings,
        vars: Some(&env),
    };
    let tree = normalize::normalize(root, tree, "", &mut ctx)?;
    let config = typed(tree)?;
    warnings.extend(unsupported::warnings(&config));

    Ok(Loaded {
        config,
        warnings,
        unknown_keys,
        unknown_envs,
        file_found: false,
    })
}

fn typed(tree: Value) -> Result<Config, LoadError> {
    serde_path_to_error::deserialize(tree).map_err(|e| LoadError::Value {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Centrifugo v6 handles no v5 key (its migrations list is empty); Gyre accepts the v5
/// top-level `log_level` because quick-start documents still use it.
fn apply_v5_aliases(tree: &mut Value, warnings: &mut Vec<String>) {
    let Some(map) = tree.as_object_mut() else {
        return;
    };
    let Some(level) = map.remove("log_level") else {
        return;
    };
    let log_level_set = map
        .get("log")
        .and_then(|log| log.get("level"))
        .is_some_and(|l| !l.is_null());
    if log_level_set {
        warnings.push("log_level is a Centrifugo v5 key and is ignored because log.level is set".into());
        return;
    }
    warnings.push("log_level is a Centrifugo v5 key, use log.level instead".into());
    env::set_path(tree, &["log", "level"], level);
}

/// A hint for unknown keys that are well-known Centrifugo v5 names.
fn v5_hint(key: &str) -> Option<String> {
    let v6 = match key {
        "token_hmac_secret_key" => "client.token.hmac_secret_key",
        "token_rsa_public_key" => "client.token.rsa_public_key",
        "token_jwks_public_endpoint" => "client.token.jwks_public_endpoint",
        "api_key" => "http_api.key",
        "api_insecure" => "http_api.insecure",
        "allowed_origins" => "client.allowed_origins",
        "namespaces" => "channel.namespaces",
        "presence" => "channel.without_namespace.presence",
        "history_size" => "channel.without_namespace.history_size",
        "history_ttl" => "channel.without_namespace.history_ttl",
        "allow_subscribe_for_client" => "channel.without_namespace.allow_subscribe_for_client",
        "port" => "http_server.port",
        "address" => "http_server.address",
        "internal_port" => "http_server.internal_port",
        "admin_password" => "admin.password",
        "admin_secret" => "admin.secret",
        "redis_address" => "engine.redis.address",
        "client_insecure" => "client.insecure",
        "log_file" => "log.file",
        _ => return None,
    };
    Some(format!(
        "unknown key {key} looks like a Centrifugo v5 option; in v6 it is {v6}"
    ))
}

impl Config {
    /// Applies the loader's default rules (zero or negative → default, see the module docs) to
    /// a config built in code. Warnings are dropped; use [`load`] to see them.
    pub fn normalized(&self) -> Config {
        let Ok(tree) = serde_json::to_value(self) else {
            return self.clone();
        };
        let mut warnings = Vec::new();
        let mut ctx = Ctx {
            warnings: &mut warnings,
            vars: None,
        };
        normalize::normalize(schema::root(), tree, "", &mut ctx)
            .and_then(typed)
            .unwrap_or_else(|_| self.clone())
    }
}
