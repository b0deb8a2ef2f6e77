"""``WebSocket.receive()``: typed messages for every frame type, and how the connection's end is reported.

Against the real ``websockets`` echo server where it can show the case, and
the scripted raw server for what no polite server does (a close frame without
a code, a TCP drop, a protocol violation).
"""

from __future__ import annotations

import threading
import time

import pytest
from _checks import Stopwatch, run_in_thread, socket_closed
from _raw_server import RawConn, sends_close, sends_then_collects, sends_then_drops
from _wire import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, build_frame

import websocket
from websocket import CloseCode, WSMessage, WSMsgType

pytestmark = pytest.mark.wsline_only


# ----------------------------------------------------------- message types


def test_text_message_has_str_data(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("héllo ✓")
    assert ws.receive() == WSMessage(WSMsgType.TEXT, "héllo ✓", None)


def test_binary_message_has_bytes_data(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send_bytes(b"\x00\xffdata")
    msg = ws.receive()
    assert msg.type is WSMsgType.BINARY
    assert msg.data == b"\x00\xffdata"
    assert msg.extra is None


def test_empty_messages_keep_their_type(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("")
    ws.send_bytes(b"")
    assert ws.receive() == (WSMsgType.TEXT, "", None)
    assert ws.receive() == (WSMsgType.BINARY, b"", None)


def test_fragmented_message_arrives_whole(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/fragmented", parts="ab,cd,é", type="text"))
    assert ws.receive() == (WSMsgType.TEXT, "abcdé", None)


def test_message_is_frozen_and_unpacks(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("x")
    msg = ws.receive()
    with pytest.raises(AttributeError):
        msg.data = "changed"  # type: ignore[misc]
    kind, data, extra = msg
    assert (kind, data, extra) == (WSMsgType.TEXT, "x", None)


def test_types_equal_the_opcodes(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send_bytes(b"b")
    msg = ws.receive()
    assert msg.type == websocket.ABNF.OPCODE_BINARY == websocket.Opcode.BINARY


def test_text_is_str_without_utf8_validation(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"), skip_utf8_validation=True)
    ws.send("ünïcode")
    assert ws.receive() == (WSMsgType.TEXT, "ünïcode", None)


def test_invalid_text_without_validation_raises_and_keeps_the_connection(raw_server, connect) -> None:
    srv = raw_server(sends_then_collects(build_frame(OP_TEXT, b"ok\xff") + build_frame(OP_TEXT, b"next"), echo_close=True))
    ws = connect(srv.url, skip_utf8_validation=True)
    with pytest.raises(websocket.WebSocketPayloadException, match="decode"):
        ws.receive()
    assert ws.receive() == (WSMsgType.TEXT, "next", None)


# ----------------------------------------------------------- control frames


def test_server_ping_is_answered_and_skipped_by_default(raw_server, connect) -> None:
    wire = build_frame(OP_PING, b"are you there") + build_frame(OP_TEXT, b"after")
    srv = raw_server(sends_then_collects(wire, echo_close=True))
    ws = connect(srv.url)
    assert ws.receive() == (WSMsgType.TEXT, "after", None)
    ws.close()
    conn = srv.join()[0]
    assert [(f.opcode, f.payload) for f in conn.frames if f.opcode == OP_PONG] == [(OP_PONG, b"are you there")]


def test_control_true_returns_the_ping_after_answering_it(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(trailer=build_frame(OP_PING, b"p1"))
        pong = conn.read_frame()
        assert pong is not None and (pong.opcode, pong.payload) == (OP_PONG, b"p1")
        conn.send_frame(OP_TEXT, b"pong seen")
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    assert ws.receive(control=True) == (WSMsgType.PING, b"p1", None)
    assert ws.receive(control=True) == (WSMsgType.TEXT, "pong seen", None)
    ws.close()
    srv.join()


def test_pong_is_returned_only_with_control(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.ping("first")
    ws.send("text")
    assert ws.receive() == (WSMsgType.TEXT, "text", None)  # the pong went by unseen
    ws.ping(b"\x01\x02")
    assert ws.receive(control=True) == (WSMsgType.PONG, b"\x01\x02", None)


# ----------------------------------------------------------- close codes and reasons


def test_server_close_is_a_close_message(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=4001, reason="bye ✓"))
    msg = ws.receive()
    assert msg == (WSMsgType.CLOSE, 4001, "bye ✓")
    assert (ws.close_code, ws.close_reason) == (4001, "bye ✓")


def test_registered_close_code_is_a_closecode(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=1001, reason="going"))
    msg = ws.receive()
    assert msg.type is WSMsgType.CLOSE
    assert msg.data is CloseCode.GOING_AWAY
    assert msg.extra == "going"


def test_close_without_reason_has_empty_extra(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=1000))
    assert ws.receive() == (WSMsgType.CLOSE, CloseCode.NORMAL, "")


def test_close_frame_without_code_reads_1005(raw_server, connect) -> None:
    srv = raw_server(sends_close(None))
    ws = connect(srv.url)
    assert ws.receive() == (WSMsgType.CLOSE, CloseCode.NO_STATUS_RCVD, "")
    assert ws.close_code == 1005
    ws.close()
    assert srv.join()[0].client_close is not None


def test_server_close_is_echoed(raw_server, connect) -> None:
    srv = raw_server(sends_close(4002, "done"))
    ws = connect(srv.url)
    assert ws.receive() == (WSMsgType.CLOSE, 4002, "done")
    ws.close()
    echo = srv.join()[0].client_close
    assert echo is not None and echo.close_code == 4002


def test_receive_after_close_message_raises_with_the_code(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=4003, reason="later"))
    assert ws.receive().type is WSMsgType.CLOSE
    with pytest.raises(websocket.WebSocketConnectionClosedException, match="4003") as info:
        ws.receive()
    assert (info.value.status_code, info.value.reason) == (4003, "later")


def test_own_close_handshake_ends_with_the_echo(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send_close(CloseCode.GOING_AWAY, "leaving")
    assert ws.receive() == (WSMsgType.CLOSE, CloseCode.GOING_AWAY, "leaving")


def test_receive_after_close_raises(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.close()
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.receive()


# ----------------------------------------------------------- CLOSED and ERROR


def test_tcp_drop_is_a_closed_message_once(raw_server, connect) -> None:
    srv = raw_server(sends_then_drops(build_frame(OP_TEXT, b"last words")))
    ws = connect(srv.url)
    assert ws.receive() == (WSMsgType.TEXT, "last words", None)
    assert ws.receive() == (WSMsgType.CLOSED, CloseCode.ABNORMAL_CLOSURE, None)
    assert ws.close_code is None
    assert socket_closed(ws)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.receive()


@pytest.mark.parametrize(
    ("wire", "error", "code"),
    [
        (build_frame(OP_TEXT, b"masked", mask=b"\x01\x02\x03\x04"), websocket.WebSocketProtocolException, 1002),
        (build_frame(OP_TEXT, b"bad \xff utf-8"), websocket.WebSocketPayloadException, 1007),
        (build_frame(OP_CLOSE, b"\x03\xec"), websocket.WebSocketProtocolException, 1002),  # close code 1004
    ],
    ids=["masked-frame", "invalid-utf8", "reserved-close-code"],
)
def test_protocol_violation_is_an_error_message(raw_server, connect, wire: bytes, error: type, code: int) -> None:
    srv = raw_server(sends_then_collects(wire))
    ws = connect(srv.url)
    msg = ws.receive()
    assert msg.type is WSMsgType.ERROR
    assert isinstance(msg.data, error)
    assert msg.extra is None
    assert socket_closed(ws)
    sent = srv.join()[0].client_close
    assert sent is not None and sent.close_code == code
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.receive()


# ----------------------------------------------------------- timeouts


def test_timeout_raises_and_loses_nothing(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/delay", seconds=2, text="late"))
    with Stopwatch() as sw, pytest.raises(websocket.WebSocketTimeoutException):
        ws.receive(timeout=0.1)
    assert 0.05 < sw.elapsed < 1.5  # well before the message
    assert ws.receive(timeout=5) == (WSMsgType.TEXT, "late", None)


def test_timeout_zero_polls(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.receive(timeout=0)
    ws.send("now")
    deadline = time.monotonic() + 5
    while True:
        try:
            msg = ws.receive(timeout=0)
            break
        except websocket.WebSocketTimeoutException:
            assert time.monotonic() < deadline, "message never arrived"
            time.sleep(0.01)
    assert msg == (WSMsgType.TEXT, "now", None)


def test_none_uses_the_connection_timeout(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"), timeout=0.2)
    with Stopwatch() as sw, pytest.raises(websocket.WebSocketTimeoutException):
        ws.receive(timeout=None)
    assert sw.elapsed < 3
    assert ws.connected


def test_timeout_in_the_middle_of_a_message_keeps_its_start(raw_server, connect) -> None:
    frame = build_frame(OP_TEXT, "split ✓ message".encode())
    release = threading.Event()

    def script(conn: RawConn) -> None:
        conn.handshake(trailer=frame[:7])
        assert release.wait(5)
        conn.send_raw(frame[7:])
        conn.collect(echo_close=True)

    srv = raw_server(script)
    ws = connect(srv.url)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.receive(timeout=0.2)
    release.set()
    assert ws.receive(timeout=5) == (WSMsgType.TEXT, "split ✓ message", None)


# ----------------------------------------------------------- threads


def _receive_in_thread(ws: websocket.WebSocket, timeout: float) -> tuple[threading.Thread, dict[str, object]]:
    """``ws.receive(timeout=timeout)`` in a thread, returned once it holds the read lock (waits up to 5 s)."""
    thread, outcome = run_in_thread(lambda: ws.receive(timeout=timeout))
    deadline = time.monotonic() + 5
    while not ws.readlock.locked():
        assert time.monotonic() < deadline, "receiver never started"
        time.sleep(0.005)
    return thread, outcome


def test_second_receiver_gets_concurrency_error(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    thread, outcome = _receive_in_thread(ws, 5)
    with pytest.raises(websocket.WebSocketConcurrencyError):
        ws.receive(timeout=1)
    ws.send("for the first")
    thread.join(5)
    assert outcome == {"result": (WSMsgType.TEXT, "for the first", None)}


def test_close_from_another_thread_wakes_receive_with_close(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"))
    thread, outcome = _receive_in_thread(ws, 10)
    ws.close(CloseCode.GOING_AWAY, "bye")
    thread.join(5)
    assert not thread.is_alive()
    assert outcome == {"result": (WSMsgType.CLOSE, CloseCode.GOING_AWAY, "bye")}


def test_abort_from_another_thread_ends_receive_with_closed(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"))
    thread, outcome = _receive_in_thread(ws, 10)
    ws.abort()
    thread.join(5)
    assert not thread.is_alive()
    # shutdown(SHUT_RDWR) reads as the end of the stream: no close frame came.
    assert outcome == {"result": (WSMsgType.CLOSED, CloseCode.ABNORMAL_CLOSURE, None)}


# ----------------------------------------------------------- fragments mode


def test_fire_cont_frame_connection_refuses_receive_without_consuming(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/fragmented", parts="a,b", type="text"), fire_cont_frame=True)
    with pytest.raises(websocket.WebSocketException, match="fire_cont_frame"):
        ws.receive()
    opcode, frame = ws.recv_data_frame()
    assert (opcode, frame.data, frame.fin) == (websocket.ABNF.OPCODE_TEXT, b"a", 0)
