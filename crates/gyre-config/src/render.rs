//! Generated configs for the CLI: `genconfig`, `defaultconfig`, `defaultenv`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde_json::Value;

use crate::env::item_prefix;
use crate::format::Format;
use crate::schema::{self, env_entries, Kind, Node, ENV_PREFIX};
use crate::types::Config;

/// Why a config could not be rendered. Nothing in Gyre's own configs triggers it today; the
/// type keeps [`genconfig`] honest should rendering ever become fallible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error rendering config: {0}")]
pub struct RenderError(pub String);

/// `n` random bytes, base64url without padding (what Centrifugo's genconfig writes).
fn secret(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The minimal starting config of `genconfig`, with fresh random secrets:
/// `client.token.hmac_secret_key` (64 bytes), `client.allowed_origins: []`,
/// `admin {enabled: false, password (16 bytes), secret (64 bytes)}`, `http_api.key` (64 bytes).
/// Writing the file (and refusing to overwrite one) is the caller's job.
pub fn genconfig(format: Format) -> Result<String, RenderError> {
    let token = secret(64);
    let password = secret(16);
    let admin_secret = secret(64);
    let api_key = secret(64);
    Ok(match format {
        Format::Json => format!(
            "{{\n  \"client\": {{\n    \"token\": {{\n      \"hmac_secret_key\": \"{token}\"\n    }},\n    \
             \"allowed_origins\": []\n  }},\n  \"admin\": {{\n    \"enabled\": false,\n    \
             \"password\": \"{password}\",\n    \"secret\": \"{admin_secret}\"\n  }},\n  \
             \"http_api\": {{\n    \"key\": \"{api_key}\"\n  }}\n}}\n"
        ),
        Format::Yaml => format!(
            "client:\n  token:\n    hmac_secret_key: \"{token}\"\n  allowed_origins: []\n\n\
             admin:\n  enabled: false\n  password: \"{password}\"\n  secret: \"{admin_secret}\"\n\n\
             http_api:\n  key: \"{api_key}\"\n"
        ),
        Format::Toml => format!(
            "[client]\nallowed_origins = []\n\n[client.token]\nhmac_secret_key = \"{token}\"\n\n\
             [admin]\nenabled = false\npassword = \"{password}\"\nsecret = \"{admin_secret}\"\n\n\
             [http_api]\nkey = \"{api_key}\"\n"
        ),
    })
}

/// The full config with every key (`defaultconfig`): `base` (a loaded config) or the defaults.
/// Keys come in Centrifugo's order; durations are Go strings.
pub fn defaultconfig(format: Format, base: Option<&Config>) -> String {
    let mut config = base.cloned().unwrap_or_default();
    // Unreleased in Centrifugo, which drops it from generated configs too.
    config.broker.redisnats = None;
    format.render(&config).unwrap_or_else(|_| {
        // Only TOML can refuse, on a `null` inside raw consumer options; TOML has no null, so
        // drop those (key order becomes alphabetical in this rare case).
        let tree = strip_nulls(serde_json::to_value(&config).unwrap_or(Value::Null));
        format.render(&tree).unwrap_or_default()
    })
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|v| !v.is_null())
                .map(strip_nulls)
                .collect(),
        ),
        other => other,
    }
}

/// Every env var with its value in `base` (or the defaults), sorted, one `NAME=value` per line,
/// formatted like Centrifugo's `defaultenv`: strings quoted, durations/ints/bools bare, maps and
/// object lists as quoted JSON (inner quotes escaped), named lists as quoted space-separated
/// names. String lists are one quoted space-separated string (Centrifugo quotes each item).
///
/// `non_zero_only` (`--base-non-zero-only`) keeps only values that differ from the defaults.
/// Centrifugo keeps values that were non-zero in the base file, which a loaded [`Config`] no
/// longer knows; the two differ only for keys the file set to their default value.
pub fn defaultenv(base: Option<&Config>, non_zero_only: bool) -> String {
    let config = base.cloned().unwrap_or_default();
    let tree = serde_json::to_value(&config).unwrap_or(Value::Null);
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut emit = |name: String, node: &Node, value: &Value, named_list: bool| {
        if non_zero_only && *value == node.default {
            return;
        }
        if let Some(text) = env_text(node, value, named_list) {
            lines.push((name, text));
        }
    };

    for entry in env_entries(schema::root(), ENV_PREFIX) {
        let value = lookup(&tree, &entry.path);
        let named = schema::NAMED_LISTS
            .iter()
            .any(|list| list.iter().eq(entry.path.iter()));
        emit(entry.name, entry.node, value, named);
    }
    for list in schema::NAMED_LISTS {
        let Some(Kind::List(element)) = schema::root().lookup(list).and_then(Node::kind) else {
            continue;
        };
        let Value::Array(items) = lookup(&tree, list) else {
            continue;
        };
        for item in items {
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                continue;
            };
            for entry in env_entries(element, &item_prefix(list, name)) {
                emit(entry.name, entry.node, lookup(item, &entry.path), false);
            }
        }
    }

    lines.sort();
    let mut out = String::new();
    for (name, value) in lines {
        out.push_str(&name);
        out.push('=');
        out.push_str(&value);
        out.push('\n');
    }
    out
}

fn lookup<'a, S: AsRef<str>>(tree: &'a Value, path: &[S]) -> &'a Value {
    path.iter()
        .fold(tree, |v, key| v.get(key.as_ref()).unwrap_or(&Value::Null))
}

fn quoted_json(value: &Value) -> String {
    format!("\"{}\"", value.to_string().replace('"', "\\\""))
}

fn env_text(node: &Node, value: &Value, named_list: bool) -> Option<String> {
    Some(match node.kind()? {
        Kind::Str => format!("\"{}\"", value.as_str().unwrap_or_default()),
        Kind::Bool | Kind::Int | Kind::Float => value.to_string(),
        Kind::Duration => value.as_str().unwrap_or("0s").to_owned(),
        // Centrifugo prints `"a" "b"`, which a shell or a .env reader turns into `a` alone;
        // one quoted, space-separated string is what the variable actually expects.
        Kind::StrList => {
            let items: Vec<&str> = value
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("\"{}\"", items.join(" "))
        }
        Kind::List(_) if named_list => {
            let names: Vec<&str> = value
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.get("name").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            format!("\"{}\"", names.join(" "))
        }
        Kind::Map | Kind::List(_) => quoted_json(value),
        Kind::Opaque => return None,
    })
}
