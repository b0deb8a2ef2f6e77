"""The transport: TCP (and happy-eyeballs races), Unix and TLS connections, one deadline, the bounded HTTP head reader."""

from __future__ import annotations

import errno
import os
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, Optional

from .._exceptions import (
    WebSocketAddressException,
    WebSocketConnectionClosedException,
    WebSocketException,
    WebSocketHandshakeException,
    WebSocketTimeoutException,
)
from .._sansio.handshake import MAX_HEAD_SIZE, Response, check_head_start, find_head_end, parse_response_head

__all__ = [
    "DEFAULT_SOCKET_OPTION",
    "Deadline",
    "new_socket",
    "open_tcp",
    "open_unix",
    "effective_sslopt",
    "tls_context",
    "wrap_tls",
    "read_http_head",
    "recv_body",
    "set_timeout",
]

SockOpt = Sequence[Any]

DEFAULT_SOCKET_OPTION: list[tuple[int, int, int]] = [(socket.SOL_TCP, socket.TCP_NODELAY, 1)]
if hasattr(socket, "SO_KEEPALIVE"):
    DEFAULT_SOCKET_OPTION.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
for _name, _value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
    if hasattr(socket, _name):
        DEFAULT_SOCKET_OPTION.append((socket.SOL_TCP, getattr(socket, _name), _value))

class Deadline:
    """The end of one overall timeout (None: no limit), shared by every step of opening a connection."""

    def __init__(self, timeout: Optional[float]) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout

    def remaining(self, cap: Optional[float] = None) -> Optional[float]:
        """Seconds left (at most ``cap``); raises WebSocketTimeoutException once it has passed."""
        if self.end is None:
            return cap
        left = self.end - time.monotonic()
        if left <= 0:
            raise WebSocketTimeoutException("opening handshake timed out")
        return left if cap is None else min(left, cap)

    def bound(self, sock: Any) -> None:
        """Set ``sock``'s timeout to the time left (see ``set_timeout``)."""
        set_timeout(sock, self.remaining())


def set_timeout(sock: Any, timeout: Optional[float]) -> None:
    """``sock.settimeout(timeout)``, except that a socket already blocking is not set blocking again.

    Each ``settimeout`` is a system call, and without a limit every step of a connect would
    set None again.
    """
    if timeout is not None or sock.gettimeout() is not None:
        sock.settimeout(timeout)


# (addresses, monotonic end or None, socket options, "host:port") -> the connected socket.
Racer = Callable[[list[Any], Optional[float], list[Any], str], socket.socket]
_RETRY_NEXT_ADDRESS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def new_socket(family: int, kind: int, proto: int = 0) -> socket.socket:
    """``socket.socket``; out of descriptors, the OSError (errno kept) says which limit to raise."""
    try:
        return socket.socket(family, kind, proto)
    except OSError as exc:
        if exc.errno not in (errno.EMFILE, errno.ENFILE):
            raise
        limit = _nofile_limit()
        which = "the system's file table is full" if exc.errno == errno.ENFILE else f"the process's limit{limit} is reached"
        raise OSError(
            exc.errno,
            f"{exc.strerror}: no descriptor for a new connection ({which}); every connection needs one: "
            "raise RLIMIT_NOFILE (`ulimit -n`, or resource.setrlimit in the program)",
        ) from exc


def _nofile_limit() -> str:
    try:
        import resource  # not on Windows
    except ImportError:
        return ""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return f", RLIMIT_NOFILE {soft} (hard limit {hard}),"


def open_tcp(
    host: str, port: int, timeout: Optional[float], sockopt: SockOpt = (), race: Optional[Racer] = None
) -> socket.socket:
    """Connect to the first address of ``host`` that accepts, within ``timeout`` overall.

    The default socket options are set first, then the user's ``sockopt``.
    With ``race`` (``_net.dial.racer``) and several addresses, the attempts
    race (happy eyeballs); without it they run one after the other.
    """
    deadline = Deadline(timeout)
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise WebSocketAddressException(f"cannot resolve {host!r}: {exc}") from exc
    if race is not None and len(infos) > 1:
        return race(infos, deadline.end, [*DEFAULT_SOCKET_OPTION, *sockopt], f"{host}:{port}")
    last: Optional[OSError] = None
    for family, kind, proto, _, address in infos:
        sock = new_socket(family, kind, proto)
        try:
            deadline.bound(sock)
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
        except BaseException:
            sock.close()
            raise
    if last is None:
        raise WebSocketAddressException(f"cannot resolve {host!r}: no address")
    raise last


def open_unix(path: str, timeout: Optional[float], sockopt: SockOpt = ()) -> socket.socket:
    """Connect to a Unix domain socket; the user's ``sockopt`` are applied (the TCP defaults are not)."""
    family = getattr(socket, "AF_UNIX", None)
    if family is None:
        raise WebSocketException("Unix domain sockets are not available on this platform")
    sock = new_socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        for opt in sockopt:
            sock.setsockopt(*opt)
        sock.connect(path)
    except socket.timeout as exc:
        sock.close()
        raise WebSocketTimeoutException(f"connecting to the Unix socket {path!r} timed out") from exc
    except OSError as exc:
        sock.close()
        if exc.errno is None:
            raise
        # Same class and errno, with the path in the message.
        raise type(exc)(exc.errno, exc.strerror, path) from exc
    except BaseException:
        sock.close()
        raise
    return sock


# ------------------------------------------------------------------ TLS


def effective_sslopt(sslopt: dict[str, Any]) -> dict[str, Any]:
    """``sslopt`` with websocket-client's defaults and WEBSOCKET_CLIENT_CA_BUNDLE applied."""
    merged: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED, **sslopt}
    bundle = os.environ.get("WEBSOCKET_CLIENT_CA_BUNDLE")
    if bundle:
        if os.path.isfile(bundle) and sslopt.get("ca_certs") is None:
            merged["ca_certs"] = bundle
        elif os.path.isdir(bundle) and sslopt.get("ca_cert_path") is None:
            merged["ca_cert_path"] = bundle
    return merged


def tls_context(sslopt: dict[str, Any]) -> ssl.SSLContext:
    """The SSLContext ``sslopt`` describes: a given ``context`` as is, else one built from the keys.

    Certificate verification and the hostname check are on unless
    ``cert_reqs=ssl.CERT_NONE`` turns them off; asking for a hostname check
    without verification is an error, as in websocket-client.
    """
    given = sslopt.get("context")
    if given is not None:
        if not isinstance(given, ssl.SSLContext):
            raise TypeError(f"sslopt['context'] must be an ssl.SSLContext, not {type(given).__name__}")
        return given
    opts = effective_sslopt(sslopt)
    protocol = opts.get("ssl_version", opts.get("protocol", ssl.PROTOCOL_TLS_CLIENT))
    context = ssl.SSLContext(protocol)
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog:
        context.keylog_filename = keylog
    _set_verification(context, opts)
    _set_client_cert(context, opts)
    _set_tuning(context, opts)
    return context


def _set_verification(context: ssl.SSLContext, opts: dict[str, Any]) -> None:
    cert_reqs = opts["cert_reqs"]
    check_hostname = bool(opts.get("check_hostname", cert_reqs != ssl.CERT_NONE))
    if cert_reqs == ssl.CERT_NONE and check_hostname:
        raise WebSocketException(
            "SSL certificate verification configuration failed: "
            "check_hostname cannot be enabled when cert_reqs is CERT_NONE"
        )
    if cert_reqs != ssl.CERT_NONE:
        cafile, capath = opts.get("ca_certs"), opts.get("ca_cert_path")
        try:
            if cafile or capath:
                context.load_verify_locations(cafile=cafile, capath=capath)
            else:
                context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise WebSocketException(f"SSL CA certificate loading failed: {exc}") from exc
    # check_hostname must go off before verify_mode may become CERT_NONE.
    context.check_hostname = False
    context.verify_mode = cert_reqs
    context.check_hostname = check_hostname


def _set_client_cert(context: ssl.SSLContext, opts: dict[str, Any]) -> None:
    chain = opts.get("cert_chain")
    if chain is not None:
        if not isinstance(chain, (tuple, list)) or len(chain) != 3:
            raise ValueError("sslopt['cert_chain'] must be a (certfile, keyfile, password) tuple")
        certfile, keyfile, password = chain
    else:
        certfile, keyfile, password = opts.get("certfile"), opts.get("keyfile"), opts.get("password")
    if not certfile:
        return
    try:
        context.load_cert_chain(certfile, keyfile, password)
    except (OSError, ValueError) as exc:
        raise WebSocketException(f"SSL client certificate loading failed: {exc}") from exc


def _set_tuning(context: ssl.SSLContext, opts: dict[str, Any]) -> None:
    try:
        if opts.get("ciphers"):
            context.set_ciphers(opts["ciphers"])
        if opts.get("ecdh_curve"):
            context.set_ecdh_curve(opts["ecdh_curve"])
    except (ssl.SSLError, ValueError) as exc:
        raise WebSocketException(f"SSL cipher or curve configuration failed: {exc}") from exc


def wrap_tls(sock: socket.socket, hostname: str, sslopt: dict[str, Any]) -> ssl.SSLSocket:
    """Run the TLS handshake on ``sock`` with websocket-client's ``sslopt`` keys.

    SNI and the hostname check use ``sslopt['server_hostname']`` when given,
    else the URL's host.
    """
    context = tls_context(sslopt)
    server_hostname = sslopt.get("server_hostname") or hostname
    try:
        return context.wrap_socket(
            sock,
            server_hostname=server_hostname,
            do_handshake_on_connect=sslopt.get("do_handshake_on_connect", True),
            suppress_ragged_eofs=sslopt.get("suppress_ragged_eofs", True),
        )
    except socket.timeout as exc:
        raise WebSocketTimeoutException("TLS handshake timed out") from exc


# ------------------------------------------------------------ HTTP head


def _recv_some(sock: socket.socket, deadline: Deadline, size: int, what: str, flags: int = 0) -> bytes:
    deadline.bound(sock)
    try:
        return sock.recv(size, flags) if flags else sock.recv(size)
    except socket.timeout as exc:
        raise WebSocketTimeoutException(f"{what} timed out") from exc


def _take(sock: socket.socket, size: int) -> None:
    """Consume ``size`` bytes that a peek has shown are there."""
    while size > 0:
        got = len(sock.recv(size))
        if not got:
            return
        size -= got


def read_http_head(
    sock: socket.socket, deadline: Deadline, what: str = "opening handshake", exact: bool = True
) -> tuple[Response, bytes]:
    """Read and parse an HTTP response head; returns it and the bytes read past it.

    The head is refused once it passes MAX_HEAD_SIZE, before more is read,
    and every read runs under ``deadline``. With ``exact`` (over plain TCP)
    nothing past the head is read: the bytes returned are empty. An answer
    that is not HTTP/1.x is refused on its first bytes, not waited on until
    the deadline.
    """
    buf = b""
    status_checked = False
    # Over plain TCP the head is peeked, then taken exactly: frames sent right behind
    # the 101 stay in the kernel, where a caller that waits on the socket sees them.
    # Only on a real socket: an object given in socket= (a tunnel's channel) may take no flags.
    real = isinstance(sock, socket.socket) and not isinstance(sock, ssl.SSLSocket)
    peek = socket.MSG_PEEK if exact and real and hasattr(socket, "MSG_PEEK") else 0
    while True:
        chunk = _recv_some(sock, deadline, 4096, what, peek)
        if not chunk:
            raise WebSocketConnectionClosedException(f"the connection was closed during the {what}")
        scanned = len(buf)
        buf += chunk
        if not status_checked:
            status_checked = check_head_start(buf)
        end = find_head_end(buf, scanned)
        if peek:
            _take(sock, len(chunk) if end < 0 else end - scanned)
        if end >= 0:
            break
        if len(buf) > MAX_HEAD_SIZE:
            raise WebSocketHandshakeException(f"{what}: response head is larger than {MAX_HEAD_SIZE} bytes")
    if end > MAX_HEAD_SIZE:
        raise WebSocketHandshakeException(f"{what}: response head is larger than {MAX_HEAD_SIZE} bytes")
    return parse_response_head(buf[:end]), b"" if peek else buf[end:]


def recv_body(sock: socket.socket, deadline: Deadline, have: bytes, want: int) -> bytes:
    """Read up to ``want`` body bytes (``have`` already read); a cut-short body is returned as is."""
    body = have[:want]
    try:
        while len(body) < want:
            chunk = _recv_some(sock, deadline, min(65536, want - len(body)), "reading the response body")
            if not chunk:
                break
            body += chunk
    except (WebSocketTimeoutException, OSError):
        pass  # the status is what matters; the body is informative only
    return body
