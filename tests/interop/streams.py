"""Helpers shared by the history / recovery / delta / tags scenarios: namespace configs,
publishing sequences through cent, reading what a client received, and breaking a
client's connection in a controlled way."""

from __future__ import annotations

import copy
from typing import Any, Iterable, Optional

import cent

from gyre_harness import base_config
from sdk_clients import SdkClient
from tcp_proxy import TcpProxy


def with_namespaces(*namespaces: dict[str, Any], **patch: Any) -> dict[str, Any]:
    """A full config: base_config() plus extra namespaces (a `namespaces` list in a deep-merge
    patch would replace the base ones) plus top-level patch keys."""
    cfg = base_config()
    cfg["channel"]["namespaces"].extend(copy.deepcopy(list(namespaces)))
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def stream_ns(name: str, size: int = 100, **extra: Any) -> dict[str, Any]:
    """A namespace with a history stream and forced recovery, open to clients."""
    ns = {
        "name": name,
        "history_size": size,
        "history_ttl": "300s",
        "force_recovery": True,
        "allow_subscribe_for_client": True,
        "allow_history_for_subscriber": True,
    }
    ns.update(extra)
    return ns


async def publish_all(api: cent.AsyncClient, channel: str, payloads: Iterable[Any], **kw: Any) -> list[Any]:
    """Sequential publishes (so offsets follow the order); returns cent's results."""
    return [await api.publish(cent.PublishRequest(channel=channel, data=p, **kw)) for p in payloads]


def pubs(client: SdkClient, channel: str, start: int = 0) -> list[dict[str, Any]]:
    return client.events.find("sub.publication", start=start, channel=channel)


def offsets(client: SdkClient, channel: str, start: int = 0) -> list[int]:
    return [p["offset"] for p in pubs(client, channel, start)]


async def wait_offset(client: SdkClient, channel: str, offset: int, start: int = 0, timeout: float = 10.0) -> None:
    await client.events.wait(
        "sub.publication", timeout=timeout, start=start, channel=channel, where=lambda e: e["offset"] >= offset
    )


def client_id(client: SdkClient) -> str:
    """The id of the client's current connection (its latest `connected` event)."""
    found = client.events.find("connected")
    assert found, f"[{client.events.label}] never connected"
    return found[-1]["client"]


CUTS = ("socket_kill", "force_reconnect")


async def cut(how: str, proxy: TcpProxy, api: cent.AsyncClient, client: SdkClient, user: str) -> int:
    """Break the client's connection and keep it away until `proxy.release()`:
    `socket_kill` resets the TCP connection at the relay (the SDK sees its transport
    fail), `force_reconnect` asks gyre through the server API to close it with 3011
    "force reconnect". Both are transient for the SDKs. Returns an event-log mark from
    before the cut; when this returns the SDK has noticed (a `connecting` event)."""
    proxy.hold()
    mark = client.events.mark()
    if how == "socket_kill":
        assert proxy.kill() == 1, "the client had no live connection through its relay"
    elif how == "force_reconnect":
        await api.disconnect(
            cent.DisconnectRequest(
                user=user,
                client=client_id(client),
                disconnect=cent.Disconnect(code=3011, reason="force reconnect"),
            )
        )
    else:
        raise ValueError(how)
    ev = await client.events.wait("connecting", start=mark)
    if how == "force_reconnect":
        assert (ev["code"], ev["reason"]) == (3011, "force reconnect"), ev
    return mark


def subscribed_after(client: SdkClient, channel: str, mark: int) -> list[dict[str, Any]]:
    return client.events.find("sub.subscribed", start=mark, channel=channel)


def assert_exact_stream(
    client: SdkClient, channel: str, expected: list[tuple[int, Any]], start: int = 0, what: str = ""
) -> None:
    """The client received exactly these (offset, data) pairs, in this order."""
    got = [(p["offset"], p["data"]) for p in pubs(client, channel, start)]
    if got != expected:
        got_offsets = [o for o, _ in got]
        exp_offsets = [o for o, _ in expected]
        raise AssertionError(
            f"[{client.events.label}] {what}: received offsets {got_offsets}, expected {exp_offsets}\n"
            f"received: {got}\nexpected: {expected}"
        )


def position(ev: dict[str, Any]) -> Optional[tuple[int, str]]:
    sp = ev.get("streamPosition")
    return (sp["offset"], sp["epoch"]) if sp else None
