"""A loopback relay between WebSocket clients and gyre that records what crosses it: the
upgrade response headers and every frame in both directions, with its RSV1 bit.

The SDKs hide permessage-deflate completely (they inflate before the application sees a
message), so this is where a scenario can check that frames were really compressed on the
wire, and which ones.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from dataclasses import dataclass, field
from typing import Optional

_CHUNK = 64 * 1024
# What a permessage-deflate sender strips from each message (RFC 7692 7.2.1).
_TAIL = b"\x00\x00\xff\xff"


@dataclass
class Frame:
    fin: bool
    rsv1: bool
    opcode: int
    payload: bytes

    @property
    def is_data(self) -> bool:
        return self.opcode in (0x1, 0x2)

    def message(self) -> bytes:
        """The payload, inflated when the frame is compressed (no context takeover)."""
        if not self.rsv1:
            return self.payload
        inflater = zlib.decompressobj(wbits=-15)
        return inflater.decompress(self.payload + _TAIL) + inflater.flush()


class _FrameParser:
    def __init__(self) -> None:
        self.buf = b""
        self.frames: list[Frame] = []

    def feed(self, data: bytes) -> None:
        self.buf += data
        while True:
            frame = self._next()
            if frame is None:
                return
            self.frames.append(frame)

    def _next(self) -> Optional[Frame]:
        buf = self.buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            (n,) = struct.unpack("!H", buf[2:4])
            at = 4
        elif n == 127:
            if len(buf) < 10:
                return None
            (n,) = struct.unpack("!Q", buf[2:10])
            at = 10
        mask = None
        if b1 & 0x80:
            if len(buf) < at + 4:
                return None
            mask = buf[at : at + 4]
            at += 4
        if len(buf) < at + n:
            return None
        payload = buf[at : at + n]
        if mask is not None:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.buf = buf[at + n :]
        return Frame(fin=bool(b0 & 0x80), rsv1=bool(b0 & 0x40), opcode=b0 & 0x0F, payload=payload)


@dataclass
class TappedConnection:
    response_headers: dict[str, str] = field(default_factory=dict)
    server_frames: list[Frame] = field(default_factory=list)
    client_frames: list[Frame] = field(default_factory=list)


class WsTap:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port: Optional[int] = None
        self.connections: list[TappedConnection] = []
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> "WsTap":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in self._writers:
            w.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers += [writer, up_writer]
        conn = TappedConnection()
        self.connections.append(conn)
        to_server = _FrameParser()
        to_client = _FrameParser()
        conn.client_frames = to_server.frames
        conn.server_frames = to_client.frames

        def from_client(chunk: bytes, state: dict) -> None:
            # The request head is not parsed; frames start after its blank line.
            if not state.get("upgraded"):
                state["head"] = state.get("head", b"") + chunk
                if b"\r\n\r\n" not in state["head"]:
                    return
                state["upgraded"] = True
                chunk = state["head"].split(b"\r\n\r\n", 1)[1]
            to_server.feed(chunk)

        def from_server(chunk: bytes, state: dict) -> None:
            if not state.get("upgraded"):
                state["head"] = state.get("head", b"") + chunk
                if b"\r\n\r\n" not in state["head"]:
                    return
                state["upgraded"] = True
                head, chunk = state["head"].split(b"\r\n\r\n", 1)
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    conn.response_headers[name.strip().lower()] = value.strip()
            to_client.feed(chunk)

        await asyncio.gather(
            self._pump(reader, up_writer, from_client),
            self._pump(up_reader, writer, from_server),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            w.close()

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, tap) -> None:
        state: dict = {}
        try:
            while True:
                chunk = await src.read(_CHUNK)
                if not chunk:
                    if dst.can_write_eof() and not dst.transport.is_closing():
                        dst.write_eof()
                    return
                tap(chunk, state)
                dst.write(chunk)
                await dst.drain()
        except (ConnectionError, OSError):
            return
