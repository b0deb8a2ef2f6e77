"""The opening handshake (RFC 6455 section 4): build the request, parse and check the answer.

Pure functions over bytes. The response head is bounded in size and header
count, and the bytes that follow it are handed back so no frame is lost.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from .._exceptions import WebSocketHandshakeException
from .headers import Headers, check_header_text, split_tokens

__all__ = [
    "HandshakeRequest",
    "Response",
    "build_request",
    "find_head_end",
    "parse_response_head",
    "accept_key",
    "check_upgrade",
    "check_head_start",
    "MAX_HEAD_SIZE",
    "MAX_HEADERS",
]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEAD_SIZE = 64 * 1024
MAX_HEADERS = 256


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value the server must send for ``key``."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class HandshakeRequest:
    """The upgrade request as sent, and what the answer will be checked against."""

    data: bytes
    key: str
    subprotocols: list[str] = field(default_factory=list)
    extensions_offered: Optional[str] = None


def build_request(
    *,
    resource: str,
    host: Optional[str],
    origin: Optional[str],
    subprotocols: Optional[list[str]] = None,
    header_lines: Optional[list[str]] = None,
    cookie: Optional[str] = None,
    extensions: Optional[str] = None,
    connection: Optional[str] = None,
    key: Optional[str] = None,
) -> HandshakeRequest:
    """Build the GET request in websocket-client's header order.

    User header lines come after the WebSocket ones; a Sec-WebSocket-Key or
    Sec-WebSocket-Version given by the user replaces the generated one.
    Sec-WebSocket-Protocol lines in ``header_lines`` are part of the offer
    (kubernetes offers its subprotocols that way): they are merged with
    ``subprotocols`` into one line. Sec-WebSocket-Extensions lines there
    replace ``extensions`` and are sent as one line too.
    """
    user = header_lines or []
    user_names = {_name(line) for line in user}
    if key is None:
        given = _values(user, "sec-websocket-key")
        key = given[0] if given else base64.b64encode(os.urandom(16)).decode("ascii")
    lines = [f"GET {check_header_text(resource, 'path')} HTTP/1.1", "Upgrade: websocket"]
    if host is not None:
        lines.append(f"Host: {check_header_text(host, 'host')}")
    if origin is not None:
        lines.append(f"Origin: {check_header_text(origin, 'origin')}")
    if "sec-websocket-key" not in user_names:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if "sec-websocket-version" not in user_names:
        lines.append("Sec-WebSocket-Version: 13")
    lines.append(f"Connection: {check_header_text(connection or 'Upgrade', 'connection')}")
    protocols = _merge_protocols(subprotocols or [], _values(user, "sec-websocket-protocol"))
    if protocols:
        lines.append(f"Sec-WebSocket-Protocol: {','.join(protocols)}")
    if "sec-websocket-extensions" in user_names:
        extensions = ", ".join(v for v in _values(user, "sec-websocket-extensions") if v) or None
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    lines.extend(line for line in user if _name(line) not in _MERGED)
    if cookie:
        lines.append(f"Cookie: {check_header_text(cookie, 'cookie')}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return HandshakeRequest(data=data, key=key, subprotocols=protocols, extensions_offered=extensions)


# Offer headers that may come from both the options and ``header=``: each is sent as one line.
_MERGED = frozenset(("sec-websocket-protocol", "sec-websocket-extensions"))


def _name(line: str) -> str:
    return line.split(":", 1)[0].strip().lower()


def _values(lines: list[str], name: str) -> list[str]:
    """The values of the header lines called ``name`` (any case), in order."""
    return [line.split(":", 1)[1].strip() for line in lines if _name(line) == name]


def _merge_protocols(given: list[str], header_values: list[str]) -> list[str]:
    """``subprotocols=`` then those of Sec-WebSocket-Protocol lines, each name once (compared case-insensitively)."""
    merged: list[str] = []
    seen: set[str] = set()
    for name in [*given, *(t for value in header_values for t in split_tokens(value))]:
        check_header_text(name, "subprotocol")
        if name.lower() not in seen:
            seen.add(name.lower())
            merged.append(name)
    return merged


@dataclass
class Response:
    """A parsed HTTP response head."""

    status: int
    reason: str
    headers: Headers
    raw: bytes


def find_head_end(buf: bytes, start: int = 0) -> int:
    """Offset just past the blank line that ends the head, or -1 if not there yet."""
    search_from = max(0, start - 3)
    crlf = buf.find(b"\r\n\r\n", search_from)
    lf = buf.find(b"\n\n", search_from)
    ends = [i + 4 for i in (crlf,) if i >= 0] + [i + 2 for i in (lf,) if i >= 0]
    return min(ends) if ends else -1


def parse_response_head(head: bytes, max_headers: int = MAX_HEADERS) -> Response:
    """Parse a complete response head (status line and header lines)."""
    try:
        text = head.decode("iso-8859-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes any byte
        raise WebSocketHandshakeException("undecodable response head") from exc
    lines = [line.rstrip("\r") for line in text.split("\n")]
    status, reason = _status_line(lines[0])
    items: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise WebSocketHandshakeException("obsolete folded header line in the response")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise WebSocketHandshakeException(f"invalid header line in the response: {line[:100]!r}")
        items.append((name, value.strip()))
        if len(items) > max_headers:
            raise WebSocketHandshakeException(f"more than {max_headers} headers in the response")
    return Response(status, reason, Headers(items), head)


def _status_line(line: str) -> tuple[int, str]:
    parts = line.split(" ", 2)
    # isascii(): str.isdigit() also accepts digits such as "²" that int() refuses.
    code_ok = len(parts) >= 2 and parts[1].isascii() and parts[1].isdigit() and len(parts[1]) == 3
    if not code_ok or not parts[0].startswith("HTTP/1."):
        raise WebSocketHandshakeException(f"invalid HTTP status line: {line[:100]!r}")
    return int(parts[1]), parts[2] if len(parts) > 2 else ""


_HTTP_NAME = b"HTTP/1."


def check_head_start(data: bytes) -> bool:
    """Refuse a response head as soon as its first bytes show it is not HTTP/1.x.

    ``data`` is what arrived so far. Returns True once the status line is
    complete and valid (nothing more to check early), False while it may still
    become one; raises WebSocketHandshakeException, quoting an escaped prefix of
    what came, as soon as it cannot (binary noise, an SSH or TLS greeting).
    """
    n = min(len(data), len(_HTTP_NAME))
    if data[:n] != _HTTP_NAME[:n]:
        tls = data[:1] in (b"\x15", b"\x16") and data[1:2] == b"\x03"
        hint = " (a TLS record: should the URL be wss://?)" if tls else ""
        raise WebSocketHandshakeException(f"the answer is not HTTP/1.x: it starts with {data[:40]!r}{hint}")
    end = data.find(b"\n")
    if end < 0:
        return False
    _status_line(data[:end].decode("iso-8859-1").rstrip("\r"))
    return True


def check_upgrade(
    response: Response,
    request: HandshakeRequest,
    negotiate_extensions: Optional[Callable[[str], None]] = None,
) -> Optional[str]:
    """Check a 101 answer against the request; return the subprotocol (lowercased) or None.

    ``negotiate_extensions`` receives the Sec-WebSocket-Extensions value when
    the server sent one and the client offered extensions; it raises if the
    answer is not acceptable.
    """
    headers = response.headers
    _check_upgrade_header(headers.get_all("Upgrade"))
    # Connection is a list (RFC 7230 6.1): it may be repeated, "upgrade" may be in any of its lines.
    connection = ", ".join(headers.get_all("Connection"))
    if "upgrade" not in [t.lower() for t in split_tokens(connection)]:
        raise WebSocketHandshakeException(f"invalid Connection header in the response: {connection!r}")
    accepts = headers.get_all("Sec-WebSocket-Accept")
    if len(accepts) > 1:  # RFC 6455 11.3.3: it MUST NOT appear more than once
        raise WebSocketHandshakeException(f"several Sec-WebSocket-Accept headers in the response: {accepts!r}")
    accept = accepts[0] if accepts else None
    if accept != accept_key(request.key):
        raise WebSocketHandshakeException(f"invalid Sec-WebSocket-Accept in the response: {accept!r}")
    subprotocol = _check_subprotocol(headers.get_all("Sec-WebSocket-Protocol"), request.subprotocols)
    extensions = headers.get_all("Sec-WebSocket-Extensions")
    if extensions:
        selected = ", ".join(extensions)
        offered = request.extensions_offered
        if not offered or negotiate_extensions is None or not _names_offered(selected, offered):
            raise WebSocketHandshakeException(f"the server selected extensions that were not offered: {selected!r}")
        negotiate_extensions(selected)
    return subprotocol


def _check_upgrade_header(values: list[str]) -> None:
    """Upgrade names the one protocol switched to (RFC 6455 4.1): websocket, nothing beside it.

    Upgrade is a list (RFC 7230 6.7), so a proxy's exact repeat of "websocket"
    is the same answer; a second, different protocol is not.
    """
    tokens = split_tokens(", ".join(values))
    if not tokens or any(t.lower() != "websocket" for t in tokens):
        shown = values[0] if len(values) == 1 else (values or None)
        raise WebSocketHandshakeException(f"invalid Upgrade header in the response: {shown!r}")


def _extension_names(value: str) -> set[str]:
    """The extension names in a Sec-WebSocket-Extensions value, lowercased (parameters are ignored).

    A comma inside a quoted parameter value yields a stray name: in the
    answer that refuses it here, in the offer it lets it reach the
    extension's own negotiation, which refuses every name it does not know.
    """
    return {item.split(";", 1)[0].strip().lower() for item in value.split(",") if item.strip()}


def _names_offered(selected: str, offered: str) -> bool:
    return _extension_names(selected) <= _extension_names(offered)


def _check_subprotocol(values: list[str], offered: list[str]) -> Optional[str]:
    if not values:
        if offered:
            raise WebSocketHandshakeException("the server selected none of the offered subprotocols")
        return None
    if len(values) > 1 or "," in values[0]:
        raise WebSocketHandshakeException(f"the server selected several subprotocols: {values!r}")
    chosen = values[0].strip().lower()
    if chosen not in [p.lower() for p in offered]:
        raise WebSocketHandshakeException(f"the server selected a subprotocol that was not offered: {values[0]!r}")
    return chosen
