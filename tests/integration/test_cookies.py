"""The cookie jar: Set-Cookie from handshake answers sent back to matching hosts (websocket-client's jar).

Decision (see websocket/_cookiejar.py): the process-global jar of
websocket-client 1.9.2 is kept for drop-in use (only cookies with a Domain
attribute), hardened (a cookie for another domain, or a Secure cookie over
ws://, is not sent), and ``cookie_jar=`` gives a private jar or none.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from _reach_servers import WsServer, running
from _tls_material import tls_material
from websockets.http11 import Request

import websocket
from websocket._cookiejar import SimpleCookieJar

try:
    from websocket._cookiejar import CookieJar
except ImportError:  # websocket-client keeps its global jar in _handshake
    from websocket._sansio.handshake import CookieJar  # type: ignore[attr-defined,no-redef]


def _setter(request: Request) -> tuple[int, list[tuple[str, str]]] | None:
    """``/redirect?to=...&set=...`` redirects and sets a cookie on the way."""
    split = urlsplit(request.path)
    if split.path != "/redirect":
        return None
    query = dict(parse_qsl(split.query))
    return 302, [("Location", query["to"]), ("Set-Cookie", query["set"])]


@pytest.fixture(autouse=True)
def empty_global_jar() -> Iterator[None]:
    CookieJar.jar.clear()
    yield
    CookieJar.jar.clear()


@pytest.fixture
def server() -> Iterator[WsServer]:
    with running(WsServer(responder=_setter)) as srv:
        yield srv


def _setting(server: WsServer, *cookies: str) -> None:
    server.upgrade_headers[:] = [("Set-Cookie", c) for c in cookies]


def test_domain_cookie_is_sent_to_matching_hosts_later(server, connect):
    _setting(server, "sid=abc; Domain=localhost; Path=/")
    first = connect(server.url("/login", host="localhost"))
    assert "sid=abc" in first.headers["set-cookie"]
    assert server.last().get("Cookie") is None
    _setting(server)
    connect(server.url("/again", host="localhost"))
    assert server.last().get_all("Cookie") == ["sid=abc"]
    connect(server.url("/other-host"))  # 127.0.0.1 is not in the domain "localhost"
    assert server.last().get("Cookie") is None


@pytest.mark.wsline_only
def test_cookie_without_domain_never_rides_along(server, connect):
    # websocket-client parses all Set-Cookie headers as one string and keeps "plain" too.
    _setting(server, "sid=abc; Domain=localhost; Path=/", "plain=1")
    connect(server.url("/login", host="localhost"))
    _setting(server)
    connect(server.url("/again", host="localhost"))
    assert server.last().get_all("Cookie") == ["sid=abc"]


def test_jar_cookies_come_before_the_cookie_option(server, connect):
    _setting(server, "b=2; Domain=localhost", "a=1; Domain=localhost")
    connect(server.url(host="localhost"))
    connect(server.url(host="localhost"), cookie="mine=3")
    assert server.last().get_all("Cookie") == ["a=1; b=2; mine=3"]


def test_cookie_set_by_a_redirect_is_sent_on_the_next_hop(server, connect):
    final = server.url("/final", host="localhost")
    connect(server.url(f"/redirect?to={final}&set=hop%3D1%3B%20Domain%3Dlocalhost", host="localhost"))
    assert server.last().path == "/final"
    assert server.last().get("Cookie") == "hop=1"


@pytest.mark.wsline_only
def test_cookie_for_a_foreign_domain_is_ignored(server, connect):
    _setting(server, "evil=1; Domain=bank.test", "com=1; Domain=test")
    connect(server.url(host="localhost"))
    assert CookieJar.jar == {}


@pytest.mark.wsline_only
def test_secure_cookie_only_over_wss(connect):
    with tls_material() as tls, running(WsServer(ssl_context=tls.server_context())) as secure, running(WsServer()) as plain:
        secure.upgrade_headers.append(("Set-Cookie", "s=1; Domain=localhost; Secure"))
        connect(secure.url(host="localhost"), sslopt={"ca_certs": tls.ca_file})
        connect(plain.url(host="localhost"))
        assert plain.last().get("Cookie") is None
        secure.upgrade_headers.clear()
        connect(secure.url(host="localhost"), sslopt={"ca_certs": tls.ca_file})
        assert secure.last().get("Cookie") == "s=1"


@pytest.mark.wsline_only
def test_cookie_jar_none_keeps_and_sends_nothing(server, connect):
    CookieJar.add("g=1; Domain=localhost")
    _setting(server, "sid=abc; Domain=localhost")
    connect(server.url(host="localhost"), cookie_jar=None)
    assert server.last().get("Cookie") is None
    assert CookieJar.get("localhost") == "g=1"


@pytest.mark.wsline_only
def test_private_cookie_jar(server, connect):
    jar = SimpleCookieJar()
    _setting(server, "sid=abc; Domain=localhost")
    connect(server.url(host="localhost"), cookie_jar=jar)
    _setting(server)
    connect(server.url(host="localhost"), cookie_jar=jar)
    assert server.last().get("Cookie") == "sid=abc"
    assert CookieJar.get("localhost") == ""  # the global jar was not touched


@pytest.mark.wsline_only
def test_cookie_jar_of_the_wrong_type(server):
    with pytest.raises(TypeError, match="SimpleCookieJar"):
        websocket.create_connection(server.url(), cookie_jar={"a": 1}, timeout=5)


# ------------------------------------------------------------ the jar itself


def test_simple_cookie_jar_matching():
    jar = SimpleCookieJar()
    jar.add("a=1; Domain=example.test")
    jar.add("b=2; Domain=.sub.example.test")
    jar.add("c=3")  # no Domain: not kept
    assert jar.get("example.test") == "a=1"
    assert jar.get("x.sub.example.test") == "a=1; b=2"
    assert jar.get("EXAMPLE.test") == "a=1"
    assert jar.get("badexample.test") == ""
    assert jar.get("") == ""
    jar.set("a=9; Domain=example.test")
    assert jar.get("example.test") == "a=9"


@pytest.mark.wsline_only
def test_simple_cookie_jar_host_checks():
    jar = SimpleCookieJar()
    jar.add("a=1; Domain=example.test", host="www.example.test")
    jar.add("b=2; Domain=other.test", host="www.example.test")
    jar.add("c=3; Domain=test", host="www.example.test")
    jar.add("d=4; Domain=localhost", host="localhost")
    assert set(jar.jar) == {".example.test", ".localhost"}


def test_malformed_set_cookie_is_ignored():
    jar = SimpleCookieJar()
    jar.add('bad"name=1; Domain=example.test')
    assert jar.get("example.test") == ""
