"""WebSocketApp's opt-in ``on_receive(ws, msg)``: whole messages as WSMessage objects."""

from __future__ import annotations

import json
from typing import Any

from _app_helpers import run_app
from _raw_server import RawConn
from _wire import OP_TEXT

import websocket
from websocket import WebSocketApp, WSMessage, WSMsgType


def test_on_receive_gets_typed_messages_after_on_message(echo_server) -> None:
    order: list[Any] = []

    def on_open(ws: WebSocketApp) -> None:
        ws.send('{"n": 1}')
        ws.send_bytes(b"\x00\x01")

    def on_message(ws: WebSocketApp, message: Any) -> None:
        order.append(("message", message))

    def on_receive(ws: WebSocketApp, msg: WSMessage) -> None:
        order.append(("receive", msg))
        if msg.type is WSMsgType.BINARY:
            ws.close()

    app = WebSocketApp(echo_server.url_for("/echo"), on_open=on_open, on_message=on_message, on_receive=on_receive)
    assert run_app(app) is False
    assert order == [
        ("message", '{"n": 1}'),
        ("receive", WSMessage(WSMsgType.TEXT, '{"n": 1}')),
        ("message", b"\x00\x01"),
        ("receive", WSMessage(WSMsgType.BINARY, b"\x00\x01")),
    ]
    assert order[1][1].json(loads=json.loads) == {"n": 1}


def test_on_receive_alone_is_enough(echo_server) -> None:
    got: list[WSMessage] = []

    def on_receive(ws: WebSocketApp, msg: WSMessage) -> None:
        got.append(msg)
        ws.close()

    app = WebSocketApp(echo_server.url_for("/echo"), on_open=lambda ws: ws.send("hi"), on_receive=on_receive)
    assert run_app(app) is False
    assert got == [WSMessage(WSMsgType.TEXT, "hi")]


def test_unvalidated_invalid_text_goes_to_on_error_not_on_receive(raw_server) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"\xff\xfe")
        conn.collect(echo_close=True)

    srv = raw_server(script)
    errors: list[BaseException] = []
    received: list[WSMessage] = []

    def on_error(ws: WebSocketApp, exc: BaseException) -> None:
        errors.append(exc)
        ws.close()

    app = WebSocketApp(srv.url, on_receive=lambda ws, msg: received.append(msg), on_error=on_error)
    run_app(app, skip_utf8_validation=True)
    assert received == []
    assert len(errors) == 1 and isinstance(errors[0], websocket.WebSocketPayloadException)
