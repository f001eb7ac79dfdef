//! The proxy shape of the integration guide Gyre's users follow (its step 7), which is not a
//! Centrifugo v6 key layout: `client.proxy.rpc {enabled, endpoint}` and a `proxy` object inside
//! a namespace with `subscribe` / `publish` / `sub_refresh` `{enabled, endpoint, …}`. It is
//! rewritten onto v6's own keys before the configuration is decoded, with a warning naming the
//! v6 equivalent, so the rest of Gyre only ever sees v6 options:
//!
//! * `client.proxy.rpc` → `rpc.proxy` (unless set) and `rpc.without_namespace.proxy_enabled`;
//! * `channel.namespaces[].proxy.<kind>` → a named proxy `proxies[] {name: "<ns>.<kind>", …}`
//!   and the namespace's `<kind>_proxy_enabled` / `<kind>_proxy_name`.

use serde_json::{Map, Value};

const NAMESPACE_KINDS: [&str; 3] = ["subscribe", "publish", "sub_refresh"];

/// Rewrites the guide's proxy keys in `tree` (a whole configuration) in place.
pub(crate) fn apply(tree: &mut Value, warnings: &mut Vec<String>) {
    rpc(tree, warnings);
    namespaces(tree, warnings);
}

fn rpc(tree: &mut Value, warnings: &mut Vec<String>) {
    let Some(mut rpc) = tree
        .pointer_mut("/client/proxy")
        .and_then(Value::as_object_mut)
        .and_then(|p| p.remove("rpc"))
    else {
        return;
    };
    let enabled = take_enabled(&mut rpc);
    warnings.push(
        "client.proxy.rpc is not a Centrifugo v6 key: mapped onto rpc.proxy and \
         rpc.without_namespace.proxy_enabled"
            .into(),
    );
    let Some(root) = tree.as_object_mut() else {
        return;
    };
    let rpc_section = object_entry(root, "rpc");
    if !rpc_section.contains_key("proxy") {
        rpc_section.insert("proxy".into(), rpc);
    }
    if enabled {
        object_entry(rpc_section, "without_namespace").insert("proxy_enabled".into(), Value::Bool(true));
    }
}

fn namespaces(tree: &mut Value, warnings: &mut Vec<String>) {
    let mut named = Vec::new();
    if let Some(list) = tree
        .pointer_mut("/channel/namespaces")
        .and_then(Value::as_array_mut)
    {
        for ns in list.iter_mut().filter_map(Value::as_object_mut) {
            let Some(Value::Object(mut proxy)) = ns.remove("proxy") else {
                continue;
            };
            let ns_name = ns.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
            for kind in NAMESPACE_KINDS {
                let Some(mut one) = proxy.remove(kind) else {
                    continue;
                };
                let name = format!("{ns_name}.{kind}");
                if take_enabled(&mut one) {
                    ns.insert(format!("{kind}_proxy_enabled"), Value::Bool(true));
                    ns.insert(format!("{kind}_proxy_name"), Value::String(name.clone()));
                }
                if let Value::Object(fields) = &mut one {
                    fields.insert("name".into(), Value::String(name.clone()));
                }
                named.push(one);
                warnings.push(format!(
                    "channel.namespaces[{ns_name}].proxy.{kind} is not a Centrifugo v6 key: mapped \
                     onto proxies[] \"{name}\" and {kind}_proxy_enabled/{kind}_proxy_name"
                ));
            }
            for other in proxy.keys() {
                warnings.push(format!(
                    "channel.namespaces[{ns_name}].proxy.{other} is not supported and was ignored"
                ));
            }
        }
    }
    if named.is_empty() {
        return;
    }
    if let Some(root) = tree.as_object_mut() {
        let proxies = root.entry("proxies").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = proxies {
            list.extend(named);
        }
    }
}

/// Removes `enabled` from a proxy object; absent means disabled, as in v6's switches.
fn take_enabled(proxy: &mut Value) -> bool {
    proxy
        .as_object_mut()
        .and_then(|p| p.remove("enabled"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut().expect("just made an object")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn guide_shape_becomes_v6_keys() {
        let mut tree = json!({
            "client": {"proxy": {
                "connect": {"enabled": true, "endpoint": "http://backend:3000/centrifugo/connect"},
                "rpc": {"enabled": true, "endpoint": "http://backend:3000/centrifugo/rpc"}
            }},
            "channel": {"namespaces": [{
                "name": "chat",
                "proxy": {
                    "subscribe": {"enabled": true, "endpoint": "http://backend:3000/centrifugo/subscribe"},
                    "publish": {"enabled": true, "endpoint": "http://backend:3000/centrifugo/publish"}
                }
            }]}
        });
        let mut warnings = Vec::new();
        apply(&mut tree, &mut warnings);
        assert_eq!(
            tree,
            json!({
                "client": {"proxy": {
                    "connect": {"enabled": true, "endpoint": "http://backend:3000/centrifugo/connect"}
                }},
                "rpc": {
                    "proxy": {"endpoint": "http://backend:3000/centrifugo/rpc"},
                    "without_namespace": {"proxy_enabled": true}
                },
                "channel": {"namespaces": [{
                    "name": "chat",
                    "subscribe_proxy_enabled": true,
                    "subscribe_proxy_name": "chat.subscribe",
                    "publish_proxy_enabled": true,
                    "publish_proxy_name": "chat.publish"
                }]},
                "proxies": [
                    {"name": "chat.subscribe", "endpoint": "http://backend:3000/centrifugo/subscribe"},
                    {"name": "chat.publish", "endpoint": "http://backend:3000/centrifugo/publish"}
                ]
            })
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
    }

    #[test]
    fn v6_configs_are_untouched_and_explicit_v6_keys_win() {
        let v6 = json!({
            "client": {"proxy": {"connect": {"enabled": true, "endpoint": "http://a/connect"}}},
            "rpc": {"proxy": {"endpoint": "http://a/rpc"}},
            "channel": {"namespaces": [{"name": "x", "subscribe_proxy_enabled": true}]}
        });
        let mut tree = v6.clone();
        let mut warnings = Vec::new();
        apply(&mut tree, &mut warnings);
        assert_eq!(tree, v6);
        assert!(warnings.is_empty());

        let mut tree = json!({
            "client": {"proxy": {"rpc": {"enabled": false, "endpoint": "http://guide/rpc"}}},
            "rpc": {"proxy": {"endpoint": "http://v6/rpc"}}
        });
        apply(&mut tree, &mut warnings);
        assert_eq!(tree["rpc"]["proxy"]["endpoint"], "http://v6/rpc");
        assert!(tree["rpc"].get("without_namespace").is_none());
    }
}
