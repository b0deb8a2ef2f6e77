"""A fake kubernetes API server: pod exec, attach and port-forward over the channel protocol.

The client offers ``v5.channel.k8s.io, v4.channel.k8s.io`` (a raw
``sec-websocket-protocol`` header line); the server picks one of ``protocols``.
Every message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr,
3 status (a JSON ``Status``), 4 resize (JSON ``{"Width", "Height"}``) and, in v5,
255 close (``[255, channel]``).

What the "process" does is chosen by the first ``command`` query value:

``burst``  stdout, stderr and the success status in ONE write, then close;
``big``    70,000 bytes of stdout as several frames in one write, then close;
``exit3``  a failure status with exit code 3, then close;
``cat``    echoes stdin on stdout, answers a resize with ``resized WxH``, and
           exits 0 when stdin is closed (v5) or ``EOF`` is written (v4).

Everything the client sent is reported on ``srv.events`` as ``(channel, bytes)``.
Port-forward echoes the data channel of each port after the two initial port frames.
"""

from __future__ import annotations

import json
import struct

from _aioserver import AioServer, raw_frame
from aiohttp import WSMsgType, web

STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
BIG = bytes(range(256)) * 273 + b"end!"  # 70,000 bytes
BIG_STEP = 16 * 1024
SUCCESS = json.dumps({"metadata": {}, "status": "Success"}).encode()


def failure(code: int) -> bytes:
    return json.dumps({
        "metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {code}",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }).encode()


def binary(channel: int, data: bytes) -> bytes:
    return raw_frame(0x2, bytes([channel]) + data)


class KubeServer:
    """The handlers; ``protocols`` is what the server accepts, most preferred first."""

    def __init__(self, protocols: tuple[str, ...] = (V5, V4)) -> None:
        self.protocols = protocols
        self.srv: AioServer | None = None

    def routes(self) -> list[tuple[str, str, object]]:
        pod = "/api/v1/namespaces/{ns}/pods/{name}/"
        return [("GET", pod + "exec", self.process), ("GET", pod + "attach", self.process),
                ("GET", pod + "portforward", self.portforward)]

    async def _accept(self, request: web.Request) -> web.WebSocketResponse:
        assert self.srv is not None
        ws = await self.srv.websocket(request, protocols=self.protocols)
        self.srv.events.put(("request", request.path, list(request.query.items()), ws.ws_protocol))
        return ws

    async def process(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        command = request.query.get("command", "cat")
        write = request.transport.write  # type: ignore[union-attr]
        if command == "burst":
            write(binary(STDOUT, b"out line\n") + binary(STDERR, b"err line\n") + binary(STATUS, SUCCESS))
        elif command == "big":
            chunks = [BIG[i:i + BIG_STEP] for i in range(0, len(BIG), BIG_STEP)]
            write(b"".join(binary(STDOUT, c) for c in chunks) + binary(STATUS, SUCCESS))
        elif command == "exit3":
            write(binary(STDERR, b"boom\n") + binary(STATUS, failure(3)))
        else:
            await self._cat(ws, write)
        await ws.close()
        return ws

    async def _cat(self, ws: web.WebSocketResponse, write: object) -> None:
        assert self.srv is not None
        async for msg in ws:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                break
            data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
            channel, body = data[0], data[1:]
            self.srv.events.put((channel, body))
            if channel == STDIN and body == b"EOF":
                break
            if channel == STDIN:
                await ws.send_bytes(bytes([STDOUT]) + body)
            elif channel == RESIZE:
                size = json.loads(body)
                await ws.send_bytes(bytes([STDOUT]) + f"resized {size['Width']}x{size['Height']}\n".encode())
            elif channel == CLOSE and body == bytes([STDIN]):
                break
        await ws.send_bytes(bytes([STATUS]) + SUCCESS)

    async def portforward(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        ports = [int(p) for p in request.query.get("ports", "").split(",") if p]
        initial = b"".join(binary(2 * i, struct.pack("<H", p)) + binary(2 * i + 1, struct.pack("<H", p))
                           for i, p in enumerate(ports))
        request.transport.write(initial)  # type: ignore[union-attr]
        async for msg in ws:
            if msg.type != WSMsgType.BINARY:
                break
            assert self.srv is not None
            self.srv.events.put((msg.data[0], msg.data[1:]))
            await ws.send_bytes(msg.data[:1] + msg.data[1:].upper())
        return ws
