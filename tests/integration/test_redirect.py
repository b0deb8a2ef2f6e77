"""Redirects: 301/302/303/307/308, relative and absolute Locations, ws <-> wss, redirect_limit, credential stripping.

A real ``websockets`` server answers ``/go?to=<Location>&status=<code>``
with that redirect and upgrades every other path; it records what each
request carried.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from _reach_servers import WsServer, running
from websockets.http11 import Request

import websocket

TIMEOUT = 5


def _redirector(request: Request) -> tuple[int, list[tuple[str, str]]] | None:
    split = urlsplit(request.path)
    if split.path == "/loop":
        return 302, [("Location", "/loop")]
    if not split.path.endswith("/go"):
        return None
    query = dict(parse_qsl(split.query))
    headers = [("Location", query["to"])] if "to" in query else []
    if "cookie" in query:
        headers.append(("Set-Cookie", query["cookie"]))
    return int(query.get("status", "302")), headers


def go(to: str, status: int = 302) -> str:
    return f"/go?status={status}&to={quote(to, safe='')}"


@pytest.fixture
def server() -> Iterator[WsServer]:
    with running(WsServer(responder=_redirector)) as srv:
        yield srv


@pytest.fixture
def other() -> Iterator[WsServer]:
    with running(WsServer(responder=_redirector)) as srv:
        yield srv


@pytest.fixture
def secure(tls) -> Iterator[WsServer]:
    with running(WsServer(ssl_context=tls.server_context(), responder=_redirector)) as srv:
        yield srv


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("form", ["absolute", pytest.param("relative", marks=pytest.mark.wsline_only)])
def test_redirect_statuses_and_location_forms(server, connect, status, form):
    to = server.url("/final?x=1") if form == "absolute" else "/final?x=1"
    ws = connect(server.url(go(to, status)))
    _echo(ws, f"{status} {form}")
    assert [r.path.split("?")[0] for r in server.requests] == ["/go", "/final"]
    assert server.last().path == "/final?x=1"


@pytest.mark.wsline_only
def test_relative_location_without_leading_slash(server, connect):
    _echo(connect(server.url("/dir/" + go("sibling")[1:])), "sibling")
    assert server.last().path == "/dir/sibling"


def test_ws_to_wss_redirect(server, secure, tls, connect):
    ws = connect(server.url(go(secure.url("/secure-final"))), sslopt={"ca_certs": tls.ca_file})
    assert ws.is_ssl()
    _echo(ws, "upgraded to TLS")
    assert secure.last().path == "/secure-final"


@pytest.mark.wsline_only
def test_wss_to_ws_redirect_is_refused(server, secure, tls):
    with pytest.raises(websocket.WebSocketException, match="allow_insecure_redirect"):
        websocket.create_connection(secure.url(go(server.url("/plain"))), sslopt={"ca_certs": tls.ca_file}, timeout=TIMEOUT)
    assert server.requests == []


@pytest.mark.wsline_only
def test_wss_to_ws_redirect_when_allowed_carries_no_credentials(server, secure, tls, connect):
    url = secure.url(go(server.url("/plain")), userinfo="alice:pw")
    ws = connect(url, sslopt={"ca_certs": tls.ca_file}, allow_insecure_redirect=True, cookie="sid=1", header=["X-Keep: yes"])
    _echo(ws, "downgraded")
    assert not ws.is_ssl()
    assert secure.last().get("Authorization") is not None
    final = server.last()
    assert (final.get("Authorization"), final.get("Cookie"), final.get("X-Keep")) == (None, None, "yes")


def test_redirect_limit(server, connect):
    def chain(hops: int) -> str:
        url = server.url("/final")
        for _ in range(hops):
            url = server.url(go(url))
        return url

    _echo(connect(chain(3)), "default limit is 3")
    with pytest.raises(websocket.WebSocketException, match="Redirect limit exhausted"):
        websocket.create_connection(chain(4), timeout=TIMEOUT)
    _echo(connect(chain(4), redirect_limit=4), "raised limit")
    with pytest.raises(websocket.WebSocketException, match="Redirect limit exhausted"):
        websocket.create_connection(chain(1), redirect_limit=0, timeout=TIMEOUT)


@pytest.mark.wsline_only
def test_redirect_loop_ends_at_the_limit(server):
    with pytest.raises(websocket.WebSocketException, match="Redirect limit exhausted"):
        websocket.create_connection(server.url("/loop"), timeout=TIMEOUT)
    assert len(server.requests) == 4  # the first request and the 3 redirects followed


SECRETS = {"cookie": "sid=from-option", "header": {"Authorization": "Bearer token-1", "Cookie": "c=2", "X-Keep": "kept"}}


def _seen_credentials(seen) -> tuple[list[str], list[str]]:
    return seen.get_all("Authorization"), seen.get_all("Cookie")


@pytest.mark.wsline_only
@pytest.mark.parametrize("hostname", ["localhost", "other-port"])
def test_cross_origin_redirect_strips_credentials(server, other, connect, hostname):
    target = server.url("/final", host="localhost") if hostname == "localhost" else other.url("/final")
    ws = connect(server.url(go(target)), **SECRETS)
    _echo(ws, "stripped")
    first = server.requests[0]
    assert _seen_credentials(first) == (["Bearer token-1"], ["c=2", "sid=from-option"])
    final = (server if hostname == "localhost" else other).last()
    assert _seen_credentials(final) == ([], [])
    assert final.get("X-Keep") == "kept"


@pytest.mark.wsline_only
def test_cross_origin_redirect_drops_url_credentials(server, other, connect):
    ws = connect(server.url(go(other.url("/final")), userinfo="alice:s3cret"))
    _echo(ws, "no basic auth downstream")
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert server.requests[0].get("Authorization") == expected
    assert other.last().get("Authorization") is None


@pytest.mark.wsline_only
def test_stripped_credentials_stay_stripped_when_coming_back(server, other, connect):
    back = server.url("/final")
    url = server.url(go(other.url(go(back))), userinfo="alice:pw")
    ws = connect(url, cookie="sid=1")
    _echo(ws, "round trip")
    assert _seen_credentials(server.last()) == ([], [])


@pytest.mark.wsline_only
def test_same_origin_redirect_keeps_credentials(server, connect):
    ws = connect(server.url(go(server.url("/final")), userinfo="alice:pw"), cookie="sid=1")
    _echo(ws, "kept")
    expected = "Basic " + base64.b64encode(b"alice:pw").decode()
    assert _seen_credentials(server.last()) == ([expected], ["sid=1"])


@pytest.mark.parametrize("location", ["http://127.0.0.1:1/x", "https://example.test/", "ftp://example.test/"])
def test_non_websocket_location_is_an_invalid_target(server, location):
    with pytest.raises(websocket.WebSocketException, match="Invalid redirect target"):
        websocket.create_connection(server.url(go(location)), timeout=TIMEOUT)


@pytest.mark.wsline_only
def test_redirect_without_location(server):
    with pytest.raises(websocket.WebSocketBadStatusException, match="without Location") as info:
        websocket.create_connection(server.url("/go?status=307"), timeout=TIMEOUT)
    assert info.value.status_code == 307
