"""Frame-level vocabulary of RFC 6455: opcodes, close codes, headers, close payloads."""

from __future__ import annotations

import enum
import struct

from .._exceptions import WebSocketProtocolException

__all__ = [
    "Opcode",
    "CloseCode",
    "OP_CONT",
    "OP_TEXT",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
    "encode_header",
    "parse_close",
    "serialize_close",
    "is_valid_close_code",
]


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 section 5.2); equal to ``ABNF.OPCODE_*``."""

    CONT = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Close status codes registered with IANA; equal to the ``STATUS_*`` constants.

    NORMAL (1000): the purpose of the connection is fulfilled.
    GOING_AWAY (1001): the endpoint goes down or a page navigates away.
    PROTOCOL_ERROR (1002): the peer broke the protocol.
    UNSUPPORTED_DATA (1003): a type of data the endpoint cannot accept.
    1004 has no member: RFC 6455 reserves it without a meaning, and it is never sent.
    NO_STATUS_RCVD (1005): reserved, never sent: the close frame had no code.
    ABNORMAL_CLOSURE (1006): reserved, never sent: the connection was lost without a close frame.
    INVALID_PAYLOAD (1007): message data inconsistent with its type (bad UTF-8).
    POLICY_VIOLATION (1008): a message violated the endpoint's policy.
    MESSAGE_TOO_BIG (1009): a message too big to process.
    MANDATORY_EXTENSION (1010): the client needed an extension the server did not negotiate.
    INTERNAL_ERROR (1011): an unexpected condition on the server.
    SERVICE_RESTART (1012): the service is restarting.
    TRY_AGAIN_LATER (1013): temporary overload; try again later.
    BAD_GATEWAY (1014): a gateway got an invalid answer upstream.
    TLS_HANDSHAKE (1015): reserved, never sent: the TLS handshake failed.
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


# The opcodes as plain ints, for hot paths (an IntEnum compares several times slower).
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_CONTROL_PAYLOAD = 125

# Codes a close frame may carry on the wire (RFC 6455 7.4.1 and the IANA registry);
# 1004-1006 and 1015 are reserved and must never be sent.
_SENDABLE_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame."""
    return code in _SENDABLE_CODES or 3000 <= code <= 4999


_H16 = struct.Struct("!BBH")
_H64 = struct.Struct("!BBQ")


def encode_header(first_byte: int, length: int, mask: bool) -> bytes:
    """Return the frame header for a payload of ``length`` bytes (mask key not included)."""
    mask_bit = 0x80 if mask else 0
    if length < 126:
        return bytes((first_byte, mask_bit | length))
    if length < 0x10000:
        return _H16.pack(first_byte, mask_bit | 126, length)
    return _H64.pack(first_byte, mask_bit | 127, length)


def parse_close(payload: bytes, validate_utf8: bool = True) -> tuple[int, str]:
    """Decode a close frame payload into (code, reason); 1005 when it has no code.

    Raises WebSocketProtocolException for a 1-byte payload or a code that may
    not be sent, and UnicodeDecodeError for a reason that is not UTF-8 (unless
    ``validate_utf8`` is false: then bad bytes become U+FFFD).
    """
    if not payload:
        return CloseCode.NO_STATUS_RCVD, ""
    if len(payload) == 1:
        raise WebSocketProtocolException("close frame with a 1-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_close_code(code):
        raise WebSocketProtocolException(f"close frame with invalid close code {code}")
    return code, payload[2:].decode("utf-8", "strict" if validate_utf8 else "replace")


def serialize_close(code: int, reason: bytes | str = b"") -> bytes:
    """Encode a close frame payload; code 1005 means a close frame without payload."""
    if code == CloseCode.NO_STATUS_RCVD:
        return b""
    if not 0 <= code < 65536:
        raise ValueError("code is invalid range")
    raw = reason.encode("utf-8") if isinstance(reason, str) else bytes(reason)
    payload = code.to_bytes(2, "big") + raw
    if len(payload) > MAX_CONTROL_PAYLOAD:
        raise ValueError("close reason is longer than 123 bytes")
    return payload
