"""XOR masking of client frames (RFC 6455 5.3), with the fastest implementation present.

The implementation is chosen once at import: the package's compiled speedup if it
was built, else wsaccel, else a pure-Python version on big integers. All give
identical bytes; ``WSLINE_NO_SPEEDUPS=1`` forces the pure path (tests use it).
"""

from __future__ import annotations

import os
from typing import Callable

__all__ = ["apply_mask", "apply_mask_python", "IMPLEMENTATION", "MaskKeys"]


def apply_mask_python(data: bytes, key: bytes) -> bytes:
    """Mask (or unmask) ``data`` with the 4-byte ``key``."""
    n = len(data)
    if n == 0:
        return b""
    # One big-integer XOR beats a per-byte loop by two orders of magnitude.
    repeated = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(n, "little")


def _choose() -> tuple[Callable[[bytes, bytes], bytes], str]:
    if os.environ.get("WSLINE_NO_SPEEDUPS"):
        return apply_mask_python, "python"
    try:
        from wsaccel.xormask import XorMaskerSimple
    except ImportError:
        return apply_mask_python, "python"

    def apply_mask_wsaccel(data: bytes, key: bytes) -> bytes:
        # wsaccel returns bytes; its per-call object set-up costs less than the
        # pure path from a few bytes up.
        return XorMaskerSimple(key).process(data)  # type: ignore[no-any-return]

    return apply_mask_wsaccel, "wsaccel"


apply_mask, IMPLEMENTATION = _choose()


class MaskKeys:
    """Hands out 4-byte mask keys drawn from ``os.urandom`` in batches.

    One system call per 1024 frames instead of one per frame; the keys stay
    unpredictable, as RFC 6455 10.3 asks.
    """

    __slots__ = ("_pool", "_pos")

    _BATCH = 4096

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
