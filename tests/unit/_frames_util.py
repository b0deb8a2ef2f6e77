"""Build server frames byte by byte for the protocol tests."""

from __future__ import annotations

from typing import Optional


def server_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: Optional[bytes] = None,
    length: Optional[int] = None,
) -> bytes:
    """A frame as a server would send it (unmasked unless ``mask`` is given)."""
    n = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes((first, mask_bit | n))
    elif n < 65536:
        head = bytes((first, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + n.to_bytes(8, "big")
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def unmask_client_frame(data: bytes) -> tuple[int, bool, bytes, bytes]:
    """Parse one masked client frame: (opcode, fin, payload, rest)."""
    first, second = data[0], data[1]
    assert second & 0x80, "client frames must be masked"
    n = second & 0x7F
    pos = 2
    if n == 126:
        n = int.from_bytes(data[2:4], "big")
        pos = 4
    elif n == 127:
        n = int.from_bytes(data[2:10], "big")
        pos = 10
    key = data[pos : pos + 4]
    pos += 4
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(data[pos : pos + n]))
    return first & 0x0F, bool(first & 0x80), payload, data[pos + n :]
