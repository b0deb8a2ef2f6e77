"""One connection of a ``WebSocketApp`` run, and how its end is reported.

The event loop watches the connection's own socket (``Connection.watch``),
one descriptor per connection. Whatever tears the WebSocket down (a failed
send in another thread, user code calling ``app.sock.shutdown()``) only shuts
the socket down (``Conn.loop_closes``): the descriptor stays open
until the loop, having dropped its registration, closes it, so no registration
ever points at a closed or reused descriptor; the shutdown makes the socket
readable, which wakes the loop.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable, Optional

from .._abnf import STATUS_NORMAL
from .._conn import Conn
from .._core import WebSocket, _Latch
from .._dispatcher import Cancellable
from .._exceptions import WebSocketConnectionClosedException, WebSocketException, WebSocketTimeoutException
from .._logging import debug
from .._sansio.events import Close
from .._wsmessage import closed_error

__all__ = ["Connection", "BackgroundConnect", "ATTEMPT_TIMEOUT", "watch_socket", "closed_by_server", "close_args"]


ATTEMPT_TIMEOUT = 30.0
"""Bound of a background attempt's connect and opening handshake when no ``timeout`` was given."""


class BackgroundConnect:
    """The blocking connect and opening handshake of one attempt, in a short-lived thread.

    The loop polls ``done`` and takes the WebSocket (or the error) in its own
    thread, so a server that accepts and then never answers cannot freeze a
    loop shared with other apps, and ``close()`` is not held up by it. The
    thread ends with the attempt: ``cancel()`` (the run ended meanwhile) only
    makes sure the socket is shut as soon as the attempt returns.
    """

    def __init__(
        self, ws: WebSocket, url: str, options: dict[str, Any], notify: Optional[Callable[[BackgroundConnect], Any]] = None
    ) -> None:
        self.ws = ws
        self._notify = notify  # called from the attempt's thread when it is done
        self.error: Optional[BaseException] = None
        self.done = threading.Event()
        self._cancelled = False
        if ws.gettimeout() is None:
            ws.settimeout(ATTEMPT_TIMEOUT)
            self._restore = True
        else:
            self._restore = False
        thread = threading.Thread(target=self._run, args=(url, options), name="websocket-connect", daemon=True)
        thread.start()

    def _run(self, url: str, options: dict[str, Any]) -> None:
        try:
            self.ws.connect(url, **options)
            if self._restore:
                self.ws.settimeout(None)  # the bound was for the handshake only
        except BaseException as exc:  # handed over to the loop's thread
            self.error = exc
        finally:
            self.done.set()
            if self._cancelled:
                self.ws.shutdown()
            elif self._notify is not None:
                self._notify(self)

    def cancel(self) -> None:
        """The run is over: shut the socket, now or as soon as the attempt returns."""
        self._cancelled = True
        if self.done.is_set():
            self.ws.shutdown()


def watch_socket(ws: WebSocket) -> socket.socket:
    """The socket of ``ws`` for the event loop to watch; from now on only the loop closes it (module docstring)."""
    link = ws.conn  # not ws.sock: handing that out makes every read stop at a frame's end
    sock = link.sock
    if sock is None:
        raise WebSocketConnectionClosedException("socket is already closed.")
    link.loop_closes = True
    return sock


class Connection:
    """An open connection of a run: its WebSocket, the loop's registrations, and its closing state."""

    __slots__ = (
        "ws", "link", "watch", "reader", "more", "paused", "closing", "opened_at", "close_event", "error", "deadline", "ended",
    )

    def __init__(self, ws: WebSocket, watch: socket.socket, opened_at: float) -> None:
        self.ws = ws
        self.link: Conn = ws.conn  # read for every message: once here, not through the property
        self.watch: Optional[socket.socket] = watch
        self.reader: Optional[Cancellable] = None  # the readability registration
        self.more: Optional[Cancellable] = None  # a timer to come back: more to read, or a pause to end
        self.paused = False  # reading stopped until the socket can take writes again
        self.closing: Optional[tuple[int, Any]] = None  # a close frame still to send (status, reason)
        self.opened_at = opened_at
        self.close_event: Optional[Close] = None  # the server's close frame
        self.error: Optional[BaseException] = None  # the first thing that went wrong
        self.deadline: Optional[float] = None  # the socket is closed by then, whatever the server does
        self.ended = _Latch()  # set when the loop is done with it; a threading.Event costs 6 tracked objects

    def release_watch(self) -> None:
        """Close the loop's descriptor (once its registration is gone)."""
        watch, self.watch = self.watch, None
        if watch is not None:
            watch.close()

    def send_ping_now(self, payload: Any) -> bool:
        """Send a ping unless that could block this loop; False when it was skipped."""
        ws = self.ws
        if ws.lock.locked() or not self.link.writable():
            return False  # another thread is stuck in a send, or the server is not reading
        debug("Sending ping")
        ws.ping(payload)
        return True

    def close_and_wait(self, status: int, reason: Any, wait: float) -> None:
        """close() from a thread other than the loop's: send the close frame, await the end, else cut."""
        try:
            self.link.send_close(status, reason, wait)
        except WebSocketTimeoutException:
            self.ws.abort()  # a send is stuck in another thread: cut, which wakes it and the loop
            return
        except (WebSocketException, OSError):
            pass
        # As websocket-client's close(): wait for the server's answer (the loop reads it), then cut.
        if not self.ended.wait(wait):
            self.ws.abort()  # wakes the loop, which ends the connection

    def send_close_now(self) -> bool:
        """Send the pending close frame if that cannot block the loop; True once it is done with."""
        if self.closing is None:
            return True
        link = self.link
        if not link.writable():
            return False  # the server does not read: the frame would wait in a full buffer
        try:
            link.send_close(*self.closing, 0)
        except WebSocketTimeoutException:
            return False  # another thread is sending right now (or is stuck doing so)
        except (WebSocketException, OSError):
            pass  # already failing: the loop sees it
        self.closing = None
        return True


def closed_by_server(close: Close) -> WebSocketConnectionClosedException:
    """The exception websocket-client 1.9 hands to on_error for a server's close frame (only 1000 is "normally")."""
    code, reason = close_args(close)
    return closed_error(code, reason, normal=code == STATUS_NORMAL)


def close_args(close: Optional[Close]) -> tuple[Optional[int], Optional[str]]:
    """on_close's (code, reason): (None, None) without a close frame or a code, reason None when empty."""
    if close is None or not close.payload:
        return None, None
    return close.code, close.reason or None
