"""Compiled masking, frame building and message parsing (optional; ``mask`` and ``protocol`` have pure-Python versions)."""

from typing import Any, Union

_BytesLike = Union[bytes, bytearray, memoryview]

def apply_mask(data: _BytesLike, key: _BytesLike, /) -> bytes:
    """Return ``data`` XORed with the 4-byte ``key`` repeated; ValueError for another key length."""

def build_frame(first_byte: int, payload: _BytesLike, key: _BytesLike, /) -> bytes:
    """Return a whole masked client frame: header (mask bit set), ``key``, masked ``payload``."""

def parse_messages(
    data: bytes, pos: int, message_type: type[Any], max_size: int, validate_utf8: bool, /
) -> tuple[list[Any], int]:
    """Whole unfragmented text/binary frames from ``pos`` on as ``message_type`` objects, and the position after them."""
