"""Ping and pong through the blocking client."""

from __future__ import annotations

from _raw_server import RawConn, accept_and_collect
from _wire import OP_PING, OP_PONG, OP_TEXT

from websocket import ABNF


def test_server_ping_is_answered_during_recv(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/ping", payload="abc"))
    assert ws.recv() == "pong:abc"  # the server saw our pong before sending this


def test_recv_data_with_control_frame_returns_the_ping(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/ping", payload="xyz"))
    assert ws.recv_data(control_frame=True) == (ABNF.OPCODE_PING, b"xyz")
    assert ws.recv_data(control_frame=True) == (ABNF.OPCODE_TEXT, b"pong:xyz")


def test_recv_data_frame_with_control_frame_returns_ping_frame(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/ping", payload="fr"))
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == ABNF.OPCODE_PING
    assert (frame.opcode, frame.data) == (ABNF.OPCODE_PING, b"fr")


def test_client_ping_gets_pong(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.ping("hello")
    assert ws.recv_data(control_frame=True) == (ABNF.OPCODE_PONG, b"hello")


def test_pong_is_skipped_without_control_frame(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.ping(b"\x00\x01")
    ws.send("after ping")
    assert ws.recv() == "after ping"


def test_ping_and_pong_payloads_on_the_wire(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.ping()
    ws.ping("é")
    ws.ping(b"\xff" * 125)
    ws.pong("unsolicited")
    ws.pong(b"")
    ws.close()
    (conn,) = srv.join()
    assert [(f.opcode, f.payload) for f in conn.frames[:5]] == [
        (OP_PING, b""),
        (OP_PING, "é".encode()),
        (OP_PING, b"\xff" * 125),
        (OP_PONG, b"unsolicited"),
        (OP_PONG, b""),
    ]


def test_max_size_ping_from_server_is_answered(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_PING, b"p" * 125)
        conn.send_frame(OP_TEXT, b"after")
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.recv() == "after"
    ws.close()
    (conn,) = srv.join()
    assert (conn.frames[0].opcode, conn.frames[0].payload) == (OP_PONG, b"p" * 125)


def test_unsolicited_pong_from_server_is_ignored_by_recv(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_PONG, b"heartbeat")
        conn.send_frame(OP_TEXT, b"data")
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url)
    assert ws.recv() == "data"


def test_recv_frame_does_not_answer_pings(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_PING, b"manual")
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    frame = ws.recv_frame()
    assert (frame.opcode, frame.data) == (ABNF.OPCODE_PING, b"manual")
    ws.send("done")  # the first frame the server sees must be this, not a pong
    ws.close()
    (conn,) = srv.join()
    assert (conn.frames[0].opcode, conn.frames[0].payload) == (OP_TEXT, b"done")


def test_many_pings_interleaved_with_data(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        for i in range(50):
            conn.send_frame(OP_PING, str(i).encode())
            conn.send_frame(OP_TEXT, f"msg{i}".encode())
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert [ws.recv() for _ in range(50)] == [f"msg{i}" for i in range(50)]
    ws.close()
    (conn,) = srv.join()
    pongs = [f.payload for f in conn.frames if f.opcode == OP_PONG]
    assert pongs == [str(i).encode() for i in range(50)]
