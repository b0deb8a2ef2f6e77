"""websocket-client's ``websocket._handshake`` path: the handshake record, over the pure handshake code."""

from __future__ import annotations

import base64
import os
import socket
from typing import Any, Optional

from ._exceptions import WebSocketBadStatusException, WebSocketException, WebSocketHandshakeException
from ._http import read_headers
from ._sansio.handshake import (
    MAX_HEAD_SIZE,
    MAX_HEADERS,
    HandshakeRequest,
    Response,
    accept_key,
    build_request,
    check_upgrade,
    parse_response_head,
)
from ._sansio.headers import Headers, header_lines

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


# ------------------------------------------------ websocket-client's private helpers
# Kept for code that imports them; the client itself builds and checks the
# handshake in _sansio.handshake and _net.opening.

SUCCESS_STATUSES = (101, 301, 302, 303)


def _create_sec_websocket_key() -> str:
    """A fresh random Sec-WebSocket-Key (16 bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def _get_handshake_headers(resource: str, url: str, host: str, port: int, options: dict[str, Any]) -> tuple[list[str], str]:
    """The request lines (ending with two empty strings) and the key, as websocket-client builds them."""
    from ._cookiejar import CookieJar
    from ._net.opening import _connection_value

    packed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    hostport = packed if port in (80, 443) else f"{packed}:{port}"
    scheme = url.split(":", 1)[0]
    origin = options.get("origin") or f"{'https' if scheme == 'wss' else 'http'}://{hostport}"
    header = options.get("header")
    if isinstance(header, dict):
        header = {k: v for k, v in header.items() if v is not None}
    cookie = "; ".join(c for c in (CookieJar.get(host), options.get("cookie")) if c) or None
    request = build_request(
        resource=resource,
        host=None if options.get("suppress_host") else (options.get("host") or hostport),
        origin=None if options.get("suppress_origin") else origin,
        subprotocols=options.get("subprotocols"),
        header_lines=header_lines(header),
        cookie=cookie,
        connection=_connection_value(options.get("connection")),
    )
    return request.data.decode("utf-8").split("\r\n"), request.key


def _get_resp_headers(
    sock: socket.socket, success_statuses: tuple[int, ...] = SUCCESS_STATUSES
) -> tuple[Optional[int], dict[str, str]]:
    """Read the response head; WebSocketBadStatusException (with the body) for a status outside ``success_statuses``."""
    from ._socket import recv

    status, headers, message = read_headers(sock)
    if status in success_statuses:
        return status, headers
    body: Optional[bytes] = None
    length = headers.get("content-length")
    if length:
        try:
            remaining = int(length)
        except ValueError as exc:
            raise WebSocketException(f"Invalid content-length header: {length!r}") from exc
        parts = []
        while remaining > 0:
            chunk = recv(sock, min(remaining, 16384))
            parts.append(chunk)
            remaining -= len(chunk)
        body = b"".join(parts)
    shown = body.decode("utf-8", errors="replace") if body else None
    raise WebSocketBadStatusException(
        f"Handshake status {status} {message} -+-+- {headers} -+-+- {shown}", status or 0, message or "", headers, body
    )


def _validate(headers: dict[str, str], key: str, subprotocols: Optional[list[str]]) -> tuple[bool, Optional[str]]:
    """websocket-client's check of a 101 answer's headers: (valid, subprotocol lowercased)."""
    response = Response(101, "", Headers(headers.items()), b"")
    request = HandshakeRequest(data=b"", key=key, subprotocols=list(subprotocols or []))
    try:
        return True, check_upgrade(response, request)
    except WebSocketHandshakeException:
        return False, None
