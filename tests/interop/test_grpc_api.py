"""Gyre's GRPC servers with a grpcio client (Python's GRPC, an implementation independent of
the server's tonic): the server API answers like the HTTP API that `cent` uses, refuses a
missing key, and a unidirectional GRPC consumer receives the connect push, publications sent
through the API, pings, and a disconnect push before its stream ends. cent (5.x) has no GRPC
client, so grpcio plays the backend here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import cent
import grpc
import pytest

from grpc_api_client import ApiClient, UniConsumer, to_dict
from gyre_harness import conn_token
from proxy_backend import ProxyBackend

GRPC_KEY = "gyre-interop-grpc-key"
WAIT = 10


def patch() -> dict:
    return {
        "grpc_api": {"enabled": True, "address": "127.0.0.1", "port": 0, "key": GRPC_KEY},
        "uni_grpc": {"enabled": True, "address": "127.0.0.1", "port": 0},
        "client": {"ping_interval": "2s", "pong_timeout": "1s"},
    }


@pytest.fixture
async def grpc_servers(gyre):
    server = gyre(patch())
    made: list = []

    def api(key: str | None = GRPC_KEY) -> ApiClient:
        client = ApiClient(server.listening_port("GRPC API server listening"), key)
        made.append(client)
        return client

    def consumer(**connect) -> UniConsumer:
        c = UniConsumer(server.listening_port("uni GRPC server listening"), **connect)
        made.append(c)
        return c

    yield server, api, consumer
    for c in made:
        await c.close()


async def test_grpc_api_answers_like_the_http_api(grpc_servers, api_factory):
    server, api, _ = grpc_servers
    http = api_factory(server)
    grpc_api = api()
    ch = f"chat:grpc-{uuid.uuid4().hex[:8]}"

    published = await grpc_api.call("Publish", "PublishRequest", "PublishResponse", channel=ch, data=b'{"via":"grpc"}')
    assert to_dict(published) == {"result": {"offset": "1", "epoch": published.result.epoch}}
    await http.publish(cent.PublishRequest(channel=ch, data={"via": "http"}))

    via_grpc = await grpc_api.call("History", "HistoryRequest", "HistoryResponse", channel=ch, limit=-1)
    via_http = await http.history(cent.HistoryRequest(channel=ch, limit=-1))
    assert via_grpc.result.epoch == via_http.epoch
    assert [(p.offset, json.loads(p.data)) for p in via_grpc.result.publications] == [
        (p.offset, p.data) for p in via_http.publications
    ] == [(1, {"via": "grpc"}), (2, {"via": "http"})]

    # Errors travel in the response, with the HTTP API's codes.
    unknown = await grpc_api.call("Publish", "PublishRequest", "PublishResponse", channel="nope:x", data=b"{}")
    assert to_dict(unknown) == {"error": {"code": 102, "message": "unknown channel"}}
    with pytest.raises(cent.CentApiResponseError) as http_error:
        await http.publish(cent.PublishRequest(channel="nope:x", data={}))
    assert http_error.value.code == 102

    batch = await grpc_api.call(
        "Batch", "BatchRequest", "BatchResponse",
        commands=[{"presence_stats": {"channel": ch}}, {"publish": {"channel": "", "data": b"{}"}}],
    )
    assert to_dict(batch) == {
        "replies": [{"presence_stats": {}}, {"error": {"code": 107, "message": "bad request"}}]
    }


async def test_grpc_api_key_is_required(grpc_servers):
    _, api, _ = grpc_servers
    for key in (None, "wrong"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api(key).call("PresenceStats", "PresenceStatsRequest", "PresenceStatsResponse", channel="chat:x")
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_uni_grpc_consumer(grpc_servers, api_factory):
    server, api, consumer = grpc_servers
    http = api_factory(server)
    user = f"uni-{uuid.uuid4().hex[:8]}"
    ch = f"chat:uni-{user}"
    c = consumer(token=conn_token(user), name="python-grpcio")

    first = await asyncio.wait_for(c.next(), WAIT)
    connect = to_dict(first)["connect"]
    assert len(connect["client"]) == 36 and len(connect["session"]) == 36, connect
    assert connect["ping"] == 2 and "pong" not in connect, connect

    # Subscribed server-side through GRPC, published through cent's HTTP API.
    subscribed = await api().call("Subscribe", "SubscribeRequest", "SubscribeResponse", user=user, channel=ch)
    assert to_dict(subscribed) == {"result": {}}
    await http.publish(cent.PublishRequest(channel=ch, data={"n": 1}))

    kinds: list[str] = []
    while "pub" not in kinds:
        push = await asyncio.wait_for(c.next(), WAIT)
        d = to_dict(push)
        kinds.append(next(iter(k for k in d if k != "channel"), "ping"))
        if "pub" in d:
            assert d["channel"] == ch and json.loads(push.pub.data) == {"n": 1}, d
    assert kinds[0] == "subscribe", kinds

    # An empty push is a ping (client.ping_interval 2s).
    while to_dict(await asyncio.wait_for(c.next(), WAIT)) != {}:
        pass

    await http.disconnect(cent.DisconnectRequest(user=user, disconnect=cent.Disconnect(code=4501, reason="done")))
    while True:
        push = await asyncio.wait_for(c.next(), WAIT)
        assert push is not None, "stream ended without a disconnect push"
        if push.HasField("disconnect"):
            break
    assert (push.disconnect.code, push.disconnect.reason) == (4501, "done")
    assert await asyncio.wait_for(c.next(), WAIT) is None
    assert await c.call.code() == grpc.StatusCode.OK


async def test_uni_grpc_connect_proxy_gets_allowed_metadata(gyre):
    """A uni GRPC connection authenticated by the connect proxy: the backend sees the
    `uni_grpc` transport and only the metadata listed in `grpc_metadata`."""
    backend = await ProxyBackend().start()
    try:
        backend.script("/connect", {"result": {"user": "proxied", "data": {"hello": "uni"}}})
        proxy = {
            "enabled": True,
            "endpoint": backend.url("/connect"),
            "grpc_metadata": ["x-tenant"],
            "http_headers": ["x-http-only"],
        }
        server = gyre({**patch(), "client": {"proxy": {"connect": proxy}}})
        c = UniConsumer(
            server.listening_port("uni GRPC server listening"),
            metadata=(("x-tenant", "acme"), ("x-http-only", "no"), ("x-other", "no")),
            name="python-grpcio",
            data=b'{"from":"uni"}',
        )
        try:
            connect = to_dict(await asyncio.wait_for(c.next(), WAIT))["connect"]
            assert json.loads(base64.b64decode(connect["data"])) == {"hello": "uni"}, connect
            [call] = await backend.wait_calls("/connect")
            assert call.body["transport"] == "uni_grpc" and call.body["protocol"] == "protobuf", call.body
            assert call.body["name"] == "python-grpcio" and call.body["data"] == {"from": "uni"}, call.body
            assert call.headers.get("x-tenant") == "acme", call.headers
            assert "x-http-only" not in call.headers and "x-other" not in call.headers, call.headers
        finally:
            await c.close()
    finally:
        await backend.close()
