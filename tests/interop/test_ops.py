"""Operations: /health, /metrics, and graceful shutdown on SIGTERM (clients see 3001)."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from gyre_harness import conn_token

# The server is on loopback: never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> tuple[int, str]:
    with _OPENER.open(url, timeout=5) as resp:
        return resp.status, resp.read().decode()


def test_health_and_metrics(gyre):
    server = gyre({"health": {"enabled": True}, "prometheus": {"enabled": True}})
    status, body = _get(f"{server.base_url}/health")
    assert status == 200 and json.loads(body) == {}, body
    status, body = _get(f"{server.base_url}/metrics")
    assert status == 200
    assert "centrifugo_node_num_clients" in body, body[:2000]


async def test_sigterm_closes_clients_with_3001(gyre, clients, sdk):
    server = gyre()
    c = await clients(server, sdk, token=conn_token("shutdown-user"))
    await c.connected()
    mark = c.events.mark()
    code, killed = await asyncio.to_thread(server.terminate, 10.0)
    assert not killed, "gyre did not exit within 10 s of SIGTERM"
    ev = await c.events.wait("connecting", start=mark)
    assert (ev["code"], ev["reason"]) == (3001, "shutdown"), ev
    assert code == 0, f"gyre exit code after SIGTERM: {code}"
