"""The checks behind the fuzz targets: one function per parser, ``(data: bytes) -> None``.

Each function decodes its input (a few leading bytes choose the options and
how the rest is cut into chunks), runs the parser, and raises (an assertion,
or the undocumented exception itself) when the contract of
docs/robustness.md is broken: only documented exceptions, buffers within the
limits, the same outcome whatever the chunking, nothing after a close frame
or a failure.

No atheris here: the ``fuzz_*.py`` entry points wrap these for atheris, and
tests/unit/test_hostile_fuzz_corpus.py replays the corpus through them in
the default test run; tests/unit/test_parsers_properties.py shares ``feed``
and ``summary`` with the frames target.
"""

from __future__ import annotations

from typing import Any, Optional

from websocket._cookiejar import SimpleCookieJar
from websocket._exceptions import (
    WebSocketBadStatusException,
    WebSocketException,
    WebSocketHandshakeException,
    WebSocketPayloadException,
    WebSocketProtocolException,
)
from websocket._net.opening import REDIRECT_STATUSES, _build, _Hop, _next_hop
from websocket._net.options import ConnectOptions
from websocket._sansio.deflate import DeflateSettings, PerMessageDeflate, negotiate
from websocket._sansio.events import Close, EndOfStream, Failure, Fragment, Message, Ping, Pong
from websocket._sansio.handshake import (
    MAX_HEADERS,
    build_request,
    check_head_start,
    check_upgrade,
    find_head_end,
    parse_response_head,
)
from websocket._sansio.protocol import MAX_READ, ClientProtocol, State
from websocket._url import split_url

__all__ = ["MAX_BUFFERED", "TARGETS", "deflate", "feed", "frames", "handshake", "split", "summary"]

# ---------------------------------------------------------------- shared

_SIZES = (1, 2, 3, 5, 7, 11, 64, 126, 1000)


def split(data: bytes, pattern: int) -> list[bytes]:
    """Cut ``data`` into chunks whose sizes cycle through a sequence chosen by ``pattern`` (0: whole)."""
    if pattern == 0 or not data:
        return [data]
    sizes = [_SIZES[(pattern + i) % len(_SIZES)] * (1 + (pattern >> 4)) for i in range(3)]
    chunks = []
    pos = i = 0
    while pos < len(data):
        size = sizes[i % 3]
        chunks.append(data[pos : pos + size])
        pos += size
        i += 1
    return chunks


# ---------------------------------------------------------------- frames

_MAX_SIZES: tuple[Optional[int], ...] = (None, 0, 1, 16, 125, 1000, 65536, 1 << 20)
# An incomplete frame leaves at most a 10-byte header and a 125-byte control payload buffered
# (a masked frame fails at its header, so no mask key is ever buffered).
MAX_BUFFERED = 10 + 125


def _protocol(flags: int) -> ClientProtocol:
    extension = PerMessageDeflate(min_size=0, server_no_context_takeover=bool(flags & 0x40)) if flags & 4 else None
    return ClientProtocol(
        max_size=_MAX_SIZES[(flags >> 3) & 7],
        extension=extension,
        validate_utf8=not flags & 1,
        fire_cont_frame=bool(flags & 2),
        mask_key=lambda n: b"\x00\x00\x00\x00",
    )


def feed(p: ClientProtocol, chunks: list[bytes], eof: bool = True) -> list[Any]:
    """Feed the chunks (then the end of the stream, with ``eof``), checking the buffer bounds and the
    read hint after each; consume every event as the I/O layer does. Returns the events."""
    seen: list[Any] = []
    for chunk in chunks:
        p.receive_data(chunk)
        while True:
            assert p.held or len(p._buf) <= MAX_BUFFERED, len(p._buf)  # held: complete frames, from this chunk
            assert 0 < p.read_hint() <= MAX_READ
            if p.max_size is not None:
                assert p._msg is None or len(p._msg) <= p.max_size
            seen.extend(p.events)
            p.events.clear()
            if not p.held:
                break
            p.resume()  # as the I/O layer does before reading more
    if eof:
        p.receive_eof()
        seen.extend(p.events)
        p.events.clear()
    for event in seen:
        p.process(event)
        p.data_to_send()
    return seen


def summary(events: list[Any], deflate: bool = False) -> list[tuple[Any, ...]]:
    """Comparable events. A whole frame in fire_cont_frame mode may come as a Message or as a
    final Fragment depending on the chunking (the fast path ignores the mode); callers see the
    same data either way, so both read as ("data", opcode, bytes, fin). With deflate, a corrupt
    compressed message fails as 1002 (zlib saw the error first), 1007 (the text inflated so far
    was already invalid) or 1009 (what inflated so far already passed max_size) depending on
    where the chunks end: zlib decides how far it reads per call. All three are right, so they
    compare equal."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, (Message, Fragment)):
            data = e.data.encode() if isinstance(e.data, str) else bytes(e.data)
            out.append(("data", e.opcode, data, getattr(e, "fin", True)))
        elif isinstance(e, (Ping, Pong)):
            out.append((type(e).__name__, e.payload))
        elif isinstance(e, Close):
            out.append(("close", e.code, e.reason))
        elif isinstance(e, Failure):
            out.append(("failure", "deflate") if deflate and e.code in (1002, 1007, 1009) else ("failure", e.code, type(e.exc)))
        else:
            out.append(("eof",))
    return out


def _check_events(p: ClientProtocol, events: list[Any]) -> None:
    ended = False
    for event in events:
        assert not ended or isinstance(event, EndOfStream), f"{event!r} after the end"
        if isinstance(event, Failure):
            assert event.code in (1002, 1007, 1009), event.code
            assert isinstance(event.exc, (WebSocketProtocolException, WebSocketPayloadException)), repr(event.exc)
            assert str(event.exc)
        elif isinstance(event, (Message, Fragment)) and p.max_size is not None:
            data = event.data.encode() if isinstance(event.data, str) else event.data
            assert len(data) <= p.max_size
        ended = ended or isinstance(event, (Close, Failure, EndOfStream))
    assert p.state is State.CLOSED  # every run ends with the end of the stream


def frames(data: bytes) -> None:
    """Server bytes into ClientProtocol: byte 0 options, byte 1 chunking, the rest the stream."""
    if len(data) < 2:
        return
    flags, pattern, stream = data[0], data[1], data[2:]
    p = _protocol(flags)
    events = feed(p, split(stream, pattern))
    _check_events(p, events)
    if flags & 0x80 and pattern:
        deflate = bool(flags & 4)
        whole = feed(_protocol(flags), [stream])
        assert summary(events, deflate) == summary(whole, deflate), "the chunking changed the outcome"


# ---------------------------------------------------------------- handshake

_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3: its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
_BASE_URL = "ws://example.test/chat"


def _request(offer_deflate: bool) -> Any:
    return build_request(
        resource="/chat",
        host="example.test",
        origin=None,
        subprotocols=["chat", "superchat"],
        key=_KEY,
        extensions="permessage-deflate; client_max_window_bits" if offer_deflate else None,
    )


def _negotiate(value: str) -> None:
    negotiate(value, DeflateSettings().offers(), DeflateSettings())


def _redirect(response: Any) -> None:
    """What connect() does with a redirect answer: only WebSocketException (or its subclasses) may come out."""
    opts = ConnectOptions.from_kwargs({"header": ["Authorization: Bearer x"], "cookie": "a=b"})
    hop = _Hop(_BASE_URL, split_url(_BASE_URL), True, None)
    try:
        hop = _next_hop(hop, response, opts)
    except WebSocketException as exc:
        assert str(exc)
        return
    request = _build(hop, opts, None, None)
    assert b"\r\n\r\n" in request.data and request.data.count(b"\r\n\r\n") == 1


def handshake(data: bytes) -> None:
    """A response head: byte 0 chunking and options, the rest what the server answers."""
    if not data:
        return
    pattern, head = data[0], data[1:]
    buf = b""
    end = -1
    refused_early = False
    status_checked = False
    for chunk in split(head, pattern & 0x7F):
        scanned = len(buf)
        buf += chunk
        if not status_checked and not refused_early:
            try:
                status_checked = check_head_start(buf)
            except WebSocketHandshakeException as exc:
                assert str(exc)
                refused_early = True
        end = find_head_end(buf, scanned)
        if end >= 0:
            break
    assert end == find_head_end(head), "the chunking changed where the head ends"
    if end < 0:
        return
    try:
        response = parse_response_head(head[:end])
    except WebSocketHandshakeException as exc:
        assert str(exc)
        return
    assert not refused_early, "the early status check refused a head the parser takes"
    assert 0 <= response.status <= 999 and len(response.headers) <= MAX_HEADERS
    response.headers.as_compat_dict()
    jar = SimpleCookieJar()
    for value in response.headers.get_all("Set-Cookie"):
        jar.add(value, host="example.test")  # a malformed cookie is ignored, never raised
    jar.get("example.test")
    if response.status in REDIRECT_STATUSES:
        _redirect(response)
        return
    if response.status != 101:
        WebSocketBadStatusException("status", response.status, response.reason, response.headers.as_compat_dict())
        return
    try:
        chosen = check_upgrade(response, _request(bool(pattern & 0x80)), _negotiate)
    except WebSocketHandshakeException as exc:
        assert str(exc)
        return
    assert chosen in (None, "chat", "superchat")


# ---------------------------------------------------------------- deflate

_SEPARATOR = b"\xde\xad\xbe\xef"


def deflate(data: bytes) -> None:
    """Inflate up to 4 messages: byte 0 options, byte 1 chunking, byte 2 the limit (255: none)."""
    if len(data) < 3:
        return
    flags, pattern, limit_byte = data[0], data[1], data[2]
    limit = None if limit_byte == 255 else limit_byte * 64
    ext = PerMessageDeflate(
        server_no_context_takeover=bool(flags & 1),
        server_max_window_bits=8 + (flags >> 1) % 8,
        min_size=0,
    )
    for message in data[3:].split(_SEPARATOR)[:4]:
        pieces = split(message, pattern)
        produced = 0
        try:
            for i, piece in enumerate(pieces):
                room = None if limit is None else limit - produced
                out = ext.decompress(piece, i == len(pieces) - 1, room)
                assert room is None or len(out) <= room
                produced += len(out)
        except (WebSocketProtocolException, WebSocketPayloadException) as exc:
            assert str(exc)
            return  # the connection fails here: nothing more is inflated on it
    if flags & 0x80:
        _round_trip(data[3:], bool(flags & 0x40))


def _round_trip(message: bytes, no_takeover: bool) -> None:
    sender = PerMessageDeflate(client_no_context_takeover=no_takeover, min_size=0)
    receiver = PerMessageDeflate(server_no_context_takeover=no_takeover, min_size=0)
    for _ in range(2):
        payload = sender.compress(message)
        assert payload is not None
        assert receiver.decompress(payload, True, None) == message


TARGETS = {"frames": frames, "handshake": handshake, "deflate": deflate}
