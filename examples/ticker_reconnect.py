"""A long-running ticker client that survives server restarts, drops and silence.

    python examples/ticker_reconnect.py                 # against an embedded, flaky local ticker
    python examples/ticker_reconnect.py wss://host/feed  # against a server of yours (runs 30 s)

The embedded server sends a price tick every 50 ms and misbehaves on purpose:
it restarts (close code 1012), drops connections without a close frame, and
goes silent. The client reconnects with capped exponential backoff and
jitter, resubscribes in ``on_reconnect``, and notices the silent server
through its keepalive (``ping_interval``/``ping_timeout``). It stops by itself
after 60 ticks.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import random
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator

import websocket

TICKS_WANTED = 60
RUN_SECONDS_AGAINST_A_REAL_SERVER = 30


def _upgrade(conn: socket.socket) -> None:
    """Read the client's opening handshake and accept it (RFC 6455 section 4.2.2)."""
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("client left during the handshake")
        request += chunk
    key = next(
        line.split(b":", 1)[1].strip() for line in request.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def _frame(opcode: int, payload: bytes) -> bytes:
    return bytes([0x80 | opcode, len(payload)]) + payload  # unmasked, short payloads only


def _serve_ticks(conn: socket.socket, how: str, prices: Iterator[int]) -> None:
    with conn:
        _upgrade(conn)
        for _ in range(random.randint(8, 16)):
            conn.sendall(_frame(0x1, f"tick {next(prices)}".encode()))
            time.sleep(0.05)
        if how == "restart":
            conn.sendall(_frame(0x8, struct.pack("!H", 1012) + b"service restart"))
            time.sleep(0.2)  # the client answers and closes; then we close
        elif how == "silent":
            time.sleep(3)  # the TCP connection stays up, but nothing is read or written: a dead host
        # "drop": close at once, without a close frame (a crash)


@contextlib.contextmanager
def flaky_ticker() -> Iterator[str]:
    """A local ticker server (raw sockets) that restarts, drops and goes silent in turn; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stopping = threading.Event()
    misbehaviours = itertools.cycle(["restart", "drop", "silent"])
    prices = itertools.count(100)

    def accept_loop() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:  # TimeoutError only from Python 3.10 on
                continue
            except OSError:
                return
            conn.settimeout(5)
            worker = threading.Thread(target=_serve_ticks, args=(conn, next(misbehaviours), prices), daemon=True)
            worker.start()

    thread = threading.Thread(target=accept_loop, name="ticker-server", daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{listener.getsockname()[1]}/feed"
    finally:
        stopping.set()
        thread.join(timeout=5)
        listener.close()


@contextlib.contextmanager
def target_url() -> Iterator[tuple[str, bool]]:
    if len(sys.argv) > 1:
        yield sys.argv[1], False
        return
    with flaky_ticker() as url:
        yield url, True


def main() -> None:
    with target_url() as (url, local):
        ticks: list[str] = []
        started = time.monotonic()

        def on_open(ws: websocket.WebSocketApp) -> None:
            print(f"[{time.monotonic() - started:5.2f}s] connected to {url}")

        def on_reconnect(ws: websocket.WebSocketApp) -> None:
            rtt = "" if ws.latency is None else f" (last ping round trip {ws.latency * 1000:.1f} ms)"
            print(f"[{time.monotonic() - started:5.2f}s] reconnected{rtt}")

        def on_message(ws: websocket.WebSocketApp, message: str) -> None:
            ticks.append(message)
            print(f"[{time.monotonic() - started:5.2f}s] {message}")
            if local and len(ticks) >= TICKS_WANTED:
                ws.close()

        def on_error(ws: websocket.WebSocketApp, error: Exception) -> None:
            print(f"[{time.monotonic() - started:5.2f}s] lost: {error!r}")

        def on_close(ws: websocket.WebSocketApp, code: int | None, reason: str | None) -> None:
            print(f"[{time.monotonic() - started:5.2f}s] closed ({code}, {reason!r})")

        app = websocket.WebSocketApp(
            url, on_open=on_open, on_reconnect=on_reconnect, on_message=on_message, on_error=on_error, on_close=on_close
        )
        stop = threading.Timer(RUN_SECONDS_AGAINST_A_REAL_SERVER if not local else 55, app.close)
        stop.start()
        try:
            app.run_forever(
                ping_interval=1.0,
                ping_timeout=0.5,
                reconnect=websocket.Backoff(initial=0.1, maximum=2.0, restart_delay=(0.2, 0.5)),
                timeout=10,  # bounds the connect and the opening handshake of every attempt
            )
        finally:
            stop.cancel()
        print(f"received {len(ticks)} ticks in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
