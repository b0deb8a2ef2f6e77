"""A thousand and more WebSocketApps on one loop: past descriptor 1024, one descriptor each, all delivering.

select() cannot take a descriptor of 1024 or more; a loop that used it (or a
readiness check that did) hung, silently, at about 510 connections when every
connection took two descriptors. Here 1,100 apps share one loop (wsline's own
SelectDispatcher, and rel), their descriptors pass 1024, and every one of them
still sends, receives its echo, and closes. Not timed: the benchmark
(benchmarks/scale.py) measures speed.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from _app_helpers import open_fds, settle_fds

import websocket
from websocket._dispatcher import SelectDispatcher

N = 1100
SERVER = Path(__file__).with_name("_many_server.py")


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Soft RLIMIT_NOFILE raised for N connections (restored after); skip when the hard limit is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = (open_fds() or 0) + N + 256
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below the {need} descriptors this test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def many_server(many_fds: None) -> Iterator[str]:
    """The URL of an echo server in its own process."""
    proc = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), f"the server did not start: {line!r}"
        yield f"ws://127.0.0.1:{int(line)}/"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_phases(loop: Any, phases: list[tuple[Callable[[], bool], Callable[[], Any]]], timeout: float) -> int:
    """One dispatch of ``loop`` (rel or a SelectDispatcher): each phase's action once its condition holds.

    One dispatch only: rel's abort() drops every read registration. Returns how many phases completed.
    """
    started = time.monotonic()
    done = [0]

    def check() -> bool:
        while done[0] < len(phases) and phases[done[0]][0]():
            phases[done[0]][1]()
            done[0] += 1
        if done[0] == len(phases) or time.monotonic() - started > timeout:
            loop.abort()
            return False
        return True

    loop.timeout(0.05, check)
    loop.dispatch()
    return done[0]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("which", ["own loop", "rel"])
def test_eleven_hundred_apps_on_one_loop_all_deliver(many_server: str, which: str, request: pytest.FixtureRequest) -> None:
    loop: Any = request.getfixturevalue("rel_loop") if which == "rel" else SelectDispatcher()
    fds_before = open_fds()
    echoed: set[int] = set()
    closed: list[int] = []
    errors: list[Any] = []
    highest_fd = 0

    def make(i: int) -> websocket.WebSocketApp:
        return websocket.WebSocketApp(
            many_server,
            on_open=lambda ws: ws.send(f"hello {i}"),
            on_message=lambda ws, msg: echoed.add(i) if msg == f"hello {i}" else errors.append(msg),
            on_error=lambda ws, exc: errors.append(exc),
            on_close=lambda ws, code, reason: closed.append(i),
        )

    apps = []
    for i in range(N):
        app = make(i)
        assert app.run_forever(dispatcher=loop, ping_interval=30) is False, errors[-1:]
        assert app.sock is not None and app.sock.sock is not None
        highest_fd = max(highest_fd, app.sock.sock.fileno())
        apps.append(app)
    fds_open = open_fds()
    assert highest_fd >= 1024  # past what select() can watch
    if fds_before is not None and fds_open is not None:
        assert fds_open - fds_before <= N + 16, "more than one descriptor per connection"

    rounds: list[int] = []

    def second_round() -> None:
        # Every connection is still alive after the others were served: one more round trip each.
        rounds.append(len(echoed))
        echoed.clear()
        for i, app in enumerate(apps):
            app.send(f"hello {i}")

    def close_all() -> None:
        rounds.append(len(echoed))
        for app in apps:
            app.close()  # from the loop's thread: starts the closing handshake and returns

    phases = [
        (lambda: len(echoed) == N or bool(errors), second_round),
        (lambda: len(echoed) == N or bool(errors), close_all),
        (lambda: len(closed) == N or bool(errors), lambda: None),
    ]
    completed = run_phases(loop, phases, timeout=200)
    assert not errors, errors[:3]
    assert rounds == [N, N], f"echoed per round: {rounds} of {N}"
    assert completed == 3, f"{len(closed)} of {N} closed"
    assert not errors, errors[:3]
    if fds_before is not None:
        assert (settle_fds(fds_before, timeout=10) or 0) <= fds_before, "descriptors left open"
