"""Real proxy servers as subprocesses: pproxy (HTTP CONNECT, also behind TLS; SOCKS4, SOCKS5), proxy.py
(HTTP CONNECT, both from PyPI) and Debian's tinyproxy.

Ports without races: pproxy listens on port 0 and prints the port the kernel
gave it, which is read from its output. tinyproxy refuses port 0, so a free
port is picked and the start is retried with another one when tinyproxy
fails to bind it; readiness is tinyproxy's own "Accepting connections" line,
so a port taken by someone else in between is never mistaken for ours.
proxy.py listens on port 0 and logs the port at debug level.

Every wait is bounded; ``stop()`` terminates the process (kill after a grace
period) and joins the thread that reads its output.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
# The credentials the conftest's http_proxy_with_auth and socks5_auth require.
PROXY_USER, PROXY_PASSWORD = "alice", "s3cret-Pa55word"


class ProxyProcess:
    """A proxy subprocess whose output lines are collected; ``port`` once ready."""

    def __init__(self, argv: list[str], ready: re.Pattern[str], port: int = 0, name: str = "proxy") -> None:
        self.argv = argv
        self.ready_pattern = ready
        self.port = port
        self.name = name
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._cond = threading.Condition()

    def start(self) -> ProxyProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env
        )
        self._reader = threading.Thread(target=self._read, name=f"{self.name}-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start: {' | '.join(self.lines[-10:])}")
        return self

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
            match = self.ready_pattern.search(line)
            if match and not self._ready.is_set():
                if match.groupdict().get("port"):
                    self.port = int(match.group("port"))
                self._ready.set()

    def wait_for_line(self, needle: str, timeout: float = 5.0) -> str | None:
        """The first output line containing ``needle``, waiting up to ``timeout`` (None if none came)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


_PPROXY_READY = re.compile(r"Serving on .*:(?P<port>\d+) by")


def start_pproxy(scheme: str, auth: str | None = None, tls_files: tuple[str, str] | None = None) -> ProxyProcess:
    """pproxy listening on 127.0.0.1 (``scheme``: http, socks4, socks5), verbose, credentials if given.

    ``tls_files`` (certificate chain, key) makes it an HTTPS proxy: TLS on
    the listener, the protocol inside it. ``--auth 0`` stops pproxy from
    trusting an address that authenticated once.
    """
    listen = f"{scheme}{'+ssl' if tls_files else ''}://127.0.0.1:0" + (f"#{auth}" if auth else "")
    argv = [sys.executable, "-u", "-m", "pproxy", "-l", listen, "-v", "--auth", "0"]
    if tls_files:
        argv += ["--ssl", ",".join(tls_files)]
    name = f"pproxy-{scheme}{'-tls' if tls_files else ''}"
    return ProxyProcess(argv, _PPROXY_READY, name=name).start()


@contextlib.contextmanager
def pproxy(scheme: str, auth: str | None = None, tls_files: tuple[str, str] | None = None) -> Iterator[ProxyProcess]:
    proc = start_pproxy(scheme, auth, tls_files)
    try:
        yield proc
    finally:
        proc.stop()


TINYPROXY = shutil.which("tinyproxy") or (os.path.exists("/usr/sbin/tinyproxy") and "/usr/sbin/tinyproxy") or None
_TINYPROXY_READY = re.compile(r"Accepting connections")


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_tinyproxy(workdir: str, auth: tuple[str, str] | None = None, attempts: int = 5) -> ProxyProcess:
    """tinyproxy in the foreground on 127.0.0.1, CONNECT allowed to any port, Basic auth if given."""
    assert TINYPROXY, "tinyproxy is not installed"
    last: Exception | None = None
    for _ in range(attempts):
        port = _unused_port()
        conf = os.path.join(workdir, f"tinyproxy-{port}.conf")
        lines = [f"Port {port}", "Listen 127.0.0.1", "Timeout 30", "LogLevel Info", "MaxClients 32", "Allow 127.0.0.1"]
        if auth:
            lines.append(f"BasicAuth {auth[0]} {auth[1]}")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        try:
            return ProxyProcess([TINYPROXY, "-d", "-c", conf], _TINYPROXY_READY, port=port, name="tinyproxy").start()
        except RuntimeError as exc:  # most likely the port was taken in between: try another
            last = exc
    raise RuntimeError(f"tinyproxy did not start after {attempts} attempts: {last}")


@contextlib.contextmanager
def tinyproxy(auth: tuple[str, str] | None = None) -> Iterator[ProxyProcess]:
    with tempfile.TemporaryDirectory(prefix="wsl-tp") as workdir:
        proc = start_tinyproxy(workdir, auth)
        try:
            yield proc
        finally:
            proc.stop()


_PROXYPY_READY = re.compile(r"Listening on 127\.0\.0\.1:(?P<port>\d+)")


@contextlib.contextmanager
def proxypy(auth: tuple[str, str] | None = None) -> Iterator[ProxyProcess]:
    """proxy.py (PyPI) on 127.0.0.1: a second HTTP CONNECT proxy, Basic auth if given (407 when wrong)."""
    argv = [sys.executable, "-u", "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
            "--num-workers", "1", "--num-acceptors", "1", "--log-level", "d"]
    if auth:
        argv += ["--basic-auth", f"{auth[0]}:{auth[1]}"]
    proc = ProxyProcess(argv, _PROXYPY_READY, name="proxy.py").start()
    try:
        yield proc
    finally:
        proc.stop()
