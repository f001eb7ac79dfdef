"""Scenario 8: server API subscribe / unsubscribe / disconnect as seen by a live SDK
client (server-side subscriptions surface as client-level events in both SDKs)."""

from __future__ import annotations

import uuid

import cent

from gyre_harness import conn_token


async def test_server_api_subscribe_unsubscribe_disconnect(gyre, clients, api_factory, sdk):
    server = gyre()
    api = api_factory(server)
    tag = uuid.uuid4().hex[:8]
    user_a, user_b = f"srv-a-{tag}", f"srv-b-{tag}"
    a = await clients(server, sdk, "a", token=conn_token(user_a))
    b = await clients(server, sdk, "b", token=conn_token(user_b))
    await a.connected()
    await b.connected()
    ch = f"chat:srv-{tag}"

    await api.subscribe(cent.SubscribeRequest(user=user_a, channel=ch))
    await a.events.wait("server.subscribed", channel=ch)

    await api.publish(cent.PublishRequest(channel=ch, data={"server": "side"}))
    pub = await a.events.wait("server.publication", channel=ch)
    assert pub["data"] == {"server": "side"}

    await api.unsubscribe(cent.UnsubscribeRequest(user=user_a, channel=ch))
    await a.events.wait("server.unsubscribed", channel=ch)
    # Only user A was targeted.
    assert b.events.count("server.subscribed") == 0
    assert b.events.count("server.publication") == 0

    mark_a, mark_b = a.events.mark(), b.events.mark()
    await api.disconnect(cent.DisconnectRequest(user=user_a))
    ev = await a.events.wait("disconnected", start=mark_a)
    assert (ev["code"], ev["reason"]) == (3503, "force disconnect")

    # Custom terminal code (4500..4999: no reconnect) and reason reach the SDK unchanged.
    await api.disconnect(
        cent.DisconnectRequest(user=user_b, disconnect=cent.Disconnect(code=4501, reason="custom terminal"))
    )
    ev = await b.events.wait("disconnected", start=mark_b)
    assert (ev["code"], ev["reason"]) == (4501, "custom terminal")

    await a.events.quiet("connecting", 0.5, start=mark_a)
    assert b.events.count("connecting", start=mark_b) == 0
    assert (await a.state())["state"] == "disconnected"
    assert (await b.state())["state"] == "disconnected"
