"""XOR masking of client frames (RFC 6455 5.3), with the fastest implementation present.

The implementation is chosen once at import: the package's compiled speedup
(``websocket._sansio._speedups``) if it was built, else wsaccel, else pure Python on big
integers. All give identical bytes and raise the same exception types;
``WSLINE_NO_SPEEDUPS=1`` forces the pure path.
"""

from __future__ import annotations

import os
from typing import Callable, NamedTuple, Union

from .frames import encode_header

__all__ = [
    "apply_mask",
    "build_frame",
    "apply_mask_python",
    "build_frame_python",
    "IMPLEMENTATION",
    "Implementation",
    "available_implementations",
    "MaskKeys",
]

BytesLike = Union[bytes, bytearray, memoryview]


# The pure path masks big payloads in pieces of this size: big-integer work that
# stays in the CPU cache runs about 2.5 times faster than one pass over megabytes.
_CHUNK = 1 << 14


def apply_mask_python(data: BytesLike, key: BytesLike) -> bytes:
    """Mask (or unmask) ``data`` with the 4-byte ``key``; ValueError for another key length."""
    key = _key_bytes(key)
    data = _octets(data)
    n = len(data)
    if n <= _CHUNK:
        return _xor(data, key, n)
    return b"".join(_xor_chunks(data, key, n))


def build_frame_python(first_byte: int, payload: BytesLike, key: BytesLike) -> bytes:
    """Return a whole masked client frame: header (mask bit set), ``key``, masked ``payload``."""
    if not 0 <= first_byte <= 255:
        raise ValueError(f"first byte must be in range(256), got {first_byte}")
    key = _key_bytes(key)
    payload = _octets(payload)
    n = len(payload)
    head = encode_header(first_byte, n, True) + key
    if n <= _CHUNK:
        return head + _xor(payload, key, n)
    # One join: the masked payload is copied once, into the frame.
    return b"".join([head, *_xor_chunks(payload, key, n)])


def _xor(data: BytesLike, key: bytes, n: int) -> bytes:
    # One big-integer XOR beats a per-byte loop by two orders of magnitude.
    if n == 0:
        return b""
    repeated = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(n, "little")


def _xor_chunks(data: BytesLike, key: bytes, n: int) -> list[bytes]:
    """The masked pieces of ``data``: whole chunks with one shared key integer, then the tail."""
    whole = n - n % _CHUNK  # chunks start at multiples of 4, so the key stays in step
    key_int = int.from_bytes(key * (_CHUNK >> 2), "little")
    from_bytes = int.from_bytes
    pieces = [(from_bytes(data[i : i + _CHUNK], "little") ^ key_int).to_bytes(_CHUNK, "little") for i in range(0, whole, _CHUNK)]
    if whole < n:
        pieces.append(_xor(data[whole:], key, n - whole))
    return pieces


def _octets(data: BytesLike) -> BytesLike:
    """``data`` as bytes or a contiguous byte-format view, so len() counts bytes and slices don't copy.

    Refuses (TypeError) what is not bytes-like; copies only a non-contiguous view.
    """
    if type(data) is bytes:
        return data
    view = memoryview(data)
    return view.cast("B") if view.c_contiguous else view.tobytes()


def _key_bytes(key: BytesLike) -> bytes:
    if type(key) is not bytes:
        key = memoryview(key).tobytes()
    if len(key) != 4:
        raise ValueError(f"mask key must be 4 bytes, got {len(key)}")
    return key


class Implementation(NamedTuple):
    """One way to mask: a name and its two functions."""

    name: str
    apply_mask: Callable[[BytesLike, BytesLike], bytes]
    build_frame: Callable[[int, BytesLike, BytesLike], bytes]


def _compiled() -> Implementation | None:
    try:
        from . import _speedups
    except ImportError:
        return None
    return Implementation("c", _speedups.apply_mask, _speedups.build_frame)


def _wsaccel() -> Implementation | None:
    try:
        from wsaccel.xormask import XorMaskerSimple
    except ImportError:
        return None

    # wsaccel takes None for b"" and refuses views of wider items, so inputs go
    # through the same _octets/_key_bytes as the pure path (plain bytes skip them).

    def apply_mask_wsaccel(data: BytesLike, key: BytesLike) -> bytes:
        if type(key) is not bytes:
            key = _key_bytes(key)
        if type(data) is not bytes:
            data = _octets(data)
        if not data:
            return b""  # cheaper than wsaccel's per-call set-up
        return XorMaskerSimple(key).process(data)  # type: ignore[no-any-return]

    def build_frame_wsaccel(first_byte: int, payload: BytesLike, key: BytesLike) -> bytes:
        if not 0 <= first_byte <= 255:
            raise ValueError(f"first byte must be in range(256), got {first_byte}")
        if type(key) is not bytes:
            key = _key_bytes(key)
        if type(payload) is not bytes:
            payload = _octets(payload)
        n = len(payload)
        head = encode_header(first_byte, n, True) + key
        if n <= _CHUNK:
            return head + apply_mask_wsaccel(payload, key)
        # As in the pure path, pieces that stay in cache, then one copy by the join;
        # wsaccel's masker carries its key position from one piece to the next.
        masker = XorMaskerSimple(key)
        view = memoryview(payload)
        return b"".join([head, *[masker.process(view[i : i + _CHUNK]) for i in range(0, n, _CHUNK)]])

    return Implementation("wsaccel", apply_mask_wsaccel, build_frame_wsaccel)


_PYTHON = Implementation("python", apply_mask_python, build_frame_python)


def available_implementations() -> list[Implementation]:
    """Every implementation importable here, fastest first (pure Python is always last)."""
    found = [_compiled(), _wsaccel()]
    return [impl for impl in found if impl is not None] + [_PYTHON]


def _choose() -> Implementation:
    if os.environ.get("WSLINE_NO_SPEEDUPS"):
        return _PYTHON
    return available_implementations()[0]


_chosen = _choose()
apply_mask = _chosen.apply_mask
build_frame = _chosen.build_frame
IMPLEMENTATION = _chosen.name


class MaskKeys:
    """Hands out 4-byte mask keys drawn from ``os.urandom`` in batches.

    One system call per 128 frames instead of one per frame (and a pool small
    enough for thousands of idle connections); the keys stay unpredictable,
    as RFC 6455 10.3 asks.
    """

    __slots__ = ("_pool", "_pos")

    _BATCH = 512

    def __init__(self) -> None:
        self._pool = b""
        self._pos = 0

    def __call__(self, n: int = 4) -> bytes:
        pos = self._pos
        if pos + n > len(self._pool):
            self._pool = os.urandom(max(self._BATCH, n))
            pos = 0
        self._pos = pos + n
        return self._pool[pos : pos + n]
