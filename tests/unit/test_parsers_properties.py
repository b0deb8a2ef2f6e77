"""Hostile input for every parser of the client, as hypothesis properties (issue 7).

The three parsers a server's bytes reach: the frame parser
(``_protocol.ClientProtocol``), the handshake parser (``_handshake`` and the
bounded head reader ``_socket.read_http_head``) and the deflate decoder
(``_deflate.PerMessageDeflate``). For arbitrary bytes, cut anywhere:

* only the documented exceptions come out (or, for the frame parser, only
  Failure events with 1002/1007/1009), never struct.error, IndexError,
  KeyError, ValueError, UnicodeDecodeError or zlib.error;
* what is buffered stays within the limits (max_size, MAX_HEAD_SIZE,
  MAX_HEADERS, a control frame);
* the chunking does not change the outcome, and nothing follows a close
  frame, a failure or the end of the stream.

The fuzz targets in tests/fuzz/ run the same checks under atheris.
"""

from __future__ import annotations

import socket
import tracemalloc
import zlib
from typing import Any, Optional

import pytest
from _frames_util import server_frame
from _fuzz_checks import load_fuzz_targets
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from websocket import (
    WebSocketConnectionClosedException,
    WebSocketHandshakeException,
    WebSocketPayloadException,
    WebSocketPayloadTooBig,
    WebSocketProtocolException,
    WebSocketTimeoutException,
)
from websocket._exceptions import close_code_for
from websocket._net.transport import Deadline, read_http_head
from websocket._sansio import protocol as protocol_module
from websocket._sansio.deflate import PerMessageDeflate
from websocket._sansio.events import Close, EndOfStream, Failure, Fragment, Message
from websocket._sansio.handshake import (
    MAX_HEAD_SIZE,
    MAX_HEADERS,
    build_request,
    check_head_start,
    check_upgrade,
    find_head_end,
    parse_response_head,
)
from websocket._sansio.protocol import ClientProtocol, State

pytestmark = pytest.mark.usefixtures("receive_impl")  # the compiled and the pure receive path

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
KEY = b"\x01\x02\x03\x04"
# The frames fuzz target's feed (bounds checked after every chunk) and summary (comparable events).
_fuzz_targets = load_fuzz_targets()
feed, summary = _fuzz_targets.feed, _fuzz_targets.summary
TERMINAL = (Close, Failure, EndOfStream)


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` split at the given offsets (taken modulo its length)."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])] or [b""]


# ------------------------------------------------------------------ frames

opcodes = st.sampled_from([CONT, TEXT, BINARY, CLOSE, PING, PONG, 3, 7, 0xB, 0xF])
payloads = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=100).map(str.encode),
    st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x03\xe8", b"\x03\xe8\xff", b"\x00"]),
)


@st.composite
def hostile_frames(draw: Any) -> bytes:
    """One frame, usually well formed, sometimes with any of the header fields wrong."""
    opcode = draw(opcodes)
    payload = draw(payloads)
    if opcode >= 8 and draw(st.booleans()):
        payload = payload[:125]
    fin = draw(st.booleans()) if opcode in (CONT, TEXT, BINARY) else draw(st.sampled_from([True, True, True, False]))
    rsv = draw(st.sampled_from([0, 0, 0, 0, 4, 2, 1, 7]))
    mask = draw(st.sampled_from([None] * 7 + [KEY]))
    lie = draw(st.sampled_from([None] * 9 + [0, 1, 126, 65536, 2**32, 2**63 - 1, 2**63 + 1, 2**64 - 1]))
    return server_frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, length=lie)


configs = st.fixed_dictionaries(
    {
        "max_size": st.sampled_from([None, 0, 1, 10, 200, 1000]),
        "validate_utf8": st.booleans(),
        "fire_cont_frame": st.booleans(),
        "deflate": st.booleans(),
    }
)


def make_proto(config: dict[str, Any]) -> ClientProtocol:
    options = dict(config)
    extension = PerMessageDeflate(min_size=0) if options.pop("deflate") else None
    return ClientProtocol(mask_key=lambda n: KEY, extension=extension, **options)


def check_outcome(p: ClientProtocol, events: list[Any]) -> None:
    """Only documented failures; sizes within max_size; nothing after a close frame or a failure."""
    for i, event in enumerate(events):
        if isinstance(event, Failure):
            assert event.code in (1002, 1007, 1009), event.code
            assert isinstance(event.exc, (WebSocketProtocolException, WebSocketPayloadException))
            assert str(event.exc)
            assert event.code == close_code_for(event.exc)
            assert (event.code == 1009) == isinstance(event.exc, WebSocketPayloadTooBig)
        if isinstance(event, (Message, Fragment)):
            size = len(event.data.encode() if isinstance(event.data, str) else event.data)
            assert p.max_size is None or size <= p.max_size
        if isinstance(event, (Close, Failure)):
            rest = events[i + 1 :]
            assert all(isinstance(e, EndOfStream) for e in rest), f"events after {event!r}: {rest!r}"
    if any(isinstance(e, TERMINAL) for e in events):
        assert p.state is State.CLOSED


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(hostile_frames(), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=8),
    config=configs,
    eof=st.booleans(),
)
def test_hostile_frame_streams_give_only_documented_outcomes(
    frames: list[bytes], cuts: list[int], config: dict[str, Any], eof: bool
) -> None:
    stream = b"".join(frames)
    p = make_proto(config)
    events = feed(p, cut(stream, cuts), eof)
    check_outcome(p, events)


@settings(max_examples=300, deadline=None)
@given(
    frames=st.lists(hostile_frames(), max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=8),
    config=configs,
)
def test_chunking_never_changes_the_outcome(frames: list[bytes], cuts: list[int], config: dict[str, Any]) -> None:
    stream = b"".join(frames)
    deflate = config["deflate"]
    whole = summary(feed(make_proto(config), [stream], eof=True), deflate)
    assert summary(feed(make_proto(config), cut(stream, cuts), eof=True), deflate) == whole


@pytest.mark.skipif(protocol_module._compiled_parser() is None, reason="the C extension is not built")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frames=st.lists(hostile_frames(), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=8),
    config=configs,
)
def test_the_compiled_and_the_pure_receive_path_give_the_same_events(
    frames: list[bytes], cuts: list[int], config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = b"".join(frames)
    # Runs of whole messages, so the compiled loop has something to take, around the hostile frames.
    plain = server_frame(TEXT, "é…".encode() * 3) + server_frame(BINARY, b"b" * 130)
    chunks = cut(plain * 3 + stream + plain, cuts)
    deflate = config["deflate"]
    outcomes = []
    for impl in (protocol_module._compiled_parser(), None):
        monkeypatch.setattr(protocol_module, "_parse_messages", impl)
        p = make_proto(config)
        outcomes.append(detailed(feed(p, chunks, eof=True), deflate))
    assert outcomes[0] == outcomes[1]


def detailed(events: list[Any], deflate: bool) -> list[Any]:
    """The events with their data and types, and the failures with their message."""
    out: list[Any] = [*summary(events, deflate), [type(e).__name__ for e in events]]
    for event in events:
        if isinstance(event, Message):
            out.append((type(event.data), event.data))
        elif isinstance(event, Failure):
            out.append(str(event.exc))
    return out


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6), config=configs)
def test_arbitrary_bytes_with_every_option(data: bytes, cuts: list[int], config: dict[str, Any]) -> None:
    p = make_proto(config)
    check_outcome(p, feed(p, cut(data, cuts), eof=True))


@settings(max_examples=200, deadline=None)
@given(
    declared=st.integers(min_value=1, max_value=2**63 - 1),
    max_size=st.integers(min_value=0, max_value=10_000),
    opcode=st.sampled_from([TEXT, BINARY]),
)
def test_a_declared_length_over_max_size_fails_at_the_header(declared: int, max_size: int, opcode: int) -> None:
    assume(declared > max_size)
    p = ClientProtocol(mask_key=lambda n: KEY, max_size=max_size)
    events = feed(p, [server_frame(opcode, b"", length=declared)], eof=False)
    assert summary(events) == [("failure", 1009, WebSocketPayloadTooBig)]


@settings(max_examples=100, deadline=None)
@given(declared=st.integers(min_value=0, max_value=2**63 - 1), max_size=st.sampled_from([None, 2**70]))
def test_the_read_hint_never_asks_for_an_absurd_read(declared: int, max_size: Optional[int]) -> None:
    p = ClientProtocol(mask_key=lambda n: KEY, max_size=max_size)
    p.receive_data(server_frame(BINARY, b"", length=declared) + b"x" * 10)
    assert 0 < p.read_hint() <= 64 * 1024 * 1024


def test_endless_empty_fragments_and_pings_keep_memory_flat() -> None:
    p = ClientProtocol(mask_key=lambda n: KEY)
    p.receive_data(server_frame(TEXT, b"", fin=False))
    chunk = (server_frame(CONT, b"", fin=False) + server_frame(PING, b"")) * 5000
    tracemalloc.start()
    try:
        for _ in range(12):  # 60 000 empty fragments and as many pings
            p.receive_data(chunk)
            for event in p.events:
                p.process(event)
            p.events.clear()
            p.data_to_send()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    assert not p._msg


# ------------------------------------------------------------------ handshake

HANDSHAKE_ERRORS = (WebSocketHandshakeException,)


def parse_or_refuse(head: bytes) -> Any:
    try:
        return parse_response_head(head)
    except HANDSHAKE_ERRORS as exc:
        assert str(exc)
        return None


@settings(max_examples=500, deadline=None)
@given(head=st.binary(max_size=600))
def test_arbitrary_heads_parse_or_raise_the_handshake_error(head: bytes) -> None:
    response = parse_or_refuse(head)
    if response is not None:
        assert 0 <= response.status <= 999
        assert len(response.headers) <= MAX_HEADERS


latin1 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=40)
statuses = st.one_of(
    st.integers(min_value=0, max_value=999).map(str),
    st.sampled_from(["1\u00b21", "\u0661\u0660\u0661", "+10", "-01", " 101", "1_0", "0x1", "101 "]),
    latin1,
)


@st.composite
def response_heads(draw: Any) -> bytes:
    """Something shaped like an HTTP response head, with any part of it wrong."""
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", "http/1.1", "HTTP/1.1\x00", ""]))
    status = draw(statuses)
    line = f"{version} {status} {draw(latin1)}"
    names = st.one_of(st.sampled_from(["Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol", "X"]), latin1)
    headers = draw(st.lists(st.tuples(names, latin1, st.sampled_from([": ", ":", " : ", "", "\t"])), max_size=12))
    eol = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = line + "".join(f"{eol}{name}{sep}{value}" for name, value, sep in headers) + eol + eol
    return text.encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(head=response_heads())
def test_response_shaped_heads_parse_or_raise_the_handshake_error(head: bytes) -> None:
    parse_or_refuse(head)


@settings(max_examples=300, deadline=None)
@given(head=st.one_of(response_heads(), st.binary(max_size=300)))
def test_the_early_check_never_refuses_a_head_the_parser_takes(head: bytes) -> None:
    """check_head_start on every prefix: a head that parses is never refused early, and
    what the early check refuses, the parser refuses too (same exception class)."""
    try:
        parse_response_head(head)
        parses = True
    except WebSocketHandshakeException:
        parses = False
    refused = False
    for end in range(len(head) + 1):
        try:
            if check_head_start(head[:end]):
                break
        except WebSocketHandshakeException:
            refused = True
            break
    assert not (parses and refused)


@pytest.mark.parametrize("status", ["1\u00b21", "\u00b9\u00b2\u00b3"])
def test_non_ascii_digits_in_the_status_are_a_handshake_error(status: str) -> None:
    # "²".isdigit() is True but int("²") fails: this once leaked a ValueError.
    with pytest.raises(WebSocketHandshakeException):
        parse_response_head(f"HTTP/1.1 {status} OK\r\n\r\n".encode("latin-1"))


def test_too_many_headers_is_a_handshake_error() -> None:
    head = b"HTTP/1.1 101 OK\r\n" + b"a: b\r\n" * (MAX_HEADERS + 1) + b"\r\n"
    with pytest.raises(WebSocketHandshakeException, match="headers"):
        parse_response_head(head)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=10))
def test_scanning_for_the_end_of_the_head_does_not_depend_on_the_chunking(data: bytes, cuts: list[int]) -> None:
    whole = find_head_end(data)
    buf = b""
    found = -1
    for chunk in cut(data, cuts):
        scanned = len(buf)
        buf += chunk
        found = find_head_end(buf, scanned)
        if found >= 0:
            break
    assert found == whole
    if whole >= 0:
        assert data[:whole].endswith(b"\n\n") or data[:whole].endswith(b"\r\n\r\n")


SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3
REQUEST = build_request(resource="/", host="example.test", origin=None, subprotocols=["chat", "v2"], key=SAMPLE_KEY)
GOOD_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@st.composite
def upgrade_answers(draw: Any) -> bytes:
    """A 101 head whose upgrade headers are each right, wrong, missing or doubled."""
    choices = {
        "Upgrade": ["websocket", "WebSocket", "h2c", "", "websocket, h2c"],
        "Connection": ["Upgrade", "keep-alive, upgrade", "close", "", ","],
        "Sec-WebSocket-Accept": [GOOD_ACCEPT, GOOD_ACCEPT.lower(), "", "x" * 200],
        "Sec-WebSocket-Protocol": ["chat", "CHAT", "v3", "chat, v2", "", " "],
        "Sec-WebSocket-Extensions": ["permessage-deflate", "x-foo", ";", ""],
    }
    lines = ["HTTP/1.1 101 Switching Protocols"]
    for name, values in choices.items():
        for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
            lines.append(f"{name}: {draw(st.sampled_from(values))}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@settings(max_examples=400, deadline=None)
@given(head=upgrade_answers(), offered=st.booleans())
def test_upgrade_checks_raise_only_the_handshake_error(head: bytes, offered: bool) -> None:
    response = parse_response_head(head)
    request = REQUEST
    if offered:
        request = build_request(
            resource="/", host="h", origin=None, subprotocols=["chat", "v2"], key=REQUEST.key, extensions="permessage-deflate"
        )

    def negotiate(value: str) -> None:
        if value != "permessage-deflate":
            raise WebSocketHandshakeException(f"refused {value!r}")

    try:
        chosen = check_upgrade(response, request, negotiate)
    except HANDSHAKE_ERRORS as exc:
        assert str(exc)
        return
    assert response.headers.get("Sec-WebSocket-Accept") == GOOD_ACCEPT
    assert chosen in (None, "chat", "v2")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=6), close=st.booleans())
def test_head_reader_over_a_socket(data: bytes, cuts: list[int], close: bool) -> None:
    """read_http_head on a real socket pair: bounded, documented errors, no byte lost after the head."""
    client, server = socket.socketpair()
    try:
        for piece in cut(data, cuts):
            server.sendall(piece)
        if close:
            server.shutdown(socket.SHUT_WR)
        try:
            response, leftover = read_http_head(client, Deadline(0.05))
        except (WebSocketHandshakeException, WebSocketConnectionClosedException, WebSocketTimeoutException) as exc:
            assert str(exc)
            return
        assert len(response.raw) <= MAX_HEAD_SIZE
        assert data.startswith(response.raw + leftover)
    finally:
        client.close()
        server.close()


def test_head_reader_refuses_an_endless_head_after_max_head_size() -> None:
    client, server = socket.socketpair()
    try:
        server.setblocking(False)
        sent = server.send(b"HTTP/1.1 101 Switching Protocols\r\n")
        try:
            while sent < 4 * MAX_HEAD_SIZE:
                sent += server.send(b"X-Long: " + b"a" * 4000)
        except BlockingIOError:
            pass
        with pytest.raises(WebSocketHandshakeException, match="larger than"):
            read_http_head(client, Deadline(2))
    finally:
        client.close()
        server.close()


# ------------------------------------------------------------------ deflate

DEFLATE_ERRORS = (WebSocketProtocolException, WebSocketPayloadException)


def deflated(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


deflate_messages = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(deflated),
    st.tuples(st.binary(max_size=200).map(deflated), st.binary(min_size=1, max_size=20)).map(lambda t: t[0] + t[1]),
    st.tuples(st.binary(max_size=200).map(deflated), st.integers(min_value=0, max_value=50)).map(lambda t: t[0][: t[1]]),
)


@settings(max_examples=400, deadline=None)
@given(
    messages=st.lists(st.tuples(deflate_messages, st.lists(st.integers(min_value=0, max_value=400), max_size=4)), max_size=4),
    limit=st.one_of(st.none(), st.integers(min_value=0, max_value=500)),
    no_takeover=st.booleans(),
    bits=st.integers(min_value=8, max_value=15),
)
def test_the_inflater_gives_bounded_output_or_a_documented_error(
    messages: list[tuple[bytes, list[int]]], limit: Optional[int], no_takeover: bool, bits: int
) -> None:
    ext = PerMessageDeflate(server_no_context_takeover=no_takeover, server_max_window_bits=bits, min_size=0)
    for data, cuts in messages:
        pieces = cut(data, cuts)
        produced = 0
        try:
            for i, piece in enumerate(pieces):
                room = None if limit is None else limit - produced
                produced += len(ext.decompress(piece, i == len(pieces) - 1, room))
        except DEFLATE_ERRORS as exc:
            assert str(exc)
            assert exc.__cause__ is None or isinstance(exc.__cause__, zlib.error)
            return  # the connection fails: nothing more is inflated on it
        assert limit is None or produced <= limit


@pytest.mark.parametrize("size", [16 * 1024 * 1024, 64 * 1024 * 1024])
def test_a_bomb_inflates_no_further_than_the_limit(size: int) -> None:
    bomb = deflated(b"\x00" * size)
    limit = 1024 * 1024
    ext = PerMessageDeflate(min_size=0)
    tracemalloc.start()
    try:
        with pytest.raises(WebSocketPayloadException):
            for start in range(0, len(bomb), 4096):
                ext.decompress(bomb[start : start + 4096], start + 4096 >= len(bomb), limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * limit


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.sampled_from([TEXT, BINARY, CONT]), deflate_messages, st.booleans(), st.booleans()),
        max_size=5,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=6),
    max_size=st.sampled_from([None, 0, 50, 1000]),
)
def test_compressed_frames_through_the_protocol(
    frames: list[tuple[int, bytes, bool, bool]], cuts: list[int], max_size: Optional[int]
) -> None:
    stream = b"".join(server_frame(op, data, fin=fin, rsv=4 if rsv1 else 0) for op, data, fin, rsv1 in frames)
    p = ClientProtocol(mask_key=lambda n: KEY, extension=PerMessageDeflate(min_size=0), max_size=max_size)
    check_outcome(p, feed(p, cut(stream, cuts), eof=True))
