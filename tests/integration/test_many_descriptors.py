"""A process that already holds more than 1,024 descriptors: per-call timeouts, polls and close still work.

``select.select`` refuses descriptors >= 1024; the client waits with poll,
so a connection whose socket gets such a descriptor behaves as any other.
The module opens 1,100 descriptors first (raising the soft RLIMIT_NOFILE if
it must, and restoring it after).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from _reach_servers import WsServer, running
from _tls_material import TlsMaterial

import websocket

resource = pytest.importorskip("resource")

HELD = 1100
# Far above the 0.5 s asked and far below the 30 s socket timeout: the wait ends by
# the per-call deadline, not by the socket's own timeout or the server closing.
WAIT_BOUND = 10.0


@pytest.fixture(scope="module")
def many_descriptors() -> Iterator[list[int]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = HELD + 512  # room for the servers, the clients and pytest itself
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below {want}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    held: list[int] = []
    try:
        held = [os.open(os.devnull, os.O_RDONLY) for _ in range(HELD)]
        yield held
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _check_connection(ws: websocket.WebSocket) -> None:
    assert ws.fileno() >= 1024, "the test needs a descriptor select() refuses"
    started = time.monotonic()
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv(timeout=0.5)
    assert time.monotonic() - started < WAIT_BOUND
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv(timeout=0)  # a poll
    ws.send("after the timeout")
    assert ws.recv(timeout=5) == "after the timeout"
    started = time.monotonic()
    ws.close(timeout=5)
    assert time.monotonic() - started < WAIT_BOUND
    assert ws.sock is None
    assert not ws.connected


def test_timeout_message_and_close_above_descriptor_1024(many_descriptors, echo_server, connect) -> None:
    url, record = echo_server.track("/echo")
    ws = connect(url, timeout=30)
    _check_connection(ws)
    record.wait_finished()
    assert record.client_close is not None and record.client_close[0] == 1000


def test_tls_above_descriptor_1024(many_descriptors, tls: TlsMaterial, connect) -> None:
    with running(WsServer(ssl_context=tls.server_context())) as srv:
        ws = connect(srv.url("/fds"), timeout=30, sslopt={"ca_certs": tls.ca_file})
        assert ws.is_ssl()
        _check_connection(ws)


def test_drain_after_a_protocol_error_above_descriptor_1024(many_descriptors, raw_server, connect) -> None:
    def script(conn) -> None:  # type: ignore[no-untyped-def]
        conn.handshake(trailer=b"\x83\x00")  # a frame with a reserved opcode: the client fails the connection
        conn.expect_close()
        conn.wait_eof(timeout=2 * WAIT_BOUND)  # TCP stays open: the client stops waiting on its own

    srv = raw_server(script)
    ws = connect(srv.url, timeout=30)
    assert ws.fileno() >= 1024
    started = time.monotonic()
    with pytest.raises(websocket.WebSocketProtocolException):
        ws.recv(timeout=5)
    # The client waits (at most FAIL_CLOSE_TIMEOUT) for the server to end TCP: with poll, not forever.
    assert time.monotonic() - started < WAIT_BOUND
    (conn,) = srv.join()
    assert conn.client_close is not None and conn.client_close.close_code == 1002
