"""``receive_str`` / ``receive_bytes`` / ``receive_json``, ``send_json`` and ``messages()`` against real servers.

Also checks that websocket-client's own ways of receiving (``recv``, ``for msg
in ws``) are untouched by the typed API.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from _raw_server import sends_close, sends_then_collects, sends_then_drops
from _wire import OP_BINARY, OP_PING, OP_TEXT, build_frame

import websocket
from websocket import CloseCode, WSMessage, WSMsgType

pytestmark = pytest.mark.wsline_only

TypeError_ = websocket.WebSocketMessageTypeError
Closed = websocket.WebSocketConnectionClosedException


# ----------------------------------------------------------- typed receive


def test_receive_str_and_bytes(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("text ✓")
    ws.send_bytes(b"\x00bin")
    assert ws.receive_str() == "text ✓"
    assert ws.receive_bytes(timeout=5) == b"\x00bin"


def test_receive_str_on_binary_raises_and_keeps_the_message(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send_bytes(b"\x01\x02")
    ws.send("then text")
    with pytest.raises(TypeError_, match="expected a TEXT message, received BINARY") as info:
        ws.receive_str()
    assert isinstance(info.value, websocket.WebSocketException)
    assert isinstance(info.value, TypeError)
    assert info.value.received == WSMessage(WSMsgType.BINARY, b"\x01\x02")
    assert ws.receive_str() == "then text"  # the connection is still fine


def test_receive_bytes_on_text_raises(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("not bytes")
    with pytest.raises(TypeError_, match="expected a BINARY message, received TEXT 'not bytes'") as info:
        ws.receive_bytes()
    assert info.value.received == (WSMsgType.TEXT, "not bytes", None)


def test_typed_receive_skips_pings(raw_server, connect) -> None:
    srv = raw_server(sends_then_collects(build_frame(OP_PING, b"hb") + build_frame(OP_BINARY, b"payload"), echo_close=True))
    ws = connect(srv.url)
    assert ws.receive_bytes() == b"payload"


def test_receive_str_on_server_close_raises_connection_closed(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=4001, reason="bye"))
    with pytest.raises(Closed, match=r"Connection closed \(code 4001\): bye") as info:
        ws.receive_str()
    assert (info.value.status_code, info.value.reason) == (4001, "bye")


def test_receive_json_on_normal_close_says_normally(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=1000))
    with pytest.raises(Closed, match=r"Connection closed normally \(code 1000\)") as info:
        ws.receive_json()
    assert info.value.status_code == 1000


def test_typed_receive_raises_on_a_lost_connection(raw_server, connect) -> None:
    srv = raw_server(sends_then_drops())
    ws = connect(srv.url)
    with pytest.raises(Closed, match="lost"):
        ws.receive_str()


def test_typed_receive_raises_the_protocol_error(raw_server, connect) -> None:
    srv = raw_server(sends_then_collects(build_frame(OP_TEXT, b"\xc0\xaf")))
    ws = connect(srv.url)
    with pytest.raises(websocket.WebSocketPayloadException):
        ws.receive_json()
    assert srv.join()[0].client_close.close_code == 1007


def test_typed_receive_timeout(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"))
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.receive_str(timeout=0.1)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.receive_json(timeout=0)


# ----------------------------------------------------------- JSON


def test_json_round_trip(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    value = {"name": "wsline ✓", "n": [1, 2.5, None, True], "nested": {"a": {}}}
    sent = ws.send_json(value)
    assert sent > len(json.dumps(value).encode())  # header and mask key counted
    assert ws.receive_json() == value


def test_send_json_is_a_text_message(echo_server, connect) -> None:
    url, record = echo_server.track("/sink")
    ws = connect(url)
    ws.send_json([1, "two"])
    assert record.wait_received(1) == ['[1, "two"]']


def test_custom_dumps_returning_bytes_is_still_text(echo_server, connect) -> None:
    url, record = echo_server.track("/echo")
    ws = connect(url)

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    ws.send_json({"k": "ü"}, dumps=dumps)
    assert record.wait_received(1) == ['{"k":"ü"}']
    assert ws.receive() == (WSMsgType.TEXT, '{"k":"ü"}', None)


def test_custom_loads(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send_json({"price": 0.1}, dumps=lambda obj: json.dumps(obj, sort_keys=True))
    assert ws.receive_json(loads=lambda s: json.loads(s, parse_float=Decimal)) == {"price": Decimal("0.1")}


def test_message_json_decodes_text_and_binary(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send('{"a": 1}')
    ws.send_bytes(b'{"b": [2]}')
    assert ws.receive().json() == {"a": 1}
    assert ws.receive().json(loads=lambda raw: json.loads(raw)["b"]) == [2]


def test_receive_json_on_binary_raises_type_error(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send_bytes(b"{}")
    with pytest.raises(TypeError_) as info:
        ws.receive_json()
    assert info.value.received.json() == {}


def test_invalid_json_raises_the_decoder_error(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("{not json")
    ws.send("[]")
    with pytest.raises(json.JSONDecodeError):
        ws.receive_json()
    assert ws.receive_json() == []


def test_unserializable_value_is_not_sent(echo_server, connect) -> None:
    url, record = echo_server.track("/echo")
    ws = connect(url)
    with pytest.raises(TypeError):
        ws.send_json({"s": {1, 2}})
    ws.send_json("ok")
    assert ws.receive_json() == "ok"
    assert record.received == ['"ok"']


# ----------------------------------------------------------- messages()


def test_messages_ends_quietly_on_a_normal_close(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=1000, after=3))
    for text in ("a", "b", "c"):
        ws.send(text)
    got = [msg.data for msg in ws.messages()]
    assert got == ["a", "b", "c"]
    assert ws.close_code == CloseCode.NORMAL


def test_messages_ends_quietly_on_going_away(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/send", binary="0102", close="1001:restart"))
    assert list(ws.messages()) == [(WSMsgType.BINARY, b"\x01\x02", None)]
    assert (ws.close_code, ws.close_reason) == (1001, "restart")
    ws.close()
    assert ws.sock is None
    assert (ws.close_code, ws.close_reason) == (1001, "restart")  # still known after the end


def test_messages_ends_quietly_on_a_close_without_code(raw_server, connect) -> None:
    srv = raw_server(sends_close(None, before=build_frame(OP_TEXT, b"only")))
    ws = connect(srv.url)
    assert [m.data for m in ws.messages()] == ["only"]


@pytest.mark.parametrize("code", [1011, 4001])
def test_messages_raises_on_another_close_code(echo_server, connect, code: int) -> None:
    ws = connect(echo_server.url_for("/send", text="first", close=f"{code}:why"))
    seen: list[WSMessage] = []
    with pytest.raises(Closed, match=f"code {code}") as info:
        for msg in ws.messages():
            seen.append(msg)
    assert seen == [(WSMsgType.TEXT, "first", None)]
    assert (info.value.status_code, info.value.reason) == (code, "why")


def test_messages_ends_when_the_loop_body_closes(echo_server, connect) -> None:
    url, record = echo_server.track("/echo")
    ws = connect(url)
    for text in ("one", "two", "stop", "never"):
        ws.send(text)
    got = []
    for msg in ws.messages():
        got.append(msg.data)
        if msg.data == "stop":
            ws.close(4000, "my own reason")  # this side's choice: no exception
    assert got == ["one", "two", "stop"]
    assert record.wait_finished().client_close == (4000, "my own reason")


def test_messages_after_send_close_reads_to_the_echo(raw_server, connect) -> None:
    srv = raw_server(sends_then_collects(build_frame(OP_TEXT, b"pending"), echo_close=True))
    ws = connect(srv.url)
    ws.send_close(4005, "half-closed")
    assert list(ws.messages()) == [(WSMsgType.TEXT, "pending", None)]
    assert ws.close_code == 4005


def test_messages_on_a_closed_connection_is_empty(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.close()
    assert list(ws.messages()) == []


def test_messages_raises_on_a_lost_connection(raw_server, connect) -> None:
    srv = raw_server(sends_then_drops(build_frame(OP_TEXT, b"x")))
    ws = connect(srv.url)
    it = ws.messages()
    assert next(it).data == "x"
    with pytest.raises(Closed, match="lost"):
        next(it)


def test_messages_raises_on_timeout(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/sink"))
    with pytest.raises(websocket.WebSocketTimeoutException):
        list(ws.messages(timeout=0.1))


def test_messages_with_control_yields_pings(raw_server, connect) -> None:
    srv = raw_server(sends_close(1000, before=build_frame(OP_PING, b"hb") + build_frame(OP_TEXT, b"t")))
    ws = connect(srv.url)
    assert list(ws.messages(control=True)) == [(WSMsgType.PING, b"hb", None), (WSMsgType.TEXT, "t", None)]


# ----------------------------------------------------------- websocket-client behaviour untouched


def test_iterating_the_connection_still_yields_plain_data(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/close", code=1000, after=2))
    ws.send("a")
    ws.send_bytes(b"b")
    it = iter(ws)
    assert [next(it), next(it), next(it)] == ["a", b"b", ""]  # "" for the close frame, as websocket-client
    with pytest.raises(Closed):
        next(it)


def test_recv_after_receive_mixes_freely(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    ws.send("1")
    ws.send("2")
    assert ws.receive().data == "1"
    assert ws.recv() == "2"
