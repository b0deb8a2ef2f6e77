"""Real servers with permessage-deflate for the compression tests: aiohttp and Node ``ws``.

(The ``websockets`` one is ``_echo_server.running_echo_server(compression="deflate")``.)

``AiohttpEchoServer`` runs an aiohttp application on its own event loop in a
thread. ``NodeEchoServer`` runs ``node/server.js`` as a child process; it
needs ``node`` and ``node/node_modules`` (installed on first use when npm is there: ``npm ci --prefix
tests/integration/node``), and ``node_skip_reason()`` says what is missing.
Both listen on 127.0.0.1 with an ephemeral port; every wait is bounded and
``stop()`` always reaps what ``start()`` began.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Optional

from aiohttp import WSMsgType, web

NODE_DIR = Path(__file__).resolve().parent / "node"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class AiohttpEchoServer:
    """aiohttp echo server; ``compress`` is WebSocketResponse's (True: accept permessage-deflate)."""

    def __init__(self, *, compress: bool = True) -> None:
        self.compress = compress
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="aiohttp-echo", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> AiohttpEchoServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(START_TIMEOUT)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/echo", self._echo)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        self.port = server.sockets[0].getsockname()[1]

    async def _echo(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=self.compress, max_msg_size=0, autoping=True)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    def stop(self) -> None:
        try:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(STOP_TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_TIMEOUT)
            assert not self._thread.is_alive(), "aiohttp server thread did not stop"
            self._loop.close()


NPM_TIMEOUT = 300


@functools.cache
def _npm_ci() -> Optional[str]:
    """Install the Node server's packages from the lock file once (npm's registry), or say why not."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    try:
        done = subprocess.run([npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--silent"],
                              capture_output=True, text=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"npm ci took over {NPM_TIMEOUT} s"
    return None if done.returncode == 0 else f"npm ci failed: {done.stderr.strip()[-300:]}"


def node_skip_reason() -> Optional[str]:
    """Why the Node server cannot run here, or None if it can (runs `npm ci` when ws is missing)."""
    if shutil.which("node") is None:
        return "node is not installed (the Node ws interop tests need Node.js >= 10)"
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        why = _npm_ci()
        if why is not None or not (NODE_DIR / "node_modules" / "ws").is_dir():
            return f"the ws package is not installed ({why}): run `npm ci --prefix {NODE_DIR}`"
    return None


class NodeEchoServer:
    """``node server.js``: routes /echo, /strict-client, /plain, /bomb?size=N (see server.js)."""

    def __init__(self) -> None:
        self.port = 0
        self._proc: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> NodeEchoServer:
        node = shutil.which("node")
        assert node is not None
        self._proc = subprocess.Popen(
            [node, str(NODE_DIR / "server.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=NODE_DIR,
        )
        line = self._first_line()
        if not line.startswith(b"listening "):
            self.stop()
            raise RuntimeError(f"node server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def _first_line(self) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT)
        return got[0] if got else b""

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()  # server.js exits when its stdin ends
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)
        proc.stdout.close()
