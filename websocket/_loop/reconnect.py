"""When ``WebSocketApp.run_forever`` reconnects, and after how long.

Two separate questions, two separate places:

* *whether* to try again is one rule, ``should_reconnect(close_status_code,
  error)``, which ``WebSocketApp.should_reconnect`` calls; override that method
  (or assign ``app.should_reconnect``) to change it;
* *how long* to wait is the ``reconnect`` argument of ``run_forever``: a
  number of seconds (websocket-client's fixed delay), or a ``Backoff`` for
  capped exponential backoff with jitter, which also spreads the clients of a
  restarting server (close codes 1012 and 1013) over a random 5-30 s window so
  a fleet does not come back in lockstep.

``app.close()``, KeyboardInterrupt and SystemExit always end the run; the rule
is not asked.
"""

from __future__ import annotations

import random
from typing import Any, Optional, Protocol, Union

__all__ = ["should_reconnect", "RECONNECT_CLOSE_CODES", "Backoff", "ReconnectPolicy", "FixedDelay", "reconnect_policy"]

RECONNECT_CLOSE_CODES = frozenset({1001, 1011, 1012, 1013, 1014})
"""Close codes that announce a temporary condition: going away, internal error,
service restart, try again later, bad gateway."""

_RESTART_CODES = frozenset({1012, 1013})


def should_reconnect(close_status_code: Optional[int], error: Optional[BaseException]) -> bool:
    """The default rule: may ``run_forever`` try again after this end of a connection?

    ``close_status_code`` is the code of the server's close frame (1005 when
    the frame had none), or None when the connection ended without one;
    ``error`` is what ``on_error`` received (for a close frame, the
    WebSocketConnectionClosedException describing it).

    * A close frame with a code from ``RECONNECT_CLOSE_CODES`` (1001, 1011,
      1012, 1013, 1014) reconnects; any other close frame (1000, 1005, an
      application code 3000-4999, or a complaint about this client such as
      1002, 1003, 1007, 1008, 1009, 1010) is a deliberate end: no reconnect.
    * Without a close frame (reset, EOF, ping timeout, failed connect or
      handshake) it reconnects, except after a ValueError or TypeError (a bad
      URL or option, which no retry can fix).
    """
    if close_status_code is not None:
        return close_status_code in RECONNECT_CLOSE_CODES
    return not isinstance(error, (ValueError, TypeError))


class ReconnectPolicy(Protocol):
    """How long to wait before attempt number ``attempt`` (1 for the first retry); None: give up."""

    def delay(self, attempt: int, close_status_code: Optional[int]) -> Optional[float]: ...


class FixedDelay:
    """websocket-client's behaviour: the same delay before every attempt, forever."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.reset_after = 0.0

    def delay(self, attempt: int, close_status_code: Optional[int]) -> Optional[float]:
        """Always ``seconds``."""
        return self.seconds

    def __repr__(self) -> str:
        return f"FixedDelay({self.seconds!r})"


class Backoff:
    """Capped exponential backoff with jitter: ``run_forever(reconnect=websocket.Backoff())``.

    Attempt ``n`` (counted since the last connection that stayed up for
    ``reset_after`` seconds) waits ``min(maximum, initial * factor ** (n - 1))``
    seconds, reduced by a random fraction of up to ``jitter`` (0.5: between 50%
    and 100% of that). After a close with 1012 (service restart) or 1013 (try
    again later) the wait is at least a random value in ``restart_delay``
    (5 to 30 s). With ``max_attempts``, the run ends after that many failed
    attempts in a row. ``rng`` (a ``random.Random``) makes the delays
    reproducible in tests.
    """

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 60.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        max_attempts: Optional[int] = None,
        restart_delay: tuple[float, float] = (5.0, 30.0),
        reset_after: float = 10.0,
        rng: Optional[random.Random] = None,
    ) -> None:
        if initial < 0 or maximum < initial or factor < 1:
            raise ValueError("Backoff needs 0 <= initial <= maximum and factor >= 1")
        if not 0 <= jitter <= 1:
            raise ValueError("Backoff jitter must be between 0 and 1")
        if restart_delay[0] < 0 or restart_delay[1] < restart_delay[0]:
            raise ValueError("Backoff restart_delay must be (low, high) with 0 <= low <= high")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.max_attempts = max_attempts
        self.restart_delay = restart_delay
        self.reset_after = reset_after
        self.rng = rng or random.Random()

    def delay(self, attempt: int, close_status_code: Optional[int]) -> Optional[float]:
        """Seconds to wait before attempt ``attempt`` (1-based), or None to give up."""
        if self.max_attempts is not None and attempt > self.max_attempts:
            return None
        nominal = self._nominal(max(attempt - 1, 0))
        wait = nominal * (1.0 - self.jitter * self.rng.random())
        if close_status_code in _RESTART_CODES:
            wait = max(wait, self.rng.uniform(*self.restart_delay))
        return wait

    def _nominal(self, exponent: int) -> float:
        try:
            return min(self.maximum, self.initial * self.factor**exponent)
        except OverflowError:  # after a very long outage: the cap has long been reached
            return self.maximum

    def __repr__(self) -> str:
        return (
            f"Backoff(initial={self.initial!r}, maximum={self.maximum!r}, factor={self.factor!r}, "
            f"jitter={self.jitter!r}, max_attempts={self.max_attempts!r})"
        )


def reconnect_policy(reconnect: Union[float, ReconnectPolicy, Any, None]) -> Optional[ReconnectPolicy]:
    """Turn ``run_forever``'s ``reconnect`` into a policy: 0/None/False -> no reconnect, seconds -> fixed delay."""
    if reconnect is None or reconnect is False:
        return None
    if hasattr(reconnect, "delay"):
        return reconnect
    seconds = float(reconnect)
    if seconds < 0:
        raise ValueError(f"reconnect must be >= 0 seconds, not {reconnect!r}")
    return FixedDelay(seconds) if seconds else None
