"""HTTP header handling for the opening handshake: a case-insensitive multi-dict and token lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Union

__all__ = ["Headers", "HeadersLike", "header_lines", "split_tokens", "check_header_text"]

HeadersLike = Union[Mapping[str, str], Iterable[str], None]


class Headers:
    """Response headers in arrival order, looked up case-insensitively."""

    __slots__ = ("_items", "_by_name")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = list(items)
        # Lowercased name -> values in order, built on the first lookup: checking an answer
        # asks for half a dozen names, and a scan per name would lowercase every line each time.
        self._by_name: dict[str, list[str]] | None = None

    def _index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for k, v in self._items:
            index.setdefault(k.lower(), []).append(v)
        self._by_name = index
        return index

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        values = (self._by_name or self._index()).get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        return list((self._by_name or self._index()).get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def as_compat_dict(self) -> dict[str, str]:
        """websocket-client's view: lowercased keys, last value wins, Set-Cookie values joined by '; '."""
        out: dict[str, str] = {}
        for k, v in self._items:
            key = k.lower()
            if key == "set-cookie" and key in out:
                out[key] = out[key] + "; " + v
            else:
                out[key] = v
        return out


def check_header_text(text: str, what: str) -> str:
    """Refuse CR, LF and NUL in anything that goes into the request head (header injection)."""
    if "\r" in text or "\n" in text or "\x00" in text:
        raise ValueError(f"{what} contains a CR, LF or NUL character: {text!r}")
    return text


def header_lines(headers: HeadersLike) -> list[str]:
    """Normalise websocket-client's ``header`` option (dict or list of "Name: value") to lines."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        lines = [f"{k}: {v}" for k, v in headers.items()]
    elif isinstance(headers, str):
        raise TypeError("header must be a dict or a list of 'Name: value' strings, not a str")
    else:
        lines = list(headers)
    for line in lines:
        check_header_text(line, "header")
        if ":" not in line:
            raise ValueError(f"header line without a colon: {line!r}")
    return lines


def split_tokens(value: str) -> list[str]:
    """Split a comma-separated header value into stripped, non-empty tokens."""
    return [t.strip() for t in value.split(",") if t.strip()]
