"""A deliberately minimal blocking WebSocket client (RFC 6455) over a plain socket.

Only the slow-consumer scenario uses it: an official SDK always reads its socket, so it can
never become a slow reader. Here the test controls reading completely, and the receive
buffer is shrunk before connecting (loopback autotuning would otherwise absorb tens of MiB,
see reliability.md 1.5).
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
from typing import Optional

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class RawWebSocket:
    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        *,
        rcvbuf: Optional[int] = None,
        timeout: float = 10.0,
        headers: Optional[dict[str, str]] = None,
    ):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Must happen before connect: the window scale is negotiated in the handshake.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self._buf = b""
        self._handshake(host, port, path, headers or {})

    def _handshake(self, host: str, port: int, path: str, extra: dict[str, str]) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            # Extra upgrade headers (the proxy scenarios check which ones reach the backend).
            + "".join(f"{name}: {value}\r\n" for name, value in extra.items())
            + "\r\n"
        )
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self._buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed during handshake: {self._buf!r}")
            self._buf += chunk
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise ConnectionError(f"upgrade refused: {head!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise ConnectionError(f"bad Sec-WebSocket-Accept in {head!r}")

    # -- writing (client frames are always masked) ---------------------------------------

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode("utf-8"))

    def send_close(self, code: int = 1000) -> None:
        try:
            self._send_frame(OP_CLOSE, struct.pack("!H", code))
        except OSError:
            pass

    # -- reading -----------------------------------------------------------------------

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise EOFError(f"connection closed by peer with {len(self._buf)}/{n} bytes of a frame read")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv_frame(self) -> tuple[int, bool, bytes]:
        b0, b1 = self._read_exact(2)
        fin, opcode = bool(b0 & 0x80), b0 & 0x0F
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read_exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read_exact(8))
        mask = self._read_exact(4) if b1 & 0x80 else None
        payload = self._read_exact(n)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return opcode, fin, payload

    def recv_message(self) -> tuple[int, bytes]:
        """Next data message (reassembled) or close frame; answers pings."""
        opcode, fin, payload = self.recv_frame()
        while True:
            if opcode == OP_PING:
                self._send_frame(OP_PONG, payload)
            elif opcode == OP_PONG:
                pass
            elif opcode == OP_CLOSE:
                return OP_CLOSE, payload
            else:
                parts = [payload]
                first = opcode
                while not fin:
                    opcode, fin, payload = self.recv_frame()
                    if opcode in (OP_PING, OP_PONG):
                        if opcode == OP_PING:
                            self._send_frame(OP_PONG, payload)
                        continue
                    parts.append(payload)
                return first, b"".join(parts)
            opcode, fin, payload = self.recv_frame()

    @staticmethod
    def parse_close(payload: bytes) -> tuple[Optional[int], str]:
        if len(payload) < 2:
            return None, ""
        (code,) = struct.unpack("!H", payload[:2])
        return code, payload[2:].decode("utf-8", "replace")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
