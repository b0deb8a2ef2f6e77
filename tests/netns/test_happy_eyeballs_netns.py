"""Happy eyeballs against addresses that drop SYNs, all inside a network namespace the tests create.

The name ``dual.wsline.test`` resolves (``socket.getaddrinfo`` is replaced:
there is no DNS here) to addresses this module assigned on its own veth
pair (``_dualstack.DualStack``): ``v4(2)`` / ``v6(2)`` run a WebSocket echo
server, and every TCP segment to ``v4(3|4)`` / ``v6(3|4)`` is dropped inside
the namespace, as a dead address on a broken network would. The measured
connect time is printed for the record.

Root only, and opt-in: ``WSLINE_NETNS=1 pytest tests/netns`` (``.ci/netns.sh``);
anywhere else every test here skips, saying why.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _dualstack import DualStack, run, unavailable

import websocket
from websocket._net import dial

NAME = "dual.wsline.test"
TIMEOUT = 10.0
SERVER = os.path.join(os.path.dirname(__file__), "_dualstack_server.py")
_REASON = None if os.environ.get("WSLINE_NETNS") == "1" else "network namespace tests run with WSLINE_NETNS=1 (see .ci/netns.sh)"
_REASON = _REASON or unavailable()
pytestmark = [pytest.mark.skipif(_REASON is not None, reason=_REASON or ""), pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def netns() -> Iterator[DualStack]:
    with DualStack(hosts=(2, 3, 4)) as ns:
        ns.drop_tcp_to(ns.v4(3), ns.v6(3), ns.v4(4), ns.v6(4))
        yield ns


@pytest.fixture(scope="module")
def ns_server(netns: DualStack) -> int:
    """The port of the echo server inside the namespace, on v4(2) and v6(2)."""
    proc = netns.popen([sys.executable, "-u", SERVER, netns.v4(2), netns.v6(2)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(15), "the namespace server did not start"
    line = proc.stdout.readline()
    assert line.startswith("ready "), f"the namespace server said {line!r}"
    return int(line.split()[1])


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))


@pytest.fixture
def resolve(monkeypatch: pytest.MonkeyPatch):
    """``resolve(*addresses, port=...)`` makes NAME resolve to ``addresses``, in that order."""
    real = socket.getaddrinfo

    def install(*addresses: str, port: int) -> None:
        def fake(host: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
            if host == NAME:
                return [_info(a, port) for a in addresses]
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake)

    return install


def _timed_connect(url: str, **options: Any) -> tuple[websocket.WebSocket, float]:
    start = time.monotonic()
    ws = websocket.create_connection(url, **options)
    return ws, time.monotonic() - start


def _syn_sent_to(address: str) -> str:
    return run("ss", "-Htn", "state", "syn-sent", "dst", f"[{address}]" if ":" in address else address).stdout.strip()


def test_dead_ipv6_address_first_connects_in_about_the_delay(netns: DualStack, ns_server: int, resolve, capsys):
    resolve(netns.v6(3), netns.v4(2), port=ns_server)
    ws, elapsed = _timed_connect(f"ws://{NAME}:{ns_server}/", timeout=TIMEOUT)
    try:
        ws.send("both families tried")
        assert ws.recv() == "both families tried"
        assert ws.sock.getpeername()[0] == netns.v4(2)
        assert _syn_sent_to(netns.v6(3)) == ""  # the losing attempt was closed
    finally:
        ws.close()
    with capsys.disabled():
        what = "happy eyeballs: dead IPv6 first, connected over IPv4"
        print(f"\n{what} in {elapsed * 1000:.0f} ms (delay 250 ms, timeout {TIMEOUT:.0f} s)")
    # The second attempt waited for the delay (the first one never answers), not for the timeout.
    assert dial.DEFAULT_HAPPY_EYEBALLS_DELAY * 0.8 <= elapsed < TIMEOUT / 4


def test_address_families_are_interleaved(netns: DualStack, ns_server: int, resolve, monkeypatch):
    started: list[str] = []
    real_start = dial._start

    def spy(info: Any, sockopt: Any) -> socket.socket:
        started.append(info[4][0])
        return real_start(info, sockopt)

    monkeypatch.setattr(dial, "_start", spy)
    resolve(netns.v6(3), netns.v6(4), netns.v4(2), port=ns_server)
    ws, elapsed = _timed_connect(f"ws://{NAME}:{ns_server}/", timeout=TIMEOUT, happy_eyeballs_delay=1.0)
    ws.close()
    # IPv4 went second, not third: one delay, not two.
    assert started == [netns.v6(3), netns.v4(2)]
    assert 0.8 <= elapsed < 1.8


def test_working_ipv6_wins_without_waiting(netns: DualStack, ns_server: int, resolve):
    resolve(netns.v6(2), netns.v4(3), port=ns_server)
    ws, elapsed = _timed_connect(f"ws://{NAME}:{ns_server}/", timeout=TIMEOUT)
    try:
        assert ws.sock.getpeername()[0] == netns.v6(2)
        assert _syn_sent_to(netns.v4(3)) == ""  # never started, or closed
    finally:
        ws.close()
    assert elapsed < dial.DEFAULT_HAPPY_EYEBALLS_DELAY * 4


def test_the_whole_race_runs_under_one_deadline(netns: DualStack, ns_server: int, resolve):
    resolve(netns.v6(3), netns.v4(3), netns.v6(4), netns.v4(4), port=ns_server)
    start = time.monotonic()
    with pytest.raises(websocket.WebSocketTimeoutException, match=f"connecting to {NAME}:{ns_server} timed out"):
        websocket.create_connection(f"ws://{NAME}:{ns_server}/", timeout=1.0, happy_eyeballs_delay=0.1)
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 2.0  # one timeout for all four attempts, not one each
    for n in (3, 4):
        assert _syn_sent_to(netns.v4(n)) == "" and _syn_sent_to(netns.v6(n)) == ""


def test_turned_off_the_first_dead_address_takes_the_whole_timeout(netns: DualStack, ns_server: int, resolve):
    resolve(netns.v6(3), netns.v4(2), port=ns_server)
    start = time.monotonic()
    with pytest.raises(websocket.WebSocketTimeoutException):
        websocket.create_connection(f"ws://{NAME}:{ns_server}/", timeout=1.0, happy_eyeballs_delay=None)
    assert time.monotonic() - start >= 0.9  # websocket-client's way: one address after the other
