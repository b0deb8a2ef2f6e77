"""The dependents lane: real packages that import ``websocket``, driven through their public API.

kubernetes, docker, streamlink and slack_sdk each depend on websocket-client, which
installs its files into the same ``websocket/`` package as wsline. The lane
(``.ci/dependents.sh``) installs them in a venv of its own and then removes
websocket-client again, keeping wsline's files; the check below refuses to run a
single test if ``import websocket`` finds anything but wsline, since every pass
would then be a pass of websocket-client.

``aio`` (function): ``srv = aio(routes)`` starts an ``_aioserver.AioServer`` on
127.0.0.1 with those ``(method, path, handler)`` routes, stopped at teardown.

``WSLINE_DEPENDENTS_REFERENCE=1`` lifts that check, to run the lane against
websocket-client on purpose (``PYTHONPATH`` pointing at a copy of it) and so check
the tests themselves against the reference.

Every test here gets a pytest-timeout of 60 s unless it sets its own; the lane is
collected only when asked for (``pytest tests/dependents``), see tests/conftest.py.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator

import pytest
from _aioserver import AioServer, Handler

import websocket

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_TEST_TIMEOUT = 60
REFERENCE_ENV = "WSLINE_DEPENDENTS_REFERENCE"  # =1: allow websocket-client (the reference) as `websocket`


def _is_wsline() -> str | None:
    """None when ``websocket`` is wsline, else why not."""
    if not hasattr(websocket, "CloseCode") or not hasattr(websocket, "Opcode"):
        return f"`import websocket` is not wsline (no CloseCode/Opcode): {websocket.__file__}"
    try:
        importlib.import_module("websocket._sansio.protocol")  # wsline's own module
    except ImportError as exc:
        return f"`import websocket` has no wsline core ({exc}): {websocket.__file__}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(REFERENCE_ENV, "") not in ("", "0"):
        return  # a deliberate run against websocket-client, to check the tests themselves
    problem = _is_wsline()
    if problem is not None:
        raise pytest.UsageError(
            problem + "\nwebsocket-client's files replaced wsline's: run .ci/dependents.sh, "
            "or `python -m websocket doctor` for the fix"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TEST_TIMEOUT))


@pytest.fixture(autouse=True)
def _no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's proxy settings must not reroute 127.0.0.1 test traffic."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def aio() -> Iterator[Callable[[list[tuple[str, str, Handler]]], AioServer]]:
    started: list[AioServer] = []

    def start(routes: list[tuple[str, str, Handler]]) -> AioServer:
        srv = AioServer(routes).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
