"""A dual-stack network namespace for the happy eyeballs tests (root only; run by ``.ci/netns.sh``).

``DualStack`` creates a fresh namespace ``wsl-reach-<i>`` (the first free
``i`` wins, so concurrent runs never share one) joined to the test's own
namespace by a veth pair ``wslr<i>h`` / ``wslr<i>n``, with addresses the
test assigns itself: ``10.251.<i>.1`` and ``fd57:5e11:<i>::1`` on the
test's end, ``10.251.<i>.n`` and ``fd57:5e11:<i>::n`` (n in ``hosts``) on
the namespace's end. ``drop_tcp_to(address)`` adds a DROP rule (iptables /
ip6tables inside the namespace only): SYNs to it vanish, as on a broken
network. A server started with ``popen`` runs inside and is stopped on exit;
leaving the ``with`` block deletes the namespace and the pair, and with them
every address, route and rule made here. Nothing else is touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

__all__ = ["DualStack", "unavailable", "run"]

COMMAND_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
TOOLS = ("ip", "iptables", "ip6tables", "ss")
MAX_INDEX = 250


def unavailable() -> Optional[str]:
    """Why the namespace tests cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, iptables)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} (apt-get install iproute2 iptables; .ci/netns.sh does)"
    return None


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, bounded; a failure names the command and its stderr."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done


class DualStack:
    """One namespace, one veth pair, an IPv4 /24 and an IPv6 /64 on it; removed on exit."""

    def __init__(self, hosts: Sequence[int] = (2, 3, 4)) -> None:
        self.hosts = tuple(hosts)
        self.index = 0
        self.name = ""
        self.host_if = self.ns_if = ""
        self._procs: list[subprocess.Popen[Any]] = []

    def v4(self, n: int) -> str:
        return f"10.251.{self.index}.{n}"

    def v6(self, n: int) -> str:
        return f"fd57:5e11:{self.index:x}::{n}"

    def __enter__(self) -> DualStack:
        self._create()
        try:
            self._wire()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        taken = set(run("ip", "netns", "list").stdout.split())
        for index in range(1, MAX_INDEX):
            name = f"wsl-reach-{index}"
            if name not in taken and run("ip", "netns", "add", name, check=False).returncode == 0:
                self.index, self.name = index, name
                return
        raise RuntimeError("no free wsl-reach-N namespace name")

    def _wire(self) -> None:
        self.host_if, self.ns_if = f"wslr{self.index}h", f"wslr{self.index}n"
        run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        run("ip", "link", "set", self.ns_if, "netns", self.name)
        run("ip", "addr", "add", f"{self.v4(1)}/24", "dev", self.host_if)
        run("ip", "-6", "addr", "add", f"{self.v6(1)}/64", "dev", self.host_if, "nodad")
        run("ip", "link", "set", self.host_if, "up")
        for n in self.hosts:
            self.ip("addr", "add", f"{self.v4(n)}/24", "dev", self.ns_if)
            self.ip("-6", "addr", "add", f"{self.v6(n)}/64", "dev", self.ns_if, "nodad")
        self.ip("link", "set", self.ns_if, "up")
        self.ip("link", "set", "lo", "up")
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while "state UP" not in run("ip", "link", "show", self.host_if).stdout:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.host_if} did not come up")
            time.sleep(0.05)

    def ip(self, *args: str) -> str:
        """``ip -n NAME args...``; returns its output."""
        return run("ip", "-n", self.name, *args).stdout

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def drop_tcp_to(self, *addresses: str) -> None:
        """Drop every TCP segment to ``addresses`` inside the namespace (no RST, no ICMP)."""
        for address in addresses:
            tool = "ip6tables" if ":" in address else "iptables"
            run(*self.exec_argv([tool, "-A", "INPUT", "-d", address, "-p", "tcp", "-j", "DROP"]))

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the namespace (its own session); stopped by ``close``."""
        proc: subprocess.Popen[Any] = subprocess.Popen(self.exec_argv(argv), start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def close(self) -> None:
        """Stop what ``popen`` started, delete the pair and the namespace (safe to call twice)."""
        for proc in self._procs:
            _stop(proc)
        self._procs.clear()
        if self.host_if:
            run("ip", "link", "del", self.host_if, check=False)
        if self.name:
            run("ip", "netns", "del", self.name, check=False)
            self.name = ""


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
