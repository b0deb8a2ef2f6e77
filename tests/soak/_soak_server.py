"""The soak test's server: a ``websockets`` echo server in its own process.

``python _soak_server.py PORT`` listens on 127.0.0.1:PORT, echoes every
message (permessage-deflate on, as ``websockets`` offers it by default),
prints ``ready`` once listening, and on SIGTERM closes every connection with
1001 (going away) before exiting; SIGKILL is the crash the soak test also
uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def echo(conn: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):  # a restart closes connections mid-echo: expected
        async for message in conn:
            await conn.send(message)


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(echo, "127.0.0.1", port, max_size=2**20, ping_interval=None, close_timeout=2):
        print("ready", flush=True)
        await stop  # leaving the block closes every connection with 1001


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
