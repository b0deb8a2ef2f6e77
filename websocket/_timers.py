"""Every timer the library sets on one dispatcher, behind ONE timer of that dispatcher.

Thousands of connections on one loop each want a keepalive tick, a closing
deadline now and then, a "come back soon" after a busy slice. Registered one
by one, they cost the dispatcher on every turn: rel walks all of its timers
each time it wakes (every 0.6 ms while it watches sockets). ``TimerQueue``
keeps them in its own heap and asks the dispatcher for one timer only, at the
earliest deadline (rounded up to ``GRID``, or ``FAR_GRID`` a second or more
ahead, so deadlines close together share a wake-up; nothing ever fires early). ``queue_for(dispatcher)`` hands every app
on the same dispatcher object the same queue.

A cancelled entry stays in the heap until it comes up (the heap is not
searched); when no live entry is left, the dispatcher's timer is removed too,
so a loop reset between uses (``rel.init()``) finds nothing of ours armed.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
import weakref
from typing import Any, Callable, Optional

from ._logging import _logger

__all__ = ["TimerQueue", "TimerEntry", "queue_for", "GRID", "FAR_GRID"]

GRID = 0.005
"""Seconds: the dispatcher's timer is set to a multiple of this, so near deadlines share one wake-up."""
FAR_GRID = 0.05
"""The same for deadlines a second or more away (keepalive pings): 10,000 of them make 20 wake-ups a second, not 300."""

# A dispatcher timer this far overdue was dropped by its loop (reset, aborted): set a new one.
_LOST_AFTER = 1.0

_queues: weakref.WeakKeyDictionary[Any, TimerQueue] = weakref.WeakKeyDictionary()
_queues_lock = threading.Lock()


class TimerEntry:
    """One timer in a ``TimerQueue``; ``delete()`` or ``cancel()`` cancels it."""

    __slots__ = ("at", "delay", "callback", "args", "queue", "repeat")

    def __init__(
        self, queue: TimerQueue, at: float, delay: float, callback: Callable[..., Any], args: tuple[Any, ...], repeat: bool = True
    ) -> None:
        self.queue: Optional[TimerQueue] = queue
        self.at = at
        self.delay = delay
        self.callback: Optional[Callable[..., Any]] = callback
        self.args = args
        self.repeat = repeat

    def pending(self) -> bool:
        """Whether it has still to fire."""
        return self.callback is not None

    def delete(self) -> None:
        """Cancel: the callback is dropped at once (nothing stays alive through the heap)."""
        queue = self.queue
        if queue is not None and self.callback is not None:
            queue._cancel(self)

    def cancel(self) -> bool:
        """``delete()``, under the name of the loop's registrations: always possible, so True."""
        self.delete()
        return True


class TimerQueue:
    """A heap of timers on top of one timer of ``dispatcher`` (anything with rel's ``timeout``)."""

    def __init__(self, dispatcher: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = dispatcher.timeout
        self._clock = clock
        self._heap: list[tuple[float, int, TimerEntry]] = []
        self._seq = itertools.count()
        self._live = 0
        self._lock = threading.RLock()
        self._armed: Any = None  # the dispatcher's registration
        self._armed_at: Optional[float] = None
        self._token = 0  # tells the armed registration from superseded ones (dispatchers without delete)
        self._firing = False

    def __len__(self) -> int:
        return self._live

    def add(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerEntry:
        """Call ``callback(*args)`` after ``delay`` seconds; again after as long while it returns a true value."""
        return self._add(delay, callback, args, True)

    def call_once(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerEntry:
        """Call ``callback(*args)`` once after ``delay`` seconds, whatever it returns."""
        return self._add(delay, callback, args, False)

    def _add(self, delay: float, callback: Callable[..., Any], args: tuple[Any, ...], repeat: bool) -> TimerEntry:
        delay = max(0.0, float(delay))
        with self._lock:
            entry = TimerEntry(self, self._clock() + delay, delay, callback, args, repeat)
            self._push(entry)
            if not self._firing:
                self._arm()
        return entry

    def _push(self, entry: TimerEntry) -> None:
        heapq.heappush(self._heap, (entry.at, next(self._seq), entry))
        self._live += 1

    def _cancel(self, entry: TimerEntry) -> None:
        with self._lock:
            if entry.callback is None:
                return
            entry.callback, entry.args, entry.queue = None, (), None
            self._live -= 1
            if self._live == 0:
                self._heap.clear()
                self._disarm()

    def _head(self) -> Optional[float]:
        """The earliest live deadline (lock held), dropping cancelled entries on the way."""
        heap = self._heap
        while heap and heap[0][2].callback is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _arm(self) -> None:
        """Make the dispatcher's one timer due at the head's deadline, or none (lock held)."""
        head = self._head()
        if head is None:
            self._disarm()
            return
        now = self._clock()
        grid = FAR_GRID if head - now >= 1.0 else GRID
        at = math.ceil(head / grid) * grid
        armed_at = self._armed_at
        if armed_at is not None and armed_at <= at and now < armed_at + _LOST_AFTER:
            return  # the armed timer comes first; it re-arms when it fires
        self._disarm()
        self._token += 1
        self._armed_at = at
        self._armed = self._timeout(max(0.0, at - now), self._fire, self._token)

    def _disarm(self) -> None:
        armed, self._armed, self._armed_at = self._armed, None, None
        self._token += 1
        delete = getattr(armed, "delete", None)
        if callable(delete):
            try:
                delete()
            except Exception as exc:  # a dispatcher's cleanup must not break ours
                _logger.debug("dispatcher could not delete a timer: %r", exc)

    def _fire(self, token: int) -> bool:
        """The dispatcher's timer: run every entry that is due, then arm for the next one."""
        with self._lock:
            if token != self._token:
                return False  # superseded, on a dispatcher that could not delete it
            self._armed = self._armed_at = None
            self._firing = True
            now = self._clock()
            newer = next(self._seq)  # what the callbacks add from now on waits for the next turn of the loop
        try:
            while True:
                entry = self._take_due(now, newer)
                if entry is None:
                    break
                self._run(entry)
        finally:
            with self._lock:
                self._firing = False
                self._arm()
        return False

    def _take_due(self, now: float, newer: int) -> Optional[TimerEntry]:
        with self._lock:
            head = self._head()
            if head is None or head > now or self._heap[0][1] > newer:
                return None
            entry = heapq.heappop(self._heap)[2]
            self._live -= 1
            return entry

    def _run(self, entry: TimerEntry) -> None:
        callback, args = entry.callback, entry.args
        entry.callback, entry.args = None, ()
        if callback is None:
            return
        try:
            again = callback(*args)
        except Exception:  # one timer's failure must not stop the others
            _logger.exception("error in a timer callback")
            return
        if again and entry.repeat:
            with self._lock:
                entry.callback, entry.args = callback, args
                entry.at = self._clock() + entry.delay
                self._push(entry)


def queue_for(dispatcher: Any) -> TimerQueue:
    """The ``TimerQueue`` of ``dispatcher``, shared by everything scheduled on it (a new one if it cannot be shared)."""
    with _queues_lock:
        try:
            queue = _queues.get(dispatcher)
        except TypeError:  # neither hashable nor weakly referable: a queue of its own
            return TimerQueue(dispatcher)
        if queue is None:
            queue = TimerQueue(dispatcher)
            try:
                _queues[dispatcher] = queue
            except TypeError:
                pass
        return queue
