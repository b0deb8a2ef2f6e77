"""The event loops that drive ``WebSocketApp``.

``Dispatcher`` is the interface websocket-client expects of ``run_forever(dispatcher=...)``
(the ``rel`` module offers it): ``read(sock, callback)`` calls ``callback()``
whenever ``sock`` is readable and drops the registration once it returns a
false value; ``timeout(seconds, callback, *args)`` calls ``callback(*args)``
once after ``seconds`` (again after the same delay while it returns a true
value); ``signal(sig, callback)``, ``abort()`` and ``dispatch()`` as in rel.
When ``read`` and ``timeout`` return an object with a ``delete()`` method (rel
does), registrations are removed as soon as they are no longer needed;
otherwise they are left to expire, harmlessly.

``buffwrite`` is not used: every frame is written at once, under the
connection's lock and in the order the protocol made it, from whatever thread
sends, so a send from another thread never touches the dispatcher (rel is not
thread-safe) and control frames cannot overtake queued data.

``SelectDispatcher`` is the default loop: it runs in the thread that calls
``run_forever`` and sleeps in ``epoll`` (``poll`` where there is none, ``select``
only where there is no poll) until a socket is readable or the next timer is
due (with epoll, also once a second to find sockets closed behind its back); a
turn costs what is ready, not what is registered. ``WrappedDispatcher`` is the
adapter ``WebSocketApp`` drives any of them through; it puts all of the
library's timers on one dispatcher behind one timer of it (``_timers.py``),
and on rel all of its sockets behind one read registration (``SharedWait``).
"""

from __future__ import annotations

import heapq
import itertools
import os
import select
import selectors
import signal as _signal
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Optional, Protocol

from ._logging import debug, warning
from ._timers import TimerEntry, TimerQueue, queue_for

__all__ = ["Dispatcher", "SelectDispatcher", "WrappedDispatcher", "SharedWait", "Handle", "Cancellable"]

SIGINT = 2


class Dispatcher(Protocol):
    """What ``run_forever(dispatcher=...)`` calls; the ``rel`` module fits it."""

    def read(self, sock: Any, callback: Callable[[], Any]) -> Any:
        """Call ``callback()`` while ``sock`` is readable; stop once it returns a false value."""

    def timeout(self, seconds: float, callback: Callable[..., Any], *args: Any) -> Any:
        """Call ``callback(*args)`` after ``seconds``; repeat while it returns a true value."""

    def signal(self, sig: int, callback: Callable[..., Any], *args: Any) -> Any:
        """Call ``callback(*args)`` on signal ``sig`` (main thread only, with rel)."""

    def abort(self) -> Any:
        """Stop ``dispatch``."""

    def dispatch(self) -> Any:
        """Run the loop (called by the user, not by the library)."""


class Cancellable(Protocol):
    """What the loop keeps of a registration: ``Handle`` or a timer queue's entry."""

    def cancel(self) -> bool:
        """Remove the registration; False when that is not possible (it stays until it fires)."""


class Handle:
    """One registration made through ``WrappedDispatcher``; ``cancel()`` removes it if the dispatcher can.

    The dispatcher is given ``fire``, not the callback itself: rel keeps a deleted
    registration in a reference cycle until the garbage collector runs, and through
    the callback that would keep a closed connection (its zlib state included) alive.
    """

    __slots__ = ("_obj", "_gone", "_callback")

    def __init__(self, callback: Callable[..., Any]) -> None:
        self._callback: Optional[Callable[..., Any]] = callback
        self._obj: Any = None
        self._gone = False

    def fire(self, *args: Any) -> Any:
        """What the dispatcher calls: the callback, or False (unregister) once cancelled."""
        callback = self._callback
        if callback is None:
            return False
        result = callback(*args)
        if not result:
            self._callback = None  # the dispatcher drops the registration now; drop what it held
        return result

    def cancel(self) -> bool:
        """Remove the registration; False when the dispatcher offers no way to (it stays until it fires)."""
        if self._gone:
            return True
        delete = getattr(self._obj, "delete", None)
        if not callable(delete):
            return False
        self._gone = True
        self._obj = None
        self._callback = None
        try:
            delete()
        except Exception as exc:  # a dispatcher's cleanup must not break ours
            debug(f"dispatcher could not delete a registration: {exc!r}")
        return True


class WrappedDispatcher:
    """How ``WebSocketApp`` drives a dispatcher: its own ``SelectDispatcher`` (``owned``), rel, or any other."""

    def __init__(self, dispatcher: Any, owned: bool = False) -> None:
        self.dispatcher = dispatcher
        self.owned = owned
        self._timers: Optional[TimerQueue] = None
        # None: one registration per socket (the default loop needs no adapter at all)
        self._shared = None if type(dispatcher) is SelectDispatcher else shared_wait_for(dispatcher)

    @property
    def timers(self) -> TimerQueue:
        """The timer queue every app on this dispatcher shares: one dispatcher timer in all."""
        if self._timers is None:
            self._timers = queue_for(self.dispatcher)
        return self._timers

    def watch(self, sock: Any, callback: Callable[[], bool]) -> Cancellable:
        """Register ``callback`` for readability of ``sock``."""
        if type(self.dispatcher) is SelectDispatcher:
            # The default loop drops a callback as soon as its watch is deleted: no Handle in
            # between, and one call fewer for every message a connection receives.
            return self.dispatcher.read(sock, callback)
        if self._shared is not None:
            return self._shared.read(sock, callback)
        handle = Handle(callback)
        handle._obj = self.dispatcher.read(sock, handle.fire)
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerEntry:
        """Run ``callback(*args)`` once after ``delay`` seconds.

        The queue's own entry is the handle: it drops the callback the moment it is
        cancelled, so no ``Handle`` is needed, and a keepalive tick of thousands of
        connections leaves two new objects each for the collector, not six.
        """
        return self.timers.call_once(delay, callback, *args)

    @property
    def can_wake(self) -> bool:
        """Whether ``wake`` works (the dispatcher has ``call_soon_threadsafe``)."""
        return hasattr(self.dispatcher, "call_soon_threadsafe")

    def wake(self, callback: Callable[[], Any]) -> bool:
        """From another thread, run ``callback`` in the loop soon; False if the dispatcher cannot."""
        call_soon = getattr(self.dispatcher, "call_soon_threadsafe", None)
        if call_soon is None:
            return False
        call_soon(callback)
        return True

    def install_sigint(self) -> bool:
        """Let Ctrl-C abort the dispatcher, as websocket-client does, where signals can be set.

        Signal handlers can only be installed from the main thread (rel raises
        ValueError elsewhere), so in any other thread this does nothing.
        """
        if threading.current_thread() is not threading.main_thread():
            return False
        register = getattr(self.dispatcher, "signal", None)
        abort = getattr(self.dispatcher, "abort", None)
        if register is None or abort is None:
            return False
        try:
            register(SIGINT, abort)
        except ValueError as exc:  # e.g. signals unavailable in this interpreter
            warning(f"could not install the SIGINT handler of the dispatcher: {exc}")
            return False
        return True

    def run(self) -> None:
        """Run the dispatcher's loop in this thread."""
        self.dispatcher.dispatch()


# ---------------------------------------------------------------- the default loop


class _WatchOwner(Protocol):
    def _unwatch(self, watch: _Watch) -> None: ...


class _Watch:
    __slots__ = ("loop", "sock", "callback", "active", "fd", "tls")

    def __init__(self, loop: _WatchOwner, sock: Any, callback: Callable[[], Any]) -> None:
        self.loop = loop
        self.sock = sock
        self.callback: Optional[Callable[[], Any]] = callback
        self.active = True
        self.fd = -1  # the descriptor number it is registered under, while it is
        self.tls = hasattr(sock, "pending")  # decrypted bytes may wait in memory, out of poll's sight

    def delete(self) -> None:
        self.loop._unwatch(self)

    def retire(self) -> bool:
        """Mark it done and let go of its callback; False if it already was."""
        if not self.active:
            return False
        self.active = False
        self.callback = None
        return True

    def cancel(self) -> bool:
        """``delete()`` under the name of the adapter's registrations: always possible."""
        self.delete()
        return True

    def pending(self) -> bool:
        return self.active


class _Timer:
    __slots__ = ("loop", "delay", "callback", "args", "active")

    def __init__(self, loop: SelectDispatcher, delay: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.loop = loop
        self.delay = delay
        self.callback: Optional[Callable[..., Any]] = callback
        self.args = args
        self.active = True

    def delete(self) -> None:
        self.loop._cancel_timer(self)

    def pending(self) -> bool:
        return self.active


class _Epoll:
    """The loop's wait on ``select.epoll``: a wait costs what is ready, not what is registered."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._by_fd: dict[int, _Watch] = {}

    def add(self, watch: _Watch) -> Optional[_Watch]:
        """Register ``watch``; returns the dead watch that held its descriptor number, if one did."""
        fd = watch.sock.fileno()
        # A socket closed behind the loop's back leaves epoll at once, but stays in the map until the
        # sweep finds it: a new socket with the same number takes its place, and the old watch is dead.
        stale = self._by_fd.pop(fd, None)
        if stale is not None:
            stale.fd = -1
            try:
                self._epoll.unregister(fd)
            except OSError:
                pass
        self._epoll.register(fd, select.EPOLLIN)
        self._by_fd[fd] = watch
        watch.fd = fd
        return stale

    def remove(self, watch: _Watch) -> None:
        fd, watch.fd = watch.fd, -1
        if self._by_fd.get(fd) is watch:
            del self._by_fd[fd]
            try:
                self._epoll.unregister(fd)
            except OSError:  # closed behind the loop's back: epoll has already forgotten it
                pass

    def wait(self, timeout: Optional[float]) -> list[_Watch]:
        by_fd = self._by_fd
        return [by_fd[fd] for fd, _ in self._epoll.poll(-1 if timeout is None else timeout) if fd in by_fd]

    def fileno(self) -> int:
        """The epoll descriptor: readable while one of its sockets is (another loop can watch it)."""
        return self._epoll.fileno()

    def close(self) -> None:
        self._epoll.close()


class SharedWait:
    """Every socket the library watches on rel, behind ONE read registration of rel.

    rel pays for each registration on every event it reports (a lookup and
    three calls), and keeps a ``SocketIO`` and a ``Timer`` for each: at 10,000
    connections, some 2.5 of the 17 µs a message cost and 0.5 KiB per
    connection. Here the sockets sit in one epoll of ours, which rel watches
    like a socket (an epoll descriptor is readable while one of its sockets
    is); one callback then serves every ready socket. The registration goes
    with the last watch, so nothing of ours stays registered with rel, and
    comes back with the next one, in the new registrar after ``rel.init()``.
    """

    def __init__(self, dispatcher: Any) -> None:
        self._dispatcher = dispatcher
        self._poller = _Epoll()
        self._lock = threading.Lock()  # watches come and go in the loop's thread and in connecting ones
        self._live = 0
        self._registration: Any = None
        self._registrar: Any = None  # rel's registrar at registration time (rel.init() replaces it)

    def read(self, sock: Any, callback: Callable[[], Any]) -> _Watch:
        """Call ``callback()`` whenever ``sock`` is readable, until it returns a false value."""
        watch = _Watch(self, sock, callback)
        with self._lock:
            stale = self._poller.add(watch)
            if stale is not None and stale.retire():
                # Its socket was closed behind the loop's back (its number is reused now): rel
                # would not report it either; it just stops counting.
                self._live -= 1
            self._live += 1
            self._register()
        return watch

    def _register(self) -> None:
        registration = self._registration
        registrar = getattr(self._dispatcher, "registrar", None)
        if registration is not None and registrar is self._registrar and _still_registered(registration):
            return
        self._registrar = registrar
        self._registration = self._dispatcher.read(self._poller, self._serve)

    def _unwatch(self, watch: _Watch) -> None:
        with self._lock:
            if not watch.retire():
                return
            self._poller.remove(watch)
            self._live -= 1
            if self._live or self._registration is None:
                return
            registration, self._registration = self._registration, None
        try:
            registration.delete()
        except Exception as exc:  # a dispatcher's cleanup must not break ours
            debug(f"dispatcher could not delete a registration: {exc!r}")

    def _serve(self) -> bool:
        for watch in self._poller.wait(0):
            on_ready = watch.callback
            if watch.active and on_ready is not None and not on_ready() and watch.active:
                watch.delete()
        return True  # the last watch to go removes the registration itself


def _still_registered(registration: Any) -> bool:
    pending = getattr(registration, "pending", None)
    return not callable(pending) or bool(pending())


_shared: weakref.WeakKeyDictionary[Any, SharedWait] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def shared_wait_for(dispatcher: Any) -> Optional[SharedWait]:
    """The ``SharedWait`` of ``dispatcher``, or None: one registration per socket there.

    Only rel, whose handling of a descriptor that is not a socket and of
    ``delete()`` it relies on, and only where there is epoll; any other
    dispatcher gets each socket as websocket-client gives it.
    """
    if getattr(dispatcher, "__name__", None) != "rel" or not hasattr(select, "epoll"):
        return None
    with _shared_lock:
        shared = _shared.get(dispatcher)
        if shared is None:
            try:
                shared = _shared[dispatcher] = SharedWait(dispatcher)
            except OSError:  # out of descriptors for the epoll one
                return None
        return shared


def _forget_shared_waits() -> None:
    # A forked child shares the parent's epoll instance: its own sockets must not land in it.
    _shared.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared_waits)


class _Selector:
    """The loop's wait where there is no epoll: ``poll`` (no FD_SETSIZE limit), else ``select`` (Windows)."""

    def __init__(self) -> None:
        selector_class = getattr(selectors, "PollSelector", selectors.SelectSelector)
        self._selector: selectors.BaseSelector = selector_class()

    def add(self, watch: _Watch) -> Optional[_Watch]:
        selector = self._selector
        try:
            selector.register(watch.sock, selectors.EVENT_READ, watch)
            return None
        except KeyError:
            # Its descriptor number is still registered for a socket closed behind the loop's back.
            stale = selector.get_map().get(watch.sock.fileno())
            if stale is None:
                raise
            selector.unregister(stale.fileobj)
            selector.register(watch.sock, selectors.EVENT_READ, watch)
            return stale.data  # type: ignore[no-any-return]

    def remove(self, watch: _Watch) -> None:
        try:
            self._selector.unregister(watch.sock)
        except (KeyError, ValueError, OSError):
            pass

    def wait(self, timeout: Optional[float]) -> list[_Watch]:
        return [key.data for key, _ in self._selector.select(timeout)]

    def close(self) -> None:
        self._selector.close()


def _new_poller() -> _Epoll | _Selector:
    if hasattr(select, "epoll"):
        try:
            return _Epoll()
        except OSError:  # out of descriptors for the epoll one
            pass
    return _Selector()


# epoll forgets a descriptor closed behind the loop's back without a word: look for such
# sockets this often (a scan of the watches) while the loop waits on epoll.
_SWEEP = 1.0


def _has_pending(sock: Any) -> bool:
    """TLS data already decrypted in the SSL object: ``select`` would not report it."""
    pending = getattr(sock, "pending", None)
    try:
        return bool(pending is not None and pending())
    except (OSError, ValueError):
        return False


def _is_closed(sock: Any) -> bool:
    try:
        return bool(sock.fileno() < 0)
    except (OSError, ValueError):
        return True


class SelectDispatcher:
    """A small rel-compatible loop: ``read``, ``timeout``, ``signal``, ``abort``, ``dispatch``.

    ``dispatch()`` runs until nothing is registered any more, or ``abort()``.
    ``timeout``, ``abort`` and ``call_soon_threadsafe`` may be called from any
    thread; they take effect at once when the loop only waits for timers, and
    at its next wake-up while it also watches sockets. ``read`` belongs to the
    loop's thread (or to before ``dispatch``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._watches: dict[int, _Watch] = {}
        self._timers: list[tuple[float, int, _Timer]] = []
        self._live_timers = 0
        self._seq = itertools.count()
        self._soon: deque[Callable[[], Any]] = deque()
        self._aborted = False
        self._poller: Optional[_Epoll | _Selector] = None
        self._carry: list[_Watch] = []  # served last turn with TLS data still pending
        self._next_sweep = 0.0

    # ------------------------------------------------------------ registration

    def read(self, sock: Any, callback: Callable[[], Any]) -> _Watch:
        """Call ``callback()`` whenever ``sock`` is readable, until it returns a false value."""
        watch = _Watch(self, sock, callback)
        self._watches[id(watch)] = watch
        if watch.tls and _has_pending(sock):
            self._carry.append(watch)  # registered with decrypted data already waiting
        if self._poller is not None:
            self._register(watch)
        return watch

    def timeout(self, seconds: float, callback: Callable[..., Any], *args: Any) -> _Timer:
        """Call ``callback(*args)`` after ``seconds``; again after as long while it returns a true value."""
        timer = _Timer(self, max(0.0, float(seconds)), callback, args)
        with self._lock:
            self._push(timer)
            self._wakeup.notify()
        return timer

    def call_soon_threadsafe(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` in the loop's thread at its next turn."""
        with self._lock:
            self._soon.append(callback)
            self._wakeup.notify()

    def signal(self, sig: int, callback: Callable[..., Any], *args: Any) -> Optional[Any]:
        """Call ``callback(*args)`` on signal ``sig`` (main thread only; elsewhere this does nothing)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        return _signal.signal(sig, lambda _sig, _frame: callback(*args))

    def abort(self) -> None:
        """Make ``dispatch`` return at its next turn."""
        with self._lock:
            self._aborted = True
            self._wakeup.notify()

    def _register(self, watch: _Watch) -> None:
        assert self._poller is not None
        stale = self._poller.add(watch)
        if stale is not None:
            self._carry.append(stale)  # its callback sees the closed socket next turn

    def _push(self, timer: _Timer) -> None:
        heapq.heappush(self._timers, (time.monotonic() + timer.delay, next(self._seq), timer))
        self._live_timers += 1

    def _cancel_timer(self, timer: _Timer) -> None:
        with self._lock:
            if timer.active:
                timer.active = False
                timer.callback = None  # the heap entry stays until due: keep no reference alive through it
                timer.args = ()
                self._live_timers -= 1

    def _unwatch(self, watch: _Watch) -> None:
        if not watch.retire():
            return
        self._watches.pop(id(watch), None)
        if self._poller is not None:
            self._poller.remove(watch)

    # ------------------------------------------------------------------ loop

    def dispatch(self) -> None:
        """Run callbacks in this thread until nothing is registered, or ``abort()``."""
        with self._lock:
            self._aborted = False
        self._poller = _new_poller()
        try:
            for watch in list(self._watches.values()):
                self._register(watch)
            while self._turn():
                pass
        finally:
            poller, self._poller = self._poller, None
            poller.close()

    def _turn(self) -> bool:
        """One pass: due calls, one wait, ready sockets, due timers. False when the loop is done."""
        for callback in self._take_soon():
            callback()
        with self._lock:
            if self._aborted or not (self._watches or self._live_timers or self._soon):
                return False
            delay = self._delay()
        for watch in self._wait(delay):
            on_ready = watch.callback
            if watch.active and on_ready is not None and not on_ready() and watch.active:
                watch.delete()
            elif watch.tls and watch.active and _has_pending(watch.sock):
                self._carry.append(watch)  # decrypted data left in memory: poll cannot see it
        self._run_timers()
        return True

    def _take_soon(self) -> list[Callable[[], Any]]:
        with self._lock:
            calls = list(self._soon)
            self._soon.clear()
        return calls

    def _delay(self) -> Optional[float]:
        """Seconds until the next live timer (lock held); 0 when calls wait; None: no timer."""
        if self._soon:
            return 0.0
        timers = self._timers
        while timers and not timers[0][2].active:
            heapq.heappop(timers)
        if not timers:
            return None
        return max(0.0, timers[0][0] - time.monotonic())

    def _wait(self, delay: Optional[float]) -> list[_Watch]:
        if not self._watches:
            with self._wakeup:
                if not self._soon and not self._aborted:
                    self._wakeup.wait(delay)
            return []
        # Only sockets just served can hold decrypted TLS data: no scan of every watch per turn.
        carried, self._carry = self._carry, []
        poller = self._poller
        assert poller is not None
        if type(poller) is _Epoll:
            now = time.monotonic()
            if now >= self._next_sweep:
                self._next_sweep = now + _SWEEP
                dead = [watch for watch in self._watches.values() if _is_closed(watch.sock)]
                if dead:
                    return dead
            delay = _SWEEP if delay is None else min(delay, _SWEEP)
        try:
            ready = poller.wait(0 if carried else delay)
        except (OSError, ValueError):
            # A watched socket was closed behind the loop's back: let its owner see it.
            dead = [watch for watch in self._watches.values() if _is_closed(watch.sock)]
            if not dead:
                raise
            return dead
        if carried:
            seen = {id(watch) for watch in ready}
            ready.extend(watch for watch in carried if watch.active and id(watch) not in seen)
        return ready

    def _run_timers(self) -> None:
        now = time.monotonic()
        with self._lock:
            timers = self._timers
            due = []
            while timers and timers[0][0] <= now:
                timer = heapq.heappop(timers)[2]
                if timer.active:
                    due.append(timer)
        for timer in due:
            with self._lock:  # an earlier callback of this batch may have cancelled it
                if not timer.active:
                    continue
                timer.active = False
                self._live_timers -= 1
                callback, args = timer.callback, timer.args
                timer.callback, timer.args = None, ()
            if callback is not None and callback(*args):
                timer.callback, timer.args, timer.active = callback, args, True
                with self._lock:
                    self._push(timer)


from ._socket import send  # noqa: E402  (websocket-client's name here; only DispatcherBase uses it)


class DispatcherBase:
    """websocket-client's dispatcher base class, for code that subclasses or imports it.

    wsline's own loop does not use it: a custom dispatcher only needs the
    ``Dispatcher`` protocol above.
    """

    def __init__(self, app: Any, ping_timeout: Optional[float]) -> None:
        self.app = app
        self.ping_timeout = ping_timeout

    def timeout(self, seconds: Optional[float], callback: Callable[[], Any]) -> None:
        """Run ``callback`` after ``seconds`` (None: at once), blocking meanwhile."""
        if seconds is not None:
            time.sleep(seconds)
        callback()

    def reconnect(self, seconds: float, reconnector: Callable[..., Any]) -> None:
        """Sleep ``seconds``, then call ``reconnector(reconnecting=True)``."""
        time.sleep(seconds)
        reconnector(reconnecting=True)

    def send(self, sock: Any, data: str | bytes) -> int:
        """websocket-client's raw socket write."""
        return send(sock, data)
