"""WebSocketApp with ``dispatcher=rel``: many apps on one loop, errors contained, any thread."""

from __future__ import annotations

import gc
import signal
import threading
import time
import weakref
from typing import Any

import pytest
from _app_helpers import (
    LOOP_TIMEOUT,
    Recorder,
    dispatch_until,
    drop_first_then_serve,
    make_app,
    open_fds,
    reset,
    script_server,
    serve_until_close,
    settle_fds,
    settle_threads,
)
from _raw_server import RawConn
from _wire import OP_TEXT

import websocket

rel = pytest.importorskip("rel")


def registrations() -> dict[str, int]:
    report = rel.report()
    return {"reads": report["reads"], "timers": report["timers"]}


def echo_client(url: str, rec: Recorder, count: int, tag: str) -> Any:
    """An app that sends ``count`` messages one after the other and closes after the last echo."""

    def on_open(ws: websocket.WebSocketApp) -> None:
        ws.send(f"{tag}-0")

    def on_message(ws: websocket.WebSocketApp, message: str) -> None:
        n = int(message.rsplit("-", 1)[1]) + 1
        if n < count:
            ws.send(f"{tag}-{n}")
        else:
            ws.close()

    return make_app(url, rec, after={"on_open": on_open, "on_message": on_message})


def test_many_apps_on_one_rel_loop(rel_loop, echo_server):
    recs = [Recorder() for _ in range(5)]
    apps = [echo_client(echo_server.url_for("/echo"), rec, 20, f"app{i}") for i, rec in enumerate(recs)]
    for app in apps:
        assert app.run_forever(dispatcher=rel) is False  # returns at once, after on_open
    assert all(rec.names() == ["open"] for rec in recs)
    dispatch_until(lambda: all(rec.of("close") for rec in recs))
    for i, rec in enumerate(recs):
        assert rec.names() == ["open"] + ["message"] * 20 + ["close"]
        assert [e[1] for e in rec.of("message")] == [f"app{i}-{n}" for n in range(20)]
        assert rec.events[-1] == ("close", 1000, None)
    assert all(app.sock is None for app in apps)
    assert registrations() == {"reads": 0, "timers": 0}


def test_a_protocol_error_on_one_connection_does_not_stall_the_others(rel_loop, echo_server):
    """The bad server keeps TCP open after the client's close frame: the client drains without blocking the loop."""

    sent_at: list[float] = []

    def bad(conn: RawConn) -> None:
        conn.handshake()
        time.sleep(0.3)
        sent_at.append(time.monotonic())
        conn.send_raw(b"\x81\x02\xc3\x28")  # invalid UTF-8
        conn.collect(timeout=3)  # reads the client's 1007 close, never answers, keeps TCP open
        time.sleep(1.5)

    ticker_rec = Recorder()
    ticker = echo_client(echo_server.url_for("/echo"), ticker_rec, 10_000, "t")
    with script_server(bad) as server:
        bad_rec = Recorder()
        bad_app = make_app(server.url, bad_rec)
        assert bad_app.run_forever(dispatcher=rel) is False
        ticker.run_forever(dispatcher=rel)
        dispatch_until(lambda: bool(bad_rec.of("close")))
        ticker.close()
        dispatch_until(lambda: bool(ticker_rec.of("close")))
    assert bad_rec.names() == ["open", "error", "close"]
    assert isinstance(bad_rec.events[1][1], websocket.WebSocketPayloadException)
    assert bad_rec.events[2] == ("close", None, None)
    # The client waited (bounded) for the server to close TCP, and the ticker kept going all along.
    failed_at, closed_at = sent_at[0], bad_rec.times[2]
    assert 0.9 <= closed_at - failed_at <= 3
    during = [t for name, t in zip(ticker_rec.names(), ticker_rec.times) if name == "message" and failed_at <= t <= closed_at]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(during) > 10
    assert max(gaps) < 0.5, f"the loop stalled for {max(gaps):.3f}s"


def test_dispatcher_mode_from_a_worker_thread(rel_loop, echo_server):
    recs = [Recorder(), Recorder()]
    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            apps = [echo_client(echo_server.url_for("/echo"), rec, 5, f"w{i}") for i, rec in enumerate(recs)]
            outcome["results"] = [app.run_forever(dispatcher=rel) for app in apps]
            dispatch_until(lambda: all(rec.of("close") for rec in recs))
        except BaseException as exc:
            outcome["error"] = exc

    handler_before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(LOOP_TIMEOUT + 5)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["results"] == [False, False]
    for rec in recs:
        assert rec.names() == ["open"] + ["message"] * 5 + ["close"]
    assert signal.getsignal(signal.SIGINT) is handler_before  # rel.signal is main-thread only: not called


def test_run_forever_with_rel_in_the_main_thread_routes_ctrl_c_to_rel_abort(rel_loop, echo_server):
    app = websocket.WebSocketApp(echo_server.url_for("/echo"), on_open=lambda ws: ws.close())
    app.run_forever(dispatcher=rel)
    assert signal.SIGINT in rel.rel.registrar.signals  # as websocket-client: rel.signal(2, rel.abort)
    dispatch_until(lambda: app.sock is None and not app.keep_running)


def test_reconnect_under_rel(rel_loop):
    with script_server(drop_first_then_serve) as server:
        rec = Recorder()
        app = make_app(
            server.url,
            rec,
            reconnect=True,
            after={"on_reconnect": lambda ws: ws.send("again"), "on_message": lambda ws, m: ws.close()},
        )
        assert app.run_forever(dispatcher=rel, reconnect=0.05) is False
        dispatch_until(lambda: bool(rec.of("close")))
    assert rec.names() == ["open", "error", "reconnect", "message", "close"]
    assert registrations() == {"reads": 0, "timers": 0}


def test_callback_errors_stay_inside_the_app(rel_loop, echo_server):
    rec = Recorder()
    calls = {"n": 0}

    def on_message(ws: websocket.WebSocketApp, message: str) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            ws.send("two")
            raise RuntimeError("handler bug")
        ws.close()

    app = make_app(echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: ws.send("one"), "on_message": on_message})
    app.run_forever(dispatcher=rel)
    dispatch_until(lambda: bool(rec.of("close")))
    assert rec.names() == ["open", "message", "error", "message", "close"]
    assert isinstance(rec.events[2][1], RuntimeError)


def test_keepalive_under_rel_detects_a_silent_server(rel_loop):
    def silent(conn: RawConn) -> None:
        conn.handshake()
        conn.collect(timeout=5, until_close=False)

    with script_server(silent) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        app.run_forever(dispatcher=rel, ping_interval=0.3, ping_timeout=0.2)
        dispatch_until(lambda: bool(rec.of("close")))
    assert rec.names() == ["open", "error", "close"]
    assert str(rec.events[1][1]) == "ping/pong timed out"
    assert 0.15 <= rec.times[1] - rec.times[0] - 0.3 <= 0.6  # ping at 0.3 s, timeout 0.2 s later


def test_first_connect_failure_returns_true_and_reports(rel_loop):
    rec = Recorder()
    app = make_app("ws://127.0.0.1:9/", rec)
    assert app.run_forever(dispatcher=rel) is True
    assert rec.names() == ["error", "close"]
    assert registrations() == {"reads": 0, "timers": 0}


def test_twenty_reconnects_under_rel_leak_nothing(rel_loop):
    def drop(conn: RawConn) -> None:
        conn.handshake()
        conn.close_tcp()

    reconnects: list[int] = []

    def on_reconnect(ws: websocket.WebSocketApp) -> None:
        reconnects.append(1)
        if len(reconnects) == 20:
            ws.close()

    with script_server(drop) as server:
        rec = Recorder()
        app = make_app(server.url, rec, reconnect=True, after={"on_reconnect": on_reconnect})
        threads_before, fds_before = threading.active_count(), open_fds()
        app.run_forever(dispatcher=rel, reconnect=0.001, ping_interval=5, ping_timeout=1)
        dispatch_until(lambda: bool(rec.of("close")))
        server.wait_conns(21)
        server.join_conns()
        threads_after = settle_threads(threads_before)
        fds_after = settle_fds(fds_before)
    assert len(reconnects) == 20
    assert registrations() == {"reads": 0, "timers": 0}
    assert threads_after == threads_before
    if fds_before is not None:  # /proc is Linux-only
        assert fds_after is not None
        assert fds_after <= fds_before


def test_server_sends_while_client_sends(rel_loop):
    """Traffic in both directions at once on one rel loop."""

    def script(conn: RawConn) -> None:
        conn.handshake()
        for n in range(50):
            conn.send_frame(OP_TEXT, f"s{n}".encode())
        serve_until_close(conn, handshake=False)

    with script_server(script) as server:
        rec = Recorder()

        def on_open(ws: websocket.WebSocketApp) -> None:
            for n in range(50):
                ws.send(f"c{n}")

        def on_message(ws: websocket.WebSocketApp, message: str) -> None:
            if len(rec.of("message")) == 100:
                ws.close()

        app = make_app(server.url, rec, after={"on_open": on_open, "on_message": on_message})
        app.run_forever(dispatcher=rel)
        dispatch_until(lambda: bool(rec.of("close")))
    got = [e[1] for e in rec.of("message")]
    assert sorted(got) == sorted([f"s{n}" for n in range(50)] + [f"c{n}" for n in range(50)])
    assert [m for m in got if m.startswith("c")] == [f"c{n}" for n in range(50)]


def _ends_with_close(conn: RawConn) -> None:
    conn.handshake()
    conn.send_close(1000)
    conn.collect(echo_close=True)


def _ends_with_reset(conn: RawConn) -> None:
    conn.handshake()
    time.sleep(0.05)
    reset(conn)


def _ends_with_protocol_error(conn: RawConn) -> None:
    conn.handshake()
    conn.send_raw(b"\x83\x00")  # a reserved opcode
    conn.collect(echo_close=True)


@pytest.mark.parametrize(
    "ending", [_ends_with_close, _ends_with_reset, _ends_with_protocol_error], ids=["close", "reset", "protocol-error"]
)
def test_a_closed_connection_is_freed_without_the_garbage_collector(rel_loop, raw_server, ending):
    # rel keeps deleted registrations in reference cycles, and an error's traceback
    # reaches the frames that handled it: neither may keep a closed connection (and
    # its zlib state) alive until the collector runs.
    seen: list[weakref.ref[Any]] = []
    srv = raw_server(ending)
    app = websocket.WebSocketApp(srv.url, on_open=lambda ws: seen.append(weakref.ref(ws.sock)))
    gc.collect()
    gc.disable()
    try:
        app.run_forever(dispatcher=rel_loop, ping_interval=5, ping_timeout=1)
        dispatch_until(lambda: not app.keep_running and app.sock is None)
        assert len(seen) == 1
        assert seen[0]() is None, "the closed WebSocket is still referenced"
    finally:
        gc.enable()

