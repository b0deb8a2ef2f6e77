"""_protocol: the client state machine, byte for byte, without sockets."""

from __future__ import annotations

from typing import Any

import pytest
from _frames_util import server_frame, unmask_client_frame
from hypothesis import given, settings
from hypothesis import strategies as st

import websocket
from websocket import WebSocketConnectionClosedException, WebSocketPayloadException, WebSocketProtocolException
from websocket._exceptions import close_code_for
from websocket._sansio.events import Close, EndOfStream, Failure, Fragment, Message, Ping, Pong
from websocket._sansio.protocol import ClientProtocol, State

pytestmark = pytest.mark.usefixtures("receive_impl")  # the compiled and the pure receive path

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
KEY = b"\x01\x02\x03\x04"


def proto(**kwargs: Any) -> ClientProtocol:
    return ClientProtocol(mask_key=lambda n: KEY, **kwargs)


def feed(p: ClientProtocol, *chunks: bytes) -> list[Any]:
    for c in chunks:
        p.receive_data(c)
    out = list(p.events)
    p.events.clear()
    return out


def summary(events: list[Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, Message):
            out.append(("msg", e.opcode, e.data))
        elif isinstance(e, Fragment):
            out.append(("frag", e.opcode, e.data, e.fin))
        elif isinstance(e, (Ping, Pong)):
            out.append((type(e).__name__.lower(), e.payload))
        elif isinstance(e, Close):
            out.append(("close", e.code, e.reason))
        elif isinstance(e, Failure):
            out.append(("fail", e.code, type(e.exc).__name__))
        else:
            out.append(("eof",))
    return out


# ------------------------------------------------------------------ receiving


def test_text_and_binary_messages() -> None:
    p = proto()
    events = feed(p, server_frame(TEXT, "héllo".encode()) + server_frame(BINARY, b"\x00\xff"))
    assert summary(events) == [("msg", TEXT, "héllo"), ("msg", BINARY, b"\x00\xff")]


def test_empty_messages_have_the_right_type() -> None:
    p = proto()
    assert summary(feed(p, server_frame(TEXT) + server_frame(BINARY))) == [("msg", TEXT, ""), ("msg", BINARY, b"")]
    frames = server_frame(TEXT, fin=False) + server_frame(CONT)
    assert summary(feed(p, frames)) == [("msg", TEXT, "")]


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 70000])
def test_every_length_form(size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    p = proto()
    assert summary(feed(p, server_frame(BINARY, data[:size]))) == [("msg", BINARY, data[:size])]


def test_fragmented_message_is_reassembled() -> None:
    p = proto()
    frames = server_frame(TEXT, b"he", fin=False) + server_frame(CONT, b"l", fin=False) + server_frame(CONT, b"lo")
    assert summary(feed(p, frames)) == [("msg", TEXT, "hello")]


def test_control_frames_inside_a_fragmented_message() -> None:
    p = proto()
    frames = server_frame(BINARY, b"a", fin=False) + server_frame(PING, b"p") + server_frame(CONT, b"b")
    assert summary(feed(p, frames)) == [("ping", b"p"), ("msg", BINARY, b"ab")]


def test_fire_cont_frame_delivers_each_frame() -> None:
    p = proto(fire_cont_frame=True)
    frames = server_frame(TEXT, b"ab", fin=False) + server_frame(CONT, b"cd")
    assert summary(feed(p, frames)) == [("frag", TEXT, b"ab", False), ("frag", CONT, b"cd", True)]


def test_a_utf8_character_split_across_fragments() -> None:
    raw = "€".encode()
    p = proto()
    frames = server_frame(TEXT, raw[:1], fin=False) + server_frame(CONT, raw[1:])
    assert summary(feed(p, frames)) == [("msg", TEXT, "€")]


def test_skip_utf8_validation_keeps_text_as_bytes() -> None:
    p = proto(validate_utf8=False)
    assert summary(feed(p, server_frame(TEXT, b"\xff"))) == [("msg", TEXT, b"\xff")]


def test_close_frame_stops_parsing() -> None:
    p = proto()
    events = feed(p, server_frame(CLOSE, b"\x03\xe8bye") + server_frame(TEXT, b"after"))
    assert summary(events) == [("close", 1000, "bye")]


def test_eof_event() -> None:
    p = proto()
    p.receive_eof()
    assert summary(feed(p)) == [("eof",)]


# ------------------------------------------------------------- violations


def _violation(data: bytes, **kwargs: Any) -> tuple[int, str]:
    p = proto(**kwargs)
    events = feed(p, data)
    assert isinstance(events[-1], Failure), summary(events)
    return events[-1].code, type(events[-1].exc).__name__


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (server_frame(TEXT, b"x", mask=KEY), "masked"),
        (server_frame(TEXT, b"x", rsv=4), "rsv1 without extension"),
        (server_frame(TEXT, b"x", rsv=2), "rsv2"),
        (server_frame(TEXT, b"x", rsv=1), "rsv3"),
        (server_frame(3, b"x"), "reserved data opcode"),
        (server_frame(0xB, b"x"), "reserved control opcode"),
        (server_frame(PING, b"x" * 126), "control frame too long"),
        (server_frame(PING, b"x", fin=False), "fragmented ping"),
        (server_frame(PONG, b"x", fin=False), "fragmented pong"),
        (server_frame(CLOSE, b"", fin=False), "fragmented close"),
        (server_frame(CONT, b"x"), "continuation without start"),
        (server_frame(TEXT, b"a", fin=False) + server_frame(TEXT, b"b"), "text inside fragmented"),
        (server_frame(BINARY, b"a", fin=False) + server_frame(BINARY, b"b"), "binary inside fragmented"),
        (server_frame(CLOSE, b"\x03"), "1-byte close"),
        (server_frame(CLOSE, (1005).to_bytes(2, "big")), "close code 1005"),
        (server_frame(CLOSE, (999).to_bytes(2, "big")), "close code 999"),
        (server_frame(CLOSE, (2999).to_bytes(2, "big")), "close code 2999"),
        (server_frame(CLOSE, (5000).to_bytes(2, "big")), "close code 5000"),
        (b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", "64-bit length with top bit"),
    ],
)
def test_protocol_violations_fail_with_1002(data: bytes, why: str) -> None:
    assert _violation(data, max_size=None) == (1002, "WebSocketProtocolException"), why


@pytest.mark.parametrize(
    "data",
    [
        server_frame(TEXT, b"\xff"),
        server_frame(TEXT, b"a", fin=False) + server_frame(CONT, b"\xed\xa0\x80"),
        server_frame(TEXT, b"\xce", fin=False) + server_frame(CONT, b""),
    ],
)
def test_invalid_utf8_fails_with_1007(data: bytes) -> None:
    assert _violation(data) == (1007, "WebSocketInvalidUtf8")


def test_invalid_utf8_close_reason_fails_with_1007() -> None:
    assert _violation(server_frame(CLOSE, b"\x03\xe8\xff")) == (1007, "WebSocketInvalidCloseReason")


def test_invalid_utf8_fails_before_the_frame_is_complete() -> None:
    p = proto()
    whole = server_frame(TEXT, b"\xce\xba\xf4\x90\x80\x80edited")
    events = feed(p, whole[:6])  # header + 4 payload bytes: the bad sequence has begun
    assert summary(events) == [("fail", 1007, "WebSocketInvalidUtf8")]


def test_invalid_utf8_fails_before_the_message_is_complete() -> None:
    p = proto()
    events = feed(p, server_frame(TEXT, b"\xce\xba", fin=False) + server_frame(CONT, b"\xf4\x90", fin=False))
    assert summary(events) == [("fail", 1007, "WebSocketInvalidUtf8")]


def test_failures_chain_their_cause_and_keep_the_websocket_client_classes() -> None:
    text = _failure(server_frame(TEXT, b"\xff"))
    assert isinstance(text.exc, WebSocketPayloadException)
    assert isinstance(text.exc.__cause__, UnicodeDecodeError)
    reason = _failure(server_frame(CLOSE, b"\x03\xe8\xff"))
    assert isinstance(reason.exc, WebSocketProtocolException)  # websocket-client's class for a bad close frame
    assert isinstance(reason.exc.__cause__, UnicodeDecodeError)
    big = _failure(server_frame(BINARY, b"x" * 11), max_size=10)
    assert isinstance(big.exc, WebSocketPayloadException)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (websocket.WebSocketPayloadTooBig("x"), 1009),
        (websocket.WebSocketInvalidUtf8("x"), 1007),
        (websocket.WebSocketInvalidCloseReason("x"), 1007),
        (WebSocketPayloadException("x"), 1007),
        (WebSocketProtocolException("x"), 1002),
        (websocket.WebSocketException("x"), 1002),
    ],
)
def test_the_close_code_follows_from_the_exception_class(exc: Exception, code: int) -> None:
    assert close_code_for(exc) == code


def _failure(data: bytes, **kwargs: Any) -> Failure:
    events = feed(proto(**kwargs), data)
    assert isinstance(events[-1], Failure), summary(events)
    return events[-1]


def test_max_size_is_checked_on_the_header_before_reading() -> None:
    p = proto(max_size=1000)
    events = feed(p, b"\x82\x7f" + (1 << 62).to_bytes(8, "big"))
    assert summary(events) == [("fail", 1009, "WebSocketPayloadTooBig")]


def test_max_size_counts_all_fragments() -> None:
    p = proto(max_size=10)
    events = feed(p, server_frame(BINARY, b"x" * 6, fin=False) + server_frame(CONT, b"x" * 6))
    assert summary(events) == [("fail", 1009, "WebSocketPayloadTooBig")]


def test_a_message_read_in_pieces_does_not_count_towards_the_next() -> None:
    # Both messages reach the header check with their payload still to come.
    p = proto(max_size=10)
    first, second = server_frame(BINARY, b"x" * 8), server_frame(TEXT, b"y" * 8, fin=False)
    events = feed(p, first[:2], first[2:] + second[:2], second[2:] + server_frame(CONT, b"z"))
    assert summary(events) == [("msg", BINARY, b"x" * 8), ("msg", TEXT, "y" * 8 + "z")]


def test_message_at_max_size_passes() -> None:
    p = proto(max_size=10)
    assert summary(feed(p, server_frame(BINARY, b"x" * 10))) == [("msg", BINARY, b"x" * 10)]


def test_valid_message_before_a_bad_frame_is_delivered_first() -> None:
    p = proto()
    events = feed(p, server_frame(TEXT, b"ok") + server_frame(TEXT, b"x", rsv=2) + server_frame(PING))
    assert summary(events) == [("msg", TEXT, "ok"), ("fail", 1002, "WebSocketProtocolException")]


def test_nothing_is_parsed_after_a_failure() -> None:
    p = proto()
    feed(p, server_frame(CONT, b"x"))
    assert feed(p, server_frame(TEXT, b"more")) == []


# ------------------------------------------------------------ acting on events


def test_ping_is_answered_with_the_same_payload_when_consumed() -> None:
    p = proto()
    [ping] = feed(p, server_frame(PING, b"hi"))
    assert not p.has_data_to_send()
    p.process(ping)
    assert unmask_client_frame(p.data_to_send()) == (PONG, True, b"hi", b"")


def test_close_is_echoed_and_state_closes() -> None:
    p = proto()
    [close] = feed(p, server_frame(CLOSE, b"\x0f\xa1bye"))
    p.process(close)
    assert unmask_client_frame(p.data_to_send()) == (CLOSE, True, b"\x0f\xa1bye", b"")
    assert p.state is State.CLOSED
    with pytest.raises(WebSocketConnectionClosedException):
        p.send_data(TEXT, b"late")


def test_failure_sends_the_close_code() -> None:
    p = proto()
    [failure] = feed(p, server_frame(TEXT, b"\xff"))
    p.process(failure)
    opcode, _, payload, _ = unmask_client_frame(p.data_to_send())
    assert opcode == CLOSE
    assert int.from_bytes(payload[:2], "big") == 1007
    assert b"UTF-8" in payload[2:]
    assert p.state is State.CLOSED


def test_client_close_then_server_close() -> None:
    p = proto()
    wire = p.send_close(1000, "done")
    assert unmask_client_frame(wire) == (CLOSE, True, b"\x03\xe8done", b"")
    assert p.state is State.CLOSING
    [close] = feed(p, server_frame(CLOSE, b"\x03\xe8"))
    p.process(close)
    assert not p.has_data_to_send()  # no second close frame
    assert p.state is State.CLOSED
    assert p.send_close() == b""


def test_eof_closes() -> None:
    p = proto()
    p.receive_eof()
    [eof] = feed(p)
    assert isinstance(eof, EndOfStream)
    p.process(eof)
    assert p.state is State.CLOSED


# ------------------------------------------------------------------- sending


def test_send_data_is_masked_with_the_key() -> None:
    wire = proto().send_data(TEXT, b"Hello")
    assert wire == b"\x81\x85" + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(b"Hello"))


def test_send_frame_keeps_fin_and_rsv() -> None:
    wire = proto().send_frame(TEXT, b"a", fin=False, rsv=4)
    assert wire[0] == 0x41


def test_control_payload_over_125_bytes_is_refused() -> None:
    with pytest.raises(WebSocketProtocolException):
        proto().send_ping(b"x" * 126)


def test_close_reason_is_cut_to_fit() -> None:
    p = proto()
    [failure] = feed(p, server_frame(TEXT, b"\xff" * 200))
    p.process(failure)
    _, _, payload, _ = unmask_client_frame(p.data_to_send())
    assert len(payload) <= 125


# ---------------------------------------------------------------- properties

frame_specs = st.lists(
    st.one_of(
        st.tuples(st.just(TEXT), st.text(max_size=300).map(str.encode)),
        st.tuples(st.just(BINARY), st.binary(max_size=300)),
        st.tuples(st.just(PING), st.binary(max_size=125)),
    ),
    max_size=8,
)


def _stream(specs: list[tuple[int, bytes]]) -> bytes:
    return b"".join(server_frame(op, data) for op, data in specs)


@settings(max_examples=200)
@given(specs=frame_specs, cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=10))
def test_any_chunking_gives_the_same_events(specs: list[tuple[int, bytes]], cuts: list[int]) -> None:
    stream = _stream(specs)
    whole = summary(feed(proto(), stream))
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)])]
    assert summary(feed(proto(), *chunks)) == whole


@given(specs=frame_specs)
def test_messages_parse_back_to_what_was_framed(specs: list[tuple[int, bytes]]) -> None:
    expected = [("msg", op, d.decode()) if op == TEXT else ("msg", op, d) if op == BINARY else ("ping", d) for op, d in specs]
    assert summary(feed(proto(), _stream(specs))) == expected


@settings(max_examples=300)
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=5))
def test_arbitrary_bytes_give_only_documented_outcomes(data: bytes, cuts: list[int]) -> None:
    p = proto(max_size=1000)
    points = sorted({min(c, len(data)) for c in cuts})
    for a, b in zip([0, *points], [*points, len(data)]):
        p.receive_data(data[a:b])
    for event in p.events:
        if isinstance(event, Failure):
            assert event.code in (1002, 1007, 1009)
            assert isinstance(event.exc, (WebSocketProtocolException, WebSocketPayloadException))
        p.process(event)
    assert p.state in (State.OPEN, State.CLOSED)


@settings(max_examples=100)
@given(
    specs=st.lists(
        st.one_of(
            st.tuples(st.just(BINARY), st.integers(min_value=0, max_value=300_000).map(lambda n: b"b" * n)),
            st.tuples(st.just(TEXT), st.integers(min_value=0, max_value=300_000).map(lambda n: b"t" * n)),
            st.tuples(st.just(PING), st.binary(max_size=125)),
        ),
        max_size=5,
    )
)
def test_reading_by_the_hint_gives_the_same_events(specs: list[tuple[int, bytes]]) -> None:
    stream = _stream(specs)
    whole = summary(feed(proto(max_size=None), stream))
    p = proto(max_size=None)
    pos = 0
    while pos < len(stream):
        hint = p.read_hint()
        assert hint > 0
        p.receive_data(stream[pos : pos + hint])
        pos += hint
    assert summary(feed(p)) == whole


def test_hint_asks_for_the_whole_rest_of_a_big_payload() -> None:
    p = proto(max_size=None)
    frame = server_frame(BINARY, b"x" * 300_000)
    p.receive_data(frame[:1000])
    assert p.read_hint() == len(frame) - 1000
    p.receive_data(frame[1000:])
    assert p.read_hint() == 2  # next: exactly a frame header's first two bytes
