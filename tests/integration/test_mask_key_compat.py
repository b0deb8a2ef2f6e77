"""``set_mask_key`` / ``get_mask_key`` functions returning str work as in websocket-client 1.9.2.

websocket-client's own documented example returns a str; each character is a
key byte (latin-1). A wrong length or type fails the send with a
WebSocketException before a byte of the frame is written.
"""

from __future__ import annotations

import pytest
from _raw_server import accept_and_collect

import websocket
from websocket._abnf import ABNF


def test_str_mask_key_masks_send_and_close(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.set_mask_key(lambda length: "abcd"[:length])
    ws.send("hello")
    ws.send_binary(b"\x00\xff")
    ws.ping("p")
    ws.close()
    (conn,) = srv.join()
    frames = conn.frames
    assert [(f.opcode, f.payload) for f in frames[:3]] == [(1, b"hello"), (2, b"\x00\xff"), (9, b"p")]
    assert all(f.mask == b"abcd" for f in frames), [f.mask for f in frames]
    assert conn.client_close is not None and conn.client_close.mask == b"abcd"


def test_constructor_mask_key_returning_str(raw_server) -> None:
    srv = raw_server(accept_and_collect)
    ws = websocket.WebSocket(get_mask_key=lambda length: "\xff\x00\x10\x7f")
    ws.connect(srv.url, timeout=5)
    ws.send("x")
    ws.close()
    (conn,) = srv.join()
    assert conn.frames[0].mask == b"\xff\x00\x10\x7f"
    assert conn.frames[0].payload == b"x"


def test_app_get_mask_key_returning_str(raw_server) -> None:
    srv = raw_server(accept_and_collect)

    def on_open(app: websocket.WebSocketApp) -> None:
        app.send("from app")
        app.close()

    app = websocket.WebSocketApp(srv.url, on_open=on_open, get_mask_key=lambda length: "wxyz")
    app.run_forever(ping_timeout=None)
    (conn,) = srv.join()
    assert conn.frames[0].payload == b"from app"
    assert conn.frames[0].mask == b"wxyz"


@pytest.mark.parametrize(
    ("key", "message"),
    [("abc", "4 bytes"), (b"abcde", "4 bytes"), ("ab\u20acd", "latin-1"), (1234, "not bytes or str")],
    ids=["short-str", "long-bytes", "non-latin1", "int"],
)
def test_bad_mask_key_fails_the_send_clearly(raw_server, connect, key: object, message: str) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.set_mask_key(lambda length: key)
    with pytest.raises(websocket.WebSocketException, match=message):
        ws.send("never sent")
    ws.set_mask_key(lambda length: b"good")  # nothing went out: the connection is still usable
    ws.send("sent")
    ws.close()
    (conn,) = srv.join()
    assert [f.payload for f in conn.frames if f.opcode == 1] == [b"sent"]


def test_set_mask_key_none_restores_random_keys(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    ws.set_mask_key(lambda length: "aaaa")
    ws.set_mask_key(None)  # type: ignore[arg-type]
    ws.send("a")
    ws.send("b")
    ws.close()
    (conn,) = srv.join()
    assert {conn.frames[0].mask, conn.frames[1].mask} != {b"aaaa"}


def test_abnf_format_with_str_mask_key() -> None:
    frame = ABNF.create_frame("hi", ABNF.OPCODE_TEXT)
    frame.get_mask_key = lambda length: "abcd"  # type: ignore[assignment,return-value]
    wire = frame.format()
    assert wire[2:6] == b"abcd"
    assert ABNF.mask("abcd", wire[6:]) == b"hi"
