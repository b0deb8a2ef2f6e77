"""permessage-deflate against real servers: websockets, aiohttp and Node ``ws``, each with compression on."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from _compression_servers import AiohttpEchoServer, NodeEchoServer, node_skip_reason
from _echo_server import EchoServer
from _wire import pattern_bytes, pattern_text

import websocket
from websocket import ABNF, WebSocketPayloadException

pytestmark = pytest.mark.wsline_only

SERVERS = ("websockets", "aiohttp", "node")


class Target:
    """One running server and the URL of its compressing echo route."""

    def __init__(self, name: str, server: Any, echo_url: str) -> None:
        self.name = name
        self.server = server
        self.echo_url = echo_url


@pytest.fixture(scope="module", params=SERVERS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    name = request.param
    if name == "node":
        reason = node_skip_reason()
        if reason:
            pytest.skip(reason)
    server: Any
    if name == "websockets":
        server = EchoServer(compression="deflate", max_size=None).start()
        url = server.url_for("/echo")
    elif name == "aiohttp":
        server = AiohttpEchoServer(compress=True).start()
        url = f"{server.url}/echo"
    else:
        server = NodeEchoServer().start()
        url = f"{server.url}/echo"
    yield Target(name, server, url)
    server.stop()


def extensions(ws: Any) -> str:
    return str(ws.headers.get("sec-websocket-extensions", ""))


def assert_echoed(ws: Any, messages: Iterable[str | bytes]) -> None:
    """Send each message (text for str, binary for bytes), one at a time; its echo must equal it."""
    for message in messages:
        if isinstance(message, str):
            ws.send(message)
        else:
            ws.send_bytes(message)
        assert ws.recv() == message


MESSAGES = [
    "Hello",
    "x" * 16,
    pattern_text(5000),
    "",
    pattern_bytes(1),
    pattern_bytes(70_000),
    b"",
    ('{"type": "tick", "seq": 1}' * 40),
    pattern_text(300_000),
]


def test_default_offer_is_accepted_and_messages_round_trip(target: Target, connect: Any) -> None:
    ws = connect(target.echo_url)
    assert extensions(ws).startswith("permessage-deflate")
    assert "client_no_context_takeover" not in extensions(ws)
    assert_echoed(ws, MESSAGES)
    ws.close()


def test_context_takeover_across_many_similar_messages(target: Target, connect: Any) -> None:
    ws = connect(target.echo_url)
    assert_echoed(ws, (f'{{"event": "price", "symbol": "ABC", "seq": {i}, "price": {100 + i % 7}.25}}' for i in range(300)))
    ws.close()


def test_client_no_context_takeover_on_request(target: Target, connect: Any) -> None:
    ws = connect(target.echo_url, compression_options={"client_no_context_takeover": True, "client_max_window_bits": 10})
    assert extensions(ws).startswith("permessage-deflate")
    assert_echoed(ws, (pattern_text(20_000), pattern_text(20_000), "Hello" * 10))
    ws.close()


def test_server_window_and_no_context_takeover_requests(target: Target, connect: Any) -> None:
    options = {"server_max_window_bits": 10, "server_no_context_takeover": True}
    ws = connect(target.echo_url, compression_options=options)
    got = extensions(ws)
    if got:  # a server may decline an offer it cannot honour; then nothing is compressed
        assert "server_no_context_takeover" in got
        assert "server_max_window_bits=" in got
    assert_echoed(ws, (pattern_bytes(50_000), pattern_bytes(50_000)))
    ws.close()


def test_compression_none_offers_nothing(target: Target, connect: Any) -> None:
    ws = connect(target.echo_url, compression=None)
    assert extensions(ws) == ""
    ws.send("plain")
    assert ws.recv() == "plain"
    ws.close()


def test_websocket_constructor_takes_compression(target: Target, connect: Any) -> None:
    ws = connect.track(websocket.WebSocket(compression=None))
    ws.connect(target.echo_url, timeout=5)
    assert extensions(ws) == ""
    ws.close()
    ws = connect.track(websocket.WebSocket(compression_options={"client_no_context_takeover": True}))
    ws.connect(target.echo_url, timeout=5)
    assert extensions(ws).startswith("permessage-deflate")
    ws.send("Hello" * 20)
    assert ws.recv() == "Hello" * 20
    ws.close()


def test_browser_style_header_is_negotiated(target: Target, connect: Any) -> None:
    header = ["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"]
    ws = connect(target.echo_url, header=header, compression=None)
    assert extensions(ws).startswith("permessage-deflate")
    ws.send(pattern_text(10_000))
    assert ws.recv() == pattern_text(10_000)
    ws.close()


def test_max_size_applies_to_the_inflated_size(target: Target, connect: Any) -> None:
    ws = connect(target.echo_url, max_size=100_000)
    ws.send_bytes(b"\x00" * 100_000)  # exactly at the limit: fine
    assert ws.recv() == b"\x00" * 100_000
    ws.send_bytes(b"\x00" * 100_001)  # a few hundred bytes on the wire, one too many inflated
    with pytest.raises(WebSocketPayloadException, match="max_size"):
        ws.recv()
    assert not ws.connected


def test_uncompressed_fragments_are_fine(target: Target, connect: Any) -> None:
    ws = connect(target.echo_url)
    ws.send_frame(ABNF.create_frame("Hel", ABNF.OPCODE_TEXT, 0))
    ws.send_frame(ABNF.create_frame("lo", ABNF.OPCODE_CONT, 1))
    assert ws.recv() == "Hello"
    ws.close()


def test_websocket_app_passes_compression_through(target: Target) -> None:
    got: list[Any] = []
    message = pattern_text(10_000)

    def on_open(app: Any) -> None:
        got.append(app.sock.headers.get("sec-websocket-extensions", ""))
        app.send(message)

    def on_message(app: Any, data: Any) -> None:
        got.append(data)
        app.close()

    app = websocket.WebSocketApp(target.echo_url, on_open=on_open, on_message=on_message)
    options = {"compression_options": {"client_no_context_takeover": True}, "timeout": 5}
    thread = threading.Thread(target=app.run_forever, kwargs=options, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():
        app.close()
        thread.join(5)
    assert not thread.is_alive()
    assert len(got) == 2 and got[0].startswith("permessage-deflate") and got[1] == message


# ------------------------------------------------------------- Node-only routes


@pytest.fixture(scope="module")
def node() -> Iterator[NodeEchoServer]:
    reason = node_skip_reason()
    if reason:
        pytest.skip(reason)
    server = NodeEchoServer().start()
    yield server
    server.stop()


def test_node_server_that_asks_for_small_windows_and_no_takeover(node: NodeEchoServer, connect: Any) -> None:
    ws = connect(f"{node.url}/strict-client")
    got = extensions(ws)
    for part in (
        "client_no_context_takeover",
        "server_no_context_takeover",
        "client_max_window_bits=9",
        "server_max_window_bits=10",
    ):
        assert part in got
    assert_echoed(ws, (pattern_text(40_000), pattern_text(40_000), pattern_bytes(3000)))
    ws.close()


def test_node_server_without_compression(node: NodeEchoServer, connect: Any) -> None:
    ws = connect(f"{node.url}/plain")
    assert extensions(ws) == ""
    ws.send("Hello")
    assert ws.recv() == "Hello"
    ws.close()


def test_node_bomb_is_stopped_at_max_size(node: NodeEchoServer, connect: Any) -> None:
    ws = connect(f"{node.url}/bomb?size={64 * 1024 * 1024}", max_size=1024 * 1024)
    with pytest.raises(WebSocketPayloadException, match="max_size"):
        ws.recv()
    assert not ws.connected
