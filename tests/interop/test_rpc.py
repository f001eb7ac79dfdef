"""Scenario 13: client RPC. With `rpc.ping.enabled` the built-in ping method answers with
an empty result and other methods get 104 (method not found); with no RPC handler at all
(no ping extension, no proxy) every RPC gets 108 (not available)."""

from __future__ import annotations

import pytest

from gyre_harness import conn_token
from sdk_clients import SdkError


async def test_rpc_ping_extension(gyre, clients, sdk):
    server = gyre({"rpc": {"ping": {"enabled": True}}})
    c = await clients(server, sdk, token=conn_token("rpc-user"))
    await c.connected()
    res = await c.call("rpc", method="ping", data={})
    assert res == {"data": None}, res
    with pytest.raises(SdkError) as err:
        await c.call("rpc", method="no-such-method", data={})
    assert err.value.code == 104, err.value
    assert (await c.state())["state"] == "connected"


async def test_rpc_without_handler_not_available(gyre, clients, sdk):
    server = gyre()
    c = await clients(server, sdk, token=conn_token("rpc-user"))
    await c.connected()
    with pytest.raises(SdkError) as err:
        await c.call("rpc", method="ping", data={})
    assert err.value.code == 108, err.value
