"""WebSocket permessage-deflate (RFC 7692): the SDKs negotiate it (npm `ws` and PyPI
`websockets` both offer it by default), data frames above `websocket.compression_min_size`
are compressed on the wire and the rest are not, compressed client messages are inflated,
and a compression bomb is closed with 1009 before it inflates.

A WsTap relay between SDK and gyre records the frames as they cross the wire."""

from __future__ import annotations

import json
import uuid
import zlib

import cent
import pytest

from gyre_harness import conn_token
from rawws import OP_CLOSE, OP_TEXT, RawWebSocket
from ws_tap import WsTap

MIN_SIZE = 128
COMPRESSION = {"websocket": {"compression": True, "compression_min_size": MIN_SIZE}}
RSV1 = 0x40


@pytest.fixture
async def taps():
    made: list[WsTap] = []

    async def make(server) -> WsTap:
        tap = await WsTap(server.port).start()
        made.append(tap)
        return tap

    yield make
    for tap in made:
        await tap.close()


async def test_sdk_frames_above_min_size_are_compressed(gyre, taps, clients, api_factory, sdk):
    server = gyre(COMPRESSION)
    tap = await taps(server)
    ch = f"chat:deflate-{uuid.uuid4().hex[:8]}"
    c = await clients(tap, sdk, token=conn_token("deflate-user"))
    await c.connected()
    await c.subscribe(ch)

    big = {"text": "all work and no play makes jack a dull boy " * 40}
    small = {"n": 1}
    api = api_factory(server)
    for data in (big, small):
        mark = c.events.mark()
        await api.publish(cent.PublishRequest(channel=ch, data=data))
        assert (await c.events.wait("sub.publication", start=mark, channel=ch))["data"] == data
    # A client publish above the `ws` package's 1 KiB compression threshold: the SDK sends it
    # compressed and gyre must inflate it.
    mark = c.events.mark()
    await c.call("publish", channel=ch, data=big)
    assert (await c.events.wait("sub.publication", start=mark, channel=ch))["data"] == big

    (conn,) = tap.connections
    assert conn.response_headers.get("sec-websocket-extensions", "").startswith("permessage-deflate")
    data = [f for f in conn.server_frames if f.is_data]
    assert data, conn.server_frames
    for f in data:
        # Centrifugo's rule: compressed exactly when the frame is above the minimum size.
        assert f.rsv1 == (len(f.message()) > MIN_SIZE), (f.rsv1, len(f.payload), f.message()[:80])
    big_frames = [f for f in data if f.rsv1 and b"all work and no play" in f.message()]
    assert len(big_frames) >= 2, [len(f.message()) for f in data]
    assert all(len(f.payload) * 5 < len(f.message()) for f in big_frames)
    assert any(not f.rsv1 for f in data), "small frames (pings, the small publication) stay plain"
    assert any(f.rsv1 for f in conn.client_frames if f.is_data), "the SDK compressed nothing"


async def test_not_negotiated_when_disabled(gyre, taps, clients, api_factory, js_sdk):
    server = gyre()
    tap = await taps(server)
    c = await clients(tap, js_sdk, token=conn_token("plain-user"))
    await c.connected()
    await c.subscribe("chat:plain")
    big = {"text": "x" * 2000}
    await api_factory(server).publish(cent.PublishRequest(channel="chat:plain", data=big))
    pub = await c.events.wait("sub.publication", channel="chat:plain")
    assert pub["data"] == big
    (conn,) = tap.connections
    assert "sec-websocket-extensions" not in conn.response_headers
    assert not any(f.rsv1 for f in conn.server_frames + conn.client_frames)


def _deflate(message: bytes) -> bytes:
    """A client's compressed message: sync-flushed raw DEFLATE without the 00 00 ff ff tail."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(message) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def _raw(server) -> RawWebSocket:
    return RawWebSocket(
        "127.0.0.1",
        server.port,
        "/connection/websocket",
        headers={"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"},
    )


def _connect_command(user: str, size: int) -> bytes:
    cmd = json.dumps({"id": 1, "connect": {"token": conn_token(user)}}).encode()
    return cmd + b" " * (size - len(cmd))


def test_compression_bomb_closed_1009(gyre):
    """reliability.md A3: with the default limits (64 KiB on the wire, 10 x that = 640 KiB
    inflated) a message inflating to exactly 640 KiB is served, one byte more is closed with
    1009, and so is 64 MiB packed into about 64 KiB."""
    server = gyre({"websocket": {"compression": True}})
    limit = 65536 * 10

    ws = _raw(server)
    try:
        ws._send_frame(RSV1 | OP_TEXT, _deflate(_connect_command("at-limit", limit)))
        opcode, payload = ws.recv_message()
        assert opcode == OP_TEXT
        reply = json.loads(zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff"))
        assert reply["id"] == 1 and "connect" in reply, reply
    finally:
        ws.close()

    for size in (limit + 1, 64 << 20):
        compressed = _deflate(_connect_command("bomb", size))
        assert len(compressed) < 65536, len(compressed)
        ws = _raw(server)
        try:
            ws._send_frame(RSV1 | OP_TEXT, compressed)
            opcode, payload = ws.recv_message()
            assert opcode == OP_CLOSE
            assert RawWebSocket.parse_close(payload) == (1009, "message too big after decompression")
        finally:
            ws.close()
