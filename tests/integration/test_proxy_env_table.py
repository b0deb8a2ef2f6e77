"""The proxy environment, row by row: which variable decides, in what order, and how no_proxy exempts hosts.

Each row of ``ROWS`` is a row of the table in docs/proxies.md: the
variables set, the URL scheme, and the proxy chosen (kind, host, port) or
None for a direct connection. The rows are checked on ``select_proxy`` (no
network), and a few of them again end to end through real proxies.
"""

from __future__ import annotations

import pytest

import websocket
from websocket._url import ProxyConfig, is_no_proxy_host, select_proxy

pytestmark = pytest.mark.wsline_only
ALL_NAMES = ("http_proxy", "https_proxy", "all_proxy", "socks_proxy", "no_proxy")

ROWS: list[tuple[str, dict[str, str], bool, tuple[str, str, int] | None]] = [
    ("ws: http_proxy", {"http_proxy": "http://p:3128"}, False, ("http", "p", 3128)),
    ("ws: HTTP_PROXY (websocket-client reads it; curl does not)", {"HTTP_PROXY": "http://p:3128"}, False, ("http", "p", 3128)),
    ("ws: lowercase wins", {"http_proxy": "http://low:1", "HTTP_PROXY": "http://up:2"}, False, ("http", "low", 1)),
    ("ws: lowercase set empty means direct", {"http_proxy": "", "HTTP_PROXY": "http://up:2"}, False, None),
    ("ws: all_proxy", {"all_proxy": "http://a:8080"}, False, ("http", "a", 8080)),
    ("ws: ALL_PROXY", {"ALL_PROXY": "http://a:8080"}, False, ("http", "a", 8080)),
    ("ws: http_proxy before all_proxy", {"http_proxy": "http://h:1", "all_proxy": "http://a:2"}, False, ("http", "h", 1)),
    ("ws: an empty http_proxy hides all_proxy", {"http_proxy": "", "all_proxy": "http://a:2"}, False, None),
    ("ws: all_proxy before socks_proxy", {"all_proxy": "http://a:2", "socks_proxy": "s:3"}, False, ("http", "a", 2)),
    ("ws: socks_proxy without a scheme is SOCKS5", {"socks_proxy": "s:1080"}, False, ("socks5", "s", 1080)),
    ("ws: SOCKS_PROXY socks:// is SOCKS5", {"SOCKS_PROXY": "socks://s"}, False, ("socks5", "s", 1080)),
    ("ws: socks_proxy with socks4a://", {"socks_proxy": "socks4a://s:9"}, False, ("socks4a", "s", 9)),
    ("ws: https_proxy is not for ws://", {"https_proxy": "http://p:1"}, False, None),
    ("wss: https_proxy", {"https_proxy": "http://p:3128"}, True, ("http", "p", 3128)),
    ("wss: HTTPS_PROXY", {"HTTPS_PROXY": "http://p:3128"}, True, ("http", "p", 3128)),
    ("wss: http_proxy is not for wss://", {"http_proxy": "http://p:1"}, True, None),
    ("wss: all_proxy", {"all_proxy": "socks5h://a:1080"}, True, ("socks5h", "a", 1080)),
    ("wss: https_proxy before all_proxy", {"https_proxy": "http://h:1", "ALL_PROXY": "http://a:2"}, True, ("http", "h", 1)),
    ("an https:// URL is an HTTPS proxy, port 443", {"https_proxy": "https://tls-proxy"}, True, ("https", "tls-proxy", 443)),
    ("no scheme means http://, port 80", {"http_proxy": "p"}, False, ("http", "p", 80)),
    ("socks5h:// in all_proxy, port 1080", {"all_proxy": "socks5h://s"}, False, ("socks5h", "s", 1080)),
    ("an unknown scheme is spoken to as HTTP", {"http_proxy": "ftp://p:21"}, False, ("http", "p", 21)),
    ("spaces are dropped", {"http_proxy": " http://p:3128 "}, False, ("http", "p", 3128)),
    ("no_proxy exempts from all_proxy too", {"all_proxy": "http://a:1", "no_proxy": "target.test"}, False, None),
    ("NO_PROXY works", {"http_proxy": "http://p:1", "NO_PROXY": ".test"}, False, None),
    ("no_proxy=* exempts everything", {"https_proxy": "http://p:1", "no_proxy": "*"}, True, None),
]


@pytest.fixture
def env(monkeypatch):
    for name in ALL_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)

    def set_all(values: dict[str, str]) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_all


@pytest.mark.parametrize(("variables", "secure", "expected"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_environment_row(env, variables, secure, expected):
    env(variables)
    proxy = select_proxy("target.test", secure, port=443 if secure else 80)
    assert (None if proxy is None else (proxy.kind, proxy.host, proxy.port)) == expected


def test_credentials_in_any_variable(env):
    env({"all_proxy": "socks5h://u%40corp:p%3Ass@s:1080"})
    proxy = select_proxy("target.test", False)
    assert proxy == ProxyConfig("socks5h", "s", 1080, ("u@corp", "p:ss"))
    assert "p:ss" not in repr(proxy)


NO_PROXY_ROWS = [
    ("example.com", "example.com", 80, True),
    ("example.com", "sub.example.com", 80, True),
    ("example.com", "badexample.com", 80, False),
    (".example.com", "example.com", 80, True),
    (".example.com", "a.b.example.com", 80, True),
    ("*.example.com", "a.example.com", 80, True),
    ("*", "anything.test", 80, True),
    ("10.0.0.0/8", "10.1.2.3", 80, True),
    ("10.0.0.0/8", "11.1.2.3", 80, False),
    ("fd00::/8", "fd12::1", 80, True),
    ("192.168.1.20", "192.168.1.20", 80, True),
    ("::1", "::1", 80, True),
    ("example.com:8080", "example.com", 8080, True),
    ("example.com:8080", "example.com", 80, False),
    ("127.0.0.1:8765", "127.0.0.1", 8765, True),
    ("127.0.0.1:8765", "127.0.0.1", 8766, False),
    ("[::1]:8765", "::1", 8765, True),
    ("[::1]:8765", "::1", 80, False),
    ("EXAMPLE.com", "Sub.Example.COM", 80, True),
    ("10.0.0.0/8", "10.example.com", 80, False),
]


@pytest.mark.parametrize(("entries", "host", "port", "exempt"), NO_PROXY_ROWS)
def test_no_proxy_row(entries, host, port, exempt):
    assert is_no_proxy_host(host, entries, port) is exempt


# ------------------------------------------------ end to end, real proxies


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


@pytest.mark.parametrize("name", ["all_proxy", "ALL_PROXY"])
def test_all_proxy_reaches_the_server(server, http_proxy, connect, env, name):
    env({name: f"http://127.0.0.1:{http_proxy.port}"})
    _echo(connect(server.url(f"/{name}")), name)
    assert http_proxy.wait_for_line(f"-> 127.0.0.1:{server.port}") is not None


def test_socks5h_url_in_all_proxy(server, socks5, connect, env):
    env({"ALL_PROXY": f"socks5h://127.0.0.1:{socks5.port}"})
    _echo(connect(server.url(host="localhost")), "socks5h from ALL_PROXY")
    assert socks5.wait_for_line(f"localhost:{server.port}") is not None  # the proxy resolved the name


def test_socks_proxy_variable(server, socks5, connect, env):
    env({"socks_proxy": f"127.0.0.1:{socks5.port}"})
    _echo(connect(server.url()), "socks_proxy")
    assert socks5.wait_for_line(f"127.0.0.1:{server.port}") is not None


def test_no_proxy_port_entry_exempts_only_that_port(server, connect, env, dead_proxy):
    env({"http_proxy": dead_proxy, "no_proxy": f"127.0.0.1:{server.port}"})
    _echo(connect(server.url(), timeout=2), "direct: the entry names this port")
    env({"no_proxy": f"127.0.0.1:{server.port + 1}"})
    with pytest.raises(websocket.WebSocketTimeoutException):  # another port: through the dead proxy
        websocket.create_connection(server.url(), timeout=0.5)
