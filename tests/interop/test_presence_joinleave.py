"""Scenarios 19-20: presence with ClientInfo (conn_info from the connection token's `info`,
chan_info from the subscription token's `info`), presence_stats, and join/leave pushes —
forced by the namespace (`force_push_join_leave`) or asked by the client (`joinLeave`,
which needs presence permission). protocol.md §7."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable

import cent

from gyre_harness import conn_token, sub_token
from streams import with_namespaces

ROOM = {
    # Everyone subscribed gets join/leave.
    "name": "room",
    "presence": True,
    "join_leave": True,
    "force_push_join_leave": True,
    "allow_subscribe_for_client": True,
    "allow_presence_for_subscriber": True,
}
QUIET = {
    # Join/leave emitted, but only pushed to subscribers that ask and may see presence.
    "name": "quiet",
    "presence": True,
    "join_leave": True,
    "allow_subscribe_for_client": True,
    "allow_presence_for_subscriber": True,
}
NOPERM = {
    # Join/leave emitted, nobody may see presence: asking for join/leave gets nothing.
    "name": "noperm",
    "presence": True,
    "join_leave": True,
    "allow_subscribe_for_client": True,
}


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 5.0) -> Any:
    """Poll `check` (which raises AssertionError until it holds) for a bounded time: other
    connections' unsubscribe/disconnect reach the presence store asynchronously."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await check()
        except AssertionError as e:
            if loop.time() > deadline:
                raise AssertionError(f"{what} did not hold within {timeout}s: {e}") from None
        await asyncio.sleep(0.05)


def _info(client: str, user: str, conn: Any, chan: Any) -> dict[str, Any]:
    return {"client": client, "user": user, "conn_info": conn, "chan_info": chan}


async def test_presence_with_client_info(gyre, clients, api_factory, sdk):
    server = gyre(config=with_namespaces(ROOM))
    api = api_factory(server)
    ch = f"room:{uuid.uuid4().hex[:8]}"

    a = await clients(server, sdk, "alice", token=conn_token("alice", info={"name": "Alice"}))
    b = await clients(server, sdk, "bob", token=conn_token("bob", info={"name": "Bob", "tags": [1, 2]}))
    a2 = await clients(server, sdk, "alice-2", token=conn_token("alice", info={"name": "Alice", "device": 2}))
    a_id = (await a.connected())["client"]
    b_id = (await b.connected())["client"]
    a2_id = (await a2.connected())["client"]
    await a.subscribe(ch, token=sub_token("alice", ch, info={"role": "owner"}))
    await b.subscribe(ch, token=sub_token("bob", ch, info={"role": "guest"}))

    expected = {
        a_id: _info(a_id, "alice", {"name": "Alice"}, {"role": "owner"}),
        b_id: _info(b_id, "bob", {"name": "Bob", "tags": [1, 2]}, {"role": "guest"}),
    }
    assert (await a.call("presence", channel=ch, via="sub"))["clients"] == expected
    assert (await b.call("presence", channel=ch, via="sub"))["clients"] == expected
    assert await a.call("presenceStats", channel=ch, via="sub") == {"num_clients": 2, "num_users": 2}

    # A second connection of alice, subscribed without a token: no chan_info.
    await a2.subscribe(ch)
    expected[a2_id] = _info(a2_id, "alice", {"name": "Alice", "device": 2}, None)
    assert (await a.call("presence", channel=ch, via="sub"))["clients"] == expected
    assert await a.call("presenceStats", channel=ch, via="sub") == {"num_clients": 3, "num_users": 2}
    api_pres = await api.presence(cent.PresenceRequest(channel=ch))
    assert {
        cid: _info(i.client, i.user, i.conn_info, i.chan_info) for cid, i in api_pres.presence.items()
    } == expected

    # bob unsubscribes: gone from presence.
    await b.call("unsubscribe", channel=ch)
    del expected[b_id]

    async def after_unsubscribe():
        assert (await a.call("presence", channel=ch, via="sub"))["clients"] == expected
        assert await a.call("presenceStats", channel=ch, via="sub") == {"num_clients": 2, "num_users": 1}

    await eventually(after_unsubscribe, "presence without bob")

    # alice's second connection disconnects: gone as well.
    await a2.call("disconnect")
    del expected[a2_id]

    async def after_disconnect():
        assert (await a.call("presence", channel=ch, via="sub"))["clients"] == expected
        assert await a.call("presenceStats", channel=ch, via="sub") == {"num_clients": 1, "num_users": 1}

    await eventually(after_disconnect, "presence without alice's second connection")
    stats = await api.presence_stats(cent.PresenceStatsRequest(channel=ch))
    assert (stats.num_clients, stats.num_users) == (1, 1)


def _joins(client, ch: str, kind: str, start: int = 0) -> list[dict[str, Any]]:
    return [e["info"] for e in client.events.find(f"sub.{kind}", start=start, channel=ch)]


async def test_join_leave_forced_by_namespace(gyre, clients, sdk):
    server = gyre(config=with_namespaces(ROOM))
    ch = f"room:{uuid.uuid4().hex[:8]}"
    a = await clients(server, sdk, "alice", token=conn_token("alice", info={"name": "Alice"}))
    b = await clients(server, sdk, "bob", token=conn_token("bob", info={"name": "Bob"}))
    a_id = (await a.connected())["client"]
    b_id = (await b.connected())["client"]
    a_info = _info(a_id, "alice", {"name": "Alice"}, {"role": "owner"})
    b_info = _info(b_id, "bob", {"name": "Bob"}, {"role": "guest"})

    await a.subscribe(ch, token=sub_token("alice", ch, info={"role": "owner"}))
    # The joining client is a subscriber too: it sees its own join.
    await a.events.wait("sub.join", channel=ch)

    await b.subscribe(ch, token=sub_token("bob", ch, info={"role": "guest"}))
    await a.events.wait("sub.join", channel=ch, where=lambda e: e["info"]["client"] == b_id)
    await b.events.wait("sub.join", channel=ch, where=lambda e: e["info"]["client"] == b_id)

    await b.call("unsubscribe", channel=ch)
    await a.events.wait("sub.leave", channel=ch)

    mark_b = b.events.mark()
    await b.call("subscribe", channel=ch)
    await b.events.wait("sub.subscribed", start=mark_b, channel=ch)
    await a.events.wait("sub.join", channel=ch, where=lambda e: len(_joins(a, ch, "join")) >= 3)
    await b.call("disconnect")
    await a.events.wait("sub.leave", channel=ch, where=lambda e: len(_joins(a, ch, "leave")) >= 2)

    await a.events.quiet("sub.join", 0.3, start=a.events.mark(), channel=ch)
    assert _joins(a, ch, "join") == [a_info, b_info, b_info]
    assert _joins(a, ch, "leave") == [b_info, b_info]
    # bob saw its own joins only (alice joined before it).
    assert _joins(b, ch, "join") == [b_info, b_info]
    assert _joins(b, ch, "leave") == []


async def test_join_leave_asked_by_client(gyre, clients, sdk):
    """`quiet`: only the subscriber that asked (`joinLeave: true`, presence permission as a
    subscriber) gets join/leave. `noperm`: asking without presence permission gets nothing."""
    server = gyre(config=with_namespaces(QUIET, NOPERM))
    tag = uuid.uuid4().hex[:8]
    listener = await clients(server, sdk, "listener", token=conn_token("listener"))
    bystander = await clients(server, sdk, "bystander", token=conn_token("bystander"))
    visitor = await clients(server, sdk, "visitor", token=conn_token("visitor", info={"v": 1}))
    l_id = (await listener.connected())["client"]
    b_id = (await bystander.connected())["client"]
    v_id = (await visitor.connected())["client"]
    l_info = _info(l_id, "listener", None, None)
    b_info = _info(b_id, "bystander", None, None)
    v_info = _info(v_id, "visitor", {"v": 1}, None)

    for ns in ("quiet", "noperm"):
        ch = f"{ns}:{tag}"
        await listener.subscribe(ch, joinLeave=True)
        await bystander.subscribe(ch)
        await visitor.subscribe(ch)
        await visitor.call("unsubscribe", channel=ch)
        if ns == "quiet":
            await listener.events.wait("sub.leave", channel=ch)
            assert _joins(listener, ch, "join") == [l_info, b_info, v_info]
            assert _joins(listener, ch, "leave") == [v_info]
        else:
            await listener.events.quiet("sub.join", 0.5, channel=ch)
            assert _joins(listener, ch, "leave") == []
        assert _joins(bystander, ch, "join") == []
        assert _joins(bystander, ch, "leave") == []
        # Join/leave never surfaces as publications.
        assert listener.events.count("sub.publication") == 0
