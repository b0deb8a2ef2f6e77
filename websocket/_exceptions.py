"""The exception tree of wsline.

Every failure a caller sees is one of these, or an ``OSError`` / ``ssl.SSLError``
for network and TLS faults::

    Exception
     └── WebSocketException
          ├── WebSocketProtocolException      the server broke RFC 6455 (close code 1002)
          │    └── WebSocketInvalidCloseReason     a close frame's reason is not UTF-8 (1007)
          ├── WebSocketPayloadException       bad text or too big a message (1007 / 1009)
          │    ├── WebSocketInvalidUtf8            a text message is not UTF-8 (1007)
          │    └── WebSocketPayloadTooBig          a message over max_size (1009)
          ├── WebSocketConnectionClosedException
          ├── WebSocketTimeoutException
          │    └── ProxyTimeoutError          also a WebSocketProxyException: the proxy did not answer in time
          ├── WebSocketProxyException
          │    ├── ProxyStatusError           the proxy answered CONNECT with a status other than 2xx
          │    └── ProxyTlsError              TLS with an HTTPS proxy failed (its certificate, its name...)
          ├── WebSocketBadStatusException     handshake answered with another status than 101
          ├── WebSocketAddressException       the host name could not be resolved
          ├── WebSocketHandshakeException     a 101 answer that is not a valid upgrade
          ├── WebSocketConcurrencyError       two threads receiving at once (also a RuntimeError)
          └── WebSocketMessageTypeError       a typed receive got another message type (also a TypeError)

The names and constructor signatures match websocket-client so that existing
``except`` clauses keep working. The leaf classes are wsline's: each says which
close code failed the connection, and ``close_code_for`` is the one table that
maps an exception to its code.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "WebSocketException",
    "WebSocketProtocolException",
    "WebSocketPayloadException",
    "WebSocketInvalidUtf8",
    "WebSocketPayloadTooBig",
    "WebSocketInvalidCloseReason",
    "WebSocketConnectionClosedException",
    "WebSocketTimeoutException",
    "WebSocketProxyException",
    "WebSocketBadStatusException",
    "WebSocketAddressException",
    "WebSocketHandshakeException",
    "WebSocketConcurrencyError",
    "WebSocketMessageTypeError",
    "ProxyStatusError",
    "ProxyTimeoutError",
    "ProxyTlsError",
]


class WebSocketException(Exception):
    """Base of every error raised by this library."""


class WebSocketProtocolException(WebSocketException):
    """The server violated the WebSocket protocol."""


class WebSocketPayloadException(WebSocketException):
    """A message was invalid (bad UTF-8) or larger than ``max_size``."""


class WebSocketInvalidUtf8(WebSocketPayloadException):
    """A text message is not valid UTF-8 (the connection fails with 1007)."""


class WebSocketPayloadTooBig(WebSocketPayloadException):
    """A message is larger than ``max_size``, inflated or not (the connection fails with 1009)."""


class WebSocketInvalidCloseReason(WebSocketProtocolException):
    """A close frame's reason is not valid UTF-8 (the connection fails with 1007).

    A protocol exception, as websocket-client raises for a bad close frame.
    """


class WebSocketConnectionClosedException(WebSocketException):
    """The connection is closed, or was lost.

    When the server closed the connection with a close frame, ``status_code``
    and ``reason`` carry what it sent; otherwise both are None.
    """

    def __init__(self, *args: Any, status_code: Optional[int] = None, reason: Optional[str] = None) -> None:
        super().__init__(*args)
        self.status_code = status_code
        self.reason = reason


class WebSocketTimeoutException(WebSocketException):
    """A read, write or connect did not finish within the timeout."""


class WebSocketProxyException(WebSocketException):
    """The proxy refused or failed to open a tunnel."""


class WebSocketBadStatusException(WebSocketException):
    """The server answered the opening handshake with a status other than 101."""

    def __init__(
        self,
        message: str,
        status_code: int,
        status_message: Optional[str] = None,
        resp_headers: Optional[dict[str, str]] = None,
        resp_body: Optional[bytes] = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.status_message = status_message
        self.resp_headers = resp_headers
        self.resp_body = resp_body


class WebSocketAddressException(WebSocketException):
    """The host name of the URL could not be resolved."""


class WebSocketHandshakeException(WebSocketException):
    """The server's 101 answer is not a valid WebSocket upgrade."""


class WebSocketConcurrencyError(WebSocketException, RuntimeError):
    """A second thread tried to receive while another one was receiving."""


class WebSocketMessageTypeError(WebSocketException, TypeError):
    """A message had another type than the call asked for (``receive_str`` got BINARY, ...).

    ``received`` is the ``WSMessage`` that was consumed, so nothing is lost.
    Also a ``TypeError``, like aiohttp's ``WSMessageTypeError``.
    """

    def __init__(self, *args: Any, received: Any = None) -> None:
        super().__init__(*args)
        self.received = received


class ProxyStatusError(WebSocketProxyException):
    """The HTTP proxy answered CONNECT with a status other than 2xx (``status_code``, ``status_message``).

    ``proxy_authenticate`` holds the ``Proxy-Authenticate`` values of a 407.
    """

    def __init__(self, message: str, status_code: int, status_message: str, proxy_authenticate: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.status_message = status_message
        self.proxy_authenticate = proxy_authenticate


class ProxyTimeoutError(WebSocketProxyException, WebSocketTimeoutException):
    """The proxy did not connect or answer in time (caught by either parent's ``except``)."""


class ProxyTlsError(WebSocketProxyException):
    """TLS with an HTTPS proxy failed: its certificate or name refused, or it does not speak TLS (the ssl error is the cause)."""


# Most specific first: the first class an exception is an instance of gives its code.
_CLOSE_CODES: tuple[tuple[type[WebSocketException], int], ...] = (
    (WebSocketPayloadTooBig, 1009),
    (WebSocketInvalidUtf8, 1007),
    (WebSocketInvalidCloseReason, 1007),
    (WebSocketPayloadException, 1007),
    (WebSocketProtocolException, 1002),
)


def close_code_for(exc: BaseException) -> int:
    """The close code that fails the connection for ``exc`` (1002 for anything unlisted)."""
    for cls, code in _CLOSE_CODES:
        if isinstance(exc, cls):
            return code
    return 1002
