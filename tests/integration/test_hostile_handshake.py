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
        WebSocketConnectionClosedException,
    ),
    "tls-alert-to-plain-client": (answer(b"\x15\x03\x01\x00\x02\x02\x46", then="close"), WebSocketConnectionClosedException),
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
