"""Subprotocols and extensions offered through ``header=`` count as offered (kubernetes offers its subprotocols so).

The server's choice among them is accepted and reported; a choice outside
every offer is still refused. Each offer header goes on the wire as one line,
merged with ``subprotocols=``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _echo_server import EchoServer, running_echo_server
from _raw_server import RawConn, accept_and_collect

import websocket

K8S = "v5.channel.k8s.io,v4.channel.k8s.io"


def _offered(record_headers: list[tuple[str, str]], name: str) -> list[list[str]]:
    """Each request line called ``name`` (any case), split into its comma tokens."""
    return [[t.strip() for t in v.split(",")] for k, v in record_headers if k.lower() == name.lower()]


def test_kubernetes_style_header_offer_is_accepted(echo_server, connect) -> None:
    url, record = echo_server.track("/subprotocol", pick="v4.channel.k8s.io")
    ws = connect(url, header=[f"sec-websocket-protocol: {K8S}"])
    assert ws.recv() == "v4.channel.k8s.io"  # what the server chose and told us
    assert ws.subprotocol == "v4.channel.k8s.io"
    assert ws.getsubprotocol() == "v4.channel.k8s.io"
    assert _offered(record.headers, "Sec-WebSocket-Protocol") == [["v5.channel.k8s.io", "v4.channel.k8s.io"]]
    ws.send("still talking")
    assert ws.recv() == "still talking"


@pytest.mark.parametrize(
    "header",
    [
        {"Sec-WebSocket-Protocol": "beta, gamma"},
        {"SEC-WEBSOCKET-PROTOCOL": "beta,gamma"},
        ["Sec-WebSocket-Protocol: beta", "sec-websocket-protocol: gamma"],
        ["X-Other: 1", "Sec-Websocket-Protocol: beta , gamma, alpha"],
    ],
    ids=["dict", "dict-upper", "repeated-lines", "list-with-duplicate"],
)
def test_header_offer_merges_with_subprotocols_in_one_line(echo_server, connect, header: Any) -> None:
    url, record = echo_server.track("/subprotocol", pick="gamma")
    ws = connect(url, subprotocols=["alpha"], header=header)
    assert ws.recv() == "gamma"
    assert ws.subprotocol == "gamma"
    assert _offered(record.headers, "Sec-WebSocket-Protocol") == [["alpha", "beta", "gamma"]]


def test_option_offer_still_accepted_next_to_a_header_offer(echo_server, connect) -> None:
    url, _ = echo_server.track("/subprotocol", pick="alpha")
    ws = connect(url, subprotocols=["alpha"], header={"Sec-WebSocket-Protocol": "beta"})
    assert ws.subprotocol == "alpha"


def test_header_offer_from_a_callable_header(echo_server, connect) -> None:
    url, _ = echo_server.track("/subprotocol", pick="v5.channel.k8s.io")
    ws = connect(url, header=lambda: [f"Sec-WebSocket-Protocol: {K8S}"])
    assert ws.subprotocol == "v5.channel.k8s.io"


def test_choice_outside_every_offer_is_refused(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(subprotocol="v3.channel.k8s.io")
        conn.wait_eof()

    srv = raw_server(script)
    with pytest.raises(websocket.WebSocketHandshakeException, match="not offered"):
        connect(srv.url, subprotocols=["alpha"], header=[f"Sec-WebSocket-Protocol: {K8S}"])
    srv.join()


def test_header_offer_missing_in_the_answer_is_refused(echo_server, connect) -> None:
    with pytest.raises(websocket.WebSocketHandshakeException, match="none of the offered"):
        connect(echo_server.url_for("/subprotocol", pick="none"), header=[f"Sec-WebSocket-Protocol: {K8S}"])


def test_app_passes_a_header_offer(echo_server) -> None:
    url, _ = echo_server.track("/subprotocol", pick="v4.channel.k8s.io")
    seen: list[Any] = []

    def on_message(app: websocket.WebSocketApp, message: str) -> None:
        seen.append((message, app.sock.subprotocol if app.sock else None))
        app.close()

    app = websocket.WebSocketApp(url, header={"Sec-WebSocket-Protocol": K8S}, on_message=on_message)
    app.run_forever(ping_timeout=None)
    assert seen == [("v4.channel.k8s.io", "v4.channel.k8s.io")]


# ------------------------------------------------------------------ extensions


@pytest.fixture(scope="module")
def deflate_server() -> Iterator[EchoServer]:
    with running_echo_server(compression="deflate") as server:
        yield server


def test_deflate_offered_only_by_header_is_negotiated(deflate_server, connect) -> None:
    url, record = deflate_server.track("/echo")
    header = ["sec-websocket-extensions: permessage-deflate; client_max_window_bits"]
    ws = connect(url, compression=None, header=header)
    assert "permessage-deflate" in (ws.getheaders() or {}).get("sec-websocket-extensions", "")
    text = "compressible " * 200
    ws.send(text)
    assert ws.recv() == text
    assert _offered(record.headers, "Sec-WebSocket-Extensions") == [["permessage-deflate; client_max_window_bits"]]


def test_repeated_extension_lines_go_out_as_one(raw_server, connect) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url, header=["Sec-WebSocket-Extensions: x-one", "SEC-WEBSOCKET-EXTENSIONS: x-two; p=1"])
    ws.close()
    (conn,) = srv.join()
    assert conn.header_all("Sec-WebSocket-Extensions") == ["x-one, x-two; p=1"]


def test_extension_the_client_did_not_offer_is_refused(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(headers=[("Sec-WebSocket-Extensions", "x-unknown")])
        conn.wait_eof()

    srv = raw_server(script)
    with pytest.raises(websocket.WebSocketHandshakeException, match="not offered"):
        connect(srv.url, header=["Sec-WebSocket-Extensions: x-other"])
    srv.join()


def test_extension_offered_by_header_but_not_implemented_is_refused_clearly(raw_server, connect) -> None:
    def script(conn: RawConn) -> None:
        conn.handshake(headers=[("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")])
        conn.wait_eof()

    srv = raw_server(script)
    with pytest.raises(websocket.WebSocketHandshakeException, match="does not support"):
        connect(srv.url, header=["Sec-WebSocket-Extensions: x-webkit-deflate-frame"])
    srv.join()
