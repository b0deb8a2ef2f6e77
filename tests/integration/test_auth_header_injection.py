"""Header injection: a CR, LF or NUL in a header, host, origin, path, subprotocol, cookie or connection is refused.

The error is a ValueError raised before anything is sent; the request is
built before the connection is opened, so the listener here never even sees
a TCP connection.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

import websocket

pytestmark = pytest.mark.wsline_only  # websocket-client sends these as given


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.3)
    yield sock
    sock.close()


def _nothing_connected(listener: socket.socket) -> bool:
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        return True
    conn.close()
    return False


CASES = {
    "header-value": {"header": ["X-Evil: a\r\nInjected: 1"]},
    "header-value-lf": {"header": ["X-Evil: a\nInjected: 1"]},
    "header-name-dict": {"header": {"X-Evil\r\nInjected": "1"}},
    "header-value-dict": {"header": {"X-Evil": "1\r\n\r\nGET / HTTP/1.1"}},
    "header-nul": {"header": ["X-Evil: a\x00b"]},
    "host": {"host": "example.test\r\nInjected: 1"},
    "origin": {"origin": "http://example.test\r\nInjected: 1"},
    "subprotocol": {"subprotocols": ["chat\r\nInjected: 1"]},
    "cookie": {"cookie": "a=b\r\nInjected: 1"},
    "connection": {"connection": "Connection: Upgrade\r\nInjected: 1"},
}


@pytest.mark.parametrize("options", list(CASES.values()), ids=list(CASES))
def test_crlf_in_an_option_is_refused_before_connecting(listener, options):
    url = f"ws://127.0.0.1:{listener.getsockname()[1]}/"
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        websocket.create_connection(url, timeout=2, **options)
    assert _nothing_connected(listener)


@pytest.mark.parametrize("path", ["/a\r\nInjected: 1", "/a\nb", "/a%0d%0a\r\n"])
def test_crlf_in_the_url_is_refused_before_connecting(listener, path):
    url = f"ws://user:secret@127.0.0.1:{listener.getsockname()[1]}{path}"
    with pytest.raises(ValueError, match="CR, LF or NUL") as info:
        websocket.create_connection(url, timeout=2)
    assert "secret" not in str(info.value)  # the URL is not echoed: it may carry credentials
    assert _nothing_connected(listener)


def test_header_line_without_colon_is_refused(listener):
    with pytest.raises(ValueError, match="colon"):
        websocket.create_connection(f"ws://127.0.0.1:{listener.getsockname()[1]}/", header=["no colon here"], timeout=2)
    assert _nothing_connected(listener)


def test_spaces_and_non_ascii_in_the_path_are_percent_encoded(echo_server, connect):
    # Not an injection, but a broken request line otherwise; the server sees the encoded form.
    ws = connect(echo_server.url_for("/headers") + "?q=a b&é=1")
    request = json.loads(ws.recv())
    assert request["path"] == "/headers?q=a%20b&%C3%A9=1"
