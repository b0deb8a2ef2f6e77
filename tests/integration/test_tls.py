"""wss:// against a real TLS WebSocket server with trustme certificates: every sslopt key websocket-client takes.

Verification and the hostname check are on by default; the CA comes from
``ca_certs``, ``ca_cert_path``, ``WEBSOCKET_CLIENT_CA_BUNDLE`` or a ``context``.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import pytest
from _reach_servers import WsServer, running, stalled_listener
from _tls_material import tls_material

import websocket

TIMEOUT = 5


@pytest.fixture
def secure(tls) -> Iterator[WsServer]:
    with running(WsServer(ssl_context=tls.server_context())) as srv:
        yield srv


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


def test_verified_connection_with_ca_certs(secure, tls, connect):
    ws = connect(secure.url("/v"), sslopt={"ca_certs": tls.ca_file})
    _echo(ws, "verified")
    assert ws.is_ssl()
    assert isinstance(ws.sock, ssl.SSLSocket)
    assert ws.sock.getpeercert()["subjectAltName"]


def test_sni_is_the_url_host(secure, tls, connect):
    connect(secure.url(host="localhost"), sslopt={"ca_certs": tls.ca_file})
    assert secure.sni_names == ["localhost"]


def test_unknown_ca_fails_by_default(secure):
    # No CA given: the system store does not know the trustme CA.
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        websocket.create_connection(secure.url(), timeout=TIMEOUT)
    assert secure.requests == []


def test_untrusted_server_certificate_fails(tls):
    with running(WsServer(ssl_context=tls.server_context(untrusted=True))) as other:
        with pytest.raises(ssl.SSLCertVerificationError):
            websocket.create_connection(other.url(), sslopt={"ca_certs": tls.ca_file}, timeout=TIMEOUT)
        assert other.requests == []


@pytest.mark.parametrize(("host", "kind"), [("localhost", "Hostname"), ("127.0.0.1", "IP address")])
def test_hostname_mismatch_fails(tls, host, kind):
    with running(WsServer(ssl_context=tls.server_context("ws.example.test"))) as srv:
        with pytest.raises(ssl.SSLCertVerificationError, match=f"{kind} mismatch"):
            websocket.create_connection(srv.url(host=host), sslopt={"ca_certs": tls.ca_file}, timeout=TIMEOUT)
        assert srv.requests == []


def test_server_hostname_sets_sni_and_the_checked_name(tls, connect):
    with running(WsServer(ssl_context=tls.server_context("ws.example.test"))) as srv:
        ws = connect(srv.url("/sni"), sslopt={"ca_certs": tls.ca_file, "server_hostname": "ws.example.test"})
        _echo(ws, "renamed")
        assert srv.sni_names == ["ws.example.test"]
        # The Host header still names the URL's host: server_hostname is TLS only.
        assert srv.last().get("Host") == f"127.0.0.1:{srv.port}"


def test_check_hostname_false_accepts_a_mismatch_but_still_verifies(tls, connect):
    with running(WsServer(ssl_context=tls.server_context("ws.example.test"))) as srv:
        _echo(connect(srv.url(), sslopt={"ca_certs": tls.ca_file, "check_hostname": False}), "no name check")
    sslopt = {"ca_certs": tls.ca_file, "check_hostname": False}
    with running(WsServer(ssl_context=tls.server_context(untrusted=True))) as other, pytest.raises(ssl.SSLCertVerificationError):
        websocket.create_connection(other.url(), sslopt=sslopt, timeout=TIMEOUT)


def test_cert_none_skips_verification(tls, connect):
    with running(WsServer(ssl_context=tls.server_context("ws.example.test", untrusted=True))) as srv:
        ws = connect(srv.url(), sslopt={"cert_reqs": ssl.CERT_NONE})
        _echo(ws, "unverified")


def test_cert_none_with_check_hostname_is_a_configuration_error(secure):
    with pytest.raises(websocket.WebSocketException, match="check_hostname cannot be enabled"):
        websocket.create_connection(secure.url(), sslopt={"cert_reqs": ssl.CERT_NONE, "check_hostname": True}, timeout=TIMEOUT)


@pytest.fixture
def mutual(tls) -> Iterator[WsServer]:
    with running(WsServer(ssl_context=tls.server_context(require_client_cert=True))) as srv:
        yield srv


def test_client_certificate_required_and_missing(mutual, tls):
    # TLS 1.3 reports the missing certificate after the handshake: the failure may be
    # an SSLError at connect or the connection dropping during the upgrade.
    with pytest.raises((ssl.SSLError, websocket.WebSocketException, ConnectionError)):
        ws = websocket.create_connection(mutual.url(), sslopt={"ca_certs": tls.ca_file}, timeout=TIMEOUT)
        ws.shutdown()
    assert mutual.requests == []


@pytest.mark.parametrize(
    "keys",
    [
        lambda t: {"certfile": t.client_cert_file, "keyfile": t.client_key_file},
        lambda t: {"certfile": t.client_cert_file, "keyfile": t.client_encrypted_key_file, "password": t.key_password},
        lambda t: {"cert_chain": (t.client_cert_file, t.client_encrypted_key_file, t.key_password)},
    ],
    ids=["certfile-keyfile", "password", "cert_chain"],
)
def test_client_certificate_presented(mutual, tls, connect, keys):
    ws = connect(mutual.url("/mtls"), sslopt={"ca_certs": tls.ca_file, **keys(tls)})
    _echo(ws, "mutual TLS")
    assert mutual.last().path == "/mtls"


def test_wrong_client_key_password_is_a_clear_error(mutual, tls):
    sslopt = {"ca_certs": tls.ca_file, "certfile": tls.client_cert_file}
    sslopt.update(keyfile=tls.client_encrypted_key_file, password=b"no")
    with pytest.raises(websocket.WebSocketException, match="client certificate loading failed"):
        websocket.create_connection(mutual.url(), sslopt=sslopt, timeout=TIMEOUT)


def test_context_key_is_used_as_given(secure, tls, connect):
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    ws = connect(secure.url("/ctx"), sslopt={"context": ctx, "ca_certs": "/nonexistent/ignored.pem"})
    _echo(ws, "context")
    assert ws.sock.context is ctx


def test_context_key_keeps_its_own_verification(secure):
    ctx = ssl.create_default_context()  # system CAs only
    with pytest.raises(ssl.SSLCertVerificationError):
        websocket.create_connection(secure.url(), sslopt={"context": ctx}, timeout=TIMEOUT)


def test_ca_bundle_environment_variable_file(secure, tls, connect, monkeypatch):
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", tls.ca_file)
    _echo(connect(secure.url()), "bundle file")


def test_ca_bundle_environment_variable_directory(secure, tls, connect, monkeypatch):
    directory = tls.hashed_ca_dir()
    if directory is None:
        pytest.skip("the openssl tool is needed to lay out a hashed CA directory")
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", directory)
    _echo(connect(secure.url()), "bundle dir")


def test_ca_cert_path_option(secure, tls, connect):
    directory = tls.hashed_ca_dir()
    if directory is None:
        pytest.skip("the openssl tool is needed to lay out a hashed CA directory")
    _echo(connect(secure.url(), sslopt={"ca_cert_path": directory}), "ca_cert_path")


def test_explicit_ca_certs_wins_over_the_bundle_variable(secure, tls, monkeypatch):
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", tls.ca_file)
    with tls_material() as other, pytest.raises(ssl.SSLCertVerificationError):
        websocket.create_connection(secure.url(), sslopt={"ca_certs": other.ca_file}, timeout=TIMEOUT)


def test_missing_ca_file_is_a_clear_error(secure):
    with pytest.raises(websocket.WebSocketException, match="CA certificate loading failed"):
        websocket.create_connection(secure.url(), sslopt={"ca_certs": "/nonexistent/ca.pem"}, timeout=TIMEOUT)


def test_ciphers_are_applied(tls, connect):
    with running(WsServer(ssl_context=tls.server_context(max_tls12=True))) as srv:
        cipher = "ECDHE-ECDSA-AES128-GCM-SHA256"
        ws = connect(srv.url(), sslopt={"ca_certs": tls.ca_file, "ciphers": cipher})
        assert ws.sock.cipher()[0] == cipher
        _echo(ws, "chosen cipher")


def test_invalid_ciphers_or_curve_are_clear_errors(secure, tls):
    for key, value in (("ciphers", "NO-SUCH-CIPHER"), ("ecdh_curve", "no-such-curve")):
        with pytest.raises(websocket.WebSocketException, match="configuration failed"):
            websocket.create_connection(secure.url(), sslopt={"ca_certs": tls.ca_file, key: value}, timeout=TIMEOUT)


def test_ecdh_curve_is_accepted(secure, tls, connect):
    _echo(connect(secure.url(), sslopt={"ca_certs": tls.ca_file, "ecdh_curve": "prime256v1"}), "curve")


@pytest.mark.parametrize("key", ["ssl_version", "protocol"])
def test_ssl_version_selects_the_context_protocol(secure, tls, connect, key):
    ws = connect(secure.url(), sslopt={"ca_certs": tls.ca_file, key: ssl.PROTOCOL_TLS_CLIENT})
    assert ws.sock.context.protocol == ssl.PROTOCOL_TLS_CLIENT
    _echo(ws, key)


def test_do_handshake_on_connect_false_still_works(secure, tls, connect):
    ws = connect(secure.url(), sslopt={"ca_certs": tls.ca_file, "do_handshake_on_connect": False, "suppress_ragged_eofs": True})
    _echo(ws, "lazy handshake")


def test_sslkeylogfile_is_written(secure, tls, connect, monkeypatch, tmp_path):
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    _echo(connect(secure.url(), sslopt={"ca_certs": tls.ca_file}), "logged keys")
    assert keylog.exists() and keylog.stat().st_size > 0


@pytest.mark.wsline_only
def test_given_plain_socket_gets_tls_for_wss(secure, tls, connect):
    sock = socket.create_connection(("127.0.0.1", secure.port), timeout=TIMEOUT)
    ws = connect(secure.url("/given"), socket=sock, sslopt={"ca_certs": tls.ca_file})
    assert ws.is_ssl()
    _echo(ws, "wrapped")


def test_given_ssl_socket_is_used_as_is(secure, tls, connect):
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    raw = socket.create_connection(("127.0.0.1", secure.port), timeout=TIMEOUT)
    sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    ws = connect(secure.url("/given-tls"), socket=sock)
    assert ws.sock is sock
    _echo(ws, "as is")


@pytest.mark.wsline_only
def test_tls_handshake_timeout(tls):
    listener = stalled_listener()  # accepts TCP, never speaks TLS
    try:
        start = time.monotonic()
        with pytest.raises(websocket.WebSocketTimeoutException):
            url = f"wss://127.0.0.1:{listener.getsockname()[1]}/"
            websocket.create_connection(url, sslopt={"ca_certs": tls.ca_file}, timeout=0.5)
        assert time.monotonic() - start < 3
    finally:
        listener.close()
