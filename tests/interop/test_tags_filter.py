"""Scenario 22: publication tags filter (protocol.md §8). Subscribers pass a FilterNode
(`tagsFilter` in centrifuge-js, `tags_filter` in centrifuge-python); the backend
publishes with `tags` through cent. Only matching publications arrive, with their tags;
filtered-out publications still advance the stream position, so neither the live path
nor a recovery after a dropped connection sees a false gap. Asking for a filter where the
namespace does not allow it is error 107."""

from __future__ import annotations

import uuid

from gyre_harness import conn_token
from streams import assert_exact_stream, cut, publish_all, stream_ns, subscribed_after, wait_offset, with_namespaces

BTC = {"key": "ticker", "cmp": "eq", "val": "BTC"}
# (ticker in {BTC, ETH}) and price > 100 (numeric comparison).
MAJORS_OVER_100 = {
    "op": "and",
    "nodes": [
        {"key": "ticker", "cmp": "in", "vals": ["BTC", "ETH"]},
        {"key": "price", "cmp": "gt", "val": "100"},
    ],
}

# offset -> tags (None: published without tags)
TAGS = {
    1: {"ticker": "BTC", "price": "50"},
    2: {"ticker": "ETH", "price": "150"},
    3: None,
    4: {"ticker": "BTC", "price": "200"},
    5: {"ticker": "SOL", "price": "300"},
    6: {"ticker": "ETH", "price": "90"},
    7: {"ticker": "BTC", "price": "101"},
    # published while the filtered subscriber is away
    8: {"ticker": "BTC", "price": "1"},
    9: {"ticker": "ETH", "price": "500"},
    10: {"ticker": "BTC", "price": "2"},
    # live again
    11: {"ticker": "ETH", "price": "3"},
    12: {"ticker": "BTC", "price": "4"},
}


def _doc(n: int) -> dict:
    return {"n": n}


async def _publish(api, ch: str, first: int, last: int) -> None:
    for n in range(first, last + 1):
        extra = {"tags": TAGS[n]} if TAGS[n] else {}
        (res,) = await publish_all(api, ch, [_doc(n)], **extra)
        assert res.offset == n, res


def _received(client, ch: str, start: int = 0) -> list[tuple[int, dict, object]]:
    return [(p["offset"], p["data"], p["tags"]) for p in client.events.find("sub.publication", start=start, channel=ch)]


def _want(offsets: list[int]) -> list[tuple[int, dict, object]]:
    return [(n, _doc(n), TAGS[n]) for n in offsets]


async def test_tags_filter(gyre, clients, api_factory, proxies, sdk):
    server = gyre(config=with_namespaces(stream_ns("tagged", allow_tags_filter=True)))
    api = api_factory(server)
    proxy = await proxies(server)
    ch = f"tagged:{uuid.uuid4().hex[:8]}"
    user = "tags-btc"

    btc = await clients(proxy, sdk, "btc", token=conn_token(user))
    majors = await clients(server, sdk, "majors", token=conn_token("tags-majors"))
    everything = await clients(server, sdk, "all", token=conn_token("tags-all"))
    for c in (btc, majors, everything):
        await c.connected()
    first = await btc.subscribe(ch, tagsFilter=BTC)
    epoch = first["streamPosition"]["epoch"]
    await majors.subscribe(ch, tagsFilter=MAJORS_OVER_100)
    await everything.subscribe(ch)

    await _publish(api, ch, 1, 7)
    await wait_offset(everything, ch, 7)
    await wait_offset(btc, ch, 7)
    await wait_offset(majors, ch, 7)
    assert _received(btc, ch) == _want([1, 4, 7])
    assert _received(majors, ch) == _want([2, 4, 7])
    assert _received(everything, ch) == _want(list(range(1, 8)))

    # Away while 8 (BTC), 9 (ETH), 10 (BTC) are published: recovery delivers 8 and 10,
    # skipping 9 without calling it a gap.
    mark = await cut("socket_kill", proxy, api, btc, user)
    await _publish(api, ch, 8, 10)
    proxy.release()
    ev = await btc.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    assert (ev["wasRecovering"], ev["recovered"]) == (True, True), ev
    assert (ev["streamPosition"]["offset"], ev["streamPosition"]["epoch"]) == (7, epoch), ev
    await wait_offset(btc, ch, 10, start=mark)
    await _publish(api, ch, 11, 12)
    await wait_offset(btc, ch, 12, start=mark)
    await wait_offset(everything, ch, 12)
    assert _received(btc, ch, mark) == _want([8, 10, 12])
    assert _received(everything, ch) == _want(list(range(1, 13)))
    # No resubscribe forced by a position mismatch (2500) at any point.
    assert len(subscribed_after(btc, ch, mark)) == 1
    for c in (btc, majors, everything):
        assert c.events.find("sub.subscribing", channel=ch, code=2500) == [], c.events.label


async def test_tags_filter_not_allowed_107(gyre, clients, sdk):
    server = gyre()
    c = await clients(server, sdk, "sub", token=conn_token("tags-denied"))
    await c.connected()
    ch = f"chat:{uuid.uuid4().hex[:8]}"
    ev = await c.try_subscribe(ch, tagsFilter=BTC)
    assert ev["event"] == "sub.unsubscribed", ev
    assert ev["code"] == 107, ev
    assert (await c.state())["state"] == "connected"
