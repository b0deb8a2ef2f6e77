"""A local echo server for the examples: a real `websockets` server on an ephemeral port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from websockets.sync.server import ServerConnection, serve


def _echo(conn: ServerConnection) -> None:
    for message in conn:
        conn.send(message)


@contextmanager
def echo_server() -> Iterator[str]:
    """Run an echo server on 127.0.0.1 for the duration of the block; yields its ws:// URL."""
    server = serve(_echo, "127.0.0.1", 0, compression=None, max_size=None)
    thread = threading.Thread(target=server.serve_forever, name="echo-server", daemon=True)
    thread.start()
    try:
        host, port = server.socket.getsockname()[:2]
        yield f"ws://{host}:{port}/"
    finally:
        server.shutdown()
        thread.join(timeout=5)
