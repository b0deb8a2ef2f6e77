"""Minimal WebSocket wire helpers shared by the peer server and the raw-socket client.

Only what the benchmark needs: handshake keys, frame headers, masking and the
deterministic payloads that both ends generate independently, so that a client
can verify every message without the server sending the expected data twice.

Stdlib only: this module is imported from every benchmark virtual environment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
import zlib
from functools import cache

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# permessage-deflate strips this tail from every compressed message (RFC 7692 7.2.1).
DEFLATE_TAIL = b"\x00\x00\xff\xff"

# Fixed client mask key for the raw client: the server never unmasks bulk data,
# and a constant key lets the raw client pre-build its frames once.
RAW_MASK = b"\x37\xfa\x21\x3d"

# Text that the summary of a send scenario starts with; see server.py.
END_MARKER = b"end:"


def accept_key(key: str | bytes) -> str:
    """Return the Sec-WebSocket-Accept value for a Sec-WebSocket-Key."""
    if isinstance(key, str):
        key = key.encode("ascii")
    return base64.b64encode(hashlib.sha1(key.strip() + GUID).digest()).decode("ascii")


def frame_header(opcode: int, length: int, mask: bytes | None = None, rsv1: bool = False, fin: bool = True) -> bytes:
    """Build a frame header (a final fragment unless ``fin`` is false) for a payload of ``length`` bytes."""
    b0 = (0x80 if fin else 0) | opcode | (0x40 if rsv1 else 0)
    mask_bit = 0x80 if mask is not None else 0
    if length < 126:
        head = struct.pack("!BB", b0, mask_bit | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", b0, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", b0, mask_bit | 127, length)
    return head + mask if mask is not None else head


def xor_mask(mask: bytes, data: bytes | bytearray | memoryview) -> bytes:
    """Apply (or remove) a 4-byte WebSocket mask using one big-integer XOR."""
    n = len(data)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    value = int.from_bytes(data, "big") ^ int.from_bytes(key, "big")
    return value.to_bytes(n, "big")


def build_frame(opcode: int, payload: bytes, mask: bytes | None = None, rsv1: bool = False) -> bytes:
    """Build one complete frame; the payload is masked when ``mask`` is given."""
    body = xor_mask(mask, payload) if mask is not None else payload
    return frame_header(opcode, len(payload), mask, rsv1) + body


def close_frame(mask: bytes | None = None, code: int = 1000) -> bytes:
    """Build a close frame carrying ``code`` (normal closure by default)."""
    return build_frame(OP_CLOSE, struct.pack("!H", code), mask)


def deflate_message(payload: bytes) -> bytes:
    """Compress one message on its own (no context takeover), as RFC 7692 frames it."""
    comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    data = comp.compress(payload) + comp.flush(zlib.Z_SYNC_FLUSH)
    if data.endswith(DEFLATE_TAIL):
        data = data[:-4]
    return data


# --- deterministic payloads --------------------------------------------------------------
#
# Message i of a scenario carries variant i % variants(...). Variants differ from each
# other, so a client that returned a stale or shifted buffer fails the content check.

_ASCII_FILL = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
# A mix of 2-, 3- and 4-byte sequences plus some ASCII, like real non-English chat text.
_UTF8_UNIT = (
    "Grüße aus Köln, señor! Ελληνικά κείμενα και русский текст. "
    "日本語のテキストと中文文本，한국어 텍스트도 있습니다. "  # noqa: RUF001
    "Emoji 🎉🚀😀🌍 and math ∑∫√∞ ≠ ≤ ≥. "
).encode()


def variants(family: str, size: int) -> int:
    """Return how many distinct payloads a family and size cycle through.

    Always a power of two so clients can pick the expected variant with a bit mask.
    """
    if family == "json":
        return 64
    if size <= 4096:
        return 1024
    if size <= 2 << 20:
        return 4
    return 2


@cache
def _random_block(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@cache
def _utf8_body(size: int) -> bytes:
    """Return exactly ``size`` bytes of valid multi-byte UTF-8 text."""
    reps = size // len(_UTF8_UNIT) + 1
    body = (_UTF8_UNIT * reps)[:size]
    # Cut back to a character boundary, then pad with ASCII to the exact size.
    body = body.decode("utf-8", "ignore").encode("utf-8")
    return body + b" " * (size - len(body))


def _json_message(index: int, size: int) -> bytes:
    """Build a JSON market-data message of about ``size`` bytes (compressible)."""
    rng = random.Random(index)
    rows = []
    total = 0
    while total < size - 120:
        row = {
            "price": round(rng.uniform(100, 200), 2),
            "qty": rng.randint(1, 5000),
            "side": rng.choice(["buy", "sell"]),
            "venue": rng.choice(["XNAS", "XNYS", "BATS", "ARCX"]),
        }
        rows.append(row)
        total += len(json.dumps(row)) + 2
    doc = {"type": "book_update", "seq": index, "symbol": "ACME", "levels": rows}
    return json.dumps(doc, separators=(", ", ": ")).encode()


@cache
def payload(family: str, size: int, variant: int) -> bytes:
    """Return the encoded payload of one message variant.

    ``family`` is ``ascii``/``binary``/``utf8`` (exactly ``size`` bytes) or ``json``
    (about ``size`` bytes). Text families return their UTF-8 encoding.
    """
    tag = b"%08d" % variant
    if family == "ascii":
        reps = size // len(_ASCII_FILL) + 1
        return (tag + _ASCII_FILL * reps)[:size]
    if family == "binary":
        if size <= 8:
            return variant.to_bytes(8, "big")[-size:]
        return variant.to_bytes(8, "big") + _random_block(size)[8:]
    if family == "utf8":
        return tag + _utf8_body(size)[8:]
    if family == "json":
        return _json_message(variant, size)
    raise ValueError(f"unknown payload family {family!r}")


def parse_query(target: str) -> tuple[str, dict[str, str]]:
    """Split a request target like ``/recv_bin_32?count=10`` into name and parameters."""
    path, _, query = target.partition("?")
    params: dict[str, str] = {}
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            params[key] = value
    return path.lstrip("/"), params
