"""Helpers for the hostile-server tests (tests/integration/test_hostile_*.py).

What every hostile test checks, whatever the scenario: the error is a
``WebSocketException`` (or an ``OSError`` for a network fault) with a message,
the client let go of its socket, no descriptor stayed open, and memory stayed
within a bound. The servers are ``RawConn`` scripts (``_raw_server.py``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

from _raw_server import ClientEOF, RawConn

import websocket

MIB = 1024 * 1024
# Exceptions that must never reach a caller (issue 7's contract).
FORBIDDEN = (struct.error, IndexError, KeyError, UnicodeError, AttributeError, TypeError, AssertionError)


def open_fds() -> int:
    """Descriptors open in this process (Linux /proc)."""
    return len(os.listdir("/proc/self/fd"))


def check_error(exc: BaseException) -> None:
    """The error a caller sees is a documented one, and says what went wrong."""
    assert not isinstance(exc, FORBIDDEN) or isinstance(exc, websocket.WebSocketException), repr(exc)
    assert isinstance(exc, (websocket.WebSocketException, OSError)), f"undocumented exception {exc!r}"
    assert str(exc), f"{type(exc).__name__} without a message"


def socket_released(ws: Any) -> bool:
    """The client holds no open socket any more."""
    sock = ws.sock
    return sock is None or sock.fileno() == -1


def reset(conn: RawConn) -> None:
    """Abort with a TCP RST (SO_LINGER 0): what a crashed server or a middlebox does."""
    conn.closed = True
    with contextlib.suppress(OSError):
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        conn.sock.close()


def stream_until_client_leaves(conn: RawConn, chunk: bytes, seconds: float, *, read: bool = True) -> int:
    """Send ``chunk`` again and again until the client closes or goes away, or ``seconds`` pass.

    With ``read``, the client's frames are read between chunks (and recorded
    in ``conn.frames``), so its close frame is seen; without, the server never
    reads, as one that stopped reading. Returns the bytes sent.
    """
    sent = 0
    deadline = time.monotonic() + seconds
    with contextlib.suppress(OSError, ClientEOF):
        while time.monotonic() < deadline and conn.client_close is None and not conn.eof:
            # Patient writes: when the client stops reading, its own timeout must end things first.
            conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
            conn.sock.sendall(chunk)
            sent += len(chunk)
            with contextlib.suppress(TimeoutError):
                while read and conn.read_frame(timeout=0.0005) is not None and conn.client_close is None:
                    pass
    return sent


@contextlib.contextmanager
def traced_peak() -> Iterator[list[int]]:
    """``with traced_peak() as peak:`` then ``peak[0]`` is the tracemalloc peak (bytes) inside the block."""
    result = [0]
    gc.collect()
    tracemalloc.start()
    try:
        yield result
    finally:
        result[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def expect_failure(call: Callable[[], Any], within: float) -> BaseException:
    """Run ``call``; it must raise a documented error within ``within`` seconds. Returns the error."""
    started = time.monotonic()
    try:
        result = call()
    except BaseException as exc:  # judged below
        elapsed = time.monotonic() - started
        check_error(exc)
        assert elapsed < within, f"{type(exc).__name__} after {elapsed:.2f}s (bound {within}s)"
        return exc
    raise AssertionError(f"expected a failure, got {result!r}")


def settle(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def thread_names() -> list[str]:
    return sorted(t.name for t in threading.enumerate())
