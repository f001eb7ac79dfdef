"""A scripted application backend for gyre's HTTP proxies, run in the test's event loop.

Every request (any path) is recorded with its headers and JSON body; the reply comes from
the script of its path: a JSON document (HTTP 200), `Status(n)` for a bare non-200
answer, `Hang(seconds)` for a backend slower than gyre's proxy timeout, or a function of
the recorded call returning one of those. Paths without a script get 404, which a proxy
must treat as a failure, so an unexpected call is visible both to gyre and to the test.

It runs in the test's own event loop: anything blocking (the raw WebSocket client) has to
run in a thread (`asyncio.to_thread`) or the backend could not answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from aiohttp import web


@dataclass(frozen=True)
class Status:
    """Answer with this HTTP status and a plain-text body."""

    code: int
    body: str = "backend failure"


@dataclass(frozen=True)
class Hang:
    """Answer only after `seconds` (or when the backend closes), then with `then`: a
    reply that must never reach a client if the proxy timeout works."""

    seconds: float
    then: dict[str, Any] = field(default_factory=lambda: {"result": {"user": "too-late"}})


@dataclass
class ProxyCall:
    path: str
    method: str
    # Lower-cased names; repeated headers joined with ", ".
    headers: dict[str, str]
    body: Any
    at: float


Reply = Union[dict, Status, Hang]
Script = Union[Reply, Callable[[ProxyCall], Reply]]


def closed_port_url(path: str) -> str:
    """An http:// URL on a loopback port nobody listens on (bound, then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}{path}"


class ProxyBackend:
    def __init__(self) -> None:
        self.calls: list[ProxyCall] = []
        self._scripts: dict[str, list[Script]] = {}
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: Optional[web.AppRunner] = None
        self.port: Optional[int] = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> "ProxyBackend":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Hung handlers return as soon as close() sets _closing, so a short shutdown wait
        # is enough.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- scripting ---------------------------------------------------------------------

    def script(self, path: str, *replies: Script) -> None:
        """Replies for the next calls to `path`, in order; the last one repeats."""
        assert replies, "at least one reply"
        self._scripts[path] = list(replies)

    def _next_reply(self, call: ProxyCall) -> Reply:
        queue = self._scripts.get(call.path)
        if not queue:
            return Status(404, f"no script for {call.path}")
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        return step(call) if callable(step) else step

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = {"__undecodable": raw.decode("utf-8", "replace")}
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        call = ProxyCall(request.path, request.method, headers, body, asyncio.get_running_loop().time())
        self.calls.append(call)
        self._changed.set()
        reply = self._next_reply(call)
        if isinstance(reply, Hang):
            try:
                await asyncio.wait_for(self._closing.wait(), reply.seconds)
            except asyncio.TimeoutError:
                pass
            reply = reply.then
        if isinstance(reply, Status):
            return web.Response(status=reply.code, text=reply.body)
        return web.json_response(reply)

    # -- inspection --------------------------------------------------------------------

    def calls_to(self, path: str) -> list[ProxyCall]:
        return [c for c in self.calls if c.path == path]

    async def wait_calls(self, path: str, n: int = 1, timeout: float = 5.0) -> list[ProxyCall]:
        """The first `n` calls to `path`, waiting up to `timeout` seconds for them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            found = self.calls_to(path)
            if len(found) >= n:
                return found[:n]
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"backend: {len(found)} of {n} expected calls to {path} within {timeout}s; "
                    f"all calls:\n{self.describe()}"
                )
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def describe(self) -> str:
        return "\n".join(f"{c.method} {c.path} {json.dumps(c.body)} headers={c.headers}" for c in self.calls)
