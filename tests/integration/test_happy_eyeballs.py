"""Happy eyeballs on the loopback: a name with several addresses, the dead ones skipped without waiting for the timeout.

A "dead" address is a real listener on 127.0.0.1 whose accept queue is full
(``listen(0)`` and one connection nobody accepts): Linux then drops further
SYNs silently, as a host behind a broken route would. The name resolves
(``socket.getaddrinfo`` is replaced, only for NAME: there is no DNS here) to
the dead listener first and a real WebSocket server after it. The same
behaviour against addresses in a network namespace is in tests/netns.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import websocket
from websocket._net import dial

NAME = "several.wsline.test"
pytestmark = [
    pytest.mark.wsline_only,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a full accept queue drops SYNs on Linux only"),
]


def _v4(port: int) -> tuple[Any, ...]:
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port on 127.0.0.1 that silently drops SYNs (its accept queue is full)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)
    yield listener.getsockname()[1]
    filler.close()
    listener.close()


@pytest.fixture
def refused_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connects are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def resolve(monkeypatch: pytest.MonkeyPatch):
    """``resolve(port, port, ...)``: NAME resolves to 127.0.0.1 on those ports, in that order."""
    real = socket.getaddrinfo

    def install(*ports: int) -> None:
        def fake(host: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
            return [_v4(p) for p in ports] if host == NAME else real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake)

    return install


def _url(server: Any) -> str:
    return f"ws://{NAME}:{server.port}/"


def test_dead_address_first_is_passed_after_the_delay(server, dead_port, resolve, connect):
    resolve(dead_port, server.port)
    start = time.monotonic()
    ws = connect(_url(server), timeout=10)
    elapsed = time.monotonic() - start
    ws.send("second address")
    assert ws.recv() == "second address"
    assert ws.sock.getpeername()[1] == server.port
    assert dial.DEFAULT_HAPPY_EYEBALLS_DELAY * 0.8 <= elapsed < 5  # the delay, not the 10 s timeout


def test_the_delay_is_an_option(server, dead_port, resolve, connect):
    resolve(dead_port, server.port)
    start = time.monotonic()
    connect(_url(server), timeout=10, happy_eyeballs_delay=0.05)
    assert time.monotonic() - start < 2


def test_none_turns_it_off(server, dead_port, resolve):
    resolve(dead_port, server.port)
    start = time.monotonic()
    with pytest.raises(websocket.WebSocketTimeoutException):
        websocket.create_connection(_url(server), timeout=0.8, happy_eyeballs_delay=None)
    assert time.monotonic() - start >= 0.7  # the first address held the whole timeout, as in websocket-client


def test_a_refused_attempt_starts_the_next_at_once(server, refused_port, resolve, connect):
    resolve(refused_port, server.port)
    start = time.monotonic()
    ws = connect(_url(server), timeout=10, happy_eyeballs_delay=5)
    assert time.monotonic() - start < 2.5  # not the 5 s delay
    assert ws.sock.getpeername()[1] == server.port


def test_every_address_refused_raises_the_connect_error(refused_port, resolve):
    resolve(refused_port, refused_port)
    with pytest.raises(ConnectionRefusedError, match=f"127.0.0.1 port {refused_port}"):
        websocket.create_connection(f"ws://{NAME}:{refused_port}/", timeout=5)


def test_all_dead_times_out_once_for_the_whole_connect(dead_port, resolve):
    resolve(dead_port, dead_port, dead_port)
    start = time.monotonic()
    with pytest.raises(websocket.WebSocketTimeoutException, match=f"connecting to {NAME}:{dead_port} timed out"):
        websocket.create_connection(f"ws://{NAME}:{dead_port}/", timeout=0.8, happy_eyeballs_delay=0.1)
    assert time.monotonic() - start < 2


def test_losing_attempts_are_closed(server, dead_port, resolve, connect):
    opened: list[socket.socket] = []
    real_start = dial._start

    def spy(info: Any, sockopt: Any) -> socket.socket:
        sock = real_start(info, sockopt)
        opened.append(sock)
        return sock

    resolve(dead_port, dead_port, server.port)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dial, "_start", spy)
        ws = connect(_url(server), timeout=10, happy_eyeballs_delay=0.05)
    assert len(opened) == 3
    assert [s.fileno() for s in opened[:2]] == [-1, -1]  # the two attempts still waiting were closed
    assert ws.sock is opened[2] and ws.sock.fileno() >= 0


def test_socket_options_reach_every_attempt(server, dead_port, resolve, connect):
    resolve(dead_port, server.port)
    ws = connect(_url(server), timeout=10, sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)])
    assert ws.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1  # the defaults
    assert ws.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536  # the user's
    assert ws.sock.gettimeout() == 10  # blocking again, with the connection's timeout


@pytest.mark.parametrize("bad", [-1, "0.25", True, float("nan")])
def test_a_bad_delay_is_refused(server, bad):
    with pytest.raises(ValueError, match="happy_eyeballs_delay"):
        websocket.create_connection(server.url(), happy_eyeballs_delay=bad)


def test_run_forever_passes_the_delay(server, dead_port, resolve):
    resolve(dead_port, server.port)
    got: list[str] = []
    app = websocket.WebSocketApp(
        _url(server),
        on_open=lambda app: app.send("app"),
        on_message=lambda app, message: (got.append(message), app.close()),
    )
    runner = threading.Thread(target=app.run_forever, kwargs={"happy_eyeballs_delay": 0.05}, daemon=True)
    start = time.monotonic()
    runner.start()
    runner.join(10)
    assert not runner.is_alive() and got == ["app"]
    assert time.monotonic() - start < 5
