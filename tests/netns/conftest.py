"""Real network faults in network namespaces (root only; run by ``.ci/netns.sh``).

These tests change the network (a namespace, a veth pair, tc rules), so they
run only when asked: ``WSLINE_NETNS=1 pytest tests/netns`` as root with
``ip`` and ``tc`` (iproute2). Anywhere else every test here skips, saying why.

``ns`` (function): a fresh ``_netns.Namespace``; ``server`` (function): the
``_ns_server.py`` websockets server running inside it, as a base URL
``ws://10.200.x.y:8765``; ``figure(name, value, unit, bound)`` records a
measurement, printed in a table at the end of the run.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from _netns import Namespace, available

HERE = Path(__file__).resolve().parent
SERVER_PORT = 8765
OPT_IN = "WSLINE_NETNS"
FIGURES: list[tuple[str, str, float, str, Optional[float]]] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None if os.environ.get(OPT_IN) == "1" else f"network namespace tests run with {OPT_IN}=1 (see .ci/netns.sh)"
    reason = reason or available()
    if reason:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if Path(str(item.fspath)).parent == HERE:
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("network fault figures")
    for test, name, value, unit, bound in FIGURES:
        limit = "" if bound is None else f"  (bound {bound:g} {unit})"
        terminalreporter.write_line(f"{test}: {name} = {value:.3f} {unit}{limit}")


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[..., None]:
    def record(name: str, value: float, unit: str = "s", bound: Optional[float] = None) -> None:
        FIGURES.append((request.node.name, name, value, unit, bound))

    return record


@pytest.fixture
def ns() -> Iterator[Namespace]:
    with Namespace("faults") as namespace:
        yield namespace


@pytest.fixture
def server(ns: Namespace) -> str:
    proc = ns.popen([sys.executable, str(HERE / "_ns_server.py"), ns.addr, str(SERVER_PORT)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    deadline = time.monotonic() + 15
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()) and proc.stdout.readline().strip() == b"READY":
                return f"ws://{ns.addr}:{SERVER_PORT}"
            if proc.poll() is not None:
                break
    raise AssertionError(f"the server in {ns.name} did not start (exit {proc.poll()})")
