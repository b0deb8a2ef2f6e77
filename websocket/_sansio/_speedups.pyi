"""Compiled masking and frame building (optional; ``_mask`` has the pure-Python versions)."""

from typing import Union

_BytesLike = Union[bytes, bytearray, memoryview]

def apply_mask(data: _BytesLike, key: _BytesLike, /) -> bytes:
    """Return ``data`` XORed with the 4-byte ``key`` repeated; ValueError for another key length."""

def build_frame(first_byte: int, payload: _BytesLike, key: _BytesLike, /) -> bytes:
    """Return a whole masked client frame: header (mask bit set), ``key``, masked ``payload``."""
