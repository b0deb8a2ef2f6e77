"""What the protocol core hands to the I/O layer: one object per received event."""

from __future__ import annotations

from typing import Union

from .._exceptions import WebSocketException

__all__ = ["Message", "Fragment", "Ping", "Pong", "Close", "Failure", "EndOfStream", "Event"]


class Message:
    """A whole data message: ``data`` is str for validated text, else bytes."""

    __slots__ = ("opcode", "data")

    def __init__(self, opcode: int, data: str | bytes) -> None:
        self.opcode = opcode
        self.data = data

    def __repr__(self) -> str:
        return f"Message(opcode={self.opcode}, data={self.data[:40]!r}, size={len(self.data)})"


class Fragment:
    """One data frame of a message, delivered as it arrives (``fire_cont_frame`` mode)."""

    __slots__ = ("opcode", "data", "fin")

    def __init__(self, opcode: int, data: bytes, fin: bool) -> None:
        self.opcode = opcode
        self.data = data
        self.fin = fin


class Ping:
    """A ping from the server; the pong is queued when this event is consumed."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Pong:
    """A pong from the server."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Close:
    """The server's close frame: ``code`` is 1005 when the frame carried none."""

    __slots__ = ("code", "reason", "payload")

    def __init__(self, code: int, reason: str, payload: bytes) -> None:
        self.code = code
        self.reason = reason
        self.payload = payload


class Failure:
    """The server broke the protocol: fail the connection with ``code`` and raise ``exc``."""

    __slots__ = ("code", "exc")

    def __init__(self, code: int, exc: WebSocketException) -> None:
        self.code = code
        self.exc = exc


class EndOfStream:
    """The server closed the TCP connection."""

    __slots__ = ()


Event = Union[Message, Fragment, Ping, Pong, Close, Failure, EndOfStream]
