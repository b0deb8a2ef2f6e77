"""WebSocketApp with dispatchers other than the default: a bare custom one, and rel corner cases."""

from __future__ import annotations

import gc
import os
import select
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from _app_helpers import (
    Recorder,
    dispatch_until,
    drop_first_then_serve,
    make_app,
    open_fds,
    script_server,
    serve_until_close,
    settle_fds,
)
from _raw_server import RawConn
from _wire import OP_TEXT

import websocket
from websocket._dispatcher import SelectDispatcher

pytestmark = pytest.mark.wsline_only


class BareDispatcher:
    """The least a dispatcher can offer: ``read`` and ``timeout`` that return nothing to cancel with.

    Its loop selects on the registered sockets themselves, so it would fail
    at once if the app ever closed a socket that is still registered.
    """

    def __init__(self) -> None:
        self.reads: list[list[Any]] = []
        self.timers: list[tuple[float, Callable[..., Any], tuple[Any, ...]]] = []

    def read(self, sock: Any, callback: Callable[[], Any]) -> None:
        self.reads.append([sock, callback])

    def timeout(self, seconds: float, callback: Callable[..., Any], *args: Any) -> None:
        self.timers.append((time.monotonic() + seconds, callback, args))

    def run_until(self, done: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "bare dispatcher: still busy"
            socks = [entry[0] for entry in self.reads]
            ready = select.select(socks, [], [], 0.01)[0] if socks else (time.sleep(0.01) or [])
            for entry in list(self.reads):
                if entry[0] in ready and not entry[1]():
                    self.reads.remove(entry)
            now = time.monotonic()
            due = [t for t in self.timers if t[0] <= now]
            self.timers = [t for t in self.timers if t[0] > now]
            for when, callback, args in due:
                if callback(*args):
                    self.timers.append((now + (now - when), callback, args))

    def drain(self, seconds: float = 0.3) -> None:
        """Let late registrations (superseded timers, last reader calls) run out."""
        end = time.monotonic() + seconds
        self.run_until(lambda: time.monotonic() >= end)


def test_bare_dispatcher_with_reconnect_and_keepalive():
    with script_server(drop_first_then_serve) as server:
        fds_before = open_fds()
        rec = Recorder()
        after = {"on_reconnect": lambda ws: ws.send("hello"), "on_message": lambda ws, m: ws.close()}
        app = make_app(server.url, rec, reconnect=True, after=after)
        loop = BareDispatcher()
        assert app.run_forever(dispatcher=loop, reconnect=0.05, ping_interval=0.5, ping_timeout=0.45) is False
        loop.run_until(lambda: bool(rec.of("close")))
        loop.drain()
        server.join_conns()
        fds_after = settle_fds(fds_before)
    assert rec.names() == ["open", "error", "reconnect", "message", "close"]
    assert loop.reads == []  # every reader unregistered itself
    if fds_before is not None:  # /proc is Linux-only
        assert fds_after is not None
        assert fds_after <= fds_before  # and closed its descriptor on its way out


def test_keyboard_interrupt_in_a_callback_tears_the_app_down_and_escapes_rel(echo_server, rel_loop):
    rel = rel_loop
    rec = Recorder()

    def on_message(ws: websocket.WebSocketApp, message: str) -> None:
        raise KeyboardInterrupt

    app = make_app(echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: ws.send("x"), "on_message": on_message})
    app.run_forever(dispatcher=rel)
    with pytest.raises(KeyboardInterrupt):
        rel.timeout(10, rel.abort)  # bound, in case the interrupt got lost
        rel.dispatch()
    assert rec.names() == ["open", "message", "error", "close"]
    assert isinstance(rec.events[2][1], KeyboardInterrupt)
    assert app.sock is None
    assert rel.report()["reads"] == 0


def test_a_finished_app_on_rel_can_be_garbage_collected(echo_server, rel_loop):
    rec = Recorder()
    app = make_app(
        echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: ws.send("x"), "on_message": lambda ws, m: ws.close()}
    )
    app.run_forever(dispatcher=rel_loop, ping_interval=5, ping_timeout=1, reconnect=1)
    dispatch_until(lambda: bool(rec.of("close")), timeout=10)
    assert rec.names() == ["open", "message", "close"]
    ref = weakref.ref(app)
    del app
    gc.collect()
    assert ref() is None


def test_messages_that_came_with_the_handshake_answer_are_delivered():
    """Frames in the same TCP segment as the 101: select never sees them, the app still does."""

    def script(conn: RawConn) -> None:
        conn.handshake(trailer=bytes([0x80 | OP_TEXT, 5]) + b"early")
        serve_until_close(conn, handshake=False)

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec, after={"on_message": lambda ws, m: ws.close()})
        loop = BareDispatcher()
        app.run_forever(dispatcher=loop)
        loop.run_until(lambda: bool(rec.of("close")))
        loop.drain(0.1)
    assert rec.events == [("open",), ("message", "early"), ("close", 1000, None)]


def _echo_apps(url: str, count: int, got: list[str], closed: list[int]) -> list[websocket.WebSocketApp]:
    return [
        websocket.WebSocketApp(
            url,
            on_open=lambda ws: ws.send("x"),
            on_message=lambda ws, message: got.append(message),
            on_close=lambda ws, code, reason: closed.append(1),
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("which", ["own loop", "rel"])
def test_a_served_connection_on_a_loop_holds_no_event_queue(echo_server, which, request):
    """Once its messages are delivered and the socket is empty, a loop connection gives its event queue back.

    Thousands of idle connections then hold none, and the queues of one round of
    messages die at once instead of waiting for the garbage collector.
    """
    loop: Any = request.getfixturevalue("rel_loop") if which == "rel" else SelectDispatcher()
    got: list[str] = []
    closed: list[int] = []
    apps = _echo_apps(echo_server.url_for("/echo"), 2, got, closed)
    for app in apps:
        assert app.run_forever(dispatcher=loop) is False
    queues: list[Any] = []
    deadline = time.monotonic() + 10

    def check() -> bool:
        if not queues and len(got) == len(apps):
            queues.extend(app.sock.conn.proto.events for app in apps if app.sock is not None)
            for app in apps:
                app.close()
        if len(closed) == len(apps) or time.monotonic() > deadline:
            loop.abort()
            return False
        return True

    loop.timeout(0.02, check)
    loop.dispatch()
    assert got == ["x", "x"]
    assert len(queues) == 2 and not queues[0] and queues[0] is queues[1], "each idle connection kept a queue of its own"
    assert len(closed) == 2



def test_apps_on_rel_share_one_read_registration_gone_with_the_last(echo_server, rel_loop):
    """rel pays per registration on every event: all of a program's sockets sit behind one."""
    rel = rel_loop
    got: list[str] = []
    closed: list[int] = []
    apps = _echo_apps(echo_server.url_for("/echo"), 3, got, closed)
    for app in apps:
        assert app.run_forever(dispatcher=rel) is False
    reads_while_open = rel.report()["reads"]
    dispatch_until(lambda: len(got) == len(apps), timeout=10)
    assert got == ["x"] * len(apps)
    for app in apps:
        app.close()
    dispatch_until(lambda: len(closed) == len(apps), timeout=10)
    report = rel.report()  # the SIGINT handler stays, as websocket-client leaves it
    assert (report["reads"], report["timers"]) == (0, 0)
    assert reads_while_open == 1
    assert closed == [1] * len(apps)


def test_a_watch_made_after_rel_init_lands_in_the_new_registrar(echo_server, rel_loop):
    """rel.init() replaces rel's registrar (tests and restarts do it): the shared registration follows."""
    rel = rel_loop
    got: list[str] = []
    closed: list[int] = []
    first, second = _echo_apps(echo_server.url_for("/echo"), 2, got, closed)
    first.run_forever(dispatcher=rel)
    dispatch_until(lambda: len(got) == 1, timeout=10)
    rel.init()  # the first app's registration is gone with the old registrar
    second.run_forever(dispatcher=rel)
    assert rel.report()["reads"] == 1
    dispatch_until(lambda: len(got) == 2, timeout=10)
    for app in (first, second):
        app.close()
    dispatch_until(lambda: len(closed) == 2, timeout=10)
    assert got == ["x", "x"]
    assert rel.report()["reads"] == 0


# The child only looks up a dictionary and leaves through os._exit: no lock of another thread is needed.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_does_not_share_the_parents_wait(rel_loop):
    """After fork the epoll instance would be shared by both processes: the child makes its own."""
    from websocket._dispatcher import shared_wait_for

    parent = shared_wait_for(rel_loop)
    assert parent is not None
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        child = shared_wait_for(rel_loop)
        os._exit(0 if child is not None and child is not parent else 1)
    deadline = time.monotonic() + 10
    done, status = os.waitpid(pid, os.WNOHANG)
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert done, "the forked child did not finish"
    assert os.waitstatus_to_exitcode(status) == 0
    assert shared_wait_for(rel_loop) is parent


def test_other_dispatchers_get_one_registration_per_socket(echo_server):
    """Only rel is known to take an epoll descriptor and drop it on delete(): any other sees each socket."""
    got: list[str] = []
    closed: list[int] = []
    apps = _echo_apps(echo_server.url_for("/echo"), 2, got, closed)
    loop = BareDispatcher()
    for app in apps:
        app.run_forever(dispatcher=loop)
    assert [entry[0] for entry in loop.reads] == [app.sock.sock for app in apps]
    loop.run_until(lambda: len(got) == len(apps))
    for app in apps:
        app.close()
    loop.run_until(lambda: len(closed) == len(apps))
    loop.drain(0.1)
