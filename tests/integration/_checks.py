"""Small assertion helpers shared by the integration tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any


def socket_closed(ws: Any) -> bool:
    """True when the client no longer holds an open socket."""
    sock = ws.sock
    return sock is None or sock.fileno() == -1


def request_headers(ws: Any) -> dict[str, list[str]]:
    """Read the /headers route's first message: request headers by lowercase name."""
    data = json.loads(ws.recv())
    headers: dict[str, list[str]] = {}
    for name, value in data["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return headers


def run_in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``target`` in a daemon thread; the dict gets ``result`` or ``error``."""
    outcome: dict[str, Any] = {}

    def runner() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:  # inspected by the test
            outcome["error"] = exc

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    return thread, outcome


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.elapsed`` in seconds."""

    def __enter__(self) -> Stopwatch:
        self.start = time.monotonic()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self.start
