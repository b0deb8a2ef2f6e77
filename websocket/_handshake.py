"""websocket-client's ``websocket._handshake`` path: the handshake record, over the pure handshake code."""

from __future__ import annotations

from typing import Optional

from ._sansio.handshake import MAX_HEAD_SIZE, MAX_HEADERS, accept_key, parse_response_head

__all__ = ["handshake_response", "MAX_HEAD_SIZE", "MAX_HEADERS", "accept_key"]


class handshake_response:
    """websocket-client's record of a completed handshake."""

    # Slots, and the head kept as bytes until someone asks for the headers: an idle
    # connection's handshake record was a quarter of its memory.
    __slots__ = ("_head", "_headers", "status", "subprotocol")

    def __init__(self, status: int, headers: Optional[dict[str, str]], subprotocol: Optional[str]) -> None:
        self.status = status
        self._headers = headers
        self._head = b""
        self.subprotocol = subprotocol

    @classmethod
    def from_head(cls, status: int, head: bytes, subprotocol: Optional[str]) -> handshake_response:
        """The record of a response whose head ``head`` was already validated."""
        record = cls(status, None, subprotocol)
        record._head = head
        return record

    @property
    def headers(self) -> dict[str, str]:
        """The response headers, as websocket-client gives them (lowercased names)."""
        if self._headers is None:
            self._headers = parse_response_head(self._head).headers.as_compat_dict()
            self._head = b""
        return self._headers

    @headers.setter
    def headers(self, value: dict[str, str]) -> None:
        self._headers = value
