"""WebSocketApp reconnect: the rule, the delays, restarts, and no leaks across many reconnects."""

from __future__ import annotations

import gc
import inspect
import random
import socket
import threading
import time
import weakref

import pytest
from _app_helpers import (
    Recorder,
    Running,
    ScriptServer,
    make_app,
    open_fds,
    run_app,
    script_server,
    serve_until_close,
    settle_fds,
    settle_threads,
)
from _raw_server import RawConn

import websocket
from websocket import Backoff, WebSocketApp

pytestmark = pytest.mark.wsline_only


def by_index(*scripts):
    """A server script that plays ``scripts[i]`` on connection i (the last one for any later)."""

    def script(conn: RawConn) -> None:
        scripts[min(conn.index, len(scripts) - 1)](conn)

    return script


def drop(conn: RawConn) -> None:
    conn.handshake()
    conn.close_tcp()


def close_with(code: int, reason: str = ""):
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_close(code, reason)
        conn.collect(timeout=3)

    return script


def free_port() -> int:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_drop_reconnects_and_a_normal_close_ends_the_run():
    with script_server(by_index(drop, close_with(1000, "bye"))) as server:
        rec = Recorder()
        app = make_app(server.url, rec, reconnect=True)
        assert run_app(app, reconnect=0.05) is False
    assert rec.names() == ["open", "error", "reconnect", "error", "close"]
    assert str(rec.events[1][1]) == "Connection to remote host was lost."
    assert str(rec.events[3][1]) == "Connection closed normally (code 1000): bye"
    assert rec.events[4] == ("close", 1000, "bye")
    assert len(server.conns) == 2


@pytest.mark.parametrize(
    ("code", "reconnects"),
    [
        (1000, False),
        (1005, False),
        (4001, False),
        (1008, False),
        (1001, True),
        (1011, True),
        (1012, True),
        (1013, True),
        (1014, True),
    ],
)
def test_the_close_code_decides(code, reconnects):
    first = close_with(code) if code != 1005 else close_with(None)  # type: ignore[arg-type]
    with script_server(by_index(first, serve_until_close)) as server:
        rec = Recorder()
        app = make_app(server.url, rec, reconnect=True, after={"on_reconnect": lambda ws: ws.close()})
        assert run_app(app, reconnect=0.05) is False
    if reconnects:
        assert rec.names() == ["open", "error", "reconnect", "close"]
        assert rec.events[-1] == ("close", 1000, None)
    else:
        assert rec.names() == ["open", "error", "close"]
        assert rec.events[-1] == ("close", None if code == 1005 else code, None)


def test_failed_attempts_are_reported_then_the_first_success_calls_on_open():
    server = ScriptServer(serve_until_close).start()
    server.stop()  # the port is known, nobody listens: connection refused
    rec = Recorder()
    app = make_app(server.url, rec, reconnect=True, after={"on_open": lambda ws: ws.close()})
    running = Running(app, reconnect=0.05)
    try:
        rec.wait_count("error", 3)
        server.start()
        assert running.result() is False
    finally:
        server.stop()
    names = rec.names()
    assert names[-2:] == ["open", "close"]
    assert set(names[:-2]) == {"error"}
    assert all(isinstance(event[1], ConnectionRefusedError) for event in rec.of("error"))


def test_server_restart():
    server = ScriptServer(serve_until_close).start()
    rec = Recorder()
    state = {"sent": 0}

    def send_next(ws: WebSocketApp) -> None:
        state["sent"] += 1
        ws.send(f"hello {state['sent']}")

    def on_message(ws: WebSocketApp, message: str) -> None:
        if message == "hello 2":
            ws.close()

    app = make_app(
        server.url, rec, reconnect=True, after={"on_open": send_next, "on_reconnect": send_next, "on_message": on_message}
    )
    running = Running(app, reconnect=0.1)
    try:
        rec.wait_count("message", 1)
        server.stop()  # a crash: every connection reset, nobody listening
        rec.wait_count("error", 2)  # the reset, then at least one refused attempt
        server.start()
        assert running.result() is False
    finally:
        server.stop()
    names = rec.names()
    assert names[:3] == ["open", "message", "error"]
    assert names[-3:] == ["reconnect", "message", "close"]
    assert [e[1] for e in rec.of("message")] == ["hello 1", "hello 2"]


def test_the_rule_can_be_overridden_in_a_subclass():
    class Stubborn(WebSocketApp):
        def should_reconnect(self, close_status_code, error):
            return True  # even after a normal close

    with script_server(by_index(close_with(1000), serve_until_close)) as server:
        rec = Recorder()
        app = Stubborn(server.url, on_reconnect=lambda ws: ws.close(), on_close=lambda ws, c, r: rec.add("close", c, r))
        assert run_app(app, reconnect=0.05) is False
    assert len(server.conns) == 2
    assert rec.events == [("close", 1000, None)]


def test_the_rule_can_be_assigned_on_the_instance():
    seen: list[tuple[object, object]] = []

    def never(code, error):
        seen.append((code, error))
        return False

    with script_server(drop) as server:
        rec = Recorder()
        app = make_app(server.url, rec, reconnect=True)
        app.should_reconnect = never
        assert run_app(app, reconnect=0.05) is True
    assert rec.names() == ["open", "error", "close"]
    assert seen == [(None, rec.events[1][1])]


def test_backoff_grows_and_gives_up_after_max_attempts():
    rec = Recorder()
    app = make_app(f"ws://127.0.0.1:{free_port()}/", rec)
    policy = Backoff(initial=0.05, factor=2, maximum=1, jitter=0, max_attempts=3)
    assert run_app(app, reconnect=policy) is True
    assert rec.names() == ["error"] * 4 + ["close"]
    times = [rec.times[i] for i, name in enumerate(rec.names()) if name == "error"]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert [round(g, 2) >= want for g, want in zip(gaps, (0.05, 0.1, 0.2))] == [True, True, True], gaps


def test_backoff_honours_service_restart():
    with script_server(by_index(close_with(1012, "restarting"), serve_until_close)) as server:
        rec = Recorder()
        app = make_app(server.url, rec, reconnect=True, after={"on_reconnect": lambda ws: ws.close()})
        policy = Backoff(initial=0.01, jitter=0, restart_delay=(0.3, 0.4), rng=random.Random(7))
        assert run_app(app, reconnect=policy) is False
    assert rec.names() == ["open", "error", "reconnect", "close"]
    assert rec.times[2] - rec.times[1] >= 0.3


def test_header_callable_is_called_at_every_attempt():
    tokens: list[str] = []
    sent: list[str | None] = []

    def header() -> list[str]:
        tokens.append(f"token-{len(tokens)}")
        return [f"Authorization: Bearer {tokens[-1]}"]

    def note(conn: RawConn) -> None:
        conn.read_request()
        sent.append(conn.header("Authorization"))

    def first(conn: RawConn) -> None:
        note(conn)
        drop(conn)

    def second(conn: RawConn) -> None:
        note(conn)
        serve_until_close(conn)

    with script_server(by_index(first, second)) as server:
        app = make_app(server.url, Recorder(), header=header, reconnect=True, after={"on_reconnect": lambda ws: ws.close()})
        assert run_app(app, reconnect=0.05) is False
    assert sent == ["Bearer token-0", "Bearer token-1"]


def test_close_during_the_reconnect_wait_ends_the_run_at_once():
    with script_server(drop) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        running = Running(app, reconnect=30)
        rec.wait_count("error", 1)
        time.sleep(0.05)
        started = time.monotonic()
        app.close()
        assert running.result(timeout=5) is True  # a drop ended the last connection
        assert time.monotonic() - started < 2
    assert rec.names() == ["open", "error", "close"]


def test_fifty_reconnects_leak_no_thread_no_descriptor_no_stack():
    target = 50
    depths: list[int] = []
    peak_threads: list[int] = []
    rec = Recorder()

    def on_reconnect(ws: WebSocketApp) -> None:
        depths.append(len(inspect.stack(0)))
        peak_threads.append(threading.active_count())
        if len(depths) == target:
            ws.close()

    with script_server(drop) as server:
        app = make_app(server.url, rec, reconnect=True, after={"on_reconnect": on_reconnect})
        gc.collect()
        threads_before, fds_before = threading.active_count(), open_fds()
        started = time.monotonic()
        result = app.run_forever(reconnect=0.001)  # in this thread: the default loop, no helper thread
        elapsed = time.monotonic() - started
        server.wait_conns(target + 1)
        server.join_conns()  # the server's per-connection threads and sockets are gone too
        threads_after = settle_threads(threads_before)
        gc.collect()
        fds_after = settle_fds(fds_before)
    print(
        f"\n{target} reconnects in {elapsed:.2f}s: threads {threads_before} -> {threads_after} "
        f"(peak during the run {max(peak_threads)}, server threads included), fds {fds_before} -> {fds_after}, "
        f"stack depth in on_reconnect {depths[0]} -> {depths[-1]}"
    )
    assert result is False
    assert len(rec.of("reconnect")) == target
    assert len(rec.of("error")) == target  # one per dropped connection
    assert threads_after == threads_before
    if fds_before is not None:
        assert fds_after <= fds_before
    assert depths[-1] == depths[0]


def test_a_finished_app_can_be_garbage_collected(echo_server):
    app = make_app(echo_server.url_for("/echo"), Recorder(), after={"on_open": lambda ws: ws.close()})
    assert app.run_forever(ping_interval=1, ping_timeout=0.5, reconnect=1) is False
    ref = weakref.ref(app)
    del app
    gc.collect()
    assert ref() is None


def test_default_reconnect_comes_from_set_reconnect():
    with script_server(by_index(drop, close_with(1000))) as server:
        rec = Recorder()
        app = make_app(server.url, rec, reconnect=True)
        websocket.set_reconnect(0.05)
        try:
            assert run_app(app) is False
        finally:
            websocket.set_reconnect(0)
    assert rec.names() == ["open", "error", "reconnect", "error", "close"]
