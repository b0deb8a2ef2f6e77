"""Typed messages and aiohttp-style receive helpers on the blocking WebSocket.

``MessageMixin`` adds ``receive``, ``receive_str``, ``receive_bytes``,
``receive_json``, ``send_json`` and ``messages`` to ``WebSocket`` without
touching websocket-client's own methods: ``recv`` and ``for msg in ws`` behave
exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Callable, Optional, Protocol, Union, cast

from ._conn import Conn
from ._exceptions import (
    WebSocketConcurrencyError,
    WebSocketConnectionClosedException,
    WebSocketException,
    WebSocketMessageTypeError,
    WebSocketTimeoutException,
)
from ._sansio.events import Event
from ._sansio.frames import Opcode
from ._wsmessage import (
    JSONLoads,
    WSMessage,
    WSMsgType,
    closed_error,
    closed_message,
    describe,
    error_message,
    is_normal_close,
    message_from_event,
)

__all__ = ["MessageMixin"]

JSONDumps = Callable[[Any], Union[str, bytes]]


class _Host(Protocol):
    """What the mixin uses of ``WebSocket``."""

    _conn: Conn

    @property
    def close_code(self) -> Optional[int]: ...

    @property
    def close_reason(self) -> Optional[str]: ...

    def _receive(self, timeout: Optional[float], control: bool) -> Event: ...

    def send(self, payload: Union[bytes, str], opcode: int = ...) -> int: ...


class MessageMixin:
    """Methods mixed into ``WebSocket``: typed receive, JSON helpers, a message iterator."""

    def receive(self: _Host, timeout: Optional[float] = None, *, control: bool = False) -> WSMessage:
        """Receive the next message as a ``WSMessage`` (``type``, ``data``, ``extra``).

        ``timeout`` (seconds) bounds this call only, 0 polls; None uses the
        connection's timeout. Pings are answered and pongs consumed as always;
        with ``control=True`` they are also returned (PING / PONG messages).

        The end of the connection is reported once, as a message: CLOSE
        (``data`` the server's close code, ``extra`` its reason) when the
        server's close frame arrives, CLOSED (``data`` 1006) when the
        connection ends without one, ERROR (``data`` the exception) when it
        fails (protocol violation, reset). Calling again after that raises
        ``WebSocketConnectionClosedException``, so a loop that ignores the end
        stops instead of spinning. Raised, not returned, because the connection
        stays usable: ``WebSocketTimeoutException``, ``WebSocketConcurrencyError``
        (another thread is receiving), ``WebSocketPayloadException`` for invalid
        text on a ``skip_utf8_validation`` connection.
        """
        _check_can_receive(self)
        try:
            event = self._receive(timeout, control)
        except (WebSocketTimeoutException, WebSocketConcurrencyError):
            raise
        except WebSocketConnectionClosedException as exc:
            return closed_message(exc.status_code, exc.reason)
        except (WebSocketException, OSError) as exc:
            return error_message(exc)
        return message_from_event(event)

    def receive_str(self: _Host, *, timeout: Optional[float] = None) -> str:
        """Receive the next message, which must be text, and return its str.

        Raises ``WebSocketMessageTypeError`` (its ``received`` holds the message)
        for a binary message, ``WebSocketConnectionClosedException`` (with
        ``status_code`` and ``reason``) when the server closes instead, and the
        exceptions of ``recv`` otherwise.
        """
        return cast(str, _expect(_receive_data(self, timeout), WSMsgType.TEXT))

    def receive_bytes(self: _Host, *, timeout: Optional[float] = None) -> bytes:
        """Receive the next message, which must be binary, and return its bytes (see ``receive_str``)."""
        return cast(bytes, _expect(_receive_data(self, timeout), WSMsgType.BINARY))

    def receive_json(self: _Host, *, loads: JSONLoads = json.loads, timeout: Optional[float] = None) -> Any:
        """Receive the next message, which must be text, and decode it with ``loads``.

        As ``receive_str``; errors of ``loads`` (``json.JSONDecodeError`` for
        the default) are raised unchanged.
        """
        return loads(_expect(_receive_data(self, timeout), WSMsgType.TEXT))

    def send_json(self: _Host, data: Any, dumps: JSONDumps = json.dumps) -> int:
        """Send ``dumps(data)`` as a text message; ``dumps`` may return str or UTF-8 bytes (orjson).

        Returns the number of bytes written, like ``send``.
        """
        return self.send(dumps(data), Opcode.TEXT)

    def messages(self: _Host, timeout: Optional[float] = None, *, control: bool = False) -> Iterator[WSMessage]:
        """Yield each message as a ``WSMessage`` until the conversation ends.

        The loop ends quietly when the server closes with 1000, 1001 or no
        code, when this side started the closing handshake (``close()`` or
        ``send_close()`` from the loop body), or when the connection is
        already closed. It raises ``WebSocketConnectionClosedException`` (with
        ``status_code`` and ``reason``) when the server closes with any other
        code, and the exceptions of ``recv`` when the connection is lost or
        fails, or ``timeout`` passes without a message.
        ``for msg in ws`` keeps websocket-client's endless ``recv()`` loop.
        """
        _refuse_fragments(self)
        while self._conn.sock is not None and self.close_code is None:
            closing = self._conn.proto.close_sent is not None
            msg = message_from_event(self._receive(timeout, control))
            if msg.type is WSMsgType.CLOSE:
                if closing or is_normal_close(msg.data):
                    return
                raise closed_error(msg.data, msg.extra)
            yield msg


def _check_can_receive(host: _Host) -> None:
    """Refuse to receive on a connection that is closed, or that delivers fragments."""
    _refuse_fragments(host)
    code = host.close_code
    if code is not None:
        raise closed_error(code, host.close_reason)
    if host._conn.sock is None:
        raise WebSocketConnectionClosedException("socket is already closed.")


def _refuse_fragments(host: _Host) -> None:
    if host._conn.proto.fire_cont_frame:
        raise WebSocketException(
            "this connection delivers fragments (fire_cont_frame=True), not whole messages: use recv_data_frame()"
        )


def _receive_data(host: _Host, timeout: Optional[float]) -> WSMessage:
    """The next data message; the server's close frame raises WebSocketConnectionClosedException."""
    _check_can_receive(host)
    msg = message_from_event(host._receive(timeout, False))
    if msg.type is WSMsgType.CLOSE:
        raise closed_error(msg.data, msg.extra)
    return msg


def _expect(msg: WSMessage, kind: WSMsgType) -> Any:
    if msg.type is not kind:
        raise WebSocketMessageTypeError(f"expected a {kind.name} message, received {describe(msg)}", received=msg)
    return msg.data
