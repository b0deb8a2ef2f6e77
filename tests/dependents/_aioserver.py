"""An aiohttp server in a background thread, for the fake daemons of the dependents lane.

Each fake (kubernetes API server, docker daemon, Slack API, a streaming site) is an
``aiohttp.web.Application`` whose handlers speak plain HTTP and WebSocket on one
127.0.0.1 port. ``AioServer`` runs it on an ephemeral port in its own thread and event
loop; ``stop()`` closes every open WebSocket and the listener, with bounded waits.

``raw_frame`` builds unmasked server frames, so a handler can put several of them
in ONE transport write (``request.transport.write``): the "burst" a client must
deliver in full even when all of it arrives in a single TCP read.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import struct
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
WAIT = 10.0  # the default bound on every wait a test makes

Handler = Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]


def raw_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One unmasked server-to-client frame."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", first, size)
    elif size < 65536:
        head = struct.pack("!BBH", first, 126, size)
    else:
        head = struct.pack("!BBQ", first, 127, size)
    return head + payload


class AioServer:
    """Run ``routes`` (``(method, path, handler)``) on 127.0.0.1 in a thread."""

    def __init__(self, routes: list[tuple[str, str, Handler]]) -> None:
        self.app = web.Application()
        for method, path, handler in routes:
            self.app.router.add_route(method, path, handler)
        self.events: queue.Queue[Any] = queue.Queue()  # what handlers saw, for the test thread
        self.sockets: set[web.WebSocketResponse] = set()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="aioserver", daemon=True)

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> AioServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(START_TIMEOUT)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def websocket(self, request: web.Request, **options: Any) -> web.WebSocketResponse:
        """Accept a WebSocket on ``request``; ``stop()`` will close it."""
        ws = web.WebSocketResponse(**options)
        await ws.prepare(request)
        self.sockets.add(ws)
        return ws

    def next_event(self, timeout: float = WAIT) -> Any:
        """The next thing a handler reported (``queue.Empty`` after ``timeout``)."""
        return self.events.get(timeout=timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(STOP_TIMEOUT)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    async def _stop(self) -> None:
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001), 2.0)
        if self._runner is not None:
            await self._runner.cleanup()
