"""HTTP backend proxies (connect, refresh, subscribe, publish, rpc) with the official SDKs.

The test plays the application backend (proxy_backend.py): it records what gyre POSTs and
answers with scripted JSON, so each scenario checks both sides of the proxy contract: the
request shape Centrifugo v6 sends (server.md 2.3) and what the SDK sees for each answer
(2.4) or backend failure (2.5). Two config shapes are covered: Centrifugo v6's own keys and
the integration guide's (`client.proxy.rpc`, `namespaces[].proxy.{subscribe,publish}`),
which gyre maps onto the former.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Optional

import cent
import pytest

from gyre_harness import conn_token
from proxy_backend import Hang, ProxyBackend, ProxyCall, Status, closed_port_url
from rawws import OP_CLOSE, RawWebSocket
from sdk_clients import EventLog, SdkError

# What each SDK (as the harness configures it) sends as its name; neither sends a version,
# so `version` must be absent from the connect request (Go's omitempty).
SDK_NAME = {"js": "js", "py": "python"}

ALICE = {"result": {"user": "alice", "data": {"hello": 1}}}


@pytest.fixture
async def backend(request):
    # Requested before `gyre` by every test, so it outlives the servers and clients.
    b = await ProxyBackend().start()
    yield b
    if getattr(getattr(request.node, "rep_call", None), "failed", False):
        print("==== proxy backend calls ====")
        print(b.describe())
    await b.close()


def v6_patch(backend: ProxyBackend, connect_endpoint: Optional[str] = None) -> dict[str, Any]:
    """Centrifugo v6 proxy keys; `px` is proxied, `plain` is not."""
    return {
        "client": {
            "proxy": {
                "connect": {
                    "enabled": True,
                    "endpoint": connect_endpoint or backend.url("/connect"),
                    "timeout": "1s",
                    "http_headers": ["X-Test-Header"],
                },
                "refresh": {"enabled": True, "endpoint": backend.url("/refresh")},
            }
        },
        "channel": {
            "proxy": {
                "subscribe": {"endpoint": backend.url("/subscribe")},
                "publish": {"endpoint": backend.url("/publish")},
            },
            "namespaces": [
                {"name": "px", "subscribe_proxy_enabled": True, "publish_proxy_enabled": True},
                {"name": "plain", "allow_subscribe_for_client": True},
            ],
        },
        "rpc": {"proxy": {"endpoint": backend.url("/rpc")}, "without_namespace": {"proxy_enabled": True}},
    }


def seed_patch(backend: ProxyBackend) -> dict[str, Any]:
    """The integration guide's step 7, verbatim apart from the endpoints."""
    return {
        "client": {
            "proxy": {
                "connect": {"enabled": True, "endpoint": backend.url("/connect")},
                "rpc": {"enabled": True, "endpoint": backend.url("/rpc")},
            }
        },
        "channel": {
            "namespaces": [
                {
                    "name": "chat",
                    "proxy": {
                        "subscribe": {"enabled": True, "endpoint": backend.url("/subscribe")},
                        "publish": {"enabled": True, "endpoint": backend.url("/publish")},
                    },
                }
            ]
        },
    }


def client_fields(client_id: str, fmt: str) -> dict[str, Any]:
    """The fields every client-originated proxy request starts with."""
    return {"client": client_id, "transport": "websocket", "protocol": fmt, "encoding": "json"}


def assert_body(call: ProxyCall, expected: dict[str, Any]) -> None:
    assert call.method == "POST", call
    assert call.headers.get("content-type", "").startswith("application/json"), call.headers
    assert call.body == expected, f"{call.path}: got {json.dumps(call.body)}, want {json.dumps(expected)}"


def after(log: EventLog, ev: dict[str, Any]) -> int:
    """Index just past `ev` in the log, to look only at what followed it."""
    return next(i for i, e in enumerate(log.items) if e is ev) + 1


def by_want(call: ProxyCall) -> dict[str, Any]:
    """Connect reply chosen by the client's connect data `{"want": ...}`."""
    want = (call.body.get("data") or {}).get("want")
    if want == "error":
        return {"error": {"code": 1000, "message": "custom"}}
    if want == "disconnect":
        return {"disconnect": {"code": 4501, "reason": "go away"}}
    return ALICE


# ---------------------------------------------------------------------------------------
# connect


async def test_connect_proxy_sets_user_and_data(backend, gyre, clients, api_factory, sdk):
    server = gyre(v6_patch(backend))
    backend.script("/connect", ALICE)
    c = await clients(server, sdk, data={"from": "sdk"})
    ev = await c.connected()
    assert ev["data"] == {"hello": 1}, ev
    uuid.UUID(ev["client"])
    [call] = await backend.wait_calls("/connect")
    assert_body(
        call,
        {**client_fields(ev["client"], sdk.fmt), "name": SDK_NAME[sdk.lang], "data": {"from": "sdk"}},
    )
    # The connection belongs to the backend's user: a server-side subscribe of "alice"
    # reaches it.
    await api_factory(server).subscribe(cent.SubscribeRequest(user="alice", channel="box"))
    await c.events.wait("server.subscribed", channel="box")


def _raw_connect(port: int, headers: dict[str, str], command: dict[str, Any]) -> dict[str, Any]:
    ws = RawWebSocket("127.0.0.1", port, "/connection/websocket", headers=headers, timeout=10)
    try:
        ws.send_text(json.dumps(command))
        opcode, payload = ws.recv_message()
        if opcode == OP_CLOSE:
            raise AssertionError(f"closed instead of a connect reply: {RawWebSocket.parse_close(payload)}")
        # The JSON protocol may put several replies into one frame, one per line.
        return json.loads(payload.decode().split("\n")[0])
    finally:
        ws.send_close()
        ws.close()


async def test_connect_proxy_forwards_only_allowed_headers(backend, gyre):
    """centrifuge-js cannot set WebSocket headers, so a raw client sends them: only the
    allow-listed `X-Test-Header` reaches the backend."""
    server = gyre(v6_patch(backend))
    backend.script("/connect", ALICE)
    headers = {"X-Test-Header": "yes-1", "X-Other": "no-2", "User-Agent": "rawws-agent/1"}
    reply = await asyncio.to_thread(
        _raw_connect, server.port, headers, {"id": 1, "connect": {"name": "rawws", "data": {"raw": True}}}
    )
    assert reply.get("id") == 1 and "error" not in reply, reply
    assert reply["connect"]["data"] == {"hello": 1}, reply
    [call] = backend.calls_to("/connect")
    assert_body(call, {**client_fields(reply["connect"]["client"], "json"), "name": "rawws", "data": {"raw": True}})
    assert call.headers.get("x-test-header") == "yes-1", call.headers
    assert "x-other" not in call.headers, call.headers
    assert call.headers.get("user-agent") != "rawws-agent/1", call.headers
    assert not [h for h in call.headers if h.startswith("sec-websocket")], call.headers


async def test_connect_proxy_error_and_disconnect_replies(backend, gyre, clients, sdk):
    """A non-temporary error ends the connect attempt for good with the backend's code and
    message; a disconnect reply closes with its code (4500-4999: terminal)."""
    server = gyre(v6_patch(backend))
    backend.script("/connect", by_want)
    err = await clients(server, sdk, "error", data={"want": "error"})
    bye = await clients(server, sdk, "disconnect", data={"want": "disconnect"})
    await err.connect()
    await bye.connect()
    err_ev = await err.events.wait("disconnected")
    bye_ev = await bye.events.wait("disconnected")
    assert (err_ev["code"], err_ev["reason"]) == (1000, "custom"), err_ev
    assert (bye_ev["code"], bye_ev["reason"]) == (4501, "go away"), bye_ev
    # Neither reconnects.
    await asyncio.gather(
        err.events.quiet("connecting", 1.0, start=after(err.events, err_ev)),
        bye.events.quiet("connecting", 1.0, start=after(bye.events, bye_ev)),
    )
    assert err.events.count("connected") == 0 and bye.events.count("connected") == 0
    assert len(backend.calls_to("/connect")) == 2, backend.describe()


@pytest.mark.parametrize("failure", ["closed-port", "http-500", "timeout"])
async def test_connect_proxy_failure_internal_error_and_retry(backend, gyre, clients, sdk, failure):
    """Backend unreachable, answering 500, or slower than the 1 s proxy timeout: the SDK gets
    error 100 (temporary) and keeps reconnecting; other clients are unaffected."""
    endpoint = closed_port_url("/connect") if failure == "closed-port" else None
    server = gyre(v6_patch(backend, connect_endpoint=endpoint))
    if failure == "http-500":
        backend.script("/connect", Status(500))
    elif failure == "timeout":
        backend.script("/connect", Hang(5.0))
    c = await clients(server, sdk, "failing")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await c.connect()

    def internal(e: dict[str, Any]) -> bool:
        return e.get("error_code") == 100

    first = await c.events.wait("error", timeout=5, where=internal)
    elapsed = loop.time() - started
    if failure == "timeout":
        # Not before gyre's proxy timeout, and not much later either.
        assert 0.9 <= elapsed <= 3.0, elapsed
    else:
        assert elapsed <= 2.0, elapsed

    # It keeps trying, and each attempt fails the same way.
    await c.events.wait("error", timeout=8, start=after(c.events, first), where=internal)
    if failure != "closed-port":
        await backend.wait_calls("/connect", 2, timeout=8)

    # Meanwhile (with a proxy call possibly in flight) a token connection is served.
    healthy = await clients(server, sdk, "healthy", token=conn_token("bob"))
    await healthy.connected()
    assert c.events.count("connected") == 0
    assert c.events.count("disconnected") == 0, c.events.items
    assert (await c.state())["state"] == "connecting"
    assert [e for e in c.events.find("error") if not internal(e)] == [], c.events.items


# ---------------------------------------------------------------------------------------
# refresh


@pytest.mark.parametrize("sdk", ["js-json", "py-protobuf"], indirect=True)
async def test_refresh_proxy_extends_or_expires(backend, gyre, clients, sdk):
    """With the refresh proxy the server refreshes at `expire_at` (the client does not):
    a new `expire_at` keeps the connection, an answer without result expires it (3005)."""
    server = gyre(v6_patch(backend))

    def connect(call: ProxyCall) -> dict[str, Any]:
        return {"result": {"user": call.body["data"]["user"], "expire_at": int(time.time()) + 2}}

    def refresh(call: ProxyCall) -> dict[str, Any]:
        if call.body.get("user") == "keeper":
            return {"result": {"expire_at": int(time.time()) + 3600}}
        return {}

    backend.script("/connect", connect)
    backend.script("/refresh", refresh)
    keep = await clients(server, sdk, "keep", data={"user": "keeper"})
    lose = await clients(server, sdk, "lose", data={"user": "loser"})
    keep_ev = await keep.connected()
    keep_id = keep_ev["client"]
    lose_ev = await lose.connected()

    calls = await backend.wait_calls("/refresh", 2, timeout=6)
    by_user = {c.body.get("user"): c for c in calls}
    assert set(by_user) == {"keeper", "loser"}, backend.describe()
    assert_body(by_user["keeper"], {**client_fields(keep_id, sdk.fmt), "user": "keeper"})
    assert_body(by_user["loser"], {**client_fields(lose_ev["client"], sdk.fmt), "user": "loser"})

    gone = await lose.events.wait("connecting", timeout=3, start=after(lose.events, lose_ev))
    assert (gone["code"], gone["reason"]) == (3005, "connection expired"), gone
    # The keeper was extended by an hour: no disconnect, and no second refresh.
    await keep.events.quiet(("disconnected", "connecting"), 1.5, start=after(keep.events, keep_ev))
    assert (await keep.state())["state"] == "connected"
    assert [c.body.get("user") for c in backend.calls_to("/refresh")].count("keeper") == 1
    assert keep.events.count("getToken") == 0 and lose.events.count("getToken") == 0


# ---------------------------------------------------------------------------------------
# subscribe, publish, rpc


async def _alice(backend: ProxyBackend, server, clients, sdk, label: str = "alice"):
    backend.script("/connect", ALICE)
    c = await clients(server, sdk, label)
    ev = await c.connected()
    return c, ev["client"]


async def test_subscribe_proxy(backend, gyre, clients, sdk):
    server = gyre(v6_patch(backend))
    c, cid = await _alice(backend, server, clients, sdk)

    backend.script("/subscribe", {"result": {"data": {"welcome": True}}})
    ev = await c.subscribe("px:room")
    assert ev["data"] == {"welcome": True}, ev
    [call] = await backend.wait_calls("/subscribe")
    assert_body(call, {**client_fields(cid, sdk.fmt), "user": "alice", "channel": "px:room"})

    # A non-temporary error: the SDK gives the subscription up with the backend's code.
    backend.script("/subscribe", {"error": {"code": 403, "message": "nope"}})
    ev = await c.try_subscribe("px:denied")
    assert (ev["event"], ev.get("code"), ev.get("reason")) == ("sub.unsubscribed", 403, "nope"), ev

    # A temporary error, then a backend failure (100, temporary): both reach the SDK's
    # error handler and it resubscribes until the backend allows.
    backend.script(
        "/subscribe",
        {"error": {"code": 1003, "message": "later", "temporary": True}},
        Status(500),
        {"result": {}},
    )
    ev = await c.try_subscribe("px:later", timeout=8)
    assert ev["event"] == "sub.subscribed", ev
    codes = [e["error_code"] for e in c.events.find("sub.error", channel="px:later")]
    assert codes == [1003, 100], c.events.items

    # Other namespaces do not ask the backend.
    before = len(backend.calls_to("/subscribe"))
    await c.subscribe("plain:room")
    assert len(backend.calls_to("/subscribe")) == before
    assert (await c.state())["state"] == "connected"


async def test_publish_proxy_replaces_data(backend, gyre, clients, sdk):
    server = gyre(v6_patch(backend))
    pub, cid = await _alice(backend, server, clients, sdk)
    reader = await clients(server, sdk, "bob", token=conn_token("bob"))
    await reader.connected()
    backend.script("/subscribe", {"result": {}})
    await reader.subscribe("px:room")
    # A token connection is not sent to the connect proxy.
    assert len(backend.calls_to("/connect")) == 1

    backend.script("/publish", {"result": {"data": {"replaced": True}}})
    await pub.call("publish", channel="px:room", data={"text": "original"})
    [call] = await backend.wait_calls("/publish")
    assert_body(call, {**client_fields(cid, sdk.fmt), "user": "alice", "channel": "px:room", "data": {"text": "original"}})
    ev = await reader.events.wait("sub.publication", channel="px:room")
    assert ev["data"] == {"replaced": True}, ev
    assert ev["info"] and (ev["info"]["user"], ev["info"]["client"]) == ("alice", cid), ev

    backend.script("/publish", {"error": {"code": 1002, "message": "no publish"}})
    with pytest.raises(SdkError) as err:
        await pub.call("publish", channel="px:room", data={"text": "denied"})
    assert (err.value.code, err.value.message) == (1002, "no publish"), err.value

    # A result without data publishes the client's own data. Publications arrive in
    # order, so had the denied one been published it would come first.
    backend.script("/publish", {"result": {}})
    await pub.call("publish", channel="px:room", data={"text": "kept"})
    nxt = await reader.events.wait("sub.publication", channel="px:room", start=after(reader.events, ev))
    assert nxt["data"] == {"text": "kept"}, reader.events.items
    assert len(backend.calls_to("/publish")) == 3


async def test_rpc_proxy(backend, gyre, clients, sdk):
    server = gyre(v6_patch(backend))
    c, cid = await _alice(backend, server, clients, sdk)

    backend.script("/rpc", {"result": {"data": {"year": 2026}}})
    res = await c.call("rpc", method="getCurrentYear", data={"tz": "UTC"})
    assert res == {"data": {"year": 2026}}, res
    [call] = backend.calls_to("/rpc")
    assert_body(call, {**client_fields(cid, sdk.fmt), "user": "alice", "method": "getCurrentYear", "data": {"tz": "UTC"}})

    backend.script("/rpc", {"error": {"code": 1001, "message": "bad"}})
    with pytest.raises(SdkError) as err:
        await c.call("rpc", method="getCurrentYear", data={})
    assert (err.value.code, err.value.message) == (1001, "bad"), err.value

    backend.script("/rpc", Status(500))
    with pytest.raises(SdkError) as err:
        await c.call("rpc", method="getCurrentYear", data={})
    assert err.value.code == 100, err.value
    assert (await c.state())["state"] == "connected"


# ---------------------------------------------------------------------------------------
# the integration guide's config shape


async def test_seed_shaped_proxy_config(backend, gyre, clients, sdk):
    """`client.proxy.{connect,rpc}` and `namespaces[].proxy.{subscribe,publish}`: the
    `chat` namespace allows neither client subscribe nor publish on its own, so both only
    work through the backend."""
    server = gyre(seed_patch(backend))
    alice, cid = await _alice(backend, server, clients, sdk)
    [call] = backend.calls_to("/connect")
    assert_body(call, {**client_fields(cid, sdk.fmt), "name": SDK_NAME[sdk.lang]})

    bob = await clients(server, sdk, "bob", token=conn_token("bob"))
    bob_id = (await bob.connected())["client"]
    backend.script("/subscribe", {"result": {}})
    await bob.subscribe("chat:room")
    [call] = await backend.wait_calls("/subscribe")
    assert_body(call, {**client_fields(bob_id, sdk.fmt), "user": "bob", "channel": "chat:room"})

    backend.script("/subscribe", {"error": {"code": 403, "message": "nope"}})
    ev = await alice.try_subscribe("chat:room")
    assert (ev["event"], ev.get("code"), ev.get("reason")) == ("sub.unsubscribed", 403, "nope"), ev

    backend.script("/publish", {"result": {"data": {"replaced": True}}})
    await alice.call("publish", channel="chat:room", data={"text": "original"})
    [call] = await backend.wait_calls("/publish")
    assert_body(call, {**client_fields(cid, sdk.fmt), "user": "alice", "channel": "chat:room", "data": {"text": "original"}})
    pub = await bob.events.wait("sub.publication", channel="chat:room")
    assert pub["data"] == {"replaced": True}, pub
    assert pub["info"] and pub["info"]["user"] == "alice", pub

    backend.script("/rpc", {"result": {"data": {"year": 2026}}})
    res = await alice.call("rpc", method="getCurrentYear", data={"tz": "UTC"})
    assert res == {"data": {"year": 2026}}, res
    [call] = backend.calls_to("/rpc")
    assert_body(call, {**client_fields(cid, sdk.fmt), "user": "alice", "method": "getCurrentYear", "data": {"tz": "UTC"}})
