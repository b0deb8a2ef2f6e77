"""SOCKS proxies through python-socks: proxy_type socks4, socks4a, socks5, socks5h, with and without auth.

pproxy serves SOCKS4 and SOCKS5; its verbose log shows what the client asked
for, which proves where DNS was resolved (a name for socks5h, an address for
socks5). pproxy has no SOCKS4a, so ``Socks4aRelay`` (a small real SOCKS4/4a
server in ``_reach_servers.py``) covers it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
from _proxy_procs import PROXY_PASSWORD, PROXY_USER, pproxy
from _reach_servers import Socks4aRelay, WsServer, running, stalled_listener
from _tls_material import tls_material

import websocket

USER, PASSWORD = PROXY_USER, PROXY_PASSWORD  # what the conftest's socks5_auth requires
TIMEOUT = 5


@pytest.fixture
def relay() -> Iterator[Socks4aRelay]:
    proxy = Socks4aRelay().start()
    yield proxy
    proxy.stop()


def _via(port: int, kind: str, **extra: object) -> dict[str, object]:
    return {"http_proxy_host": "127.0.0.1", "http_proxy_port": port, "proxy_type": kind, "timeout": TIMEOUT, **extra}


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


def test_socks5_resolves_locally(server, socks5, connect):
    ws = connect(server.url("/s5", host="localhost"), **_via(socks5.port, "socks5"))
    _echo(ws, "socks5")
    # python-socks resolved "localhost" here: the proxy was asked for an address.
    assert socks5.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None
    assert server.last().get("Host") == f"localhost:{server.port}"


def test_socks5h_resolves_at_the_proxy(server, socks5, connect):
    ws = connect(server.url("/s5h", host="localhost"), **_via(socks5.port, "socks5h"))
    _echo(ws, "socks5h")
    assert socks5.wait_for_line(f"-> localhost:{server.port}") is not None


def test_socks5_with_username_and_password(server, socks5_auth, connect):
    ws = connect(server.url("/s5auth"), **_via(socks5_auth.port, "socks5", http_proxy_auth=(USER, PASSWORD)))
    _echo(ws, "socks5 auth")


@pytest.mark.wsline_only
@pytest.mark.parametrize("auth", [None, (USER, "wrong-" + PASSWORD)], ids=["none", "wrong"])
def test_socks5_auth_failure_is_a_proxy_error_without_secrets(server, socks5_auth, auth):
    with pytest.raises(websocket.WebSocketProxyException) as info:
        websocket.create_connection(server.url(), **_via(socks5_auth.port, "socks5", http_proxy_auth=auth))
    assert f"127.0.0.1:{socks5_auth.port}" in str(info.value)
    for text in (str(info.value), repr(info.value)):
        assert PASSWORD not in text
    assert server.requests == []


def test_socks4_resolves_locally(server, socks4, connect):
    ws = connect(server.url("/s4", host="localhost"), **_via(socks4.port, "socks4"))
    _echo(ws, "socks4")
    assert socks4.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None


@pytest.mark.wsline_only
def test_socks4_user_id_authentication(server, connect):
    with pproxy("socks4", "carol") as proc:
        ws = connect(server.url("/s4id"), **_via(proc.port, "socks4", http_proxy_auth=("carol", "")))
        _echo(ws, "socks4 user id")
        with pytest.raises(websocket.WebSocketProxyException):
            websocket.create_connection(server.url(), **_via(proc.port, "socks4", http_proxy_auth=("mallory", "")))


def test_socks4a_sends_the_host_name(server, relay, connect):
    ws = connect(server.url("/s4a", host="localhost"), **_via(relay.port, "socks4a"))
    _echo(ws, "socks4a")
    (request,) = relay.requests
    assert (request.by_name, request.host, request.port) == (True, "localhost", server.port)


def test_socks4_sends_an_address_to_a_socks4a_server(server, relay, connect):
    ws = connect(server.url("/s4", host="localhost"), **_via(relay.port, "socks4", http_proxy_auth=("dave", "")))
    _echo(ws, "socks4 via relay")
    (request,) = relay.requests
    assert (request.by_name, request.host, request.user_id) == (False, "127.0.0.1", "dave")


def test_wss_through_socks5h(socks5, connect):
    with tls_material() as tls, running(WsServer(ssl_context=tls.server_context())) as secure:
        ws = connect(secure.url("/tls", host="localhost"), sslopt={"ca_certs": tls.ca_file}, **_via(socks5.port, "socks5h"))
        _echo(ws, "tls over socks")
        assert ws.is_ssl()
        assert secure.sni_names == ["localhost"]


@pytest.mark.wsline_only
def test_missing_python_socks_names_what_to_install(server, monkeypatch):
    # The one thing that cannot be real here: python-socks being absent.
    monkeypatch.setitem(sys.modules, "python_socks", None)
    monkeypatch.setitem(sys.modules, "python_socks.sync", None)
    with pytest.raises(websocket.WebSocketProxyException, match="pip install python-socks") as info:
        websocket.create_connection(server.url(), **_via(1080, "socks5"))
    assert isinstance(info.value.__cause__, ImportError)


def test_explicit_socks_proxy_ignores_env_no_proxy(server, socks5, connect, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    ws = connect(server.url("/env-ignored"), **_via(socks5.port, "socks5"))
    _echo(ws, "still proxied")
    assert socks5.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None


@pytest.mark.wsline_only
def test_explicit_socks_proxy_honours_http_no_proxy(server, connect):
    dead = stalled_listener()
    try:
        ws = connect(server.url(), **_via(dead.getsockname()[1], "socks5", http_no_proxy=["127.0.0.1"]))
        _echo(ws, "bypassed")
    finally:
        dead.close()


def test_unreachable_socks_proxy_is_an_oserror_naming_it(server):
    dead = stalled_listener()
    port = dead.getsockname()[1]
    dead.close()
    with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
        websocket.create_connection(server.url(), **_via(port, "socks5"))


@pytest.mark.wsline_only
def test_silent_socks_proxy_times_out_after_http_proxy_timeout(server):
    dead = stalled_listener()
    try:
        start = time.monotonic()
        with pytest.raises(websocket.WebSocketProxyException):
            options = _via(dead.getsockname()[1], "socks5", timeout=None, http_proxy_timeout=0.5)
            websocket.create_connection(server.url(), **options)
        assert time.monotonic() - start < 3
    finally:
        dead.close()
