"""websocket-client's ``_utils`` helpers kept for scripts that import them."""

from __future__ import annotations

import threading

from ._sansio.utf8 import validate_utf8

__all__ = ["NoLock", "validate_utf8", "extract_err_message", "extract_error_code"]


class NoLock:
    """A lock that does nothing (websocket-client's ``enable_multithread=False``)."""

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        pass


def extract_err_message(exception: BaseException) -> str | None:
    """The first argument of an exception, if it has one."""
    return str(exception.args[0]) if exception.args else None


def extract_error_code(exception: BaseException) -> int | None:
    """The first argument of an exception when it is an int (an errno)."""
    if exception.args and isinstance(exception.args[0], int):
        return exception.args[0]
    return None


Lock = threading.Lock
