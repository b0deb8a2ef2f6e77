"""Keepalive of one connection: when to ping, and when a silent peer counts as dead.

Pure bookkeeping on an injectable monotonic clock, with no socket, thread or
timer: the event loop asks ``next_deadline()`` when to wake up, and ``due()``
what to do then. Tests drive it with a fake clock, without sleeping.

Liveness: after a ping, *any* bytes received from the server (a pong, a data
frame, a ping, even part of a large message still arriving) prove that the
peer is alive, so a slow link busy with a big message is not mistaken for a
dead one. The round-trip time of the last answered ping is kept in
``latency``.
"""

from __future__ import annotations

import enum
import time
from typing import Callable, Optional

from .._exceptions import WebSocketException

__all__ = ["KeepAlive", "Due", "check_ping_options"]

Clock = Callable[[], float]


class Due(enum.Enum):
    """What the keepalive wants done now."""

    NOTHING = "nothing"
    PING = "ping"  # send a ping, then call ping_sent()
    TIMED_OUT = "timed out"  # the server stayed silent for ping_timeout after a ping


def check_ping_options(ping_interval: Optional[float], ping_timeout: Optional[float]) -> None:
    """Refuse the combinations websocket-client refuses, with its messages."""
    if ping_timeout is not None and ping_timeout <= 0:
        raise WebSocketException("Ensure ping_timeout > 0")
    if ping_interval is not None and ping_interval < 0:
        raise WebSocketException("Ensure ping_interval >= 0")
    if ping_timeout and ping_interval and ping_interval <= ping_timeout:
        raise WebSocketException("Ensure ping_interval > ping_timeout")


class KeepAlive:
    """Ping schedule and pong deadline of one connection.

    ``interval`` seconds between pings (0: no pings); ``timeout`` seconds the
    server may stay silent after a ping (None: never declared dead). Without
    pings there is no deadline either, as in websocket-client.
    """

    def __init__(self, interval: Optional[float] = 0, timeout: Optional[float] = None, clock: Clock = time.monotonic) -> None:
        check_ping_options(interval, timeout)
        self.interval = float(interval or 0)
        self.timeout = float(timeout) if timeout else None
        self.clock = clock
        self.latency: Optional[float] = None
        """Seconds between the last answered ping and its pong (None before the first)."""
        self._next_ping: Optional[float] = None
        self._silent_since: Optional[float] = None  # the first ping not followed by any data
        self._ping_sent_at: Optional[float] = None  # the last ping not yet answered by a pong

    @property
    def enabled(self) -> bool:
        """Whether this keepalive sends pings at all."""
        return self.interval > 0

    def start(self) -> None:
        """A connection opened: the first ping is due one interval from now."""
        self._next_ping = self.clock() + self.interval if self.enabled else None
        self._silent_since = None
        self._ping_sent_at = None

    def stop(self) -> None:
        """The connection ended: nothing is due any more (``latency`` is kept)."""
        self._next_ping = None
        self._silent_since = None
        self._ping_sent_at = None

    def next_deadline(self) -> Optional[float]:
        """The clock time at which ``due()`` will next have something to say, or None."""
        times = [t for t in (self._next_ping, self._expiry()) if t is not None]
        return min(times) if times else None

    def due(self) -> Due:
        """What to do now: declare the peer dead, send a ping, or nothing."""
        now = self.clock()
        expiry = self._expiry()
        if expiry is not None and now >= expiry:
            return Due.TIMED_OUT
        if self._next_ping is not None and now >= self._next_ping:
            return Due.PING
        return Due.NOTHING

    def ping_sent(self) -> None:
        """A ping went out now; the next one is due an interval later."""
        now = self.clock()
        if self.enabled:
            self._next_ping = now + self.interval
        if self._silent_since is None:
            self._silent_since = now
        self._ping_sent_at = now

    def ping_skipped(self) -> None:
        """A ping was due but could not go out (the server is not reading): the silence deadline starts anyway."""
        now = self.clock()
        if self.enabled:
            self._next_ping = now + self.interval
        if self._silent_since is None:
            self._silent_since = now

    def data_received(self) -> None:
        """Bytes arrived from the server: it is alive."""
        self._silent_since = None

    def pong_received(self) -> None:
        """A pong arrived: the peer is alive, and the last ping's round trip is measured."""
        if self._ping_sent_at is not None:
            self.latency = self.clock() - self._ping_sent_at
            self._ping_sent_at = None
        self._silent_since = None

    def _expiry(self) -> Optional[float]:
        if self._silent_since is None or self.timeout is None:
            return None
        return self._silent_since + self.timeout
