"""Reaching the server through a proxy: HTTP CONNECT tunnels (over TLS to an HTTPS proxy) and SOCKS4/4a/5/5h.

The HTTP tunnel is done here, its answer read by the same bounded head parser
as the WebSocket handshake and under the same deadline. SOCKS goes through
python-socks, imported only when a SOCKS proxy is used (an optional
dependency: its absence is reported with what to install). ``socks4a`` and
``socks5h`` send the host name to the proxy, which resolves it; ``socks4`` and
``socks5`` resolve it locally.

Proxy credentials are sent to the proxy and nowhere else: they never appear
in a log line, an exception message or a repr.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Sequence
from typing import Any, NoReturn, Optional

from .._exceptions import (
    ProxyStatusError,
    ProxyTimeoutError,
    ProxyTlsError,
    WebSocketAddressException,
    WebSocketProxyException,
    WebSocketTimeoutException,
)
from .._logging import dump
from .._sansio.headers import check_header_text
from .._url import ProxyConfig
from .dial import racer
from .proxy_answer import check_answer, proxy_tls, read_connect_answer
from .transport import DEFAULT_SOCKET_OPTION, Deadline, open_tcp

__all__ = ["ProxyStatusError", "ProxyTimeoutError", "ProxyTlsError", "open_via_proxy", "connect_request", "INSTALL_HINT"]

INSTALL_HINT = "pip install python-socks"


def open_via_proxy(
    proxy: ProxyConfig,
    host: str,
    port: int,
    deadline: Deadline,
    sockopt: Sequence[Any] = (),
    proxy_sslopt: Optional[dict[str, Any]] = None,
    happy_eyeballs_delay: Optional[float] = None,
) -> socket.socket:
    """A socket connected through ``proxy`` to ``host:port``, ready for TLS or the WebSocket handshake.

    ``proxy.timeout`` (http_proxy_timeout) bounds the proxy phase, within
    ``deadline``. Through an HTTPS proxy the result is the ``ssl.SSLSocket``
    to the proxy, carrying the tunnel (checked with ``proxy_sslopt``).
    """
    try:
        phase = Deadline(deadline.remaining(proxy.timeout))
    except WebSocketTimeoutException as exc:
        raise ProxyTimeoutError(f"no time left to connect through the proxy at {proxy.address}") from exc
    if proxy.kind in ("http", "https"):
        return _http_tunnel(proxy, host, port, phase, sockopt, proxy_sslopt, happy_eyeballs_delay)
    return _socks(proxy, host, port, phase, sockopt)


# ------------------------------------------------------------- HTTP CONNECT


def _authority(host: str, port: int) -> str:
    if not host.isascii():
        host = host.encode("idna").decode("ascii")  # an IDN goes out in its A-label form
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_request(host: str, port: int, auth: Optional[tuple[str, str]]) -> bytes:
    """The CONNECT request for ``host:port``, with Basic ``Proxy-Authorization`` when ``auth`` is given."""
    target = check_header_text(_authority(host, port), "proxy target")
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
        lines.append(f"Proxy-Authorization: Basic {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _loggable(request: bytes) -> str:
    """The request as text with the credentials replaced."""
    lines = request.decode("ascii").split("\r\n")
    return "\r\n".join(
        "Proxy-Authorization: Basic <redacted>" if line.lower().startswith("proxy-authorization:") else line for line in lines
    ).rstrip()


def _http_tunnel(
    proxy: ProxyConfig,
    host: str,
    port: int,
    phase: Deadline,
    sockopt: Sequence[Any],
    proxy_sslopt: Optional[dict[str, Any]],
    delay: Optional[float],
) -> socket.socket:
    request = connect_request(host, port, proxy.auth)
    sock = _connect_to_proxy(proxy, phase, sockopt, delay)
    try:
        if proxy.kind == "https":
            sock = proxy_tls(sock, proxy, proxy_sslopt, phase)
        dump("proxy request header", _loggable(request))
        try:
            phase.bound(sock)
            sock.sendall(request)
        except (WebSocketTimeoutException, socket.timeout) as exc:
            raise ProxyTimeoutError(f"the proxy at {proxy.address} did not accept CONNECT in time") from exc
        except OSError as exc:
            raise WebSocketProxyException(f"sending CONNECT to the proxy at {proxy.address} failed: {exc}") from exc
        response, leftover = read_connect_answer(sock, phase, proxy)
        dump("proxy response header", response.raw.decode("iso-8859-1").rstrip())
        check_answer(response, leftover, proxy, _authority(host, port))
        return sock
    except BaseException:
        sock.close()
        raise


def _connect_to_proxy(proxy: ProxyConfig, phase: Deadline, sockopt: Sequence[Any], delay: Optional[float]) -> socket.socket:
    try:
        return open_tcp(proxy.host, proxy.port, phase.remaining(), sockopt, racer(delay))
    except WebSocketTimeoutException as exc:
        raise ProxyTimeoutError(f"connecting to the proxy at {proxy.address} timed out") from exc
    except WebSocketAddressException as exc:
        raise WebSocketProxyException(f"cannot resolve the proxy host {proxy.host!r}") from exc
    except OSError as exc:
        _reraise_naming_proxy(exc, proxy)


def _reraise_naming_proxy(exc: OSError, proxy: ProxyConfig) -> NoReturn:
    """Re-raise a connect failure as the same OSError class, with the proxy's address in the message."""
    if exc.errno is None:
        raise exc
    raise type(exc)(exc.errno, f"{exc.strerror} (connecting to the proxy at {proxy.address})") from exc


# -------------------------------------------------------------------- SOCKS


def _python_socks() -> Any:
    """The python-socks package, imported on first use."""
    try:
        import python_socks
        import python_socks.sync
    except ImportError as exc:
        message = f"SOCKS proxies need the python-socks package, which is not installed: {INSTALL_HINT}"
        raise WebSocketProxyException(message) from exc
    return python_socks


def _socks(proxy: ProxyConfig, host: str, port: int, phase: Deadline, sockopt: Sequence[Any]) -> socket.socket:
    lib = _python_socks()
    version = lib.ProxyType.SOCKS4 if proxy.kind.startswith("socks4") else lib.ProxyType.SOCKS5
    user, password = proxy.auth if proxy.auth is not None else (None, None)
    client = lib.sync.Proxy(
        proxy_type=version,
        host=proxy.host,
        port=proxy.port,
        username=user,
        password=password,
        rdns=proxy.kind in ("socks4a", "socks5h"),
    )
    target = _authority(host, port)
    try:
        timeout = phase.remaining()
    except WebSocketTimeoutException as exc:
        raise ProxyTimeoutError(f"no time left to connect through the {proxy.kind} proxy at {proxy.address}") from exc
    try:
        sock: socket.socket = client.connect(host, port, timeout=timeout)
    except lib.ProxyTimeoutError as exc:
        raise ProxyTimeoutError(f"the {proxy.kind} proxy at {proxy.address} did not connect to {target} in time") from exc
    except lib.ProxyConnectionError as exc:
        if isinstance(exc.__cause__, socket.timeout):
            raise ProxyTimeoutError(f"connecting to the {proxy.kind} proxy at {proxy.address} timed out") from exc
        raise
    except lib.ProxyError as exc:
        reason = _scrub(str(exc), proxy.auth)
        message = f"the {proxy.kind} proxy at {proxy.address} refused the connection to {target}: {reason}"
        raise WebSocketProxyException(message) from exc
    except socket.gaierror as exc:
        raise WebSocketAddressException(f"cannot resolve {host!r} (resolved locally for {proxy.kind}): {exc}") from exc
    except socket.timeout as exc:
        raise ProxyTimeoutError(f"connecting to the {proxy.kind} proxy at {proxy.address} timed out") from exc
    try:
        for opt in (*DEFAULT_SOCKET_OPTION, *sockopt):
            sock.setsockopt(*opt)
    except BaseException:
        sock.close()
        raise
    return sock


def _scrub(text: str, auth: Optional[tuple[str, str]]) -> str:
    """``text`` with the proxy credentials cut out, in case a library put them in a message."""
    for secret in auth or ():
        if len(secret) >= 2:
            text = text.replace(secret, "***")
    return text
