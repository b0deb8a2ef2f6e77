"""permessage-deflate (RFC 7692): the offer, the checks of the server's answer, per-message (de)compression.

The default offer is two offers in order of preference (RFC 7692 section 5)::

    permessage-deflate; client_max_window_bits,
    permessage-deflate; client_max_window_bits; client_no_context_takeover

A server that is content with the first keeps the client's compression
context from message to message (the better ratio); a server that wants the
client to reset it can pick the second, which some servers (the Autobahn
fuzzing server among them) only do when the client offered it. A response
is matched to the first offer it is valid for, so the client gives up
context takeover only when the response says ``client_no_context_takeover``.

Decompression is bounded: ``decompress`` never produces more than the room
left under ``max_size``, however much the data would inflate.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Optional, Union

from .._exceptions import (
    WebSocketHandshakeException,
    WebSocketPayloadException,
    WebSocketPayloadTooBig,
    WebSocketProtocolException,
)

__all__ = [
    "client_offer",
    "DeflateOffer",
    "DeflateSettings",
    "Offer",
    "PerMessageDeflate",
    "negotiate",
    "COMPRESSION_OPTIONS",
    "DEFAULT_MIN_SIZE",
]

NAME = "permessage-deflate"
# Removed from the end of every compressed message and put back before inflating (RFC 7692 7.2.1/7.2.2).
_TAIL = b"\x00\x00\xff\xff"
_DEFLATE_BITS = 12  # the largest window the client compresses with (see PerMessageDeflate)
# What may follow a final block once the tail is appended: the tail alone, or behind the header
# byte of an empty stored block (the BFINAL flush of RFC 7692 7.2.3.3).
_AFTER_FINAL = (_TAIL, b"\x00" + _TAIL)
# Below this many bytes a message goes out uncompressed: the saving is a few bytes at best.
DEFAULT_MIN_SIZE = 16
COMPRESSION_OPTIONS = (
    "client_max_window_bits",
    "server_max_window_bits",
    "client_no_context_takeover",
    "server_no_context_takeover",
    "level",
    "mem_level",
    "min_size",
)

Params = list[tuple[str, Optional[str]]]
ExtensionList = list[tuple[str, Params]]


# --------------------------------------------------------------------- settings


@dataclass(frozen=True)
class DeflateSettings:
    """What the user asked for through ``compression_options`` (every key optional).

    ``client_max_window_bits`` (9..15): the client compresses with at most this
    window (less memory); offered with this value. Default: offered without a
    value, so the server may lower it, else 15. Whatever is negotiated, the client
    compresses with at most a 12-bit window (4 KiB; a smaller window is always allowed),
    and keeps no compressor between messages, only the window's content.
    ``server_max_window_bits`` (8..15): ask the server to compress with at most
    this window, so the client's decompressor needs less memory. Default: not asked.
    ``client_no_context_takeover``: None (default) offers with and without it,
    preferring without; True offers only with it (the client resets its
    compressor after each message); False offers only without it.
    ``server_no_context_takeover``: ask the server to reset its compressor after
    each message. Default False.
    ``level`` (0..9, default 6) and ``mem_level`` (1..9, default 8): zlib's
    compression level and memory level for what the client sends.
    ``min_size`` (default 16): messages shorter than this many bytes are sent
    uncompressed.
    """

    client_max_window_bits: Optional[int] = None
    server_max_window_bits: Optional[int] = None
    client_no_context_takeover: Optional[bool] = None
    server_no_context_takeover: bool = False
    level: int = 6
    mem_level: int = 8
    min_size: int = DEFAULT_MIN_SIZE

    @classmethod
    def from_options(cls, options: Optional[Mapping[str, Any]]) -> DeflateSettings:
        """Validate a ``compression_options`` mapping; ValueError names the bad key."""
        if options is None:
            return cls()
        if not isinstance(options, Mapping):
            raise TypeError(f"compression_options must be a dict, not {type(options).__name__}")
        unknown = sorted(set(options) - set(COMPRESSION_OPTIONS))
        if unknown:
            raise ValueError(f"unknown compression_options {unknown}; known: {', '.join(COMPRESSION_OPTIONS)}")
        settings = cls(**options)
        settings._check()
        return settings

    def _check(self) -> None:
        _check_int("client_max_window_bits", self.client_max_window_bits, 9, 15, optional=True)
        _check_int("server_max_window_bits", self.server_max_window_bits, 8, 15, optional=True)
        _check_int("level", self.level, 0, 9)
        _check_int("mem_level", self.mem_level, 1, 9)
        _check_int("min_size", self.min_size, 0, None)
        if self.client_no_context_takeover not in (None, True, False):
            raise ValueError(
                f"compression_options['client_no_context_takeover'] must be None, True or False, "
                f"not {self.client_no_context_takeover!r}"
            )
        if self.server_no_context_takeover not in (True, False):
            raise ValueError(
                f"compression_options['server_no_context_takeover'] must be True or False, "
                f"not {self.server_no_context_takeover!r}"
            )

    def offers(self) -> list[Offer]:
        """The offers to send, in order of preference."""
        base = Offer(
            client_max_window_bits=self.client_max_window_bits or True,
            server_max_window_bits=self.server_max_window_bits,
            server_no_context_takeover=self.server_no_context_takeover,
        )
        if self.client_no_context_takeover is None:
            return [base, replace(base, client_no_context_takeover=True)]
        return [replace(base, client_no_context_takeover=self.client_no_context_takeover)]


def _check_int(name: str, value: Any, low: int, high: Optional[int], optional: bool = False) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
    if not ok:
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"compression_options[{name!r}] must be an int in {bounds}, not {value!r}")


# ----------------------------------------------------------------------- offers


@dataclass(frozen=True)
class Offer:
    """One permessage-deflate offer; ``client_max_window_bits=True`` is the parameter without a value."""

    client_max_window_bits: Union[int, bool, None] = None
    server_max_window_bits: Optional[int] = None
    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False

    def header(self) -> str:
        """This offer as an element of Sec-WebSocket-Extensions."""
        parts = [NAME]
        if self.client_max_window_bits is True:
            parts.append("client_max_window_bits")
        elif self.client_max_window_bits:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        if self.server_max_window_bits is not None:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        return "; ".join(parts)

    @classmethod
    def from_params(cls, params: Params, *, response: bool) -> Offer:
        """Read parameters from an offer (``response=False``) or a response; ValueError if invalid.

        In a response every window size needs a value (RFC 7692 7.1.2.2).
        """
        seen: dict[str, Optional[str]] = {}
        for name, value in params:
            key = name.lower()
            if key in seen:
                raise ValueError(f"duplicate parameter {name}")
            seen[key] = value
        fields: dict[str, Any] = {}
        for key, value in seen.items():
            if key in ("client_no_context_takeover", "server_no_context_takeover"):
                if value is not None:
                    raise ValueError(f"parameter {key} takes no value, got {value!r}")
                fields[key] = True
            elif key in ("client_max_window_bits", "server_max_window_bits"):
                if value is None and key == "client_max_window_bits" and not response:
                    fields[key] = True
                else:
                    fields[key] = _window_bits(key, value)
            else:
                raise ValueError(f"unknown parameter {key}")
        return cls(**fields)


def _window_bits(name: str, value: Optional[str]) -> int:
    # RFC 7692 7.1.2: a decimal integer 8..15 without leading zeros.
    if value is None or value not in {str(n) for n in range(8, 16)}:
        raise ValueError(f"parameter {name} needs a value from 8 to 15, got {value!r}")
    return int(value)


def _mismatch(offer: Offer, answer: Offer) -> Optional[str]:
    """Why ``answer`` is not a valid response to ``offer`` (None: it is)."""
    if offer.server_no_context_takeover and not answer.server_no_context_takeover:
        return "server_no_context_takeover was requested but not confirmed"
    if offer.server_max_window_bits is not None:
        if answer.server_max_window_bits is None:
            return f"server_max_window_bits={offer.server_max_window_bits} was requested but not confirmed"
        if answer.server_max_window_bits > offer.server_max_window_bits:
            return f"server_max_window_bits={answer.server_max_window_bits} is above the {offer.server_max_window_bits} requested"
    if answer.client_max_window_bits is not None:
        if offer.client_max_window_bits is None:
            return "client_max_window_bits was not offered"
        if offer.client_max_window_bits is not True and answer.client_max_window_bits > offer.client_max_window_bits:
            return f"client_max_window_bits={answer.client_max_window_bits} is above the {offer.client_max_window_bits} offered"
    return None


def negotiate(value: str, offers: Sequence[Offer], settings: DeflateSettings) -> PerMessageDeflate:
    """Check the server's Sec-WebSocket-Extensions against ``offers``; the extension, or WebSocketHandshakeException."""
    try:
        chosen = parse_extensions(value)
    except ValueError as exc:
        raise WebSocketHandshakeException(f"malformed Sec-WebSocket-Extensions in the response: {exc}: {value!r}") from exc
    names = [name for name, _ in chosen]
    if any(name.lower() != NAME for name in names):
        raise WebSocketHandshakeException(f"the server selected an extension this client does not support: {value!r}")
    if len(chosen) != 1:
        raise WebSocketHandshakeException(f"the server selected {NAME} more than once: {value!r}")
    if not offers:
        raise WebSocketHandshakeException(f"the server selected {NAME}, which was not offered: {value!r}")
    try:
        answer = Offer.from_params(chosen[0][1], response=True)
    except ValueError as exc:
        raise WebSocketHandshakeException(f"invalid {NAME} response from the server: {exc}: {value!r}") from exc
    problems = []
    for offer in offers:
        problem = _mismatch(offer, answer)
        if problem is None:
            return _extension(offer, answer, settings)
        problems.append(problem)
    raise WebSocketHandshakeException(f"the server's {NAME} response fits no offer ({'; '.join(problems)}): {value!r}")


def _extension(offer: Offer, answer: Offer, settings: DeflateSettings) -> PerMessageDeflate:
    client_bits = answer.client_max_window_bits
    if client_bits is None and offer.client_max_window_bits is not True:
        client_bits = offer.client_max_window_bits
    return PerMessageDeflate(
        client_no_context_takeover=answer.client_no_context_takeover or offer.client_no_context_takeover,
        server_no_context_takeover=answer.server_no_context_takeover,
        client_max_window_bits=int(client_bits or 15),
        server_max_window_bits=answer.server_max_window_bits or 15,
        level=settings.level,
        mem_level=settings.mem_level,
        min_size=settings.min_size,
    )


# -------------------------------------------------------------------- the codec


class PerMessageDeflate:
    """The negotiated extension: compresses whole messages, inflates them piece by piece within a limit."""

    def __init__(
        self,
        *,
        client_no_context_takeover: bool = False,
        server_no_context_takeover: bool = False,
        client_max_window_bits: int = 15,
        server_max_window_bits: int = 15,
        level: int = 6,
        mem_level: int = 8,
        min_size: int = DEFAULT_MIN_SIZE,
    ) -> None:
        self.client_no_context_takeover = client_no_context_takeover
        self.server_no_context_takeover = server_no_context_takeover
        self.client_max_window_bits = client_max_window_bits
        self.server_max_window_bits = server_max_window_bits
        self.level = level
        self.mem_level = mem_level
        self.min_size = min_size
        # zlib cannot compress raw deflate with a 256-byte window (it refuses wbits=-8), so with
        # client_max_window_bits=8 every message goes out uncompressed, which is always allowed.
        self._can_compress = client_max_window_bits >= 9
        # A zlib-based server told to use an 8-bit window really uses 9 (zlib has no 8-bit raw
        # deflate); inflating with 9 bits accepts both.
        self._inflate_bits = max(9, server_max_window_bits)
        # Memory at rest: no compressor is kept between messages (zlib's is 24-260 KiB). With
        # context takeover the window's content is kept instead (the last bytes sent), and the
        # next message's compressor starts from it as a preset dictionary: the same stream for
        # the server. The client compresses with a window of at most 4 KiB (12 bits): measured
        # on 1 KiB JSON, 7 % less ratio than 32 KiB at the same speed, and 4 KiB kept, not 32.
        # The decompressor (7 KiB plus the server's window) is kept: made per message from a
        # kept window, it cost up to 40 % of the receive speed for a 15-bit server window.
        self._deflate_bits = min(client_max_window_bits, _DEFLATE_BITS)
        self._sent_tail = b""  # the last 2**_deflate_bits bytes sent (context takeover)
        self._inflater: Optional[zlib._Decompress] = None
        self._after_final = b""

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate(client_no_context_takeover={self.client_no_context_takeover}, "
            f"server_no_context_takeover={self.server_no_context_takeover}, "
            f"client_max_window_bits={self.client_max_window_bits}, server_max_window_bits={self.server_max_window_bits})"
        )

    def compress(self, data: bytes) -> Optional[bytes]:
        """Deflate a whole message; None when it goes out uncompressed (under ``min_size``)."""
        if len(data) < self.min_size or not self._can_compress:
            return None
        bits = self._deflate_bits
        if self._sent_tail:
            deflater = zlib.compressobj(self.level, zlib.DEFLATED, -bits, self.mem_level, zdict=self._sent_tail)
        else:
            deflater = zlib.compressobj(self.level, zlib.DEFLATED, -bits, self.mem_level)
        out = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
        if not self.client_no_context_takeover:
            self._sent_tail = _tail(self._sent_tail, data, 1 << bits)
        return out[:-4] if out.endswith(_TAIL) else out

    def decompress(self, data: bytes, end: bool, limit: Optional[int]) -> bytes:
        """Inflate the next piece of a message; ``end`` marks its last piece.

        Never produces more than ``limit`` bytes: WebSocketPayloadTooBig
        as soon as the output would pass it, WebSocketProtocolException for
        data that is not valid deflate.
        """
        inflater = self._inflater
        if inflater is None:
            inflater = self._inflater = zlib.decompressobj(-self._inflate_bits)
            self._after_final = b""
        if end:
            data = data + _TAIL
        try:
            if inflater.eof:
                out, after = b"", data
            else:
                out = inflater.decompress(data) if limit is None else inflater.decompress(data, limit + 1)
                after = inflater.unused_data if inflater.eof else b""
        except zlib.error as exc:
            self._inflater = None
            raise WebSocketProtocolException(f"invalid compressed data in a message: {exc}") from exc
        if after:
            self._check_after_final(after, end)
        if limit is not None and len(out) > limit:
            self._inflater = None
            raise WebSocketPayloadTooBig(
                f"compressed message is over max_size once inflated (more than the {limit} bytes left under the limit)"
            )
        if end and (self.server_no_context_takeover or inflater.eof):
            self._inflater = None
        return out

    def _check_after_final(self, after: bytes, end: bool) -> None:
        """A final block (BFINAL) ends the deflate data: only an empty stored block may follow.

        That block is the tail appended on receipt, maybe behind the one header
        byte of RFC 7692 7.2.3.3; anything else the sender put after the final
        block makes the payload invalid (7.2.2), so it fails (1007) instead of being dropped.
        """
        seen = self._after_final = self._after_final + after
        if seen in _AFTER_FINAL if end else any(ok.startswith(seen) for ok in _AFTER_FINAL):
            return
        self._inflater = None
        # Well-formed deflate with something smuggled behind it: the message's data is
        # invalid (1007), unlike data that does not inflate at all (1002).
        raise WebSocketPayloadException(f"compressed message has data after its final deflate block: {seen[:16]!r}")


def _tail(kept: bytes, data: bytes, size: int) -> bytes:
    """The last ``size`` bytes of ``kept + data``."""
    if len(data) >= size:
        return bytes(data[-size:])
    return (kept + data)[-size:]


# ----------------------------------------------------------- header grammar


_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_extensions(value: str) -> ExtensionList:
    """Parse a Sec-WebSocket-Extensions value (RFC 6455 section 9.1) into (name, params); ValueError if malformed.

    Quoted parameter values are unquoted; like RFC 6455 says, what they hold must be a token.
    """
    result: ExtensionList = []
    pos, end = 0, len(value)
    while True:
        pos = _skip_space(value, pos)
        if pos < end and value[pos] == ",":  # empty list elements are allowed by the #rule
            pos += 1
            continue
        if pos >= end:
            break
        name, pos = _token(value, pos, "extension name")
        params: Params = []
        pos = _skip_space(value, pos)
        while pos < end and value[pos] == ";":
            param, pos = _param(value, _skip_space(value, pos + 1))
            params.append(param)
            pos = _skip_space(value, pos)
        result.append((name, params))
        if pos < end and value[pos] != ",":
            raise ValueError(f"unexpected {value[pos]!r} at position {pos}")
    if not result:
        raise ValueError("no extension in the header")
    return result


def _param(value: str, pos: int) -> tuple[tuple[str, Optional[str]], int]:
    name, pos = _token(value, pos, "parameter name")
    pos = _skip_space(value, pos)
    if pos >= len(value) or value[pos] != "=":
        return (name, None), pos
    pos = _skip_space(value, pos + 1)
    if pos < len(value) and value[pos] == '"':
        text, pos = _quoted(value, pos)
        if not text or not set(text) <= _TCHAR:
            raise ValueError(f"quoted value of {name} is not a token: {text!r}")
        return (name, text), pos
    text, pos = _token(value, pos, f"value of {name}")
    return (name, text), pos


def _skip_space(value: str, pos: int) -> int:
    while pos < len(value) and value[pos] in " \t":
        pos += 1
    return pos


def _token(value: str, pos: int, what: str) -> tuple[str, int]:
    start = pos
    while pos < len(value) and value[pos] in _TCHAR:
        pos += 1
    if pos == start:
        found = repr(value[pos]) if pos < len(value) else "the end"
        raise ValueError(f"expected {what} at position {pos}, found {found}")
    return value[start:pos], pos


def _quoted(value: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    pos += 1
    while pos < len(value):
        char = value[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\":
            pos += 1
            if pos >= len(value):
                break
            char = value[pos]
        out.append(char)
        pos += 1
    raise ValueError("unterminated quoted string")


# ------------------------------------------------------------ the client's offer


def _user_offers(value: str) -> list[Offer]:
    """The permessage-deflate offers in a header the user wrote, in order."""
    try:
        offered: ExtensionList = parse_extensions(value)
        return [Offer.from_params(params, response=False) for name, params in offered if name.lower() == NAME]
    except ValueError as exc:
        raise WebSocketHandshakeException(
            f"cannot negotiate {NAME} from the Sec-WebSocket-Extensions header given in header=: {exc}: {value!r}"
        ) from exc


@dataclass(frozen=True)
class DeflateOffer:
    """What this client offers (``header``, empty for none) and how it accepts the server's answer."""

    header: str
    offers: tuple[Offer, ...]
    settings: DeflateSettings

    def accept(self, answer: str, offered: Optional[str]) -> PerMessageDeflate:
        """The extension for the server's Sec-WebSocket-Extensions ``answer`` to what the request ``offered``.

        ``offered`` is the request's own Sec-WebSocket-Extensions value: this
        offer, or the one the user wrote in ``header=``, which then replaces it.
        """
        offers = self.offers if offered == self.header else _user_offers(offered or "")
        return negotiate(answer, offers, self.settings)


def client_offer(compression: Optional[str] = "deflate", compression_options: Optional[Mapping[str, Any]] = None) -> DeflateOffer:
    """The permessage-deflate offer for these options.

    ``compression`` is "deflate" (offer permessage-deflate) or None (offer
    nothing; a header the user wrote is still negotiated).
    """
    if compression not in ("deflate", None):
        raise ValueError(f"compression must be 'deflate' or None, not {compression!r}")
    settings = DeflateSettings.from_options(compression_options)
    own, own_header = _own_offers(settings) if compression is not None else ((), "")
    return DeflateOffer(own_header, own, settings)


@functools.lru_cache(maxsize=16)
def _own_offers(settings: DeflateSettings) -> tuple[tuple[Offer, ...], str]:
    """The client's offers for ``settings`` and their header value (the same for every connect)."""
    own = tuple(settings.offers())
    return own, ", ".join(offer.header() for offer in own)
