"""HTTPS proxies: TLS to the proxy, CONNECT inside it, and for wss:// the server's TLS inside that (TLS in TLS).

The proxy is a real pproxy process with TLS on its listener (trustme
certificates): one with a certificate for 127.0.0.1 and localhost from the
test CA, one whose certificate names another host, one from a CA the client
does not know. Selected by ``proxy_type="https"`` or an ``https://`` proxy
URL in the environment.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
from _proxy_procs import PROXY_PASSWORD, PROXY_USER, TINYPROXY, ProxyProcess, pproxy, tinyproxy
from _reach_servers import WsServer, running
from _tls_material import TlsMaterial

import websocket
from websocket import ProxyStatusError, ProxyTimeoutError, ProxyTlsError
from websocket._net.tls_tunnel import TlsTunnel

pytestmark = pytest.mark.wsline_only  # websocket-client cannot reach an HTTPS proxy (its issue #810)
TIMEOUT = 5


def _cert_files(tls: TlsMaterial, name: str, *hosts: str, other_ca: bool = False) -> tuple[str, str]:
    ca = tls.other_ca if other_ca else tls.ca
    cert = ca.issue_cert(*hosts)
    chain = os.path.join(tls.directory, f"{name}.pem")
    key = os.path.join(tls.directory, f"{name}.key")
    with open(chain, "wb") as f:
        f.write(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    with open(key, "wb") as f:
        f.write(cert.private_key_pem.bytes())
    return chain, key


@contextlib.contextmanager
def _proxy(tls: TlsMaterial, name: str, *hosts: str, auth: str | None = None, other_ca: bool = False) -> Iterator[ProxyProcess]:
    with pproxy("http", auth, _cert_files(tls, name, *hosts, other_ca=other_ca)) as proc:
        yield proc


@pytest.fixture(scope="module")
def https_proxy(tls: TlsMaterial) -> Iterator[ProxyProcess]:
    with _proxy(tls, "proxy", "127.0.0.1", "localhost") as proc:
        yield proc


@pytest.fixture(scope="module")
def https_proxy_auth(tls: TlsMaterial) -> Iterator[ProxyProcess]:
    with _proxy(tls, "proxy-auth", "127.0.0.1", "localhost", auth=f"{PROXY_USER}:{PROXY_PASSWORD}") as proc:
        yield proc


@pytest.fixture(scope="module")
def other_ca_file(tls: TlsMaterial) -> str:
    path = os.path.join(tls.directory, "other-ca.pem")
    tls.other_ca.cert_pem.write_to_path(path)
    return path


@pytest.fixture
def tls_server(tls: TlsMaterial) -> Iterator[WsServer]:
    with running(WsServer(ssl_context=tls.server_context())) as srv:
        yield srv


def _via(proc: ProxyProcess, ca_file: str, **extra: object) -> dict[str, object]:
    return {
        "http_proxy_host": "127.0.0.1",
        "http_proxy_port": proc.port,
        "proxy_type": "https",
        "http_proxy_sslopt": {"ca_certs": ca_file},
        "timeout": TIMEOUT,
        **extra,
    }


def _echo(ws: websocket.WebSocket, *texts: str) -> None:
    for text in texts:
        ws.send(text)
    for text in texts:
        assert ws.recv() == text


def test_ws_through_an_https_proxy(server, https_proxy, tls, connect):
    ws = connect(server.url("/plain"), **_via(https_proxy, tls.ca_file))
    _echo(ws, "through TLS to the proxy")
    assert isinstance(ws.sock, ssl.SSLSocket)  # one TLS layer: the one to the proxy
    assert https_proxy.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None
    assert server.last().path == "/plain"


def test_wss_through_an_https_proxy_is_tls_in_tls(tls_server, https_proxy, tls, connect):
    ws = connect(tls_server.url("/inner", host="localhost"), sslopt={"ca_certs": tls.ca_file}, **_via(https_proxy, tls.ca_file))
    assert isinstance(ws.sock, TlsTunnel) and ws.is_ssl()
    assert isinstance(ws.sock.proxy_socket, ssl.SSLSocket)
    # The two sessions are different: the inner one is the server's (SNI localhost), the outer the proxy's.
    assert tls_server.sni_names[-1] == "localhost"
    assert ws.sock.getpeercert() != ws.sock.proxy_socket.getpeercert()
    _echo(ws, *(f"message {i}" for i in range(200)))  # many records per read: pending() must see them
    big = os.urandom(900 * 1024)  # under the server's 1 MiB limit, many TLS records
    ws.send_binary(big)
    assert ws.recv() == big
    assert https_proxy.wait_for_line(f"-> localhost:{tls_server.port}") is not None


def test_wss_tunnel_recv_with_timeouts_and_ping(tls_server, https_proxy, tls, connect):
    ws = connect(tls_server.url(host="localhost"), sslopt={"ca_certs": tls.ca_file}, **_via(https_proxy, tls.ca_file))
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv(timeout=0.2)  # nothing sent: the per-call deadline holds inside the tunnel too
    ws.ping("are you there")
    ws.send("after a ping")
    assert ws.recv(timeout=TIMEOUT) == "after a ping"
    ws.close()
    assert not ws.connected


def test_proxy_and_server_tls_options_are_kept_apart(tls, other_ca_file, tls_server, connect):
    # The proxy's certificate comes from the second CA, the server's from the first.
    with _proxy(tls, "proxy-other", "127.0.0.1", other_ca=True) as proc:
        url = tls_server.url(host="localhost")
        ws = connect(url, sslopt={"ca_certs": tls.ca_file}, **_via(proc, other_ca_file))
        _echo(ws, "each layer checked by its own CA")
        with pytest.raises(ProxyTlsError, match=r"certificate of the HTTPS proxy at 127\.0\.0\.1:"):
            websocket.create_connection(url, sslopt={"ca_certs": other_ca_file}, **_via(proc, tls.ca_file))
        with pytest.raises(ssl.SSLCertVerificationError):  # the proxy is fine, the server is not
            websocket.create_connection(url, sslopt={"ca_certs": other_ca_file}, **_via(proc, other_ca_file))


def test_proxy_certificate_for_another_name_is_refused(tls, server):
    with _proxy(tls, "proxy-wrong-name", "proxy.wrong.test") as proc:
        with pytest.raises(ProxyTlsError) as info:
            websocket.create_connection(server.url(), **_via(proc, tls.ca_file))
        message = str(info.value)
        assert "certificate of the HTTPS proxy at 127.0.0.1:" in message and "mismatch" in message.lower()
        assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
        assert isinstance(info.value, websocket.WebSocketProxyException)
    assert server.requests == []


def test_proxy_certificate_from_an_unknown_ca_is_refused(tls, server):
    with _proxy(tls, "proxy-unknown-ca", "127.0.0.1", other_ca=True) as proc:
        with pytest.raises(ProxyTlsError, match=r"(?i)unable to get local issuer|self.signed|verify failed"):
            websocket.create_connection(server.url(), **_via(proc, tls.ca_file))
        # The default (the system store) does not know the test CA either.
        with pytest.raises(ProxyTlsError):
            websocket.create_connection(server.url(), **_via(proc, tls.ca_file, http_proxy_sslopt=None))
    assert server.requests == []


def test_proxy_tls_verification_can_be_turned_off_explicitly(tls, server, connect):
    with _proxy(tls, "proxy-unverified", "proxy.wrong.test", other_ca=True) as proc:
        sslopt = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        ws = connect(server.url(), **_via(proc, tls.ca_file, http_proxy_sslopt=sslopt))
        _echo(ws, "unverified proxy, as asked")


def test_https_proxy_with_basic_auth(server, https_proxy_auth, tls, connect):
    ws = connect(server.url(), **_via(https_proxy_auth, tls.ca_file, http_proxy_auth=(PROXY_USER, PROXY_PASSWORD)))
    _echo(ws, "authenticated inside TLS")
    with pytest.raises(ProxyStatusError) as info:
        websocket.create_connection(server.url(), **_via(https_proxy_auth, tls.ca_file))
    assert info.value.status_code == 407
    with pytest.raises(ProxyStatusError) as wrong:
        websocket.create_connection(server.url(), **_via(https_proxy_auth, tls.ca_file, http_proxy_auth=(PROXY_USER, "nope")))
    assert wrong.value.status_code == 407 and "nope" not in str(wrong.value)


def test_ca_bundle_variable_is_the_proxy_default(server, https_proxy, tls, connect, monkeypatch):
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", tls.ca_file)
    ws = connect(server.url(), **_via(https_proxy, tls.ca_file, http_proxy_sslopt=None))
    _echo(ws, "proxy trusted through WEBSOCKET_CLIENT_CA_BUNDLE")


@pytest.mark.parametrize("variable", ["https_proxy", "HTTPS_PROXY", "all_proxy"])
def test_https_url_in_the_environment_selects_an_https_proxy(tls_server, https_proxy, tls, connect, monkeypatch, variable):
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", tls.ca_file)
    monkeypatch.setenv(variable, f"https://127.0.0.1:{https_proxy.port}")
    ws = connect(tls_server.url("/from-env", host="localhost"))
    assert isinstance(ws.sock, TlsTunnel)
    _echo(ws, f"via ${variable}")
    assert https_proxy.wait_for_line(f"-> localhost:{tls_server.port}") is not None


def test_run_forever_takes_the_https_proxy_options(tls_server, https_proxy, tls):
    got: list[str] = []
    errors: list[BaseException] = []
    app = websocket.WebSocketApp(
        tls_server.url(host="localhost"),
        on_open=lambda app: app.send("app through TLS in TLS"),
        on_message=lambda app, message: (got.append(message), app.close()),
        on_error=lambda app, error: errors.append(error),
    )
    runner = threading.Thread(
        target=app.run_forever,
        kwargs={"sslopt": {"ca_certs": tls.ca_file}, **_via(https_proxy, tls.ca_file)},
        daemon=True,
    )
    runner.start()
    runner.join(TIMEOUT * 2)
    assert not runner.is_alive()
    assert errors == [] and got == ["app through TLS in TLS"]


def test_https_proxy_type_to_a_plain_proxy_says_so(server, http_proxy, tls):
    with pytest.raises(ProxyTlsError, match="plain http:// proxy") as info:
        websocket.create_connection(server.url(), **_via(http_proxy, tls.ca_file))
    assert isinstance(info.value.__cause__, ssl.SSLError)


@pytest.mark.skipif(TINYPROXY is None, reason="tinyproxy is not installed (apt-get install tinyproxy)")
def test_https_proxy_type_to_a_plain_proxy_that_waits_times_out(server, tls):
    # tinyproxy waits for a request line that the ClientHello never completes.
    with tinyproxy() as proc, pytest.raises(ProxyTimeoutError, match=r"TLS with the HTTPS proxy at .* timed out"):
        start = time.monotonic()
        websocket.create_connection(server.url(), **_via(proc, tls.ca_file, timeout=1))
    assert time.monotonic() - start < 3


def test_http_module_compat_connect_through_an_https_proxy(server, https_proxy, tls):
    from websocket import _http
    from websocket._socket import sock_opt

    proxy = _http.proxy_info(
        http_proxy_host="127.0.0.1",
        http_proxy_port=https_proxy.port,
        proxy_type="https",
        http_proxy_sslopt={"ca_certs": tls.ca_file},
    )
    options = sock_opt(None, None)
    options.timeout = TIMEOUT
    sock, (host, port, resource) = _http.connect(server.url("/compat"), options, proxy, None)
    try:
        assert isinstance(sock, ssl.SSLSocket) and (host, port, resource) == ("127.0.0.1", server.port, "/compat")
    finally:
        sock.close()
