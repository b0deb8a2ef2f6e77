"""Reassembly and read-ahead against hostile servers: memory stays near the limits.

The servers are raw sockets on 127.0.0.1: fragments of one message that never
ends, or compressed messages that each inflate to a mebibyte, many to a read
(docs/robustness.md, "Memory is bounded by the limits").
"""

from __future__ import annotations

import zlib

import pytest
from _hostile import MIB, expect_failure, socket_released, stream_until_client_leaves, traced_peak
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CONT, OP_TEXT, RSV1, build_frame

import websocket
from websocket._sansio.protocol import DEFAULT_MAX_SIZE

pytestmark = pytest.mark.wsline_only


def close_code(conn: RawConn) -> int | None:
    frame = conn.client_close
    return None if frame is None else frame.close_code


@pytest.mark.timeout(120)
@pytest.mark.parametrize("opcode", [OP_BINARY, OP_TEXT], ids=["binary", "text"])
def test_an_endless_fragmented_message_holds_little_more_than_the_default_max_size(raw_server, connect, opcode) -> None:
    piece = b"y" * 125  # small frames: many pieces, but few enough for a test under tracemalloc
    fragments = build_frame(OP_CONT, piece, fin=False) * 512

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(opcode, b"x", fin=False)
        stream_until_client_leaves(conn, fragments, seconds=90)

    srv = raw_server(script)
    ws = connect(srv.url, timeout=30)  # the default max_size, 64 MiB
    with traced_peak() as peak:
        exc = expect_failure(ws.recv, within=90)
    assert isinstance(exc, websocket.WebSocketPayloadTooBig)
    # The message grows in place: max_size, the buffer's over-allocation (1/8), and one read.
    assert peak[0] < DEFAULT_MAX_SIZE * 9 // 8 + 2 * MIB, peak[0]
    assert ws.connected is False and socket_released(ws)
    (conn,) = srv.join()
    assert close_code(conn) == 1009


def test_the_limit_fails_the_message_at_the_fragment_that_crosses_it(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(build_frame(OP_BINARY, b"a" * 60, fin=False) + build_frame(OP_CONT, b"b" * 40, fin=False))
        conn.send_raw(build_frame(OP_CONT, b"c", fin=False))  # 101 bytes: one over the limit
        conn.collect(timeout=2)

    srv = raw_server(script)
    ws = connect(srv.url, max_size=100, timeout=5)
    exc = expect_failure(ws.recv, within=5)
    assert isinstance(exc, websocket.WebSocketPayloadTooBig)
    assert "101 bytes" in str(exc)
    (conn,) = srv.join()
    assert close_code(conn) == 1009


def test_a_message_in_many_one_byte_fragments_arrives_whole(raw_server, connect) -> None:
    text = "é" * 50_000  # two bytes each: every character is cut between two fragments
    raw = text.encode()
    wire = build_frame(OP_TEXT, raw[:1], fin=False) + b"".join(
        build_frame(OP_CONT, raw[i : i + 1], fin=i == len(raw) - 1) for i in range(1, len(raw))
    )

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(wire)
        conn.send_frame(OP_BINARY, b"after")
        conn.collect(timeout=2)

    srv = raw_server(script)
    ws = connect(srv.url, timeout=5)
    assert ws.recv() == text
    assert ws.recv() == b"after"
    ws.close()
    srv.join()


# ------------------------------------------- compressed read-ahead is bounded


def _megabyte_messages(count: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    wire = []
    for i in range(count):
        body = c.compress(bytes([i]) * MIB) + c.flush(zlib.Z_SYNC_FLUSH)
        wire.append(build_frame(OP_BINARY, body[:-4], rsv=RSV1))
    return b"".join(wire)


def test_compressed_messages_in_one_read_are_not_all_inflated_at_once(raw_server, connect) -> None:
    wire = _megabyte_messages(64)  # about 1 KiB each on the wire: one read-ahead holds them all

    def script(conn: RawConn) -> None:
        conn.handshake(headers=[("Sec-WebSocket-Extensions", "permessage-deflate")])
        conn.send_raw(wire)
        conn.collect(timeout=5)

    srv = raw_server(script)
    ws = connect(srv.url, timeout=10)
    sizes = []
    with traced_peak() as peak:
        for i in range(64):
            data = ws.recv()
            assert data == bytes([i]) * MIB
            sizes.append(len(data))
            del data
    assert sizes == [MIB] * 64
    # Inflated messages queued ahead of the caller: about INFLATED_AHEAD (1 MiB) and the one taken.
    assert peak[0] < 6 * MIB, peak[0]
    ws.close()
    srv.join()
