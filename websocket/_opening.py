"""The blocking opening handshake: socket, TLS, upgrade request, response, redirects.

Everything here runs under one deadline (the connection's timeout), so a
server that trickles its answer byte by byte cannot hold ``connect`` longer
than the timeout the user set.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ._exceptions import (
    WebSocketBadStatusException,
    WebSocketConnectionClosedException,
    WebSocketException,
    WebSocketHandshakeException,
    WebSocketProxyException,
    WebSocketTimeoutException,
)
from ._handshake import (
    MAX_HEAD_SIZE,
    HandshakeRequest,
    Response,
    build_request,
    check_upgrade,
    find_head_end,
    parse_response_head,
)
from ._headers import header_lines
from ._logging import dump
from ._options import ConnectOptions
from ._protocol import Extension
from ._socket import open_tcp, wrap_tls
from ._url import WsUrl, resolve_redirect, split_url

__all__ = ["Opened", "open_connection", "REDIRECT_STATUSES", "MAX_BODY_SIZE"]

REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
MAX_BODY_SIZE = 1024 * 1024
_CREDENTIAL_HEADERS = ("authorization", "cookie")


@dataclass
class Opened:
    """A connection whose upgrade succeeded."""

    sock: socket.socket
    url: WsUrl
    response: Response
    subprotocol: Optional[str]
    leftover: bytes
    extension: Optional[Extension]


class _Deadline:
    """Remaining time of one overall timeout (None: no limit)."""

    def __init__(self, timeout: Optional[float]) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> Optional[float]:
        if self.end is None:
            return None
        left = self.end - time.monotonic()
        if left <= 0:
            raise WebSocketTimeoutException("opening handshake timed out")
        return left


def open_connection(
    url: str,
    opts: ConnectOptions,
    timeout: Optional[float],
    extension_offer: Optional[tuple[str, Callable[[str], Extension]]] = None,
) -> Opened:
    """Connect, upgrade and follow redirects; the socket is closed on any failure."""
    if opts.http_proxy_host or opts.proxy_type:
        raise WebSocketProxyException("proxies are not supported yet by this version of wsline")
    deadline = _Deadline(timeout)
    current = url
    with_credentials = True
    for _ in range(max(opts.redirect_limit, 0) + 1):
        target = split_url(current)
        sock = _open_socket(target, opts, deadline)
        try:
            request = _build(target, opts, with_credentials, extension_offer)
            sock.settimeout(deadline.remaining())
            _send_request(sock, request)
            response, leftover = _read_head(sock, deadline)
            location = response.headers.get("Location")
            if response.status in REDIRECT_STATUSES and location:
                nxt = split_url(resolve_redirect(current, location))
                _check_redirect(target, nxt, opts)
                if (nxt.hostname, nxt.port) != (target.hostname, target.port):
                    with_credentials = False
                sock.close()
                current = resolve_redirect(current, location)
                continue
            if response.status != 101:
                raise _bad_status(response, leftover, sock, deadline)
            chosen: list[Extension] = []
            negotiate = None
            if extension_offer is not None:
                negotiate = _collector(extension_offer[1], chosen)
            subprotocol = check_upgrade(response, request, negotiate)
            sock.settimeout(timeout)
            return Opened(sock, target, response, subprotocol, leftover, chosen[0] if chosen else None)
        except BaseException:
            sock.close()
            raise
    raise WebSocketException(f"too many redirects (redirect_limit={opts.redirect_limit})")


def _collector(accept: Callable[[str], Extension], chosen: list[Extension]) -> Callable[[str], None]:
    """Wrap the extension negotiator so the accepted extension is kept."""

    def negotiate(value: str) -> None:
        chosen.append(accept(value))

    return negotiate


def _open_socket(target: WsUrl, opts: ConnectOptions, deadline: _Deadline) -> socket.socket:
    if opts.socket is not None:
        sock: socket.socket = opts.socket
        opts.socket = None  # a pre-connected socket serves one attempt only
    else:
        sock = open_tcp(target.hostname, target.port, deadline.remaining(), opts.sockopt or ())
    if target.is_secure:
        try:
            sock.settimeout(deadline.remaining())
            sock = wrap_tls(sock, target.hostname, opts.sslopt or {})
        except BaseException:
            sock.close()
            raise
    return sock


def _check_redirect(source: WsUrl, target: WsUrl, opts: ConnectOptions) -> None:
    if source.is_secure and not target.is_secure and not opts.extra.get("allow_insecure_redirect"):
        raise WebSocketHandshakeException("refusing to follow a redirect from wss:// to ws://")


def _build(
    target: WsUrl,
    opts: ConnectOptions,
    with_credentials: bool,
    extension_offer: Optional[tuple[str, Any]],
) -> HandshakeRequest:
    header = opts.header() if callable(opts.header) else opts.header
    lines = header_lines(header)
    cookie = opts.cookie
    if with_credentials:
        auth = target.basic_auth()
        if auth and not any(line.split(":", 1)[0].strip().lower() == "authorization" for line in lines):
            lines.append(f"Authorization: {auth}")
    else:
        lines = [line for line in lines if line.split(":", 1)[0].strip().lower() not in _CREDENTIAL_HEADERS]
        cookie = None
    host = None if opts.suppress_host else (opts.host or target.host_header)
    origin = None if opts.suppress_origin else (opts.origin or target.origin)
    request = build_request(
        resource=target.resource,
        host=host,
        origin=origin,
        subprotocols=opts.subprotocols,
        header_lines=lines,
        cookie=cookie,
        extensions=extension_offer[0] if extension_offer else None,
        connection=opts.connection,
    )
    return request


def _send_request(sock: socket.socket, request: HandshakeRequest) -> None:
    dump("request header", request.data.decode("utf-8", "replace"))
    try:
        sock.sendall(request.data)
    except socket.timeout as exc:
        raise WebSocketTimeoutException("sending the opening handshake timed out") from exc


def _recv(sock: socket.socket, deadline: _Deadline, size: int) -> bytes:
    sock.settimeout(deadline.remaining())
    try:
        return sock.recv(size)
    except socket.timeout as exc:
        raise WebSocketTimeoutException("opening handshake timed out") from exc


def _read_head(sock: socket.socket, deadline: _Deadline) -> tuple[Response, bytes]:
    """Read until the blank line; refuse a head over MAX_HEAD_SIZE before reading more."""
    buf = b""
    while True:
        chunk = _recv(sock, deadline, 4096)
        if not chunk:
            raise WebSocketConnectionClosedException("the server closed the connection during the opening handshake")
        scanned = len(buf)
        buf += chunk
        end = find_head_end(buf, scanned)
        if end >= 0:
            break
        if len(buf) > MAX_HEAD_SIZE:
            raise WebSocketHandshakeException(f"handshake response head is larger than {MAX_HEAD_SIZE} bytes")
    if end > MAX_HEAD_SIZE:
        raise WebSocketHandshakeException(f"handshake response head is larger than {MAX_HEAD_SIZE} bytes")
    response = parse_response_head(buf[:end])
    dump("response header", buf[:end].decode("iso-8859-1").rstrip())
    return response, buf[end:]


def _bad_status(response: Response, leftover: bytes, sock: socket.socket, deadline: _Deadline) -> WebSocketBadStatusException:
    body: Optional[bytes] = None
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit():
        want = min(int(length), MAX_BODY_SIZE)
        body = leftover[:want]
        try:
            while len(body) < want:
                chunk = _recv(sock, deadline, min(65536, want - len(body)))
                if not chunk:
                    break
                body += chunk
        except (WebSocketTimeoutException, OSError):
            pass  # the status is what matters; a body cut short is still reported
    headers = response.headers.as_compat_dict()
    message = f"Handshake status {response.status} {response.reason} -+-+- {headers} -+-+- {body!r}"
    return WebSocketBadStatusException(message, response.status, response.reason, headers, body)
