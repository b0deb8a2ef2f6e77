"""A caller that waits for readability on ``ws.sock`` (select/poll) before each receive sees every frame.

This is how kubernetes (and much websocket-client code) reads: poll the
socket, then ``recv_data_frame()``; poll with timeout 0 to learn whether more
is waiting. Nothing that has arrived may sit in the library's own buffer
while the socket shows nothing to read.
"""

from __future__ import annotations

import select
import threading
import time

import pytest
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, build_frame, close_payload

import websocket

pytestmark = pytest.mark.wsline_only

WAIT = 5.0


def _readable(ws: websocket.WebSocket, timeout: float) -> bool:
    poller = select.poll()
    poller.register(ws.sock, select.POLLIN)  # the way kubernetes waits
    return bool(poller.poll(timeout * 1000))


def _drain_like_kubernetes(ws: websocket.WebSocket, stop: threading.Event) -> list[tuple[int, bytes]]:
    """Poll, then one recv_data_frame per readable; stop once a close frame comes or ``stop`` is set."""
    got: list[tuple[int, bytes]] = []
    end = time.monotonic() + WAIT
    while time.monotonic() < end and not stop.is_set():
        if not _readable(ws, 0.05):
            continue
        opcode, frame = ws.recv_data_frame(True)
        got.append((opcode, frame.data))
        if opcode == OP_CLOSE:
            break
    return got


def _serving(raw_server, connect, wire: bytes = b"", *, with_101: bytes = b"") -> tuple[websocket.WebSocket, threading.Event]:
    """A connection to a server that sends ``with_101`` in the handshake's write, then ``wire``, then waits."""
    release = threading.Event()

    def script(conn: RawConn) -> None:
        conn.handshake(trailer=with_101)
        if wire:
            conn.send_raw(wire)
        release.wait(WAIT)

    return connect(raw_server(script).url), release


def test_a_burst_of_frames_in_one_write_is_seen_frame_by_frame(raw_server, connect) -> None:
    burst = b"".join(build_frame(OP_BINARY, bytes([1]) + b"x" * n) for n in (10, 20, 30))
    ws, release = _serving(raw_server, connect, burst)
    try:
        got: list[bytes] = []
        while len(got) < 3 and _readable(ws, 2.0):
            got.append(ws.recv_data_frame(True)[1].data)
    finally:
        release.set()
    assert [len(g) for g in got] == [11, 21, 31]


def test_a_close_frame_behind_data_is_seen_without_waiting_for_tcp(raw_server, connect) -> None:
    # The server sends its output and its close frame at once, then keeps TCP open.
    wire = build_frame(OP_BINARY, b"\x01" + b"o" * 70_000) + build_frame(OP_CLOSE, close_payload(1000, ""))
    ws, release = _serving(raw_server, connect, wire)
    started = time.monotonic()
    try:
        got = _drain_like_kubernetes(ws, release)
    finally:
        release.set()
    assert [op for op, _ in got] == [OP_BINARY, OP_CLOSE]
    assert len(got[0][1]) == 70_001
    assert time.monotonic() - started < 2.0  # seen at once, not when TCP goes


def test_frames_sent_with_the_handshake_answer_are_visible_on_the_socket(raw_server, connect) -> None:
    ws, release = _serving(raw_server, connect, with_101=build_frame(OP_TEXT, b"hello") + build_frame(OP_TEXT, b"again"))
    try:
        assert _readable(ws, 2.0), "the frames behind the 101 are hidden from poll"
        assert ws.recv() == "hello"
        assert _readable(ws, 2.0), "the second frame is hidden from poll"
        assert ws.recv() == "again"
        assert not _readable(ws, 0.1)
    finally:
        release.set()


def test_control_frames_between_messages_do_not_hide_what_follows(raw_server, connect) -> None:
    wire = build_frame(OP_PING, b"p") + build_frame(OP_TEXT, b"one") + build_frame(OP_TEXT, b"two")
    ws, release = _serving(raw_server, connect, wire)
    try:
        assert _readable(ws, 2.0)
        assert ws.recv() == "one"  # the ping before it is answered on the way
        assert _readable(ws, 2.0), "the second message is hidden from poll"
        assert ws.recv() == "two"
    finally:
        release.set()


def test_fileno_is_watched_too(raw_server, connect) -> None:
    ws, release = _serving(raw_server, connect, build_frame(OP_TEXT, b"a") + build_frame(OP_TEXT, b"b"))
    fd = ws.fileno()
    try:
        results = []
        for _ in range(2):
            ready, _, _ = select.select([fd], [], [], 2.0)  # a low descriptor: select is fine here
            results.append(bool(ready) and ws.recv(timeout=0))
    finally:
        release.set()
    assert results == ["a", "b"]


def test_a_plain_recv_loop_still_reads_ahead(raw_server, connect) -> None:
    # Nobody took the socket: one read may bring many frames (the fast path).
    count = 200
    wire = b"".join(build_frame(OP_TEXT, str(i).encode()) for i in range(count))
    ws, release = _serving(raw_server, connect, wire)
    try:
        assert [ws.recv(timeout=WAIT) for _ in range(count)] == [str(i) for i in range(count)]
        assert not ws.conn.watched
        assert ws.conn.proto.read_hint() >= 65536
    finally:
        release.set()
