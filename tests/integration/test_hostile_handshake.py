"""Hostile answers to the opening handshake, beyond test_blocking_errors.py and test_blocking_timeouts.py.

Every failure here must be a WebSocketException (or OSError) raised within the
connection's timeout, with the client's socket closed (no descriptor left
behind) and memory bounded by the handshake limits (64 KiB of head, 256
headers, 1 MiB of error body).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytest
from _hostile import MIB, expect_failure, open_fds, reset, settle, traced_peak
from _raw_server import RawConn
from _wire import OP_TEXT, accept_key, build_frame

import websocket
from websocket import (
    WebSocketBadStatusException,
    WebSocketConnectionClosedException,
    WebSocketHandshakeException,
    WebSocketTimeoutException,
)

pytestmark = pytest.mark.wsline_only
Script = Callable[[RawConn], None]


def answer(data: bytes, *, then: str = "wait") -> Script:
    """A script that reads the request, writes ``data``, then waits, closes (FIN) or resets."""

    def script(conn: RawConn) -> None:
        conn.read_request()
        with contextlib.suppress(OSError):
            conn.send_raw(data)
        if then == "close":
            conn.close_tcp()
        elif then == "reset":
            reset(conn)
        else:
            conn.collect(timeout=3, until_close=False)

    return script


def upgrade_head(conn: RawConn, version: str = "HTTP/1.1") -> bytes:
    key = conn.header("Sec-WebSocket-Key") or ""
    return (
        f"{version} 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode()


def garbage(conn: RawConn) -> None:
    conn.read_request()
    conn.send_raw(bytes(range(256)) * 4 + b"\r\n\r\n")
    conn.collect(timeout=3, until_close=False)


# ------------------------------------------------------- the failure sweep

FAILURES: dict[str, tuple[Script, type[Exception]]] = {
    "binary-garbage": (garbage, WebSocketHandshakeException),
    "garbage-then-close": (
        answer(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", then="close"),
        WebSocketHandshakeException,
    ),
    "tls-alert-to-plain-client": (answer(b"\x15\x03\x01\x00\x02\x02\x46", then="close"), WebSocketHandshakeException),
    "empty-then-close": (answer(b"", then="close"), WebSocketConnectionClosedException),
    "empty-head": (answer(b"\r\n\r\n"), WebSocketHandshakeException),
    "bare-lf-head": (answer(b"\n\n"), WebSocketHandshakeException),
    "http2-preface": (answer(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), WebSocketHandshakeException),
    "status-not-a-number": (answer(b"HTTP/1.1 1O1 Switching\r\n\r\n"), WebSocketHandshakeException),
    "status-superscript-digit": (answer(b"HTTP/1.1 1\xb21 Switching\r\n\r\n"), WebSocketHandshakeException),
    "status-line-only": (answer(b"HTTP/1.1\r\n\r\n"), WebSocketHandshakeException),
    "header-without-colon": (answer(b"HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n"), WebSocketHandshakeException),
    "folded-header": (answer(b"HTTP/1.1 101 OK\r\nUpgrade: web\r\n socket\r\n\r\n"), WebSocketHandshakeException),
    "http10-101-without-upgrade": (answer(b"HTTP/1.0 101 Switching Protocols\r\n\r\n"), WebSocketHandshakeException),
    "http10-200-body-until-close": (
        answer(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>not a websocket</html>", then="close"),
        WebSocketBadStatusException,
    ),
    "101-no-headers-then-reset": (answer(b"HTTP/1.1 101 Switching Protocols\r\n", then="reset"), OSError),
    "reset-before-answer": (answer(b"", then="reset"), OSError),
    "close-mid-status-line": (answer(b"HTTP/1.1 10", then="close"), WebSocketConnectionClosedException),
    "too-many-headers": (
        answer(b"HTTP/1.1 101 Switching Protocols\r\n" + b"X: y\r\n" * 300 + b"\r\n"),
        WebSocketHandshakeException,
    ),
}


@pytest.mark.parametrize("case", list(FAILURES.values()), ids=list(FAILURES))
def test_a_hostile_answer_fails_cleanly(raw_server, case) -> None:
    script, expected = case
    srv = raw_server(script)
    before = open_fds()
    exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=2), within=3)
    assert isinstance(exc, expected), repr(exc)
    if isinstance(exc, (websocket.WebSocketException, OSError)) and expected is OSError:
        assert isinstance(exc, (ConnectionResetError, WebSocketConnectionClosedException)), repr(exc)
    srv.stop()
    # The client closed its socket (the server's are closed by stop()).
    assert settle(lambda: open_fds() <= before - 1), f"descriptors: {before} before, {open_fds()} after"


# --------------------------------------------------------------- big heads


@pytest.mark.parametrize("shape", ["many-lines", "one-endless-line"])
def test_megabytes_of_head_are_refused_at_the_limit_with_bounded_memory(raw_server, shape) -> None:
    line = b"X-Filler: " + b"a" * 100 + b"\r\n"
    block = line * 10_000 if shape == "many-lines" else b"a" * len(line) * 10_000

    def script(conn: RawConn) -> None:
        conn.read_request()
        start = b"HTTP/1.1 101 Switching Protocols\r\n" + (b"" if shape == "many-lines" else b"X-Endless: ")
        with contextlib.suppress(OSError):
            conn.send_raw(start)
            for _ in range(8):  # about 8 MiB, as fast as the client reads
                conn.send_raw(block)

    srv = raw_server(script)
    with traced_peak() as peak:
        exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=5), within=3)
    assert isinstance(exc, WebSocketHandshakeException)
    assert "larger than" in str(exc)
    assert peak[0] < 1 * MIB  # the head limit is 64 KiB


def test_a_200_with_an_endless_body_reads_at_most_the_body_limit(raw_server) -> None:
    def script(conn: RawConn) -> None:
        conn.read_request()
        with contextlib.suppress(OSError):
            key = accept_key(conn.header("Sec-WebSocket-Key") or "")
            conn.send_raw(
                b"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + f"Sec-WebSocket-Accept: {key}\r\nContent-Length: 1000000000000\r\n\r\n".encode()
            )
            for _ in range(64):
                conn.send_raw(b"b" * 65536)

    srv = raw_server(script)
    with traced_peak() as peak:
        exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=5), within=4)
    assert isinstance(exc, WebSocketBadStatusException)
    assert exc.status_code == 200
    assert exc.resp_body is not None and len(exc.resp_body) <= MIB
    assert peak[0] < 8 * MIB


# ------------------------------------------------------------ slow answers


def test_slowloris_answer_is_cut_by_the_deadline(raw_server) -> None:
    # One byte every 100 ms never leaves the socket idle long, so only a deadline
    # over the whole handshake (not a per-read timeout) can end it.
    def script(conn: RawConn) -> None:
        conn.read_request()
        head = upgrade_head(conn)
        with contextlib.suppress(OSError):
            for byte in head:
                conn.send_raw(bytes([byte]))
                time.sleep(0.1)

    srv = raw_server(script)
    started = time.monotonic()
    exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=1), within=2)
    assert isinstance(exc, WebSocketTimeoutException)
    assert time.monotonic() - started >= 0.9


def test_answer_in_one_byte_writes_with_a_frame_behind_it_works(raw_server, connect) -> None:
    # The fast variant (test_blocking_connect) has no frame in the trickle: here the
    # first frame arrives byte by byte right behind the head and must not be lost.
    def script(conn: RawConn) -> None:
        conn.read_request()
        conn.send_raw(upgrade_head(conn) + build_frame(OP_TEXT, b"trickled"), chunk=1)
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url, timeout=10)
    assert ws.recv() == "trickled"


def test_http10_101_with_a_valid_accept_is_accepted(raw_server, connect) -> None:
    # HTTP/1.0 has no Upgrade, but the accept key proves the server understood the
    # request; like websocket-client (and unlike the websockets library) the
    # version of a valid 101 is not held against it.
    def script(conn: RawConn) -> None:
        conn.read_request()
        conn.send_raw(upgrade_head(conn, "HTTP/1.0") + build_frame(OP_TEXT, b"old but valid"))
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url)
    assert ws.recv() == "old but valid"


# ------------------------------------------------------ not HTTP at all

NOT_HTTP = {
    "ssh-greeting": b"SSH-2.0-OpenSSH_9.6\r\n",
    "binary-noise": bytes(range(255, 0, -1)),
    "tls-server-hello": b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03",
    "smtp-banner": b"220 mail.example ESMTP\r\n",
    "http2-frame": b"\x00\x00\x12\x04\x00\x00\x00\x00\x00",
    "lowercase-http": b"http/1.1 101 Switching Protocols\r\n",
}


@pytest.mark.parametrize("timeout", [10, None], ids=["timeout=10", "no-timeout"])
@pytest.mark.parametrize("noise", list(NOT_HTTP.values()), ids=list(NOT_HTTP))
def test_an_answer_that_is_not_http_fails_on_its_first_bytes(raw_server, noise, timeout) -> None:
    # The server says nothing more and keeps the connection open: without the early
    # check the client would wait for the end of a head until its timeout (or forever).
    srv = raw_server(answer(noise))
    started = time.monotonic()
    exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=timeout), within=1.5)
    assert isinstance(exc, WebSocketHandshakeException), repr(exc)
    assert "not HTTP/1.x" in str(exc)
    assert repr(noise[:8])[2:-1] in str(exc)  # an escaped prefix of what came
    assert time.monotonic() - started < 1.5


def test_a_tls_answer_to_a_plain_client_hints_at_wss(raw_server) -> None:
    srv = raw_server(answer(NOT_HTTP["tls-server-hello"]))
    exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=10), within=1.5)
    assert "wss://" in str(exc)


def test_an_invalid_status_line_fails_when_the_line_ends(raw_server) -> None:
    # "HTTP/1.1 1O1 ..." starts like HTTP: it is refused once its line is complete,
    # without waiting for the (never sent) end of the head.
    srv = raw_server(answer(b"HTTP/1.1 1O1 Switching Protocols\r\nUpgrade: websocket\r\n"))
    exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=10), within=1.5)
    assert isinstance(exc, WebSocketHandshakeException)
    assert "invalid HTTP status line" in str(exc)


def test_a_proxy_that_answers_connect_with_ssh_fails_fast(raw_server) -> None:
    proxy = raw_server(answer(NOT_HTTP["ssh-greeting"]))
    exc = expect_failure(
        lambda: websocket.create_connection(
            "ws://127.0.0.1:9/", http_proxy_host="127.0.0.1", http_proxy_port=proxy.port, proxy_type="http", timeout=10
        ),
        within=1.5,
    )
    assert isinstance(exc, websocket.WebSocketProxyException), repr(exc)
    assert "SSH-2.0-OpenSSH_9.6" in str(exc)
    assert isinstance(exc.__cause__, WebSocketHandshakeException)


# -------------------------------------------------------- repeated headers


def repeated(*lines: str) -> Script:
    """A 101 whose header lines are ``lines`` ({accept} is the right key, {wrong} a wrong one)."""

    def script(conn: RawConn) -> None:
        conn.read_request()
        right = accept_key(conn.header("Sec-WebSocket-Key") or "")
        wrong = accept_key("dGhlIHNhbXBsZSBub25jZQ==")
        head = "HTTP/1.1 101 Switching Protocols\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n"
        with contextlib.suppress(OSError):
            conn.send_raw(head.format(accept=right, wrong=wrong).encode() + build_frame(OP_TEXT, b"upgraded"))
        conn.collect(timeout=3, until_close=False)

    return script


UP, CONN, ACCEPT = "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}"

REPEATS_REFUSED = {  # the header the error must name, and the header lines
    "accept-right-then-wrong": ("Sec-WebSocket-Accept", (UP, CONN, ACCEPT, "Sec-WebSocket-Accept: {wrong}")),
    "accept-wrong-then-right": ("Sec-WebSocket-Accept", (UP, CONN, "Sec-WebSocket-Accept: {wrong}", ACCEPT)),
    "accept-twice-the-same": ("Sec-WebSocket-Accept", (UP, CONN, ACCEPT, ACCEPT)),
    "upgrade-websocket-then-h2c": ("Upgrade", (UP, "Upgrade: h2c", CONN, ACCEPT)),
    "upgrade-h2c-then-websocket": ("Upgrade", ("Upgrade: h2c", UP, CONN, ACCEPT)),
    "upgrade-list-with-another": ("Upgrade", ("Upgrade: websocket, TLS/1.2", CONN, ACCEPT)),
}

REPEATS_ACCEPTED = {
    "connection-over-two-lines": (UP, "Connection: keep-alive", "Connection: Upgrade", ACCEPT),
    "connection-list": (UP, "Connection: keep-alive, Upgrade", ACCEPT),
    "upgrade-repeated-identically": (UP, "Upgrade: WebSocket", CONN, ACCEPT),
}


@pytest.mark.parametrize("case", list(REPEATS_REFUSED.values()), ids=list(REPEATS_REFUSED))
def test_a_repeated_upgrade_or_accept_header_is_refused(raw_server, case) -> None:
    # RFC 6455 11.3.3: Sec-WebSocket-Accept appears once; 4.1: Upgrade names websocket only.
    named, lines = case
    srv = raw_server(repeated(*lines))
    exc = expect_failure(lambda: websocket.create_connection(srv.url, timeout=5), within=2)
    assert isinstance(exc, WebSocketHandshakeException), repr(exc)
    assert f"{named} header" in str(exc) or f"{named} headers" in str(exc), str(exc)


@pytest.mark.parametrize("lines", list(REPEATS_ACCEPTED.values()), ids=list(REPEATS_ACCEPTED))
def test_list_headers_may_repeat(raw_server, connect, lines) -> None:
    ws = connect(raw_server(repeated(*lines)).url, timeout=5)
    assert ws.recv() == "upgraded"
