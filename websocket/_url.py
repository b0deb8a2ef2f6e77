"""WebSocket URLs: ws://, wss:// (and their parts as websocket-client exposes them)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote, urljoin, urlsplit

__all__ = ["WsUrl", "parse_url", "split_url", "resolve_redirect"]

_DEFAULT_PORTS = {"ws": 80, "wss": 443}


@dataclass(frozen=True)
class WsUrl:
    """A parsed WebSocket URL."""

    scheme: str
    hostname: str
    port: int
    resource: str
    username: Optional[str] = None
    password: Optional[str] = None

    @property
    def is_secure(self) -> bool:
        """Whether the URL asks for TLS."""
        return self.scheme == "wss"

    @property
    def host_header(self) -> str:
        """Host header value: the port is left out when it is the scheme's default."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        """The default Origin header value, as websocket-client sends it."""
        return ("https://" if self.is_secure else "http://") + self.host_header

    def basic_auth(self) -> Optional[str]:
        """An Authorization header value built from credentials in the URL, if any."""
        if self.username is None:
            return None
        raw = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def split_url(url: str) -> WsUrl:
    """Parse a ws:// or wss:// URL; raises ValueError with websocket-client's messages."""
    if ":" not in url:
        raise ValueError("url is invalid")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"scheme {parts.scheme} is invalid")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"port is invalid: {exc}") from exc
    if not parts.hostname:
        raise ValueError("hostname is invalid")
    resource = parts.path or "/"
    if parts.query:
        resource += "?" + parts.query
    return WsUrl(
        scheme=scheme,
        hostname=parts.hostname,
        port=port or _DEFAULT_PORTS[scheme],
        resource=resource,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def parse_url(url: str) -> tuple[str, int, str, bool]:
    """websocket-client's ``parse_url``: (hostname, port, resource, is_secure)."""
    u = split_url(url)
    return u.hostname, u.port, u.resource, u.is_secure


def resolve_redirect(base: str, location: str) -> str:
    """The absolute URL a Location header points to, relative ones resolved against ``base``."""
    if "://" in location:
        return location
    scheme = base.split(":", 1)[0]
    http_base = ("https" if scheme == "wss" else "http") + base[len(scheme) :]
    joined = urljoin(http_base, location)
    return scheme + joined[joined.index(":") :]
