"""permessage-deflate on and off: what it negotiates, and what it saves on the wire.

    python examples/compression.py                  # against an embedded echo server that supports compression
    python examples/compression.py wss://host/echo  # against an echo server of yours

wsline offers permessage-deflate by default (``compression="deflate"``);
``compression=None`` offers nothing; ``compression_options`` tunes it. The
same repetitive JSON message is sent over each connection, and ``send``
returns the number of bytes that went on the wire, header included.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import websocket

MESSAGE = json.dumps([{"symbol": "EURUSD", "bid": 1.0832 + i / 10000, "ask": 1.0834 + i / 10000} for i in range(300)])


def measure(url: str, label: str, **options: Any) -> None:
    with websocket.create_connection(url, timeout=10, **options) as ws:
        negotiated = (ws.headers or {}).get("sec-websocket-extensions", "nothing")
        on_wire = ws.send(MESSAGE)
        assert ws.recv() == MESSAGE
        print(f"{label}: negotiated {negotiated!r}")
        print(f"    a {len(MESSAGE):,}-byte message took {on_wire:,} bytes on the wire ({on_wire / len(MESSAGE):.1%})")


@contextlib.contextmanager
def target_url() -> Iterator[str]:
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    from _demo_servers import running

    with running(compression="deflate") as url:  # the websockets server's default
        yield url


def main() -> None:
    with target_url() as url:
        measure(url, "default (compression='deflate')")
        measure(url, "compression=None", compression=None)
        measure(
            url,
            "tuned",
            compression_options={"level": 9, "client_max_window_bits": 10, "server_no_context_takeover": True},
        )


if __name__ == "__main__":
    main()
