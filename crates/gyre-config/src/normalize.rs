//! Value-level passes run before the typed deserialize, guided by the key registry:
//!
//! * key case: keys of known sections are lower-cased (viper does this in Centrifugo);
//! * unknown keys: collected with Centrifugo's path format (`channel.namespaces.[0].proxy`);
//! * loose values: `"8000"` for an int, `1` for a bool, `9000` for a string, one string for a
//!   list (Centrifugo decodes files with mapstructure's weak typing, so such configs exist);
//! * defaults: a missing key, `null`, or a zero value whose default is non-zero takes the default
//!   (Centrifugo's "defaults fill zero fields"); a negative number or duration is replaced by the
//!   default with a warning, so 0 and negatives never mean "unlimited";
//! * `${CENTRIFUGO_VAR_*}` references inside free-form maps are expanded.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::duration::{format_go_duration, parse_go_duration};
use crate::env::{parse_go_bool, parse_go_int};
use crate::load::LoadError;
use crate::schema::{Kind, Node, Shape};

/// Keys where an explicit 0 is kept instead of taking the default. Gyre decision: a listening
/// port of 0 asks the OS for a free port (Centrifugo would silently use the default port), which
/// test harnesses and embedded setups need; the bound address is logged.
const ZERO_MEANS_ZERO: &[&str] = &["http_server.port", "grpc_api.port", "uni_grpc.port"];

/// Joins a key path for messages: `a.b`, `a.b[0]`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Lower-cases keys of every object the registry knows as a struct.
pub(crate) fn lowercase_keys(node: &Node, value: &mut Value) {
    match (&node.shape, value) {
        (Shape::Struct(children), Value::Object(map)) => {
            let old = std::mem::take(map);
            for (key, mut item) in old {
                let key = key.to_lowercase();
                if let Some(child) = children.get(&key) {
                    lowercase_keys(child, &mut item);
                }
                map.insert(key, item);
            }
        }
        (Shape::Leaf(Kind::List(element)), Value::Array(items)) => {
            for item in items {
                lowercase_keys(element, item);
            }
        }
        _ => {}
    }
}

/// Appends the keys of `value` the registry does not know, in Centrifugo's format.
pub(crate) fn unknown_keys(node: &Node, value: &Value, parent: &str, out: &mut Vec<String>) {
    let (Some(children), Value::Object(map)) = (node.children(), value) else {
        return;
    };
    for (key, item) in map {
        let path = join(parent, key);
        match children.get(key) {
            None => out.push(path),
            Some(child) => match (&child.shape, item) {
                (Shape::Struct(_), Value::Object(_)) => unknown_keys(child, item, &path, out),
                (Shape::Leaf(Kind::List(element)), Value::Array(items)) => {
                    for (i, elem) in items.iter().enumerate() {
                        unknown_keys(element, elem, &join(&path, &format!("[{i}]")), out);
                    }
                }
                _ => {}
            },
        }
    }
}

/// State shared by one normalisation run.
pub(crate) struct Ctx<'a> {
    pub(crate) warnings: &'a mut Vec<String>,
    /// Variables for `${CENTRIFUGO_VAR_*}`; `None` leaves references untouched.
    pub(crate) vars: Option<&'a HashMap<String, String>>,
}

fn type_error(path: &str, expected: &str, got: &Value) -> LoadError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    LoadError::Value {
        path: path.to_owned(),
        message: format!("expected {expected}, got {got}"),
    }
}

fn value_error(path: &str, message: String) -> LoadError {
    LoadError::Value {
        path: path.to_owned(),
        message,
    }
}

/// Normalises `value` against `node`; the result has every known key, in canonical form.
pub(crate) fn normalize(
    node: &Node,
    value: Value,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Result<Value, LoadError> {
    match &node.shape {
        Shape::Struct(children) => {
            let mut given = match value {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                other => return Err(type_error(path, "an object", &other)),
            };
            let mut out = Map::new();
            for (key, child) in children {
                let item = match given.remove(key) {
                    Some(v) if !v.is_null() => normalize(child, v, &join(path, key), ctx)?,
                    _ => child.default.clone(),
                };
                out.insert(key.clone(), item);
            }
            // Whatever is left is unknown; it was reported before env/flags were applied.
            Ok(Value::Object(out))
        }
        Shape::Leaf(kind) => normalize_leaf(kind, &node.default, value, path, ctx),
    }
}

fn normalize_leaf(
    kind: &Kind,
    default: &Value,
    value: Value,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Result<Value, LoadError> {
    if value.is_null() {
        return Ok(default.clone());
    }
    match kind {
        Kind::Bool => Ok(Value::Bool(loose_bool(&value, path)?)),
        Kind::Int => {
            let n = loose_int(&value, path)?;
            if n < 0 {
                ctx.warnings.push(format!(
                    "{path}: negative value {n} is not supported, using the default ({default})"
                ));
                return Ok(default.clone());
            }
            if n == 0 && !ZERO_MEANS_ZERO.contains(&path) {
                return Ok(default.clone());
            }
            Ok(Value::Number(Number::from(n as u64)))
        }
        Kind::Float => {
            let f = loose_float(&value, path)?;
            if f < 0.0 {
                ctx.warnings.push(format!(
                    "{path}: negative value {f} is not supported, using the default ({default})"
                ));
                return Ok(default.clone());
            }
            if f == 0.0 {
                return Ok(default.clone());
            }
            Ok(Number::from_f64(f).map_or_else(|| default.clone(), Value::Number))
        }
        Kind::Str => {
            let s = loose_string(&value, path)?;
            if s.is_empty() {
                return Ok(default.clone());
            }
            Ok(Value::String(s))
        }
        Kind::Duration => normalize_duration(default, &value, path, ctx),
        Kind::StrList => {
            let items = match value {
                Value::Array(items) => items,
                Value::String(s) if s.is_empty() => Vec::new(),
                scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => vec![scalar],
                other => return Err(type_error(path, "a list of strings", &other)),
            };
            let strings = items
                .iter()
                .enumerate()
                .map(|(i, item)| loose_string(item, &format!("{path}[{i}]")).map(Value::String))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(strings))
        }
        Kind::Map => {
            let mut value = value;
            match &mut value {
                Value::Object(map) => {
                    for (key, item) in map.iter_mut() {
                        expand_vars(item, &join(path, key), ctx)?;
                    }
                }
                // The `[{key, value}]` form; its shape is checked by the typed deserialize.
                Value::Array(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        if let Some(v) = item.get_mut("value") {
                            expand_vars(v, &format!("{path}[{i}].value"), ctx)?;
                        }
                    }
                }
                other => return Err(type_error(path, "an object", other)),
            }
            Ok(value)
        }
        Kind::List(element) => {
            let Value::Array(items) = value else {
                return Err(type_error(path, "a list", &value));
            };
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| normalize(element, item, &format!("{path}[{i}]"), ctx))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(items))
        }
        Kind::Opaque => Ok(value),
    }
}

fn normalize_duration(
    default: &Value,
    value: &Value,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Result<Value, LoadError> {
    let nanos: i64 = match value {
        Value::String(s) => parse_go_duration(s).map_err(|e| value_error(path, e.to_string()))?,
        Value::Number(n) => {
            let nanos = if let Some(i) = n.as_i64() {
                i
            } else if let Some(f) = n.as_f64().filter(|f| f.abs() < i64::MAX as f64) {
                f.trunc() as i64
            } else {
                return Err(value_error(path, format!("duration {n} is out of range")));
            };
            if nanos > 0 {
                ctx.warnings.push(format!(
                    "{path}: bare number {nanos} is read as nanoseconds ({}), as in Go; \
                     write a string such as \"{nanos}s\" if seconds were meant",
                    format_go_duration(i128::from(nanos))
                ));
            }
            nanos
        }
        other => return Err(type_error(path, "a duration string", other)),
    };
    if nanos < 0 {
        ctx.warnings.push(format!(
            "{path}: negative duration {} is not supported, using the default ({})",
            format_go_duration(i128::from(nanos)),
            default.as_str().unwrap_or("0s")
        ));
        return Ok(default.clone());
    }
    if nanos == 0 {
        return Ok(default.clone());
    }
    Ok(Value::String(format_go_duration(i128::from(nanos))))
}

fn loose_bool(value: &Value, path: &str) -> Result<bool, LoadError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        // Weak decoding treats an empty string as false.
        Value::String(s) if s.is_empty() => Ok(false),
        Value::String(s) => {
            parse_go_bool(s).ok_or_else(|| value_error(path, format!("cannot parse {s:?} as a boolean")))
        }
        other => Err(type_error(path, "a boolean", other)),
    }
}

fn loose_int(value: &Value, path: &str) -> Result<i64, LoadError> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.is_u64() {
                Err(value_error(path, format!("{n} is out of range")))
            } else {
                // Weak decoding truncates floats.
                Ok(n.as_f64().map_or(0, |f| f.trunc() as i64))
            }
        }
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => {
            parse_go_int(s).ok_or_else(|| value_error(path, format!("cannot parse {s:?} as an integer")))
        }
        other => Err(type_error(path, "an integer", other)),
    }
}

fn loose_float(value: &Value, path: &str) -> Result<f64, LoadError> {
    match value {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::String(s) if s.is_empty() => Ok(0.0),
        Value::String(s) => s
            .parse::<f64>()
            .map_err(|_| value_error(path, format!("cannot parse {s:?} as a number"))),
        other => Err(type_error(path, "a number", other)),
    }
}

fn loose_string(value: &Value, path: &str) -> Result<String, LoadError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        // mapstructure's weak decoding turns booleans into "1"/"0".
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_owned()),
        other => Err(type_error(path, "a string", other)),
    }
}

fn var_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\$\{(CENTRIFUGO_VAR_[^}]+)\}").expect("static regex"))
}

/// Expands `${CENTRIFUGO_VAR_*}`; every referenced variable must exist (as in Centrifugo).
fn expand_vars(value: &mut Value, path: &str, ctx: &Ctx<'_>) -> Result<(), LoadError> {
    let (Some(vars), Value::String(s)) = (ctx.vars, &*value) else {
        return Ok(());
    };
    if !s.contains("${CENTRIFUGO_VAR_") {
        return Ok(());
    }
    for caps in var_regex().captures_iter(s) {
        let name = &caps[1];
        if !vars.contains_key(name) {
            return Err(value_error(
                path,
                format!("environment variable {name:?} not found"),
            ));
        }
    }
    let expanded = var_regex()
        .replace_all(s, |caps: &regex::Captures<'_>| {
            vars.get(&caps[1]).cloned().unwrap_or_default()
        })
        .into_owned();
    *value = Value::String(expanded);
    Ok(())
}
