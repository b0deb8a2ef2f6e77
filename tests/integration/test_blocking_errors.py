"""Failures before the connection is open: network errors and bad handshakes."""

from __future__ import annotations

import contextlib
import socket

import pytest
from _checks import Stopwatch
from _raw_server import RawConn
from _wire import OP_TEXT, build_frame

import websocket


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(connect) -> None:
    with pytest.raises(ConnectionRefusedError):
        connect(f"ws://127.0.0.1:{_free_port()}/")


def test_dns_failure_is_an_address_exception(connect) -> None:
    # The .invalid TLD is reserved (RFC 2606): resolution fails locally.
    with pytest.raises(websocket.WebSocketAddressException):
        connect("ws://no-such-host.invalid/")


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/", "https://127.0.0.1:1/", "ftp://x/"])
def test_bad_scheme_is_a_value_error(connect, url) -> None:
    with pytest.raises(ValueError):
        connect(url)


def test_missing_host_is_a_value_error(connect) -> None:
    with pytest.raises(ValueError):
        connect("ws:///path")


def test_bad_status_from_real_server(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(echo_server.url_for("/reject", status=403, body="go away"))
    exc = info.value
    assert exc.status_code == 403
    assert exc.resp_body == b"go away"
    assert exc.resp_headers["content-length"] == "7"
    assert "403" in str(exc)


def test_bad_status_from_raw_server_with_headers_and_body(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(503, headers=[("Retry-After", "30"), ("X-Why", "maintenance")], body=b"down for now")

    srv = raw_server(script)
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(srv.url)
    exc = info.value
    assert exc.status_code == 503
    assert exc.resp_headers["retry-after"] == "30"
    assert exc.resp_headers["x-why"] == "maintenance"
    assert exc.resp_body == b"down for now"
    (conn,) = srv.join()
    assert conn.eof  # the client closed its socket after the failure


def test_bad_status_without_body(raw_server, connect) -> None:
    srv = raw_server(lambda conn: conn.handshake(400, content_length=False))
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(srv.url)
    assert info.value.status_code == 400


def test_bad_status_is_a_websocket_exception(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketException):
        connect(echo_server.url_for("/reject", status=500))


def test_unknown_route_is_a_404(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(echo_server.url_for("/nowhere"))
    assert info.value.status_code == 404


@pytest.mark.parametrize(
    "handshake_kwargs",
    [
        pytest.param({"accept": "dGhpcyBpcyBub3QgdGhlIGtleQ=="}, id="wrong-accept"),
        pytest.param({"accept": False}, id="missing-accept"),
        pytest.param({"upgrade": None}, id="missing-upgrade"),
        pytest.param({"upgrade": "h2c"}, id="wrong-upgrade"),
        pytest.param({"connection": None}, id="missing-connection"),
        pytest.param({"connection": "close"}, id="wrong-connection"),
    ],
)
def test_invalid_101_is_a_handshake_error(raw_server, connect, handshake_kwargs) -> None:
    srv = raw_server(lambda conn: conn.handshake(**handshake_kwargs))
    with pytest.raises(websocket.WebSocketException) as info:
        connect(srv.url)
    assert not isinstance(info.value, websocket.WebSocketBadStatusException)
    (conn,) = srv.join()
    assert conn.eof


def test_upgrade_and_connection_tokens_are_case_insensitive(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(upgrade="WebSocket", connection="keep-alive, UPGRADE")
        conn.send_frame(OP_TEXT, b"ok")
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url)
    assert ws.recv() == "ok"


def test_server_closes_before_answering(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.read_request()
        conn.close_tcp()

    with pytest.raises(websocket.WebSocketException):
        connect(raw_server(script).url)


def test_server_closes_mid_response(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.read_request()
        conn.send_raw(b"HTTP/1.1 101 Switching Protocols\r\nUpg")
        conn.close_tcp()

    with pytest.raises(websocket.WebSocketException):
        connect(raw_server(script).url)


def test_extra_101_headers_are_kept(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(headers=[("X-Server", "raw"), ("Set-Cookie", "k=v")])
        conn.send_frame(OP_TEXT, b"hi")
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url)
    assert ws.headers["x-server"] == "raw"
    assert ws.headers["set-cookie"] == "k=v"
    assert ws.recv() == "hi"


def test_frame_right_after_a_slow_101_and_in_same_chunk(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(trailer=build_frame(OP_TEXT, b"tail"), chunk=7)
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url)
    assert ws.recv() == "tail"


@pytest.mark.wsline_only
def test_unrequested_subprotocol_in_101_is_rejected(raw_server, connect) -> None:
    # RFC 6455 4.1 (client step 6): a subprotocol the client did not offer
    # fails the connection; websocket-client 1.9.2 accepts it silently.
    srv = raw_server(lambda conn: conn.handshake(subprotocol="surprise"))
    with pytest.raises(websocket.WebSocketException):
        connect(srv.url)


@pytest.mark.wsline_only
def test_unrequested_extension_in_101_is_rejected(raw_server, connect) -> None:
    srv = raw_server(lambda conn: conn.handshake(headers=[("Sec-WebSocket-Extensions", "x-unknown")]))
    with pytest.raises(websocket.WebSocketException):
        connect(srv.url)


@pytest.mark.wsline_only
def test_endless_handshake_response_is_refused_quickly(raw_server, connect) -> None:
    # A server streaming header lines forever must hit a size limit, not
    # grow the client's memory until the socket timeout (1.9.2 reads on).
    block = b"".join(f"X-Filler-{i}: {'a' * 50}\r\n".encode() for i in range(1000))

    def script(conn: RawConn) -> None:
        conn.read_request()
        with contextlib.suppress(OSError):  # the client hangs up: expected
            conn.send_raw(b"HTTP/1.1 101 Switching Protocols\r\n")
            for _ in range(4):  # about 256 KiB of headers, then silence
                conn.send_raw(block)
            conn.collect(timeout=5, until_close=False)

    with Stopwatch() as sw, pytest.raises(websocket.WebSocketException) as info:
        connect(raw_server(script).url, timeout=3)
    assert not isinstance(info.value, websocket.WebSocketTimeoutException)
    assert sw.elapsed < 3
