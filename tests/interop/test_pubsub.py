"""Scenarios 1-3: connect with a JWT, subscribe, receive server API publications, client
publish permissions, unknown namespaces. Each runs on js-json, js-protobuf, py-json and
py-protobuf."""

from __future__ import annotations

import uuid

import cent
import pytest

from gyre_harness import conn_token
from sdk_clients import SdkError

# Exercises nesting, unicode, floats, null and booleans; must arrive byte-for-byte equal.
PAYLOAD = {
    "text": "hello, gyre \u2713 \u00e9\u00e8",
    "n": 42,
    "ratio": 1.5,
    "nested": {"list": [1, "two", None, True, False], "empty": {}},
}


async def test_api_publication_reaches_subscriber(gyre, clients, api_factory, sdk):
    """Seed steps 3, 5, 6: JWT (sub+exp) connect, subscribe `chat:index`, the backend
    publishes through the HTTP API with cent, the SDK delivers the exact data."""
    server = gyre()
    c = await clients(server, sdk, token=conn_token("user123"))
    connected = await c.connected()
    assert connected["client"], connected

    await c.subscribe("chat:index")
    api = api_factory(server)
    res = await api.publish(cent.PublishRequest(channel="chat:index", data=PAYLOAD))
    # `chat` keeps history, so the publish result carries the stream position.
    assert res.offset == 1 and res.epoch, res

    pub = await c.events.wait("sub.publication", channel="chat:index")
    assert pub["data"] == PAYLOAD
    assert pub["offset"] == res.offset
    # Server API publications have no publisher client info.
    assert pub["info"] is None


async def test_client_publish_allowed_and_denied(gyre, clients, sdk):
    """Client-side publish: allowed in `chat` (allow_publish_for_client) and delivered with
    the publisher's ClientInfo; refused with 103 in `news`."""
    server = gyre()
    ch = f"chat:room-{uuid.uuid4().hex[:8]}"
    reader = await clients(server, sdk, "reader", token=conn_token("reader"))
    writer = await clients(server, sdk, "writer", token=conn_token("writer"))
    await reader.connected()
    writer_ctx = await writer.connected()
    await reader.subscribe(ch)

    await writer.call("publish", channel=ch, data=PAYLOAD)
    pub = await reader.events.wait("sub.publication", channel=ch)
    assert pub["data"] == PAYLOAD
    assert pub["info"] is not None, pub
    assert pub["info"]["user"] == "writer"
    assert pub["info"]["client"] == writer_ctx["client"]

    with pytest.raises(SdkError) as err:
        await writer.call("publish", channel="news:feed", data={"x": 1})
    assert err.value.code == 103, err.value
    # A refused publish is an error reply, not a disconnect.
    assert (await writer.state())["state"] == "connected"
    assert reader.events.count("sub.publication", channel=ch) == 1


async def test_unknown_namespace_subscription_error_102(gyre, clients, sdk):
    server = gyre()
    c = await clients(server, sdk, token=conn_token("u3"))
    await c.connected()
    ev = await c.try_subscribe("nope:room")
    assert ev["event"] == "sub.unsubscribed", ev
    assert (ev["code"], ev["reason"]) == (102, "unknown channel")
    # Terminal for the subscription, harmless for the connection.
    state = await c.state()
    assert state["state"] == "connected"
    assert state["subs"]["nope:room"] == "unsubscribed"
    assert c.events.count("disconnected") == 0
