"""Helpers for the WebSocketApp tests: a callback recorder, a runner with bounded waits,
a raw-socket server that can be stopped and restarted on the same port,
ready-made scripts, a bounded rel loop, and resource counters.

Nothing here depends on wsline internals, so the drop-in tests also run
against websocket-client 1.9.2 (``--xfail-wsline-only``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from _raw_server import ClientEOF, RawConn
from _wire import OP_CLOSE, OP_PING, Frame

import websocket

JOIN_TIMEOUT = 20.0


class Recorder:
    """Records the callbacks of a WebSocketApp as tuples, in order, from any thread."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.times: list[float] = []
        self._cond = threading.Condition()

    def add(self, *item: Any) -> None:
        with self._cond:
            self.events.append(item)
            self.times.append(time.monotonic())
            self._cond.notify_all()

    def names(self) -> list[str]:
        """The callback names in order, e.g. ["open", "message", "close"]."""
        return [event[0] for event in self.events]

    def of(self, name: str) -> list[tuple[Any, ...]]:
        """Every recorded call of one callback."""
        return [event for event in self.events if event[0] == name]

    def wait_for(self, predicate: Callable[[Recorder], bool], timeout: float = 10.0) -> bool:
        """Wait (bounded) until ``predicate(self)`` holds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def wait_count(self, name: str, count: int, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        assert self.wait_for(lambda rec: len(rec.of(name)) >= count, timeout), (
            f"{name} seen {len(self.of(name))} of {count} times; events={self.events!r}"
        )
        return self.of(name)


def make_app(
    url: str,
    rec: Recorder,
    *,
    data: bool = False,
    cont: bool = False,
    ping: bool = False,
    reconnect: bool = False,
    after: dict[str, Callable[..., Any]] | None = None,
    **kwargs: Any,
) -> Any:
    """A WebSocketApp whose callbacks record into ``rec``, then call ``after[name]`` if given."""
    after = after or {}

    def recorder(name: str, label: str) -> Callable[..., None]:
        def callback(ws: Any, *args: Any) -> None:
            rec.add(label, *args)
            extra = after.get(name)
            if extra is not None:
                extra(ws, *args)

        return callback

    callbacks: dict[str, Any] = {
        "on_open": recorder("on_open", "open"),
        "on_message": recorder("on_message", "message"),
        "on_error": recorder("on_error", "error"),
        "on_close": recorder("on_close", "close"),
    }
    if data:
        callbacks["on_data"] = recorder("on_data", "data")
    if cont:
        callbacks["on_cont_message"] = recorder("on_cont_message", "cont")
    if ping:
        callbacks["on_ping"] = recorder("on_ping", "ping")
        callbacks["on_pong"] = recorder("on_pong", "pong")
    if reconnect:
        callbacks["on_reconnect"] = recorder("on_reconnect", "reconnect")
    return websocket.WebSocketApp(url, **callbacks, **kwargs)


class Running:
    """``run_forever`` in a daemon thread; ``result()`` joins it with a bounded wait."""

    def __init__(self, app: Any, **options: Any) -> None:
        self.app = app
        self.outcome: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, kwargs=options, name="app-run", daemon=True)
        self.thread.start()

    def _run(self, **options: Any) -> None:
        try:
            self.outcome["result"] = self.app.run_forever(**options)
        except BaseException as exc:  # inspected by the test
            self.outcome["error"] = exc

    def result(self, timeout: float = JOIN_TIMEOUT) -> Any:
        self.thread.join(timeout)
        if self.thread.is_alive():
            with contextlib.suppress(Exception):
                self.app.close(timeout=1)
            self.thread.join(5)
            raise AssertionError(f"run_forever did not return within {timeout}s")
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["result"]


def run_app(app: Any, timeout: float = JOIN_TIMEOUT, **options: Any) -> Any:
    """run_forever with a bounded wait (in a thread, so a hang fails the test instead of blocking it)."""
    return Running(app, **options).result(timeout)


# ------------------------------------------------------------------ servers


class ScriptServer:
    """A raw-socket WebSocket server on 127.0.0.1 that can stop and start again on the same port.

    ``script(conn: RawConn)`` runs in its own thread for each connection
    (RawConn from _raw_server.py). ``stop()`` drops every connection at once
    (TCP reset, as a crashed server would) and stops listening; ``start()``
    listens again on the same port.
    """

    def __init__(self, script: Callable[[RawConn], None]) -> None:
        self.script = script
        self.port = 0
        self.conns: list[RawConn] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._accepted = threading.Condition()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> ScriptServer:
        self._stopping.clear()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, args=(self._listener,), name="script-accept", daemon=True)
        self._acceptor.start()
        return self

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except socket.timeout:  # TimeoutError only from Python 3.10 on
                continue
            except OSError:
                return
            with self._accepted:
                conn = RawConn(sock, len(self.conns), linger=2.0)
                self.conns.append(conn)
                self._accepted.notify_all()
            thread = threading.Thread(target=self._serve, args=(conn,), name=f"script-conn-{conn.index}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: RawConn) -> None:
        try:
            self.script(conn)
        except (ClientEOF, OSError, TimeoutError):
            pass  # the client went away, or stop() cut the connection
        except BaseException as exc:  # reported by check()
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                conn.finish()

    def wait_conns(self, count: int, timeout: float = 10.0) -> list[RawConn]:
        with self._accepted:
            ok = self._accepted.wait_for(lambda: len(self.conns) >= count, timeout)
        assert ok, f"server saw {len(self.conns)} of {count} connections"
        return self.conns

    def join_conns(self, timeout: float = 10.0) -> None:
        """Wait until every connection's script has ended (the listener stays up)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "script threads still running"

    def stop(self) -> None:
        """Stop listening and reset every open connection; join every thread (bounded)."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        if self._acceptor is not None:
            self._acceptor.join(5)
        for conn in list(self.conns):
            reset(conn)
        for thread in list(self._threads):
            thread.join(5)
        assert not any(t.is_alive() for t in self._threads), "script threads still running"

    def check(self) -> None:
        """Re-raise the first failure of a script (assertions inside scripts)."""
        if self.errors:
            raise AssertionError(f"server script failed: {self.errors[0]!r}") from self.errors[0]


@contextlib.contextmanager
def script_server(script: Callable[[RawConn], None]) -> Iterator[ScriptServer]:
    server = ScriptServer(script).start()
    try:
        yield server
    finally:
        server.stop()
    server.check()


def reset(conn: RawConn) -> None:
    """Abort the connection with a TCP reset (no close frame, no FIN)."""
    if conn.closed:
        return
    conn.closed = True
    with contextlib.suppress(OSError):
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        conn.sock.shutdown(socket.SHUT_RD)  # wakes the script's blocked read; sends nothing
    with contextlib.suppress(OSError):
        conn.sock.close()


def serve_until_close(
    conn: RawConn,
    timeout: float = 15.0,
    on_frame: Callable[[Frame], None] | None = None,
    handshake: bool = True,
) -> None:
    """Answer the handshake, then pings; echo text and binary frames and the client's close.

    Ends at the client's close, EOF, or ``timeout``.
    """
    if handshake:
        conn.handshake()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = conn.read_frame(max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            return
        if frame is None:
            return
        if on_frame is not None:
            on_frame(frame)
        if frame.opcode == OP_CLOSE:
            with contextlib.suppress(OSError):
                conn.send_frame(OP_CLOSE, frame.payload[:2])
            return
        if frame.opcode == OP_PING:
            conn.send_frame(0xA, frame.payload)
        elif frame.opcode in (1, 2):
            conn.send_frame(frame.opcode, frame.payload)


def drop_first_then_serve(conn: RawConn) -> None:
    """Ready-made script: drop the first connection after its handshake (the app reconnects), serve the others."""
    if conn.index == 0:
        conn.handshake()
        conn.close_tcp()
    else:
        serve_until_close(conn)


# ------------------------------------------------------------------ rel

LOOP_TIMEOUT = 20.0


def dispatch_until(done: Callable[[], bool], timeout: float = LOOP_TIMEOUT) -> float:
    """Run rel.dispatch() in this thread until ``done()`` (checked every 20 ms) or ``timeout``; returns the time taken."""
    import rel  # optional: only the tests that use a rel loop get here

    started = time.monotonic()
    state = {"timed_out": False}

    def check() -> bool:
        if done():
            rel.abort()
            return False
        if time.monotonic() - started > timeout:
            state["timed_out"] = True
            rel.abort()
            return False
        return True

    rel.timeout(0.02, check)
    rel.dispatch()
    assert not state["timed_out"], f"rel loop still busy after {timeout}s"
    return time.monotonic() - started


# ------------------------------------------------------------------ resources


def open_fds() -> int | None:
    """Descriptors open in this process (None where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def settle_threads(expected: int, timeout: float = 5.0) -> int:
    """threading.active_count() once it has come down to ``expected`` (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while threading.active_count() > expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return threading.active_count()


def settle_fds(expected: int | None, timeout: float = 3.0) -> int | None:
    """open_fds() once it is back to ``expected`` or below (or the timeout passed).

    Other servers of the session may still be closing sockets of earlier
    tests in their own threads, so the count may also end up lower: a leak
    shows as a count above ``expected``.
    """
    deadline = time.monotonic() + timeout
    count = open_fds()
    while count is not None and expected is not None and count > expected and time.monotonic() < deadline:
        time.sleep(0.02)
        count = open_fds()
    return count
