//! The `CENTRIFUGO_*` environment overlay.
//!
//! Names come from the key registry (`CENTRIFUGO_` + upper-cased key path joined by `_`).
//! Values are read the way Centrifugo's envconfig reads them: Go `ParseBool`, Go `ParseInt`
//! with base prefixes, Go durations, space-separated string lists, JSON for maps and lists of
//! objects (named lists also take space-separated names). An empty variable counts as unset.
//! Items of named lists take per-item variables such as
//! `CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_PRESENCE`; like Centrifugo, these only reach items that
//! exist after the file and the whole-list variable, they never create one.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use crate::duration::parse_go_duration;
use crate::load::LoadError;
use crate::schema::{self, env_entries, env_name, name_for_env, Kind, Node, ENV_PREFIX};

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b` prefixes, a leading `0`
/// means octal, `_` allowed between digits (and right after a prefix).
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.contains('_') && !underscores_ok(body) {
        return None;
    }
    let lower = body.replace('_', "").to_ascii_lowercase();
    let (radix, digits) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's digit-separator rule: every `_` sits between digits or right after a base prefix.
fn underscores_ok(body: &str) -> bool {
    let b = body.as_bytes();
    // Last class seen: b'^' start, b'0' digit or prefix, b'_' underscore, b'!' other.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

fn env_error(var: &str, value: &str, message: impl std::fmt::Display) -> LoadError {
    LoadError::Env {
        var: var.to_owned(),
        message: format!("cannot use {value:?}: {message}"),
    }
}

/// Turns one env string into the JSON value placed in the tree (normalisation follows).
pub(crate) fn parse_env_value(node: &Node, raw: &str, var: &str, named: bool) -> Result<Value, LoadError> {
    let Some(kind) = node.kind() else {
        return Err(env_error(var, raw, "not a leaf"));
    };
    Ok(match kind {
        Kind::Bool => Value::Bool(parse_go_bool(raw).ok_or_else(|| env_error(var, raw, "invalid boolean"))?),
        Kind::Int => json!(parse_go_int(raw).ok_or_else(|| env_error(var, raw, "invalid integer"))?),
        Kind::Float => json!(raw
            .parse::<f64>()
            .map_err(|_| env_error(var, raw, "invalid number"))?),
        Kind::Str => Value::String(raw.to_owned()),
        Kind::Duration => {
            parse_go_duration(raw).map_err(|e| env_error(var, raw, e))?;
            Value::String(raw.to_owned())
        }
        // Centrifugo splits on single spaces; empty pieces from repeated spaces are dropped.
        Kind::StrList => Value::Array(
            raw.split(' ')
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        Kind::Map => {
            let value: Value = serde_json::from_str(raw)
                .map_err(|e| env_error(var, raw, format!("invalid JSON object: {e}")))?;
            if !value.is_object() {
                return Err(env_error(var, raw, "expected a JSON object"));
            }
            value
        }
        Kind::List(_) => {
            let trimmed = raw.trim();
            // Centrifugo needs both brackets to try JSON; a value that only starts with `[`
            // is broken JSON here rather than a namespace called `[{"name":`.
            if named && !trimmed.starts_with('[') {
                // `"chat news"` declares items by name only; per-item vars fill them in.
                Value::Array(
                    raw.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(|name| json!({ "name": name }))
                        .collect(),
                )
            } else {
                let value: Value = serde_json::from_str(raw)
                    .map_err(|e| env_error(var, raw, format!("invalid JSON array: {e}")))?;
                if !value.is_array() {
                    return Err(env_error(var, raw, "expected a JSON array"));
                }
                value
            }
        }
        Kind::Opaque => serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned())),
    })
}

/// Sets `value` at `path`, creating (or replacing non-object) intermediate objects.
pub(crate) fn set_path<S: AsRef<str>>(root: &mut Value, path: &[S], value: Value) {
    let mut target = root;
    for key in path {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let Value::Object(map) = target else {
            return;
        };
        target = map.entry(key.as_ref().to_owned()).or_insert(Value::Null);
    }
    *target = value;
}

fn is_named_list(path: &[String]) -> bool {
    schema::NAMED_LISTS
        .iter()
        .any(|named| named.len() == path.len() && named.iter().zip(path).all(|(a, b)| a == b))
}

/// Applies the whole-tree variables. `skip` holds dotted keys set by flags (flags win, and
/// Centrifugo does not even read the env var then). Every registry name goes into `known`.
pub(crate) fn apply_env(
    tree: &mut Value,
    env: &HashMap<String, String>,
    skip: &HashSet<String>,
    known: &mut BTreeSet<String>,
) -> Result<(), LoadError> {
    for entry in env_entries(schema::root(), ENV_PREFIX) {
        known.insert(entry.name.clone());
        if skip.contains(&entry.path.join(".")) {
            continue;
        }
        let Some(raw) = env.get(&entry.name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let value = parse_env_value(entry.node, raw, &entry.name, is_named_list(&entry.path))?;
        set_path(tree, &entry.path, value);
    }
    Ok(())
}

/// Env prefix of one item of a named list, e.g. `CENTRIFUGO_CHANNEL_NAMESPACES_CHAT`.
pub(crate) fn item_prefix(list: &[&str], name: &str) -> String {
    format!(
        "{}_{}",
        env_name(ENV_PREFIX, list),
        name_for_env(name).to_uppercase()
    )
}

/// Applies per-item variables to the items present in `tree`.
pub(crate) fn apply_item_env(
    tree: &mut Value,
    env: &HashMap<String, String>,
    known: &mut BTreeSet<String>,
) -> Result<(), LoadError> {
    for list in schema::NAMED_LISTS {
        let Some(Kind::List(element)) = schema::root().lookup(list).and_then(Node::kind) else {
            continue;
        };
        let pointer = format!("/{}", list.join("/"));
        let Some(Value::Array(items)) = tree.pointer_mut(&pointer) else {
            continue;
        };
        for item in items.iter_mut().filter(|i| i.is_object()) {
            let Some(name) = item.get("name").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let prefix = item_prefix(list, &name);
            for entry in env_entries(element, &prefix) {
                known.insert(entry.name.clone());
                let Some(raw) = env.get(&entry.name).filter(|v| !v.is_empty()) else {
                    continue;
                };
                let value = parse_env_value(entry.node, raw, &entry.name, false)?;
                set_path(item, &entry.path, value);
            }
        }
    }
    Ok(())
}

fn kubernetes_var() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^CENTRIFUGO(?:_[A-Z0-9_]+)?_(PORT|SERVICE_)").expect("static regex"))
}

/// `CENTRIFUGO_*` variables nobody reads, minus Kubernetes service vars and `CENTRIFUGO_VAR_*`.
pub(crate) fn unknown_envs(env: &HashMap<String, String>, known: &BTreeSet<String>) -> Vec<String> {
    let mut unknown: Vec<String> = env
        .keys()
        .filter(|k| k.starts_with("CENTRIFUGO_"))
        .filter(|k| !kubernetes_var().is_match(k))
        .filter(|k| !k.starts_with("CENTRIFUGO_VAR_"))
        .filter(|k| !known.contains(*k))
        .cloned()
        .collect();
    unknown.sort();
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bools() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Some(false));
        }
        for bad in ["yes", "on", "tRUE", "", " true"] {
            assert_eq!(parse_go_bool(bad), None);
        }
    }

    #[test]
    fn go_ints() {
        let table = [
            ("8000", Some(8000)),
            ("-12", Some(-12)),
            ("+7", Some(7)),
            ("0", Some(0)),
            ("0x1F", Some(31)),
            ("0o17", Some(15)),
            ("017", Some(15)),
            ("0b101", Some(5)),
            ("1_000", Some(1000)),
            ("0x_1F", Some(31)),
            ("_1", None),
            ("1_", None),
            ("1__0", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("08", None),
            ("", None),
            ("12a", None),
            (" 1", None),
        ];
        for (input, want) in table {
            assert_eq!(parse_go_int(input), want, "input {input:?}");
        }
    }

    #[test]
    fn kubernetes_exemption() {
        let env: HashMap<String, String> = [
            "CENTRIFUGO_PORT_8000_TCP",
            "CENTRIFUGO_SERVICE_HOST",
            "CENTRIFUGO_INTERNAL_PORT",
            "CENTRIFUGO_VAR_SECRET",
            "CENTRIFUGO_NOPE",
            "OTHER",
        ]
        .into_iter()
        .map(|k| (k.to_owned(), "x".to_owned()))
        .collect();
        assert_eq!(unknown_envs(&env, &BTreeSet::new()), vec!["CENTRIFUGO_NOPE"]);
    }
}
