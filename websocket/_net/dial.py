"""Connecting to a name with several addresses without stalling on a dead one (RFC 8305, "happy eyeballs").

The addresses are tried in an order that alternates the address families
(the family getaddrinfo put first leads). Each attempt is a non-blocking
connect; when it has not succeeded after ``delay`` seconds, the next one
starts while it keeps going, and an attempt that fails starts the next one
at once. The first connection to complete wins; every other attempt is
closed. The whole race runs under the caller's single deadline.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional

from .._exceptions import WebSocketTimeoutException
from .transport import new_socket

__all__ = ["DEFAULT_HAPPY_EYEBALLS_DELAY", "AddrInfo", "interleave", "race", "racer"]

# RFC 8305 section 5 recommends 250 ms as the "Connection Attempt Delay".
DEFAULT_HAPPY_EYEBALLS_DELAY = 0.25

AddrInfo = tuple[Any, Any, int, str, Any]
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, getattr(errno, "WSAEWOULDBLOCK", errno.EWOULDBLOCK)}


def interleave(infos: Sequence[AddrInfo]) -> list[AddrInfo]:
    """``infos`` reordered to alternate address families, each family keeping its own order."""
    by_family: dict[Any, list[AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    queues = list(by_family.values())
    out: list[AddrInfo] = []
    while queues:
        for queue in queues:
            out.append(queue.pop(0))
        queues = [q for q in queues if q]
    return out


def _error(code: int, address: Any) -> OSError:
    """The OSError subclass of ``code`` (ConnectionRefusedError...), naming the address."""
    return OSError(code, f"{os.strerror(code)} (connecting to {address[0]} port {address[1]})")


def _start(info: AddrInfo, sockopt: Sequence[Any]) -> socket.socket:
    family, kind, proto, _, address = info
    sock = new_socket(family, kind, proto)
    try:
        for opt in sockopt:
            sock.setsockopt(*opt)
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code and code not in _IN_PROGRESS:
            raise _error(code, address)
    except BaseException:
        sock.close()
        raise
    return sock


class _Race:
    """The attempts in flight, in one selector; ``run`` returns the winner and closes the rest."""

    def __init__(self, infos: list[AddrInfo], delay: float, sockopt: Sequence[Any]) -> None:
        self.todo = infos
        self.delay = delay
        self.sockopt = sockopt
        self.selector = selectors.DefaultSelector()
        self.errors: list[OSError] = []
        self.next_start = 0.0
        self.timed_out = False

    def launch(self) -> None:
        """Start the next address (a synchronous failure moves on to the one after it)."""
        while self.todo:
            info = self.todo.pop(0)
            try:
                sock = _start(info, self.sockopt)
            except OSError as exc:
                self.errors.append(exc)
                continue
            self.selector.register(sock, selectors.EVENT_WRITE, info)
            self.next_start = time.monotonic() + self.delay
            return

    def run(self, end: Optional[float]) -> Optional[socket.socket]:
        self.launch()
        while self.selector.get_map():
            now = time.monotonic()
            if end is not None and now >= end:
                self.timed_out = True
                return None
            wake = [t for t in (end, self.next_start if self.todo else None) if t is not None]
            ready = self.selector.select(max(0.0, min(wake) - now) if wake else None)
            for key, _ in ready:
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                self.selector.unregister(sock)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code == 0:
                    return sock
                sock.close()
                self.errors.append(_error(code, key.data[4]))
                self.launch()  # a failure starts the next attempt at once
            if self.todo and time.monotonic() >= self.next_start:
                self.launch()
        return None

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()


def race(
    infos: Sequence[AddrInfo], delay: float, end: Optional[float], sockopt: Sequence[Any], what: str
) -> socket.socket:
    """The first of ``infos`` to connect before ``end`` (monotonic, None: no limit), in blocking mode.

    ``sockopt`` is set on every attempt before it connects. Raises
    WebSocketTimeoutException when ``end`` passes, else the last connect error
    once every address failed.
    """
    attempt = _Race(interleave(infos), max(0.0, delay), sockopt)
    try:
        sock = attempt.run(end)
    finally:
        attempt.close()
    if sock is None:
        if attempt.timed_out or not attempt.errors:
            raise WebSocketTimeoutException(f"connecting to {what} timed out")
        raise attempt.errors[-1]
    sock.setblocking(True)
    return sock


def racer(delay: Optional[float]) -> Optional[Callable[[list[Any], Optional[float], list[Any], str], socket.socket]]:
    """What ``_socket.open_tcp`` calls for several addresses: a race with ``delay``, or None (one after the other)."""
    if delay is None:
        return None

    def run(infos: list[Any], end: Optional[float], sockopt: list[Any], what: str) -> socket.socket:
        return race(infos, delay, end, sockopt, what)

    return run
