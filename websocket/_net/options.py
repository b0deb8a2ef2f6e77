"""websocket-client's ``**options`` of connect/create_connection, as one typed object."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Optional, Union

from .._sansio.headers import HeadersLike
from .._sansio.protocol import DEFAULT_MAX_SIZE
from .dial import DEFAULT_HAPPY_EYEBALLS_DELAY

__all__ = ["ConnectOptions", "UNSET"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass
class ConnectOptions:
    """Every option ``WebSocket.connect`` understands; unknown keywords are ignored, as websocket-client does.

    Beyond websocket-client: ``happy_eyeballs_delay`` (seconds, default 0.25)
    is how long a connect attempt to one address of a name runs before the
    next address is tried alongside it (RFC 8305; None: one address after the
    other, as websocket-client does); ``http_proxy_sslopt`` holds the TLS
    options (the ``sslopt`` keys) for an HTTPS proxy, apart from the server's.
    """

    header: Union[HeadersLike, Callable[[], HeadersLike]] = None
    cookie: Optional[str] = None
    origin: Optional[str] = None
    suppress_origin: bool = False
    host: Optional[str] = None
    suppress_host: bool = False
    timeout: Any = UNSET
    sockopt: Optional[list[Any]] = None
    sslopt: Optional[dict[str, Any]] = None
    subprotocols: Optional[list[str]] = None
    socket: Any = None
    redirect_limit: int = 3
    connection: Optional[str] = None
    http_proxy_host: Optional[str] = None
    http_proxy_port: Optional[int] = None
    http_no_proxy: Optional[list[str]] = None
    http_proxy_auth: Optional[tuple[str, str]] = None
    http_proxy_timeout: Optional[float] = None
    proxy_type: Optional[str] = None
    http_proxy_sslopt: Optional[dict[str, Any]] = None
    happy_eyeballs_delay: Optional[float] = DEFAULT_HAPPY_EYEBALLS_DELAY
    # Issue 4 (reaching servers): a Unix socket path to connect to instead of TCP; following a
    # wss:// -> ws:// redirect; the cookie jar (UNSET: the process-global one, None: none).
    unix_socket: Optional[str] = None
    allow_insecure_redirect: bool = False
    cookie_jar: Any = UNSET
    max_size: Optional[int] = DEFAULT_MAX_SIZE
    # "deflate": offer permessage-deflate (RFC 7692); None: offer no extension.
    compression: Optional[str] = "deflate"
    # Tuning of permessage-deflate (window bits, context takeover, level): see _deflate.DeflateSettings.
    compression_options: Optional[dict[str, Any]] = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> ConnectOptions:
        """Build from keyword arguments; None means "not given" for most options, as in websocket-client."""
        names = _NAMES
        known = {k: v for k, v in options.items() if k in names}
        extra = {k: v for k, v in options.items() if k not in names}
        if known.get("redirect_limit") is None:
            known.pop("redirect_limit", None)
        for flag in ("suppress_origin", "suppress_host"):
            known[flag] = bool(known.get(flag, False))
        max_size = known.get("max_size", DEFAULT_MAX_SIZE)
        if max_size is not None and (not isinstance(max_size, int) or max_size < 0):
            raise ValueError(f"max_size must be a non-negative int or None, not {max_size!r}")
        delay = known.get("happy_eyeballs_delay", DEFAULT_HAPPY_EYEBALLS_DELAY)
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float)) or not delay >= 0):
            raise ValueError(f"happy_eyeballs_delay must be a non-negative number of seconds or None, not {delay!r}")
        return cls(**known, extra=extra)


_NAMES = frozenset(f.name for f in fields(ConnectOptions)) - {"extra"}
