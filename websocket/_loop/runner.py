"""One ``WebSocketApp.run_forever``: connect, read, keep alive, close, reconnect.

Everything here runs in the dispatcher's thread, as callbacks: ``watch``
(the socket is readable), ``tick`` (a keepalive or closing deadline is due),
``retry`` (the reconnect delay has passed). The loop waits on the network
only to connect a new attempt: the frames it writes itself (pings, close
frames) are skipped or retried when they could block, and reading pauses
while a server does not read its pongs. Reconnecting schedules the next
attempt on a timer: a loop, never a recursion, so nothing grows across
reconnects.
"""

from __future__ import annotations

import enum
import threading
import traceback
from functools import partial
from typing import Any, Callable, Optional, Protocol, Union

from .._abnf import STATUS_NORMAL
from .._conn import FAIL_CLOSE_TIMEOUT, Conn
from .._core import WebSocket
from .._dispatcher import Cancellable, WrappedDispatcher
from .._exceptions import (
    WebSocketConcurrencyError,
    WebSocketConnectionClosedException,
    WebSocketException,
    WebSocketTimeoutException,
)
from .._logging import _logger, info
from .._sansio.events import Close, EndOfStream, Event, Failure, Fragment, Message, Ping, Pong
from .connection import BackgroundConnect, Connection, close_args, closed_by_server, watch_socket
from .keepalive import Due, KeepAlive
from .reconnect import ReconnectPolicy

__all__ = ["Runner", "RunState", "RunOwner"]

# Time spent handling events per wake-up before yielding to the other connections of a shared loop.
_SLICE = 0.005
# How long reading pauses when the server does not read what it asked for (pongs).
_PAUSE = 0.01
# How often the loop looks whether a background attempt has finished.
_CONNECT_POLL = 0.02
_CONCURRENT_READ = "another thread is receiving on this WebSocketApp's connection"


class RunState(enum.Enum):
    """Where one run is; ``Runner._enter`` is the only place that changes it."""

    CONNECTING = "connecting"  # an attempt is under way, in this thread or in the background
    OPEN = "open"
    CLOSING = "closing"  # a close frame went or came, or the connection failed: TCP ends by a deadline
    RETRY_WAIT = "waiting to reconnect"
    FINISHED = "finished"  # on_close has been called; nothing is scheduled any more


_NEXT: dict[RunState, frozenset[RunState]] = {
    RunState.CONNECTING: frozenset({RunState.OPEN, RunState.RETRY_WAIT, RunState.FINISHED}),
    RunState.OPEN: frozenset({RunState.CLOSING, RunState.RETRY_WAIT, RunState.FINISHED}),
    RunState.CLOSING: frozenset({RunState.RETRY_WAIT, RunState.FINISHED}),
    RunState.RETRY_WAIT: frozenset({RunState.CONNECTING, RunState.FINISHED}),
    RunState.FINISHED: frozenset(),
}


class RunOwner(Protocol):
    """What a run asks of the app that started it (``WebSocketApp`` implements it)."""

    @property
    def keep_running(self) -> bool:
        """The user's flag: set to False from a callback, it closes the connection."""

    def new_attempt(self, first: bool) -> tuple[WebSocket, str, dict[str, Any]]:
        """A fresh WebSocket, the URL and connect options for the next attempt (user code may run)."""

    def opened(self, ws: WebSocket, reconnected: bool) -> None:
        """The handshake succeeded: on_open, or on_reconnect."""

    def received(self, event: Event) -> None:
        """A message, fragment, ping or the server's close frame arrived."""

    def ponged(self, payload: bytes, latency: Optional[float]) -> None:
        """A pong arrived; ``latency`` is the round trip of the last answered ping."""

    def pinged(self) -> None:
        """A keepalive ping went out."""

    def report(self, error: Optional[BaseException], errored: bool) -> None:
        """A connection or attempt ended (``error`` for on_error, if any; ``errored``: not by a close frame)."""

    def lost(self, ws: WebSocket) -> None:
        """``ws`` is closed for good."""

    def finished(self, code: Optional[int], reason: Optional[str]) -> None:
        """The run is over: on_close."""

    def should_reconnect(self, close_status_code: Optional[int], error: Optional[BaseException]) -> bool:
        """The reconnect rule."""


class Runner:
    """The state of one ``run_forever`` call, driven by dispatcher callbacks."""

    def __init__(
        self,
        owner: RunOwner,
        loop: WrappedDispatcher,
        policy: Optional[ReconnectPolicy],
        keepalive: KeepAlive,
        ping_payload: Union[str, bytes] = "",
    ) -> None:
        self.owner = owner
        self.loop = loop
        self.policy = policy
        self.keepalive = keepalive
        self.ping_payload = ping_payload
        self.clock: Callable[[], float] = keepalive.clock
        self.state = RunState.CONNECTING
        self.stopping = False  # close() was called: no more attempts, no callbacks but on_close
        self.conn: Optional[Connection] = None
        self.attempt = 0  # failed attempts in a row
        self.attempted = False
        self.opened_once = False
        self.last_close: Optional[Close] = None
        self.loop_ident = threading.get_ident()
        self.retry: Optional[Cancellable] = None
        self.pending: Optional[BackgroundConnect] = None
        self.pending_poll: Optional[Cancellable] = None
        self.tick: Optional[Cancellable] = None
        self.tick_at: Optional[float] = None
        # Made once: a tick is re-armed after every ping, and thousands of connections ticking
        # together would otherwise leave a crowd of new objects for the next young collection.
        self.tick_step: Optional[Callable[[], bool]] = None

    def _enter(self, state: RunState) -> None:
        """The one transition function: moves to ``state`` if the table allows it."""
        if state is self.state:
            return
        if state not in _NEXT[self.state]:
            raise AssertionError(f"WebSocketApp run: no way from {self.state.value} to {state.value}")
        self.state = state

    @property
    def wanted(self) -> bool:
        """Whether the run should go on: neither close() nor the user's keep_running = False."""
        return not self.stopping and self.owner.keep_running

    @property
    def done(self) -> bool:
        """Whether the run has finished."""
        return self.state is RunState.FINISHED

    # ------------------------------------------------------------- entry points

    def start(self) -> None:
        """The first attempt, in the caller's thread (websocket-client connects before returning)."""
        self._guard(self._connect)

    def _step(self, step: Callable[..., Any], *args: Any) -> Callable[[], bool]:
        """A loop callback: ``step(self, *args)`` under ``_guard``.

        A partial of plain functions: a registration that lives as long as its connection
        is two objects for the garbage collector to walk (bound methods would add two more).
        """
        return partial(Runner._guard, self, step, self, *args)

    def _guard(self, step: Callable[..., Any], *args: Any) -> bool:
        """Run one loop callback: no Exception escapes into the dispatcher; interrupts tear down, then go on."""
        self.loop_ident = threading.get_ident()
        try:
            return bool(step(*args))
        except Exception as exc:  # a failure here must end this app's connection, not the loop
            _logger.error("unexpected error in the WebSocketApp loop: %r", exc, exc_info=True)
            self._crash(exc)
            return False
        except BaseException as exc:
            self.interrupt(exc)
            raise

    def _crash(self, exc: Exception) -> None:
        try:
            if self.conn is not None:
                self._end(self.conn, exc)
            elif self.state is not RunState.RETRY_WAIT and self.pending is None:
                self._finish(self.last_close)
        except Exception:  # last resort: never raise into the dispatcher
            _logger.exception("WebSocketApp could not recover from an error")

    def _on_retry(self) -> bool:
        self.retry = None
        if not self.wanted:
            self._finish(self.last_close)
        else:
            self._connect()
        return False

    def _on_tick(self) -> bool:
        self.tick = self.tick_at = None
        conn = self.conn
        if conn is not None:
            self._check_deadlines(conn)
        return False

    def _on_readable(self, conn: Connection) -> bool:
        if self.conn is not conn:
            conn.release_watch()  # a dispatcher that could not drop the registration calls once more
            return False
        if conn.paused:
            return True  # a dispatcher that cannot drop the registration for a while
        self.keepalive.data_received()
        conn.link.drained = False
        if self._pump(conn):
            return True
        conn.release_watch()
        return False

    def _on_more(self, conn: Connection) -> bool:
        conn.more = None
        if self.conn is conn and not conn.paused:
            self._pump(conn)  # if that ends the connection, the watch goes with the reader (see _drop)
        return False

    # ----------------------------------------------------------------- connect

    def _connect(self) -> None:
        if not self.wanted:
            self._finish(self.last_close)
            return
        self._enter(RunState.CONNECTING)
        # websocket-client connects before run_forever(dispatcher=...) returns: the first attempt
        # on a shared dispatcher stays in this thread; any other runs in the background.
        in_background = self.attempted or self.loop.owned
        first, self.attempted = not self.attempted, True
        ws: Optional[WebSocket] = None
        try:
            ws, url, options = self.owner.new_attempt(first)  # user code (header=callable): in the loop's thread
            if in_background:
                # The attempt's thread wakes the loop when it is done, where the dispatcher allows;
                # the loop also looks now and then (and its timer keeps an own loop running).
                pending = BackgroundConnect(ws, url, options, self._wake_on_pending if self.loop.can_wake else None)
                self.pending = pending
                self._poll_pending(pending)
                return
            ws.connect(url, **options)
        except Exception as exc:  # any failure to connect goes to on_error, then the rule
            if ws is not None:
                ws.shutdown()
            self._after(None, exc, None)
            return
        self._opened(ws)

    def _wake_on_pending(self, pending: BackgroundConnect) -> None:
        self.loop.wake(self._step(Runner._on_pending, pending))

    def _poll_pending(self, pending: BackgroundConnect) -> None:
        interval = 1.0 if self.loop.can_wake else _CONNECT_POLL
        self.pending_poll = self.loop.call_later(interval, self._step(Runner._on_pending, pending))

    def _on_pending(self, pending: BackgroundConnect) -> bool:
        if self.pending is not pending:
            return False  # already taken (a wake-up and a poll both came)
        if self.pending_poll is not None:
            self.pending_poll.cancel()
            self.pending_poll = None
        if not pending.done.is_set():
            if self.wanted:
                self._poll_pending(pending)
            else:
                self._stop_waiting()
            return False
        self.pending = None
        if pending.error is not None:
            pending.ws.shutdown()
            self._after(None, pending.error, None)
        else:
            self._opened(pending.ws)
        return False

    def _opened(self, ws: WebSocket) -> None:
        try:
            watch = watch_socket(ws)
        except WebSocketException as exc:  # torn down by another thread meanwhile
            ws.shutdown()
            self._after(None, exc, None)
            return
        conn = Connection(ws, watch, self.clock())
        self.conn = conn
        self._enter(RunState.OPEN)
        conn.reader = self.loop.watch(conn.watch, self._step(Runner._on_readable, conn))
        self.keepalive.start()
        self._arm_tick()
        info("Websocket connected")
        reconnected = self.opened_once
        self.opened_once = True
        if not self.wanted:  # close() arrived during the handshake: no on_open
            self.close_connection(conn, STATUS_NORMAL, b"", 3.0)
            return
        self.owner.opened(ws, reconnected)
        if self.conn is conn and conn.more is None:
            # Frames may have come with the handshake answer, where select cannot see them;
            # read them from the dispatcher (run_forever(dispatcher=...) returns first).
            conn.more = self.loop.call_later(0, self._step(Runner._on_more, conn))

    # ------------------------------------------------------------------ reading

    def _pump(self, conn: Connection) -> bool:
        """Handle what has arrived, for one time slice at most; False once the connection has ended."""
        link = conn.link
        proto = link.proto
        readlock = link.readlock
        clock = self.clock
        owner = self.owner
        until = clock() + _SLICE
        while True:
            if self.conn is not conn:
                return False
            events = proto.events
            if events:
                # A whole message goes straight to the app: on a busy connection this is nearly
                # every turn, and it needs no answer and no state change.
                if type(events[0]) is Message and not self.stopping and readlock.acquire(False):
                    try:
                        event: Optional[Event] = events.popleft() if events and type(events[0]) is Message else None
                    finally:
                        readlock.release()
                    if event is not None and owner.keep_running:
                        owner.received(event)
                        if owner.keep_running:
                            if clock() < until:
                                continue
                            break
                else:
                    try:
                        event = self._next_event(link)
                    except (WebSocketException, OSError) as exc:
                        return self._read_failed(conn, exc)
                    if event is None:
                        return True
                    self._handle(conn, event)
                    if type(event) is Ping and self.conn is conn and not link.writable():
                        self._pause(conn)  # the server floods pings and does not read the pongs
                        return True
            elif link.drained and not link.leftover and not proto.held:
                # The last read emptied the socket (only a plain socket is marked so: no TLS bytes
                # can wait in memory): wait for the loop to report it readable again. The empty
                # event queue goes now, so an idle connection holds none, and the queues of one
                # fan-in round die young instead of piling up for the collector.
                if readlock.acquire(False):
                    proto.release_idle_memory()
                    readlock.release()
                return True
            else:
                try:
                    if not self._read(link):
                        return True
                except (WebSocketException, OSError) as exc:
                    return self._read_failed(conn, exc)
                if clock() < until:
                    continue  # a read runs no callback: keep_running cannot have changed
                break
            if not self.wanted and conn.deadline is None and self.conn is conn:
                # keep_running = False set by a callback (an older way to stop): close properly
                self.close_connection(conn, STATUS_NORMAL, b"", None)
            if clock() >= until:
                break
        if self.conn is not conn:
            return False
        if conn.more is None:  # more may be buffered where select cannot see it: come back soon
            conn.more = self.loop.call_later(0, self._step(Runner._on_more, conn))
        return True

    @staticmethod
    def _read(link: Conn) -> bool:
        """Read once without waiting (what is in memory first); False when nothing was there.

        Bytes already in memory (a decrypted TLS record) are taken: poll cannot see them.
        Whatever the read completes is left in the protocol's events for the pump.
        """
        if not link.readlock.acquire(False):
            raise WebSocketConcurrencyError(_CONCURRENT_READ)
        try:
            if link.read_nowait():
                return True
            link.proto.release_idle_memory()
            return False
        finally:
            link.readlock.release()

    @staticmethod
    def _next_event(link: Conn) -> Optional[Event]:
        """The next event already parsed, with control events answered; None when none is.

        The end of the stream and a failure raise, as they do for ``recv``; the failing
        close frame is sent, and the loop then waits (without blocking) for the server's
        TCP close.
        """
        if not link.readlock.acquire(False):
            raise WebSocketConcurrencyError(_CONCURRENT_READ)
        try:
            events = link.proto.events
            if not events:
                return None
            event = events.popleft()
            kind = type(event)
            if kind is Message or kind is Fragment:
                return event
            link.answer(event)
            if kind is Failure:
                raise event.exc  # type: ignore[union-attr]
            if kind is EndOfStream:
                link.teardown()
                raise link.lost()
            return event
        finally:
            link.readlock.release()

    def _pause(self, conn: Connection) -> None:
        """Stop reading from a server that does not read what it asks for, until it does.

        Every ping read means a pong to write; reading on while the send buffer
        is full would block this loop, and every connection on it, in that write.
        """
        conn.paused = True
        if conn.reader is not None and conn.reader.cancel():
            conn.reader = None
        if conn.more is not None:
            conn.more.cancel()
        conn.more = self.loop.call_later(_PAUSE, self._step(Runner._on_resume, conn))

    def _on_resume(self, conn: Connection) -> bool:
        conn.more = None
        if self.conn is not conn:
            return False
        if not conn.link.writable():
            conn.more = self.loop.call_later(_PAUSE, self._step(Runner._on_resume, conn))
            return False
        conn.paused = False
        if conn.reader is None:
            conn.reader = self.loop.watch(conn.watch, self._step(Runner._on_readable, conn))
        self._pump(conn)
        return False

    def _read_failed(self, conn: Connection, exc: BaseException) -> bool:
        if conn.error is None and conn.close_event is None:
            conn.error = exc
        if conn.link.sock is None:  # end of stream, or the socket is gone
            self._end(conn)
            return False
        # A protocol failure: the close frame is sent, the server should now close TCP.
        self._enter(RunState.CLOSING)
        self._set_deadline(conn, FAIL_CLOSE_TIMEOUT)
        return True

    def _handle(self, conn: Connection, event: Event) -> None:
        kind = type(event)
        if kind is Close:
            conn.close_event = self.last_close = event  # type: ignore[assignment]
            self._enter(RunState.CLOSING)
            self._set_deadline(conn, FAIL_CLOSE_TIMEOUT)  # for the server to close TCP
        if not self.wanted and kind is not Close:
            return  # close() was called: like websocket-client, no callback but on_close from now on
        if kind is Pong:
            self.keepalive.pong_received()
            self.owner.ponged(event.payload, self.keepalive.latency)  # type: ignore[union-attr]
        else:
            self.owner.received(event)

    # ---------------------------------------------------------------- deadlines

    def _set_deadline(self, conn: Connection, seconds: float) -> None:
        at = self.clock() + seconds
        if conn.deadline is None or at < conn.deadline:
            conn.deadline = at
            self._arm_tick()

    def _arm_tick(self) -> None:
        conn = self.conn
        retry_close = self.clock() + _PAUSE if conn is not None and conn.closing is not None else None
        times = [t for t in (self.keepalive.next_deadline(), conn.deadline if conn else None, retry_close) if t is not None]
        at = min(times) if times else None
        if at == self.tick_at and self.tick is not None:
            return
        if self.tick is not None:
            self.tick.cancel()  # the loop's timers always cancel: a cancelled tick never fires
        self.tick, self.tick_at = None, at
        if at is not None:
            step = self.tick_step
            if step is None:
                step = self.tick_step = self._step(Runner._on_tick)
            self.tick = self.loop.call_later(max(0.0, at - self.clock()), step)

    def _check_deadlines(self, conn: Connection) -> None:
        if conn.deadline is not None and self.clock() >= conn.deadline:
            self._end(conn)
            return
        if not self.wanted and conn.deadline is None:
            self.close_connection(conn, STATUS_NORMAL, b"", None)
            return
        conn.send_close_now()
        due = self.keepalive.due()
        if due is Due.TIMED_OUT:
            self._end(conn, WebSocketTimeoutException("ping/pong timed out"))
            return
        if due is Due.PING:
            self._ping(conn)
        if self.conn is conn:
            self._arm_tick()

    def _ping(self, conn: Connection) -> None:
        if conn.deadline is not None or not conn.ws.connected:
            self.keepalive.stop()  # closing: no more pings, the closing deadline rules
            return
        try:
            sent = conn.send_ping_now(self.ping_payload)
        except (WebSocketException, OSError) as exc:
            self._end(conn, exc)
            return
        if sent:
            self.owner.pinged()
            self.keepalive.ping_sent()
        else:
            # The silence deadline starts as if the ping had gone out; any data from the
            # server still proves it alive.
            self.keepalive.ping_skipped()

    # ------------------------------------------------------------------ closing

    def close_connection(self, conn: Connection, status: int, reason: Any, timeout: Optional[float]) -> None:
        """Start the closing handshake of ``conn``; the loop ends it by ``timeout`` at the latest."""
        conn.closing = (status, reason)
        self._enter(RunState.CLOSING)
        self._set_deadline(conn, 3.0 if timeout is None else timeout)
        if not conn.send_close_now():
            self._arm_tick()  # try again shortly, until the deadline

    def close(self, status: int = STATUS_NORMAL, reason: Any = b"", timeout: Optional[float] = 3) -> None:
        """``app.close()``: from the loop's thread, start closing; from another, also wait for the end."""
        self.stopping = True
        conn = self.conn
        in_loop = threading.get_ident() == self.loop_ident
        if conn is None:
            if in_loop:
                self._stop_waiting()
            else:
                self.loop.wake(self._step(Runner._stop_waiting))
            return
        if in_loop:
            self.close_connection(conn, status, reason, timeout)
            return
        conn.close_and_wait(status, reason, 3.0 if timeout is None else timeout)

    def _stop_waiting(self) -> None:
        """close() between connections: drop the next attempt (pending or planned) and finish."""
        if self.state is RunState.RETRY_WAIT or self.pending is not None:
            self._finish(self.last_close)  # which drops the planned or pending attempt

    def note_write_error(self, ws: WebSocket, exc: BaseException) -> None:
        """A send failed in some thread: that is why the connection ends (the loop reports it)."""
        conn = self.conn
        if conn is not None and conn.ws is ws and conn.error is None:
            conn.error = exc

    # ------------------------------------------------------------- end of a connection

    def _end(self, conn: Connection, exc: Optional[BaseException] = None) -> None:
        """Close ``conn`` for good, then report and decide what comes next."""
        if self.conn is not conn:
            return
        if exc is not None and conn.error is None and conn.close_event is None:
            conn.error = exc
        self._drop(conn)
        # The error's traceback reaches the frames that hold ``conn`` (and the error itself):
        # kept, that is a cycle only the garbage collector frees, zlib state included. Once
        # reported, the finished frames let go of their locals; the traceback still prints.
        error, conn.error = conn.error, None
        self._after(conn.close_event, error, conn.opened_at)
        if error is not None and error.__traceback__ is not None:
            traceback.clear_frames(error.__traceback__)

    def _drop(self, conn: Connection) -> None:
        self.conn = None
        self.keepalive.stop()
        for handle in (self.tick, conn.more):
            if handle is not None:
                handle.cancel()
        self.tick = self.tick_at = conn.more = None
        conn.ws.shutdown()
        if conn.reader is None or conn.reader.cancel():
            conn.release_watch()  # otherwise the reader closes it on its last call
        self.owner.lost(conn.ws)
        conn.ended.set()

    def _after(self, close: Optional[Close], error: Optional[BaseException], opened_at: Optional[float]) -> None:
        """Report how the connection (or attempt) ended; then reconnect or finish."""
        if self.wanted:  # not ended by close(): report it
            if close is not None:
                error = closed_by_server(close)
            elif error is None:
                error = WebSocketConnectionClosedException("Connection to remote host was lost.")
            self.owner.report(error, close is None)
        else:
            self.owner.report(None, False)
        if not self._schedule_retry(close, error, opened_at):
            if self.wanted and error is not None:
                info(f"{error} - goodbye")
            self._finish(close)

    def _schedule_retry(self, close: Optional[Close], error: Optional[BaseException], opened_at: Optional[float]) -> bool:
        if not self.wanted or self.policy is None:
            return False
        code = close.code if close is not None else None
        if not self.owner.should_reconnect(code, error):
            return False
        if opened_at is not None and self.clock() - opened_at >= getattr(self.policy, "reset_after", 0.0):
            self.attempt = 0
        self.attempt += 1
        delay = self.policy.delay(self.attempt, code)
        if delay is None:
            return False
        info(f"{error} - reconnect in {delay:.3g} s (attempt {self.attempt})")
        self._enter(RunState.RETRY_WAIT)
        self.retry = self.loop.call_later(delay, self._step(Runner._on_retry))
        return True

    def _finish(self, close: Optional[Close]) -> None:
        """The run is over: release everything, then on_close (once)."""
        if self.state is RunState.FINISHED:
            return
        self._enter(RunState.FINISHED)
        for planned in (self.retry, self.pending, self.pending_poll):
            if planned is not None:
                planned.cancel()
        self.retry = self.pending = self.pending_poll = None
        self.tick_step = None  # it holds this runner: no cycle left for the collector
        self.owner.finished(*close_args(close))

    def interrupt(self, exc: BaseException) -> None:
        """KeyboardInterrupt or SystemExit: close at once, report, finish; the caller re-raises."""
        if self.state is RunState.FINISHED:
            return
        self.stopping = True
        conn = self.conn
        if conn is not None:
            self.close_connection(conn, STATUS_NORMAL, b"", 0)  # best effort, never blocking
            self._drop(conn)
        self.owner.report(exc, True)
        self._finish(conn.close_event if conn is not None else self.last_close)
