"""websocket-client's ``_http`` names (``proxy_info``, ``connect``, ``read_headers``) for scripts that import them.

Thin: the work is done by ``_opening``, ``_proxy``, ``_socket`` and ``_url``.
"""

from __future__ import annotations

import importlib.util
import socket
from typing import Any, Optional

from ._exceptions import WebSocketException, WebSocketProxyException
from ._logging import trace
from ._net.opening import open_transport
from ._net.options import ConnectOptions
from ._net.transport import Deadline
from ._sansio.handshake import MAX_HEAD_SIZE
from ._socket import recv
from ._url import PROXY_TYPES, split_url

__all__ = ["proxy_info", "connect", "read_headers"]

# Whether SOCKS proxies can be used; found without importing python-socks.
HAVE_PYTHON_SOCKS = importlib.util.find_spec("python_socks") is not None


class proxy_info:
    """websocket-client's bundle of the proxy options of ``connect``."""

    def __init__(self, **options: Any) -> None:
        self.proxy_host: Optional[str] = options.get("http_proxy_host")
        self.proxy_port: Any = 0
        self.auth: Optional[tuple[str, str]] = None
        self.no_proxy: Optional[list[str]] = None
        self.proxy_protocol: str = "http"
        self.proxy_timeout: Optional[float] = None
        self.proxy_sslopt: Optional[dict[str, Any]] = options.get("http_proxy_sslopt")
        if self.proxy_host:
            self.proxy_port = options.get("http_proxy_port", 0)
            self.auth = options.get("http_proxy_auth")
            self.no_proxy = options.get("http_no_proxy")
            self.proxy_protocol = options.get("proxy_type") or "http"
            self.proxy_timeout = options.get("http_proxy_timeout")
            if self.proxy_protocol not in PROXY_TYPES:
                raise WebSocketProxyException("Only http, socks4, socks5 proxy protocols are supported")

    def __repr__(self) -> str:  # never shows the credentials
        return (
            f"proxy_info(proxy_host={self.proxy_host!r}, proxy_port={self.proxy_port!r},"
            f" proxy_protocol={self.proxy_protocol!r})"
        )


def connect(url: str, options: Any, proxy: proxy_info, socket: Any) -> tuple[Any, tuple[str, int, str]]:
    """Open the transport for ``url`` (TCP, proxy, TLS) as websocket-client's ``_http.connect`` does.

    ``options`` is a ``sock_opt`` (sockopt, sslopt, timeout); returns
    ``(sock, (hostname, port, resource))``.
    """
    target = split_url(url)
    opts = ConnectOptions(
        sockopt=list(getattr(options, "sockopt", []) or []),
        sslopt=dict(getattr(options, "sslopt", {}) or {}),
        socket=socket,
        http_proxy_host=proxy.proxy_host,
        http_proxy_port=proxy.proxy_port,
        http_proxy_auth=proxy.auth,
        http_no_proxy=proxy.no_proxy,
        http_proxy_timeout=proxy.proxy_timeout,
        proxy_type=proxy.proxy_protocol,
        http_proxy_sslopt=getattr(proxy, "proxy_sslopt", None),
    )
    sock = open_transport(target, opts, Deadline(getattr(options, "timeout", None)))
    sock.settimeout(getattr(options, "timeout", None))
    return sock, (target.hostname, target.port, target.resource)


def read_headers(sock: socket.socket) -> tuple[Optional[int], dict[str, str], Optional[str]]:
    """Read an HTTP response head: (status, headers with lowercased names, status message).

    Reads one byte at a time, as websocket-client does, so nothing after the
    head is consumed; unlike it, the head is bounded to MAX_HEAD_SIZE bytes.
    """
    status: Optional[int] = None
    message: Optional[str] = None
    headers: dict[str, str] = {}
    size = 0
    while True:
        raw = _read_line(sock, MAX_HEAD_SIZE - size)
        size += len(raw)
        line = _decode(raw).strip()
        if not line:
            return status, headers, message
        trace(line)
        if status is None:
            status, message = _status(line)
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise WebSocketException("Invalid header")
        key, value = name.strip().lower(), value.strip()
        headers[key] = f"{headers[key]}; {value}" if key == "set-cookie" and key in headers else value


def _read_line(sock: socket.socket, limit: int) -> bytes:
    line = bytearray()
    while not line.endswith(b"\n"):
        if len(line) >= limit:
            raise WebSocketException(f"response head is larger than {MAX_HEAD_SIZE} bytes")
        line += recv(sock, 1)
    return bytes(line)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebSocketException(f"Invalid header line, not valid UTF-8 at byte {exc.start}: {raw!r}") from exc


def _status(line: str) -> tuple[int, Optional[str]]:
    parts = line.split(" ", 2)
    try:
        return int(parts[1]), (parts[2] if len(parts) > 2 else None)
    except (IndexError, ValueError) as exc:
        raise WebSocketException(f"Invalid status line: {line!r}") from exc
