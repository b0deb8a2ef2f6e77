"""Typed messages in the style of aiohttp: ``WSMsgType``, ``WSMessage`` and the type-mismatch error.

``WebSocket.receive()`` returns a ``WSMessage``; ``message_from_event`` builds
one from a protocol event, for any part of the library that hands messages to
user code (``WebSocketApp`` included).
"""

from __future__ import annotations

import enum
import json
from typing import Any, Callable, NamedTuple, Optional

from ._exceptions import (
    WebSocketConnectionClosedException,
    WebSocketMessageTypeError,
    WebSocketPayloadException,
)
from ._sansio.events import Close, Event, Message, Ping, Pong
from ._sansio.frames import CloseCode, Opcode

__all__ = ["WSMsgType", "WSMessage", "WebSocketMessageTypeError"]

JSONLoads = Callable[[Any], Any]

# A close with one of these codes ends a conversation normally (1005: the close
# frame carried no code at all), the same set the websockets library treats as OK.
NORMAL_CLOSE_CODES = frozenset((CloseCode.NORMAL, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RCVD))


class WSMsgType(enum.IntEnum):
    """What a ``WSMessage`` holds; the frame types equal ``Opcode`` and ``ABNF.OPCODE_*``.

    TEXT (1): a text message, ``data`` is str.
    BINARY (2): a binary message, ``data`` is bytes.
    PING (9) / PONG (10): a control frame (only with ``receive(control=True)``), ``data`` is its payload bytes.
    CLOSE (8): the server's close frame, ``data`` is the close code (a ``CloseCode`` when registered),
    ``extra`` the reason ("" when none).
    CLOSED (0x101): not a frame: the connection ended without a close frame, ``data`` is 1006.
    ERROR (0x102): not a frame: the connection failed, ``data`` is the exception.
    CONTINUATION (0) and CLOSING (0x100) are never returned; they exist so that
    code ported from aiohttp, which names them, keeps running.
    """

    CONTINUATION = Opcode.CONT.value
    TEXT = Opcode.TEXT.value
    BINARY = Opcode.BINARY.value
    PING = Opcode.PING.value
    PONG = Opcode.PONG.value
    CLOSE = Opcode.CLOSE.value
    CLOSING = 0x100
    CLOSED = 0x101
    ERROR = 0x102


class WSMessage(NamedTuple):
    """One received message: ``type``, ``data`` and ``extra`` (see ``WSMsgType`` for what each holds).

    A named tuple, so it is immutable and unpacks as ``kind, data, extra = msg``.
    """

    type: WSMsgType
    data: Any
    extra: Optional[str] = None

    def json(self, *, loads: JSONLoads = json.loads) -> Any:
        """Decode ``data`` of a TEXT or BINARY message with ``loads`` (default ``json.loads``).

        Errors of ``loads`` (``json.JSONDecodeError`` for the default) are raised
        unchanged; any other message type raises ``WebSocketMessageTypeError``.
        """
        if self.type is not WSMsgType.TEXT and self.type is not WSMsgType.BINARY:
            raise WebSocketMessageTypeError(f"json() needs a TEXT or BINARY message, got {describe(self)}", received=self)
        return loads(self.data)

    def __repr__(self) -> str:
        return f"WSMessage(type={self.type!r}, data={_short(self.data)}, extra={self.extra!r})"


def message_from_event(event: Event) -> WSMessage:
    """The ``WSMessage`` for a whole message, ping, pong or close event.

    Text that arrived without UTF-8 validation (``skip_utf8_validation``) is
    decoded here; invalid UTF-8 raises ``WebSocketPayloadException``. Fragments,
    failures and the end of the stream are not messages: they raise TypeError.
    """
    if isinstance(event, Message):
        data = event.data
        if event.opcode == Opcode.TEXT:
            return WSMessage(WSMsgType.TEXT, data if isinstance(data, str) else decode_text(data))
        return WSMessage(WSMsgType.BINARY, data)
    if isinstance(event, Ping):
        return WSMessage(WSMsgType.PING, event.payload)
    if isinstance(event, Pong):
        return WSMessage(WSMsgType.PONG, event.payload)
    if isinstance(event, Close):
        return WSMessage(WSMsgType.CLOSE, as_close_code(event.code), event.reason)
    raise TypeError(f"{type(event).__name__} events have no WSMessage")


def closed_message(code: Optional[int] = None, reason: Optional[str] = None) -> WSMessage:
    """A CLOSED message: the close code is 1006 (abnormal closure) unless a close frame said otherwise."""
    return WSMessage(WSMsgType.CLOSED, as_close_code(CloseCode.ABNORMAL_CLOSURE if code is None else code), reason)


def error_message(exc: BaseException) -> WSMessage:
    """An ERROR message carrying the exception that failed the connection."""
    return WSMessage(WSMsgType.ERROR, exc)


def as_close_code(code: int) -> int:
    """``code`` as a ``CloseCode`` member when it is a registered code, else the plain int."""
    try:
        return CloseCode(code)
    except ValueError:
        return code


def is_normal_close(code: int) -> bool:
    """Whether a close with ``code`` ends the conversation normally (1000, 1001, or no code)."""
    return code in NORMAL_CLOSE_CODES


def closed_error(
    code: Optional[int], reason: Optional[str], *, normal: Optional[bool] = None
) -> WebSocketConnectionClosedException:
    """The exception for "the server closed the connection", worded like websocket-client's.

    ``normal`` says whether to call the close normal (default: 1000, 1001 and no code).
    """
    if code is None:
        text = "Connection closed"
    else:
        how = "normally " if (is_normal_close(code) if normal is None else normal) else ""
        text = f"Connection closed {how}(code {code})"
    return WebSocketConnectionClosedException(text + (f": {reason}" if reason else ""), status_code=code, reason=reason)


def describe(msg: WSMessage) -> str:
    """A short human description of a message for error texts: type and a data summary."""
    return f"{msg.type.name} {_short(msg.data)}"


def _short(data: Any, limit: int = 40) -> str:
    if isinstance(data, (str, bytes)) and len(data) > limit:
        return f"{data[:limit]!r}... ({len(data)} {'chars' if isinstance(data, str) else 'bytes'})"
    return repr(data)


def decode_text(data: bytes) -> str:
    """Text payload bytes as str; WebSocketPayloadException (cause chained) when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebSocketPayloadException(f"cannot decode text message: {exc}") from exc
