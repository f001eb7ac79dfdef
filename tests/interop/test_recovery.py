"""Scenarios 14-17: stream recovery (protocol.md §6) as the official SDKs use it.

Each client reaches gyre through its own TcpProxy so a scenario can break the connection
(reset the socket, or `cent` disconnect with 3011 "force reconnect") and hold the SDK's
reconnect until the publications it must miss are in the stream. Recovery is forced by
the namespaces (`force_recovery`), so the SDKs subscribe as applications do by default.
"""

from __future__ import annotations

import asyncio
import uuid

import cent
import pytest

from gyre_harness import conn_token
from streams import (
    CUTS,
    assert_exact_stream,
    cut,
    offsets,
    position,
    publish_all,
    stream_ns,
    subscribed_after,
    wait_offset,
    with_namespaces,
)


def _doc(n: int) -> dict:
    return {"n": n, "text": f"message {n}"}


def _expected(first: int, last: int) -> list[tuple[int, dict]]:
    return [(n, _doc(n)) for n in range(first, last + 1)]


@pytest.mark.parametrize("how", CUTS)
async def test_recovery_after_transient_disconnect(gyre, clients, api_factory, proxies, sdk, how):
    """Publications keep flowing while the client is away and while it resubscribes:
    after the reconnect the SDK reports `wasRecovering` + `recovered`, the missed ones
    arrive in order with contiguous offsets, live ones follow, nothing twice."""
    server = gyre(config=with_namespaces(stream_ns("rec")))
    api = api_factory(server)
    proxy = await proxies(server)
    ch = f"rec:{uuid.uuid4().hex[:8]}"
    user = f"rec-{how}"
    c = await clients(proxy, sdk, "sub", token=conn_token(user))
    await c.connected()
    first = await c.subscribe(ch)
    assert (first["recoverable"], first["positioned"]) == (True, True), first
    assert (first["wasRecovering"], first["recovered"]) == (False, False), first
    epoch = first["streamPosition"]["epoch"]
    assert first["streamPosition"]["offset"] == 0 and epoch, first

    res = await publish_all(api, ch, [_doc(n) for n in range(1, 4)])
    assert [r.offset for r in res] == [1, 2, 3] and {r.epoch for r in res} == {epoch}
    await wait_offset(c, ch, 3)

    mark = await cut(how, proxy, api, c, user)
    await publish_all(api, ch, [_doc(n) for n in range(4, 9)])
    proxy.release()

    async def live_publisher():
        # Races the resubscribe: some of these land while the subscribe is in flight.
        await publish_all(api, ch, [_doc(n) for n in range(9, 21)])

    racing = asyncio.ensure_future(live_publisher())
    resub = await c.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    await racing
    await wait_offset(c, ch, 20, start=mark)

    assert (resub["wasRecovering"], resub["recovered"]) == (True, True), resub
    # On success the reply carries the client's own position (the SDK then advances
    # while applying the recovered publications).
    assert position(resub) == (3, epoch), resub
    assert_exact_stream(c, ch, _expected(1, 20), what="whole stream")
    assert len(subscribed_after(c, ch, mark)) == 1, c.events.find("sub.subscribed", channel=ch)
    assert c.events.count("connected") == 2


async def test_resubscribe_same_subscription_recovers(gyre, clients, api_factory, sdk):
    """unsubscribe() then subscribe() on the same Subscription: both SDKs keep its stream
    position and resubscribe with recovery."""
    server = gyre(config=with_namespaces(stream_ns("rec")))
    api = api_factory(server)
    ch = f"rec:{uuid.uuid4().hex[:8]}"
    c = await clients(server, sdk, "sub", token=conn_token("resub"))
    await c.connected()
    first = await c.subscribe(ch)
    epoch = first["streamPosition"]["epoch"]
    await publish_all(api, ch, [_doc(n) for n in range(1, 4)])
    await wait_offset(c, ch, 3)

    mark = c.events.mark()
    await c.call("unsubscribe", channel=ch)
    await c.events.wait("sub.unsubscribed", start=mark, channel=ch)
    await publish_all(api, ch, [_doc(n) for n in range(4, 7)])

    mark = c.events.mark()
    await c.call("subscribe", channel=ch)
    resub = await c.events.wait("sub.subscribed", start=mark, channel=ch)
    assert (resub["wasRecovering"], resub["recovered"]) == (True, True), resub
    assert position(resub) == (3, epoch), resub
    await wait_offset(c, ch, 6, start=mark)
    await publish_all(api, ch, [_doc(7)])
    await wait_offset(c, ch, 7, start=mark)
    assert_exact_stream(c, ch, _expected(1, 7), what="across unsubscribe/subscribe")


async def test_new_subscription_since_recovers(gyre, clients, api_factory, sdk):
    """A new Subscription started from a saved position: centrifuge-js `since`,
    centrifuge-python `get_state` returning the position (its equivalent; it also sets
    the reject-unrecovered flag, which a successful recovery does not touch)."""
    server = gyre(config=with_namespaces(stream_ns("rec")))
    api = api_factory(server)
    ch = f"rec:{uuid.uuid4().hex[:8]}"
    c = await clients(server, sdk, "sub", token=conn_token("since"))
    await c.connected()
    first = await c.subscribe(ch)
    epoch = first["streamPosition"]["epoch"]
    await publish_all(api, ch, [_doc(n) for n in range(1, 4)])
    await wait_offset(c, ch, 3)

    mark = c.events.mark()
    await c.call("removeSubscription", channel=ch)
    await c.events.wait("sub.unsubscribed", start=mark, channel=ch)
    await publish_all(api, ch, [_doc(n) for n in range(4, 7)])

    mark = c.events.mark()
    resub = await c.subscribe(ch, since={"offset": 3, "epoch": epoch})
    assert (resub["wasRecovering"], resub["recovered"]) == (True, True), resub
    assert position(resub) == (3, epoch), resub
    await wait_offset(c, ch, 6, start=mark)
    await publish_all(api, ch, [_doc(7)])
    await wait_offset(c, ch, 7, start=mark)
    assert_exact_stream(c, ch, _expected(4, 7), start=mark, what="from since")


async def test_since_position_edges(gyre, clients, api_factory, js_sdk):
    """reliability.md C16: a position at the top recovers with nothing to deliver; a
    position ahead of the top, from another epoch, or behind the top after
    history_remove is never reported as recovered (the reply then carries the top). JS only: centrifuge-python can only start from
    a position through get_state, which turns a failed recovery into error 112."""
    server = gyre(config=with_namespaces(stream_ns("rec")))
    api = api_factory(server)
    ch = f"rec:{uuid.uuid4().hex[:8]}"
    res = await publish_all(api, ch, [_doc(n) for n in range(1, 5)])
    epoch = res[-1].epoch
    c = await clients(server, js_sdk, "sub", token=conn_token("edges"))
    await c.connected()

    cases = [
        ("at top", {"offset": 4, "epoch": epoch}, True, (4, epoch)),
        ("ahead of top", {"offset": 9, "epoch": epoch}, False, (4, epoch)),
        ("other epoch", {"offset": 1, "epoch": "not-" + epoch}, False, (4, epoch)),
    ]
    for label, since, recovered, pos in cases:
        mark = c.events.mark()
        ev = await c.subscribe(ch, since=since)
        assert (ev["wasRecovering"], ev["recovered"]) == (True, recovered), (label, ev)
        assert position(ev) == pos, (label, ev)
        await c.events.quiet("sub.publication", 0.3, start=mark, channel=ch)
        if label != cases[-1][0]:
            await c.call("removeSubscription", channel=ch)
            await c.events.wait("sub.unsubscribed", start=mark, channel=ch)

    mark = c.events.mark()
    await publish_all(api, ch, [_doc(5)])
    await wait_offset(c, ch, 5, start=mark)
    assert_exact_stream(c, ch, _expected(5, 5), start=mark, what="live after a failed recovery")

    # history_remove drops the publications but keeps the position: a position behind
    # the top can no longer be recovered, the top itself still can.
    await api.history_remove(cent.HistoryRemoveRequest(channel=ch))
    for label, since, recovered in (
        ("behind the top, history removed", {"offset": 3, "epoch": epoch}, False),
        ("at top, history removed", {"offset": 5, "epoch": epoch}, True),
    ):
        await c.call("removeSubscription", channel=ch)
        mark = c.events.mark()
        ev = await c.subscribe(ch, since=since)
        assert (ev["wasRecovering"], ev["recovered"]) == (True, recovered), (label, ev)
        assert position(ev) == (5, epoch), (label, ev)
        await c.events.quiet("sub.publication", 0.3, start=mark, channel=ch)


async def test_recovery_beyond_history_size_fails(gyre, clients, api_factory, proxies, sdk):
    """`history_size: 2`: missing five publications cannot be recovered — `recovered:
    false`, none of them delivered, the reply carries the top; the subscription keeps
    working, and a later gap of two (inside the window) recovers again."""
    server = gyre(config=with_namespaces(stream_ns("tiny", size=2)))
    api = api_factory(server)
    proxy = await proxies(server)
    ch = f"tiny:{uuid.uuid4().hex[:8]}"
    user = "tiny-user"
    c = await clients(proxy, sdk, "sub", token=conn_token(user))
    await c.connected()
    first = await c.subscribe(ch)
    epoch = first["streamPosition"]["epoch"]
    await publish_all(api, ch, [_doc(1)])
    await wait_offset(c, ch, 1)

    mark = await cut("socket_kill", proxy, api, c, user)
    await publish_all(api, ch, [_doc(n) for n in range(2, 7)])
    proxy.release()
    resub = await c.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    assert (resub["wasRecovering"], resub["recovered"]) == (True, False), resub
    assert position(resub) == (6, epoch), resub

    await publish_all(api, ch, [_doc(7)])
    await wait_offset(c, ch, 7, start=mark)
    assert_exact_stream(c, ch, _expected(7, 7), start=mark, what="after the failed recovery")

    mark = await cut("socket_kill", proxy, api, c, user)
    await publish_all(api, ch, [_doc(8), _doc(9)])
    proxy.release()
    resub = await c.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    assert (resub["wasRecovering"], resub["recovered"]) == (True, True), resub
    assert position(resub) == (7, epoch), resub
    await wait_offset(c, ch, 9, start=mark)
    assert_exact_stream(c, ch, _expected(8, 9), start=mark, what="inside the window")
    assert offsets(c, ch) == [1, 7, 8, 9]


async def test_cache_recovery_mode(gyre, clients, api_factory, proxies, sdk):
    """`force_recovery_mode: cache` with `history_size: 1`: a first subscribe asking for
    recovery without a position (JS `since: {}`, Python get_state returning an empty
    position) gets only the latest publication; a reconnect at the top gets nothing; a
    reconnect after several missed gets only the newest of them."""
    server = gyre(config=with_namespaces(stream_ns("cache", size=1, force_recovery_mode="cache")))
    api = api_factory(server)
    proxy = await proxies(server)
    ch = f"cache:{uuid.uuid4().hex[:8]}"
    user = "cache-user"
    res = await publish_all(api, ch, [_doc(n) for n in range(1, 4)])
    epoch = res[-1].epoch

    plain = await clients(server, sdk, "plain", token=conn_token("cache-plain"))
    await plain.connected()
    ev = await plain.subscribe(ch)
    assert (ev["wasRecovering"], ev["recovered"]) == (False, False), ev
    assert position(ev) == (3, epoch), ev

    c = await clients(proxy, sdk, "cache", token=conn_token(user))
    await c.connected()
    ev = await c.subscribe(ch, since={})
    assert (ev["wasRecovering"], ev["recovered"]) == (True, True), ev
    await wait_offset(c, ch, 3)
    assert_exact_stream(c, ch, _expected(3, 3), what="latest on first subscribe")

    await publish_all(api, ch, [_doc(4)])
    await wait_offset(c, ch, 4)
    await wait_offset(plain, ch, 4)
    assert_exact_stream(plain, ch, _expected(4, 4), what="live, no cache recovery asked")

    # Reconnect while already at the top: recovered, nothing to deliver.
    mark = await cut("socket_kill", proxy, api, c, user)
    proxy.release()
    ev = await c.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    assert (ev["wasRecovering"], ev["recovered"]) == (True, True), ev
    await c.events.quiet("sub.publication", 0.3, start=mark, channel=ch)

    # Three missed: only the latest comes back.
    mark = await cut("socket_kill", proxy, api, c, user)
    await publish_all(api, ch, [_doc(n) for n in range(5, 8)])
    proxy.release()
    ev = await c.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    assert (ev["wasRecovering"], ev["recovered"]) == (True, True), ev
    await wait_offset(c, ch, 7, start=mark)
    await publish_all(api, ch, [_doc(8)])
    await wait_offset(c, ch, 8, start=mark)
    assert_exact_stream(c, ch, [(7, _doc(7)), (8, _doc(8))], start=mark, what="cache recovery after a gap")
