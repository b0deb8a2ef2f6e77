"""websocket-client's ``websocket._socket``: socket options, the default timeout, raw reads and writes.

The transport itself (connecting, TLS, the deadline, the head reader) lives in
:mod:`websocket._net.transport`; ``DEFAULT_SOCKET_OPTION`` is re-exported here.
"""

from __future__ import annotations

import socket
from typing import Any, Optional

from ._exceptions import WebSocketConnectionClosedException, WebSocketTimeoutException
from ._net.transport import DEFAULT_SOCKET_OPTION

__all__ = [
    "DEFAULT_SOCKET_OPTION",
    "sock_opt",
    "setdefaulttimeout",
    "getdefaulttimeout",
    "recv",
    "recv_line",
    "send",
]

# Compatibility global of websocket-client: the timeout of connections that set none.
_default_timeout: list[Optional[float]] = [None]


def setdefaulttimeout(timeout: Optional[float]) -> None:
    """Set the timeout (seconds) used by connections created without one."""
    _default_timeout[0] = timeout


def getdefaulttimeout() -> Optional[float]:
    """The timeout set by ``setdefaulttimeout`` (None: block)."""
    return _default_timeout[0]


class sock_opt:
    """websocket-client's holder of socket options, TLS options and the timeout."""

    __slots__ = ("sockopt", "sslopt", "timeout")

    def __init__(self, sockopt: Optional[list[Any]], sslopt: Optional[dict[str, Any]]) -> None:
        self.sockopt: list[Any] = list(sockopt or [])
        self.sslopt: dict[str, Any] = dict(sslopt or {})
        self.timeout: Optional[float] = None


# --------------------------------------------------- websocket-client I/O


def recv(sock: socket.socket, bufsize: int) -> bytes:
    """websocket-client's raw read: timeouts mapped, an empty read means the peer is gone."""
    if not sock:
        raise WebSocketConnectionClosedException("socket is already closed.")
    try:
        data = sock.recv(bufsize)
    except socket.timeout as exc:
        raise WebSocketTimeoutException("Connection timed out") from exc
    if not data:
        raise WebSocketConnectionClosedException("Connection to remote host was lost.")
    return data


def recv_line(sock: socket.socket) -> bytes:
    """websocket-client's line read (one byte per call; kept for compatibility only)."""
    line = []
    while True:
        c = recv(sock, 1)
        line.append(c)
        if c == b"\n":
            break
    return b"".join(line)


def send(sock: socket.socket, data: bytes | str) -> int:
    """websocket-client's raw write: str is sent as UTF-8, timeouts mapped."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not sock:
        raise WebSocketConnectionClosedException("socket is already closed.")
    try:
        return sock.send(data)
    except socket.timeout as exc:
        raise WebSocketTimeoutException("Connection timed out") from exc
