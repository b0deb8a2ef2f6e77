"""_frames: header encoding, close payloads, close code rules."""

from __future__ import annotations

import pytest

from websocket import WebSocketProtocolException
from websocket._sansio.frames import CloseCode, Opcode, encode_header, is_valid_close_code, parse_close, serialize_close


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (0, b"\x81\x80"),
        (125, b"\x81\xfd"),
        (126, b"\x81\xfe\x00\x7e"),
        (65535, b"\x81\xfe\xff\xff"),
        (65536, b"\x81\xff\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_header_uses_the_shortest_length_form(length: int, expected: bytes) -> None:
    assert encode_header(0x81, length, True) == expected


def test_unmasked_header_has_no_mask_bit() -> None:
    assert encode_header(0x82, 5, False) == b"\x82\x05"


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
def test_sendable_close_codes(code: int) -> None:
    assert is_valid_close_code(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_reserved_and_out_of_range_close_codes(code: int) -> None:
    assert not is_valid_close_code(code)


def test_close_payload_round_trip() -> None:
    payload = serialize_close(4001, "bye ✓")
    assert payload == b"\x0f\xa1" + "bye ✓".encode()
    assert parse_close(payload) == (4001, "bye ✓")


def test_empty_close_payload_means_no_status() -> None:
    assert parse_close(b"") == (CloseCode.NO_STATUS_RCVD, "")
    assert serialize_close(CloseCode.NO_STATUS_RCVD) == b""


def test_one_byte_close_payload_is_a_protocol_error() -> None:
    with pytest.raises(WebSocketProtocolException, match="1-byte"):
        parse_close(b"\x03")


def test_invalid_close_code_is_a_protocol_error() -> None:
    with pytest.raises(WebSocketProtocolException, match="1006"):
        parse_close((1006).to_bytes(2, "big"))


def test_invalid_utf8_reason_raises_unicode_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        parse_close(b"\x03\xe8\xff")


def test_close_reason_longer_than_a_control_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="123"):
        serialize_close(1000, "x" * 124)


def test_enums_equal_websocket_client_integers() -> None:
    import websocket

    assert Opcode.TEXT == websocket.ABNF.OPCODE_TEXT == 1
    assert CloseCode.MESSAGE_TOO_BIG == websocket.STATUS_MESSAGE_TOO_BIG == 1009
    assert [c.value for c in CloseCode] == [1000, 1001, 1002, 1003, *range(1005, 1016)]
