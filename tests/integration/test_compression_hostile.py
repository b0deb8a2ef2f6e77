"""permessage-deflate against a scripted raw-socket server: the offer on the wire, bombs, bad answers."""

from __future__ import annotations

import tracemalloc
import zlib
from typing import Any, Callable

import pytest
from _raw_server import RawConn
from _wire import OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT, RSV1, Frame

import websocket
from websocket import WebSocketHandshakeException, WebSocketPayloadException, WebSocketProtocolException

pytestmark = pytest.mark.wsline_only

DEFAULT_OFFER = (
    "permessage-deflate; client_max_window_bits, permessage-deflate; client_max_window_bits; client_no_context_takeover"
)
DEFLATE = [("Sec-WebSocket-Extensions", "permessage-deflate")]
MIB = 1024 * 1024


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


def gigabyte_bomb() -> bytes:
    """About 1 MiB of deflate data that inflates to 1 GiB of zeros.

    One MiB of zeros, flushed to a byte boundary, repeated: every copy only
    refers to zeros, so the copies chain into one valid stream.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\x00" * MIB) + c.flush(zlib.Z_SYNC_FLUSH)
    return block * 1024


def close_code(frame: Any) -> int:
    return int.from_bytes(frame.payload[:2], "big")


def answering(headers: list[tuple[str, str]], then: Callable[[RawConn], None]) -> Callable[[RawConn], None]:
    def script(conn: RawConn) -> None:
        conn.handshake(headers=headers)
        then(conn)

    return script


def collect(conn: RawConn) -> None:
    conn.collect(echo_close=True)


def send_twice(
    raw_server: Any, connect: Any, answer: list[tuple[str, str]], message: str, **options: Any
) -> tuple[RawConn, list[Frame]]:
    """Connect to a server answering with ``answer`` headers, send ``message`` twice and close.

    Returns the server's connection and the text frames it received.
    """
    srv = raw_server(answering(answer, collect))
    ws = connect(srv.url, **options)
    ws.send(message)
    ws.send(message)
    ws.close()
    conn = srv.join()[0]
    return conn, [f for f in conn.frames if f.opcode == OP_TEXT]


# ------------------------------------------------------------------ the offer


def test_default_request_carries_the_two_offers(raw_server: Any, connect: Any) -> None:
    srv = raw_server(answering([], collect))
    connect(srv.url).close()
    conn = srv.join()[0]
    assert conn.header_all("Sec-WebSocket-Extensions") == [DEFAULT_OFFER]


def test_compression_none_sends_no_offer(raw_server: Any, connect: Any) -> None:
    srv = raw_server(answering([], collect))
    connect(srv.url, compression=None).close()
    assert srv.join()[0].header_all("Sec-WebSocket-Extensions") == []


def test_user_header_replaces_the_offer(raw_server: Any, connect: Any) -> None:
    answer = [("Sec-WebSocket-Extensions", "permessage-deflate; client_no_context_takeover")]
    header = ["Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover"]
    conn, (first, second) = send_twice(raw_server, connect, answer, "Hello Hello Hello Hello", header=header)
    assert conn.header_all("Sec-WebSocket-Extensions") == ["permessage-deflate; client_no_context_takeover"]
    assert first.rsv == RSV1 and first.payload == second.payload  # no context kept between messages


# ------------------------------------------------------- what the client sends


def test_plain_answer_keeps_the_compression_context(raw_server: Any, connect: Any) -> None:
    message = "the quick brown fox jumps over the lazy dog " * 5
    _, frames = send_twice(raw_server, connect, DEFLATE, message)
    inflater = zlib.decompressobj(-15)
    for frame in frames:
        assert frame.rsv == RSV1
        assert inflater.decompress(frame.payload + b"\x00\x00\xff\xff").decode() == message
    assert len(frames[1].payload) < len(frames[0].payload) // 4  # refers back to the first message


def test_answer_with_client_no_context_takeover_is_obeyed(raw_server: Any, connect: Any) -> None:
    answer = [("Sec-WebSocket-Extensions", "permessage-deflate; client_no_context_takeover; client_max_window_bits=9")]
    message = "the quick brown fox jumps over the lazy dog " * 50
    _, frames = send_twice(raw_server, connect, answer, message)
    for frame in frames:  # each one inflates on its own, with a 9-bit window
        assert zlib.decompressobj(-9).decompress(frame.payload + b"\x00\x00\xff\xff").decode() == message


# ------------------------------------------------------- what the client takes


def test_compressed_uncompressed_and_fragmented_messages(raw_server: Any, connect: Any) -> None:
    hello = deflate(b"Hello")

    def then(conn: RawConn) -> None:
        conn.send_frame(OP_TEXT, hello, rsv=RSV1)
        conn.send_frame(OP_TEXT, b"small", rsv=0)  # servers leave small messages uncompressed
        conn.send_frame(OP_BINARY, hello[:2], rsv=RSV1, fin=False)
        conn.send_frame(OP_CONT, hello[2:])
        collect(conn)

    ws = connect(raw_server(answering(DEFLATE, then)).url)
    assert [ws.recv(), ws.recv(), ws.recv()] == ["Hello", "small", b"Hello"]
    ws.close()


def run_bomb(raw_server: Any, connect: Any, max_size: Any) -> tuple[int, RawConn]:
    bomb = gigabyte_bomb()

    def then(conn: RawConn) -> None:
        try:
            conn.send_frame(OP_BINARY, bomb, rsv=RSV1)
        except OSError:
            pass  # the client may hang up before the whole bomb is written
        conn.collect(timeout=10)

    srv = raw_server(answering(DEFLATE, then))
    options = {} if max_size == "default" else {"max_size": max_size}
    ws = connect(srv.url, timeout=10, **options)
    tracemalloc.start()
    try:
        with pytest.raises(WebSocketPayloadException, match="max_size"):
            ws.recv()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not ws.connected
    return peak, srv.join()[0]


def test_bomb_gets_1009_with_memory_bounded_by_max_size(raw_server: Any, connect: Any) -> None:
    peak, conn = run_bomb(raw_server, connect, MIB)
    assert peak < 16 * MIB
    assert conn.client_close is not None and close_code(conn.client_close) == 1009


def test_bomb_against_the_default_max_size(raw_server: Any, connect: Any) -> None:
    peak, conn = run_bomb(raw_server, connect, "default")
    assert peak < 3 * 64 * MIB  # 64 MiB default; the GiB never materialises
    assert conn.client_close is not None and close_code(conn.client_close) == 1009


@pytest.mark.parametrize(
    ("payload", "rsv", "headers", "code", "error"),
    [
        (b"\xff\xfe\xfd\xfc", RSV1, DEFLATE, 1002, WebSocketProtocolException),  # not deflate
        (deflate(b"Hello"), RSV1, [], 1002, WebSocketProtocolException),  # RSV1 without negotiation
        (deflate(b"caf\xe9 au lait"), RSV1, DEFLATE, 1007, WebSocketPayloadException),  # bad UTF-8 inside
    ],
)
def test_bad_compressed_frames_fail_the_connection(
    raw_server: Any, connect: Any, payload: bytes, rsv: int, headers: list[tuple[str, str]], code: int, error: type
) -> None:
    def then(conn: RawConn) -> None:
        conn.send_frame(OP_TEXT, payload, rsv=rsv)
        collect(conn)

    srv = raw_server(answering(headers, then))
    ws = connect(srv.url)
    with pytest.raises(error):
        ws.recv()
    conn = srv.join()[0]
    assert conn.client_close is not None and close_code(conn.client_close) == code


def final_block(data: bytes) -> bytes:
    """``data`` deflated into a stream ended by a final block (BFINAL set), nothing after it."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH)


AFTER_FINAL = {  # what follows a final block in the payload, in one frame or in a last frame of its own
    "garbage": b"garbage",
    "a-second-stream": final_block(b"smuggled"),
    "an-unstripped-tail": b"\x00\x00\xff\xff",
    "one-zero-too-many": b"\x00\x00",
}


@pytest.mark.parametrize("split", [False, True], ids=["same-frame", "next-frame"])
@pytest.mark.parametrize("after", list(AFTER_FINAL.values()), ids=list(AFTER_FINAL))
def test_data_after_the_final_deflate_block_fails_with_1007(raw_server: Any, connect: Any, after: bytes, split: bool) -> None:
    # RFC 7692 7.2.2: such a payload is not valid deflate data; it used to be dropped silently.
    body = final_block(b"Hello")

    def then(conn: RawConn) -> None:
        if split:
            conn.send_frame(OP_TEXT, body, rsv=RSV1, fin=False)
            conn.send_frame(OP_CONT, after)
        else:
            conn.send_frame(OP_TEXT, body + after, rsv=RSV1)
        collect(conn)

    srv = raw_server(answering(DEFLATE, then))
    ws = connect(srv.url)
    with pytest.raises(WebSocketPayloadException, match="after its final deflate block"):
        ws.recv()
    conn = srv.join()[0]
    assert conn.client_close is not None and close_code(conn.client_close) == 1007


def test_final_block_flushes_of_rfc_7692_are_accepted(raw_server: Any, connect: Any) -> None:
    # 7.2.3.3: a sender without an empty-block flush may end each message with BFINAL,
    # behind it the header byte of an empty stored block (or nothing); the next
    # message then starts a new stream, under context takeover too.
    rfc_example = bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00])

    def then(conn: RawConn) -> None:
        conn.send_frame(OP_TEXT, rfc_example, rsv=RSV1)
        conn.send_frame(OP_TEXT, final_block(b"no padding byte"), rsv=RSV1)
        conn.send_frame(OP_TEXT, final_block(b"split"), rsv=RSV1, fin=False)
        conn.send_frame(OP_CONT, b"\x00")
        conn.send_frame(OP_TEXT, deflate(b"and a sync flush after them"), rsv=RSV1)
        collect(conn)

    ws = connect(raw_server(answering(DEFLATE, then)).url)
    assert [ws.recv() for _ in range(4)] == ["Hello", "no padding byte", "split", "and a sync flush after them"]
    ws.close()


# ---------------------------------------------------------------- bad answers


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("permessage-deflate; client_max_window_bits=16", "needs a value from 8 to 15"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "duplicate parameter"),
        ("permessage-deflate; mystery", "unknown parameter"),
        ("permessage-deflate; client_max_window_bits", "needs a value"),
        ("x-webkit-deflate-frame", "not offered"),
        ("permessage-deflate;", "malformed"),
    ],
)
def test_bad_answers_fail_the_handshake(raw_server: Any, connect: Any, answer: str, message: str) -> None:
    srv = raw_server(answering([("Sec-WebSocket-Extensions", answer)], lambda conn: None))
    with pytest.raises(WebSocketHandshakeException, match=message):
        connect(srv.url)


def test_extension_answer_without_an_offer_fails_the_handshake(raw_server: Any, connect: Any) -> None:
    srv = raw_server(answering(DEFLATE, lambda conn: None))
    with pytest.raises(WebSocketHandshakeException, match="not offered"):
        connect(srv.url, compression=None)


def test_websocket_object_keeps_its_compression_setting_across_connects(raw_server: Any, connect: Any) -> None:
    srv = raw_server(answering([], collect))
    ws = connect.track(websocket.WebSocket(compression=None))
    for _ in range(2):
        ws.connect(srv.url, timeout=5)
        ws.close()
    srv.join()
    assert [c.header_all("Sec-WebSocket-Extensions") for c in srv.conns] == [[], []]


def test_close_frames_are_never_compressed(raw_server: Any, connect: Any) -> None:
    srv = raw_server(answering(DEFLATE, collect))
    connect(srv.url).close(reason="x" * 100)
    conn = srv.join()[0]
    assert conn.client_close is not None and conn.client_close.rsv == 0 and conn.client_close.opcode == OP_CLOSE
