"""Network namespaces for tests that need real network faults (root only).

A ``Namespace`` is a fresh network namespace joined to the test's own one by a
veth pair, with one /30 of 10.200.0.0/16 on it: ``host_addr`` on the test's
end (``host_dev``), ``addr`` on the namespace's end (``dev``). Nothing else is
touched: no other address, route, rule or namespace::

    with Namespace("keepalive") as ns:
        proc = ns.popen([sys.executable, "server.py"])   # runs inside, tracked
        ns.link(up=False)          # blackhole: packets vanish, no RST, no ICMP
        ns.link(up=True)
        ns.rate_limit("1mbit")     # tc tbf on both ends of the pair
        ns.clear_rate_limit()
        ns.drop_input(True)        # the same blackhole as a DROP rule inside

Leaving the ``with`` block (also on an exception) stops every process started
with ``popen`` and deletes the namespace, which deletes the veth pair and so
the test-side address and route with it. ``available()`` says why the lane
cannot run here (not root, no ``ip`` or ``tc``), for a skip reason.

The /30 is chosen by creating the namespace: the first free
``wsline-<index>`` wins, so concurrent users of this module (other tests,
other checkouts) never share one. Devices are ``wsl<index>h`` / ``wsl<index>n``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from typing import Any, Optional

__all__ = ["Namespace", "NetnsError", "available"]

BASE = ipaddress.IPv4Network("10.200.0.0/16")
MAX_INDEX = 1000  # /30 blocks 1..999 of BASE
STOP_TIMEOUT = 5.0


class NetnsError(RuntimeError):
    """An ``ip`` or ``tc`` command failed (its stderr is in the message)."""


def available() -> Optional[str]:
    """None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, tc)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"needs the {tool!r} command (apt-get install iproute2)"
    return None


def _run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done


class Namespace:
    """One namespace, one veth pair, one /30; removed on exit."""

    def __init__(self, tag: str = "test") -> None:
        self.tag = tag
        self.index = 0
        self.name = ""
        self.dev = self.host_dev = ""
        self.addr = self.host_addr = ""
        self._procs: list[subprocess.Popen[Any]] = []
        self._rate_limited = False
        self._dropping = False

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> Namespace:
        self._create_namespace()
        try:
            self._wire()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create_namespace(self) -> None:
        taken = set(_run(["ip", "netns", "list"]).stdout.split())
        for index in range(1, MAX_INDEX):
            name = f"wsline-{index}"
            if name in taken:
                continue
            if _run(["ip", "netns", "add", name], check=False).returncode == 0:
                self.index, self.name = index, name
                return
        raise NetnsError("no free wsline-N namespace name")

    def _wire(self) -> None:
        block = list(BASE.subnets(new_prefix=30))[self.index]
        host, peer = list(block.hosts())
        self.host_addr, self.addr = str(host), str(peer)
        self.host_dev, self.dev = f"wsl{self.index}h", f"wsl{self.index}n"
        _run(["ip", "link", "add", self.host_dev, "type", "veth", "peer", "name", self.dev])
        _run(["ip", "link", "set", self.dev, "netns", self.name])
        _run(["ip", "addr", "add", f"{self.host_addr}/30", "dev", self.host_dev])
        _run(["ip", "link", "set", self.host_dev, "up"])
        self.ip("addr", "add", f"{self.addr}/30", "dev", self.dev)
        self.ip("link", "set", self.dev, "up")
        self.ip("link", "set", "lo", "up")

    def close(self) -> None:
        """Stop the processes started inside, then delete the namespace and the pair."""
        for proc in self._procs:
            _stop(proc)
        self._procs.clear()
        if self.host_dev:
            _run(["ip", "link", "del", self.host_dev], check=False)  # gone already if the namespace went first
        if self.name:
            _run(["ip", "netns", "del", self.name], check=False)
            self.name = ""

    # ------------------------------------------------------------- commands

    def ip(self, *args: str) -> str:
        """``ip -n NAME args...`` inside the namespace; returns its output."""
        return _run(["ip", "-n", self.name, *args]).stdout

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` prefixed to run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the namespace; it is stopped when the namespace closes."""
        proc: subprocess.Popen[Any] = subprocess.Popen(self.exec_argv(argv), start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    # --------------------------------------------------------------- faults

    def link(self, up: bool) -> None:
        """Set the namespace's end of the pair down or up.

        Down, the test's end loses its carrier but keeps its address and route:
        what it sends is dropped without RST or ICMP (a blackhole), new
        connections wait for SYN retransmissions, nothing arrives.
        """
        self.ip("link", "set", self.dev, "up" if up else "down")

    def drop_input(self, on: bool) -> None:
        """A DROP rule on everything entering the namespace (iptables inside it only)."""
        if on == self._dropping:
            return
        action = "-A" if on else "-D"
        _run(self.exec_argv(["iptables", action, "INPUT", "-i", self.dev, "-j", "DROP"]))
        self._dropping = on

    def rate_limit(self, rate: str, *, burst: str = "32kb", latency: str = "500ms") -> None:
        """A token bucket (``tc qdisc tbf``) of ``rate`` on both ends: each direction gets it."""
        for prefix, dev in ((["tc"], self.host_dev), (["tc", "-n", self.name], self.dev)):
            _run([*prefix, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", burst, "latency", latency])
        self._rate_limited = True

    def clear_rate_limit(self) -> None:
        """Remove the token buckets."""
        if self._rate_limited:
            _run(["tc", "qdisc", "del", "dev", self.host_dev, "root"], check=False)
            _run(["tc", "-n", self.name, "qdisc", "del", "dev", self.dev, "root"], check=False)
            self._rate_limited = False


def _stop(proc: subprocess.Popen[Any]) -> None:
    """Terminate one process we started (its own session), then kill it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(STOP_TIMEOUT)
