"""Scenario 11: the `cent` API client (PyPI cent 5.2.0) calling every OSS server API
method against a namespace with history and presence, with a live SDK client observing
the effects; plus API key failures and API error codes."""

from __future__ import annotations

import json
import time
import uuid

import aiohttp
import cent
import pytest

from gyre_harness import API_KEY, conn_token
from sdk_clients import SdkKind

LIVE = SdkKind("py", "json")


def _datas(history) -> list:
    return [p.data for p in history.publications]


def _offsets(history) -> list:
    return [p.offset for p in history.publications]


async def test_every_api_method(gyre, clients, api_factory):
    server = gyre()
    api = api_factory(server)
    tag = uuid.uuid4().hex[:8]
    user = f"api-{tag}"
    ch = f"chat:api-{tag}"
    live = await clients(server, LIVE, "live", token=conn_token(user))
    client_id = (await live.connected())["client"]
    await live.subscribe(ch)

    # publish: offsets grow by one inside a single epoch.
    results = [await api.publish(cent.PublishRequest(channel=ch, data={"n": n})) for n in (1, 2, 3)]
    assert [r.offset for r in results] == [1, 2, 3]
    epoch = results[0].epoch
    assert epoch and all(r.epoch == epoch for r in results), results
    for n in (1, 2, 3):
        await live.events.wait("sub.publication", channel=ch, where=lambda e, n=n: e["data"] == {"n": n})

    # broadcast: one response per channel, in request order, errors per channel.
    other = f"chat:api-other-{tag}"
    b = await api.broadcast(cent.BroadcastRequest(channels=[ch, other, "nope:x"], data={"n": 4}))
    assert len(b.responses) == 3, b
    assert b.responses[0].error is None and b.responses[0].result.offset == 4, b
    assert b.responses[1].error is None and b.responses[1].result.offset == 1, b
    assert b.responses[2].error is not None and b.responses[2].error.code == 102, b

    # history: order, limit, reverse, since, position only.
    h = await api.history(cent.HistoryRequest(channel=ch, limit=-1))
    assert _datas(h) == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    assert _offsets(h) == [1, 2, 3, 4]
    assert (h.offset, h.epoch) == (4, epoch)
    h = await api.history(cent.HistoryRequest(channel=ch, limit=2))
    assert _offsets(h) == [1, 2]
    h = await api.history(cent.HistoryRequest(channel=ch, limit=2, reverse=True))
    assert _offsets(h) == [4, 3]
    h = await api.history(
        cent.HistoryRequest(channel=ch, limit=-1, since=cent.StreamPosition(offset=2, epoch=epoch))
    )
    assert _offsets(h) == [3, 4]
    h = await api.history(cent.HistoryRequest(channel=ch))
    assert h.publications == [] and (h.offset, h.epoch) == (4, epoch)

    # presence / presence_stats.
    p = await api.presence(cent.PresenceRequest(channel=ch))
    assert list(p.presence) == [client_id], p
    assert (p.presence[client_id].user, p.presence[client_id].client) == (user, client_id)
    ps = await api.presence_stats(cent.PresenceStatsRequest(channel=ch))
    assert (ps.num_clients, ps.num_users) == (1, 1)

    # channels: active channels with subscriber counts, optionally filtered.
    chans = await api.channels(cent.ChannelsRequest())
    assert ch in chans.channels and chans.channels[ch].num_clients == 1, chans
    chans = await api.channels(cent.ChannelsRequest(pattern=f"chat:api-{tag}"))
    assert list(chans.channels) == [ch], chans

    # info: this single node.
    info = await api.info(cent.InfoRequest())
    assert len(info.nodes) == 1, info
    node = info.nodes[0]
    assert node.uid and node.name and node.version, node
    assert node.num_clients == 1 and node.num_users == 1 and node.num_channels >= 1, node

    # subscribe / unsubscribe: server-side subscription of the live connection.
    srv = f"chat:api-srv-{tag}"
    await api.subscribe(cent.SubscribeRequest(user=user, channel=srv))
    await live.events.wait("server.subscribed", channel=srv)
    await api.publish(cent.PublishRequest(channel=srv, data={"srv": True}))
    pub = await live.events.wait("server.publication", channel=srv)
    assert pub["data"] == {"srv": True}
    await api.unsubscribe(cent.UnsubscribeRequest(user=user, channel=srv))
    await live.events.wait("server.unsubscribed", channel=srv)

    # refresh: prolonging is silent; expiring closes with 3005 and the SDK reconnects
    # (its token is still valid) and resubscribes.
    mark = live.events.mark()
    await api.refresh(cent.RefreshRequest(user=user, expire_at=int(time.time()) + 3600))
    await api.refresh(cent.RefreshRequest(user=user, expired=True))
    ev = await live.events.wait("connecting", start=mark)
    assert (ev["code"], ev["reason"]) == (3005, "connection expired")
    await live.events.wait("connected", start=mark)
    await live.events.wait("sub.subscribed", start=mark, channel=ch)

    # history_remove drops publications but keeps the stream position.
    await api.history_remove(cent.HistoryRemoveRequest(channel=ch))
    h = await api.history(cent.HistoryRequest(channel=ch, limit=-1))
    assert h.publications == [] and (h.offset, h.epoch) == (4, epoch), h

    # batch, sequential then parallel: replies in command order.
    for parallel in (False, True):
        batch = await api.batch(
            cent.BatchRequest(
                requests=[
                    cent.PublishRequest(channel=other, data={"batch": parallel}),
                    cent.PresenceStatsRequest(channel=ch),
                    cent.HistoryRequest(channel=ch, limit=-1),
                    cent.InfoRequest(),
                ],
                parallel=parallel,
            )
        )
        r = batch.replies
        assert len(r) == 4, batch
        assert isinstance(r[0], cent.PublishResult) and r[0].offset == (2 if not parallel else 3), r[0]
        assert isinstance(r[1], cent.PresenceStatsResult) and r[1].num_clients == 1, r[1]
        assert isinstance(r[2], cent.HistoryResult) and r[2].offset == 4, r[2]
        assert isinstance(r[3], cent.InfoResult) and len(r[3].nodes) == 1, r[3]

    # disconnect: default code 3503, terminal.
    mark = live.events.mark()
    await api.disconnect(cent.DisconnectRequest(user=user))
    ev = await live.events.wait("disconnected", start=mark)
    assert (ev["code"], ev["reason"]) == (3503, "force disconnect")


async def test_api_key_and_error_codes(gyre, api_factory):
    server = gyre()

    with pytest.raises(cent.CentUnauthorizedError):
        await api_factory(server, key="wrong-key").publish(cent.PublishRequest(channel="chat:x", data={}))
    with pytest.raises(cent.CentUnauthorizedError):
        # cent sends no X-API-Key header at all for an empty key.
        await api_factory(server, key="").info(cent.InfoRequest())

    api = api_factory(server)
    with pytest.raises(cent.CentApiResponseError) as err:
        await api.publish(cent.PublishRequest(channel="nope:x", data={"a": 1}))
    assert err.value.code == 102
    with pytest.raises(cent.CentApiResponseError) as err:
        await api.publish(cent.PublishRequest(channel="", data={"a": 1}))
    assert err.value.code == 107
    # `news` has neither presence nor history.
    with pytest.raises(cent.CentApiResponseError) as err:
        await api.presence(cent.PresenceRequest(channel="news:x"))
    assert err.value.code == 108
    with pytest.raises(cent.CentApiResponseError) as err:
        await api.history(cent.HistoryRequest(channel="news:x", limit=10))
    assert err.value.code == 108


async def test_batch_error_reply_shape(gyre):
    """cent's batch parser requires every reply to carry its result key, so an error inside
    a batch is checked on the raw HTTP response: top-level `replies`, one per command."""
    server = gyre()
    body = {"commands": [{"publish": {"channel": "nope:x", "data": {}}}, {"info": {}}]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.api_url}/batch", json=body, headers={"X-API-Key": API_KEY}) as resp:
            assert resp.status == 200
            doc = json.loads(await resp.text())
    assert set(doc) == {"replies"}, doc
    first, second = doc["replies"]
    assert first == {"error": {"code": 102, "message": "unknown channel"}}, first
    assert "info" in second and "error" not in second, second
