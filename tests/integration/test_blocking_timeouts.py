"""Socket timeouts: settimeout/gettimeout, the module default, handshake timeouts."""

from __future__ import annotations

import socket

import pytest
from _checks import Stopwatch
from _raw_server import RawConn

import websocket


def test_timeout_option_sets_gettimeout(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"), timeout=4.5)
    assert ws.gettimeout() == 4.5
    assert ws.timeout == 4.5
    assert ws.sock.gettimeout() == 4.5


def test_settimeout_and_property_update_the_socket(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.settimeout(1.5)
    assert ws.gettimeout() == 1.5
    assert ws.sock.gettimeout() == 1.5
    ws.timeout = 2
    assert ws.gettimeout() == 2
    assert ws.sock.gettimeout() == 2
    ws.settimeout(None)
    assert ws.gettimeout() is None
    assert ws.sock.gettimeout() is None


def test_silent_server_times_out_recv(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"), timeout=0.3)
    with Stopwatch() as sw, pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    assert 0.2 < sw.elapsed < 3


def test_connection_still_usable_after_a_timeout_between_messages(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"), timeout=0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    ws.settimeout(5)
    ws.send("still here")
    assert ws.recv() == "still here"


def test_timeout_is_a_websocket_exception(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"), timeout=0.2)
    with pytest.raises(websocket.WebSocketException):
        ws.recv()


def test_setdefaulttimeout_applies_to_new_connections(echo_server, connect, restore_default_timeout) -> None:
    websocket.setdefaulttimeout(2.5)
    assert websocket.getdefaulttimeout() == 2.5
    ws = connect(echo_server.url_for("/echo"), timeout=None)
    assert ws.gettimeout() == 2.5
    assert ws.sock.gettimeout() == 2.5


def test_default_timeout_is_blocking(echo_server, connect, restore_default_timeout) -> None:
    websocket.setdefaulttimeout(None)
    ws = connect(echo_server.url_for("/echo"), timeout=None)
    assert ws.gettimeout() is None
    assert ws.sock.gettimeout() is None


def test_explicit_timeout_beats_default(echo_server, connect, restore_default_timeout) -> None:
    websocket.setdefaulttimeout(9)
    ws = connect(echo_server.url_for("/echo"), timeout=1)
    assert ws.gettimeout() == 1


def test_handshake_timeout_when_server_never_answers(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.read_request()
        conn.collect(timeout=5, until_close=False)  # hold the socket, say nothing

    srv = raw_server(script)
    with Stopwatch() as sw, pytest.raises(websocket.WebSocketTimeoutException):
        connect(srv.url, timeout=0.5)
    assert sw.elapsed < 3
    (conn,) = srv.join()
    assert conn.eof  # the failed client closed its socket


def test_handshake_timeout_when_response_stalls_midway(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.read_request()
        conn.send_raw(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
        conn.collect(timeout=5, until_close=False)

    srv = raw_server(script)
    with pytest.raises(websocket.WebSocketTimeoutException):
        connect(srv.url, timeout=0.5)


def test_small_timeout_does_not_limit_a_large_send(echo_server, connect) -> None:
    # With a small timeout a normal send still succeeds: the timeout bounds
    # waiting, not the operation.
    ws = connect(echo_server.url_for("/echo"), timeout=0.5)
    ws.send_bytes(b"\x00" * 200_000)
    assert len(ws.recv()) == 200_000
    assert isinstance(ws.sock, socket.socket)
