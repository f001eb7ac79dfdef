//! The key registry: a tree of every known config key with its value kind and default, derived
//! from `Config::default()` so it cannot drift from the typed structs.
//!
//! Env var names cannot be split back into paths (keys contain `_`), unknown keys need the set
//! of valid keys, and loose file values (`"8000"` for an int) need the expected kind; all three
//! come from here. Durations are recognised through a serialization marker (see
//! `duration::with_duration_markers`). Arrays of objects need an element template, listed in
//! [`element_template`]; every other array is a list of strings, and every object that is empty
//! by default is a free-form map.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::duration::{with_duration_markers, DURATION_MARKER};
use crate::types::{ChannelNamespace, Config, RpcNamespace};
use crate::types_proxy::{
    ConnectCodeToHttpResponseTransform, Consumer, HttpStatusToCodeTransform, NamedProxy,
    UniConnectCodeToDisconnectTransform,
};

/// What a leaf holds, which decides how loose file values and env strings are read.
#[derive(Debug)]
pub(crate) enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Duration,
    StrList,
    /// Free-form object (`MapStringString`, raw consumer options); env value is JSON.
    Map,
    /// Array of objects; env value is JSON (or space-separated names for named lists).
    List(Box<Node>),
    /// Anything goes (only unreleased `broker.redisnats`).
    Opaque,
}

#[derive(Debug)]
pub(crate) enum Shape {
    Struct(BTreeMap<String, Node>),
    Leaf(Kind),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) shape: Shape,
    /// Default value in its plain serialized form (durations as Go strings).
    pub(crate) default: Value,
}

impl Node {
    pub(crate) fn child(&self, key: &str) -> Option<&Node> {
        match &self.shape {
            Shape::Struct(children) => children.get(key),
            Shape::Leaf(_) => None,
        }
    }

    pub(crate) fn children(&self) -> Option<&BTreeMap<String, Node>> {
        match &self.shape {
            Shape::Struct(children) => Some(children),
            Shape::Leaf(_) => None,
        }
    }

    pub(crate) fn kind(&self) -> Option<&Kind> {
        match &self.shape {
            Shape::Leaf(kind) => Some(kind),
            Shape::Struct(_) => None,
        }
    }

    /// Follows a key path through structs (not into list elements).
    pub(crate) fn lookup<S: AsRef<str>>(&self, path: &[S]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.child(key.as_ref()))
    }
}

/// The lists whose items take per-item env vars (`CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_<OPT>`).
pub(crate) const NAMED_LISTS: &[&[&str]] = &[
    &["channel", "namespaces"],
    &["rpc", "namespaces"],
    &["proxies"],
    &["consumers"],
];

pub(crate) const ENV_PREFIX: &str = "CENTRIFUGO";

/// The registry root for [`Config`].
pub(crate) fn root() -> &'static Node {
    static ROOT: OnceLock<Node> = OnceLock::new();
    ROOT.get_or_init(|| build(&marked(&Config::default()), &mut Vec::new()))
}

fn marked<T: Serialize>(value: &T) -> Value {
    // Serializing a plain struct tree to a Value cannot fail (no non-string map keys).
    with_duration_markers(|| serde_json::to_value(value).unwrap_or(Value::Null))
}

/// Element templates for arrays of objects, by the array's key path.
fn element_template(path: &[String]) -> Option<Value> {
    let last = path.last()?.as_str();
    let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
    let template = match (parent, last) {
        (Some("channel"), "namespaces") if path.len() == 2 => marked(&ChannelNamespace::default()),
        (Some("rpc"), "namespaces") if path.len() == 2 => marked(&RpcNamespace::default()),
        (None, "proxies") => marked(&NamedProxy::default()),
        (None, "consumers") => marked(&Consumer::default()),
        (Some("connect_code_to_unidirectional_disconnect"), "transforms") => {
            marked(&UniConnectCodeToDisconnectTransform::default())
        }
        (Some("connect_code_to_http_response"), "transforms") => {
            marked(&ConnectCodeToHttpResponseTransform::default())
        }
        (_, "status_to_code_transforms") => marked(&HttpStatusToCodeTransform::default()),
        _ => return None,
    };
    Some(template)
}

fn build(marked: &Value, path: &mut Vec<String>) -> Node {
    let leaf = |kind, default| Node {
        shape: Shape::Leaf(kind),
        default,
    };
    match marked {
        Value::Object(map) if map.len() == 1 && map.contains_key(DURATION_MARKER) => {
            leaf(Kind::Duration, map[DURATION_MARKER].clone())
        }
        Value::Object(map) if map.is_empty() => leaf(Kind::Map, Value::Object(Map::new())),
        Value::Object(map) => {
            let mut children = BTreeMap::new();
            let mut default = Map::new();
            for (key, value) in map {
                path.push(key.clone());
                let node = build(value, path);
                path.pop();
                default.insert(key.clone(), node.default.clone());
                children.insert(key.clone(), node);
            }
            Node {
                shape: Shape::Struct(children),
                default: Value::Object(default),
            }
        }
        Value::Array(_) => match element_template(path) {
            Some(template) => {
                let element = build(&template, path);
                leaf(Kind::List(Box::new(element)), unmark(marked))
            }
            None => leaf(Kind::StrList, marked.clone()),
        },
        Value::Bool(_) => leaf(Kind::Bool, marked.clone()),
        Value::Number(n) if n.is_f64() => leaf(Kind::Float, marked.clone()),
        Value::Number(_) => leaf(Kind::Int, marked.clone()),
        Value::String(_) => leaf(Kind::Str, marked.clone()),
        Value::Null => leaf(Kind::Opaque, Value::Null),
    }
}

/// Replaces duration markers by their plain string form.
fn unmark(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key(DURATION_MARKER) => {
            map[DURATION_MARKER].clone()
        }
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), unmark(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(unmark).collect()),
        other => other.clone(),
    }
}

/// One env var of the registry.
#[derive(Debug)]
pub(crate) struct EnvEntry<'a> {
    pub(crate) name: String,
    pub(crate) path: Vec<String>,
    pub(crate) node: &'a Node,
}

/// Env var name for a key path under `prefix` (`CENTRIFUGO` + `_KEY_PATH`), upper-cased.
pub(crate) fn env_name<S: AsRef<str>>(prefix: &str, path: &[S]) -> String {
    let mut name = prefix.to_owned();
    for key in path {
        name.push('_');
        name.push_str(key.as_ref());
    }
    name.to_uppercase()
}

/// Centrifugo's `NameForEnv`: `.` and `-` become `_` (upper-casing happens in [`env_name`]).
pub(crate) fn name_for_env(name: &str) -> String {
    name.replace(['.', '-'], "_")
}

/// Every leaf (lists count as leaves) under `node`, with env names under `prefix`.
pub(crate) fn env_entries<'a>(node: &'a Node, prefix: &str) -> Vec<EnvEntry<'a>> {
    fn walk<'a>(node: &'a Node, prefix: &str, path: &mut Vec<String>, out: &mut Vec<EnvEntry<'a>>) {
        match &node.shape {
            Shape::Struct(children) => {
                for (key, child) in children {
                    path.push(key.clone());
                    walk(child, prefix, path, out);
                    path.pop();
                }
            }
            Shape::Leaf(_) => out.push(EnvEntry {
                name: env_name(prefix, path),
                path: path.clone(),
                node,
            }),
        }
    }
    let mut out = Vec::new();
    walk(node, prefix, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn durations_and_lists_are_recognised() {
        let root = root();
        assert!(matches!(
            root.lookup(&["client", "ping_interval"]).and_then(Node::kind),
            Some(Kind::Duration)
        ));
        assert_eq!(root.lookup(&["client", "ping_interval"]).unwrap().default, "25s");
        assert!(matches!(
            root.lookup(&["http_server", "port"]).and_then(Node::kind),
            Some(Kind::Int)
        ));
        assert!(matches!(
            root.lookup(&["client", "allowed_origins"]).and_then(Node::kind),
            Some(Kind::StrList)
        ));
        assert!(matches!(
            root.lookup(&["channel", "namespaces"]).and_then(Node::kind),
            Some(Kind::List(_))
        ));
        assert!(matches!(
            root.lookup(&["client", "proxy", "connect", "http", "static_headers"])
                .and_then(Node::kind),
            Some(Kind::Map)
        ));
        // Squashed structs add no segment.
        assert!(root.lookup(&["engine", "redis", "address"]).is_some());
        assert!(root
            .lookup(&["client", "subscription_token", "hmac_secret_key"])
            .is_some());
    }

    #[test]
    fn env_names_do_not_collide() {
        let mut seen = HashMap::new();
        for entry in env_entries(root(), ENV_PREFIX) {
            if let Some(previous) = seen.insert(entry.name.clone(), entry.path.clone()) {
                panic!("{} maps to {:?} and {:?}", entry.name, previous, entry.path);
            }
        }
        assert!(seen.contains_key("CENTRIFUGO_ENGINE_REDIS_ADDRESS"));
        assert!(seen.contains_key("CENTRIFUGO_CLIENT_PING_INTERVAL"));
        assert!(seen.contains_key("CENTRIFUGO_CHANNEL_NAMESPACES"));
    }

    /// Every array without an element template must really be a list of strings, or the env
    /// overlay and loose-value coercion would produce values the typed structs reject.
    #[test]
    fn string_lists_accept_strings() {
        for entry in env_entries(root(), ENV_PREFIX) {
            if !matches!(entry.node.kind(), Some(Kind::StrList)) {
                continue;
            }
            let mut value = serde_json::to_value(Config::default()).unwrap();
            let mut target = &mut value;
            for key in &entry.path {
                target = &mut target[key.as_str()];
            }
            *target = serde_json::json!(["x"]);
            serde_json::from_value::<Config>(value)
                .unwrap_or_else(|e| panic!("{:?} is not a string list: {e}", entry.path));
        }
    }
}
