"""Python heap per connection with permessage-deflate: idle, after one received message, after messages both ways.

Opens ``--n`` connections with ``websocket.create_connection`` to a ``websockets``
echo server in its own process (default compression: permessage-deflate with
12-bit windows, as websockets negotiates it), under tracemalloc, and prints
the heap per connection at three points, in KiB. Run by the Python of the
environment to measure (websockets must be importable there, for the server):

    python benchmarks/scale_deflate.py [--n 200]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tracemalloc

SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve
async def echo(conn):
    async for message in conn:
        await conn.send(message)
async def main():
    async with serve(echo, "127.0.0.1", 0) as server:
        print(next(iter(server.sockets)).getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""

MESSAGE = json.dumps({"id": 1, "items": [{"name": f"item {i}", "price": i * 1.5, "tags": ["a", "b"]} for i in range(16)]})


def heap() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    import websocket

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"ws://127.0.0.1:{int(server.stdout.readline())}/"
        websocket.create_connection(url).close()  # imports and caches out of the count
        tracemalloc.start()
        base = heap()
        conns = [websocket.create_connection(url) for _ in range(args.n)]
        idle = heap()
        extensions = conns[0].getheaders().get("sec-websocket-extensions", "")  # type: ignore[union-attr]
        for conn in conns:  # the server sends one compressed message to each (an echo)
            conn.send(MESSAGE)
            conn.recv()
        both = heap()
        for conn in conns:
            for _ in range(3):
                conn.send(MESSAGE)
                conn.recv()
        more = heap()
        n = args.n
        print(json.dumps({
            "version": getattr(websocket, "__version__", "?"),
            "extensions": extensions,
            "idle_kib": round((idle - base) / n / 1024, 1),
            "after_one_exchange_kib": round((both - base) / n / 1024, 1),
            "after_four_exchanges_kib": round((more - base) / n / 1024, 1),
        }))
        for conn in conns:
            conn.close()
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
