"""A ``websockets`` server to run inside a test namespace: ``python _ns_server.py HOST PORT``.

Prints ``READY`` once it listens. Routes (query strings tune them):

``/echo``     echo every message
``/count``    ``every=0.05&size=1000``: numbered text messages, one every ``every``
              seconds, numbered across connections (so a reconnect continues the
              count), each ``numbered(n, size)``; echoes what it receives
``/big``      ``size=N``: one binary message of ``blob(N)``, then echo

No compression (a compressible message would not test a slow link) and no
server pings (the client's keepalive is what is tested).
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

_counter = itertools.count()
_counter_lock = threading.Lock()


def numbered(n: int, size: int) -> str:
    """Message ``n`` of /count: its number, then a body derived from it (corruption shows)."""
    head = f"{n:08d}:"
    return head + (str(n) * (size // max(1, len(str(n))) + 1))[: max(0, size - len(head))]


def blob(size: int) -> bytes:
    """The /big message: incompressible and reproducible."""
    return random.Random(size).randbytes(size)


def _echo(ws: ServerConnection) -> None:
    for message in ws:
        ws.send(message)


def _count(ws: ServerConnection, every: float, size: int) -> None:
    def drain() -> None:
        try:
            for message in ws:
                ws.send(message)
        except ConnectionClosed:
            pass

    threading.Thread(target=drain, daemon=True).start()
    while True:
        with _counter_lock:
            n = next(_counter)
        ws.send(numbered(n, size))
        time.sleep(every)


def handler(ws: ServerConnection) -> None:
    assert ws.request is not None
    url = urlsplit(ws.request.path)
    query = dict(parse_qsl(url.query))
    try:
        if url.path == "/count":
            _count(ws, float(query.get("every", "0.05")), int(query.get("size", "1000")))
        elif url.path == "/big":
            ws.send(blob(int(query["size"])))
            _echo(ws)
        else:
            _echo(ws)
    except ConnectionClosed:
        pass


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    with serve(handler, host, port, compression=None, ping_interval=None, max_size=None) as server:
        print("READY", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
