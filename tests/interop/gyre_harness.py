"""Starting and stopping a gyre binary for one scenario, plus configs and tokens.

The binary contract (see README.md): `gyre -c <config.json> --http_server.port 0` with
`http_server.address = 127.0.0.1` in the config; once listening, gyre writes a JSON log line
to stderr holding `"message":"HTTP server listening"` and `"address":"127.0.0.1:PORT"`.
SIGTERM stops it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

import jwt

INTEROP_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEROP_DIR.parent.parent

SECRET = "gyre-interop-hmac-secret-3f1b8c2e9d7a4f60"
API_KEY = "gyre-interop-api-key-7c41"

LISTENING_MESSAGE = "HTTP server listening"
_ADDRESS_RE = re.compile(r'"address"\s*:\s*"127\.0\.0\.1:(\d+)"')
# Other listeners log their bound address the same way ("GRPC API server listening",
# "uni GRPC server listening"); `listening_port(message)` waits for one of them.
_LISTENING_RE = re.compile(r'"message"\s*:\s*"([^"]*listening)"')
_ANY_ADDRESS_RE = re.compile(r'"address"\s*:\s*"[^"]*:(\d+)"')


# ---------------------------------------------------------------------------------------
# Locating the binary


def locate_gyre() -> str:
    """Path of the gyre binary: $GYRE_BIN, or a fresh `cargo build --bin gyre`."""
    explicit = os.environ.get("GYRE_BIN")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RuntimeError(f"GYRE_BIN={explicit} is not an executable file")
        return str(path)
    build = subprocess.run(
        ["cargo", "build", "--bin", "gyre"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise RuntimeError(f"cargo build --bin gyre failed:\n{build.stderr[-8000:]}")
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=REPO_ROOT,
        )
    )
    path = Path(meta["target_directory"]) / "debug" / "gyre"
    if not path.is_file():
        raise RuntimeError(f"built gyre not found at {path}")
    return str(path)


# ---------------------------------------------------------------------------------------
# Configs


def base_config() -> dict[str, Any]:
    """The configuration most scenarios share: the user's integration guide (seed steps 2-4)
    plus the namespaces the scenarios need."""
    return {
        "http_server": {"address": "127.0.0.1"},
        "client": {
            "token": {"hmac_secret_key": SECRET},
            "allowed_origins": ["http://localhost:3000"],
        },
        "http_api": {"key": API_KEY},
        "channel": {
            "without_namespace": {"allow_subscribe_for_client": True},
            "namespaces": [
                {
                    # Seed step 4 + client publish + presence/history from clients.
                    "name": "chat",
                    "presence": True,
                    "join_leave": True,
                    "history_size": 50,
                    "history_ttl": "300s",
                    "force_recovery": True,
                    "allow_subscribe_for_client": True,
                    "allow_publish_for_client": True,
                    "allow_history_for_subscriber": True,
                    "allow_presence_for_subscriber": True,
                },
                {
                    # Clients may read but not publish.
                    "name": "news",
                    "allow_subscribe_for_client": True,
                },
                {
                    "name": "notifications",
                    "allow_user_limited_channels": True,
                },
                {
                    # Subscribing is open here, yet `$private:...` still needs a token:
                    # the private prefix wins over namespace permissions.
                    "name": "private",
                    "allow_subscribe_for_client": True,
                },
            ],
        },
    }


def merged(base: dict[str, Any], patch: Optional[dict[str, Any]]) -> dict[str, Any]:
    """Deep-merge `patch` into a copy of `base` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in (patch or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ---------------------------------------------------------------------------------------
# Tokens (seed step 3: HS256 with sub and exp)


def conn_token(user: str, *, exp_in: Optional[int] = 3600, secret: str = SECRET, **claims: Any) -> str:
    payload: dict[str, Any] = {"sub": user}
    if exp_in is not None:
        payload["exp"] = int(time.time()) + exp_in
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


def sub_token(
    user: str, channel: str, *, exp_in: Optional[int] = 3600, secret: str = SECRET, **claims: Any
) -> str:
    payload: dict[str, Any] = {"sub": user, "channel": channel}
    if exp_in is not None:
        payload["exp"] = int(time.time()) + exp_in
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


# ---------------------------------------------------------------------------------------
# The server process


class GyreStartError(AssertionError):
    pass


class GyreServer:
    """One gyre process with one config, on a kernel-chosen port."""

    def __init__(self, binary: str, config: dict[str, Any]):
        self.binary = binary
        self.config = config
        self._dir = tempfile.TemporaryDirectory(prefix="gyre-interop-")
        self.config_path = Path(self._dir.name) / "config.json"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._ports: dict[str, int] = {}
        self._ports_changed = threading.Condition(self._lock)
        self._readers: list[threading.Thread] = []
        self.returncode: Optional[int] = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> "GyreServer":
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.config_path), "--http_server.port", "0"],
            cwd=self._dir.name,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for stream, name in ((self.proc.stderr, "stderr"), (self.proc.stdout, "stdout")):
            t = threading.Thread(target=self._pump, args=(stream, name), daemon=True)
            t.start()
            self._readers.append(t)
        deadline = time.monotonic() + timeout
        while not self._listening.is_set():
            if self.proc.poll() is not None:
                # Let the readers drain what the process wrote before it died.
                for t in self._readers:
                    t.join(timeout=2)
                raise GyreStartError(
                    f"gyre exited with code {self.proc.returncode} before listening\n"
                    f"config:\n{json.dumps(self.config, indent=2)}\nlog:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise GyreStartError(
                    f"gyre did not log '{LISTENING_MESSAGE}' within {timeout}s\nlog:\n{self.log_tail()}"
                )
            self._listening.wait(0.05)
        return self

    def _pump(self, stream, name: str) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self._lines.append(f"[{name}] {line}")
            if name == "stderr":
                self._note_listener(line)
            if name == "stderr" and self.port is None and LISTENING_MESSAGE in line:
                m = _ADDRESS_RE.search(line)
                if m:
                    self.port = int(m.group(1))
                    self._listening.set()
        stream.close()

    def _note_listener(self, line: str) -> None:
        message, address = _LISTENING_RE.search(line), _ANY_ADDRESS_RE.search(line)
        if message and address:
            with self._ports_changed:
                self._ports[message.group(1)] = int(address.group(1))
                self._ports_changed.notify_all()

    def listening_port(self, message: str, timeout: float = 10.0) -> int:
        """The port of the listener that logged `message` (e.g. "GRPC API server listening")."""
        with self._ports_changed:
            self._ports_changed.wait_for(lambda: message in self._ports, timeout)
            port = self._ports.get(message)
        if port is None:
            raise GyreStartError(f"gyre did not log '{message}' within {timeout}s\nlog:\n{self.log_tail()}")
        return port

    def terminate(self, timeout: float = 10.0) -> tuple[Optional[int], bool]:
        """SIGTERM and wait. Returns (exit code, whether SIGKILL was needed)."""
        if self.proc is None:
            return None, False
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            return self.returncode, False
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
            return self.returncode, False
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait(timeout=5)
            return self.returncode, True

    def stop(self) -> None:
        self.terminate()
        for t in self._readers:
            t.join(timeout=2)
        self._dir.cleanup()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- addresses ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    @property
    def api_url(self) -> str:
        # cent appends "/<method>" to this.
        return f"{self.base_url}/api"

    # -- diagnostics -------------------------------------------------------------------

    def log_lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def log_tail(self, n: int = 200) -> str:
        return "\n".join(self.log_lines()[-n:])
