//! Client RPC: the `rpc.ping` extension and RPC namespaces; the RPC proxy answers the rest.

use gyre_config::Rpc;
use gyre_core::{Error, HandlerError, RpcReply};

/// Decides a client `rpc` the way Centrifugo wires it:
///
/// * neither `rpc.ping` nor any RPC proxy enabled → no RPC handler at all → 108;
/// * `rpc.ping.enabled` and the method is `rpc.ping.method` → empty reply;
/// * no RPC proxy enabled anywhere (only the ping extension) → 104;
/// * otherwise the RPC namespace (`ns:method`) decides: unknown → 104, proxy not enabled for it
///   → 108; otherwise the namespace's RPC proxy (by name) answers.
pub(crate) fn decide_rpc<'a>(rpc: &'a Rpc, method: &str) -> Result<RpcDecision<'a>, HandlerError> {
    let any_proxy =
        rpc.without_namespace.proxy_enabled || rpc.namespaces.iter().any(|n| n.options.proxy_enabled);
    if !rpc.ping.enabled && !any_proxy {
        return Err(Error::NOT_AVAILABLE.into());
    }
    if rpc.ping.enabled && method == rpc.ping.method {
        return Ok(RpcDecision::Reply(RpcReply::default()));
    }
    if !any_proxy {
        return Err(Error::METHOD_NOT_FOUND.into());
    }
    let namespace = rpc_namespace(&rpc.namespace_boundary, method);
    let options = if namespace.is_empty() {
        &rpc.without_namespace
    } else {
        match rpc.namespaces.iter().find(|n| n.name == namespace) {
            Some(ns) => &ns.options,
            None => return Err(Error::METHOD_NOT_FOUND.into()),
        }
    };
    if !options.proxy_enabled {
        return Err(Error::NOT_AVAILABLE.into());
    }
    Ok(RpcDecision::Proxy(&options.proxy_name))
}

/// What an RPC needs after the checks that need no backend.
#[derive(Debug)]
pub(crate) enum RpcDecision<'a> {
    Reply(RpcReply),
    /// This RPC proxy (by name) answers.
    Proxy(&'a str),
}

/// The part of `method` before the first boundary, or "" when there is none.
fn rpc_namespace<'a>(boundary: &str, method: &'a str) -> &'a str {
    if boundary.is_empty() {
        return "";
    }
    method.split_once(boundary).map_or("", |(ns, _)| ns)
}

#[cfg(test)]
mod tests {
    use gyre_config::{RpcNamespace, RpcOptions};

    use super::*;

    /// 0 for a reply, 1 for "ask the proxy", else the error or disconnect code.
    fn code(r: Result<RpcDecision<'_>, HandlerError>) -> u32 {
        match r {
            Ok(RpcDecision::Reply(_)) => 0,
            Ok(RpcDecision::Proxy(_)) => 1,
            Err(HandlerError::Error(e)) => e.code,
            Err(HandlerError::Disconnect(d)) => d.code,
        }
    }

    #[test]
    fn nothing_configured_is_not_available() {
        let rpc = Rpc::default();
        assert_eq!(code(decide_rpc(&rpc, "ping")), 108);
        assert_eq!(code(decide_rpc(&rpc, "ns:x")), 108);
    }

    #[test]
    fn ping_extension() {
        let mut rpc = Rpc::default();
        rpc.ping.enabled = true;
        assert_eq!(code(decide_rpc(&rpc, "ping")), 0);
        assert_eq!(code(decide_rpc(&rpc, "other")), 104);
        rpc.ping.method = "health".into();
        assert_eq!(code(decide_rpc(&rpc, "ping")), 104);
        assert_eq!(code(decide_rpc(&rpc, "health")), 0);
    }

    #[test]
    fn namespaces_with_proxies() {
        let mut rpc = Rpc::default();
        rpc.namespaces.push(RpcNamespace {
            name: "math".into(),
            options: RpcOptions {
                proxy_enabled: true,
                ..Default::default()
            },
        });
        rpc.namespaces.push(RpcNamespace {
            name: "off".into(),
            options: RpcOptions::default(),
        });
        assert_eq!(code(decide_rpc(&rpc, "nope:sum")), 104);
        assert_eq!(code(decide_rpc(&rpc, "off:sum")), 108);
        assert_eq!(code(decide_rpc(&rpc, "sum")), 108);
        assert_eq!(code(decide_rpc(&rpc, "math:sum")), 1);
        assert!(matches!(
            decide_rpc(&rpc, "math:sum"),
            Ok(RpcDecision::Proxy("default"))
        ));
        rpc.namespace_boundary = String::new();
        assert_eq!(code(decide_rpc(&rpc, "nope:sum")), 108);
    }
}
