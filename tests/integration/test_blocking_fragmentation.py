"""Fragmented messages in both directions."""

from __future__ import annotations

from _raw_server import RawConn, accept_and_collect
from _wire import OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT, pattern_bytes

from websocket import ABNF


def test_fragmented_text_from_server_is_reassembled(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/fragmented", parts="hé,llo ,wörld"))
    assert ws.recv() == "héllo wörld"


def test_fragmented_binary_from_server_is_reassembled(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/fragmented", parts="ab,cd,ef", type="binary"))
    assert ws.recv() == b"abcdef"


def test_recv_data_reassembles_without_decoding(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/fragmented", parts="frag,ment"))
    assert ws.recv_data() == (ABNF.OPCODE_TEXT, b"fragment")


def test_utf8_character_split_across_fragments(raw_server, connect) -> None:
    euro = "€".encode()  # three bytes, split 1 + 2

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"price " + euro[:1], fin=False)
        conn.send_frame(OP_CONT, euro[1:] + b" 5", fin=True)
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.recv() == "price € 5"


def test_many_small_fragments(raw_server, connect) -> None:
    data = pattern_bytes(5000)

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_BINARY, data[:1], fin=False)
        for i in range(1, 4999):
            conn.send_frame(OP_CONT, data[i : i + 1], fin=False)
        conn.send_frame(OP_CONT, data[4999:], fin=True)
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.recv() == data


def test_empty_fragments_are_allowed(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"", fin=False)
        conn.send_frame(OP_CONT, b"mid", fin=False)
        conn.send_frame(OP_CONT, b"", fin=True)
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.recv() == "mid"


def test_ping_between_fragments_is_answered_and_message_kept(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"first ", fin=False)
        conn.send_frame(OP_PING, b"in between")
        conn.send_frame(OP_CONT, b"second", fin=True)
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.recv() == "first second"
    ws.close()
    (conn,) = srv.join()
    assert (conn.frames[0].opcode, conn.frames[0].payload) == (OP_PONG, b"in between")


def test_client_fragments_with_send_frame(echo_server, connect) -> None:
    url, record = echo_server.track("/echo")
    ws = connect(url)
    assert ws.send_frame(ABNF.create_frame("frag", ABNF.OPCODE_TEXT, 0)) == 10
    ws.send_frame(ABNF.create_frame("ment", ABNF.OPCODE_CONT, 0))
    ws.send_frame(ABNF.create_frame("ed", ABNF.OPCODE_CONT, 1))
    assert ws.recv() == "fragmented"
    assert record.received == ["fragmented"]


def test_client_fragments_are_separate_frames_on_the_wire(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.send_frame(ABNF.create_frame(b"\x01", ABNF.OPCODE_BINARY, 0))
    ws.ping("between")
    ws.send_frame(ABNF.create_frame(b"\x02", ABNF.OPCODE_CONT, 0))
    ws.send_frame(ABNF.create_frame(b"\x03", ABNF.OPCODE_CONT, 1))
    ws.close()
    (conn,) = srv.join()
    seen = [(f.fin, f.opcode, f.payload) for f in conn.frames[:4]]
    assert seen == [
        (False, OP_BINARY, b"\x01"),
        (True, OP_PING, b"between"),
        (False, OP_CONT, b"\x02"),
        (True, OP_CONT, b"\x03"),
    ]


def _three_fragments(conn: RawConn) -> None:
    # websockets ends a fragmented send with an empty final frame, so the
    # exact a/b/c shape needs the raw server.
    conn.handshake()
    conn.send_frame(OP_TEXT, b"a", fin=False)
    conn.send_frame(OP_CONT, b"b", fin=False)
    conn.send_frame(OP_CONT, b"c", fin=True)
    conn.send_frame(OP_TEXT, b"whole")
    conn.collect(echo_close=True)


def test_recv_frame_returns_fragments_one_by_one(raw_server, connect) -> None:
    ws = connect(raw_server(_three_fragments).url)
    frames = [ws.recv_frame() for _ in range(3)]
    assert [(f.fin, f.opcode, f.data) for f in frames] == [
        (0, ABNF.OPCODE_TEXT, b"a"),
        (0, ABNF.OPCODE_CONT, b"b"),
        (1, ABNF.OPCODE_CONT, b"c"),
    ]
    assert ws.recv() == "whole"


def test_fire_cont_frame_delivers_each_fragment(raw_server, connect) -> None:
    ws = connect(raw_server(_three_fragments).url, fire_cont_frame=True)
    got = [ws.recv_data_frame() for _ in range(3)]
    assert [(opcode, frame.fin, frame.data) for opcode, frame in got] == [
        (ABNF.OPCODE_TEXT, 0, b"a"),
        (ABNF.OPCODE_CONT, 0, b"b"),
        (ABNF.OPCODE_CONT, 1, b"c"),
    ]
    assert ws.recv() == "whole"
