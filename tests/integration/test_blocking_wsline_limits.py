"""wsline-only: the max_size limit (default 64 MiB, None = unlimited).

A message over the limit makes the client send close 1009 and raise
WebSocketPayloadException; the declared frame length is checked before any
payload is read, so a hostile header cannot make the client allocate.
websocket-client 1.9.2 has no limit at all.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from _checks import Stopwatch, socket_closed
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CONT, OP_TEXT, build_frame

import websocket

pytestmark = pytest.mark.wsline_only

MIB = 1024 * 1024
DEFAULT_MAX_SIZE = 64 * MIB


@pytest.mark.parametrize("kind", ["binary", "ascii"])
def test_message_over_max_size_closes_with_1009(echo_server, connect, kind) -> None:
    url, record = echo_server.track("/big", size=1025, type=kind)
    ws = connect(url, max_size=1024)
    with pytest.raises(websocket.WebSocketPayloadException):
        ws.recv()
    assert ws.connected is False
    assert socket_closed(ws)
    record.wait_finished()
    assert record.client_close is not None
    assert record.client_close[0] == 1009


@pytest.mark.parametrize("kind", ["binary", "ascii"])
def test_message_at_max_size_is_accepted(echo_server, connect, kind) -> None:
    ws = connect(echo_server.url_for("/big", size=1024, type=kind), max_size=1024)
    assert len(ws.recv()) == 1024


def test_fragments_count_towards_max_size(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_BINARY, b"a" * 600, fin=False)
        conn.send_frame(OP_CONT, b"b" * 600, fin=True)
        conn.collect()

    srv = raw_server(script)
    ws = connect(srv.url, max_size=1024)
    with pytest.raises(websocket.WebSocketPayloadException):
        ws.recv()
    (conn,) = srv.join()
    assert conn.client_close is not None
    assert conn.client_close.close_code == 1009


@pytest.mark.parametrize("declared", [DEFAULT_MAX_SIZE + 1, 2**40, 2**62])
def test_huge_declared_length_is_refused_before_reading(raw_server, connect, declared) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(build_frame(OP_BINARY, b"", length=declared) + b"\x00" * 1000)
        conn.collect()

    srv = raw_server(script)
    ws = connect(srv.url)
    tracemalloc.start()
    try:
        with Stopwatch() as sw, pytest.raises(websocket.WebSocketPayloadException):
            ws.recv()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sw.elapsed < 2  # it did not wait for the payload
    assert peak < 8 * MIB
    (conn,) = srv.join()
    assert conn.client_close is not None
    assert conn.client_close.close_code == 1009


def test_default_limit_is_64_mib(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(build_frame(OP_TEXT, b"", length=DEFAULT_MAX_SIZE + 1))
        conn.collect()

    srv = raw_server(script)
    ws = connect(srv.url)
    with pytest.raises(websocket.WebSocketPayloadException):
        ws.recv()


@pytest.mark.timeout(120)
def test_max_size_none_accepts_more_than_the_default(echo_server, connect) -> None:
    size = DEFAULT_MAX_SIZE + 1
    ws = connect(echo_server.url_for("/big", size=size), max_size=None, timeout=60)
    data = ws.recv()
    assert len(data) == size
    del data


def test_limit_error_then_send_raises_connection_closed(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/big", size=2048), max_size=100)
    with pytest.raises(websocket.WebSocketPayloadException):
        ws.recv()
    time.sleep(0.05)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.send("after failure")
