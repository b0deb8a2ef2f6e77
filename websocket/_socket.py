"""Blocking TCP and TLS connections, socket options and timeouts."""

from __future__ import annotations

import errno
import os
import socket
import ssl
from collections.abc import Sequence
from typing import Any, Optional

from ._exceptions import WebSocketAddressException, WebSocketConnectionClosedException, WebSocketTimeoutException

__all__ = [
    "DEFAULT_SOCKET_OPTION",
    "sock_opt",
    "setdefaulttimeout",
    "getdefaulttimeout",
    "open_tcp",
    "wrap_tls",
    "recv",
    "recv_line",
    "send",
]

SockOpt = Sequence[Any]

DEFAULT_SOCKET_OPTION: list[tuple[int, int, int]] = [(socket.SOL_TCP, socket.TCP_NODELAY, 1)]
if hasattr(socket, "SO_KEEPALIVE"):
    DEFAULT_SOCKET_OPTION.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
for _name, _value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
    if hasattr(socket, _name):
        DEFAULT_SOCKET_OPTION.append((socket.SOL_TCP, getattr(socket, _name), _value))

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

    def __init__(self, sockopt: Optional[list[Any]], sslopt: Optional[dict[str, Any]]) -> None:
        self.sockopt: list[Any] = list(sockopt or [])
        self.sslopt: dict[str, Any] = dict(sslopt or {})
        self.timeout: Optional[float] = None


_RETRY_NEXT_ADDRESS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def open_tcp(host: str, port: int, timeout: Optional[float], sockopt: SockOpt = ()) -> socket.socket:
    """Connect to the first address of ``host`` that accepts, with the default and user socket options."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise WebSocketAddressException(f"cannot resolve {host!r}: {exc}") from exc
    last: Optional[OSError] = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            for opt in DEFAULT_SOCKET_OPTION:
                sock.setsockopt(*opt)
            for opt in sockopt:
                sock.setsockopt(*opt)
            sock.connect(address)
            return sock
        except socket.timeout as exc:
            sock.close()
            raise WebSocketTimeoutException(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            sock.close()
            if exc.errno not in _RETRY_NEXT_ADDRESS:
                raise
            last = exc
    assert last is not None, "getaddrinfo returned no address"
    raise last


def _tls_context(sslopt: dict[str, Any]) -> ssl.SSLContext:
    ctx = sslopt.get("context")
    if isinstance(ctx, ssl.SSLContext):
        return ctx
    protocol = sslopt.get("ssl_version", ssl.PROTOCOL_TLS_CLIENT)
    context = ssl.SSLContext(protocol)
    cert_reqs = sslopt.get("cert_reqs", ssl.CERT_REQUIRED)
    check_hostname = sslopt.get("check_hostname", cert_reqs != ssl.CERT_NONE)
    context.check_hostname = False
    context.verify_mode = cert_reqs
    ca_certs = sslopt.get("ca_certs")
    ca_cert_path = sslopt.get("ca_cert_path")
    bundle = os.environ.get("WEBSOCKET_CLIENT_CA_BUNDLE")
    if bundle and not ca_certs and not ca_cert_path:
        if os.path.isdir(bundle):
            ca_cert_path = bundle
        else:
            ca_certs = bundle
    if cert_reqs != ssl.CERT_NONE:
        if ca_certs or ca_cert_path:
            context.load_verify_locations(cafile=ca_certs, capath=ca_cert_path)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = bool(check_hostname)
    certfile = sslopt.get("certfile")
    cert_chain = sslopt.get("cert_chain")
    if cert_chain:
        certfile, keyfile, password = cert_chain
    else:
        keyfile, password = sslopt.get("keyfile"), sslopt.get("password")
    if certfile:
        context.load_cert_chain(certfile, keyfile, password)
    if sslopt.get("ciphers"):
        context.set_ciphers(sslopt["ciphers"])
    if sslopt.get("ecdh_curve"):
        context.set_ecdh_curve(sslopt["ecdh_curve"])
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog:
        context.keylog_filename = keylog
    return context


def wrap_tls(sock: socket.socket, hostname: str, sslopt: dict[str, Any]) -> ssl.SSLSocket:
    """Run the TLS handshake on ``sock`` with websocket-client's ``sslopt`` keys."""
    context = _tls_context(sslopt)
    server_hostname = sslopt.get("server_hostname", hostname)
    try:
        return context.wrap_socket(
            sock,
            server_hostname=server_hostname,
            do_handshake_on_connect=sslopt.get("do_handshake_on_connect", True),
            suppress_ragged_eofs=sslopt.get("suppress_ragged_eofs", True),
        )
    except socket.timeout as exc:
        raise WebSocketTimeoutException("TLS handshake timed out") from exc


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
