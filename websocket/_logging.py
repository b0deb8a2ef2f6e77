"""The ``websocket`` logger and websocket-client's trace switch (``enableTrace``)."""

from __future__ import annotations

import logging
from typing import Optional

__all__ = [
    "enableTrace",
    "dump",
    "error",
    "warning",
    "debug",
    "info",
    "trace",
    "isEnabledForError",
    "isEnabledForDebug",
    "isEnabledForTrace",
]

_logger = logging.getLogger("websocket")
_logger.addHandler(logging.NullHandler())


class _TraceState:
    """websocket-client keeps the trace switch at module level; so does this compatibility layer."""

    def __init__(self) -> None:
        self.on = False
        self.handler: Optional[logging.Handler] = None
        self.level_before = logging.NOTSET


_trace = _TraceState()


def enableTrace(traceable: bool, handler: Optional[logging.Handler] = None, level: str = "DEBUG") -> None:
    """Turn frame and handshake tracing on or off (to stderr, or ``handler``)."""
    if _trace.handler is not None:
        _logger.removeHandler(_trace.handler)
        _trace.handler = None
        _logger.setLevel(_trace.level_before)
    _trace.on = bool(traceable)
    if traceable:
        _trace.handler = handler if handler is not None else logging.StreamHandler()
        _logger.addHandler(_trace.handler)
        _trace.level_before = _logger.level
        _logger.setLevel(getattr(logging, level) if isinstance(level, str) else level)


def isEnabledForTrace() -> bool:
    """Whether ``enableTrace(True)`` is in force."""
    return bool(_trace.on)


def isEnabledForError() -> bool:
    """Whether the logger passes ERROR records."""
    return _logger.isEnabledFor(logging.ERROR)


def isEnabledForDebug() -> bool:
    """Whether the logger passes DEBUG records."""
    return _logger.isEnabledFor(logging.DEBUG)


def dump(title: str, message: str) -> None:
    """Log a ``--- title ---`` block when tracing."""
    if _trace.on:
        _logger.debug(f"--- {title} ---")
        _logger.debug(message)
        _logger.debug("-----------------------")


def error(msg: str) -> None:
    """Log at ERROR."""
    _logger.error(msg)


def warning(msg: str) -> None:
    """Log at WARNING."""
    _logger.warning(msg)


def debug(msg: str) -> None:
    """Log at DEBUG."""
    _logger.debug(msg)


def info(msg: str) -> None:
    """Log at INFO."""
    _logger.info(msg)


def trace(msg: str) -> None:
    """Log at DEBUG, only when tracing."""
    if _trace.on:
        _logger.debug(msg)
