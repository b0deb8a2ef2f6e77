"""_deflate: permessage-deflate negotiation and codec, byte for byte (RFC 7692), without sockets."""

from __future__ import annotations

import itertools
import tracemalloc
import zlib
from typing import Any, Optional

import pytest
from _frames_util import server_frame, unmask_client_frame
from hypothesis import given, settings
from hypothesis import strategies as st

from websocket import WebSocketHandshakeException, WebSocketPayloadException, WebSocketProtocolException
from websocket._sansio.deflate import (
    DEFAULT_MIN_SIZE,
    DeflateOffer,
    DeflateSettings,
    Offer,
    PerMessageDeflate,
    client_offer,
    negotiate,
    parse_extensions,
)
from websocket._sansio.events import Failure, Message
from websocket._sansio.handshake import build_request
from websocket._sansio.headers import HeadersLike, header_lines
from websocket._sansio.protocol import ClientProtocol

pytestmark = pytest.mark.usefixtures("receive_impl")  # the compiled and the pure receive path

TEXT, BINARY, CONT, CLOSE, PING = 1, 2, 0, 8, 9
ZERO_KEY = b"\x00\x00\x00\x00"
DEFAULT_OFFERS = DeflateSettings().offers()

# RFC 7692 section 7.2.3: the payloads of its examples.
HELLO = bytes.fromhex("f248cdc9c90700")  # 7.2.3.1, one compressed block
HELLO_AGAIN = bytes.fromhex("f200110000")  # 7.2.3.2, "Hello" again, referring to the first
HELLO_STORED = bytes.fromhex("000500faff48656c6c6f00")  # 7.2.3.3, a block with no compression
HELLO_BFINAL = bytes.fromhex("f348cdc9c9070000")  # 7.2.3.4, BFINAL set
HELLO_TWO_BLOCKS = bytes.fromhex("f248050000 00ffff cac9c90700")  # 7.2.3.5, "He" + "llo"


def ext(**kwargs: Any) -> PerMessageDeflate:
    kwargs.setdefault("min_size", 0)
    return PerMessageDeflate(**kwargs)


def proto(extension: Optional[PerMessageDeflate] = None, **kwargs: Any) -> ClientProtocol:
    return ClientProtocol(mask_key=lambda n: ZERO_KEY, extension=extension or ext(), **kwargs)


def events(p: ClientProtocol, *chunks: bytes) -> list[Any]:
    for chunk in chunks:
        p.receive_data(chunk)
    out = list(p.events)
    p.events.clear()
    return out


def failure_code(evs: list[Any]) -> int:
    assert isinstance(evs[-1], Failure), evs
    return evs[-1].code


# ------------------------------------------------------------------ the offer


def test_default_offer_prefers_context_takeover_and_also_offers_to_give_it_up() -> None:
    offer = client_offer()
    assert offer.header == (
        "permessage-deflate; client_max_window_bits, permessage-deflate; client_max_window_bits; client_no_context_takeover"
    )


@pytest.mark.parametrize(
    ("options", "header"),
    [
        ({"client_no_context_takeover": True}, "permessage-deflate; client_max_window_bits; client_no_context_takeover"),
        ({"client_no_context_takeover": False}, "permessage-deflate; client_max_window_bits"),
        (
            {
                "client_max_window_bits": 10,
                "server_max_window_bits": 8,
                "server_no_context_takeover": True,
                "client_no_context_takeover": False,
            },
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=8; server_no_context_takeover",
        ),
    ],
)
def test_offer_follows_compression_options(options: dict[str, Any], header: str) -> None:
    offer = client_offer(compression_options=options)
    assert offer.header == header


def test_no_offer_without_compression() -> None:
    assert client_offer(compression=None).header == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window_bits": 10}, "unknown compression_options"),
        ({"client_max_window_bits": 8}, "client_max_window_bits"),
        ({"client_max_window_bits": 16}, "client_max_window_bits"),
        ({"server_max_window_bits": 7}, "server_max_window_bits"),
        ({"server_max_window_bits": "10"}, "server_max_window_bits"),
        ({"level": 10}, "level"),
        ({"level": True}, "level"),
        ({"mem_level": 0}, "mem_level"),
        ({"min_size": -1}, "min_size"),
        ({"client_no_context_takeover": "yes"}, "client_no_context_takeover"),
        ({"server_no_context_takeover": None}, "server_no_context_takeover"),
    ],
)
def test_bad_compression_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client_offer(compression_options=options)


def test_bad_compression_values_are_refused() -> None:
    with pytest.raises(ValueError, match="compression must be 'deflate' or None"):
        client_offer(compression="gzip")
    with pytest.raises(TypeError, match="compression_options must be a dict"):
        client_offer(compression_options=[("level", 1)])  # type: ignore[arg-type]


# ------------------------------------------------------------ the negotiation


def test_plain_answer_keeps_context_takeover() -> None:
    got = negotiate("permessage-deflate", DEFAULT_OFFERS, DeflateSettings())
    assert not got.client_no_context_takeover and not got.server_no_context_takeover
    assert (got.client_max_window_bits, got.server_max_window_bits) == (15, 15)


def test_answer_asking_for_client_no_context_takeover_is_obeyed() -> None:
    got = negotiate("permessage-deflate; client_no_context_takeover", DEFAULT_OFFERS, DeflateSettings())
    assert got.client_no_context_takeover


@pytest.mark.parametrize(
    ("snct", "cnct", "smwb", "cmwb"),
    list(itertools.product((False, True), (False, True), (None, *range(8, 16)), (None, *range(8, 16)))),
)
def test_every_valid_answer_to_the_default_offer(snct: bool, cnct: bool, smwb: Optional[int], cmwb: Optional[int]) -> None:
    answer = Offer(
        client_max_window_bits=cmwb, server_max_window_bits=smwb, client_no_context_takeover=cnct, server_no_context_takeover=snct
    )
    got = negotiate(answer.header(), DEFAULT_OFFERS, DeflateSettings(level=1))
    assert got.server_no_context_takeover is snct
    assert got.client_no_context_takeover is cnct
    assert got.server_max_window_bits == (smwb or 15)
    assert got.client_max_window_bits == (cmwb or 15)
    assert got.level == 1


@pytest.mark.parametrize(
    ("offer", "answer", "expect"),
    [
        (Offer(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=10", 10),
        (Offer(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=9", 9),
        (Offer(server_max_window_bits=10), "permessage-deflate", "not confirmed"),
        (Offer(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=11", "above the 10"),
        (Offer(server_no_context_takeover=True), "permessage-deflate", "server_no_context_takeover"),
        (Offer(), "permessage-deflate; client_max_window_bits=10", "client_max_window_bits was not offered"),
        (Offer(client_max_window_bits=10), "permessage-deflate; client_max_window_bits=11", "above the 10"),
        (Offer(), "permessage-deflate; server_no_context_takeover", 15),
        (Offer(), "permessage-deflate; server_max_window_bits=12", 12),
    ],
)
def test_answer_must_fit_the_offer(offer: Offer, answer: str, expect: Any) -> None:
    if isinstance(expect, int):
        assert negotiate(answer, [offer], DeflateSettings()).server_max_window_bits == expect
    else:
        with pytest.raises(WebSocketHandshakeException, match=expect):
            negotiate(answer, [offer], DeflateSettings())


def test_offered_client_window_applies_when_the_answer_does_not_lower_it() -> None:
    assert negotiate("permessage-deflate", [Offer(client_max_window_bits=10)], DeflateSettings()).client_max_window_bits == 10
    got = negotiate("permessage-deflate; client_max_window_bits=9", [Offer(client_max_window_bits=10)], DeflateSettings())
    assert got.client_max_window_bits == 9


def test_answer_is_matched_to_the_first_offer_it_fits() -> None:
    offers = [Offer(server_max_window_bits=10), Offer(client_no_context_takeover=True)]
    # Not valid for the first offer (no server_max_window_bits): the second one, and its promise, apply.
    assert negotiate("permessage-deflate", offers, DeflateSettings()).client_no_context_takeover
    assert not negotiate("permessage-deflate; server_max_window_bits=9", offers, DeflateSettings()).client_no_context_takeover


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "duplicate parameter"),
        ("permessage-deflate; client_max_window_bits=10; Client_Max_Window_Bits=9", "duplicate parameter"),
        ("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", "duplicate parameter"),
        ("permessage-deflate; client_no_context_takeover; client_no_context_takeover", "duplicate parameter"),
        ("permessage-deflate; foo", "unknown parameter foo"),
        ("permessage-deflate; server_no_context_takeover=1", "takes no value"),
        ("permessage-deflate; client_no_context_takeover=true", "takes no value"),
        ("permessage-deflate; server_max_window_bits", "needs a value"),
        ("permessage-deflate; client_max_window_bits", "needs a value"),
        ("permessage-deflate; server_max_window_bits=7", "needs a value from 8 to 15"),
        ("permessage-deflate; server_max_window_bits=16", "needs a value from 8 to 15"),
        ("permessage-deflate; client_max_window_bits=09", "needs a value from 8 to 15"),
        ("permessage-deflate; client_max_window_bits=x", "needs a value from 8 to 15"),
        ('permessage-deflate; client_max_window_bits="1 0"', "not a token"),
        ('permessage-deflate; client_max_window_bits="10', "unterminated"),
        ("permessage-deflate;", "expected parameter name"),
        ("permessage-deflate; =10", "expected parameter name"),
        ("permessage-deflate client_max_window_bits", "unexpected"),
        ("permessage-deflate; server_max_window_bits=", "expected value"),
        ("", "no extension"),
        (", ,", "no extension"),
        ("permessage-deflate, permessage-deflate", "more than once"),
        ("x-webkit-deflate-frame", "does not support"),
        ("permessage-deflate, x-custom", "does not support"),
    ],
)
def test_malformed_or_unexpected_answers_fail_the_handshake(answer: str, message: str) -> None:
    with pytest.raises(WebSocketHandshakeException, match=message):
        negotiate(answer, DEFAULT_OFFERS, DeflateSettings())


def test_quoted_values_and_spacing_are_accepted() -> None:
    got = negotiate(
        'PerMessage-Deflate ;client_max_window_bits = "10"\t; server_max_window_bits=11 , ', DEFAULT_OFFERS, DeflateSettings()
    )
    assert (got.client_max_window_bits, got.server_max_window_bits) == (10, 11)


def test_parse_extensions_keeps_every_extension_and_parameter() -> None:
    assert parse_extensions('a; x=1; y, b; z="\\qr"') == [("a", [("x", "1"), ("y", None)]), ("b", [("z", "qr")])]


def test_nothing_offered_means_nothing_can_be_accepted() -> None:
    with pytest.raises(WebSocketHandshakeException, match="not offered"):
        negotiate("permessage-deflate", [], DeflateSettings())


# --------------------------------------------- negotiating from the user's header


def offered_by(offer: DeflateOffer, header: HeadersLike) -> Optional[str]:
    """What a request built with the user's ``header`` really offers."""
    own = offer.header or None
    request = build_request(resource="/", host="h", origin=None, header_lines=header_lines(header), extensions=own)
    return request.extensions_offered


def accept_with(header: HeadersLike, answer: str, compression: Optional[str] = "deflate") -> PerMessageDeflate:
    offer = client_offer(compression)
    return offer.accept(answer, offered_by(offer, header))


def test_own_offer_is_accepted_when_the_request_carries_it() -> None:
    offer = client_offer()
    assert offer.accept("permessage-deflate", offer.header).client_no_context_takeover is False


def test_user_header_offer_is_what_the_answer_is_checked_against() -> None:
    header = ["Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover"]
    # The server need not repeat the client's hint (RFC 7692 7.1.1.2): the client keeps its promise.
    assert accept_with(header, "permessage-deflate").client_no_context_takeover
    with pytest.raises(WebSocketHandshakeException, match="client_max_window_bits was not offered"):
        accept_with({"Sec-WebSocket-Extensions": "permessage-deflate"}, "permessage-deflate; client_max_window_bits=10")


def test_user_header_is_negotiated_even_with_compression_off() -> None:
    header = ["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"]
    assert client_offer(compression=None).header == ""
    assert accept_with(header, "permessage-deflate; client_max_window_bits=9", None).client_max_window_bits == 9


def test_user_header_with_server_window_bits_must_be_answered() -> None:
    header = ["Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10", "X-Token: t"]
    with pytest.raises(WebSocketHandshakeException, match="server_max_window_bits=10 was requested"):
        accept_with(header, "permessage-deflate")
    assert accept_with(header, "permessage-deflate; server_max_window_bits=10").server_max_window_bits == 10  # type: ignore[attr-defined]


def test_user_header_with_another_extension_chosen_fails_clearly() -> None:
    with pytest.raises(WebSocketHandshakeException, match="does not support"):
        accept_with(["Sec-WebSocket-Extensions: permessage-deflate, x-webkit-deflate-frame"], "x-webkit-deflate-frame")


def test_user_header_with_a_bad_offer_fails_clearly_when_accepted() -> None:
    with pytest.raises(WebSocketHandshakeException, match="header given in header="):
        accept_with(["Sec-WebSocket-Extensions: permessage-deflate; bogus"], "permessage-deflate")


# ------------------------------------------------- RFC 7692 section 7.2.3 vectors


def test_compress_hello_byte_for_byte() -> None:
    e = ext()
    assert e.compress(b"Hello") == HELLO
    assert e.compress(b"Hello") == HELLO_AGAIN  # 7.2.3.2: the window is shared


def test_compress_without_context_takeover_starts_afresh_every_message() -> None:
    e = ext(client_no_context_takeover=True)
    assert e.compress(b"Hello") == HELLO
    assert e.compress(b"Hello") == HELLO


@pytest.mark.parametrize("payload", [HELLO, HELLO_STORED, HELLO_BFINAL, HELLO_TWO_BLOCKS])
def test_decompress_rfc_examples(payload: bytes) -> None:
    assert ext().decompress(payload, True, None) == b"Hello"


def test_decompress_shared_window_example() -> None:
    e = ext()
    assert e.decompress(HELLO, True, None) == b"Hello"
    assert e.decompress(HELLO_AGAIN, True, None) == b"Hello"


def test_server_no_context_takeover_resets_the_decompressor() -> None:
    e = ext(server_no_context_takeover=True)
    assert e.decompress(HELLO, True, None) == b"Hello"
    with pytest.raises(WebSocketProtocolException, match="invalid compressed data"):
        e.decompress(HELLO_AGAIN, True, None)


def test_message_after_a_final_block_starts_a_new_stream() -> None:
    e = ext()
    assert e.decompress(HELLO_BFINAL, True, None) == b"Hello"
    assert e.decompress(HELLO, True, None) == b"Hello"


def test_protocol_receives_rfc_frames() -> None:
    p = proto()
    evs = events(
        p,
        bytes.fromhex("c107") + HELLO,  # 7.2.3.1 unfragmented
        bytes.fromhex("4103f248cd") + bytes.fromhex("8004c9c90700"),  # 7.2.3.1 fragmented
        server_frame(TEXT, b"plain"),  # RSV1 clear: not compressed
    )
    assert [(e.opcode, e.data) for e in evs] == [(TEXT, "Hello"), (TEXT, "Hello"), (TEXT, "plain")]


def test_protocol_sends_rfc_frame() -> None:
    p = proto()
    assert p.send_data(TEXT, b"Hello") == bytes.fromhex("c187") + ZERO_KEY + HELLO
    assert p.send_data(TEXT, b"Hello") == bytes.fromhex("c185") + ZERO_KEY + HELLO_AGAIN


def test_small_messages_go_out_uncompressed() -> None:
    p = proto(PerMessageDeflate())
    small = b"x" * (DEFAULT_MIN_SIZE - 1)
    opcode, fin, payload, rest = unmask_client_frame(p.send_data(TEXT, small))
    assert (opcode, fin, payload, rest) == (TEXT, True, small, b"")
    assert p.send_data(TEXT, b"x" * DEFAULT_MIN_SIZE)[0] == 0xC1


def test_fragments_and_control_frames_are_never_compressed() -> None:
    p = proto()
    assert p.send_data(TEXT, b"Hello", fin=False)[0] == 0x01
    assert p.send_data(CONT, b"Hello", fin=True)[0] == 0x80
    assert p.send_ping(b"Hello")[0] == 0x89


def test_window_bits_8_for_the_client_means_sending_uncompressed() -> None:
    e = ext(client_max_window_bits=8)
    assert e.compress(b"Hello" * 100) is None


@pytest.mark.parametrize("bits", range(9, 16))
def test_compressor_honours_the_window(bits: int) -> None:
    e = ext(client_max_window_bits=bits)
    data = bytes(range(256)) * 300
    out = e.compress(data)
    assert out is not None
    assert zlib.decompressobj(-bits).decompress(out + b"\x00\x00\xff\xff") == data


# ------------------------------------------------------------------ RSV1 rules


@pytest.mark.parametrize(
    "frames",
    [
        [server_frame(TEXT, HELLO, fin=False, rsv=4), server_frame(CONT, b"", rsv=4)],  # RSV1 on a continuation
        [server_frame(PING, b"", rsv=4)],  # RSV1 on a control frame
        [server_frame(CLOSE, b"\x03\xe8", rsv=4)],
        [server_frame(TEXT, HELLO, rsv=6)],  # RSV2 is not ours
        [server_frame(TEXT, HELLO, rsv=1)],  # RSV3 neither
    ],
)
def test_misplaced_reserved_bits_fail_with_1002(frames: list[bytes]) -> None:
    assert failure_code(events(proto(), *frames)) == 1002


def test_rsv1_without_a_negotiated_extension_fails_with_1002() -> None:
    p = ClientProtocol(extension=None)
    assert failure_code(events(p, server_frame(TEXT, HELLO, rsv=4))) == 1002


def test_invalid_deflate_data_fails_with_1002() -> None:
    assert failure_code(events(proto(), server_frame(BINARY, b"\xff\xff\xff\xff", rsv=4))) == 1002


def test_invalid_utf8_inside_compressed_text_fails_with_1007() -> None:
    payload = ext().compress(b"ok \xff\xfe not utf-8 at all")
    assert payload is not None
    assert failure_code(events(proto(), server_frame(TEXT, payload, rsv=4))) == 1007


# ---------------------------------------------------------------------- limits


def bomb(size: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = c.compress(b"\x00" * size) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


def test_limit_is_exact() -> None:
    payload = bomb(1000)
    assert len(ext().decompress(payload, True, 1000)) == 1000
    with pytest.raises(WebSocketPayloadException, match="over max_size"):
        ext().decompress(payload, True, 999)


def test_bomb_stops_without_inflating_it() -> None:
    payload = bomb(256 * 1024 * 1024)  # 256 KiB on the wire
    e = ext()
    tracemalloc.start()
    try:
        with pytest.raises(WebSocketPayloadException):
            e.decompress(payload, True, 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_bomb_fails_the_connection_with_1009() -> None:
    p = proto(max_size=64 * 1024)
    payload = bomb(10 * 1024 * 1024)
    evs = events(p, server_frame(BINARY, payload, rsv=4))
    assert failure_code(evs) == 1009
    assert isinstance(evs[-1].exc, WebSocketPayloadException)
    p.process(evs[-1])
    _, _, close, _ = unmask_client_frame(p.data_to_send())
    assert close[:2] == (1009).to_bytes(2, "big")


def test_limit_counts_every_piece_of_a_fragmented_message() -> None:
    payload = bomb(3000)
    third = len(payload) // 3
    frames = [
        server_frame(BINARY, payload[:third], fin=False, rsv=4),
        server_frame(CONT, payload[third : 2 * third], fin=False),
        server_frame(CONT, payload[2 * third :]),
    ]
    evs = events(proto(max_size=3000), *frames)
    assert isinstance(evs[0], Message) and evs[0].data == b"\x00" * 3000
    assert failure_code(events(proto(max_size=2999), *frames)) == 1009


# ---------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(st.binary(max_size=3000), min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
    no_takeover=st.booleans(),
)
def test_any_chunking_inflates_to_the_same_messages(messages: list[bytes], cuts: list[int], no_takeover: bool) -> None:
    sender = ext(client_no_context_takeover=no_takeover)
    receiver = ext(server_no_context_takeover=no_takeover)
    for message in messages:
        payload = sender.compress(message * 3)
        assert payload is not None
        points = sorted({c % (len(payload) + 1) for c in cuts} | {0, len(payload)})
        pieces = [payload[a:b] for a, b in zip(points, points[1:])] or [b""]
        out = b"".join(receiver.decompress(piece, i == len(pieces) - 1, None) for i, piece in enumerate(pieces))
        assert out == message * 3


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), limit=st.one_of(st.none(), st.integers(min_value=0, max_value=100)))
def test_arbitrary_bytes_raise_only_documented_errors(data: bytes, limit: Optional[int]) -> None:
    try:
        out = ext().decompress(data, True, limit)
    except (WebSocketProtocolException, WebSocketPayloadException):
        return
    assert limit is None or len(out) <= limit


# ------------------------------------------------- inflated read-ahead is bounded


def _megabyte_messages(count: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    frames = []
    for i in range(count):
        body = c.compress(bytes([i]) * 1_000_000) + c.flush(zlib.Z_SYNC_FLUSH)
        frames.append(server_frame(2, body[:-4], rsv=4))
    return b"".join(frames)


def test_inflated_messages_are_not_queued_far_ahead_of_the_caller() -> None:
    from websocket._sansio.protocol import INFLATED_AHEAD

    wire = _megabyte_messages(64)
    assert len(wire) < 65536  # all in one read-ahead
    p = ClientProtocol(extension=PerMessageDeflate(), mask_key=lambda n: b"\0\0\0\0")
    p.receive_data(wire)
    got: list[bytes] = []
    most_queued = 0
    while True:
        most_queued = max(most_queued, sum(len(e.data) for e in p.events))
        got.extend(e.data for e in p.events)
        p.events.clear()
        if not p.held:
            break
        p.resume()
    assert got == [bytes([i]) * 1_000_000 for i in range(64)]
    assert most_queued <= INFLATED_AHEAD + 1_000_000


def test_held_frames_are_delivered_before_the_end_of_stream() -> None:
    p = ClientProtocol(extension=PerMessageDeflate(), mask_key=lambda n: b"\0\0\0\0")
    p.receive_data(_megabyte_messages(5))
    assert p.held
    p.receive_eof()
    kinds = [type(e).__name__ for e in p.events]
    assert kinds == ["Message"] * 5 + ["EndOfStream"]


def test_a_caller_that_feeds_more_without_resuming_gets_everything_parsed() -> None:
    p = ClientProtocol(extension=PerMessageDeflate(), mask_key=lambda n: b"\0\0\0\0")
    p.receive_data(_megabyte_messages(5))
    assert p.held
    p.receive_data(server_frame(2, b"plain"))
    assert [len(e.data) for e in p.events] == [1_000_000] * 5 + [5]
    assert not p.held and p._buf == b""
