"""GRPC backend proxies with the official SDKs: the test serves Centrifugo's `CentrifugoProxy`
service itself (grpc_proxy_backend.py) and gyre calls it for connect and RPC, as configured
with a `grpc://` endpoint. The same handler logic as the HTTP proxies is behind both (see
test_proxy.py); these tests pin the GRPC wire: request fields arrive, results, errors and
disconnects come back, credentials and static metadata are sent, a dead backend is error 100.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from grpc_proxy_backend import GrpcProxyBackend, result
from proxy_backend import closed_port_url
from sdk_clients import SdkError

SDK_NAME = {"js": "js", "py": "python"}


@pytest.fixture
async def grpc_backend():
    b = await GrpcProxyBackend().start()
    yield b
    await b.close()


def patch(endpoint: str) -> dict[str, Any]:
    proxy = {
        "endpoint": endpoint,
        "timeout": "1s",
        "grpc": {"credentials_key": "authorization", "credentials_value": "Bearer t0k", "static_metadata": {"x-static": "s"}},
    }
    return {
        "client": {"proxy": {"connect": {"enabled": True, **proxy}}},
        "rpc": {"proxy": proxy, "without_namespace": {"proxy_enabled": True}},
    }


def as_json(raw: bytes) -> Any:
    return json.loads(raw.decode())


async def test_connect_and_rpc_over_grpc(grpc_backend, gyre, clients, sdk):
    grpc_backend.script("Connect", lambda req: result(user="alice", data=b'{"hello":1}'))
    server = gyre(patch(grpc_backend.endpoint()))
    c = await clients(server, sdk, "alice")
    ev = await c.connected()
    assert ev["data"] == {"hello": 1}, ev
    [(req, metadata)] = grpc_backend.calls_to("Connect")
    assert req == {
        "client": ev["client"],
        "transport": "websocket",
        "protocol": sdk.fmt,
        "encoding": "json",
        "name": SDK_NAME[sdk.lang],
    }, req
    assert metadata.get("authorization") == "Bearer t0k", metadata
    assert metadata.get("x-static") == "s", metadata

    grpc_backend.script("RPC", lambda req: result(data=b'{"year":2026}'))
    res = await c.call("rpc", method="getCurrentYear", data={"tz": "UTC"})
    assert res == {"data": {"year": 2026}}, res
    [(req, _)] = grpc_backend.calls_to("RPC")
    assert req["user"] == "alice" and req["method"] == "getCurrentYear", req
    assert as_json(base64.b64decode(req["data"])) == {"tz": "UTC"}, req

    grpc_backend.script("RPC", lambda req: {"error": {"code": 1001, "message": "bad"}})
    with pytest.raises(SdkError) as err:
        await c.call("rpc", method="getCurrentYear", data={})
    assert (err.value.code, err.value.message) == (1001, "bad"), err.value


async def test_grpc_disconnect_and_dead_backend(grpc_backend, gyre, clients, js_sdk):
    grpc_backend.script("Connect", lambda req: {"disconnect": {"code": 4501, "reason": "go away"}})
    server = gyre(patch(grpc_backend.endpoint()))
    c = await clients(server, js_sdk, "banned")
    await c.connect()
    ev = await c.events.wait("disconnected")
    assert (ev["code"], ev["reason"]) == (4501, "go away"), ev

    # Nothing listens there: the connect attempt ends with error 100 (and the SDK retries).
    dead = closed_port_url("").replace("http://", "grpc://")
    server = gyre(patch(dead))
    c = await clients(server, js_sdk, "retrying")
    await c.connect()
    await c.events.wait("error", timeout=5, where=lambda e: e.get("error_code") == 100)
