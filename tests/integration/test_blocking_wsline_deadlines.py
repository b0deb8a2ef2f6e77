"""wsline-only: per-call receive deadlines and the single-reader rule.

websocket-client 1.9.2 has neither (its recv methods take no timeout, and a
second reader just queues on a lock), so these tests fail or skip there.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from _checks import Stopwatch, run_in_thread
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CONT, OP_TEXT, build_frame, pattern_bytes

import websocket

pytestmark = pytest.mark.wsline_only

RECV_METHODS = ["recv", "recv_data", "recv_data_frame", "recv_frame"]


def _payload_of(method: str, result: Any) -> Any:
    """The message payload out of whatever a recv flavour returns."""
    if method == "recv":
        return result
    if method == "recv_data":
        return result[1]
    if method == "recv_data_frame":
        return result[1].data
    return result.data


@pytest.mark.parametrize("method", RECV_METHODS)
def test_per_call_timeout_raises_without_changing_gettimeout(echo_server, connect, method) -> None:
    ws = connect(echo_server.url_for("/sink"), timeout=5)
    with Stopwatch() as sw, pytest.raises(websocket.WebSocketTimeoutException):
        getattr(ws, method)(timeout=0.2)
    assert 0.15 < sw.elapsed < 1.5
    assert ws.gettimeout() == 5
    assert ws.sock.gettimeout() == 5
    assert ws.connected is True


@pytest.mark.parametrize("method", RECV_METHODS)
def test_message_after_a_per_call_timeout_is_delivered(echo_server, connect, method) -> None:
    ws = connect(echo_server.url_for("/delay", seconds=0.6, text="late"))
    with pytest.raises(websocket.WebSocketTimeoutException):
        getattr(ws, method)(timeout=0.2)
    expected = "late" if method == "recv" else b"late"
    assert _payload_of(method, getattr(ws, method)(timeout=5)) == expected


def test_per_call_timeout_may_exceed_the_socket_timeout(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/delay", seconds=0.5, text="patient"))
    ws.settimeout(0.1)
    assert ws.recv(timeout=3) == "patient"
    assert ws.gettimeout() == 0.1


def test_timeout_zero_polls_an_idle_connection(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"))
    with Stopwatch() as sw, pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv(timeout=0)
    assert sw.elapsed < 1  # no wait: a poll (the bound only allows for a loaded machine)


def test_timeout_zero_returns_a_message_already_waiting(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("ready")
    readable, _, _ = select.select([ws.sock], [], [], 5)
    assert readable, "echo never arrived"
    time.sleep(0.05)  # the whole (tiny) frame is in the socket buffer
    assert ws.recv(timeout=0) == "ready"


def _recv_across_a_timeout(raw_server, connect, head: Sequence[bytes], rest: bytes) -> Any:
    """The server writes each of ``head`` after the handshake, and ``rest`` only once the client's
    ``recv(timeout=0.2)`` has timed out; returns the next ``recv(timeout=5)``."""
    go_on = threading.Event()

    def script(conn: RawConn) -> None:
        conn.handshake()
        for data in head:
            conn.send_raw(data)
        if not go_on.wait(5):
            return  # the test failed before releasing the rest; it reports why
        conn.send_raw(rest)
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url)
    try:
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv(timeout=0.2)
    finally:
        go_on.set()  # even on failure, so the script never waits in vain
    return ws.recv(timeout=5)


@pytest.mark.parametrize("split", [1, 2, 30])
def test_frame_split_across_a_timeout_is_not_lost(raw_server, connect, split) -> None:
    frame = build_frame(OP_BINARY, pattern_bytes(100))
    assert _recv_across_a_timeout(raw_server, connect, [frame[:split]], frame[split:]) == pattern_bytes(100)


def test_fragmented_message_split_across_a_timeout_is_not_lost(raw_server, connect) -> None:
    first = build_frame(OP_TEXT, b"first half, ", fin=False)
    second = build_frame(OP_CONT, b"second half", fin=True)
    assert _recv_across_a_timeout(raw_server, connect, [first, second[:5]], second[5:]) == "first half, second half"


def test_timeout_is_a_deadline_not_an_idle_timer(raw_server, connect) -> None:
    frame = build_frame(OP_BINARY, b"\x07" * 40)

    def script(conn: RawConn) -> None:
        conn.handshake()
        for byte in frame:  # one byte every 50 ms: never idle for long
            conn.send_raw(bytes([byte]))
            time.sleep(0.05)
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    with Stopwatch() as sw, pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv(timeout=0.5)
    assert sw.elapsed < 1.5
    assert ws.recv(timeout=10) == b"\x07" * 40


def _concurrency_error() -> type[Exception]:
    error = getattr(websocket, "WebSocketConcurrencyError", None)
    if error is None:
        pytest.skip("websocket.WebSocketConcurrencyError not defined (name still to be confirmed)")
    return error


def test_second_concurrent_reader_fails_at_once(echo_server, connect) -> None:
    error = _concurrency_error()
    assert issubclass(error, websocket.WebSocketException)
    ws = connect(echo_server.url_for("/echo"), timeout=10)
    reader, outcome = run_in_thread(ws.recv)
    time.sleep(0.3)  # the first reader is now blocked in recv
    with Stopwatch() as sw, pytest.raises(error):
        ws.recv()
    assert sw.elapsed < 1
    ws.send("for the first reader")
    reader.join(5)
    assert outcome == {"result": "for the first reader"}


@pytest.mark.parametrize("method", ["recv_data", "recv_data_frame", "recv_frame"])
def test_every_recv_flavour_refuses_a_second_reader(echo_server, connect, method) -> None:
    error = _concurrency_error()
    ws = connect(echo_server.url_for("/echo"), timeout=10)
    reader, outcome = run_in_thread(ws.recv)
    time.sleep(0.3)
    with pytest.raises(error):
        getattr(ws, method)()
    ws.send("unblock")
    reader.join(5)
    assert outcome == {"result": "unblock"}
