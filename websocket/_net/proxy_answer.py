"""The HTTP(S) proxy's side of CONNECT: TLS with an HTTPS proxy, and reading its answer so failures say what happened.

An HTTPS proxy (``proxy_type="https"``, an ``https://`` proxy URL) is
reached over TLS, checked against ``http_proxy_sslopt`` (the ``sslopt`` keys,
kept apart from the server's; default: the system CA store,
WEBSOCKET_CLIENT_CA_BUNDLE, SSL_CERT_FILE / SSL_CERT_DIR) and its own host
name. CONNECT and its answer then run inside that TLS.

The answer is told apart as: no answer in time, the connection closed
(before or during the answer), something that is not HTTP (a TLS record
gets a hint: the proxy may want ``https``), a refusal (with the schemes a
407's ``Proxy-Authenticate`` asks for), or the tunnel.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any, Optional

from .._exceptions import (
    ProxyStatusError,
    ProxyTimeoutError,
    ProxyTlsError,
    WebSocketHandshakeException,
    WebSocketProxyException,
    WebSocketTimeoutException,
)
from .._sansio.handshake import MAX_HEAD_SIZE, Response, check_head_start, find_head_end, parse_response_head
from .._url import ProxyConfig
from .transport import Deadline, tls_context

__all__ = ["proxy_tls", "read_connect_answer", "check_answer"]


def proxy_tls(sock: socket.socket, proxy: ProxyConfig, sslopt: Optional[dict[str, Any]], phase: Deadline) -> ssl.SSLSocket:
    """TLS with the proxy itself, checked against ``sslopt`` and the proxy's host name."""
    opts = dict(sslopt or {})
    context = tls_context(opts)
    name = opts.get("server_hostname") or proxy.host
    try:
        phase.bound(sock)
        return context.wrap_socket(sock, server_hostname=name, suppress_ragged_eofs=opts.get("suppress_ragged_eofs", True))
    except WebSocketTimeoutException as exc:
        raise ProxyTimeoutError(f"no time left for TLS with the HTTPS proxy at {proxy.address}") from exc
    except socket.timeout as exc:
        raise ProxyTimeoutError(f"TLS with the HTTPS proxy at {proxy.address} timed out") from exc
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or exc.reason or str(exc)
        raise ProxyTlsError(f"the certificate of the HTTPS proxy at {proxy.address} was refused: {reason}") from exc
    except ssl.SSLError as exc:
        # A plain proxy answers a ClientHello with an HTTP error (wrong version number) or hangs up.
        hint = "is it a plain http:// proxy? then use proxy_type='http'"
        raise ProxyTlsError(f"TLS with the HTTPS proxy at {proxy.address} failed: {exc.reason or exc} ({hint})") from exc
    except OSError as exc:
        raise ProxyTlsError(f"the HTTPS proxy at {proxy.address} dropped the connection during TLS: {exc}") from exc


def _check_start(proxy: ProxyConfig, buf: bytes) -> bool:
    """The handshake's early status check, its refusal reworded for the proxy (and chained)."""
    try:
        return check_head_start(buf)
    except WebSocketHandshakeException as exc:
        raise _not_http(proxy, buf) from exc


def _not_http(proxy: ProxyConfig, buf: bytes) -> WebSocketProxyException:
    hint = ""
    if buf[:1] in (b"\x15", b"\x16") and buf[1:2] == b"\x03":
        hint = " (a TLS record: the proxy may want proxy_type='https' or an https:// proxy URL)"
    what = f"the proxy at {proxy.address} answered CONNECT with something that is not HTTP"
    return WebSocketProxyException(f"{what}: {buf[:40]!r}{hint}")


def _recv(sock: socket.socket, phase: Deadline, proxy: ProxyConfig) -> bytes:
    try:
        phase.bound(sock)
        return sock.recv(4096)
    except (WebSocketTimeoutException, socket.timeout) as exc:
        raise ProxyTimeoutError(f"the proxy at {proxy.address} did not answer CONNECT in time") from exc
    except OSError as exc:
        what = f"the connection to the proxy at {proxy.address} failed while waiting for its answer to CONNECT"
        raise WebSocketProxyException(f"{what}: {exc}") from exc


def read_connect_answer(sock: socket.socket, phase: Deadline, proxy: ProxyConfig) -> tuple[Response, bytes]:
    """The proxy's answer head and the bytes after it; fails as soon as the answer cannot be HTTP."""
    buf = b""
    status_checked = False
    while True:
        chunk = _recv(sock, phase, proxy)
        if not chunk:
            if not buf:
                raise WebSocketProxyException(f"the proxy at {proxy.address} closed the connection without answering CONNECT")
            what = f"the proxy at {proxy.address} closed the connection"
            raise WebSocketProxyException(f"{what} in the middle of its answer to CONNECT")
        scanned = len(buf)
        buf += chunk
        if not status_checked:
            status_checked = _check_start(proxy, buf)
        end = find_head_end(buf, scanned)
        if end >= 0 or len(buf) > MAX_HEAD_SIZE:
            break
    if end < 0 or end > MAX_HEAD_SIZE:
        what = f"the answer of the proxy at {proxy.address} to CONNECT"
        raise WebSocketProxyException(f"{what} is larger than {MAX_HEAD_SIZE} bytes")
    try:
        return parse_response_head(buf[:end]), buf[end:]
    except WebSocketHandshakeException as exc:
        raise WebSocketProxyException(f"the proxy at {proxy.address} sent an invalid answer to CONNECT: {exc}") from exc


def check_answer(response: Response, leftover: bytes, proxy: ProxyConfig, target: str) -> None:
    """Raise unless the answer opened the tunnel (2xx, nothing after the head)."""
    if not 200 <= response.status < 300:
        challenges = tuple(response.headers.get_all("Proxy-Authenticate")) if response.status == 407 else ()
        message = f"failed CONNECT via proxy status: {response.status} {response.reason} (proxy {proxy.address}, target {target})"
        if response.status == 407:
            message += _auth_advice(challenges, proxy.auth is not None)
        raise ProxyStatusError(message, response.status, response.reason, challenges)
    if leftover:
        raise WebSocketProxyException(f"the proxy at {proxy.address} sent {len(leftover)} bytes after its CONNECT answer")


def _auth_advice(challenges: tuple[str, ...], sent: bool) -> str:
    schemes = [c.strip().split(" ", 1)[0] for c in challenges if c.strip()]
    if not schemes:
        asked = "; it named no authentication scheme (no Proxy-Authenticate header)"
    else:
        asked = f"; it asks for {', '.join(dict.fromkeys(schemes))} authentication"
        if not any(s.lower() == "basic" for s in schemes):
            asked += " (only Basic is supported)"
    return asked + ("; the credentials given were refused" if sent else "; no http_proxy_auth was given")
