"""websocket-client's ``**options`` of connect/create_connection, as one typed object."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Optional, Union

from .._sansio.headers import HeadersLike
from .._sansio.protocol import DEFAULT_MAX_SIZE

__all__ = ["ConnectOptions", "UNSET"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass
class ConnectOptions:
    """Every option ``WebSocket.connect`` understands; unknown keywords are ignored, as websocket-client does."""

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
        return cls(**known, extra=extra)


_NAMES = frozenset(f.name for f in fields(ConnectOptions)) - {"extra"}
