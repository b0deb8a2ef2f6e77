"""Proxies from the environment: http_proxy / https_proxy / no_proxy in both cases, as websocket-client 1.9.2.

Every test sets the variables with monkeypatch (restored afterwards); the
integration conftest already removes the developer's own proxy variables.
A "dead" proxy (a listener that never answers) proves a connection went
direct: through it, the test would time out.
"""

from __future__ import annotations

import pytest
from _proxy_procs import ProxyProcess, pproxy
from _reach_servers import WsServer, running

import websocket
from websocket._url import get_proxy_info

TIMEOUT = 5


def _echo(ws: websocket.WebSocket, text: str) -> None:
    ws.send(text)
    assert ws.recv() == text


def _proxied(proc: ProxyProcess, port: int, host: str = "127.0.0.1") -> bool:
    return proc.wait_for_line(f"-> {host}:{port}") is not None


@pytest.mark.parametrize("name", ["http_proxy", "HTTP_PROXY"])
def test_ws_uses_http_proxy_variable(server, http_proxy, connect, monkeypatch, name):
    monkeypatch.setenv(name, f"http://127.0.0.1:{http_proxy.port}")
    _echo(connect(server.url("/env"), timeout=TIMEOUT), "via env")
    assert _proxied(http_proxy, server.port)


@pytest.mark.parametrize("name", ["https_proxy", "HTTPS_PROXY"])
def test_wss_uses_https_proxy_variable(tls, http_proxy, connect, monkeypatch, name):
    monkeypatch.setenv(name, f"http://127.0.0.1:{http_proxy.port}")
    with running(WsServer(ssl_context=tls.server_context())) as secure:
        ws = connect(secure.url("/envtls", host="localhost"), sslopt={"ca_certs": tls.ca_file}, timeout=TIMEOUT)
        _echo(ws, "wss via env")
        assert _proxied(http_proxy, secure.port, "localhost")


def test_ws_ignores_https_proxy(server, connect, monkeypatch, dead_proxy):
    monkeypatch.setenv("https_proxy", dead_proxy)
    _echo(connect(server.url(), timeout=TIMEOUT), "direct")


def test_wss_ignores_http_proxy(tls, connect, monkeypatch, dead_proxy):
    monkeypatch.setenv("http_proxy", dead_proxy)
    with running(WsServer(ssl_context=tls.server_context())) as secure:
        _echo(connect(secure.url(), sslopt={"ca_certs": tls.ca_file}, timeout=TIMEOUT), "wss direct")


def test_lowercase_variable_wins(server, http_proxy, connect, monkeypatch, dead_proxy):
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{http_proxy.port}")
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    _echo(connect(server.url("/lower"), timeout=TIMEOUT), "lowercase")
    assert _proxied(http_proxy, server.port)


def test_lowercase_variable_set_empty_hides_the_uppercase_one(server, connect, monkeypatch, dead_proxy):
    monkeypatch.setenv("http_proxy", "")
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    _echo(connect(server.url(), timeout=TIMEOUT), "no proxy at all")


def test_credentials_in_the_variable_become_proxy_auth(server, connect, monkeypatch):
    with pproxy("http", "eve:p@ss:word") as proc:
        monkeypatch.setenv("http_proxy", f"http://eve:p%40ss%3Aword@127.0.0.1:{proc.port}")
        _echo(connect(server.url("/envauth"), timeout=TIMEOUT), "env auth")
        monkeypatch.setenv("http_proxy", f"http://eve:nope@127.0.0.1:{proc.port}")
        with pytest.raises(websocket.WebSocketProxyException) as info:
            websocket.create_connection(server.url(), timeout=TIMEOUT)
    assert "nope" not in str(info.value)


@pytest.mark.wsline_only
def test_value_without_scheme_is_an_http_proxy(server, http_proxy, connect, monkeypatch):
    monkeypatch.setenv("http_proxy", f"127.0.0.1:{http_proxy.port}")
    _echo(connect(server.url("/noscheme"), timeout=TIMEOUT), "scheme-less")
    assert _proxied(http_proxy, server.port)


@pytest.mark.wsline_only
def test_socks5h_scheme_in_the_variable_selects_socks(server, connect, monkeypatch):
    with pproxy("socks5") as proc:
        monkeypatch.setenv("http_proxy", f"socks5h://127.0.0.1:{proc.port}")
        _echo(connect(server.url("/envsocks", host="localhost"), timeout=TIMEOUT), "env socks")
        assert proc.wait_for_line("socks5 127.0.0.1") is not None
        assert _proxied(proc, server.port, "localhost")


@pytest.mark.parametrize(
    "no_proxy",
    ["127.0.0.1", "127.0.0.0/8", "*", "example.test, 127.0.0.1", "localhost"],
    ids=["ip", "cidr", "star", "list", "name"],
)
@pytest.mark.parametrize("name", ["no_proxy", "NO_PROXY"])
def test_no_proxy_variable_exempts_hosts(server, connect, monkeypatch, dead_proxy, no_proxy, name):
    monkeypatch.setenv("http_proxy", dead_proxy)
    monkeypatch.setenv(name, no_proxy)
    host = "localhost" if no_proxy == "localhost" else "127.0.0.1"
    _echo(connect(server.url(host=host), timeout=TIMEOUT), "exempt")


@pytest.mark.wsline_only
def test_http_no_proxy_option_replaces_the_variable(server, http_proxy, connect, monkeypatch):
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{http_proxy.port}")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    _echo(connect(server.url("/optwins"), http_no_proxy=["example.test"], timeout=TIMEOUT), "option wins")
    assert _proxied(http_proxy, server.port)


def test_explicit_proxy_wins_over_the_variable(server, http_proxy, connect, monkeypatch, dead_proxy):
    monkeypatch.setenv("http_proxy", dead_proxy)
    ws = connect(server.url("/explicit"), http_proxy_host="127.0.0.1", http_proxy_port=http_proxy.port, timeout=TIMEOUT)
    _echo(ws, "explicit")
    assert _proxied(http_proxy, server.port)


def test_env_no_proxy_also_exempts_an_explicit_http_proxy(server, connect, monkeypatch, dead_proxy):
    # websocket-client checks no_proxy before using even an explicit HTTP proxy.
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    port = int(dead_proxy.rsplit(":", 1)[1])
    _echo(connect(server.url(), http_proxy_host="127.0.0.1", http_proxy_port=port, timeout=TIMEOUT), "exempt")


@pytest.mark.wsline_only
def test_invalid_port_in_variable_does_not_echo_the_value(server, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://user:TopSecret@127.0.0.1:notaport")
    with pytest.raises(websocket.WebSocketProxyException, match="http_proxy") as info:
        websocket.create_connection(server.url(), timeout=TIMEOUT)
    assert "TopSecret" not in str(info.value)


# --------------------------------------------------- selection, no socket


def test_get_proxy_info_compat(monkeypatch):
    assert get_proxy_info("h.test", False) == (None, 0, None)
    assert get_proxy_info("h.test", False, "p.test", 3128, ("u", "pw")) == ("p.test", 3128, ("u", "pw"))
    monkeypatch.setenv("https_proxy", "http://u%20x:p%2Fw@proxy.test:3128")
    assert get_proxy_info("h.test", True) == ("proxy.test", 3128, ("u x", "p/w"))
    assert get_proxy_info("h.test", False) == (None, 0, None)
    with pytest.raises(websocket.WebSocketProxyException, match="port 0"):
        get_proxy_info("h.test", False, "p.test", 0)


@pytest.mark.wsline_only
def test_missing_port_in_the_variable_is_80(monkeypatch):
    # websocket-client returns None here and connects to 80 later.
    monkeypatch.setenv("http_proxy", "http://proxy.test")
    assert get_proxy_info("h.test", False) == ("proxy.test", 80, None)


@pytest.mark.wsline_only
def test_socks_scheme_default_port_and_repr_hides_credentials(monkeypatch):
    from websocket._url import select_proxy

    monkeypatch.setenv("http_proxy", "socks4a://u:hidden@proxy.test")
    proxy = select_proxy("h.test", False)
    assert proxy is not None
    assert (proxy.kind, proxy.host, proxy.port, proxy.auth) == ("socks4a", "proxy.test", 1080, ("u", "hidden"))
    assert "hidden" not in repr(proxy)


@pytest.mark.wsline_only
@pytest.mark.parametrize(
    ("host", "entries", "expected"),
    [
        ("sub.example.com", [".example.com"], True),
        ("example.com", [".example.com"], True),
        ("badexample.com", [".example.com"], False),  # websocket-client matches this one
        ("sub.example.com", ["example.com"], True),
        ("badexample.com", ["example.com"], False),
        ("Sub.Example.COM", ["example.com"], True),
        ("a.example.com", ["*.example.com"], True),
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("10.1.2.3", ["10.1.2.0/255.255.255.0"], True),
        ("11.1.2.3", ["10.0.0.0/8"], False),
        ("::1", ["::1/128"], True),
        ("2001:db8::5", ["2001:db8::/32"], True),
        ("2001:db9::5", ["2001:db8::/32"], False),
        ("10.1.2.3", ["example.com"], False),
        ("example.com", ["10.0.0.0/8"], False),
        ("anything.test", ["*"], True),
        ("anything.test", [], False),
    ],
)
def test_no_proxy_matching(host, entries, expected):
    from websocket._url import is_no_proxy_host

    assert is_no_proxy_host(host, entries or None) is expected


@pytest.mark.wsline_only
def test_no_proxy_string_with_spaces(monkeypatch):
    from websocket._url import is_no_proxy_host

    monkeypatch.setenv("no_proxy", " a.test , b.test ")
    assert is_no_proxy_host("x.b.test", None)
    assert is_no_proxy_host("x.b.test", "c.test, b.test")
    assert not is_no_proxy_host("x.b.test", ["c.test"])


def test_variable_is_seen_when_os_environ_was_replaced_by_a_dict(server, http_proxy, connect, monkeypatch):
    # Some test suites swap os.environ for a plain dict; the lookup must not depend on its internals.
    monkeypatch.setattr("os.environ", {"http_proxy": f"http://127.0.0.1:{http_proxy.port}"})
    _echo(connect(server.url("/env-dict"), timeout=TIMEOUT), "via a dict environ")
    assert _proxied(http_proxy, server.port)


def test_variable_set_between_two_connects_is_seen(server, http_proxy, connect, monkeypatch):
    _echo(connect(server.url("/direct"), timeout=TIMEOUT), "direct")
    monkeypatch.setenv("all_proxy", f"http://127.0.0.1:{http_proxy.port}")
    _echo(connect(server.url("/later"), timeout=TIMEOUT), "via all_proxy")
    assert _proxied(http_proxy, server.port)
