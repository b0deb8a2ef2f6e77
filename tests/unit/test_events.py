"""_sansio.events: small slotted records, one per received event."""

from __future__ import annotations

import pytest

from websocket import WebSocketProtocolException
from websocket._sansio.events import Close, EndOfStream, Event, Failure, Fragment, Message, Ping, Pong

EVENTS: list[Event] = [
    Message(1, "text"),
    Fragment(2, b"part", False),
    Ping(b"p"),
    Pong(b"q"),
    Close(1000, "bye", b"\x03\xe8bye"),
    Failure(1002, WebSocketProtocolException("bad")),
    EndOfStream(),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_are_slotted(event: Event) -> None:
    # Made per message on the hot path: no per-instance dict.
    assert not hasattr(event, "__dict__")
    with pytest.raises(AttributeError):
        event.unexpected = 1  # type: ignore[union-attr]


def test_fields_hold_what_was_given() -> None:
    message, fragment, ping, pong, close = EVENTS[:5]
    assert (message.opcode, message.data) == (1, "text")  # type: ignore[union-attr]
    assert (fragment.opcode, fragment.data, fragment.fin) == (2, b"part", False)  # type: ignore[union-attr]
    assert ping.payload == b"p" and pong.payload == b"q"  # type: ignore[union-attr]
    assert (close.code, close.reason, close.payload) == (1000, "bye", b"\x03\xe8bye")  # type: ignore[union-attr]
    assert isinstance(EVENTS[5].exc, WebSocketProtocolException)  # type: ignore[union-attr]


def test_message_repr_is_short_for_big_payloads() -> None:
    text = repr(Message(2, b"x" * 1_000_000))
    assert len(text) < 120 and "size=1000000" in text
