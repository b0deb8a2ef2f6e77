"""websocket-client's ``_utils`` helpers kept for scripts that import them."""

from __future__ import annotations

import threading
from typing import Union

from ._sansio.utf8 import validate_utf8 as _validate_bytes

__all__ = ["NoLock", "validate_utf8", "extract_err_message", "extract_error_code"]


def validate_utf8(data: Union[bytes, bytearray, memoryview, str]) -> bool:
    """Whether ``data`` is valid UTF-8; a str is checked as its UTF-8 encoding, as websocket-client does.

    (So a str fails only for lone surrogates.)
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    return _validate_bytes(raw)


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
