"""Scenario 21: fossil delta compression (protocol.md §8) with the SDKs' own decoders.

A subscriber asking for `delta: 'fossil'` in a namespace that allows it and marks every
publication delta-capable gets the first publication full and the following ones as
fossil patches (in JSON as a JSON string, the §8 twist), which the SDK applies: the
application sees exactly the published documents. Recovery after a dropped connection is
delta-chained too (first recovered publication full). A subscriber without delta on the
same channel gets plain JSON, and asking for delta where it is not allowed silently
gives full payloads. Delta usage is read from centrifuge-js `sub.deltaStats()` and from
centrifuge-python's per-publication `delta` flag.
"""

from __future__ import annotations

import uuid

from gyre_harness import conn_token
from streams import assert_exact_stream, cut, publish_all, stream_ns, wait_offset, with_namespaces


def _doc(n: int) -> dict:
    # ~2 KiB, and consecutive documents differ in a few bytes: patches are much smaller.
    return {
        "seq": n,
        "title": "order book snapshot",
        "levels": [{"price": 1000 + i, "size": (i * 7) % 13, "venue": f"venue-{i % 4}"} for i in range(40)],
        "last": {"price": 1000 + n, "note": "\u2713 unicode survives patching"},
    }


async def _stats(client, ch: str) -> tuple[int, int, int]:
    """(publications, full payloads, delta payloads) as the SDK saw them."""
    st = await client.call("deltaStats", channel=ch)
    return st["numPublications"], st["numFullPayloads"], st["numDeltaPayloads"]


async def test_fossil_delta_live_and_recovered(gyre, clients, api_factory, proxies, sdk):
    server = gyre(
        config=with_namespaces(
            stream_ns("delta", allowed_delta_types=["fossil"], delta_publish=True),
            stream_ns("nodelta", delta_publish=True),
        )
    )
    api = api_factory(server)
    proxy = await proxies(server)
    ch = f"delta:{uuid.uuid4().hex[:8]}"
    user = "delta-user"

    d = await clients(proxy, sdk, "delta", token=conn_token(user))
    plain = await clients(server, sdk, "plain", token=conn_token("plain-user"))
    await d.connected()
    await plain.connected()
    await d.subscribe(ch, delta="fossil")
    await plain.subscribe(ch)

    await publish_all(api, ch, [_doc(n) for n in range(1, 7)])
    await wait_offset(d, ch, 6)
    await wait_offset(plain, ch, 6)
    expected = [(n, _doc(n)) for n in range(1, 7)]
    assert_exact_stream(d, ch, expected, what="delta subscriber, live")
    assert_exact_stream(plain, ch, expected, what="plain subscriber")
    # First publication after subscribe full, then patches.
    assert await _stats(d, ch) == (6, 1, 5)

    # Recovery with delta: the missed ones come delta-chained in the subscribe reply.
    mark = await cut("socket_kill", proxy, api, d, user)
    await publish_all(api, ch, [_doc(n) for n in range(7, 11)])
    proxy.release()
    ev = await d.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    assert (ev["wasRecovering"], ev["recovered"]) == (True, True), ev
    await wait_offset(d, ch, 10, start=mark)
    await publish_all(api, ch, [_doc(11)])
    await wait_offset(d, ch, 11, start=mark)
    assert_exact_stream(d, ch, [(n, _doc(n)) for n in range(1, 12)], what="delta subscriber, whole stream")
    # 7 full (first recovered), 8-10 patches, 11 live patch.
    assert await _stats(d, ch) == (11, 2, 9)

    # Delta asked where the namespace does not allow it: silently full payloads.
    other = f"nodelta:{uuid.uuid4().hex[:8]}"
    await d.subscribe(other, delta="fossil")
    await publish_all(api, other, [_doc(n) for n in range(1, 4)])
    await wait_offset(d, other, 3)
    assert_exact_stream(d, other, [(n, _doc(n)) for n in range(1, 4)], what="delta not allowed")
    # centrifuge-js counts only on subscriptions where delta was negotiated; the Python
    # counters here count every publication and its wire flag.
    assert await _stats(d, other) == ((0, 0, 0) if sdk.lang == "js" else (3, 3, 0))
