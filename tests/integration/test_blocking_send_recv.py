"""Data messages through the blocking client: every send and recv flavour."""

from __future__ import annotations

import threading

import pytest
from _raw_server import accept_and_collect
from _wire import OP_BINARY, OP_TEXT, pattern_bytes, pattern_text

import websocket
from websocket import ABNF

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("payload", "opcode", "wire_length"),
    [
        ("x", ABNF.OPCODE_TEXT, 7),  # 2-byte header + 4-byte mask + 1
        ("", ABNF.OPCODE_TEXT, 6),
        ("a" * 125, ABNF.OPCODE_TEXT, 131),
        ("a" * 126, ABNF.OPCODE_TEXT, 134),  # 16-bit length
        (b"\x00" * 65535, ABNF.OPCODE_BINARY, 65543),
        (b"\x00" * 65536, ABNF.OPCODE_BINARY, 65550),  # 64-bit length
        ("é", ABNF.OPCODE_TEXT, 8),  # UTF-8: two bytes
    ],
)
def test_send_returns_bytes_on_the_wire(echo_server, connect, payload, opcode, wire_length) -> None:
    ws = connect(echo_server.url_for("/echo"))
    assert ws.send(payload, opcode) == wire_length
    assert ws.recv() == payload


def test_send_text_and_send_bytes_keep_their_type(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    assert ws.send_text("text") == 10
    assert ws.send_bytes(b"\x00\xffbytes") == 13
    assert ws.send_binary(b"binary") == 12
    assert ws.recv() == "text"
    assert ws.recv() == b"\x00\xffbytes"
    assert ws.recv() == b"binary"


def test_send_default_opcode_is_text(echo_server, connect) -> None:
    url, record = echo_server.track("/echo")
    ws = connect(url)
    ws.send("default")
    assert ws.recv() == "default"
    ws.send(b"bytes as text", ABNF.OPCODE_TEXT)  # bytes + TEXT go out unchanged
    assert ws.recv() == "bytes as text"
    assert record.received == ["default", "bytes as text"]


def test_unicode_text_round_trip(echo_server, connect) -> None:
    text = "héllo wörld € 𝄞 ✓ 日本"
    ws = connect(echo_server.url_for("/echo"))
    ws.send(text)
    assert ws.recv() == text


def test_str_payload_with_binary_opcode_is_latin1(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.send("é", ABNF.OPCODE_BINARY)
    ws.close()
    (conn,) = srv.join()
    assert (conn.frames[0].opcode, conn.frames[0].payload) == (OP_BINARY, b"\xe9")


def test_empty_messages(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("")
    ws.send_bytes(b"")
    assert ws.recv() == ""
    assert ws.recv() == b""


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 * MIB])
def test_binary_echo_at_length_boundaries(echo_server, connect, size) -> None:
    data = pattern_bytes(size)
    ws = connect(echo_server.url_for("/echo"))
    ws.send_bytes(data)
    assert ws.recv() == data


def test_text_echo_at_length_boundaries(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    for size in (125, 126, 65535, 65536, 300_000):
        text = pattern_text(size)
        ws.send(text)
        assert ws.recv() == text


@pytest.mark.parametrize("kind", ["binary", "text"])
def test_16_mib_from_server(echo_server, connect, kind) -> None:
    size = 16 * MIB
    ws = connect(echo_server.url_for("/big", size=size, type=kind), timeout=30)
    expected = pattern_text(size) if kind == "text" else pattern_bytes(size)
    assert ws.recv() == expected


@pytest.mark.parametrize("kind", ["binary", "text"])
def test_16_mib_to_server_and_back(echo_server, connect, kind) -> None:
    url, record = echo_server.track("/echo")
    size = 16 * MIB
    data = pattern_text(size) if kind == "text" else pattern_bytes(size)
    ws = connect(url, timeout=30)
    ws.send(data, ABNF.OPCODE_TEXT if kind == "text" else ABNF.OPCODE_BINARY)
    assert ws.recv() == data
    assert record.received[0] == data


def test_many_pipelined_messages_keep_order(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    for i in range(200):
        ws.send(f"message {i}")
    assert [ws.recv() for _ in range(200)] == [f"message {i}" for i in range(200)]


def test_recv_data_returns_opcode_and_bytes(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("tëxt")
    ws.send_bytes(b"\x01\x02")
    assert ws.recv_data() == (ABNF.OPCODE_TEXT, "tëxt".encode())
    assert ws.recv_data() == (ABNF.OPCODE_BINARY, b"\x01\x02")


def test_recv_data_frame_returns_abnf(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send_bytes(b"frame")
    opcode, frame = ws.recv_data_frame()
    assert opcode == ABNF.OPCODE_BINARY
    assert isinstance(frame, ABNF)
    assert frame.opcode == ABNF.OPCODE_BINARY
    assert frame.fin == 1
    assert frame.data == b"frame"


def test_recv_frame_returns_one_frame(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("one")
    frame = ws.recv_frame()
    assert isinstance(frame, ABNF)
    assert (frame.fin, frame.opcode, frame.data) == (1, ABNF.OPCODE_TEXT, b"one")


def test_iteration_yields_messages_then_close(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/send", text="a", binary="6263", close="1000"))
    it = iter(ws)
    assert next(it) == "a"
    assert next(it) == b"bc"
    assert next(it) == ""  # the server's close frame
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        next(it)


def test_next_and_next_method(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/send", text="one"))
    assert next(ws) == "one"
    ws.send("two")
    assert ws.next() == "two"


def test_set_mask_key_is_used_on_the_wire(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.set_mask_key(lambda n: b"\x01\x02\x03\x04"[:n])
    assert ws.send("masked") == 12
    ws.close()
    (conn,) = srv.join()
    frame = conn.frames[0]
    assert frame.mask == b"\x01\x02\x03\x04"
    assert (frame.opcode, frame.payload) == (OP_TEXT, b"masked")


def test_get_mask_key_option(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url, get_mask_key=lambda n: b"\xaa\xbb\xcc\xdd"[:n])
    ws.send_bytes(b"\x00\x00\x00\x00\x00")
    ws.close()
    (conn,) = srv.join()
    assert conn.frames[0].mask == b"\xaa\xbb\xcc\xdd"
    assert conn.frames[0].payload == b"\x00" * 5


def test_every_client_frame_is_masked_with_a_fresh_key(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    for i in range(20):
        ws.send(f"m{i}")
    ws.ping("p")
    ws.close()
    (conn,) = srv.join()
    assert len(conn.frames) == 22
    assert all(frame.mask is not None for frame in conn.frames)
    assert len({frame.mask for frame in conn.frames}) > 1
    assert [f.payload for f in conn.frames[:20]] == [f"m{i}".encode() for i in range(20)]


def test_concurrent_senders_never_interleave(echo_server, connect) -> None:
    threads_count, per_thread = 8, 150
    url, record = echo_server.track("/sink")
    ws = connect(url, timeout=30)

    def sender(tid: int) -> None:
        for seq in range(per_thread):
            # Sizes vary across header forms (7/16/64-bit) to stress partial writes.
            pad = "x" * ((tid * 7919 + seq * 104729) % 70_000)
            ws.send(f"{tid}:{seq}:{pad}")

    workers = [threading.Thread(target=sender, args=(tid,), daemon=True) for tid in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not any(worker.is_alive() for worker in workers)
    received = record.wait_received(threads_count * per_thread, timeout=30)
    by_thread: dict[int, list[int]] = {}
    for message in received:
        assert isinstance(message, str)
        tid, seq, pad = message.split(":")
        assert pad == "x" * ((int(tid) * 7919 + int(seq) * 104729) % 70_000)
        by_thread.setdefault(int(tid), []).append(int(seq))
    assert by_thread == {tid: list(range(per_thread)) for tid in range(threads_count)}
