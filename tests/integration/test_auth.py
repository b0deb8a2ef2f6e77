"""Credentials and request headers: URL user:password as Basic auth, ``header`` and ``cookie`` as given.

The server checks Basic auth itself (401 otherwise) and records the headers.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest
from _reach_servers import WsServer, running
from websockets.http11 import Request

import websocket

EXPECTED = "Basic " + base64.b64encode(b"alice:s3cret").decode()


def _checks_basic_auth(request: Request) -> tuple[int, list[tuple[str, str]]] | None:
    if request.path.startswith("/private") and request.headers.get("Authorization") != EXPECTED:
        return 401, [("WWW-Authenticate", 'Basic realm="wsline"')]
    return None


@pytest.fixture
def server() -> Iterator[WsServer]:
    with running(WsServer(responder=_checks_basic_auth)) as srv:
        yield srv


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


@pytest.mark.wsline_only
def test_url_credentials_become_basic_auth(server, connect):
    ws = connect(server.url("/private", userinfo="alice:s3cret"))
    _echo(ws, "let in")
    assert server.last().get_all("Authorization") == [EXPECTED]


def test_without_credentials_the_server_answers_401(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(server.url("/private"), timeout=5)
    assert info.value.status_code == 401
    assert info.value.resp_headers is not None
    assert info.value.resp_headers["www-authenticate"] == 'Basic realm="wsline"'


def test_wrong_password_is_refused(server):
    with pytest.raises(websocket.WebSocketBadStatusException, match="401"):
        websocket.create_connection(server.url("/private", userinfo="alice:wrong"), timeout=5)


@pytest.mark.wsline_only
def test_percent_encoded_credentials_are_decoded(server, connect):
    connect(server.url("/open", userinfo="al%40ice:p%3Ass%20w"))
    assert server.last().get("Authorization") == "Basic " + base64.b64encode(b"al@ice:p:ss w").decode()


@pytest.mark.wsline_only
def test_user_without_password(server, connect):
    connect(server.url("/open", userinfo="alice"))
    assert server.last().get("Authorization") == "Basic " + base64.b64encode(b"alice:").decode()


def test_explicit_authorization_header_wins(server, connect):
    connect(server.url("/open", userinfo="alice:s3cret"), header=["Authorization: Bearer abc"])
    assert server.last().get_all("Authorization") == ["Bearer abc"]


@pytest.mark.wsline_only
def test_url_credentials_never_in_the_trace(server, connect):
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    websocket.enableTrace(True, handler=handler)
    try:
        connect(server.url("/private", userinfo="alice:s3cret"))
    finally:
        websocket.enableTrace(False, handler=handler)
    text = "\n".join(lines)
    assert "GET /private HTTP/1.1" in text
    assert "Authorization: Basic <redacted>" in text
    assert EXPECTED.split()[1] not in text and "s3cret" not in text


def test_header_list_dict_and_cookie_are_sent_as_given(server, connect):
    connect(server.url("/open"), header=["X-One: 1", "X-Two:  two  "], cookie="a=b; c=d")
    seen = server.last()
    assert (seen.get("X-One"), seen.get("X-Two"), seen.get_all("Cookie")) == ("1", "two", ["a=b; c=d"])
    connect(server.url("/open"), header={"X-Three": "3", "X-Skipped": None})
    seen = server.last()
    assert (seen.get("X-Three"), seen.get("X-Skipped")) == ("3", None)


@pytest.mark.wsline_only
def test_header_callable_is_called_for_each_attempt(server, connect):
    calls: list[int] = []

    def header() -> list[str]:
        calls.append(1)
        return [f"X-Attempt: {len(calls)}"]

    connect(server.url("/open"), header=header)
    assert server.last().get("X-Attempt") == "1"
