"""What ``wsdump --version`` and ``python -m websocket --version`` print: the build a user has."""

from __future__ import annotations

import platform
import sys

from .._net.options import ConnectOptions
from .._sansio import mask
from .._version import __version__

__all__ = ["version_text", "SPEEDUP_NAMES"]

SPEEDUP_NAMES = {
    "c": "compiled C extension (websocket._sansio._speedups)",
    "wsaccel": "wsaccel",
    "python": "pure Python",
}
"""How each masking implementation of ``websocket._sansio.mask`` is shown."""


def version_text() -> str:
    """The version, the Python, the masking path in use and the default compression offer."""
    available = ", ".join(impl.name for impl in mask.available_implementations())
    forced = " (WSLINE_NO_SPEEDUPS is set)" if mask.IMPLEMENTATION == "python" and available != "python" else ""
    offered = ConnectOptions().compression == "deflate"
    deflate = "offered by default" if offered else "not offered by default"
    return (
        f"wsline {__version__}\n"
        f"Python {platform.python_version()} ({platform.python_implementation()}) at {sys.executable}\n"
        f"speedups: {SPEEDUP_NAMES.get(mask.IMPLEMENTATION, mask.IMPLEMENTATION)}{forced}; present: {available}\n"
        f"permessage-deflate: {deflate} (compression=None turns it off)"
    )
