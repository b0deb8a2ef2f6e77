"""Fixtures for the integration tests: real servers, scripted servers, clients.

``echo_server`` (session): a ``websockets`` 17.4 server routed by path, see
    ``_echo_server.py`` for the routes. ``echo_server.url_for("/echo")`` gives
    a URL; ``url, record = echo_server.track("/sink")`` also gives the
    ``ServerRecord`` of what the server saw (messages, the client's close
    frame, request headers).
``raw_server`` (function): a factory; ``srv = raw_server(script)`` starts a
    scripted raw-socket server (``_raw_server.py``) running
    ``script(conn: RawConn)`` for each connection. ``srv.url``,
    ``srv.wait_conn()``, ``srv.join()`` (re-raises script errors) and
    ``conn.frames`` / ``conn.client_close`` for what the client sent.
``connect`` (function): ``connect(url, **options)`` is
    ``websocket.create_connection`` with a 5 s default timeout; every
    connection it makes (or is given through ``connect.track(ws)``) is shut
    down at teardown.
``rel_loop`` (function): the ``rel`` module, freshly initialised; stopped and
    reset afterwards, SIGINT restored (skips the test without rel).
``trace_log`` (function): ``websocket.enableTrace`` on, at DEBUG, into a
    handler whose ``lines`` / ``text`` hold the messages logged.
``tls`` (module): a test CA and a server certificate for localhost
    (``_tls_material.TlsMaterial``).
``server`` (function): a ``_reach_servers.WsServer`` on 127.0.0.1 that
    records the requests it saw (some modules define their own).
For the proxy tests: ``http_proxy``, ``http_proxy_with_auth``, ``socks4``,
    ``socks5``, ``socks5_auth`` (module), pproxy processes
    (``_proxy_procs.py``; the ``*_auth`` ones want ``PROXY_USER`` /
    ``PROXY_PASSWORD``); ``dead_proxy`` (function), the URL of a listener
    that never answers.

Every test here gets a pytest-timeout of 60 s unless it sets its own, and
runs with the proxy environment variables removed (proxy tests set them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

# Test helper modules live next to this file (tests/ has no __init__.py);
# pytest's default "prepend" import mode already puts this directory on
# sys.path for conftest and test modules, so plain imports work.
from _echo_server import EchoServer
from _proxy_procs import PROXY_PASSWORD, PROXY_USER, ProxyProcess, pproxy
from _raw_server import RawServer, Script
from _reach_servers import WsServer, running, stalled_listener
from _tls_material import TlsMaterial, tls_material

DEFAULT_TEST_TIMEOUT = 60
CLIENT_TIMEOUT = 5.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TEST_TIMEOUT))


PROXY_ENV = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "socks_proxy")


@pytest.fixture(autouse=True)
def _no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's proxy settings must not reroute 127.0.0.1 test traffic."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="session")
def echo_server() -> Iterator[EchoServer]:
    """One real ``websockets`` server for the whole session (compression off)."""
    server = EchoServer(compression=None, max_size=None).start()
    yield server
    server.stop()


class RawServerFactory:
    """Callable fixture value: ``raw_server(script, linger=5.0, host="127.0.0.1") -> RawServer``."""

    def __init__(self) -> None:
        self.servers: list[RawServer] = []

    def __call__(self, script: Script, *, linger: float = 5.0, host: str = "127.0.0.1") -> RawServer:
        server = RawServer(script, linger=linger, host=host).start()
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        errors: list[AssertionError] = []
        for server in self.servers:
            try:
                server.stop()
            except AssertionError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def raw_server() -> Iterator[RawServerFactory]:
    """Factory for scripted raw-socket servers; all are stopped at teardown."""
    factory = RawServerFactory()
    yield factory
    factory.stop_all()


class Connector:
    """Callable fixture value: opens client connections and cleans them up."""

    def __init__(self) -> None:
        self.made: list[Any] = []

    def __call__(self, url: str, **options: Any) -> Any:
        import websocket

        options.setdefault("timeout", CLIENT_TIMEOUT)
        ws = websocket.create_connection(url, **options)
        self.made.append(ws)
        return ws

    def track(self, ws: Any) -> Any:
        """Register a WebSocket built by the test so teardown shuts it down."""
        self.made.append(ws)
        return ws

    def close_all(self) -> None:
        for ws in self.made:
            # shutdown() drops the socket without a close handshake: fast and
            # safe whatever state the test left the connection in.
            with contextlib.suppress(Exception):
                ws.shutdown()


@pytest.fixture
def connect() -> Iterator[Connector]:
    """``connect(url, **options)``: create_connection with cleanup."""
    connector = Connector()
    yield connector
    connector.close_all()


@pytest.fixture
def restore_default_timeout() -> Iterator[None]:
    """Put websocket.getdefaulttimeout() back after a test changes it."""
    import websocket

    saved = websocket.getdefaulttimeout()
    yield
    websocket.setdefaulttimeout(saved)


@pytest.fixture
def rel_loop() -> Iterator[Any]:
    """A fresh rel registrar; afterwards rel is stopped and reset, and SIGINT is restored."""
    rel = pytest.importorskip("rel")
    saved = signal.getsignal(signal.SIGINT)
    rel.init()
    yield rel
    rel.abort()
    rel.init()
    signal.signal(signal.SIGINT, saved)


class LogLines(logging.Handler):
    """Keeps the message of every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def trace_log() -> Iterator[LogLines]:
    """``websocket.enableTrace`` into a ``LogLines`` handler, turned off at teardown."""
    import websocket

    handler = LogLines()
    websocket.enableTrace(True, handler=handler, level="DEBUG")
    try:
        yield handler
    finally:
        websocket.enableTrace(False, handler=handler)


@pytest.fixture(scope="module")
def tls() -> Iterator[TlsMaterial]:
    with tls_material() as material:
        yield material


@pytest.fixture
def server() -> Iterator[WsServer]:
    """A real WebSocket server on 127.0.0.1 that records the requests it saw."""
    with running(WsServer()) as srv:
        yield srv


# The pproxy fixtures are module-scoped: each test module gets its own
# processes, so a proxy's log only holds that module's traffic.
_LOGIN = f"{PROXY_USER}:{PROXY_PASSWORD}"


def _pproxy_fixture(scheme: str, auth: str | None = None) -> Any:
    """A module-scoped fixture running a pproxy process for ``scheme`` (with ``auth``, user:password)."""

    def fixture() -> Iterator[ProxyProcess]:
        with pproxy(scheme, auth) as proc:
            yield proc

    return pytest.fixture(scope="module")(fixture)


http_proxy = _pproxy_fixture("http")
http_proxy_with_auth = _pproxy_fixture("http", _LOGIN)
socks4 = _pproxy_fixture("socks4")
socks5 = _pproxy_fixture("socks5")
socks5_auth = _pproxy_fixture("socks5", _LOGIN)


@pytest.fixture
def dead_proxy() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a listener that never answers: going through it would time out."""
    listener = stalled_listener()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
