"""wsline-only: context manager, close_code/close_reason, nothing after close."""

from __future__ import annotations

import pytest
from _checks import socket_closed
from _raw_server import RawConn
from _wire import OP_TEXT

import websocket

pytestmark = pytest.mark.wsline_only


def test_context_manager_closes_with_1000(echo_server) -> None:
    url, record = echo_server.track("/echo")
    with websocket.create_connection(url, timeout=5) as ws:
        ws.send("inside")
        assert ws.recv() == "inside"
    assert ws.connected is False
    assert socket_closed(ws)
    record.wait_finished()
    assert record.client_close == (1000, "")


def test_context_manager_closes_when_the_body_raises(echo_server) -> None:
    url, record = echo_server.track("/echo")
    with pytest.raises(RuntimeError, match="boom"), websocket.create_connection(url, timeout=5) as ws:
        raise RuntimeError("boom")
    assert ws.connected is False
    record.wait_finished()
    assert record.client_close is not None


def test_context_manager_on_an_already_closed_connection(echo_server) -> None:
    with websocket.create_connection(echo_server.url_for("/close", code=1000), timeout=5) as ws:
        assert ws.recv() == ""
    assert ws.connected is False
    assert socket_closed(ws)


def test_close_code_and_reason_after_server_close(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=4001, reason="bye"))
    assert ws.close_code is None
    assert ws.close_reason is None
    assert ws.recv() == ""
    assert ws.close_code == 4001
    assert ws.close_reason == "bye"


def test_close_code_after_client_close(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.close(status=4002, reason="mine")
    assert ws.close_code == 4002  # the code the server sent back (it echoes ours)
    assert ws.close_reason == "mine"


def test_close_code_without_code_is_1005(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_close(None)
        conn.collect()

    ws = connect(raw_server(script).url)
    assert ws.recv() == ""
    assert ws.close_code == 1005  # RFC 6455 7.1.5: no status code present
    assert ws.close_reason == ""


def test_no_data_delivered_after_the_close_frame(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_close(1000, "done")
        conn.send_frame(OP_TEXT, b"after close")  # forbidden by RFC 6455 5.5.1
        conn.collect()

    ws = connect(raw_server(script).url)
    assert ws.recv() == ""
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()


def test_close_code_survives_the_closed_exception(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=4003, reason="later"))
    assert ws.recv() == ""
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()
    assert ws.close_code == 4003
