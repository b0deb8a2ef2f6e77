"""Reassembly against hostile fragmentation: memory stays near max_size, and the limit is enforced at once.

The servers are raw sockets on 127.0.0.1 streaming fragments of one message
that never ends (docs/robustness.md, "Memory is bounded by the limits").
"""

from __future__ import annotations

import pytest
from _hostile import MIB, expect_failure, socket_released, stream_until_client_leaves, traced_peak
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CONT, OP_TEXT, build_frame

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
