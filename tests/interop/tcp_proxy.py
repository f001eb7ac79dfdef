"""A loopback TCP relay between one SDK client and gyre, so a scenario can break the
client's connection the way a network does.

`kill()` resets every relayed connection in both directions (SO_LINGER 0, then abort):
the SDK sees its transport fail (a transient disconnect, it reconnects) and gyre sees
the peer vanish; whatever the relay had not forwarded yet is lost, as on a real network.
`hold()` makes new connections wait at the relay (accepted, not forwarded) until
`release()`, so a scenario decides exactly what happens while the client is away
without racing the SDK's reconnect backoff.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Optional

_CHUNK = 64 * 1024


class _Pair:
    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter):
        self.writers = (client, upstream)
        self.tasks: list[asyncio.Task] = []

    def reset(self) -> None:
        for w in self.writers:
            sock = w.get_extra_info("socket")
            if sock is not None:
                try:
                    # RST instead of FIN: the peer gets no orderly close.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            w.transport.abort()
        for t in self.tasks:
            t.cancel()


class TcpProxy:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port: Optional[int] = None
        self._server: Optional[asyncio.AbstractServer] = None
        self._gate = asyncio.Event()
        self._gate.set()
        self._pairs: set[_Pair] = set()
        self._handlers: set[asyncio.Task] = set()
        self.accepted = 0
        self.kills = 0

    async def start(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    @property
    def live(self) -> int:
        return len(self._pairs)

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def kill(self) -> int:
        """Reset every relayed connection now; returns how many there were."""
        pairs = list(self._pairs)
        self._pairs.clear()
        for pair in pairs:
            pair.reset()
        self.kills += len(pairs)
        return len(pairs)

    async def close(self) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
        self.kill()
        for t in list(self._handlers):
            t.cancel()
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._gate.wait()
            self.accepted += 1
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                writer.transport.abort()
                return
            pair = _Pair(writer, up_writer)
            self._pairs.add(pair)
            pair.tasks = [
                asyncio.ensure_future(self._pump(reader, up_writer)),
                asyncio.ensure_future(self._pump(up_reader, writer)),
            ]
            await asyncio.gather(*pair.tasks, return_exceptions=True)
            self._pairs.discard(pair)
            for w in pair.writers:
                w.close()
        except asyncio.CancelledError:
            writer.transport.abort()
        finally:
            if task is not None:
                self._handlers.discard(task)

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while True:
                chunk = await src.read(_CHUNK)
                if not chunk:
                    # Orderly close from this side: pass the FIN on.
                    if dst.can_write_eof() and not dst.transport.is_closing():
                        dst.write_eof()
                    return
                dst.write(chunk)
                await dst.drain()
        except (ConnectionError, OSError):
            return
