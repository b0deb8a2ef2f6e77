"""Local servers the examples start when they run without a URL: nothing here is needed against a real server.

They use the ``websockets`` library (server side) and ``pproxy``, both in
wsline's ``test`` extra: ``pip install websockets pproxy``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from websockets.sync.server import ServerConnection

# websockets is imported only when a server is started, so that an example given a
# URL runs with wsline alone.


def echo(conn: ServerConnection) -> None:
    """Send every message back as it came (text as text, binary as binary)."""
    from websockets.exceptions import ConnectionClosed

    try:
        for message in conn:
            conn.send(message)
    except ConnectionClosed:
        pass


@contextlib.contextmanager
def running(
    handler: Callable[[ServerConnection], None] = echo, ssl_context: Optional[ssl.SSLContext] = None, **options: Any
) -> Iterator[str]:
    """Run a ``websockets`` server on 127.0.0.1 (an ephemeral port) in a thread; yields its URL.

    With ``ssl_context`` the URL is ``wss://localhost:PORT/`` (the name the certificate is for).
    ``options`` go to ``websockets.sync.server.serve`` (``compression=None`` turns permessage-deflate off).
    """
    from websockets.sync.server import serve

    logger = logging.getLogger("examples.server")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    server = serve(handler, "127.0.0.1", 0, ssl=ssl_context, logger=logger, **options)
    thread = threading.Thread(target=server.serve_forever, name="example-server", daemon=True)
    thread.start()
    port = server.socket.getsockname()[1]
    try:
        yield f"wss://localhost:{port}/" if ssl_context else f"ws://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextlib.contextmanager
def target_url() -> Iterator[str]:
    """The URL given on the command line, or a local echo server started for this run."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with running(compression=None, max_size=None) as url:
        yield url


class Proxy:
    """A running pproxy: its ``port``, and ``tunnels``, the "scheme client -> target" lines it logged."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.port = 0
        self.tunnels: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="pproxy-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # read to the end, so pproxy never blocks on a full pipe
            match = re.search(r"Serving on .*:(\d+) by", line)
            if match:
                self.port = int(match.group(1))
                self._ready.set()
            elif " -> " in line:
                self.tunnels.append(line.strip())
        self._ready.set()

    def close(self) -> None:
        """After the process ended: let the log reader finish, then close the pipe."""
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def wait_ready(self, timeout: float = 15.0) -> None:
        if not self._ready.wait(timeout) or not self.port:
            raise RuntimeError(f"pproxy did not start within {timeout} s (exit status {self.proc.poll()})")


@contextlib.contextmanager
def pproxy(protocols: str = "http+socks5") -> Iterator[Proxy]:
    """Run ``pproxy`` on 127.0.0.1 speaking ``protocols`` (HTTP CONNECT and SOCKS5 by default).

    pproxy picks the port itself (no race for a free one) and logs each tunnel it opens.
    """
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pproxy", "-l", f"{protocols}://127.0.0.1:0", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    proxy = Proxy(proc)
    try:
        proxy.wait_ready()
        yield proxy
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proxy.close()
