"""Offers made through header lines (Sec-WebSocket-Protocol, Sec-WebSocket-Extensions), byte for byte."""

from __future__ import annotations

import pytest

from websocket._exceptions import WebSocketHandshakeException
from websocket._sansio.handshake import HandshakeRequest, Response, accept_key, build_request, check_upgrade
from websocket._sansio.headers import Headers

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def _lines(request: HandshakeRequest, name: str) -> list[str]:
    text = request.data.decode()
    return [line for line in text.split("\r\n") if line.lower().startswith(name.lower() + ":")]


def _answer(*extra: tuple[str, str]) -> Response:
    items = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept_key(KEY)), *extra]
    return Response(101, "Switching Protocols", Headers(items), b"")


def test_protocol_lines_merge_into_one_after_the_option() -> None:
    request = build_request(
        resource="/",
        host="h",
        origin=None,
        subprotocols=["a", "B"],
        header_lines=["sec-websocket-protocol: b, c", "X-Y: 1", "SEC-WEBSOCKET-PROTOCOL: d"],
        key=KEY,
    )
    assert _lines(request, "Sec-WebSocket-Protocol") == ["Sec-WebSocket-Protocol: a,B,c,d"]
    assert request.subprotocols == ["a", "B", "c", "d"]
    assert _lines(request, "X-Y") == ["X-Y: 1"]


def test_no_protocol_line_without_an_offer() -> None:
    request = build_request(resource="/", host="h", origin=None, header_lines=["Sec-WebSocket-Protocol: "], key=KEY)
    assert _lines(request, "Sec-WebSocket-Protocol") == []
    assert request.subprotocols == []


def test_the_choice_among_header_offers_is_accepted_and_others_refused() -> None:
    request = build_request(resource="/", host="h", origin=None, header_lines=["Sec-WebSocket-Protocol: v5,v4"], key=KEY)
    assert check_upgrade(_answer(("Sec-WebSocket-Protocol", "V4")), request) == "v4"
    with pytest.raises(WebSocketHandshakeException, match="not offered"):
        check_upgrade(_answer(("Sec-WebSocket-Protocol", "v3")), request)
    with pytest.raises(WebSocketHandshakeException, match="none of the offered"):
        check_upgrade(_answer(), request)


def test_extension_lines_replace_the_own_offer_as_one_line() -> None:
    request = build_request(
        resource="/",
        host="h",
        origin=None,
        header_lines=["Sec-WebSocket-Extensions: x-a", "sec-websocket-extensions: permessage-deflate; client_max_window_bits"],
        extensions="permessage-deflate",
        key=KEY,
    )
    offered = "x-a, permessage-deflate; client_max_window_bits"
    assert _lines(request, "Sec-WebSocket-Extensions") == [f"Sec-WebSocket-Extensions: {offered}"]
    assert request.extensions_offered == offered


def test_an_extension_name_outside_the_offer_is_refused_before_negotiation() -> None:
    request = build_request(resource="/", host="h", origin=None, header_lines=["Sec-WebSocket-Extensions: x-a"], key=KEY)
    seen: list[str] = []
    with pytest.raises(WebSocketHandshakeException, match="not offered"):
        check_upgrade(_answer(("Sec-WebSocket-Extensions", "x-b")), request, seen.append)
    assert seen == []
    check_upgrade(_answer(("Sec-WebSocket-Extensions", "X-A; p=1")), request, seen.append)
    assert seen == ["X-A; p=1"]


def test_a_header_offer_cannot_inject_lines() -> None:
    with pytest.raises(ValueError, match="subprotocol"):
        build_request(resource="/", host="h", origin=None, header_lines=["Sec-WebSocket-Protocol: a\r\nX: 1"], key=KEY)
