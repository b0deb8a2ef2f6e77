"""Proxy failures that say what happened, and credentials that go only where they belong (checked on the wire).

A 407 names the scheme the proxy asked for (its ``Proxy-Authenticate``); a
proxy that closes, stalls or answers something that is not HTTP fails within
the timeout with a ``WebSocketProxyException`` that says which. The raw
``RecordingProxy`` keeps every byte the client sent it; the origin
(``WsServer``) records every request header it got.
"""

from __future__ import annotations

import base64
import time

import pytest
from _proxy_procs import TINYPROXY, tinyproxy
from _reach_servers import WsServer, running
from _recording_proxy import RecordingProxy

import websocket
from websocket import ProxyStatusError, ProxyTimeoutError

pytestmark = pytest.mark.wsline_only
TIMEOUT = 3.0
PROXY_AUTH = ("proxy-user", "proxy-Secret-1")
ORIGIN_SECRET = "origin-Secret-2"


def _via(proxy: RecordingProxy | int, **extra: object) -> dict[str, object]:
    port = proxy if isinstance(proxy, int) else proxy.port
    return {"http_proxy_host": "127.0.0.1", "http_proxy_port": port, "timeout": TIMEOUT, **extra}


def _fails(server, proxy: RecordingProxy, **extra: object) -> tuple[websocket.WebSocketProxyException, float]:
    start = time.monotonic()
    with pytest.raises(websocket.WebSocketProxyException) as info:
        websocket.create_connection(server.url(), **_via(proxy, **extra))
    assert server.requests == []  # nothing reached the origin
    return info.value, time.monotonic() - start


# ------------------------------------------------------------------ 407


@pytest.mark.parametrize(
    ("challenge", "named"),
    [
        (b'Proxy-Authenticate: Basic realm="corp"\r\n', "asks for Basic authentication"),
        (b'Proxy-Authenticate: Digest realm="corp", nonce="x"\r\n', "asks for Digest authentication (only Basic is supported)"),
        (b"Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\n", "asks for Negotiate, NTLM authentication"),
        (b"", "named no authentication scheme"),
    ],
)
def test_407_names_the_scheme_the_proxy_asked_for(server, challenge, named):
    reply = b"HTTP/1.1 407 Proxy Authentication Required\r\n" + challenge + b"Content-Length: 0\r\n\r\n"
    with RecordingProxy("reply", reply) as proxy:
        error, _ = _fails(server, proxy)
    assert isinstance(error, ProxyStatusError) and error.status_code == 407
    assert named in str(error) and "no http_proxy_auth was given" in str(error)
    assert str(error).startswith("failed CONNECT via proxy status: 407")  # websocket-client's wording first


def test_407_after_credentials_says_they_were_refused(server):
    reply = b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\n\r\n'
    with RecordingProxy("reply", reply) as proxy:
        error, _ = _fails(server, proxy, http_proxy_auth=PROXY_AUTH)
    assert "the credentials given were refused" in str(error)
    assert error.proxy_authenticate == ('Basic realm="corp"',)
    assert PROXY_AUTH[1] not in str(error)


@pytest.mark.skipif(TINYPROXY is None, reason="tinyproxy is not installed (apt-get install tinyproxy)")
def test_407_of_a_real_proxy_names_basic(server):
    with tinyproxy(auth=("alice", "pw")) as proc, pytest.raises(ProxyStatusError) as info:
        websocket.create_connection(server.url(), **_via(proc.port))
    assert info.value.status_code == 407 and "asks for Basic authentication" in str(info.value)


# ------------------------------------------------- closes, stalls, not HTTP


def test_proxy_that_closes_without_answering(server):
    with RecordingProxy("close") as proxy:
        error, elapsed = _fails(server, proxy)
    assert "closed the connection without answering CONNECT" in str(error)
    assert elapsed < TIMEOUT


def test_proxy_that_closes_in_the_middle_of_its_answer(server):
    with RecordingProxy("reply", b"HTTP/1.1 200 Conn", close_after=True) as proxy:
        error, elapsed = _fails(server, proxy)
    assert "closed the connection in the middle of its answer to CONNECT" in str(error)
    assert elapsed < TIMEOUT


def test_proxy_that_reads_the_request_and_stalls(server):
    with RecordingProxy("stall") as proxy:
        error, elapsed = _fails(server, proxy, timeout=0.8)
    assert isinstance(error, ProxyTimeoutError) and isinstance(error, websocket.WebSocketTimeoutException)
    assert "did not answer CONNECT in time" in str(error)
    assert 0.7 <= elapsed < 2.5
    assert proxy.heads and proxy.heads[0].startswith(b"CONNECT 127.0.0.1:")


@pytest.mark.parametrize(
    ("reply", "hint"),
    [
        (b"SSH-2.0-OpenSSH_9.2p1\r\n", ""),
        (b"\x15\x03\x03\x00\x02\x02\x46", "a TLS record: the proxy may want proxy_type='https'"),
        (b"220 smtp.example ESMTP\r\n", ""),
        (b"\x00\x5a\x00\x00\x00\x00\x00\x00", ""),  # a SOCKS4 answer
    ],
)
def test_proxy_that_answers_something_not_http_fails_at_once(server, reply, hint):
    # The connection stays open: only recognising the bytes can end this before the timeout.
    with RecordingProxy("reply", reply) as proxy:
        error, elapsed = _fails(server, proxy, timeout=10)
    assert "answered CONNECT with something that is not HTTP" in str(error)
    assert hint in str(error)
    assert elapsed < 5


# ----------------------------------------------------------- credentials


def _token(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _origin_options() -> dict[str, object]:
    return {"header": [f"Authorization: Bearer {ORIGIN_SECRET}"], "cookie": f"session={ORIGIN_SECRET}"}


def test_proxy_credentials_never_reach_the_origin(server, connect):
    with RecordingProxy("tunnel") as proxy:
        ws = connect(server.url("/x"), **_via(proxy, http_proxy_auth=PROXY_AUTH))
        ws.send("hi")
        assert ws.recv() == "hi"
        ws.close()
    assert f"Proxy-Authorization: Basic {_token(*PROXY_AUTH)}".encode() in proxy.heads[0]
    seen = server.last().headers
    assert all(name.lower() != "proxy-authorization" for name, _ in seen)
    assert not any(_token(*PROXY_AUTH) in value or PROXY_AUTH[1] in value for _, value in seen)


def test_origin_credentials_never_reach_the_proxy_in_connect(server, connect):
    with RecordingProxy("tunnel") as proxy:
        url = server.url("/x", userinfo=f"alice:{ORIGIN_SECRET}")
        ws = connect(url, **_via(proxy, http_proxy_auth=PROXY_AUTH, **_origin_options()))
        ws.close()
    connect_head = proxy.heads[0].decode("latin-1")
    assert ORIGIN_SECRET not in connect_head and _token("alice", ORIGIN_SECRET) not in connect_head
    assert "cookie" not in connect_head.lower() and "\nauthorization" not in connect_head.lower()
    assert server.last().get("Authorization") == f"Bearer {ORIGIN_SECRET}"  # the user's header wins over the URL's
    assert ORIGIN_SECRET in (server.last().get("Cookie") or "")


def test_wss_through_a_proxy_shows_it_no_origin_secret_at_all(tls, connect):
    with running(WsServer(ssl_context=tls.server_context())) as srv, RecordingProxy("tunnel") as proxy:
        url = srv.url("/secret", host="localhost", userinfo=f"alice:{ORIGIN_SECRET}")
        ws = connect(url, sslopt={"ca_certs": tls.ca_file}, **_via(proxy, **_origin_options()))
        ws.send(f"payload {ORIGIN_SECRET}")
        assert ws.recv() == f"payload {ORIGIN_SECRET}"
        ws.close()
        assert srv.last().get("Authorization") == f"Bearer {ORIGIN_SECRET}"
    assert len(proxy.received) > 1000  # it carried the TLS session...
    for secret in (ORIGIN_SECRET, _token("alice", ORIGIN_SECRET), "/secret"):
        assert secret.encode() not in proxy.received  # ...and saw none of it in clear


def test_env_proxy_credentials_go_to_the_proxy_only(server, connect, monkeypatch):
    with RecordingProxy("tunnel") as proxy:
        monkeypatch.setenv("http_proxy", f"http://{PROXY_AUTH[0]}:{PROXY_AUTH[1]}@127.0.0.1:{proxy.port}")
        connect(server.url(), timeout=TIMEOUT).close()
    assert f"Proxy-Authorization: Basic {_token(*PROXY_AUTH)}".encode() in proxy.heads[0]
    assert not any(PROXY_AUTH[1] in value or _token(*PROXY_AUTH) in value for _, value in server.last().headers)
