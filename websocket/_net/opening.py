"""The blocking opening handshake: transport (TCP, Unix socket, proxy, TLS), upgrade request, answer, redirects.

Everything here runs under one deadline (the connection's timeout), so a
server or proxy that trickles its answer byte by byte cannot hold ``connect``
longer than the timeout the user set. The request is built, and so checked
for header injection, before any connection is opened.

Redirects (301, 302, 303, 307, 308) are followed up to ``redirect_limit``
(default 3) to absolute or relative ws://, wss:// and ws+unix:// targets.
Beyond websocket-client: URL credentials become Basic auth; a redirect to
another origin (host or port) or from wss:// to ws:// carries no
Authorization header, ``cookie`` option, Cookie header or URL credentials
along; and a wss:// -> ws:// redirect is refused unless
``allow_insecure_redirect=True``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional, cast

from .._cookiejar import CookieJar, SimpleCookieJar
from .._exceptions import WebSocketBadStatusException, WebSocketException, WebSocketTimeoutException
from .._logging import _trace, dump
from .._sansio.deflate import DeflateOffer
from .._sansio.handshake import HandshakeRequest, Response, build_request, check_upgrade
from .._sansio.headers import HeadersLike, header_lines
from .._sansio.protocol import Extension
from .._url import WsUrl, resolve_redirect, select_proxy, split_url
from .dial import racer
from .options import UNSET, ConnectOptions
from .proxy import open_via_proxy
from .tls_tunnel import wrap_tls_in_tls
from .transport import Deadline, open_tcp, open_unix, read_http_head, recv_body, set_timeout, tls_context, wrap_tls

__all__ = ["Opened", "open_connection", "open_transport", "REDIRECT_STATUSES", "MAX_BODY_SIZE"]

REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
MAX_BODY_SIZE = 1024 * 1024
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")
_REDACTED_HEADERS = ("authorization", "proxy-authorization")


@dataclass
class Opened:
    """A connection whose upgrade succeeded."""

    sock: socket.socket
    url: WsUrl
    response: Response
    subprotocol: Optional[str]
    leftover: bytes
    extension: Optional[Extension]


@dataclass
class _Hop:
    """Where the next attempt goes, and whether the first URL's credentials still travel with it."""

    url: str
    target: WsUrl
    credentials: bool
    first_auth: Optional[str]


def open_connection(
    url: str,
    opts: ConnectOptions,
    timeout: Optional[float],
    extension_offer: Optional[DeflateOffer] = None,
) -> Opened:
    """Connect, upgrade and follow redirects; the socket is closed on any failure."""
    deadline = Deadline(timeout)
    target = split_url(url)
    hop = _Hop(url, target, True, target.basic_auth())
    jar = _jar(opts)
    redirects = 0
    while True:
        request = _build(hop, opts, jar, extension_offer)
        sock = open_transport(hop.target, opts, deadline)
        try:
            _send_request(sock, request, deadline)
            response, leftover = read_http_head(sock, deadline)
            if _trace.on:
                dump("response header", response.raw.decode("iso-8859-1").rstrip())
            if response.status in REDIRECT_STATUSES or response.status == 101:
                _remember_cookies(jar, response, hop.target)  # as websocket-client: not from error answers
            if response.status in REDIRECT_STATUSES:
                if redirects >= max(opts.redirect_limit, 0):
                    raise WebSocketException(f"Redirect limit exhausted ({redirects} redirects followed)")
                hop = _next_hop(hop, response, opts)
                redirects += 1
                sock.close()
                continue
            if response.status != 101:
                raise _bad_status(response, leftover, sock, deadline)
            chosen: list[Extension] = []
            negotiate = None if extension_offer is None else _collector(extension_offer, request, chosen)
            subprotocol = check_upgrade(response, request, negotiate)
            set_timeout(sock, timeout)
            return Opened(sock, hop.target, response, subprotocol, leftover, chosen[0] if chosen else None)
        except BaseException:
            sock.close()
            raise


def _collector(offer: DeflateOffer, request: HandshakeRequest, chosen: list[Extension]) -> Callable[[str], None]:
    """Accept the server's answer against what the request really offered, and keep the extension."""

    def negotiate(value: str) -> None:
        chosen.append(offer.accept(value, request.extensions_offered))

    return negotiate


# --------------------------------------------------------------- transport


def open_transport(target: WsUrl, opts: ConnectOptions, deadline: Deadline) -> socket.socket:
    """A connected socket to ``target`` (given socket, Unix socket, proxy or TCP), with TLS for wss://.

    A socket passed in ``socket=`` serves one attempt only and gets TLS for
    wss:// unless it already is an SSLSocket (websocket-client would speak
    plain text to a wss:// URL there).
    """
    sockopt = opts.sockopt or ()
    unix_path = target.unix_path or opts.unix_socket
    given = opts.socket is not None
    if opts.socket is not None:
        sock: socket.socket = opts.socket
        opts.socket = None
    elif unix_path is not None:
        if opts.http_proxy_host:
            raise ValueError("a proxy cannot be used to reach a Unix domain socket")
        sock = open_unix(unix_path, deadline.remaining(), sockopt)
    else:
        proxy = select_proxy(
            target.hostname,
            target.is_secure,
            opts.http_proxy_host,
            opts.http_proxy_port,
            opts.http_proxy_auth,
            opts.http_no_proxy,
            opts.proxy_type,
            opts.http_proxy_timeout,
            target.port,
        )
        delay = opts.happy_eyeballs_delay
        if proxy is None:
            sock = open_tcp(target.hostname, target.port, deadline.remaining(), sockopt, racer(delay))
        else:
            sock = open_via_proxy(proxy, target.hostname, target.port, deadline, sockopt, opts.http_proxy_sslopt, delay)
    if target.is_secure and not (given and isinstance(sock, ssl.SSLSocket)):
        try:
            deadline.bound(sock)
            sock = _server_tls(sock, target.hostname, opts.sslopt or {})
        except BaseException:
            sock.close()
            raise
    return sock


def _server_tls(sock: socket.socket, hostname: str, sslopt: dict[str, Any]) -> socket.socket:
    """TLS with the server; inside the proxy's TLS when the tunnel runs through an HTTPS proxy."""
    if isinstance(sock, ssl.SSLSocket):
        server_hostname = sslopt.get("server_hostname") or hostname
        # The tunnel offers the SSLSocket methods the client uses (see _net/tls_tunnel.py).
        return cast(socket.socket, wrap_tls_in_tls(sock, tls_context(sslopt), server_hostname, sslopt))
    return wrap_tls(sock, hostname, sslopt)


# ---------------------------------------------------------------- redirects


def _next_hop(hop: _Hop, response: Response, opts: ConnectOptions) -> _Hop:
    location = response.headers.get("Location")
    if not location:
        raise WebSocketBadStatusException(
            f"Redirect response without Location header, status {response.status}",
            response.status,
            response.reason,
            response.headers.as_compat_dict(),
        )
    try:
        url = resolve_redirect(hop.url, location)
        target = split_url(url)
    except ValueError as exc:
        raise WebSocketException(f"Invalid redirect target {location!r}: {exc}") from exc
    downgrade = hop.target.is_secure and not target.is_secure
    if downgrade and not opts.allow_insecure_redirect:
        raise WebSocketException(
            f"refusing to follow a redirect from wss:// to ws:// ({location!r}); pass allow_insecure_redirect=True to allow it"
        )
    same_origin = _origin(hop.target) == _origin(target) and not downgrade
    return _Hop(url, target, hop.credentials and same_origin, hop.first_auth)


def _origin(url: WsUrl) -> tuple[Optional[str], str, int]:
    return url.unix_path, url.hostname.lower(), url.port


# ------------------------------------------------------------------ request


def _jar(opts: ConnectOptions) -> Optional[SimpleCookieJar]:
    if opts.cookie_jar is UNSET:
        return CookieJar
    if opts.cookie_jar is None or isinstance(opts.cookie_jar, SimpleCookieJar):
        return opts.cookie_jar
    raise TypeError(f"cookie_jar must be a SimpleCookieJar or None, not {type(opts.cookie_jar).__name__}")


def _remember_cookies(jar: Optional[SimpleCookieJar], response: Response, target: WsUrl) -> None:
    if jar is not None:
        for value in response.headers.get_all("Set-Cookie"):
            jar.add(value, host=target.hostname)


def _user_lines(opts: ConnectOptions) -> list[str]:
    header: HeadersLike = opts.header() if callable(opts.header) else opts.header
    if isinstance(header, Mapping):
        header = {k: v for k, v in header.items() if v is not None}
    return header_lines(header)


def _connection_value(connection: Optional[str]) -> Optional[str]:
    """websocket-client's ``connection`` is a whole header line ("Connection: ..."); a bare value works too."""
    if connection is None:
        return None
    name, sep, value = connection.partition(":")
    return value.strip() if sep and name.strip().lower() == "connection" else connection


def _build(
    hop: _Hop,
    opts: ConnectOptions,
    jar: Optional[SimpleCookieJar],
    extension_offer: Optional[DeflateOffer],
) -> HandshakeRequest:
    target = hop.target
    lines = _user_lines(opts)
    if not hop.credentials:
        lines = [line for line in lines if line.split(":", 1)[0].strip().lower() not in _CREDENTIAL_HEADERS]
    auth = target.basic_auth() or (hop.first_auth if hop.credentials else None)
    if auth and not any(line.split(":", 1)[0].strip().lower() == "authorization" for line in lines):
        lines.append(f"Authorization: {auth}")
    stored = jar.get(target.hostname, secure=target.is_secure) if jar is not None else ""
    given = opts.cookie if hop.credentials else None
    cookie = "; ".join(c for c in (stored, given) if c) or None
    return build_request(
        resource=target.resource,
        host=None if opts.suppress_host else (opts.host or target.host_header),
        origin=None if opts.suppress_origin else (opts.origin or target.origin),
        subprotocols=opts.subprotocols,
        header_lines=lines,
        cookie=cookie,
        extensions=extension_offer.header or None if extension_offer else None,
        connection=_connection_value(opts.connection),
    )


def _loggable(data: bytes) -> str:
    """The request head as text, credentials replaced."""
    out = []
    for line in data.decode("utf-8", "replace").rstrip().split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in _REDACTED_HEADERS:
            scheme = value.strip().split(" ", 1)[0]
            line = f"{name}: {scheme} <redacted>"
        out.append(line)
    return "\r\n".join(out)


def _send_request(sock: socket.socket, request: HandshakeRequest, deadline: Deadline) -> None:
    if _trace.on:
        dump("request header", _loggable(request.data))
    try:
        deadline.bound(sock)
        sock.sendall(request.data)
    except socket.timeout as exc:
        raise WebSocketTimeoutException("sending the opening handshake timed out") from exc


# ------------------------------------------------------------------ answer


def _bad_status(response: Response, leftover: bytes, sock: socket.socket, deadline: Deadline) -> WebSocketBadStatusException:
    body: Optional[bytes] = None
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit():
        body = recv_body(sock, deadline, leftover, min(int(length), MAX_BODY_SIZE))
    headers = response.headers.as_compat_dict()
    message = f"Handshake status {response.status} {response.reason} -+-+- {headers} -+-+- {body!r}"
    return WebSocketBadStatusException(message, response.status, response.reason, headers, body)
