"""Scenario 18: history paging from the SDKs (protocol.md §6, reliability.md C16): walking
the stream page by page with `limit` + `since`, forwards and in reverse, reconstructs
exactly what was published; every reply carries the current top position."""

from __future__ import annotations

import uuid

import cent

from gyre_harness import conn_token
from streams import publish_all, stream_ns, with_namespaces

TOTAL = 23
PAGE = 5


async def _walk(c, ch: str, epoch: str, top: int, reverse: bool) -> list[tuple[int, dict]]:
    got: list[tuple[int, dict]] = []
    since = None
    for _ in range(TOTAL):  # bounded: at most one page per publication
        kw = {"limit": PAGE, "reverse": reverse, "via": "sub"}
        if since is not None:
            kw["since"] = since
        page = await c.call("history", channel=ch, **kw)
        assert (page["offset"], page["epoch"]) == (top, epoch), page
        if not page["publications"]:
            break
        assert len(page["publications"]) <= PAGE, page
        got.extend((p["offset"], p["data"]) for p in page["publications"])
        since = {"offset": page["publications"][-1]["offset"], "epoch": epoch}
    return got


async def test_history_paging_reconstructs_stream(gyre, clients, api_factory, sdk):
    server = gyre(config=with_namespaces(stream_ns("hist")))
    api = api_factory(server)
    ch = f"hist:{uuid.uuid4().hex[:8]}"
    docs = [{"n": n, "pad": "x" * n} for n in range(1, TOTAL + 1)]
    res = await publish_all(api, ch, docs)
    epoch = res[-1].epoch
    published = [(r.offset, d) for r, d in zip(res, docs)]
    assert [o for o, _ in published] == list(range(1, TOTAL + 1))

    c = await clients(server, sdk, "reader", token=conn_token("hist-reader"))
    await c.connected()
    await c.subscribe(ch)

    forward = await _walk(c, ch, epoch, TOTAL, reverse=False)
    assert forward == published
    backward = await _walk(c, ch, epoch, TOTAL, reverse=True)
    assert backward == list(reversed(published))

    # A page that starts in the middle, both ways (`since` is exclusive).
    page = await c.call("history", channel=ch, limit=3, since={"offset": 10, "epoch": epoch}, via="sub")
    assert [p["offset"] for p in page["publications"]] == [11, 12, 13]
    page = await c.call("history", channel=ch, limit=3, since={"offset": 10, "epoch": epoch}, reverse=True, via="sub")
    assert [p["offset"] for p in page["publications"]] == [9, 8, 7]
    # From the top there is nothing newer.
    page = await c.call("history", channel=ch, limit=3, since={"offset": TOTAL, "epoch": epoch}, via="sub")
    assert page["publications"] == [] and page["offset"] == TOTAL

    # The server API sees the same stream.
    api_hist = await api.history(cent.HistoryRequest(channel=ch, limit=-1))
    assert [(p.offset, p.data) for p in api_hist.publications] == published
