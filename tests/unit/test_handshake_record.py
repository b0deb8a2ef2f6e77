"""websocket-client's ``handshake_response`` record, which parses its headers only when asked."""

from __future__ import annotations

from websocket._handshake import handshake_response

HEAD = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Thing: Yes\r\n\r\n"
)


def test_record_from_head_gives_websocket_clients_header_dict() -> None:
    record = handshake_response.from_head(101, HEAD, "chat")
    assert record.status == 101 and record.subprotocol == "chat"
    headers = record.headers
    assert headers == {"upgrade": "websocket", "connection": "Upgrade", "set-cookie": "a=1; b=2", "x-thing": "Yes"}
    assert record.headers is headers  # parsed once; a caller's changes stick


def test_record_built_like_websocket_client_keeps_the_dict_given() -> None:
    given = {"upgrade": "websocket"}
    record = handshake_response(101, given, None)
    assert record.headers is given
    record.headers = {"other": "1"}
    assert record.headers == {"other": "1"}
