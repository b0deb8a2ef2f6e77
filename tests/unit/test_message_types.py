"""_wsmessage: WSMsgType, WSMessage, the type-mismatch error, and events turned into messages (no sockets)."""

from __future__ import annotations

import json
import pickle
import re

import pytest

import websocket
from websocket import CloseCode, Opcode, WebSocketMessageTypeError, WSMessage, WSMsgType
from websocket._sansio.events import Close, EndOfStream, Failure, Fragment, Message, Ping, Pong
from websocket._wsmessage import closed_error, closed_message, error_message, is_normal_close, message_from_event

# ----------------------------------------------------------- enums


def test_public_names_are_exported() -> None:
    for name in ("WSMsgType", "WSMessage", "WebSocketMessageTypeError", "Opcode", "CloseCode"):
        assert name in websocket.__all__
        assert getattr(websocket, name) is not None


@pytest.mark.parametrize("name", ["CONT", "TEXT", "BINARY", "CLOSE", "PING", "PONG"])
def test_opcode_equals_abnf_constant(name: str) -> None:
    assert Opcode[name] == getattr(websocket.ABNF, f"OPCODE_{name}")


def test_message_types_equal_the_opcodes() -> None:
    assert WSMsgType.CONTINUATION == Opcode.CONT == 0
    for name in ("TEXT", "BINARY", "CLOSE", "PING", "PONG"):
        assert WSMsgType[name] == Opcode[name]
    # The flags lie outside the 4-bit opcode space, so no frame can be mistaken for them.
    assert {WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR} == {0x100, 0x101, 0x102}


STATUS_NAMES = {
    1000: "STATUS_NORMAL",
    1001: "STATUS_GOING_AWAY",
    1002: "STATUS_PROTOCOL_ERROR",
    1003: "STATUS_UNSUPPORTED_DATA_TYPE",
    1005: "STATUS_STATUS_NOT_AVAILABLE",
    1006: "STATUS_ABNORMAL_CLOSED",
    1007: "STATUS_INVALID_PAYLOAD",
    1008: "STATUS_POLICY_VIOLATION",
    1009: "STATUS_MESSAGE_TOO_BIG",
    1010: "STATUS_INVALID_EXTENSION",
    1011: "STATUS_UNEXPECTED_CONDITION",
    1012: "STATUS_SERVICE_RESTART",
    1013: "STATUS_TRY_AGAIN_LATER",
    1014: "STATUS_BAD_GATEWAY",
    1015: "STATUS_TLS_HANDSHAKE_ERROR",
}


@pytest.mark.parametrize(("code", "status"), sorted(STATUS_NAMES.items()))
def test_close_code_equals_status_constant(code: int, status: str) -> None:
    assert CloseCode(code) == getattr(websocket, status) == code


@pytest.mark.parametrize("code", range(1000, 1016))
def test_close_code_docstring_gives_every_meaning(code: int) -> None:
    doc = CloseCode.__doc__ or ""
    line = next((ln for ln in doc.splitlines() if re.search(rf"\b{code}\b", ln)), None)
    assert line is not None, f"{code} is not explained in CloseCode's docstring"
    assert len(line.split(":", 1)[-1].strip()) > 10  # a meaning, not just the number
    if code != 1004:
        assert CloseCode(code).name in line


# ----------------------------------------------------------- WSMessage


def test_message_is_immutable_and_hashable() -> None:
    msg = WSMessage(WSMsgType.TEXT, "hi")
    assert msg.extra is None
    with pytest.raises(AttributeError):
        msg.type = WSMsgType.BINARY  # type: ignore[misc]
    assert {msg: 1}[WSMessage(WSMsgType.TEXT, "hi", None)] == 1
    assert pickle.loads(pickle.dumps(msg)) == msg


def test_repr_shortens_big_payloads() -> None:
    text = repr(WSMessage(WSMsgType.BINARY, b"x" * 10_000))
    assert len(text) < 200
    assert "10000 bytes" in text
    assert repr(WSMessage(WSMsgType.TEXT, "hi")) == "WSMessage(type=<WSMsgType.TEXT: 1>, data='hi', extra=None)"


def test_json_decodes_text_and_binary() -> None:
    assert WSMessage(WSMsgType.TEXT, '{"a": [1]}').json() == {"a": [1]}
    assert WSMessage(WSMsgType.BINARY, b"[true]").json() == [True]


def test_json_uses_the_given_loads() -> None:
    calls: list[object] = []

    def loads(raw: object) -> str:
        calls.append(raw)
        return "decoded"

    assert WSMessage(WSMsgType.TEXT, "raw").json(loads=loads) == "decoded"
    assert calls == ["raw"]


def test_json_decoder_errors_pass_through() -> None:
    with pytest.raises(json.JSONDecodeError):
        WSMessage(WSMsgType.TEXT, "{").json()


@pytest.mark.parametrize(
    "msg",
    [
        WSMessage(WSMsgType.CLOSE, CloseCode.NORMAL, ""),
        WSMessage(WSMsgType.PING, b"{}"),
        WSMessage(WSMsgType.CLOSED, CloseCode.ABNORMAL_CLOSURE),
        WSMessage(WSMsgType.ERROR, ValueError("x")),
    ],
    ids=lambda m: m.type.name,
)
def test_json_of_a_non_data_message_raises_type_error(msg: WSMessage) -> None:
    with pytest.raises(WebSocketMessageTypeError, match=f"TEXT or BINARY message, got {msg.type.name}") as info:
        msg.json()
    assert info.value.received is msg


def test_type_error_is_both_websocket_and_type_error() -> None:
    assert issubclass(WebSocketMessageTypeError, websocket.WebSocketException)
    assert issubclass(WebSocketMessageTypeError, TypeError)
    assert WebSocketMessageTypeError("plain").received is None


# ----------------------------------------------------------- events to messages


def test_text_event() -> None:
    assert message_from_event(Message(1, "ü")) == (WSMsgType.TEXT, "ü", None)


def test_unvalidated_text_event_is_decoded() -> None:
    assert message_from_event(Message(1, "ü".encode())) == (WSMsgType.TEXT, "ü", None)


def test_unvalidated_invalid_text_raises_payload_error() -> None:
    with pytest.raises(websocket.WebSocketPayloadException, match="decode") as info:
        message_from_event(Message(1, b"\xff"))
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_binary_ping_pong_events() -> None:
    assert message_from_event(Message(2, b"\x00")) == (WSMsgType.BINARY, b"\x00", None)
    assert message_from_event(Ping(b"p")) == (WSMsgType.PING, b"p", None)
    assert message_from_event(Pong(b"q")) == (WSMsgType.PONG, b"q", None)


def test_close_event_with_registered_and_private_codes() -> None:
    registered = message_from_event(Close(1001, "away", b"\x03\xe9away"))
    assert registered == (WSMsgType.CLOSE, 1001, "away")
    assert registered.data is CloseCode.GOING_AWAY
    private = message_from_event(Close(4321, "", b"\x10\xe1"))
    assert private == (WSMsgType.CLOSE, 4321, "")
    assert type(private.data) is int


@pytest.mark.parametrize(
    "event",
    [Fragment(1, b"a", False), Failure(1002, websocket.WebSocketProtocolException("x")), EndOfStream()],
    ids=["fragment", "failure", "eof"],
)
def test_non_message_events_are_refused(event: object) -> None:
    with pytest.raises(TypeError, match="events have no WSMessage"):
        message_from_event(event)  # type: ignore[arg-type]


def test_closed_and_error_messages() -> None:
    assert closed_message() == (WSMsgType.CLOSED, CloseCode.ABNORMAL_CLOSURE, None)
    assert closed_message(4000, "r") == (WSMsgType.CLOSED, 4000, "r")
    exc = OSError("reset")
    assert error_message(exc) == (WSMsgType.ERROR, exc, None)


@pytest.mark.parametrize(
    ("code", "normal"), [(1000, True), (1001, True), (1005, True), (1002, False), (1011, False), (4000, False)]
)
def test_normal_close_codes(code: int, normal: bool) -> None:
    assert is_normal_close(code) is normal


def test_closed_error_wording_and_attributes() -> None:
    exc = closed_error(1000, "bye")
    assert str(exc) == "Connection closed normally (code 1000): bye"
    assert (exc.status_code, exc.reason) == (1000, "bye")
    assert str(closed_error(4001, "")) == "Connection closed (code 4001)"
