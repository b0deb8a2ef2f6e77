"""Helpers for the wsdump tests: run it as a subprocess, and small local servers it talks to.

``run_wsdump(*args, input=...)`` runs ``python -m websocket`` with stdin and
stdout as pipes (scriptable mode) and returns the CompletedProcess.
``start_wsdump(*args)`` starts it with pipes kept open, for tests that write
and read while it runs. ``server(handler)`` runs a ``websockets`` server with
``handler(conn)`` on 127.0.0.1 (optionally TLS), for routes the session echo
server has not.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, Callable, Optional

from websockets.sync.server import ServerConnection, serve

RUN_TIMEOUT = 30.0


def wsdump_env(**extra: str) -> dict[str, str]:
    """The environment of a wsdump subprocess: no proxies, no NO_COLOR, UTF-8 I/O, plus ``extra``."""
    drop = {"http_proxy", "https_proxy", "no_proxy", "all_proxy", "no_color", "wsdump_history"}
    env = {k: v for k, v in os.environ.items() if k.lower() not in drop}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def wsdump_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "websocket", *args]


def run_wsdump(*args: str, input: str = "", timeout: float = RUN_TIMEOUT, **env: str) -> subprocess.CompletedProcess[str]:
    """Run wsdump to completion with ``input`` on stdin; stdout and stderr are captured."""
    return subprocess.run(
        wsdump_argv(*args),
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=wsdump_env(**env),
        check=False,
    )


def start_wsdump(*args: str, **env: str) -> subprocess.Popen[str]:
    """Start wsdump with stdin, stdout and stderr as pipes; the caller must stop it (see ``stop``)."""
    return subprocess.Popen(
        wsdump_argv(*args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        bufsize=1,
        env=wsdump_env(**env),
    )


def wait_open(proc: subprocess.Popen[str], timeout: float = 10.0) -> tuple[int, str, str]:
    """Wait for ``proc`` to exit by itself with its stdin still open; returns (status, stdout, stderr)."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
    return stop(proc)


def stop(proc: subprocess.Popen[str], timeout: float = 10.0) -> tuple[int, str, str]:
    """Wait for ``proc`` (killing it after ``timeout``); returns (status, stdout, stderr)."""
    if proc.stdin is not None and proc.stdin.closed:
        proc.stdin = None  # communicate() would flush it
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
    return proc.returncode, out, err


@contextlib.contextmanager
def server(
    handler: Callable[[ServerConnection], None], ssl_context: Optional[ssl.SSLContext] = None, **kwargs: Any
) -> Iterator[str]:
    """A ``websockets`` server running ``handler`` on 127.0.0.1; yields its URL (``wss://localhost`` with TLS)."""
    logger = logging.getLogger("tests.wsdump.server")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    srv = serve(handler, "127.0.0.1", 0, ssl=ssl_context, logger=logger, **kwargs)
    thread = threading.Thread(target=srv.serve_forever, name="wsdump-test-server", daemon=True)
    thread.start()
    port = srv.socket.getsockname()[1]
    try:
        yield f"wss://localhost:{port}/" if ssl_context else f"ws://127.0.0.1:{port}/"
    finally:
        stopper = threading.Thread(target=srv.shutdown, daemon=True)
        stopper.start()
        stopper.join(10)
        thread.join(10)
        assert not thread.is_alive(), "wsdump test server did not stop"
        del srv
        # websockets leaves selectors in reference cycles: free them now, not in a later test that counts fds.
        gc.collect()
