"""Opening handshake of the blocking client: create_connection, connect and their options."""

from __future__ import annotations

import base64
import socket

import pytest
from _checks import request_headers
from _raw_server import RawConn, accept_and_collect
from _wire import OP_TEXT, build_frame

import websocket


def test_create_connection_returns_open_websocket(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    assert isinstance(ws, websocket.WebSocket)
    assert ws.connected is True
    assert ws.status == 101
    assert ws.getstatus() == 101
    assert ws.is_ssl() is False
    assert ws.fileno() == ws.sock.fileno()
    assert ws.fileno() >= 0


def test_websocket_connect_method(echo_server, connect) -> None:
    ws = connect.track(websocket.WebSocket())
    assert ws.connected is False
    assert ws.getstatus() is None
    ws.connect(echo_server.url_for("/echo"), timeout=5)
    assert ws.connected is True
    ws.send("hi")
    assert ws.recv() == "hi"


def test_same_object_can_connect_again_after_close(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.close()
    assert ws.connected is False
    ws.connect(echo_server.url_for("/echo"), timeout=5)
    ws.send("again")
    assert ws.recv() == "again"


def test_class_option_builds_the_subclass(echo_server, connect) -> None:
    class Custom(websocket.WebSocket):
        pass

    ws = connect(echo_server.url_for("/echo"), class_=Custom)
    assert type(ws) is Custom
    ws.send("sub")
    assert ws.recv() == "sub"


def test_response_headers_have_lowercase_keys(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo", rh="X-Custom-Thing:Yes"))
    assert ws.headers is not None
    assert ws.getheaders() == ws.headers
    assert ws.headers["x-custom-thing"] == "Yes"
    assert ws.headers["upgrade"].lower() == "websocket"
    assert all(key == key.lower() for key in ws.headers)


def test_repeated_set_cookie_headers_are_joined(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo", rh=["Set-Cookie:a=1", "Set-Cookie:b=2"]))
    assert ws.headers["set-cookie"] == "a=1; b=2"


def test_default_request_headers(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/headers"))
    headers = request_headers(ws)
    hostport = f"127.0.0.1:{echo_server.port}"
    assert headers["host"] == [hostport]
    assert headers["origin"] == [f"http://{hostport}"]
    assert headers["upgrade"][0].lower() == "websocket"
    assert "upgrade" in headers["connection"][0].lower()
    assert headers["sec-websocket-version"] == ["13"]
    assert len(base64.b64decode(headers["sec-websocket-key"][0])) == 16


def test_header_list_is_sent(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/headers"), header=["X-One: 1", "X-Two: two words"])
    headers = request_headers(ws)
    assert headers["x-one"] == ["1"]
    assert headers["x-two"] == ["two words"]


def test_header_dict_is_sent_and_none_values_skipped(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/headers"), header={"X-One": "1", "X-Skipped": None})
    headers = request_headers(ws)
    assert headers["x-one"] == ["1"]
    assert "x-skipped" not in headers


def test_cookie_option_is_sent(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/headers"), cookie="a=b; c=d")
    assert request_headers(ws)["cookie"] == ["a=b; c=d"]


def test_custom_origin(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/headers"), origin="https://example.test")
    assert request_headers(ws)["origin"] == ["https://example.test"]


def test_suppress_origin(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/headers"), suppress_origin=True)
    assert "origin" not in request_headers(ws)


def test_custom_host_header_does_not_change_target(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/headers"), host="example.test:1234")
    assert request_headers(ws)["host"] == ["example.test:1234"]


def test_suppress_host(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url, suppress_host=True)
    ws.close()
    (conn,) = srv.join()
    assert conn.header("Host") is None
    assert conn.header("Sec-WebSocket-Key") is not None


def test_request_line_keeps_query_and_drops_fragment(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(f"{srv.url}/a/b?x=1&y=two#frag")
    ws.close()
    (conn,) = srv.join()
    assert conn.request_line == "GET /a/b?x=1&y=two HTTP/1.1"


def test_path_defaults_to_slash(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.close()
    (conn,) = srv.join()
    assert conn.request_line == "GET / HTTP/1.1"


def test_header_dict_can_replace_key_and_version(raw_server, connect) -> None:
    key = base64.b64encode(b"0123456789abcdef").decode()
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url, header={"Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"})
    ws.close()
    (conn,) = srv.join()
    assert conn.header_all("Sec-WebSocket-Key") == [key]
    assert conn.header_all("Sec-WebSocket-Version") == ["13"]


def test_connection_option_replaces_connection_line(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url, connection="Connection: keep-alive, Upgrade")
    ws.close()
    (conn,) = srv.join()
    assert conn.header_all("Connection") == ["keep-alive, Upgrade"]


def test_subprotocol_is_negotiated_and_lowercased(echo_server, connect) -> None:
    url, record = echo_server.track("/subprotocol")
    ws = connect(url, subprotocols=["Chat", "other"])
    assert ws.recv() == "Chat"  # what the server picked and answered
    assert ws.subprotocol == "chat"
    assert ws.getsubprotocol() == "chat"
    offered = [p.strip() for p in dict((k.lower(), v) for k, v in record.headers)["sec-websocket-protocol"].split(",")]
    assert offered == ["Chat", "other"]


def test_no_subprotocol_offered_gives_none(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    assert ws.subprotocol is None
    assert ws.getsubprotocol() is None


def test_offered_subprotocol_missing_in_response_fails(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketException) as info:
        connect(echo_server.url_for("/subprotocol", pick="none"), subprotocols=["chat"])
    assert not isinstance(info.value, websocket.WebSocketBadStatusException)


def test_subprotocol_not_offered_by_client_fails(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketException) as info:
        connect(echo_server.url_for("/subprotocol", pick="other"), subprotocols=["chat"])
    assert not isinstance(info.value, websocket.WebSocketBadStatusException)


def test_handshake_response_in_one_byte_writes(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(chunk=1)
        conn.send_frame(OP_TEXT, b"after slow handshake")
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.status == 101
    assert ws.recv() == "after slow handshake"


def test_frame_in_same_write_as_101_is_not_lost(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(trailer=build_frame(OP_TEXT, b"early") + build_frame(OP_TEXT, b"second"))
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.recv() == "early"
    assert ws.recv() == "second"


def test_default_socket_options_include_tcp_nodelay(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    assert ws.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert any(opt[:2] == (socket.IPPROTO_TCP, socket.TCP_NODELAY) for opt in websocket.DEFAULT_SOCKET_OPTION)


@pytest.mark.skipif(not hasattr(socket, "TCP_KEEPIDLE"), reason="needs TCP_KEEPIDLE")
def test_sockopt_is_applied_after_the_defaults(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"), sockopt=[(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)])
    assert ws.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 77
    ws.send("ok")
    assert ws.recv() == "ok"


def test_preconnected_socket_is_used(echo_server, connect) -> None:
    sock = socket.create_connection(("127.0.0.1", echo_server.port), timeout=5)
    try:
        ws = connect(echo_server.url_for("/echo"), socket=sock)
        assert ws.fileno() == sock.fileno()
        ws.send("through my socket")
        assert ws.recv() == "through my socket"
    finally:
        sock.close()


class _Channel:
    """A socket-like object as tunnels hand out (paramiko's Channel and the like): recv takes no flags."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def recv(self, size: int) -> bytes:
        return self._sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def fileno(self) -> int:
        return self._sock.fileno()

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()


def test_a_socket_like_object_whose_recv_takes_no_flags_works(echo_server, connect) -> None:
    sock = socket.create_connection(("127.0.0.1", echo_server.port), timeout=5)
    try:
        ws = connect(echo_server.url_for("/echo"), socket=_Channel(sock))
        ws.send("through a channel")
        assert ws.recv() == "through a channel"
        ws.send("and again")
        assert ws.recv(timeout=5) == "and again"
    finally:
        sock.close()


def test_sslopt_is_ignored_for_plain_ws(echo_server, connect) -> None:
    import ssl

    ws = connect(echo_server.url_for("/echo"), sslopt={"cert_reqs": ssl.CERT_NONE})
    assert ws.is_ssl() is False
    ws.send("plain")
    assert ws.recv() == "plain"


def test_enable_multithread_false_still_works(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"), enable_multithread=False)
    ws.send("single thread")
    assert ws.recv() == "single thread"


def test_redirect_is_followed(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/redirect", to="/headers"))
    assert ws.status == 101
    assert request_headers(ws) is not None  # the /headers route answered, so we got there


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed(echo_server, connect, status) -> None:
    ws = connect(echo_server.url_for("/redirect", to="/echo", status=status))
    ws.send("moved")
    assert ws.recv() == "moved"


def test_redirect_chain_within_default_limit(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/redirect", to="/echo", hops=3))
    ws.send("three hops")
    assert ws.recv() == "three hops"


def test_redirect_chain_over_default_limit_fails(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketException):
        connect(echo_server.url_for("/redirect", to="/echo", hops=4))


def test_redirect_limit_option(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/redirect", to="/echo", hops=5), redirect_limit=5)
    ws.send("five")
    assert ws.recv() == "five"
    with pytest.raises(websocket.WebSocketException):
        connect(echo_server.url_for("/redirect", to="/echo"), redirect_limit=0)


def test_redirect_without_location_fails(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketException):
        connect(echo_server.url_for("/redirect", location="omit"))


@pytest.mark.wsline_only
def test_redirect_to_relative_location_is_followed(echo_server, connect) -> None:
    # websocket-client 1.9.2 refuses a relative Location; RFC 9110 allows it and wsline follows it.
    ws = connect(echo_server.url_for("/redirect", to="/echo", relative="1"))
    ws.send("after a relative redirect")
    assert ws.recv() == "after a relative redirect"


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_literal_url_and_host_header(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect, host="::1")
    ws = connect(f"{srv.url}/v6")
    ws.send("over v6")
    ws.close()
    (conn,) = srv.join()
    assert conn.header("Host") == f"[::1]:{srv.port}"
    assert conn.frames[0].payload == b"over v6"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs AF_UNIX")
def test_socket_option_over_a_unix_socketpair(raw_server, connect) -> None:
    # The documented way to speak WebSocket over a Unix socket: hand it in.
    srv = raw_server(accept_and_collect)
    client_end, server_end = socket.socketpair()
    srv.attach(server_end)
    try:
        ws = connect("ws://localhost/unix", socket=client_end)
        ws.send("through unix")
        ws.close()
    finally:
        client_end.close()
    (conn,) = srv.join()
    assert conn.request_line == "GET /unix HTTP/1.1"
    assert conn.frames[0].payload == b"through unix"
