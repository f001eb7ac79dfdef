"""Unidirectional transports with plain clients and no SDK: an EventSource-style reader on
uni_sse, a chunked HTTP reader on uni_http_stream (both aiohttp), a raw WebSocket on
uni_websocket (rawws.py). Each gets the connect push, a publication sent through the server
API, empty-push pings, and the right ending on a server disconnect; plus the two connect-error
transforms (`client.connect_code_to_unidirectional_disconnect`,
`uni_*.connect_code_to_http_response`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Optional

import aiohttp
import cent
import pytest

from gyre_harness import conn_token
from rawws import OP_CLOSE, OP_PING, OP_TEXT, RawWebSocket

UNI = {
    "uni_sse": {"enabled": True},
    "uni_http_stream": {"enabled": True},
    "uni_websocket": {"enabled": True},
    "client": {"ping_interval": "1s", "pong_timeout": "500ms"},
}
WAIT = 5.0


class SseReader:
    """What an EventSource does with the stream: `data:` lines up to a blank line make an
    event; events without data (the leading blank line) are ignored."""

    def __init__(self, response: aiohttp.ClientResponse):
        self.response = response

    async def next(self) -> Optional[Any]:
        data: list[str] = []
        while True:
            raw = await asyncio.wait_for(self.response.content.readline(), WAIT)
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if data:
                    return json.loads("\n".join(data))
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)


class LineReader:
    """HTTP-streaming: one JSON message per line of the chunked body."""

    def __init__(self, response: aiohttp.ClientResponse):
        self.response = response

    async def next(self) -> Optional[Any]:
        raw = await asyncio.wait_for(self.response.content.readline(), WAIT)
        return json.loads(raw) if raw else None


class WsReader:
    """A raw WebSocket: text frames are messages; native pings are answered and counted."""

    def __init__(self, ws: RawWebSocket):
        self.ws = ws
        self.native_pings = 0
        self.close: Optional[tuple[Optional[int], str]] = None

    def _next(self) -> Optional[Any]:
        while True:
            opcode, _fin, payload = self.ws.recv_frame()
            if opcode == OP_PING:
                self.native_pings += 1
                self.ws._send_frame(0xA, payload)
            elif opcode == OP_CLOSE:
                self.close = RawWebSocket.parse_close(payload)
                return None
            elif opcode == OP_TEXT:
                return json.loads(payload)

    async def next(self) -> Optional[Any]:
        return await asyncio.to_thread(self._next)


async def open_uni(session: aiohttp.ClientSession, port: int, transport: str, request: dict):
    """Connects a plain client of `transport`; returns its reader."""
    base = f"http://127.0.0.1:{port}/connection/{transport}"
    if transport == "uni_sse":
        response = await session.get(base, params={"cf_connect": json.dumps(request)})
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        return SseReader(response)
    if transport == "uni_http_stream":
        response = await session.post(base, data=json.dumps(request))
        assert response.status == 200, await response.text()
        return LineReader(response)
    ws = await asyncio.to_thread(RawWebSocket, "127.0.0.1", port, f"/connection/{transport}")
    await asyncio.to_thread(ws.send_text, json.dumps(request))
    return WsReader(ws)


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@pytest.mark.parametrize("transport", ["uni_sse", "uni_http_stream", "uni_websocket"])
async def test_plain_client(gyre, api_factory, http, transport):
    server = gyre(UNI)
    api = api_factory(server)
    ch = f"news:uni-{uuid.uuid4().hex[:8]}"
    user = f"uni-{transport}"
    # Server-side subscription from the token: the only way a unidirectional client subscribes.
    reader = await open_uni(http, server.port, transport, {"token": conn_token(user, channels=[ch])})

    connect = await reader.next()
    result = connect["connect"]
    assert result["client"] and result["session"], connect
    assert result["ping"] == 1 and "pong" not in result, connect
    assert ch in result["subs"], connect

    await api.publish(cent.PublishRequest(channel=ch, data={"text": "hello"}))
    publication = await reader.next()
    assert publication["channel"] == ch and publication["pub"]["data"] == {"text": "hello"}, publication

    # An empty push every second; nothing to answer.
    started = time.monotonic()
    assert await reader.next() == {}
    assert await reader.next() == {}
    assert time.monotonic() - started < 4
    if isinstance(reader, WsReader):
        assert reader.native_pings >= 1, "uni_websocket pings with native frames too"

    await api.disconnect(cent.DisconnectRequest(user=user, disconnect=cent.Disconnect(code=4501, reason="bye")))
    push = await reader.next()
    while push == {}:
        push = await reader.next()
    assert push == {"disconnect": {"code": 4501, "reason": "bye"}}, push
    assert await reader.next() is None, "the stream ends after the disconnect push"
    if isinstance(reader, WsReader):
        assert reader.close == (4501, "bye"), reader.close
        reader.ws.send_close()
        reader.ws.close()


async def test_connect_code_to_unidirectional_disconnect(gyre, http):
    """An expired token (error 109) becomes the configured disconnect (3005 without it)."""
    expired = conn_token("late", exp_in=-60)
    server = gyre(
        {
            **UNI,
            "client": {
                "connect_code_to_unidirectional_disconnect": {
                    "enabled": True,
                    "transforms": [{"code": 109, "to": {"code": 4109, "reason": "log in again"}}],
                }
            },
        }
    )
    reader = await open_uni(http, server.port, "uni_sse", {"token": expired})
    assert await reader.next() == {"disconnect": {"code": 4109, "reason": "log in again"}}
    assert await reader.next() is None

    plain = gyre(UNI)
    reader = await open_uni(http, plain.port, "uni_http_stream", {"token": expired})
    push = await reader.next()
    assert push["disconnect"]["code"] == 3005, push


async def test_connect_code_to_http_response(gyre, http):
    """A failed connect answered with a plain HTTP status: the first transform of the error or
    disconnect code (body: the configured one, else the error message), else 500."""
    expired = conn_token("late", exp_in=-60)
    invalid = {"code": 3500, "to": {"status_code": 403, "body": "no"}}
    server = gyre(
        {
            "uni_sse": {
                "enabled": True,
                "connect_code_to_http_response": {
                    "enabled": True,
                    "transforms": [{"code": 109, "to": {"status_code": 401}}, invalid],
                },
            },
            "uni_http_stream": {
                "enabled": True,
                "connect_code_to_http_response": {"enabled": True, "transforms": [invalid]},
            },
        }
    )
    base = f"http://127.0.0.1:{server.port}/connection"
    async with http.get(f"{base}/uni_sse", params={"cf_connect": json.dumps({"token": expired})}) as r:
        assert (r.status, await r.text()) == (401, "token expired")
    async with http.post(f"{base}/uni_http_stream", data=json.dumps({"token": "not-a-jwt"})) as r:
        assert (r.status, await r.text()) == (403, "no")
    async with http.post(f"{base}/uni_http_stream", data=json.dumps({"token": expired})) as r:
        assert (r.status, await r.text()) == (500, "Internal Server Error")
    # A good connect still streams.
    async with http.post(f"{base}/uni_http_stream", data=json.dumps({"token": conn_token("ok")})) as r:
        assert r.status == 200
        assert "connect" in json.loads(await r.content.readline())


async def test_bad_requests(gyre, http):
    server = gyre(UNI)
    base = f"http://127.0.0.1:{server.port}/connection"
    async with http.get(f"{base}/uni_sse", params={"cf_connect": "{nope"}) as r:
        assert r.status == 400
    async with http.post(f"{base}/uni_http_stream", data="[]") as r:
        assert r.status == 400
    async with http.post(f"{base}/uni_http_stream", data=b" " * 70000) as r:
        assert r.status == 413
    async with http.get(f"{base}/uni_http_stream") as r:
        assert r.status == 405
    async with http.get(f"{base}/uni_websocket", params={"cf_connect": "{nope"}) as r:
        assert (r.status, await r.text()) == (400, "invalid connect request\n")
    # A first WebSocket message that is not a connect request: close 3501, no push.
    ws = await asyncio.to_thread(RawWebSocket, "127.0.0.1", server.port, "/connection/uni_websocket")
    await asyncio.to_thread(ws.send_text, "[1]")
    reader = WsReader(ws)
    assert await reader.next() is None
    assert reader.close == (3501, "bad request")
    ws.close()
