"""Hostile connections: resets, drops, a server that stops reading, a trickling server, races.

After any failure the client must have raised a documented exception within
its timeout, hold no socket (``connected`` False, descriptor closed), and
answer every later call with WebSocketConnectionClosedException, never an
AttributeError on a missing socket.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _checks import run_in_thread
from _hostile import check_error, expect_failure, open_fds, reset, settle, socket_released
from _raw_server import RawConn
from _wire import OP_BINARY, OP_TEXT, build_frame

import websocket
from websocket import WebSocketConnectionClosedException, WebSocketTimeoutException

pytestmark = pytest.mark.wsline_only


# ---------------------------------------------------------- resets and drops

ENDINGS = {
    "fin-idle": (b"", "fin"),
    "fin-mid-header": (bytes([0x82, 127, 0, 0]), "fin"),
    "fin-mid-payload": (build_frame(OP_BINARY, b"x" * 50, length=5000), "fin"),
    "rst-idle": (b"", "rst"),
    "rst-mid-header": (bytes([0x82, 126]), "rst"),
    "rst-mid-payload": (build_frame(OP_BINARY, b"x" * 50, length=5000), "rst"),
    "rst-mid-fragmented-message": (build_frame(OP_TEXT, b"part one", fin=False), "rst"),
}


@pytest.mark.parametrize("ending", list(ENDINGS.values()), ids=list(ENDINGS))
def test_a_dropped_connection_is_released_and_stays_failed(raw_server, connect, ending) -> None:
    partial, how = ending

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"whole")
        conn.send_raw(partial)
        time.sleep(0.2)
        if how == "rst":
            reset(conn)
        else:
            conn.close_tcp()

    ws = connect(raw_server(script).url, timeout=5)
    assert ws.recv() == "whole"
    exc = expect_failure(ws.recv, within=3)
    assert isinstance(exc, (WebSocketConnectionClosedException, ConnectionResetError)), repr(exc)
    assert ws.connected is False and socket_released(ws)
    for call in (ws.recv, lambda: ws.send("late"), lambda: ws.ping("late"), ws.recv_frame):
        with pytest.raises(WebSocketConnectionClosedException):
            call()
    ws.close()  # still harmless


def test_rst_during_the_closing_handshake_is_not_an_error(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.read_frame(timeout=5)  # the client's close frame
        reset(conn)

    ws = connect(raw_server(script).url, timeout=5)
    ws.close(timeout=2)
    assert ws.connected is False and socket_released(ws)


# ------------------------------------------------ a server that stops reading


@pytest.fixture
def never_reads() -> Iterator[Callable[[RawConn], None]]:
    """A server script that answers the handshake, then reads nothing until the test ends."""
    release = threading.Event()

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the client's writes block sooner
        release.wait(10)

    yield script
    release.set()


def test_send_to_a_server_that_stops_reading_times_out_and_releases(raw_server, connect, never_reads) -> None:
    ws = connect(raw_server(never_reads).url, timeout=1)
    chunk = b"\x00" * 256 * 1024

    def flood() -> None:
        while True:
            ws.send_binary(chunk)

    exc = expect_failure(flood, within=5)
    assert isinstance(exc, WebSocketTimeoutException), repr(exc)
    assert isinstance(exc.__cause__, (TimeoutError, socket.timeout))  # one class from Python 3.10 on
    assert ws.connected is False and socket_released(ws)
    with pytest.raises(WebSocketConnectionClosedException):
        ws.send("after the timeout")


def test_close_from_another_thread_frees_a_send_stuck_without_timeout(raw_server, connect, never_reads) -> None:
    # No timeout set: the send blocks for as long as the server does not read. close()
    # from another thread must still end within its own timeout and wake the sender.
    ws = connect(raw_server(never_reads).url, timeout=None)
    chunk = b"\x00" * 256 * 1024

    def flood() -> None:
        while True:
            ws.send_binary(chunk)

    thread, outcome = run_in_thread(flood)
    time.sleep(0.5)  # the sender is blocked by now
    assert thread.is_alive()
    started = time.monotonic()
    ws.close(timeout=1)
    assert time.monotonic() - started < 3
    thread.join(3)
    assert not thread.is_alive(), "the blocked sender was not woken"
    check_error(outcome["error"])
    assert ws.connected is False and socket_released(ws)


def test_close_against_a_flooding_server_that_never_answers_it(raw_server, connect) -> None:
    # The closing handshake reads (and drops) what comes until the server's close frame; a
    # server that sends messages without end must not hold close() past its timeout.
    def script(conn: RawConn) -> None:
        conn.handshake()
        with contextlib.suppress(OSError):
            while not conn.closed:
                conn.send_raw(build_frame(OP_BINARY, b"more" * 16_000))  # keeps the client's buffer full

    ws = connect(raw_server(script).url, timeout=5)
    started = time.monotonic()
    ws.close(timeout=1)
    assert time.monotonic() - started < 2.5
    assert ws.connected is False and socket_released(ws)


# ---------------------------------------------------------------- trickling


def test_a_trickled_frame_still_arrives_under_an_idle_timeout(raw_server, connect) -> None:
    # The connection timeout bounds each wait (websocket-client's meaning): a frame
    # trickled one byte every 50 ms never trips a 1 s timeout, and arrives whole.
    frame = build_frame(OP_TEXT, b"slow but whole")

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(frame, chunk=1, delay=0.05)
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url, timeout=1)
    assert ws.recv() == "slow but whole"


def test_a_slowloris_frame_cannot_hold_recv_past_its_deadline(raw_server, connect) -> None:
    frame = build_frame(OP_BINARY, b"z" * 2000)

    def script(conn: RawConn) -> None:
        conn.handshake()
        with contextlib.suppress(OSError):
            conn.send_raw(frame, chunk=1, delay=0.01)

    ws = connect(raw_server(script).url, timeout=5)
    exc = expect_failure(lambda: ws.recv(timeout=1), within=2)
    assert isinstance(exc, WebSocketTimeoutException)
    assert ws.connected is True  # a deadline that passes loses nothing: the connection goes on


TRICKLE_CALLS = {
    "recv": lambda ws, t: ws.recv(timeout=t),
    "recv_data": lambda ws, t: ws.recv_data(timeout=t)[1].decode(),
}


@pytest.mark.parametrize("call", list(TRICKLE_CALLS.values()), ids=list(TRICKLE_CALLS))
def test_a_per_call_timeout_bounds_a_trickle_that_the_idle_timeout_never_trips(raw_server, connect, call) -> None:
    # One byte every 0.2 s: under the connection's 1 s timeout (each wait) the trickle
    # would hold a receive for as long as the server likes (websocket-client's meaning);
    # timeout= on the call is the whole call's deadline. What arrived is kept.
    message = "trickled at five bytes a second"
    frame = build_frame(OP_TEXT, message.encode())

    def script(conn: RawConn) -> None:
        conn.handshake()
        with contextlib.suppress(OSError):
            conn.send_raw(frame, chunk=1, delay=0.2)
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url, timeout=1)
    started = time.monotonic()
    exc = expect_failure(lambda: call(ws, 1.5), within=2.2)
    assert isinstance(exc, WebSocketTimeoutException)
    assert time.monotonic() - started >= 1.4
    assert ws.connected is True
    assert call(ws, 10) == message  # the rest comes within ~6 s more: the bytes read before are not lost


# ------------------------------------------------------------- no socket


NO_SOCKET_CALLS = {
    "send": lambda ws: ws.send("x"),
    "send_binary": lambda ws: ws.send_binary(b"x"),
    "ping": lambda ws: ws.ping(),
    "pong": lambda ws: ws.pong(),
    "recv": lambda ws: ws.recv(),
    "recv_data": lambda ws: ws.recv_data(),
    "recv_frame": lambda ws: ws.recv_frame(),
    "send_close": lambda ws: ws.send_close(),
    "fileno": lambda ws: ws.fileno(),
}


@pytest.mark.parametrize("when", ["never-connected", "after-shutdown", "after-close"])
@pytest.mark.parametrize("call", list(NO_SOCKET_CALLS.values()), ids=list(NO_SOCKET_CALLS))
def test_calls_without_a_socket_raise_websocket_exceptions(echo_server, call, when) -> None:
    ws = websocket.WebSocket()
    if when != "never-connected":
        ws.connect(echo_server.url_for("/echo"), timeout=5)
        if when == "after-shutdown":
            ws.shutdown()
        else:
            ws.close()
    try:
        call(ws)
    except websocket.WebSocketException as exc:
        check_error(exc)
    # Without a socket, a call either does nothing (send_close after close) or raises a
    # WebSocketException: the except above; anything else fails the test by escaping.
    ws.close()
    ws.abort()
    ws.shutdown()
    assert ws.connected is False


def test_shutdown_racing_senders_and_a_receiver(echo_server) -> None:
    errors: list[BaseException] = []
    for _ in range(20):
        ws = websocket.create_connection(echo_server.url_for("/echo"), timeout=5)

        def sender(ws: Any = ws) -> None:
            try:
                while True:
                    ws.send("spam" * 100)
            except BaseException as exc:  # judged below
                errors.append(exc)

        def receiver(ws: Any = ws) -> None:
            try:
                while True:
                    ws.recv()
            except BaseException as exc:  # judged below
                errors.append(exc)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(3)]
        threads.append(threading.Thread(target=receiver, daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(0.02)
        ws.shutdown()
        for thread in threads:
            thread.join(5)
            assert not thread.is_alive()
    assert len(errors) == 80  # every thread saw the end
    for exc in errors:
        check_error(exc)
        assert isinstance(exc, WebSocketConnectionClosedException), repr(exc)


def test_no_descriptor_is_left_behind_by_failed_connections(raw_server) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(build_frame(OP_TEXT, b"", rsv=0b010))  # a protocol violation
        conn.collect(timeout=3)

    srv = raw_server(script)
    before = open_fds()
    for _ in range(30):
        ws = websocket.create_connection(srv.url, timeout=5)
        with pytest.raises(websocket.WebSocketProtocolException):
            ws.recv()
        assert socket_released(ws)
    srv.stop()
    assert settle(lambda: open_fds() <= before - 1), f"descriptors: {before} before, {open_fds()} after"
