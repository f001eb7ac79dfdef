"""Scenario 12: presence, presence stats and history called from the SDKs on a
subscription (namespace `chat`: presence, history, *_for_subscriber permissions)."""

from __future__ import annotations

import uuid

import cent
import pytest

from gyre_harness import conn_token
from sdk_clients import SdkError


def _ns(history: dict) -> list:
    return [p["data"]["n"] for p in history["publications"]]


async def test_presence_and_history_from_client(gyre, clients, api_factory, sdk):
    server = gyre()
    api = api_factory(server)
    ch = f"chat:ph-{uuid.uuid4().hex[:8]}"
    c = await clients(server, sdk, "main", token=conn_token("ph-user"))
    client_id = (await c.connected())["client"]
    await c.subscribe(ch)

    results = [await api.publish(cent.PublishRequest(channel=ch, data={"n": n})) for n in (1, 2, 3)]
    epoch = results[-1].epoch
    await c.events.wait("sub.publication", channel=ch, where=lambda e: e["data"] == {"n": 3})

    h = await c.call("history", channel=ch, limit=2, via="sub")
    assert _ns(h) == [1, 2]
    assert [p["offset"] for p in h["publications"]] == [1, 2]
    assert (h["offset"], h["epoch"]) == (3, epoch)
    h = await c.call("history", channel=ch, limit=10, reverse=True, via="sub")
    assert _ns(h) == [3, 2, 1]
    h = await c.call("history", channel=ch, limit=10, since={"offset": 1, "epoch": epoch}, via="sub")
    assert _ns(h) == [2, 3]
    # No limit: only the stream position.
    h = await c.call("history", channel=ch, via="sub")
    assert h["publications"] == [] and (h["offset"], h["epoch"]) == (3, epoch)

    pres = await c.call("presence", channel=ch, via="sub")
    assert list(pres["clients"]) == [client_id], pres
    assert pres["clients"][client_id]["user"] == "ph-user"
    stats = await c.call("presenceStats", channel=ch, via="sub")
    assert stats == {"num_clients": 1, "num_users": 1}

    # A second user joins: presence follows.
    other = await clients(server, sdk, "other", token=conn_token("ph-other"))
    await other.connected()
    await other.subscribe(ch)
    stats = await c.call("presenceStats", channel=ch, via="sub")
    assert stats == {"num_clients": 2, "num_users": 2}
    pres = await c.call("presence", channel=ch, via="sub")
    assert sorted(info["user"] for info in pres["clients"].values()) == ["ph-other", "ph-user"]

    # `news` has neither presence nor history: 108 before any permission check.
    for op, kw in (("presence", {}), ("presenceStats", {}), ("history", {"limit": 5})):
        with pytest.raises(SdkError) as err:
            await c.call(op, channel="news:x", **kw)
        assert err.value.code == 108, (op, err.value)
