"""Scenarios 4-7: invalid and expired connection tokens, token refresh while connected,
`$` private channels with subscription tokens, user-limited channels."""

from __future__ import annotations

import asyncio
import time
import uuid

import cent
import pytest

from gyre_harness import conn_token, sub_token
from sdk_clients import SdkError


@pytest.mark.parametrize(
    "bad_token",
    [
        pytest.param(lambda: conn_token("u4", secret="not-the-server-secret-but-long-enough-for-hs256"), id="bad-signature"),
        pytest.param(lambda: "this.is-not.a-jwt", id="garbage"),
    ],
)
async def test_invalid_token_disconnects_3500_without_reconnect(gyre, clients, sdk, bad_token):
    server = gyre()
    c = await clients(server, sdk, token=bad_token())
    await c.connect()
    ev = await c.events.wait("disconnected")
    assert (ev["code"], ev["reason"]) == (3500, "invalid token")
    assert c.events.count("connected") == 0
    # 3500..3999 is terminal: the SDK must stay disconnected.
    await c.events.quiet("connecting", 1.0, start=c.events.mark())
    assert (await c.state())["state"] == "disconnected"


async def test_expired_token_on_connect_uses_get_token(gyre, clients, sdk):
    """The server answers connect with error 109; the SDK fetches a new token through its
    getToken callback and connects with it."""
    server = gyre()
    c = await clients(
        server,
        sdk,
        token=conn_token("u5", exp_in=-60),
        getTokens=[conn_token("u5")],
    )
    await c.connect()
    await c.events.wait("connected", timeout=10)
    errors = c.events.find("error")
    assert any(e["error_code"] == 109 for e in errors), c.events.items
    assert c.events.count("getToken") == 1
    # getToken was called after the 109 and before the successful connect.
    names = [e["event"] for e in c.events.items]
    assert names.index("getToken") < names.index("connected")
    assert c.events.count("disconnected") == 0


async def test_connection_token_refreshed_while_connected(gyre, clients, sdk):
    """A connection token expiring in ~3 s: the connect result carries expires/ttl, the SDK
    calls getToken and sends `refresh` before expiry, and the connection survives well past
    the first token's exp + client.expired_close_delay."""
    server = gyre({"client": {"expired_close_delay": "1s"}})
    first_exp = time.time() + 3
    c = await clients(
        server,
        sdk,
        token=conn_token("u6", exp_in=3),
        getTokens=[conn_token("u6", exp_in=3600)],
    )
    await c.connected()
    mark = c.events.mark()
    await c.events.wait("getToken", timeout=8)
    # Server-side expiry would strike at first_exp + 1 s; watch until 2.5 s after that.
    remaining = first_exp + 3.5 - time.time()
    await c.events.quiet(("disconnected", "connecting"), max(remaining, 0.5), start=mark)
    assert (await c.state())["state"] == "connected"
    assert c.events.count("getToken") == 1
    assert not [e for e in c.events.find("error") if e.get("error_code")], c.events.items


@pytest.mark.parametrize("sdk", ["py-json", "py-protobuf"], indirect=True)
async def test_unrefreshed_connection_closed_3005(gyre, clients, sdk):
    """Control for the test above: without a getToken callback the Python SDK cannot
    refresh, so the server must close the connection with 3005 once exp +
    expired_close_delay passes; reconnecting with the expired token then yields 109.
    (centrifuge-js fails client-side in this situation, so only Python shows the server
    behaviour.)"""
    server = gyre({"client": {"expired_close_delay": "1s"}})
    c = await clients(server, sdk, token=conn_token("u7", exp_in=2))
    await c.connected()
    mark = c.events.mark()
    ev = await c.events.wait("connecting", timeout=10, start=mark)
    assert (ev["code"], ev["reason"]) == (3005, "connection expired")
    # The SDK reconnects with the same (now expired) token: 109, and with no way to get a
    # new one it gives up as unauthorized.
    final = await c.events.wait("disconnected", timeout=10, start=mark)
    assert final["code"] == 1, final
    assert any(e["error_code"] == 109 for e in c.events.find("error", start=mark)), c.events.items


async def test_private_channel_needs_subscription_token(gyre, clients, api_factory, sdk):
    """`$` channels: subscribing without a token is refused with 103 even though the
    namespace allows client subscriptions; with a subscription JWT (channel claim) obtained
    through the subscription's getToken the subscription works and receives data."""
    server = gyre()
    user = "u-private"
    ch = f"$private:secret-{uuid.uuid4().hex[:8]}"
    c = await clients(server, sdk, token=conn_token(user))
    await c.connected()

    ev = await c.try_subscribe(ch)
    assert ev["event"] == "sub.unsubscribed", ev
    assert ev["code"] == 103, ev
    await c.call("removeSubscription", channel=ch)

    await c.subscribe(ch, getTokens=[sub_token(user, ch)])
    assert c.events.count("sub.getToken", channel=ch) == 1

    api = api_factory(server)
    await api.publish(cent.PublishRequest(channel=ch, data={"secret": "ok"}))
    pub = await c.events.wait("sub.publication", channel=ch)
    assert pub["data"] == {"secret": "ok"}


async def test_user_limited_channel(gyre, clients, api_factory, sdk):
    server = gyre()
    ch = "notifications:user#42"
    owner = await clients(server, sdk, "42", token=conn_token("42"))
    other = await clients(server, sdk, "43", token=conn_token("43"))
    await owner.connected()
    await other.connected()

    await owner.subscribe(ch)
    ev = await other.try_subscribe(ch)
    assert ev["event"] == "sub.unsubscribed", ev
    assert ev["code"] == 103, ev

    api = api_factory(server)
    await api.publish(cent.PublishRequest(channel=ch, data={"to": 42}))
    pub = await owner.events.wait("sub.publication", channel=ch)
    assert pub["data"] == {"to": 42}
    assert other.events.count("sub.publication") == 0
