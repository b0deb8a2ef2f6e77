"""Byte-level WebSocket helpers shared by the test servers and the tests.

Nothing here imports the library under test: the servers must judge the
client with code that does not share its bugs.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import NamedTuple

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# RSV bits as the 3-bit value send_frame(rsv=...) takes.
RSV1 = 0b100
RSV2 = 0b010
RSV3 = 0b001

_BYTE_PATTERN = bytes(range(256))
# Mixes 1-, 2-, 3- and 4-byte UTF-8 sequences so that any split point is
# likely to land inside a multi-byte character.
_TEXT_PATTERN = "aé€𝄞 wörld ✓ "


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def pattern_bytes(size: int) -> bytes:
    """Deterministic binary payload of ``size`` bytes (0x00..0xff repeating)."""
    reps = size // len(_BYTE_PATTERN) + 1
    return (_BYTE_PATTERN * reps)[:size]


def pattern_text(chars: int) -> str:
    """Deterministic text of ``chars`` code points with multi-byte characters."""
    reps = chars // len(_TEXT_PATTERN) + 1
    return (_TEXT_PATTERN * reps)[:chars]


def pattern_ascii(size: int) -> str:
    """Deterministic ASCII text: ``size`` characters that are also ``size`` bytes."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    reps = size // len(letters) + 1
    return (letters * reps)[:size]


def apply_mask(key: bytes, data: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` (masking and unmasking are the same)."""
    if not data:
        return b""
    reps = len(data) // 4 + 1
    stream = int.from_bytes((key * reps)[: len(data)], "big")
    return (int.from_bytes(data, "big") ^ stream).to_bytes(len(data), "big")


def encode_length(length: int, masked: bool) -> bytes:
    """Second header byte plus extended length, always in the shortest form.

    Lengths of 2**63 and above are packed as given, top bit set, so hostile
    headers can be built on purpose.
    """
    mask_bit = 0x80 if masked else 0
    if length < 126:
        return bytes([mask_bit | length])
    if length < 1 << 16:
        return bytes([mask_bit | 126]) + struct.pack("!H", length)
    return bytes([mask_bit | 127]) + struct.pack("!Q", length)


def build_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """Serialize one frame, valid or not.

    ``rsv`` is the 3-bit RSV field (see RSV1..RSV3); ``opcode`` may be any
    4-bit value, reserved ones included; ``mask`` masks the payload with that
    key (servers must not, so this makes a protocol violation); ``length``
    overrides the declared payload length, so the header may lie.
    """
    first = (0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)
    declared = len(payload) if length is None else length
    header = bytes([first]) + encode_length(declared, mask is not None)
    if mask is None:
        return header + payload
    return header + mask + apply_mask(mask, payload)


def close_payload(code: int | None = None, reason: bytes | str = b"") -> bytes:
    """Body of a close frame: empty when ``code`` is None."""
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


class Frame(NamedTuple):
    """A frame as read off the wire by a test server (payload unmasked)."""

    fin: bool
    opcode: int
    payload: bytes
    rsv: int = 0
    mask: bytes | None = None

    @property
    def close_code(self) -> int | None:
        """Close code of a close frame, None when its payload is empty."""
        if len(self.payload) < 2:
            return None
        return int(struct.unpack("!H", self.payload[:2])[0])

    @property
    def close_reason(self) -> bytes:
        """Raw close reason bytes of a close frame."""
        return self.payload[2:]
