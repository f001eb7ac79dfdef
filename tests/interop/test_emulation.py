"""Bidirectional emulation with the unmodified centrifuge-js SDK: `transports` lists that force
HTTP-streaming (JSON and protobuf) or SSE (JSON; Node's fetch and the `eventsource` package),
later commands through `/emulation`. Connect, subscribe, publish/receive, presence, pongs,
recovery and a disconnect code from the server API — the scenarios the WebSocket suite runs."""

from __future__ import annotations

import uuid
from typing import Any

import cent
import pytest

from gyre_harness import conn_token, merged
from sdk_clients import SdkKind
from streams import assert_exact_stream, cut, position, publish_all, stream_ns, wait_offset, with_namespaces

EMULATION = {"http_stream": {"enabled": True}, "sse": {"enabled": True}}
# Short pings: the SDK's pongs travel through /emulation and must keep the connection.
FAST_PINGS = {"client": {"ping_interval": "1s", "pong_timeout": "500ms"}}

KINDS = ("http_stream-json", "http_stream-protobuf", "sse-json")


@pytest.fixture(params=KINDS)
def emu(request) -> tuple[str, SdkKind]:
    """(transport, SDK kind): SSE carries JSON only."""
    request.getfixturevalue("node_available")
    transport, fmt = request.param.split("-")
    return transport, SdkKind("js", fmt)


async def emu_client(clients, target, emu: tuple[str, SdkKind], label: str, **opts: Any):
    """A centrifuge-js client whose only transport is the emulated one, through `target` (a
    GyreServer or a TcpProxy in front of it)."""
    transport, kind = emu
    base = f"http://127.0.0.1:{target.port}"
    return await clients(
        target,
        kind,
        label,
        transports=[{"transport": transport, "endpoint": f"{base}/connection/{transport}"}],
        emulationEndpoint=f"{base}/emulation",
        **opts,
    )


async def test_pubsub_presence_and_pongs(gyre, clients, api_factory, emu):
    transport, _ = emu
    server = gyre(merged(EMULATION, FAST_PINGS))
    api = api_factory(server)
    ch = f"chat:emu-{uuid.uuid4().hex[:8]}"
    reader = await emu_client(clients, server, emu, "reader", token=conn_token("reader"))
    writer = await emu_client(clients, server, emu, "writer", token=conn_token("writer"))
    connected = await reader.connected()
    assert connected["transport"] == transport, connected
    writer_ctx = await writer.connected()
    await reader.subscribe(ch)
    await writer.subscribe(ch)

    # Backend publication.
    res = await api.publish(cent.PublishRequest(channel=ch, data={"from": "api"}))
    pub = await reader.events.wait("sub.publication", channel=ch)
    assert (pub["data"], pub["offset"], pub["info"]) == ({"from": "api"}, res.offset, None)

    # Client publication, with the publisher's info.
    await writer.call("publish", channel=ch, data={"from": "writer"})
    pub = await reader.events.wait("sub.publication", channel=ch, where=lambda e: e["data"] == {"from": "writer"})
    assert pub["info"]["user"] == "writer" and pub["info"]["client"] == writer_ctx["client"], pub

    presence = await reader.call("presence", channel=ch)
    assert {i["user"] for i in presence["clients"].values()} == {"reader", "writer"}, presence
    stats = await reader.call("presenceStats", channel=ch)
    assert stats == {"num_clients": 2, "num_users": 2}

    # Pings every second: answered through /emulation, nothing reconnects.
    mark = reader.events.mark()
    await reader.events.quiet("connecting", 2.5, start=mark)
    assert (await reader.state())["state"] == "connected"


async def test_recovery(gyre, clients, api_factory, proxies, emu):
    """A 3011 from the server API while publications keep coming: the SDK reconnects over the
    same emulated transport, recovers the missed ones, nothing twice."""
    server = gyre(config=with_namespaces(stream_ns("rec"), **EMULATION))
    api = api_factory(server)
    proxy = await proxies(server)
    ch = f"rec:{uuid.uuid4().hex[:8]}"
    user = "emu-rec"
    c = await emu_client(clients, proxy, emu, "sub", token=conn_token(user))
    await c.connected()
    first = await c.subscribe(ch)
    assert (first["recoverable"], first["positioned"]) == (True, True), first
    epoch = first["streamPosition"]["epoch"]

    await publish_all(api, ch, [{"n": n} for n in range(1, 4)])
    await wait_offset(c, ch, 3)
    mark = await cut("force_reconnect", proxy, api, c, user)
    await publish_all(api, ch, [{"n": n} for n in range(4, 9)])
    proxy.release()

    resub = await c.events.wait("sub.subscribed", start=mark, channel=ch, timeout=10)
    assert (resub["wasRecovering"], resub["recovered"]) == (True, True), resub
    assert position(resub) == (3, epoch), resub
    await publish_all(api, ch, [{"n": 9}])
    await wait_offset(c, ch, 9, start=mark)
    assert_exact_stream(c, ch, [(n, {"n": n}) for n in range(1, 10)], what="whole stream")


async def test_server_disconnect_code(gyre, clients, api_factory, emu):
    """A terminal code from the server API reaches the SDK as its disconnect code (a
    `disconnect` push on these transports) and it does not reconnect."""
    server = gyre(EMULATION)
    api = api_factory(server)
    c = await emu_client(clients, server, emu, "victim", token=conn_token("victim"))
    await c.connected()
    await api.disconnect(
        cent.DisconnectRequest(user="victim", disconnect=cent.Disconnect(code=4501, reason="go away"))
    )
    ev = await c.events.wait("disconnected")
    assert (ev["code"], ev["reason"]) == (4501, "go away"), ev
    await c.events.quiet("connecting", 1.0, start=c.events.mark())
    assert (await c.state())["state"] == "disconnected"


async def test_connect_error_over_emulation(gyre, clients, emu):
    """A refused connect (bad token) reaches the SDK like over WebSocket: 3500 invalid token,
    terminal."""
    server = gyre(EMULATION)
    c = await emu_client(clients, server, emu, "bad", token=conn_token("bad", secret="wrong-secret-of-thirty-two-bytes-at-least"))
    await c.connect()
    ev = await c.events.wait("disconnected")
    assert (ev["code"], ev["reason"]) == (3500, "invalid token"), ev


def test_transports_are_off_by_default(gyre):
    """Without `http_stream.enabled` / `sse.enabled` the endpoints do not exist (404), as in
    Centrifugo."""
    import urllib.error
    import urllib.request

    server = gyre()
    for path in ("/connection/http_stream", "/connection/sse", "/emulation"):
        req = urllib.request.Request(server.base_url + path, data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 404, path
