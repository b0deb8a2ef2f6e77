"""A WebSocket echo server for inside a test namespace: ``python _dualstack_server.py HOST [HOST...]``.

Listens on every HOST on one port (the kernel picks it for the first HOST),
prints ``ready PORT`` and serves until it is terminated.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


def _echo(conn: ServerConnection) -> None:
    try:
        for message in conn:
            conn.send(message)
    except ConnectionClosed:
        pass


def main(hosts: list[str]) -> None:
    port = 0
    servers = []
    for host in hosts:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
        port = listener.getsockname()[1]
        servers.append(serve(_echo, sock=listener, compression=None))
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    print(f"ready {port}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main(sys.argv[1:])
