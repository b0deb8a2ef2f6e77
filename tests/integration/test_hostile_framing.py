"""Hostile framing beyond the RFC violations of test_blocking_protocol_violations.py.

Each test sends what a broken or malicious server could, and checks the
contract of docs/robustness.md: a documented exception within a bound, the
connection failed with the right close code and released, memory bounded by
the limits, and never a truncated message delivered as if whole.
"""

from __future__ import annotations

import time

import pytest
from _hostile import MIB, expect_failure, reset, socket_released, stream_until_client_leaves, traced_peak
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT, build_frame, pattern_bytes

import websocket

pytestmark = pytest.mark.wsline_only


def close_code(conn: RawConn) -> int | None:
    frame = conn.client_close
    return None if frame is None else frame.close_code


# ------------------------------------------------------------ absurd lengths


@pytest.mark.parametrize("max_size", [1024, None], ids=["limited", "unlimited"])
def test_length_2_63_minus_1_allocates_nothing(raw_server, connect, max_size) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(build_frame(OP_BINARY, b"", length=2**63 - 1) + b"\x00" * 4096)
        conn.collect(timeout=2)

    srv = raw_server(script)
    ws = connect(srv.url, max_size=max_size, timeout=5)
    with traced_peak() as peak:
        if max_size is None:
            # No limit asked for: the client waits for the payload; the server gives up first.
            exc = expect_failure(ws.recv, within=10)
            assert isinstance(exc, websocket.WebSocketConnectionClosedException)
        else:
            exc = expect_failure(ws.recv, within=2)
            assert isinstance(exc, websocket.WebSocketPayloadException)
    # Without a limit one read may reserve up to _protocol.MAX_READ (64 MiB) for the payload
    # announced; with one, nothing beyond the read-ahead.
    assert peak[0] < (80 * MIB if max_size is None else 4 * MIB)
    assert ws.connected is False and socket_released(ws)
    (conn,) = srv.join()
    assert close_code(conn) == (None if max_size is None else 1009)


# ------------------------------------------------------- messages cut short


def _cut_single_frame(conn: RawConn) -> None:
    conn.send_raw(build_frame(OP_BINARY, pattern_bytes(4 * MIB), length=8 * MIB))


def _cut_fragmented(conn: RawConn) -> None:
    conn.send_frame(OP_BINARY, pattern_bytes(MIB), fin=False)
    for _ in range(3):
        conn.send_frame(OP_CONT, pattern_bytes(MIB), fin=False)
    conn.send_raw(build_frame(OP_CONT, pattern_bytes(MIB // 2), fin=True, length=MIB))


def _cut_text(conn: RawConn) -> None:
    conn.send_frame(OP_TEXT, "é".encode() * (MIB // 2), fin=False)
    conn.send_raw(build_frame(OP_CONT, b"ok" + b"\xc3", fin=True, length=100))


CUTS = {"single-frame": _cut_single_frame, "fragmented": _cut_fragmented, "text-mid-character": _cut_text}


@pytest.mark.parametrize("ending", ["fin", "rst"])
@pytest.mark.parametrize("cut", list(CUTS.values()), ids=list(CUTS))
def test_huge_message_dropped_halfway_is_never_delivered(raw_server, connect, cut, ending) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"before")
        cut(conn)
        time.sleep(0.2)  # let the client read what was sent
        if ending == "rst":
            reset(conn)
        else:
            conn.close_tcp()

    srv = raw_server(script)
    ws = connect(srv.url, timeout=5)
    assert ws.recv() == "before"
    with traced_peak() as peak:
        exc = expect_failure(ws.recv, within=5)
    if ending == "fin":
        assert isinstance(exc, websocket.WebSocketConnectionClosedException)
    else:  # a reset may arrive as ECONNRESET (OSError) or, once read, as the end of the stream
        assert isinstance(exc, (ConnectionResetError, websocket.WebSocketConnectionClosedException))
    assert peak[0] < 24 * MIB  # what was received (at most 4 MiB), a few copies at most
    assert ws.connected is False and socket_released(ws)
    # Nothing comes back later either: no part of the message, no stale data.
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()


# ------------------------------------------------------ endless small frames


def test_endless_one_byte_fragments_end_at_max_size(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_BINARY, b"x", fin=False)
        stream_until_client_leaves(conn, build_frame(OP_CONT, b"y", fin=False) * 4096, seconds=20)

    srv = raw_server(script)
    ws = connect(srv.url, max_size=256 * 1024, timeout=5)
    with traced_peak() as peak:
        exc = expect_failure(ws.recv, within=15)
    assert isinstance(exc, websocket.WebSocketPayloadException)
    assert peak[0] < 8 * MIB
    assert ws.connected is False and socket_released(ws)
    (conn,) = srv.join()
    assert close_code(conn) == 1009


FLOODS = {
    "empty-fragments": (build_frame(OP_TEXT, b"", fin=False), build_frame(OP_CONT, b"", fin=False)),
    "pings": (b"", build_frame(OP_PING, b"")),
    "pongs": (b"", build_frame(OP_PONG, b"p" * 125)),
}


@pytest.mark.parametrize("flood", list(FLOODS.values()), ids=list(FLOODS))
def test_endless_frames_without_payload_cannot_hold_recv_past_its_timeout(raw_server, connect, flood) -> None:
    first, frame = flood

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(first)
        stream_until_client_leaves(conn, frame * 2048, seconds=20)

    srv = raw_server(script)
    ws = connect(srv.url, timeout=5)
    with traced_peak() as peak:
        exc = expect_failure(lambda: ws.recv(timeout=1.0), within=3)
    assert isinstance(exc, websocket.WebSocketTimeoutException)
    assert peak[0] < 16 * MIB
    ws.shutdown()


def test_ping_flood_is_answered_and_the_message_after_it_arrives(raw_server, connect) -> None:
    count = 50_000

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(build_frame(OP_PING, b"12345678") * count + build_frame(OP_TEXT, b"after the flood"))
        pongs = 0
        while pongs < count:
            frame = conn.read_frame(timeout=10)
            if frame is None or frame.opcode != OP_PONG:
                break
            pongs += 1
        conn.send_frame(OP_TEXT, str(pongs).encode())
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url, timeout=10)
    with traced_peak() as peak:
        assert ws.recv() == "after the flood"
    assert ws.recv() == str(count)  # every ping answered, in order
    assert peak[0] < 32 * MIB
    ws.close()


def test_ping_flood_from_a_server_that_reads_nothing_times_out(raw_server, connect) -> None:
    # Pongs pile up in the socket buffers until the client's write blocks; the timeout ends it.
    def script(conn: RawConn) -> None:
        conn.handshake()
        stream_until_client_leaves(conn, build_frame(OP_PING, b"p" * 125) * 512, seconds=20, read=False)

    srv = raw_server(script)
    ws = connect(srv.url, timeout=1)
    exc = expect_failure(ws.recv, within=10)
    assert isinstance(exc, websocket.WebSocketTimeoutException)
    assert ws.connected is False and socket_released(ws)
