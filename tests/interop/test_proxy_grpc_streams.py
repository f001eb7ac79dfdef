"""Subscribe stream proxies (GRPC, experimental in Centrifugo) with the official SDKs: the test
plays the backend's `SubscribeUnidirectional` / `SubscribeBidirectional` streams
(grpc_proxy_backend.py) and gyre turns each into one client's subscription. The backend's
first message decides the subscribe; later ones are publications for that subscriber only; a
stream the backend ends unsubscribes the client (2000), a failed one makes it resubscribe
(2500); unsubscribing or disconnecting cancels the backend's stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import grpc
import pytest

from grpc_proxy_backend import GrpcProxyBackend, StreamEnd, result
from proxy_backend import closed_port_url
from gyre_harness import conn_token
from sdk_clients import SdkError


@pytest.fixture
async def grpc_backend():
    b = await GrpcProxyBackend().start()
    yield b
    await b.close()


def patch(endpoint: str, bidirectional: bool = False) -> dict[str, Any]:
    return {
        "channel": {
            "proxy": {"subscribe_stream": {"endpoint": endpoint, "timeout": "1s"}},
            "namespaces": [
                {
                    "name": "streams",
                    "subscribe_stream_proxy_enabled": True,
                    "subscribe_stream_proxy_bidirectional": bidirectional,
                }
            ],
        },
    }


def accept(req: dict[str, Any]) -> dict[str, Any]:
    return result(info=b'{"seat":1}', data=b'{"welcome":true}')


def pub(value: Any, **tags: str) -> dict[str, Any]:
    return {"data": json.dumps(value).encode(), "tags": tags}


async def test_unidirectional_stream_feeds_one_subscriber(grpc_backend, gyre, clients, sdk):
    grpc_backend.script("SubscribeStream", accept)
    server = gyre(patch(grpc_backend.endpoint()))
    c = await clients(server, sdk, "alice", token=conn_token("alice"))
    await c.connected()
    sub = await c.subscribe("streams:a")
    assert sub["data"] == {"welcome": True}, sub
    stream = await grpc_backend.stream("streams:a")
    assert stream.request["user"] == "alice", stream.request
    assert stream.request["protocol"] == sdk.fmt, stream.request

    mark = c.events.mark()
    await stream.outbox.put(pub({"n": 1}, k="v"))
    await stream.outbox.put(pub({"n": 2}))
    first = await c.events.wait("sub.publication", start=mark, channel="streams:a")
    assert (first["data"], first["tags"]) == ({"n": 1}, {"k": "v"}), first
    await c.events.wait("sub.publication", start=mark, channel="streams:a", data={"n": 2})

    # A unidirectional stream takes no publications from the client.
    with pytest.raises(SdkError) as err:
        await c.call("publish", channel="streams:a", data={"x": 1})
    assert err.value.code == 108, err.value

    # The backend ending the stream ends the subscription: unsubscribe push 2000.
    await stream.outbox.put(None)
    ev = await c.events.wait("sub.unsubscribed", start=mark, channel="streams:a")
    assert ev["code"] == 2000, ev


async def test_bidirectional_stream_round_trip_and_cancel(grpc_backend, gyre, clients, js_sdk):
    grpc_backend.script("SubscribeStream", accept)
    server = gyre(patch(grpc_backend.endpoint(), bidirectional=True))
    c = await clients(server, js_sdk, "bob", token=conn_token("bob"))
    await c.connected()
    await c.subscribe("streams:chat")
    stream = await grpc_backend.stream("streams:chat")
    assert stream.request["channel"] == "streams:chat", stream.request

    # The client's publish goes to the backend, which answers on the stream.
    mark = c.events.mark()
    await c.call("publish", channel="streams:chat", data={"msg": "hi"})
    got = await asyncio.wait_for(stream.received.get(), 5)
    assert json.loads(base64.b64decode(got["data"])) == {"msg": "hi"}, got
    await stream.outbox.put(pub({"echo": "hi"}))
    await c.events.wait("sub.publication", start=mark, channel="streams:chat", data={"echo": "hi"})

    # Unsubscribing cancels the backend's stream.
    await c.call("unsubscribe", channel="streams:chat")
    await asyncio.wait_for(stream.cancelled.wait(), 5)

    # So does disconnecting.
    mark = c.events.mark()
    await c.call("subscribe", channel="streams:chat")
    await c.events.wait("sub.subscribed", start=mark, channel="streams:chat")
    second = await grpc_backend.stream("streams:chat", count=2)
    assert second is not stream
    await c.call("disconnect")
    await asyncio.wait_for(second.cancelled.wait(), 5)


async def test_stream_refusals_and_failures(grpc_backend, gyre, clients, js_sdk):
    answers = {
        "streams:denied": {"error": {"code": 403, "message": "nope"}},
        "streams:kick": {"disconnect": {"code": 4501, "reason": "go away"}},
    }
    grpc_backend.script("SubscribeStream", lambda req: answers.get(req["channel"], accept(req)))
    server = gyre(patch(grpc_backend.endpoint()))
    c = await clients(server, js_sdk, "carol", token=conn_token("carol"))
    await c.connected()

    ev = await c.try_subscribe("streams:denied")
    assert (ev["event"], ev.get("code"), ev.get("reason")) == ("sub.unsubscribed", 403, "nope"), ev

    # A failed stream is insufficient state: the SDK resubscribes and a new stream opens.
    await c.subscribe("streams:flaky")
    stream = await grpc_backend.stream("streams:flaky")
    mark = c.events.mark()
    await stream.outbox.put(StreamEnd(grpc.StatusCode.INTERNAL, "backend broke"))
    ev = await c.events.wait("sub.subscribing", start=mark, channel="streams:flaky")
    assert ev["code"] == 2500, ev
    again = await grpc_backend.stream("streams:flaky", count=2)
    await c.events.wait("sub.subscribed", start=mark, channel="streams:flaky")
    await again.outbox.put(pub({"after": "resubscribe"}))
    await c.events.wait("sub.publication", start=mark, channel="streams:flaky", data={"after": "resubscribe"})

    # A disconnect in the first message closes the connection with its code.
    await c.call("newSubscription", channel="streams:kick")
    await c.call("subscribe", channel="streams:kick")
    ev = await c.events.wait("disconnected", start=mark)
    assert (ev["code"], ev["reason"]) == (4501, "go away"), ev


async def failed_with_100(c, channel: str) -> None:
    """Error 100 is temporary: the SDK reports it and keeps retrying."""
    mark = c.events.mark()
    await c.call("newSubscription", channel=channel)
    await c.call("subscribe", channel=channel)
    await c.events.wait("sub.error", timeout=5, start=mark, channel=channel, error_code=100)
    assert not c.events.find("sub.subscribed", start=mark, channel=channel), c.events.items


async def test_dead_or_silent_backend_is_error_100(grpc_backend, gyre, clients, js_sdk):
    # Nothing listens there.
    dead = closed_port_url("").replace("http://", "grpc://")
    server = gyre(patch(dead))
    c = await clients(server, js_sdk, "dave", token=conn_token("dave"))
    await c.connected()
    await failed_with_100(c, "streams:x")

    # A backend that never sends its first message: the proxy timeout (1 s) ends the wait, and the
    # abandoned stream is cancelled.
    grpc_backend.script("SubscribeStream", lambda req: "hang")
    server = gyre(patch(grpc_backend.endpoint()))
    c = await clients(server, js_sdk, "erin", token=conn_token("erin"))
    await c.connected()
    await failed_with_100(c, "streams:slow")
    stream = await grpc_backend.stream("streams:slow")
    await asyncio.wait_for(stream.cancelled.wait(), 5)
