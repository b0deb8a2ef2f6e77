"""HTTP CONNECT proxies: http_proxy_host/port/auth/timeout, http_no_proxy, proxy_type="http".

Real proxies: pproxy (always) and Debian's tinyproxy (skipped where it is not
installed). A scripted fake proxy is used only for answers no real proxy gives.
"""

from __future__ import annotations

import base64
import threading
import time

import pytest
from _proxy_procs import PROXY_PASSWORD, PROXY_USER, TINYPROXY, ProxyProcess, proxypy, tinyproxy
from _reach_servers import ScriptedProxy, WsServer, running, stalled_listener

import websocket

USER, PASSWORD = PROXY_USER, PROXY_PASSWORD  # what the conftest's http_proxy_with_auth requires
TIMEOUT = 5


def _via(proc: ProxyProcess, **extra: object) -> dict[str, object]:
    return {"http_proxy_host": "127.0.0.1", "http_proxy_port": proc.port, "timeout": TIMEOUT, **extra}


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


def test_http_connect_proxy_without_auth(server, http_proxy, connect):
    ws = connect(server.url("/plain"), **_via(http_proxy))
    _echo(ws, "through pproxy")
    assert http_proxy.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None  # the proxy carried it
    assert server.last().path == "/plain"


def test_proxy_type_http_is_explicitly_accepted(server, http_proxy, connect):
    ws = connect(server.url(), **_via(http_proxy, proxy_type="http"))
    _echo(ws, "typed")


def test_http_connect_proxy_with_basic_auth(server, http_proxy_with_auth, connect):
    ws = connect(server.url("/auth"), **_via(http_proxy_with_auth, http_proxy_auth=(USER, PASSWORD)))
    _echo(ws, "authenticated")
    # The proxy strips nothing the server would see: the credentials never reach it.
    assert server.last().get("Proxy-Authorization") is None


@pytest.mark.wsline_only
def test_proxy_refusal_reports_status_407(server, http_proxy_with_auth, connect):
    with pytest.raises(websocket.WebSocketProxyException) as info:
        connect(server.url(), **_via(http_proxy_with_auth))
    assert getattr(info.value, "status_code", None) == 407
    assert "407" in str(info.value)
    assert server.requests == []


@pytest.mark.wsline_only
def test_proxy_credentials_never_in_errors_or_logs(server, http_proxy_with_auth, connect, trace_log):
    wrong = "wr0ng-" + PASSWORD
    token = base64.b64encode(f"{USER}:{wrong}".encode()).decode()
    with pytest.raises(websocket.WebSocketProxyException) as info:
        connect(server.url(), **_via(http_proxy_with_auth, http_proxy_auth=(USER, wrong)))
    texts = [str(info.value), repr(info.value), str(info.value.__cause__ or ""), trace_log.text]
    for text in texts:
        assert wrong not in text
        assert token not in text
    assert "Proxy-Authorization: Basic <redacted>" in trace_log.text
    assert "CONNECT 127.0.0.1:" in trace_log.text


def test_wss_through_http_proxy_uses_sni_and_verification(tls, http_proxy, connect):
    with running(WsServer(ssl_context=tls.server_context())) as secure:
        ws = connect(secure.url("/tls", host="localhost"), sslopt={"ca_certs": tls.ca_file}, **_via(http_proxy))
        _echo(ws, "tls in a tunnel")
        assert ws.is_ssl()
        assert secure.sni_names == ["localhost"]
        assert http_proxy.wait_for_line(f"-> localhost:{secure.port}") is not None


@pytest.mark.parametrize("no_proxy", [["127.0.0.1"], ["127.0.0.0/8"], ["*"], ["other.test", "127.0.0.1"]])
def test_http_no_proxy_bypasses_the_explicit_proxy(server, connect, no_proxy):
    dead = stalled_listener()  # a "proxy" that would never answer
    try:
        port = dead.getsockname()[1]
        ws = connect(server.url(), http_proxy_host="127.0.0.1", http_proxy_port=port, http_no_proxy=no_proxy, timeout=TIMEOUT)
        _echo(ws, "direct")
    finally:
        dead.close()


def test_http_no_proxy_that_does_not_match_keeps_the_proxy(server, http_proxy, connect):
    ws = connect(server.url("/kept"), **_via(http_proxy, http_no_proxy=["example.test", "10.0.0.0/8"]))
    _echo(ws, "proxied")
    assert http_proxy.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None


def test_proxy_port_zero_is_refused(server):
    with pytest.raises(websocket.WebSocketProxyException, match="port 0"):
        websocket.create_connection(server.url(), http_proxy_host="127.0.0.1", http_proxy_port=0, timeout=TIMEOUT)
    assert server.requests == []


@pytest.mark.wsline_only
def test_unknown_proxy_type_is_refused(server):
    with pytest.raises(websocket.WebSocketProxyException, match="socks5h"):
        websocket.create_connection(server.url(), http_proxy_host="127.0.0.1", http_proxy_port=1, proxy_type="ftp")


@pytest.mark.wsline_only
def test_unreachable_proxy_is_an_oserror_naming_the_proxy(server):
    dead = stalled_listener()
    port = dead.getsockname()[1]
    dead.close()  # nothing listens there any more
    with pytest.raises(ConnectionRefusedError) as info:
        websocket.create_connection(server.url(), http_proxy_host="127.0.0.1", http_proxy_port=port, timeout=TIMEOUT)
    assert f"127.0.0.1:{port}" in str(info.value)


@pytest.mark.wsline_only
@pytest.mark.parametrize("limits", [{"timeout": 0.5}, {"timeout": None, "http_proxy_timeout": 0.5}])
def test_silent_proxy_times_out(server, limits):
    dead = stalled_listener()
    try:
        port = dead.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(websocket.WebSocketTimeoutException) as info:
            websocket.create_connection(server.url(), http_proxy_host="127.0.0.1", http_proxy_port=port, **limits)
        assert time.monotonic() - start < 3
    finally:
        dead.close()
    # Caught by either kind of handler a websocket-client script may have.
    assert isinstance(info.value, websocket.WebSocketTimeoutException)
    assert isinstance(info.value, websocket.WebSocketProxyException)


@pytest.mark.wsline_only
def test_connect_request_bytes_with_credentials(server):
    options = {"http_proxy_auth": ("u", "p"), "timeout": TIMEOUT}
    refusal = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
    with ScriptedProxy(refusal) as fake, pytest.raises(websocket.WebSocketProxyException) as info:
        websocket.create_connection("ws://[::1]:8765/x", http_proxy_host="127.0.0.1", http_proxy_port=fake.port, **options)
    assert getattr(info.value, "status_code", None) == 403
    token = base64.b64encode(b"u:p").decode()
    assert fake.requests == [
        f"CONNECT [::1]:8765 HTTP/1.1\r\nHost: [::1]:8765\r\nProxy-Authorization: Basic {token}\r\n\r\n".encode()
    ]


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"garbage\r\n\r\n", id="garbage"),
        pytest.param(b"HTTP/1.1 200 OK\r\n\r\nunexpected", id="bytes-after-200", marks=pytest.mark.wsline_only),
        pytest.param(b"HTTP/1.1 200 OK\r\n", id="truncated-head"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000, id="huge-head"),
    ],
)
def test_malformed_proxy_answers_fail_cleanly(server, reply):
    # The fake keeps the connection open: a truncated head ends in a (proxy) timeout.
    with ScriptedProxy(reply) as fake, pytest.raises(websocket.WebSocketProxyException):
        websocket.create_connection(server.url(), http_proxy_host="127.0.0.1", http_proxy_port=fake.port, timeout=1)
    assert server.requests == []


tinyproxy_required = pytest.mark.skipif(TINYPROXY is None, reason="tinyproxy is not installed (apt-get install tinyproxy)")


@tinyproxy_required
def test_tinyproxy_connect_without_auth(server, connect):
    with tinyproxy() as proc:
        ws = connect(server.url("/tiny"), **_via(proc))
        _echo(ws, "through tinyproxy")
        assert proc.wait_for_line("CONNECT") is not None
    assert server.last().path == "/tiny"


@pytest.mark.wsline_only
@tinyproxy_required
def test_tinyproxy_connect_with_basic_auth(server, connect):
    with tinyproxy((USER, PASSWORD)) as proc:
        ws = connect(server.url("/tiny-auth"), **_via(proc, http_proxy_auth=(USER, PASSWORD)))
        _echo(ws, "authenticated at tinyproxy")
        with pytest.raises(websocket.WebSocketProxyException) as info:
            websocket.create_connection(server.url(), **_via(proc, http_proxy_auth=(USER, "wrong-password")))
    # tinyproxy answers a failed proxy login with 401 (pproxy, like the RFC, with 407).
    assert getattr(info.value, "status_code", None) in (401, 407)
    assert "wrong-password" not in str(info.value)


@tinyproxy_required
def test_wss_through_tinyproxy(tls, connect):
    with running(WsServer(ssl_context=tls.server_context())) as secure, tinyproxy() as proc:
        ws = connect(secure.url("/t", host="localhost"), sslopt={"ca_certs": tls.ca_file}, **_via(proc))
        _echo(ws, "tls via tinyproxy")
        assert ws.is_ssl()


def test_proxypy_connect_without_auth(server, connect):
    with proxypy() as proc:
        ws = connect(server.url("/proxypy"), **_via(proc))
        _echo(ws, "through proxy.py")
    assert server.last().path == "/proxypy"


@pytest.mark.wsline_only
def test_proxypy_connect_with_basic_auth(server, connect):
    with proxypy((USER, PASSWORD)) as proc:
        ws = connect(server.url("/proxypy-auth"), **_via(proc, http_proxy_auth=(USER, PASSWORD)))
        _echo(ws, "authenticated at proxy.py")
        with pytest.raises(websocket.WebSocketProxyException) as info:
            websocket.create_connection(server.url(), **_via(proc, http_proxy_auth=(USER, "wrong-password")))
    assert getattr(info.value, "status_code", None) == 407
    assert "wrong-password" not in str(info.value)


def test_wss_through_proxypy(tls, connect):
    with running(WsServer(ssl_context=tls.server_context())) as secure, proxypy() as proc:
        ws = connect(secure.url("/p", host="localhost"), sslopt={"ca_certs": tls.ca_file}, **_via(proc))
        _echo(ws, "tls via proxy.py")
        assert ws.is_ssl()


def test_http_module_compat_names(server, http_proxy):
    from websocket import _http

    options = websocket.sock_opt([], {})
    options.timeout = TIMEOUT
    proxy = _http.proxy_info(http_proxy_host="127.0.0.1", http_proxy_port=http_proxy.port)
    sock, address = _http.connect(server.url("/compat?x=1"), options, proxy, None)
    try:
        assert address == ("127.0.0.1", server.port, "/compat?x=1")
        sock.sendall(
            b"GET /compat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        status, headers, _ = _http.read_headers(sock)
    finally:
        sock.close()
    assert status == 101
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert http_proxy.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None
    described = repr(_http.proxy_info(http_proxy_host="h", http_proxy_port=1, http_proxy_auth=("u", PASSWORD)))
    assert PASSWORD not in described


@pytest.mark.wsline_only
def test_http_module_proxy_info_refuses_unknown_types():
    from websocket import _http

    # websocket-client raises python-socks' ProxyError here, not a WebSocketException.
    with pytest.raises(websocket.WebSocketProxyException):
        _http.proxy_info(http_proxy_host="h", http_proxy_port=1, proxy_type="ftp")


def test_websocket_connect_method_takes_proxy_options(server, http_proxy_with_auth, connect):
    ws = connect.track(websocket.WebSocket())
    ws.connect(server.url("/method"), **_via(http_proxy_with_auth, http_proxy_auth=(USER, PASSWORD)))
    _echo(ws, "WebSocket.connect")
    assert http_proxy_with_auth.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None


@pytest.mark.wsline_only
def test_run_forever_takes_proxy_options(server, http_proxy_with_auth):
    # websocket-client 1.9.2 fails this one: run_forever passes proxy_type=None, which its
    # proxy_info refuses ("Only http, socks4, socks5 proxy protocols are supported").
    got: list[object] = []

    def on_open(app: websocket.WebSocketApp) -> None:
        app.send("from run_forever")

    def on_message(app: websocket.WebSocketApp, message: object) -> None:
        got.append(message)
        app.close()

    app = websocket.WebSocketApp(server.url("/app"), on_open=on_open, on_message=on_message)
    outcome: list[bool] = []
    proxy = {"http_proxy_host": "127.0.0.1", "http_proxy_port": http_proxy_with_auth.port, "http_proxy_auth": (USER, PASSWORD)}
    thread = threading.Thread(target=lambda: outcome.append(app.run_forever(**proxy)), daemon=True)
    thread.start()
    thread.join(TIMEOUT * 2)
    if thread.is_alive():
        app.close()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert got == ["from run_forever"]
    assert outcome == [False]
    assert http_proxy_with_auth.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None
