"""_sansio.handshake: the request byte for byte, the accept key, the response head and the upgrade checks."""

from __future__ import annotations

import pytest

from websocket import WebSocketHandshakeException
from websocket._sansio.handshake import accept_key, build_request, check_upgrade, find_head_end, parse_response_head

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def test_accept_key_is_the_rfc_example() -> None:
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 section 1.3


def test_request_in_websocket_clients_header_order() -> None:
    request = build_request(
        resource="/chat?x=1",
        host="example.com:8080",
        origin="http://example.com",
        subprotocols=["chat"],
        header_lines=["X-Token: t"],
        cookie="a=b",
        extensions="permessage-deflate",
        key=KEY,
    )
    assert request.data == (
        b"GET /chat?x=1 HTTP/1.1\r\n"
        b"Upgrade: websocket\r\n"
        b"Host: example.com:8080\r\n"
        b"Origin: http://example.com\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Protocol: chat\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
        b"X-Token: t\r\n"
        b"Cookie: a=b\r\n"
        b"\r\n"
    )
    assert request.key == KEY and request.extensions_offered == "permessage-deflate"


def test_user_key_and_extensions_replace_the_generated_ones() -> None:
    lines = ["Sec-WebSocket-Key: mine", "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover"]
    request = build_request(resource="/", host="h", origin=None, header_lines=lines, extensions="permessage-deflate")
    assert request.key == "mine"
    assert request.data.count(b"Sec-WebSocket-Key:") == 1 and request.data.count(b"Sec-WebSocket-Extensions:") == 1
    assert request.extensions_offered == "permessage-deflate; client_no_context_takeover"


def test_generated_keys_differ() -> None:
    keys = {build_request(resource="/", host="h", origin=None).key for _ in range(20)}
    assert len(keys) == 20


@pytest.mark.parametrize("field", ["resource", "host", "origin", "cookie"])
def test_injection_is_refused_in_every_field(field: str) -> None:
    args = {"resource": "/", "host": "h", "origin": None, field: "x\r\nEvil: 1"}
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        build_request(**args)  # type: ignore[arg-type]


def test_head_end_is_found_across_both_line_endings() -> None:
    assert find_head_end(b"HTTP/1.1 101 OK\r\nA: b\r\n\r\nframe") == len(b"HTTP/1.1 101 OK\r\nA: b\r\n\r\n")
    assert find_head_end(b"HTTP/1.1 101 OK\nA: b\n\nframe") == len(b"HTTP/1.1 101 OK\nA: b\n\n")
    assert find_head_end(b"HTTP/1.1 101 OK\r\nA: b\r\n") == -1


def test_response_head_parses_status_reason_and_headers() -> None:
    response = parse_response_head(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX:  spaced  \r\n\r\n")
    assert (response.status, response.reason) == (101, "Switching Protocols")
    assert response.headers.get("upgrade") == "websocket" and response.headers.get("x") == "spaced"


def _answer(*lines: str) -> bytes:
    return ("HTTP/1.1 101 Switching Protocols\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


GOOD = ("Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Accept: {accept_key(KEY)}")


def test_a_valid_upgrade_returns_the_chosen_subprotocol() -> None:
    plain = build_request(resource="/", host="h", origin=None, key=KEY)
    assert check_upgrade(parse_response_head(_answer(*GOOD)), plain) is None
    request = build_request(resource="/", host="h", origin=None, subprotocols=["Chat", "v2"], key=KEY)
    assert check_upgrade(parse_response_head(_answer(*GOOD, "Sec-WebSocket-Protocol: chat")), request) == "chat"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (GOOD[1:], "Upgrade"),
        ((GOOD[0], "Connection: keep-alive", GOOD[2]), "Connection"),
        ((*GOOD[:2], "Sec-WebSocket-Accept: wrong"), "Sec-WebSocket-Accept"),
        ((*GOOD, "Sec-WebSocket-Protocol: other"), "not offered"),
        (GOOD, "none of the offered subprotocols"),
    ],
)
def test_bad_upgrades_are_refused_with_what_was_wrong(lines: tuple[str, ...], message: str) -> None:
    request = build_request(resource="/", host="h", origin=None, subprotocols=["chat"], key=KEY)
    with pytest.raises(WebSocketHandshakeException, match=message):
        check_upgrade(parse_response_head(_answer(*lines)), request)


def test_an_extension_nobody_offered_is_refused() -> None:
    request = build_request(resource="/", host="h", origin=None, key=KEY)
    with pytest.raises(WebSocketHandshakeException, match="not offered"):
        check_upgrade(parse_response_head(_answer(*GOOD, "Sec-WebSocket-Extensions: permessage-deflate")), request)
