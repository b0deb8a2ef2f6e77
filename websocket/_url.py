"""WebSocket URLs (ws://, wss://, ws+unix://), proxy settings from options and the environment, no_proxy.

Environment proxies follow websocket-client 1.9.2 and extend it as curl
does: ``ws://`` uses ``http_proxy`` (or ``HTTP_PROXY``), ``wss://`` uses
``https_proxy`` (or ``HTTPS_PROXY``); either falls back to ``all_proxy`` /
``ALL_PROXY``, then ``socks_proxy`` / ``SOCKS_PROXY``. The first variable
that is set decides, even set empty (then the connection goes direct), so
the lowercase name wins. Spaces are dropped, ``user:password@`` becomes the
proxy credentials; a missing port means 80 (``http://``), 443 (``https://``)
or 1080 (SOCKS). ``no_proxy`` (or ``NO_PROXY``) applies when
``http_no_proxy`` is not given. Differences from websocket-client, each
closing a hole: an ``https://``, ``socks4://``, ``socks4a://``, ``socks5://``
or ``socks5h://`` scheme selects that protocol where websocket-client would
speak plain HTTP to it; a value without a scheme is read as ``http://``
(``socks5://`` in ``socks_proxy``); ``.example.com`` matches ``example.com``
and its subdomains but not ``badexample.com``; names compare
case-insensitively; a ``:port`` limits a no_proxy entry to that port; and an
explicit SOCKS proxy honours an explicit ``http_no_proxy`` but never the
environment's ``no_proxy``, as in websocket-client."""

from __future__ import annotations

import base64
import ipaddress
import os
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Optional, Union
from urllib.parse import quote, unquote, urljoin, urlsplit

from ._exceptions import WebSocketProxyException
from ._sansio.headers import check_header_text

__all__ = ["parse_url", "get_proxy_info"]

_DEFAULT_PORTS = {"ws": 80, "wss": 443}
UNIX_SCHEME = "ws+unix"
UNIX_HOST = "localhost"
PROXY_TYPES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
# A missing port: 80 for an http:// proxy (websocket-client's default), 443 over TLS, 1080 for SOCKS.
_PROXY_PORTS = {"http": 80, "https": 443}
# Where a proxy for ws:// and for wss:// is looked up, in order; the first one set (even empty) decides.
ENV_PROXY_VARIABLES = {
    False: ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "socks_proxy", "SOCKS_PROXY"),
    True: ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "socks_proxy", "SOCKS_PROXY"),
}
_ENCODED_PROXY_VARIABLES = {key: tuple(os.fsencode(name) for name in names) for key, names in ENV_PROXY_VARIABLES.items()}
# Printable ASCII but the space: what may stand in a request line unencoded.
_RESOURCE_SAFE = "".join(c for c in string.printable if c not in string.whitespace)


@dataclass(frozen=True)
class WsUrl:
    """A parsed WebSocket URL; ``unix_path`` is set for ws+unix URLs."""

    scheme: str
    hostname: str
    port: int
    resource: str
    username: Optional[str] = field(default=None, repr=False)
    password: Optional[str] = field(default=None, repr=False)
    unix_path: Optional[str] = None

    @property
    def is_secure(self) -> bool:
        """Whether the URL asks for TLS."""
        return self.scheme == "wss"

    @property
    def host_header(self) -> str:
        """Host header value: the port is left out when it is the scheme's default."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        if self.unix_path is not None or self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

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
    """Parse a ws://, wss:// or ws+unix:// URL; raises ValueError with websocket-client's messages.

    ``ws+unix:///run/app.sock`` reaches the socket at that path (resource
    ``/``); ``ws+unix://%2Frun%2Fapp.sock/chat?x=1`` puts the socket path,
    percent-encoded, in the host part so the URL can carry a resource too.
    """
    if "\r" in url or "\n" in url or "\x00" in url:
        # Not echoed: the URL may carry credentials.
        raise ValueError("url contains a CR, LF or NUL character")
    if ":" not in url:
        raise ValueError("url is invalid")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == UNIX_SCHEME:
        return _split_unix(parts.netloc, parts.path, parts.query)
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"scheme {parts.scheme} is invalid")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"port is invalid: {exc}") from exc
    if not parts.hostname:
        raise ValueError("hostname is invalid")
    return WsUrl(
        scheme=scheme,
        hostname=parts.hostname,
        port=port or _DEFAULT_PORTS[scheme],
        resource=_resource(parts.path, parts.query),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _split_unix(netloc: str, path: str, query: str) -> WsUrl:
    if netloc:
        socket_path, resource = unquote(netloc), _resource(path, query)
    else:
        socket_path, resource = unquote(path), _resource("", query)
    if not socket_path:
        raise ValueError("ws+unix URL without a socket path")
    return WsUrl("ws", UNIX_HOST, 80, resource, unix_path=socket_path)


def _resource(path: str, query: str) -> str:
    """Request target: path (default "/") and query, spaces and non-ASCII percent-encoded."""
    resource = path or "/"
    if query:
        resource += "?" + query
    return quote(resource, safe=_RESOURCE_SAFE)


def parse_url(url: str) -> tuple[str, int, str, bool]:
    """websocket-client's ``parse_url``: (hostname, port, resource, is_secure)."""
    u = split_url(url)
    return u.hostname, u.port, u.resource, u.is_secure


def resolve_redirect(base: str, location: str) -> str:
    """The absolute URL a Location header points to, relative ones resolved against ``base``.

    Raises ValueError for a target that is not a ws://, wss:// or ws+unix:// URL.
    """
    check_header_text(location, "redirect location")
    if "://" in location:
        scheme = location.split("://", 1)[0].lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"scheme {scheme} is invalid")
        return location
    current = split_url(base)
    if current.unix_path is not None:
        # The socket path stays; the Location changes the resource only.
        joined = urljoin("http://unix" + current.resource, location)
        tail = joined[len("http://unix") :]
        return f"{UNIX_SCHEME}://{quote(current.unix_path, safe='')}{tail}"
    scheme = base.split(":", 1)[0]
    http_base = ("https" if scheme.lower() == "wss" else "http") + base[len(scheme) :]
    joined = urljoin(http_base, location)
    return scheme + joined[joined.index(":") :]


# ----------------------------------------------------------------- proxies


@dataclass(frozen=True)
class ProxyConfig:
    """Where and how to reach the proxy; credentials are kept out of repr."""

    kind: str
    host: str
    port: int
    auth: Optional[tuple[str, str]] = field(default=None, repr=False)
    timeout: Optional[float] = None

    @property
    def address(self) -> str:
        """``host:port`` for messages (an IPv6 host in brackets); never the credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _env(name: str) -> str:
    """websocket-client's lookup: the lowercase variable wins (even set empty), spaces are dropped."""
    return os.environ.get(name, os.environ.get(name.upper(), "")).replace(" ", "")


def _unset(is_secure: bool) -> bool:
    """Whether no proxy variable is in the environment, without a KeyError raised per missing name.

    ``os.environ.get`` raises and catches one for every variable that is not set, and every
    connect asks for six of them; on POSIX the encoded names are looked up in its dict directly.
    """
    data = getattr(os.environ, "_data", None)
    if os.name != "posix" or type(data) is not dict:  # os.environ replaced by a test, or not POSIX
        return all(os.environ.get(name) is None for name in ENV_PROXY_VARIABLES[is_secure])
    return not any(key in data for key in _ENCODED_PROXY_VARIABLES[is_secure])


def env_proxy_value(is_secure: bool) -> tuple[Optional[str], str]:
    """(the variable that decides, its value without spaces): the first of ENV_PROXY_VARIABLES that is set."""
    if _unset(is_secure):
        return None, ""
    for name in ENV_PROXY_VARIABLES[is_secure]:
        value = os.environ.get(name)
        if value is not None:
            return name, value.replace(" ", "")
    return None, ""


def _no_proxy_entries(no_proxy: Union[str, Iterable[str], None]) -> list[str]:
    if isinstance(no_proxy, str):
        no_proxy = no_proxy.split(",")
    entries = [e.strip() for e in (no_proxy or []) if e and e.strip()]
    if not entries:
        entries = [e for e in _env("no_proxy").split(",") if e]
    return entries


def _ip(text: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _split_port(entry: str) -> tuple[str, Optional[int]]:
    """``host:port``, ``[v6]:port`` or ``v4:port`` -> (host, port); a bare IPv6 address has no port."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = entry.rpartition(":")
    if sep and ":" not in host and port.isdigit():
        return host, int(port)
    return entry, None


def _entry_matches(host: str, entry: str, port: Optional[int] = None) -> bool:
    if entry == "*":
        return True
    entry, entry_port = _split_port(entry)
    if entry_port is not None and entry_port != port:
        return False
    if host == entry:
        return True
    address = _ip(host)
    if address is not None:
        try:
            return address in ipaddress.ip_network(entry.strip("[]"), strict=False)
        except ValueError:  # a name, not an address or network
            return False
    if _ip(entry) is not None or "/" in entry:
        return False
    domain = entry.lstrip("*").lstrip(".")
    return bool(domain) and (host == domain or host.endswith("." + domain))


def is_no_proxy_host(hostname: str, no_proxy: Union[str, Iterable[str], None], port: Optional[int] = None) -> bool:
    """Whether ``hostname`` (connected on ``port``) bypasses the proxy.

    Entries: ``*``, exact names, domains and their subdomains (a leading dot
    or ``*.`` changes nothing), IP addresses and networks (CIDR), each with an
    optional ``:port`` that limits it to that port. ``no_proxy`` is a list (or
    comma-separated string); when it is empty the ``no_proxy`` / ``NO_PROXY``
    environment variable is used.
    """
    host = hostname.lower().rstrip(".")
    return any(_entry_matches(host, entry.lower(), port) for entry in _no_proxy_entries(no_proxy))


def _default_proxy_port(kind: str) -> int:
    return _PROXY_PORTS.get(kind, 1080)


def _proxy_from_env(name: str, value: str, timeout: Optional[float]) -> Optional[ProxyConfig]:
    socks_variable = name.lower() == "socks_proxy"
    if "://" not in value:
        value = ("socks5://" if socks_variable else "http://") + value
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "socks":
        scheme = "socks5"
    kind = scheme if scheme in PROXY_TYPES else "http"
    try:
        port = parts.port
    except ValueError as exc:
        # The value may hold credentials: the message names the variable, never its value.
        raise WebSocketProxyException(f"the {name} environment variable has an invalid port") from exc
    if not parts.hostname:
        return None
    auth = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
    return ProxyConfig(kind, parts.hostname, port or _default_proxy_port(kind), auth, timeout)


def select_proxy(
    hostname: str,
    is_secure: bool,
    proxy_host: Optional[str] = None,
    proxy_port: Any = 0,
    proxy_auth: Optional[tuple[str, str]] = None,
    no_proxy: Union[str, Iterable[str], None] = None,
    proxy_type: Optional[str] = None,
    proxy_timeout: Optional[float] = None,
    port: Optional[int] = None,
) -> Optional[ProxyConfig]:
    """The proxy to use for ``hostname`` (on ``port``), or None to connect directly.

    An explicit ``proxy_host`` wins over the environment; ``no_proxy`` (else the
    environment's) exempts matching hosts, except that an explicit SOCKS proxy
    only honours an explicit ``no_proxy``.
    """
    if proxy_host:
        kind = (proxy_type or "http").lower()
        if kind not in PROXY_TYPES:
            raise WebSocketProxyException(f"proxy_type must be one of {', '.join(PROXY_TYPES)}, not {proxy_type!r}")
        try:
            proxy_port_number = int(proxy_port or 0)
        except (TypeError, ValueError) as exc:
            raise WebSocketProxyException(f"http_proxy_port is not a port number: {proxy_port!r}") from exc
        if not proxy_port_number:
            raise WebSocketProxyException("Cannot use port 0 when proxy_host specified")
        if not 0 < proxy_port_number < 65536:
            raise WebSocketProxyException(f"invalid proxy port {proxy_port_number}")
        exempt = is_no_proxy_host(hostname, no_proxy, port) if kind in _PROXY_PORTS or no_proxy else False
        return None if exempt else ProxyConfig(kind, proxy_host, proxy_port_number, _auth_pair(proxy_auth), proxy_timeout)
    name, value = env_proxy_value(is_secure)
    if name is None or not value or is_no_proxy_host(hostname, no_proxy, port):
        return None
    return _proxy_from_env(name, value, proxy_timeout)


def _auth_pair(auth: Any) -> Optional[tuple[str, str]]:
    if not auth:
        return None
    user, password = [*list(auth), None, None][:2]
    if not user:
        return None
    return str(user), "" if password is None else str(password)


def get_proxy_info(
    hostname: str,
    is_secure: bool,
    proxy_host: Optional[str] = None,
    proxy_port: int = 0,
    proxy_auth: Optional[tuple[str, str]] = None,
    no_proxy: Optional[list[str]] = None,
    proxy_type: str = "http",
) -> tuple[Optional[str], int, Optional[tuple[str, str]]]:
    """websocket-client's ``get_proxy_info``: (proxy_host, proxy_port, proxy_auth), (None, 0, None) for direct."""
    proxy = select_proxy(hostname, is_secure, proxy_host, proxy_port, proxy_auth, no_proxy, proxy_type)
    if proxy is None:
        return None, 0, None
    return proxy.host, proxy.port, proxy.auth


# websocket-client's private names, imported by code that reuses its no_proxy rules.
_is_no_proxy_host = is_no_proxy_host


def _is_address_in_network(ip: str, net: str) -> bool:
    """Whether the address (or network) ``ip`` lies inside the network ``net``; False for anything unparsable."""
    try:
        inner = ipaddress.ip_network(ip)
        outer = ipaddress.ip_network(net)
        return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
