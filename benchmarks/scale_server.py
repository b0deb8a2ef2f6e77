"""The server of the scale benchmark: many idle WebSocket connections, broadcasts and floods on command.

Standard library only (asyncio, one process, one thread), so it runs under any
interpreter and costs as little as a Python server can: frames are built once
per command and written with ``transport.write``. It accepts WebSocket
connections on one port (no extensions), answers pings and close frames, and
takes JSON-line commands on a second port:

``{"cmd": "count"}``                     -> ``{"open": n}``
``{"cmd": "broadcast", "size": 100}``    one text message to every connection; its payload starts
                                          with the server's ``time.monotonic_ns()`` before the round
                                          -> ``{"write_ms": ...}`` (the time the round took to write)
``{"cmd": "flood", "per_conn": k, "size": s}`` k messages to every connection -> ``{"write_ms": ...}``
``{"cmd": "cpu"}``                       -> ``{"cpu": user + system seconds of this process}``

Started by ``scale.py``: prints ``{"port": ..., "control": ...}`` on stdout once listening.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import sys
import time

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def raise_nofile() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: the benchmark holds thousands of sockets."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked server frame."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


class WsConn(asyncio.Protocol):
    """One client connection: the opening handshake, then pings and close frames answered."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.conns.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end], self.buf[end + 4 :]
            self._handshake(head)
        self._frames()

    def _handshake(self, head: bytes) -> None:
        key = b""
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.open = True
        self.server.conns.add(self)

    def _frames(self) -> None:
        buf = self.buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, pos = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, pos = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
            mask_end = pos + (4 if b1 & 0x80 else 0)
            if len(buf) < mask_end + n:
                break
            payload = bytes(buf[mask_end : mask_end + n])
            if b1 & 0x80:
                mask = buf[pos:mask_end]
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n <= 125 else payload
            buf = buf[mask_end + n :]
            self._control(b0 & 0x0F, payload)
        self.buf = buf

    def _control(self, opcode: int, payload: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        if opcode == 0x9:
            transport.write(frame(0xA, payload))
        elif opcode == 0x8:
            transport.write(frame(0x8, payload[:2]))
            transport.close()


class Server:
    """The connections and the command handler."""

    def __init__(self) -> None:
        self.conns: set[WsConn] = set()

    def command(self, request: dict[str, object]) -> dict[str, object]:
        cmd = request.get("cmd")
        if cmd == "count":
            return {"open": len(self.conns)}
        if cmd == "cpu":
            times = os.times()
            return {"cpu": times.user + times.system}
        if cmd == "broadcast":
            size = int(request.get("size", 100))  # type: ignore[call-overload]
            start = time.monotonic_ns()
            payload = b"%019d" % start
            data = frame(0x1, payload + b"x" * max(0, size - len(payload)))
            return {"write_ms": self._write_all(data, start)}
        if cmd == "flood":
            size = int(request.get("size", 100))  # type: ignore[call-overload]
            per_conn = int(request.get("per_conn", 100))  # type: ignore[call-overload]
            data = frame(0x1, b"z" * size) * per_conn
            return {"write_ms": self._write_all(data, time.monotonic_ns())}
        return {"error": f"unknown command {cmd!r}"}

    def _write_all(self, data: bytes, start: int) -> float:
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.write(data)
        return (time.monotonic_ns() - start) / 1e6

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(json.dumps(self.command(json.loads(line))).encode() + b"\n")
            await writer.drain()
        writer.close()


async def main() -> None:
    raise_nofile()
    server = Server()
    loop = asyncio.get_running_loop()
    ws = await loop.create_server(lambda: WsConn(server), "127.0.0.1", 0, backlog=4096)
    ctl = await asyncio.start_server(server.control, "127.0.0.1", 0)
    ports = {"port": ws.sockets[0].getsockname()[1], "control": ctl.sockets[0].getsockname()[1]}
    sys.stdout.write(json.dumps(ports) + "\n")
    sys.stdout.flush()
    # Runs until stdin closes (the benchmark ends or dies).
    await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
