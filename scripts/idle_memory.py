#!/usr/bin/env python3
"""Resident memory of a gyre server per idle, connected and subscribed WebSocket client.

Starts gyre (insecure client mode, port 0), reads its RSS, opens N JSON WebSocket connections
that each send connect + subscribe and then stay idle, reads the RSS again and prints the
difference per connection. A rough probe until the project's load tool (`gyre bench`) exists.

    tests/interop/.venv/bin/python scripts/idle_memory.py --gyre target/release/gyre -n 2000
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import tempfile

import websockets


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def client(url: str, i: int, ready: asyncio.Event, opened: list, stop: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send('{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"idle"}}')
        replies = 0
        while replies < 2:
            for line in str(await ws.recv()).split("\n"):
                reply = json.loads(line)
                if reply.get("id") in (1, 2):
                    assert "error" not in reply, reply
                    replies += 1
        opened.append(i)
        if len(opened) == ready.n:  # type: ignore[attr-defined]
            ready.set()
        await stop.wait()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gyre", required=True)
    ap.add_argument("-n", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "config.json")
        with open(cfg, "w") as f:
            json.dump({"http_server": {"address": "127.0.0.1"}, "client": {"insecure": True},
                       "log": {"level": "error"}}, f)
        # Error level hides the listening line; ask for info once to learn the port.
        proc = subprocess.Popen([args.gyre, "-c", cfg, "-p", "0", "--log.level", "info"],
                                stderr=subprocess.PIPE, text=True)
        port = None
        while port is None:
            line = proc.stderr.readline()
            if not line:
                raise RuntimeError("gyre exited")
            m = re.search(r'"address":"127\.0\.0\.1:(\d+)"', line)
            if m:
                port = int(m.group(1))
        try:
            url = f"ws://127.0.0.1:{port}/connection/websocket"
            await asyncio.sleep(0.5)  # let the allocator settle after start-up
            before = rss_kib(proc.pid)
            ready, stop, opened = asyncio.Event(), asyncio.Event(), []
            ready.n = args.n  # type: ignore[attr-defined]
            tasks = []
            for i in range(args.n):
                tasks.append(asyncio.create_task(client(url, i, ready, opened, stop)))
                if i % 200 == 199:
                    await asyncio.sleep(0.05)
            await asyncio.wait_for(ready.wait(), 120)
            await asyncio.sleep(1.0)
            after = rss_kib(proc.pid)
            print(json.dumps({"connections": args.n, "rss_before_kib": before, "rss_after_kib": after,
                              "kib_per_connection": round((after - before) / args.n, 2)}))
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    asyncio.run(main())
