"""websocket-client's private names that real code and its own test suite import, working over real sockets.

Also the small behaviours its suite checks: ``str(ABNF)``, ``validate_utf8`` on
a str, ``shutdown()`` of a socket whose descriptor is gone.
"""

from __future__ import annotations

import base64
import os
import socket
from typing import Any

import pytest
from _raw_server import accept_and_collect

import websocket
from websocket._abnf import ABNF, continuous_frame, frame_buffer
from websocket._dispatcher import DispatcherBase
from websocket._handshake import _create_sec_websocket_key, _get_handshake_headers, _get_resp_headers, _validate
from websocket._sansio.handshake import accept_key
from websocket._url import _is_address_in_network, _is_no_proxy_host
from websocket._utils import validate_utf8


def test_frame_reader_names_in_abnf() -> None:
    from websocket import _framebuffer

    assert frame_buffer is _framebuffer.frame_buffer
    assert continuous_frame is _framebuffer.continuous_frame
    with pytest.raises(AttributeError):
        _ = websocket._abnf.no_such_name  # type: ignore[attr-defined]


def test_dispatcher_base_runs_timeouts_reconnects_and_sends() -> None:
    app = object()
    base = DispatcherBase(app, 5.0)
    assert (base.app, base.ping_timeout) == (app, 5.0)
    ran: list[Any] = []
    base.timeout(None, lambda: ran.append("now"))
    base.timeout(0.01, lambda: ran.append("later"))
    base.reconnect(0, lambda **kw: ran.append(kw))
    assert ran == ["now", "later", {"reconnecting": True}]
    a, b = socket.socketpair()
    with a, b:
        assert base.send(a, "hé") == 3
        b.settimeout(5)
        assert b.recv(16) == "hé".encode()


def _answer(status_line: str, *headers: str, body: bytes = b"") -> bytes:
    return ("\r\n".join([status_line, *headers]) + "\r\n\r\n").encode("latin-1") + body


def test_get_resp_headers_reads_a_101_and_leaves_what_follows() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.sendall(_answer("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "X-A: 1") + b"\x81\x00")
        status, headers = _get_resp_headers(a)
        assert status == 101
        assert headers["upgrade"] == "websocket" and headers["x-a"] == "1"
        assert a.recv(2) == b"\x81\x00"


def test_get_resp_headers_refuses_other_statuses_with_the_body() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.sendall(_answer("HTTP/1.1 403 Forbidden", "Content-Length: 4", body=b"nope"))
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            _get_resp_headers(a)
        assert info.value.status_code == 403
        assert info.value.resp_body == b"nope"


def test_get_resp_headers_refuses_a_bad_content_length() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.sendall(_answer("HTTP/1.1 500 Oops", "Content-Length: many"))
        with pytest.raises(websocket.WebSocketException, match="content-length"):
            _get_resp_headers(a)


def test_validate_checks_the_upgrade_answer() -> None:
    key = _create_sec_websocket_key()
    assert len(base64.b64decode(key)) == 16
    good = {"upgrade": "websocket", "connection": "upgrade", "sec-websocket-accept": accept_key(key)}
    assert _validate(good, key, None) == (True, None)
    assert _validate({**good, "sec-websocket-accept": "wrong"}, key, None) == (False, None)
    assert _validate({**good, "upgrade": "h2c"}, key, None) == (False, None)
    assert _validate({**good, "sec-websocket-protocol": "Sub1"}, key, ["sub1", "sub2"]) == (True, "sub1")
    assert _validate({**good, "sec-websocket-protocol": "other"}, key, ["sub1"]) == (False, None)


def test_get_handshake_headers_builds_websocket_clients_lines() -> None:
    lines, key = _get_handshake_headers("/chat", "ws://example.test:8080/chat", "example.test", 8080, {"subprotocols": ["a"]})
    assert lines[0] == "GET /chat HTTP/1.1"
    assert lines[-2:] == ["", ""]
    assert "Host: example.test:8080" in lines
    assert "Origin: http://example.test:8080" in lines
    assert f"Sec-WebSocket-Key: {key}" in lines
    assert "Sec-WebSocket-Protocol: a" in lines
    lines, _ = _get_handshake_headers("/", "wss://example.test/", "example.test", 443, {"suppress_host": True})
    assert not any(line.startswith("Host:") for line in lines)
    assert "Origin: https://example.test" in lines


def test_no_proxy_helpers() -> None:
    assert _is_address_in_network("192.168.1.5", "192.168.1.0/24")
    assert not _is_address_in_network("10.0.0.1", "192.168.1.0/24")
    assert not _is_address_in_network("::1", "127.0.0.0/8")
    assert not _is_address_in_network("not an ip", "127.0.0.0/8")
    assert _is_no_proxy_host("api.example.test", [".example.test"])
    assert not _is_no_proxy_host("example.org", ["example.test"])


def test_str_of_abnf_and_validate_utf8_on_str() -> None:
    assert str(ABNF(0, 0, 0, 0, 1, 1, "abcdefghij")) == "fin=0 opcode=1 data=abcdefghij"
    assert str(ABNF(1, 0, 0, 0, 2, 1, b"ab")) == "fin=1 opcode=2 data=b'ab'"
    assert validate_utf8("κόσμε") is True
    assert validate_utf8("\udc80") is False
    assert validate_utf8(b"\xce\xba") is True
    assert validate_utf8(bytearray(b"\xff")) is False


def test_shutdown_when_the_descriptor_was_closed_underneath(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    # The descriptor is closed under the socket object, which still holds its number:
    # its close() then fails with EBADF (nothing in this test opens a descriptor meanwhile).
    os.close(ws.sock.fileno())
    ws.shutdown()
    assert ws.sock is None and not ws.connected
    srv.join()
