"""A hostile or broken server: every frame-level violation of RFC 6455.

Two tests per case:

* ``test_violation_raises`` (shared behaviour): recv raises the documented
  exception. websocket-client 1.9.2 passes for the cases it detects.
* ``test_violation_fails_the_connection`` (wsline_only): the client also
  *fails the WebSocket connection* (RFC 6455 7.1.7): it sends a close frame
  with the right code (1002 protocol error, 1007 invalid payload), drops the
  TCP connection, and reports ``connected`` False. websocket-client raises
  but leaves the connection open without a close frame (section 1.13 of the
  peer inventory), and accepts some violations outright.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from _checks import socket_closed
from _raw_server import RawConn
from _wire import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    RSV2,
    RSV3,
    build_frame,
    close_payload,
)

import websocket

PROTOCOL = websocket.WebSocketProtocolException
PAYLOAD = websocket.WebSocketPayloadException


class Case(NamedTuple):
    name: str
    wire: bytes  # what the server sends after the 101
    error: type[Exception]
    codes: tuple[int, ...]  # close codes the client may send
    in_1_9_2: bool  # websocket-client 1.9.2 already raises for it


def _frames(*frames: bytes) -> bytes:
    return b"".join(frames)


def _bad_close_code(code: int) -> Case:
    return Case(f"close-code-{code}", build_frame(OP_CLOSE, close_payload(code)), PROTOCOL, (1002,), True)


CASES = [
    # Invalid UTF-8 in text: 1007.
    Case("utf8-invalid-byte", build_frame(OP_TEXT, b"ok\xff"), PAYLOAD, (1007,), True),
    # 1.9.2's validator accepts a sequence cut at the end, then recv() leaks UnicodeDecodeError.
    Case("utf8-truncated", build_frame(OP_TEXT, b"abc\xe2\x82"), PAYLOAD, (1007,), False),
    Case("utf8-overlong", build_frame(OP_TEXT, b"\xc0\xaf"), PAYLOAD, (1007,), True),
    Case("utf8-surrogate", build_frame(OP_TEXT, b"\xed\xa0\x80"), PAYLOAD, (1007,), True),
    Case(
        "utf8-invalid-across-fragments",
        _frames(build_frame(OP_TEXT, b"ok\xc3", fin=False), build_frame(OP_CONT, b"\x28")),
        PAYLOAD,
        (1007,),
        True,
    ),
    # Frame header violations: 1002.
    Case("masked-server-frame", build_frame(OP_TEXT, b"hidden", mask=b"\x01\x02\x03\x04"), PROTOCOL, (1002,), False),
    Case("rsv1-no-extension", build_frame(OP_TEXT, b"x", rsv=RSV1), PROTOCOL, (1002,), True),
    Case("rsv2", build_frame(OP_BINARY, b"x", rsv=RSV2), PROTOCOL, (1002,), True),
    Case("rsv3", build_frame(OP_TEXT, b"x", rsv=RSV3), PROTOCOL, (1002,), True),
    Case("rsv1-on-ping", build_frame(OP_PING, b"x", rsv=RSV1), PROTOCOL, (1002,), True),
    *[Case(f"reserved-opcode-{op:#x}", build_frame(op, b"x"), PROTOCOL, (1002,), True) for op in (3, 4, 5, 6, 7)],
    *[Case(f"reserved-opcode-{op:#x}", build_frame(op, b""), PROTOCOL, (1002,), True) for op in (0xB, 0xC, 0xD, 0xE, 0xF)],
    Case(
        "length-top-bit-set",
        build_frame(OP_BINARY, b"", length=2**63 + 5) + b"\x00" * 16,
        PROTOCOL,
        (1002,),
        False,
    ),
    # Control frame rules: 1002.
    Case("ping-126-bytes", build_frame(OP_PING, b"p" * 126), PROTOCOL, (1002,), True),
    Case("pong-126-bytes", build_frame(OP_PONG, b"p" * 126), PROTOCOL, (1002,), False),
    Case("close-126-bytes", build_frame(OP_CLOSE, close_payload(1000, b"r" * 124)), PROTOCOL, (1002,), True),
    Case("fragmented-ping", build_frame(OP_PING, b"x", fin=False), PROTOCOL, (1002,), True),
    Case("fragmented-pong", build_frame(OP_PONG, b"x", fin=False), PROTOCOL, (1002,), False),
    Case("fragmented-close", build_frame(OP_CLOSE, close_payload(1000), fin=False), PROTOCOL, (1002,), False),
    # Fragmentation rules: 1002.
    Case("continuation-without-start", build_frame(OP_CONT, b"orphan"), PROTOCOL, (1002,), True),
    Case(
        "text-inside-fragmented-message",
        _frames(build_frame(OP_TEXT, b"a", fin=False), build_frame(OP_TEXT, b"b")),
        PROTOCOL,
        (1002,),
        True,
    ),
    Case(
        "binary-inside-fragmented-message",
        _frames(build_frame(OP_BINARY, b"a", fin=False), build_frame(OP_BINARY, b"b")),
        PROTOCOL,
        (1002,),
        True,
    ),
    # Close frame payload rules: 1002.
    Case("close-1-byte-payload", build_frame(OP_CLOSE, b"\x03"), PROTOCOL, (1002,), True),
    *[_bad_close_code(code) for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)],
    # Autobahn 7.5.1 accepts 1002 or 1007 for an invalid UTF-8 close reason.
    Case(
        "close-reason-invalid-utf8",
        build_frame(OP_CLOSE, close_payload(1000, b"\xff\xfe")),
        PROTOCOL,
        (1002, 1007),
        True,
    ),
]

SHARED = [pytest.param(case, id=case.name) for case in CASES if case.in_1_9_2]
ALL = [pytest.param(case, id=case.name) for case in CASES]


def _serve(case: Case):
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(case.wire)
        conn.collect(timeout=5)

    return script


@pytest.mark.parametrize("case", SHARED)
def test_violation_raises(raw_server, connect, case) -> None:
    ws = connect(raw_server(_serve(case)).url, timeout=3)
    with pytest.raises(case.error):
        ws.recv()


@pytest.mark.wsline_only
@pytest.mark.parametrize("case", ALL)
def test_violation_fails_the_connection(raw_server, connect, case) -> None:
    srv = raw_server(_serve(case))
    ws = connect(srv.url, timeout=3)
    with pytest.raises(case.error):
        ws.recv()
    assert ws.connected is False
    assert socket_closed(ws)
    (conn,) = srv.join()
    assert conn.client_close is not None, "client sent no close frame"
    assert conn.client_close.close_code in case.codes
    assert conn.eof


@pytest.mark.wsline_only
def test_skip_utf8_validation_still_rejects_protocol_errors(raw_server, connect) -> None:
    case = next(c for c in CASES if c.name == "rsv1-no-extension")
    ws = connect(raw_server(_serve(case)).url, timeout=3, skip_utf8_validation=True)
    with pytest.raises(PROTOCOL):
        ws.recv()
    assert ws.connected is False


def test_skip_utf8_validation_delivers_invalid_text_as_bytes(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"ok\xff")
        conn.send_frame(OP_TEXT, b"fine")
        conn.collect(echo_close=True)

    ws = connect(raw_server(script).url, skip_utf8_validation=True)
    assert ws.recv_data() == (OP_TEXT, b"ok\xff")
    assert ws.recv() == "fine"
    assert ws.connected is True


def test_skip_utf8_validation_also_skips_the_close_reason_check(raw_server, connect) -> None:
    # websocket-client documents skip_utf8_validation for close reasons too.
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_CLOSE, close_payload(1000, b"\xff"))
        conn.collect()

    ws = connect(raw_server(script).url, skip_utf8_validation=True)
    assert ws.recv_data() == (OP_CLOSE, close_payload(1000, b"\xff"))


def test_recv_after_a_violation_does_not_return_data(raw_server, connect) -> None:
    case = next(c for c in CASES if c.name == "continuation-without-start")

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(case.wire)
        conn.collect(timeout=5)

    ws = connect(raw_server(script).url, timeout=1)
    with pytest.raises(PROTOCOL):
        ws.recv()
    with pytest.raises(websocket.WebSocketException):
        ws.recv()
