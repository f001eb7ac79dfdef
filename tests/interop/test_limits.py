"""Scenarios 9-10: a slow reader is closed with 3008; an oversized inbound message is
closed with 1009, which the SDKs report as disconnected code 3."""

from __future__ import annotations

import json
import time

import cent
import pytest
import requests

from gyre_harness import API_KEY, conn_token
from rawws import OP_CLOSE, RawWebSocket
from sdk_clients import SdkError

QUEUE_MAX = 65536


def _read_reply(ws: RawWebSocket, cmd_id: int) -> dict:
    """Reads messages until the reply with `cmd_id` (skipping pings `{}` and pushes)."""
    for _ in range(100):
        opcode, payload = ws.recv_message()
        assert opcode != OP_CLOSE, f"closed while waiting for reply {cmd_id}: {RawWebSocket.parse_close(payload)}"
        for line in payload.decode().split("\n"):
            if line.strip():
                reply = json.loads(line)
                if reply.get("id") == cmd_id:
                    return reply
    raise AssertionError(f"no reply {cmd_id}")


def _wmem_max() -> int:
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


def test_slow_reader_closed_3008(gyre):
    """The official SDKs always read their socket, so a raw WebSocket client (rawws.py)
    plays the slow reader: tiny SO_RCVBUF, connect + subscribe, then it stops reading while
    the backend publishes more than client.queue_max_size beyond what the kernel buffers
    absorb. Once it reads again it must find the close frame 3008 "slow"."""
    # A long write timeout keeps the blocked socket write from ending the connection with
    # 3009 first: the queue limit must be what closes it, however slow this machine is.
    server = gyre({"client": {"queue_max_size": QUEUE_MAX}, "websocket": {"write_timeout": "30s"}})
    ws = RawWebSocket("127.0.0.1", server.port, "/connection/websocket", rcvbuf=4096, timeout=15)
    try:
        ws.send_text(json.dumps({"id": 1, "connect": {"token": conn_token("slow-reader"), "name": "raw"}}))
        reply = _read_reply(ws, 1)
        assert "connect" in reply, reply
        ws.send_text(json.dumps({"id": 2, "subscribe": {"channel": "news:slow"}}))
        reply = _read_reply(ws, 2)
        assert "subscribe" in reply and "error" not in reply, reply

        # From here on nothing is read until the publishing stops.
        session = requests.Session()
        session.trust_env = False  # loopback only: ignore HTTP(S)_PROXY
        api = cent.Client(server.api_url, API_KEY, timeout=10, session=session)
        pad = "x" * 32768
        budget = _wmem_max() + 4 * QUEUE_MAX + 1024 * 1024
        sent = 0
        dropped = False
        for i in range(2000):
            api.publish(cent.PublishRequest(channel="news:slow", data={"i": i, "pad": pad}))
            sent += len(pad)
            if i % 4 == 3:
                info = api.info(cent.InfoRequest())
                if sum(node.num_clients for node in info.nodes) == 0:
                    dropped = True
                    break
            if sent > budget:
                break
        api.close()

        # Resume reading: drain what was buffered, then expect the close frame.
        drained = 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                opcode, payload = ws.recv_message()
            except EOFError as e:
                pytest.fail(f"no close frame: {e}; drained {drained} bytes; server dropped client: {dropped}")
            if opcode == OP_CLOSE:
                code, reason = RawWebSocket.parse_close(payload)
                assert (code, reason) == (3008, "slow"), (code, reason, drained)
                return
            drained += len(payload)
        pytest.fail(f"no close frame within 15 s; drained {drained} bytes")
    finally:
        ws.close()


async def test_oversized_message_closed_1009(gyre, clients, sdk):
    """websocket.message_size_limit = 4096: a publish command bigger than that makes the
    server close with 1009, which both SDKs report with client-side code 3."""
    server = gyre({"websocket": {"message_size_limit": 4096}})
    c = await clients(server, sdk, token=conn_token("big-sender"))
    await c.connected()
    # Below the limit everything works.
    await c.call("publish", channel="chat:big", data={"small": True})

    mark = c.events.mark()
    try:
        await c.call("publish", channel="chat:big", data={"pad": "x" * 8192})
    except SdkError:
        pass
    else:
        pytest.fail("an 8 KiB publish over a 4 KiB limit succeeded")
    ev = await c.events.wait(("disconnected", "connecting"), start=mark, where=lambda e: e["code"] == 3)
    # centrifuge-js: "message size limit exceeded"; centrifuge-python: "message size limit".
    assert ev["reason"].startswith("message size limit"), ev
    if sdk.lang == "js":
        # centrifuge-js treats close 1009 as terminal.
        assert ev["event"] == "disconnected", ev
        await c.events.quiet("connecting", 0.5, start=c.events.mark())
        assert (await c.state())["state"] == "disconnected"
    else:
        # centrifuge-python 0.7.0 maps 1009 to code 3 as well but keeps reconnecting; the
        # server must accept the new connection.
        assert ev["event"] == "connecting", ev
        await c.events.wait("connected", start=mark)
