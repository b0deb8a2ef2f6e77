"""Unix domain sockets (ws+unix:// URLs and the ``unix_socket`` option) and IPv6 literal URLs."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from _reach_servers import WsServer, running
from websockets.http11 import Request

import websocket
from websocket._url import parse_url

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix domain sockets on this platform")


def _redirect_relative(request: Request) -> tuple[int, list[tuple[str, str]]] | None:
    return (302, [("Location", "/moved?y=2")]) if request.path.startswith("/old") else None


@pytest.fixture
def sock_path() -> Iterator[str]:
    # A short directory: Unix socket paths are limited to about 100 bytes.
    directory = tempfile.mkdtemp(prefix="wsl")
    yield os.path.join(directory, "ws.sock")
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def unix_server(sock_path) -> Iterator[WsServer]:
    with running(WsServer(unix_path=sock_path, responder=_redirect_relative)) as srv:
        yield srv


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


@pytest.mark.wsline_only
def test_ws_unix_url(unix_server, sock_path, connect):
    ws = connect(f"ws+unix://{sock_path}")
    _echo(ws, "over a unix socket")
    seen = unix_server.last()
    assert (seen.path, seen.get("Host"), seen.get("Origin")) == ("/", "localhost", "http://localhost")
    assert ws.sock.family == socket.AF_UNIX


@pytest.mark.wsline_only
def test_ws_unix_url_with_encoded_path_and_resource(unix_server, sock_path, connect):
    ws = connect(f"ws+unix://{quote(sock_path, safe='')}/chat/room?x=1")
    _echo(ws, "resource")
    assert unix_server.last().path == "/chat/room?x=1"


@pytest.mark.wsline_only
def test_unix_socket_option_with_a_ws_url(unix_server, sock_path, connect):
    ws = connect("ws://api.example.test/v1/stream?k=v", unix_socket=sock_path)
    _echo(ws, "named host")
    seen = unix_server.last()
    assert (seen.path, seen.get("Host")) == ("/v1/stream?k=v", "api.example.test")


@pytest.mark.wsline_only
def test_relative_redirect_stays_on_the_unix_socket(unix_server, sock_path, connect):
    ws = connect(f"ws+unix://{quote(sock_path, safe='')}/old")
    _echo(ws, "moved")
    assert [r.path for r in unix_server.requests] == ["/old", "/moved?y=2"]
    ws2 = connect(f"ws+unix://{sock_path}", unix_socket=None)
    assert ws2.connected


@pytest.mark.wsline_only
def test_missing_unix_socket_names_the_path(sock_path):
    with pytest.raises(FileNotFoundError) as info:
        websocket.create_connection(f"ws+unix://{sock_path}", timeout=5)
    assert sock_path in str(info.value)


@pytest.mark.wsline_only
def test_proxy_with_a_unix_socket_is_refused(sock_path):
    with pytest.raises(ValueError, match="Unix domain socket"):
        websocket.create_connection(f"ws+unix://{sock_path}", http_proxy_host="127.0.0.1", http_proxy_port=3128, timeout=5)


@pytest.mark.wsline_only
def test_env_proxy_is_ignored_for_unix_sockets(unix_server, sock_path, connect, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    _echo(connect(f"ws+unix://{sock_path}"), "no proxy")


@pytest.mark.wsline_only
def test_parse_url_of_ws_unix(sock_path):
    assert parse_url(f"ws+unix://{sock_path}") == ("localhost", 80, "/", False)
    with pytest.raises(ValueError, match="socket path"):
        parse_url("ws+unix://")


# -------------------------------------------------------------------- IPv6


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


@ipv6
def test_ipv6_literal_url(connect):
    with running(WsServer(host="::1")) as srv:
        url = srv.url("/six")
        assert url.startswith("ws://[::1]:")
        ws = connect(url)
        _echo(ws, "over IPv6")
        assert ws.sock.family == socket.AF_INET6
        seen = srv.last()
        assert (seen.get("Host"), seen.get("Origin")) == (f"[::1]:{srv.port}", f"http://[::1]:{srv.port}")


@ipv6
def test_ipv6_literal_with_tls(connect):
    from _tls_material import tls_material

    with tls_material() as tls, running(WsServer(host="::1", ssl_context=tls.server_context())) as srv:
        ws = connect(srv.url("/six-tls"), sslopt={"ca_certs": tls.ca_file})
        _echo(ws, "IPv6 and TLS")
        assert srv.sni_names == [None]  # no SNI for an IP address (RFC 6066)
