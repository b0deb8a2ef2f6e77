"""An echo server for many connections, in its own process (``python _many_server.py``).

A ``websockets`` asyncio server (no compression, no pings of its own) that
raises its soft RLIMIT_NOFILE to the hard limit, prints its port on stdout and
serves until its stdin closes. Used by test_app_many.py, whose own process
must not spend a thread or the GIL on the server side of a thousand sockets.
"""

from __future__ import annotations

import asyncio
import resource
import sys

from websockets.asyncio.server import ServerConnection, serve


async def echo(conn: ServerConnection) -> None:
    async for message in conn:
        await conn.send(message)


async def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async with serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None, backlog=2048) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
