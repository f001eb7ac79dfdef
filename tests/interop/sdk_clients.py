"""One interface over the two official client SDKs, so each scenario is written once.

`JsClient` drives the npm `centrifuge` package through js/agent.mjs (a Node process per
client); `PyClient` drives the PyPI `centrifuge-python` package in this event loop. Both
record every SDK event as a normalised dict in an `EventLog` and expose the same `call`
operations (connect, newSubscription, subscribe, publish, history, presence, rpc, ...).

Payloads are JSON documents in both wire formats: with protobuf they travel as the bytes
of their JSON text (that is also what the server API publishes for a JSON `data`).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

import centrifuge

from gyre_harness import INTEROP_DIR

AGENT = INTEROP_DIR / "js" / "agent.mjs"

SDK_KINDS = ("js-json", "js-protobuf", "py-json", "py-protobuf")


@dataclass(frozen=True)
class SdkKind:
    lang: str  # "js" | "py"
    fmt: str  # "json" | "protobuf"

    @classmethod
    def parse(cls, text: str) -> "SdkKind":
        lang, fmt = text.split("-")
        return cls(lang, fmt)

    def __str__(self) -> str:
        return f"{self.lang}-{self.fmt}"


class SdkError(Exception):
    """A failed SDK call; `code` is the protocol error code when the server sent one."""

    def __init__(self, code: Optional[int], message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------


class EventLog:
    """Everything an SDK reported, in order, awaitable with a deadline."""

    def __init__(self, label: str):
        self.label = label
        self.items: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def add(self, event: dict[str, Any]) -> None:
        self.items.append(event)
        self._changed.set()

    @staticmethod
    def _matches(ev: dict[str, Any], name: "str | tuple[str, ...]", match: dict[str, Any]) -> bool:
        names = (name,) if isinstance(name, str) else name
        return ev.get("event") in names and all(ev.get(k) == v for k, v in match.items())

    def find(self, name: str, start: int = 0, **match: Any) -> list[dict[str, Any]]:
        return [ev for ev in self.items[start:] if self._matches(ev, name, match)]

    def count(self, name: str, **match: Any) -> int:
        return len(self.find(name, **match))

    def mark(self) -> int:
        """Position to pass as `start` to only look at later events."""
        return len(self.items)

    async def wait(
        self,
        name: "str | tuple[str, ...]",
        timeout: float = 5.0,
        start: int = 0,
        where: Optional[Callable[[dict[str, Any]], bool]] = None,
        **match: Any,
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Cleared before scanning so an event added during the scan still wakes us.
            self._changed.clear()
            for ev in self.items[start:]:
                if self._matches(ev, name, match) and (where is None or where(ev)):
                    return ev
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"[{self.label}] no '{name}' event matching {match} within {timeout}s; "
                    f"events so far:\n" + "\n".join(json.dumps(e, default=str) for e in self.items)
                )
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def quiet(self, name: str, seconds: float, start: int = 0, **match: Any) -> None:
        """Assert that no such event shows up for `seconds` (a bounded negative check)."""
        try:
            ev = await self.wait(name, timeout=seconds, start=start, **match)
        except AssertionError:
            return
        raise AssertionError(f"[{self.label}] unexpected '{name}' event: {ev}\nall: {self.items}")


# ---------------------------------------------------------------------------------------


class SdkClient:
    kind: SdkKind
    events: EventLog

    async def call(self, op: str, timeout: float = 10.0, **kw: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    # Conveniences shared by both implementations.

    async def connect(self) -> None:
        await self.call("connect")

    async def connected(self, timeout: float = 5.0) -> dict[str, Any]:
        await self.connect()
        return await self.events.wait("connected", timeout=timeout)

    async def try_subscribe(self, channel: str, timeout: float = 5.0, **sub_opts: Any) -> dict[str, Any]:
        """New subscription + subscribe; returns the first of `sub.subscribed` /
        `sub.unsubscribed` for the channel."""
        start = self.events.mark()
        await self.call("newSubscription", channel=channel, **sub_opts)
        await self.call("subscribe", channel=channel)
        return await self.events.wait(
            ("sub.subscribed", "sub.unsubscribed"), timeout=timeout, start=start, channel=channel
        )

    async def subscribe(self, channel: str, timeout: float = 5.0, **sub_opts: Any) -> dict[str, Any]:
        ev = await self.try_subscribe(channel, timeout=timeout, **sub_opts)
        if ev["event"] != "sub.subscribed":
            raise AssertionError(f"[{self.events.label}] subscribe to {channel} failed: {ev}\n{self.events.items}")
        return ev

    async def state(self) -> dict[str, Any]:
        return await self.call("state")


# ---------------------------------------------------------------------------------------


class JsClient(SdkClient):
    """A centrifuge-js client living in its own Node process (js/agent.mjs)."""

    def __init__(self, kind: SdkKind, label: str):
        self.kind = kind
        self.events = EventLog(label)
        self.proc: Optional[asyncio.subprocess.Process] = None
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._other_lines: list[str] = []
        self._stderr: list[str] = []
        self._tasks: list[asyncio.Task] = []

    @classmethod
    async def start(cls, ws_url: str, kind: SdkKind, label: str, **opts: Any) -> "JsClient":
        self = cls(kind, label)
        env = dict(os.environ)
        agent_timeout_ms = opts.pop("agentTimeoutMs", None)
        env.update(
            GYRE_WS_URL=ws_url,
            GYRE_FORMAT=kind.fmt,
            GYRE_CLIENT=json.dumps({k: v for k, v in opts.items() if v is not None}),
        )
        if agent_timeout_ms is not None:
            env["GYRE_AGENT_TIMEOUT_MS"] = str(agent_timeout_ms)
        self.proc = await asyncio.create_subprocess_exec(
            "node",
            str(AGENT),
            cwd=str(INTEROP_DIR),
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        self._tasks.append(asyncio.ensure_future(self._read_stdout()))
        self._tasks.append(asyncio.ensure_future(self._read_stderr()))
        try:
            await self.events.wait("agent.ready", timeout=20)
        except AssertionError as e:
            raise AssertionError(f"{e}\nnode stderr:\n{self.diagnostics()}") from None
        return self

    async def _read_stdout(self) -> None:
        assert self.proc and self.proc.stdout
        while True:
            raw = await self.proc.stdout.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").strip()
            try:
                msg = json.loads(line)
            except ValueError:
                self._other_lines.append(line)
                continue
            if "reply" in msg:
                fut = self._pending.pop(msg["reply"], None)
                if fut and not fut.done():
                    fut.set_result(msg)
            elif "event" in msg:
                self.events.add(msg)
            else:
                self._other_lines.append(line)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(AssertionError(f"node agent exited\n{self.diagnostics()}"))

    async def _read_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        while True:
            raw = await self.proc.stderr.readline()
            if not raw:
                break
            self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    def diagnostics(self) -> str:
        return "\n".join(self._stderr[-50:] + self._other_lines[-50:])

    async def call(self, op: str, timeout: float = 10.0, **kw: Any) -> dict[str, Any]:
        assert self.proc and self.proc.stdin
        self._next_id += 1
        cmd_id = self._next_id
        fut = asyncio.get_running_loop().create_future()
        self._pending[cmd_id] = fut
        self.proc.stdin.write((json.dumps({"id": cmd_id, "op": op, **kw}) + "\n").encode())
        await self.proc.stdin.drain()
        try:
            msg = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"js agent: no reply to {op} within {timeout}s\n{self.diagnostics()}") from None
        if "error" in msg:
            err = msg["error"] or {}
            raise SdkError(err.get("code"), err.get("message", ""))
        return msg.get("ok") or {}

    async def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                assert self.proc.stdin
                self.proc.stdin.close()
            except Exception:
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        for t in self._tasks:
            t.cancel()


# ---------------------------------------------------------------------------------------


def _decode_payload(fmt: str, data: Any) -> Any:
    if data is None:
        return None
    if fmt == "protobuf" or isinstance(data, (bytes, bytearray)):
        if not isinstance(data, (bytes, bytearray)):
            return {"__unexpected_type": repr(data)}
        if not data:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {"__non_json_bytes": list(data)}
    return data


def _encode_payload(fmt: str, value: Any) -> Any:
    if fmt == "protobuf":
        return json.dumps(value).encode("utf-8")
    return value


def _info(fmt: str, info: Optional[centrifuge.ClientInfo]) -> Optional[dict[str, Any]]:
    if info is None:
        return None
    return {
        "client": info.client,
        "user": info.user,
        "conn_info": _decode_payload(fmt, info.conn_info),
        "chan_info": _decode_payload(fmt, info.chan_info),
    }


def _publication(fmt: str, pub: centrifuge.Publication) -> dict[str, Any]:
    return {
        "data": _decode_payload(fmt, pub.data),
        "offset": pub.offset,
        "info": _info(fmt, pub.info),
        "tags": pub.tags or None,
    }


def _subscribed(fmt: str, ctx: Any) -> dict[str, Any]:
    """The fields of a (server-side or client-side) subscribed context, named as in
    centrifuge-js so that scenarios read both SDKs the same way."""
    sp = ctx.stream_position
    return {
        "recoverable": ctx.recoverable,
        "positioned": ctx.positioned,
        "wasRecovering": ctx.was_recovering,
        "recovered": ctx.recovered,
        "streamPosition": {"offset": sp.offset, "epoch": sp.epoch} if sp is not None else None,
        "data": _decode_payload(fmt, ctx.data),
    }


def _error_code(err: BaseException) -> Optional[int]:
    return getattr(err, "code", None)


class _ClientEvents(centrifuge.ClientEventHandler):
    # Handlers must never raise: the SDK treats that as a fatal application error.
    def __init__(self, log: EventLog, fmt: str):
        self.log, self.fmt = log, fmt

    async def on_connecting(self, ctx):
        self.log.add({"event": "connecting", "code": ctx.code, "reason": ctx.reason})

    async def on_connected(self, ctx):
        self.log.add({"event": "connected", "client": ctx.client, "data": _decode_payload(self.fmt, ctx.data)})

    async def on_disconnected(self, ctx):
        self.log.add({"event": "disconnected", "code": ctx.code, "reason": ctx.reason})

    async def on_error(self, ctx):
        self.log.add(
            {"event": "error", "type": ctx.code, "error_code": _error_code(ctx.error), "message": str(ctx.error)}
        )

    async def on_subscribing(self, ctx):
        self.log.add({"event": "server.subscribing", "channel": ctx.channel})

    async def on_subscribed(self, ctx):
        self.log.add({"event": "server.subscribed", "channel": ctx.channel, **_subscribed(self.fmt, ctx)})

    async def on_unsubscribed(self, ctx):
        self.log.add({"event": "server.unsubscribed", "channel": ctx.channel})

    async def on_publication(self, ctx):
        self.log.add({"event": "server.publication", "channel": ctx.channel, **_publication(self.fmt, ctx.pub)})

    async def on_join(self, ctx):
        self.log.add({"event": "server.join", "channel": ctx.channel, "info": _info(self.fmt, ctx.info)})

    async def on_leave(self, ctx):
        self.log.add({"event": "server.leave", "channel": ctx.channel, "info": _info(self.fmt, ctx.info)})


class _SubEvents(centrifuge.SubscriptionEventHandler):
    def __init__(self, log: EventLog, fmt: str, channel: str):
        self.log, self.fmt, self.channel = log, fmt, channel
        # Counted like centrifuge-js's sub.deltaStats(): the Python SDK exposes the wire
        # flag on each publication (`Publication.delta`) but keeps no statistics.
        self.num_publications = 0
        self.num_delta = 0

    async def on_subscribing(self, ctx):
        self.log.add({"event": "sub.subscribing", "channel": self.channel, "code": ctx.code, "reason": ctx.reason})

    async def on_subscribed(self, ctx):
        self.log.add({"event": "sub.subscribed", "channel": self.channel, **_subscribed(self.fmt, ctx)})

    async def on_unsubscribed(self, ctx):
        self.log.add({"event": "sub.unsubscribed", "channel": self.channel, "code": ctx.code, "reason": ctx.reason})

    async def on_publication(self, ctx):
        self.num_publications += 1
        self.num_delta += 1 if ctx.pub.delta else 0
        self.log.add(
            {
                "event": "sub.publication",
                "channel": self.channel,
                **_publication(self.fmt, ctx.pub),
                # Only the Python SDK shows whether the payload came as a fossil delta.
                "delta": bool(ctx.pub.delta),
            }
        )

    async def on_error(self, ctx):
        self.log.add(
            {
                "event": "sub.error",
                "channel": self.channel,
                "type": ctx.code,
                "error_code": _error_code(ctx.error),
                "message": str(ctx.error),
            }
        )

    async def on_join(self, ctx):
        self.log.add({"event": "sub.join", "channel": self.channel, "info": _info(self.fmt, ctx.info)})

    async def on_leave(self, ctx):
        self.log.add({"event": "sub.leave", "channel": self.channel, "info": _info(self.fmt, ctx.info)})


def _token_source(log: EventLog, tokens: Optional[list[str]], event: str, with_channel: bool):
    if not tokens:
        return None
    calls = 0

    def next_token(channel: Optional[str]) -> str:
        nonlocal calls
        token = tokens[min(calls, len(tokens) - 1)]
        calls += 1
        log.add({"event": event, "channel": channel, "n": calls})
        return token

    if with_channel:
        async def get_sub_token(channel: str) -> str:
            return next_token(channel)

        return get_sub_token

    async def get_token() -> str:
        return next_token(None)

    return get_token


def _since_as_get_state(log: EventLog, channel: str, since: Optional[dict[str, Any]]):
    """centrifuge-python 0.7.0 has no `since` option; its way to start a subscription from
    a known stream position is `get_state` returning that position. Unlike centrifuge-js's
    `since`, the SDK then also sets the "reject unrecovered" subscribe flag (a failed
    recovery is error 112, after which it calls get_state again)."""
    if since is None:
        return None

    async def get_state(_channel: str) -> centrifuge.StreamPosition:
        log.add({"event": "sub.getState", "channel": channel})
        return centrifuge.StreamPosition(offset=int(since.get("offset") or 0), epoch=since.get("epoch") or "")

    return get_state


class PyClient(SdkClient):
    """A centrifuge-python client in the test's event loop."""

    def __init__(self, ws_url: str, kind: SdkKind, label: str, **opts: Any):
        self.kind = kind
        self.events = EventLog(label)
        self.fmt = kind.fmt
        self._sub_events: dict[str, _SubEvents] = {}
        self.client = centrifuge.Client(
            ws_url,
            events=_ClientEvents(self.events, kind.fmt),
            token=opts.get("token") or "",
            get_token=_token_source(self.events, opts.get("getTokens"), "getToken", False),
            use_protobuf=kind.fmt == "protobuf",
            name=opts.get("name") or "python",
            # Connect data (what a connect proxy receives as `data`).
            data=_encode_payload(kind.fmt, opts["data"]) if opts.get("data") is not None else None,
            min_reconnect_delay=0.1,
            max_reconnect_delay=2.0,
            # Never pick up HTTP(S)_PROXY from the environment: the server is on loopback.
            proxy=None,
        )

    @classmethod
    async def start(cls, ws_url: str, kind: SdkKind, label: str, **opts: Any) -> "PyClient":
        return cls(ws_url, kind, label, **opts)

    def _sub(self, channel: str) -> centrifuge.Subscription:
        sub = self.client.get_subscription(channel)
        if sub is None:
            raise SdkError(None, f"no subscription for {channel}")
        return sub

    async def call(self, op: str, timeout: float = 10.0, **kw: Any) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self._dispatch(op, **kw), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"python sdk: {op} did not finish within {timeout}s") from None
        except centrifuge.ReplyError as e:
            raise SdkError(e.code, e.message) from None
        except centrifuge.CentrifugeError as e:
            raise SdkError(None, f"{type(e).__name__}: {e}") from None

    async def _dispatch(self, op: str, **kw: Any) -> dict[str, Any]:
        c = self.client
        if op == "connect":
            await c.connect()
            return {}
        if op == "disconnect":
            await c.disconnect()
            return {}
        if op == "state":
            return {
                "state": c.state.value,
                "subs": {ch: s.state.value for ch, s in c.subscriptions().items()},
            }
        if op == "newSubscription":
            ch = kw["channel"]
            handler = _SubEvents(self.events, self.fmt, ch)
            self._sub_events[ch] = handler
            tags_filter = kw.get("tagsFilter")
            c.new_subscription(
                ch,
                events=handler,
                token=kw.get("token") or "",
                get_token=_token_source(self.events, kw.get("getTokens"), "sub.getToken", True),
                join_leave=bool(kw.get("joinLeave")),
                positioned=bool(kw.get("positioned")),
                recoverable=bool(kw.get("recoverable")),
                delta=centrifuge.DeltaType.FOSSIL if kw.get("delta") == "fossil" else None,
                tags_filter=centrifuge.FilterNode(tags_filter) if tags_filter is not None else None,
                get_state=_since_as_get_state(self.events, ch, kw.get("since")),
                min_resubscribe_delay=0.1,
                max_resubscribe_delay=2.0,
            )
            return {}
        if op == "deltaStats":
            h = self._sub_events[kw["channel"]]
            return {
                "numPublications": h.num_publications,
                "numDeltaPayloads": h.num_delta,
                "numFullPayloads": h.num_publications - h.num_delta,
            }
        if op == "subscribe":
            await self._sub(kw["channel"]).subscribe()
            return {}
        if op == "unsubscribe":
            await self._sub(kw["channel"]).unsubscribe()
            return {}
        if op == "removeSubscription":
            # centrifuge-js unsubscribes as part of removeSubscription; the Python SDK
            # refuses to remove a subscription that is not unsubscribed yet.
            sub = self._sub(kw["channel"])
            await sub.unsubscribe()
            c.remove_subscription(sub)
            self._sub_events.pop(kw["channel"], None)
            return {}
        via_sub = kw.get("via") == "sub"
        ch = kw.get("channel")
        if op == "publish":
            data = _encode_payload(self.fmt, kw["data"])
            if via_sub:
                await self._sub(ch).publish(data)
            else:
                await c.publish(ch, data)
            return {}
        if op == "history":
            since = kw.get("since")
            pos = centrifuge.StreamPosition(offset=since["offset"], epoch=since["epoch"]) if since else None
            args = dict(limit=kw.get("limit") or 0, since=pos, reverse=bool(kw.get("reverse")))
            res = await (self._sub(ch).history(**args) if via_sub else c.history(ch, **args))
            return {
                "publications": [_publication(self.fmt, p) for p in res.publications],
                "offset": res.offset,
                "epoch": res.epoch,
            }
        if op == "presence":
            res = await (self._sub(ch).presence() if via_sub else c.presence(ch))
            return {"clients": {cid: _info(self.fmt, info) for cid, info in res.clients.items()}}
        if op == "presenceStats":
            res = await (self._sub(ch).presence_stats() if via_sub else c.presence_stats(ch))
            return {"num_clients": res.num_clients, "num_users": res.num_users}
        if op == "rpc":
            res = await c.rpc(kw["method"], _encode_payload(self.fmt, kw.get("data", {})))
            return {"data": _decode_payload(self.fmt, res.data)}
        raise SdkError(None, f"unknown op {op}")

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.client.disconnect(), 5)
        except Exception:
            pass


async def start_client(ws_url: str, kind: SdkKind, label: str, **opts: Any) -> SdkClient:
    if kind.lang == "js":
        return await JsClient.start(ws_url, kind, label, **opts)
    return await PyClient.start(ws_url, kind, label, **opts)
