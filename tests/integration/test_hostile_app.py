"""WebSocketApp against hostile servers: on_error then on_close, each exactly once; nothing partial; nothing leaked.

The per-scenario behaviour of the connection is tested on the blocking client
(test_hostile_framing.py, test_hostile_connection.py,
test_blocking_protocol_violations.py); here every scenario runs through
``run_forever`` to check what an application sees: one ``on_error`` with a
documented exception, then one ``on_close``, no ``on_message`` with part of a
message, ``run_forever`` returning True, and no descriptor or thread left.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from _app_helpers import Recorder, Running, dispatch_until, make_app, run_app, script_server, settle_threads
from _hostile import check_error, open_fds, reset, settle, stream_until_client_leaves
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CONT, OP_TEXT, build_frame
from websockets.sync.server import ServerConnection, serve

import websocket

pytestmark = pytest.mark.wsline_only

Script = Callable[[RawConn], None]


def after_handshake(send: bytes, ending: str = "linger") -> Script:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"first")
        conn.send_raw(send)
        time.sleep(0.1)
        if ending == "fin":
            conn.close_tcp()
        elif ending == "rst":
            reset(conn)
        else:
            conn.collect(timeout=3)

    return script


def handshake_only(**kwargs: Any) -> Script:
    def script(conn: RawConn) -> None:
        conn.handshake(**kwargs)
        conn.collect(timeout=3, until_close=False)

    return script


def silent(conn: RawConn) -> None:
    conn.handshake()
    conn.send_frame(OP_TEXT, b"first")
    time.sleep(3)  # reads nothing, answers no ping, keeps TCP open


HUGE_CUT = build_frame(OP_BINARY, b"\x00" * 300_000, length=2_000_000)
SCENARIOS: dict[str, tuple[Script, type[Exception], bool]] = {
    # name: (server script, error class on_error gets, whether on_open comes first)
    "rsv-bits": (after_handshake(build_frame(OP_TEXT, b"x", rsv=0b010)), websocket.WebSocketProtocolException, True),
    "masked-frame": (after_handshake(build_frame(OP_TEXT, b"x", mask=b"abcd")), websocket.WebSocketProtocolException, True),
    "utf8-split-across-fragments": (
        after_handshake(build_frame(OP_TEXT, b"ok\xc3", fin=False) + build_frame(OP_CONT, b"\x28")),
        websocket.WebSocketPayloadException,
        True,
    ),
    "over-max-size": (after_handshake(build_frame(OP_BINARY, b"", length=2**63 - 1)), websocket.WebSocketPayloadException, True),
    "huge-message-then-fin": (after_handshake(HUGE_CUT, "fin"), websocket.WebSocketConnectionClosedException, True),
    "huge-message-then-rst": (after_handshake(HUGE_CUT, "rst"), OSError, True),
    "fragments-then-fin": (
        after_handshake(build_frame(OP_TEXT, b"half of", fin=False) + build_frame(OP_CONT, b" it", fin=False), "fin"),
        websocket.WebSocketConnectionClosedException,
        True,
    ),
    "silent-under-keepalive": (silent, websocket.WebSocketTimeoutException, True),
    "wrong-accept": (handshake_only(accept="AAAAAAAAAAAAAAAAAAAAAAAAAAA="), websocket.WebSocketHandshakeException, False),
    "status-200": (handshake_only(status=200, body=b"hello"), websocket.WebSocketBadStatusException, False),
    "unoffered-subprotocol": (handshake_only(subprotocol="surprise"), websocket.WebSocketHandshakeException, False),
}


@pytest.mark.parametrize("case", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_one_error_then_one_close_and_nothing_partial(case) -> None:
    script, error, opens = case
    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        gc.collect()
        threads, fds = threading.active_count(), open_fds()
        result = run_app(app, timeout=15, ping_interval=0.5, ping_timeout=0.4)
        server.join_conns()
    assert result is True
    expected = ["open", "message", "error", "close"] if opens else ["error", "close"]
    assert rec.names() == expected, rec.events
    if opens:
        assert rec.of("message") == [("message", "first")]  # never a part of the broken message
    (_, exc) = rec.of("error")[0]
    check_error(exc)
    assert isinstance(exc, error), repr(exc)
    assert app.sock is None
    assert settle_threads(threads) <= threads
    assert settle(lambda: open_fds() <= fds), f"descriptors: {fds} before, {open_fds()} after"


def test_a_server_that_drops_right_after_accepting_is_retried_without_growth() -> None:
    # The websockets client gives up on this one; here every attempt fails in the
    # handshake, is reported, and the next one is scheduled, with nothing piling up.
    def drop_at_once(conn: RawConn) -> None:
        conn.close_tcp()

    attempts = 25
    with script_server(drop_at_once) as server:
        rec = Recorder()

        def on_error(ws: websocket.WebSocketApp, exc: BaseException) -> None:
            if len(rec.of("error")) >= attempts:
                ws.close()

        app = make_app(server.url, rec, after={"on_error": on_error})
        gc.collect()
        threads, fds = threading.active_count(), open_fds()
        run_app(app, timeout=20, reconnect=0.01)
        server.wait_conns(attempts)
        server.join_conns()
        threads_after = settle_threads(threads)
        gc.collect()
        fds_after = open_fds()
    errors = rec.of("error")
    assert len(errors) == attempts
    for _, exc in errors:
        check_error(exc)
    assert rec.names() == ["error"] * attempts + ["close"]
    assert threads_after <= threads
    assert fds_after <= fds


# ------------------------------------------------------------ a shared loop

rel = pytest.importorskip("rel")


FLOODS = {
    "empty-fragments": build_frame(OP_CONT, b"", fin=False) * 2000,
    "pings": build_frame(0x9, b"") * 2000,
}


@pytest.mark.parametrize("flood", list(FLOODS.values()), ids=list(FLOODS))
def test_an_endless_flood_on_one_connection_does_not_starve_the_others(rel_loop, echo_server, flood) -> None:
    # Frames that never make a message (empty fragments) or keep the app busy (pings)
    # arrive as fast as loopback allows; the other app on the loop must go on.

    def flooder(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"start", fin=False)
        stream_until_client_leaves(conn, flood, seconds=15)

    ticks: list[float] = []

    def on_message(ws: websocket.WebSocketApp, message: str) -> None:
        ticks.append(time.monotonic())
        if len(ticks) < 200:
            ws.send(message)
        else:
            ws.close()

    with script_server(flooder) as server:
        flood_rec, echo_rec = Recorder(), Recorder()
        flooded = make_app(server.url, flood_rec)
        echo = make_app(
            echo_server.url_for("/echo"), echo_rec, after={"on_open": lambda ws: ws.send("tick"), "on_message": on_message}
        )
        assert flooded.run_forever(dispatcher=rel) is False
        assert echo.run_forever(dispatcher=rel) is False
        dispatch_until(lambda: bool(echo_rec.of("close")), timeout=20)
        flooded.close()
        dispatch_until(lambda: bool(flood_rec.of("close")), timeout=10)
    assert len(ticks) == 200
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.5, f"the loop stalled for {max(gaps):.3f}s"
    assert flood_rec.names() == ["open", "close"]  # closed by the app: no error to report


def test_close_from_another_thread_while_a_send_is_stuck() -> None:
    # The server stops reading; a worker's app.send() blocks (no timeout set). app.close()
    # from a third thread must still end the run within its timeout.
    release = threading.Event()

    def never_reads(conn: RawConn) -> None:
        conn.handshake()
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        release.wait(5)  # the bound of this test when close() does hang

    with script_server(never_reads) as server:
        try:
            rec = Recorder()
            app = make_app(server.url, rec)
            running = Running(app)
            rec.wait_count("open", 1)
            send_errors: list[BaseException] = []

            def flood() -> None:
                with contextlib.suppress(Exception):
                    while True:
                        app.send(b"\x00" * 262_144, websocket.ABNF.OPCODE_BINARY)
                send_errors.append(RuntimeError("ended"))

            sender = threading.Thread(target=flood, daemon=True)
            sender.start()
            time.sleep(0.5)
            started = time.monotonic()
            app.close(timeout=1)
            closed_in = time.monotonic() - started
            running.result(timeout=5)
            sender.join(5)
        finally:
            release.set()
    assert closed_in < 3, f"app.close() took {closed_in:.1f}s"
    assert not sender.is_alive()
    assert rec.names()[-1] == "close"


def test_closing_in_the_loop_while_a_send_is_stuck_does_not_freeze_a_shared_loop(rel_loop, echo_server) -> None:
    # app.close() from the loop's own thread (a rel timer here) while a worker's send is
    # stuck: the loop must not wait for the send lock, the other app must go on.
    release = threading.Event()

    def never_reads(conn: RawConn) -> None:
        conn.handshake()
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        release.wait(10)

    ticks: list[float] = []

    def on_message(ws: websocket.WebSocketApp, message: str) -> None:
        ticks.append(time.monotonic())
        ws.send(message)

    with script_server(never_reads) as server:
        try:
            stuck_rec, echo_rec = Recorder(), Recorder()
            stuck = make_app(server.url, stuck_rec)
            echo = make_app(
                echo_server.url_for("/echo"), echo_rec, after={"on_open": lambda ws: ws.send("t"), "on_message": on_message}
            )
            stuck.run_forever(dispatcher=rel)
            echo.run_forever(dispatcher=rel)

            def flood() -> None:
                with contextlib.suppress(Exception):
                    while True:
                        stuck.send(b"\x00" * 262_144, websocket.ABNF.OPCODE_BINARY)

            sender = threading.Thread(target=flood, daemon=True)
            sender.start()
            closed_at: list[float] = []

            def close_stuck() -> bool:
                closed_at.append(time.monotonic())
                stuck.close(timeout=1)
                return False

            rel.timeout(0.5, close_stuck)
            dispatch_until(lambda: bool(stuck_rec.of("close")), timeout=10)
            ended_in = stuck_rec.times[-1] - closed_at[0]
            echo.close()
            dispatch_until(lambda: bool(echo_rec.of("close")), timeout=10)
            sender.join(5)
        finally:
            release.set()
    assert ended_in < 3, f"the stuck app took {ended_in:.1f}s to close"
    assert not sender.is_alive()
    during = [t for t in ticks if closed_at[0] - 0.2 <= t <= closed_at[0] + ended_in]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert during and max(gaps, default=0) < 0.5, "the shared loop stalled"


def test_a_reconnect_to_a_server_that_never_answers_does_not_freeze_a_shared_loop(rel_loop, echo_server) -> None:
    release = threading.Event()

    def drop_then_hang(conn: RawConn) -> None:
        if conn.index == 0:
            conn.handshake()
            conn.close_tcp()  # the app reconnects, from inside the loop
        else:
            conn.read_request()
            release.wait(4)  # says nothing: a handshake that never ends

    ticks: list[float] = []

    def on_message(ws: websocket.WebSocketApp, message: str) -> None:
        ticks.append(time.monotonic())
        ws.send(message)

    with script_server(drop_then_hang) as server:
        try:
            hang_rec, echo_rec = Recorder(), Recorder()
            hanging = make_app(server.url, hang_rec, reconnect=True)
            echo = make_app(
                echo_server.url_for("/echo"), echo_rec, after={"on_open": lambda ws: ws.send("t"), "on_message": on_message}
            )
            echo.run_forever(dispatcher=rel)
            hanging.run_forever(dispatcher=rel, reconnect=0.1)
            dispatch_until(lambda: len(server.conns) >= 2 and bool(ticks) and time.monotonic() - ticks[0] > 2, timeout=10)
            hanging.close()
            echo.close()
            dispatch_until(lambda: bool(echo_rec.of("close")) and bool(hang_rec.of("close")), timeout=10)
        finally:
            release.set()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.5, f"the shared loop stalled for {max(gaps):.1f}s during a reconnect"


# ------------------------------------------------------------------ TLS


@pytest.mark.parametrize("loop", ["default", "rel"])
def test_a_small_message_right_behind_a_big_one_over_tls_is_not_held_back(tls, loop, rel_loop) -> None:
    # The app polls its connection with a deadline that has already passed. Decrypted TLS
    # bytes wait inside the SSL object, where select cannot see them: the poll must take
    # them before it gives up, or the small message waits for the server's next word.
    def handler(conn: ServerConnection) -> None:
        conn.send(b"\x00" * 300_000)
        conn.send("tail")
        for message in conn:
            conn.send(message)

    server = serve(handler, "127.0.0.1", 0, ssl=tls.server_context(), compression=None, ping_interval=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rec = Recorder()
        done = {"on_message": lambda ws, message: ws.close() if message == "tail" else None}
        app = make_app(f"wss://localhost:{server.socket.getsockname()[1]}/", rec, after=done)
        started = time.monotonic()
        if loop == "rel":
            app.run_forever(dispatcher=rel, sslopt={"ca_certs": tls.ca_file})
            dispatch_until(lambda: bool(rec.of("close")), timeout=10)
        else:
            run_app(app, timeout=10, sslopt={"ca_certs": tls.ca_file})
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        thread.join(10)
    assert [len(m) for _, m in rec.of("message")] == [300_000, 4]
    assert elapsed < 3
