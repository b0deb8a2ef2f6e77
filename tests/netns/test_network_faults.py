"""Real network faults: a blackholed link, a 1 Mbit/s link, a slow and jittery path.

The server runs inside a namespace of its own (``conftest.server``); the
client is this process, on the other end of the veth pair (or behind the
userspace relay of ``_relay.py`` for latency, jitter and stalls). Each test
records its figures (``figure``), printed at the end of the run.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import pytest
from _netns import Namespace
from _ns_server import blob, numbered
from _relay import Relay

import websocket
from websocket import WebSocketApp, WebSocketTimeoutException

pytestmark = pytest.mark.timeout(90)

PING_INTERVAL, PING_TIMEOUT = 1.0, 0.5
RECONNECT = 1  # seconds between attempts (websocket-client's reconnect=)
ATTEMPT_TIMEOUT = 1.0  # the connect timeout of each attempt (websocket.setdefaulttimeout)


class AppRun:
    """A WebSocketApp.run_forever in a thread, its callbacks timestamped into a queue."""

    def __init__(self, url: str, **run: Any) -> None:
        self.events: queue.Queue[tuple[str, float, Any]] = queue.Queue()
        self.messages: list[tuple[float, Any]] = []
        self.opens: list[float] = []
        self.errors: list[tuple[float, BaseException]] = []
        self.app = WebSocketApp(
            url,
            on_open=lambda ws: self._event("open", None),
            on_message=lambda ws, m: self._event("message", m),
            on_error=lambda ws, e: self._event("error", e),
            on_close=lambda ws, code, reason: self._event("close", code),
        )
        self.thread = threading.Thread(target=self.app.run_forever, kwargs=run, daemon=True)

    def _event(self, kind: str, value: Any) -> None:
        now = time.monotonic()
        if kind == "open":
            self.opens.append(now)
        elif kind == "message":
            self.messages.append((now, value))
        elif kind == "error":
            self.errors.append((now, value))
        self.events.put((kind, now, value))

    def wait(self, kind: str, timeout: float) -> tuple[float, Any]:
        """The next ``kind`` event (others are skipped): its time and value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                got, when, value = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {kind} within {timeout} s") from None
            if got == kind:
                return when, value

    def wait_until(self, predicate: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "condition not reached in time"
            time.sleep(0.02)

    def stop(self) -> None:
        self.app.close()
        self.thread.join(10)
        assert not self.thread.is_alive(), "run_forever did not return after close()"


@contextmanager
def running(url: str, **run: Any) -> Iterator[AppRun]:
    app = AppRun(url, **run)
    app.thread.start()
    try:
        yield app
    finally:
        app.stop()


@contextmanager
def default_timeout(seconds: Optional[float]) -> Iterator[None]:
    before = websocket.getdefaulttimeout()
    websocket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        websocket.setdefaulttimeout(before)


# ------------------------------------------------------------ blackhole


def blackhole(ns: Namespace, how: str) -> None:
    """Make the server vanish without RST or ICMP."""
    if how == "link-down":
        ns.link(up=False)
    else:
        ns.drop_input(True)


@pytest.mark.parametrize("how", ["link-down", "drop-rule"])
def test_keepalive_notices_a_blackholed_link(ns: Namespace, server: str, figure: Any, how: str) -> None:
    if how == "drop-rule" and shutil.which("iptables") is None:
        pytest.skip("needs iptables for the DROP rule")
    with running(server + "/echo", ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT) as run:
        run.wait("open", 10)
        time.sleep(2.5)  # a few pings answered: the keepalive works while the link does
        assert not run.errors
        blackhole(ns, how)
        down = time.monotonic()
        noticed, error = run.wait("error", PING_INTERVAL + PING_TIMEOUT + 5)
    detection = noticed - down
    figure("detection after link down", detection, bound=PING_INTERVAL + PING_TIMEOUT + 1)
    assert detection <= PING_INTERVAL + PING_TIMEOUT + 1, repr(error)
    assert isinstance(error, websocket.WebSocketException), repr(error)


def test_send_with_a_timeout_ends_once_the_window_is_full(ns: Namespace, server: str, figure: Any) -> None:
    timeout = 1.0
    ws = websocket.create_connection(server + "/echo", timeout=timeout)
    try:
        ns.link(up=False)
        chunk = os.urandom(4096)
        buffered, started = 0, time.monotonic()
        while True:
            assert time.monotonic() - started < 60, "the socket buffers never filled"
            began = time.monotonic()
            try:
                ws.send_binary(chunk)
            except WebSocketTimeoutException:
                stuck = time.monotonic() - began
                break
            buffered += len(chunk)
        figure("bytes taken before the window was full", buffered / 1024, "KiB")
        figure("duration of the send that timed out", stuck, bound=timeout + 0.5)
        assert stuck <= timeout + 0.5
        assert stuck >= timeout * 0.9  # it did wait for the window, then gave up on time
    finally:
        ws.shutdown()


def test_reconnect_after_the_link_comes_back_without_duplicates(ns: Namespace, server: str, figure: Any) -> None:
    url = server + "/count?every=0.05&size=1000"
    with default_timeout(ATTEMPT_TIMEOUT), running(
        url, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT, reconnect=RECONNECT
    ) as run:
        run.wait("open", 10)
        run.wait_until(lambda: len(run.messages) >= 20, 10)
        ns.link(up=False)
        down = time.monotonic()
        noticed, _ = run.wait("error", 10)
        before = len(run.messages)
        time.sleep(max(0.0, down + 4 - time.monotonic()))  # a few attempts fail while it is down
        assert len(run.opens) == 1
        ns.link(up=True)
        up = time.monotonic()
        reopened, _ = run.wait("open", 15)
        run.wait_until(lambda: len(run.messages) >= before + 20, 10)
    numbers = [int(text.split(":", 1)[0]) for _, text in run.messages]
    corrupt = [n for n, (_, text) in zip(numbers, run.messages) if text != numbered(n, 1000)]
    figure("detection after link down", noticed - down, bound=PING_INTERVAL + PING_TIMEOUT + 1)
    figure("reopen after link up", reopened - up, bound=RECONNECT + ATTEMPT_TIMEOUT + 1)
    figure("messages before the outage", before, "msgs")
    figure("messages after the reconnect", len(numbers) - before, "msgs")
    figure("numbers skipped (sent into the dead connection)", numbers[before] - numbers[before - 1] - 1, "msgs")
    assert noticed - down <= PING_INTERVAL + PING_TIMEOUT + 1
    assert reopened - up <= RECONNECT + ATTEMPT_TIMEOUT + 1
    assert not corrupt, f"corrupted messages: {corrupt[:5]}"
    assert numbers == sorted(set(numbers)), "a message was delivered twice or out of order"


# ------------------------------------------------------------ slow link


def test_a_big_message_over_a_1_mbit_link_arrives_whole_under_a_short_keepalive(
    ns: Namespace, server: str, figure: Any
) -> None:
    # 2 MiB at 1 Mbit/s is about 17 s (16 MiB would take 134 s, too long for CI). The
    # pongs queue behind the message, so the keepalive must count its bytes as life.
    # The token bucket drops what overflows its queue, and TCP's loss recovery leaves
    # silent gaps of up to ~0.8 s (measured): a ping_timeout under that ends the
    # connection, rightly (nothing arrives for that long), so this one is 1.5 s.
    size = 2 * 1024 * 1024
    ns.rate_limit("1mbit")
    with running(server + f"/big?size={size}", ping_interval=2, ping_timeout=1.5) as run:
        opened, _ = run.wait("open", 20)
        arrived, message = run.wait("message", 60)
        assert not run.errors, run.errors
    took = arrived - opened
    figure("2 MiB over 1 Mbit/s", took, bound=60)
    figure("throughput", size * 8 / took / 1e6, "Mbit/s")
    assert message == blob(size)
    assert took > 12  # the link really was slow: the keepalive had many chances to misfire


# ------------------------------------------------------- slow, jittery path

DELAY, JITTER, CHOP = 0.1, 0.03, 512  # each direction: 100 ms +- 30 ms, in 512-byte writes


def test_close_handshake_over_a_slow_jittery_path(ns: Namespace, server: str, figure: Any) -> None:
    port = int(server.rsplit(":", 1)[1])
    with Relay((ns.addr, port), delay=DELAY, jitter=JITTER, chop=CHOP) as relay:
        ws = websocket.create_connection(f"ws://127.0.0.1:{relay.port}/echo", timeout=5)
        ws.send("x" * 5000)
        assert ws.recv() == "x" * 5000
        began = time.monotonic()
        ws.close()
        took = time.monotonic() - began
    figure("close handshake", took, bound=3)
    assert ws.close_frame is not None, "the server's close frame did not arrive"
    assert 2 * (DELAY - JITTER) <= took < 3  # a round trip, well within close()'s 3 s


def test_reconnect_over_a_slow_jittery_path(ns: Namespace, server: str, figure: Any) -> None:
    port = int(server.rsplit(":", 1)[1])
    with Relay((ns.addr, port), delay=DELAY, jitter=JITTER, chop=CHOP) as relay:
        url = f"ws://127.0.0.1:{relay.port}/count?every=0.05&size=1000"
        with running(url, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT, reconnect=RECONNECT) as run:
            run.wait("open", 10)
            run.wait_until(lambda: len(run.messages) >= 20, 10)
            assert not run.errors, run.errors  # 200 ms round trips never trip a 0.5 s ping timeout
            relay.reset_all()
            cut = time.monotonic()
            reopened, _ = run.wait("open", 10)
            run.wait_until(lambda: len(run.messages) >= 40, 10)
    numbers = [int(text.split(":", 1)[0]) for _, text in run.messages]
    figure("reopen after a reset", reopened - cut, bound=RECONNECT + 2)
    assert reopened - cut <= RECONNECT + 2
    assert numbers == sorted(set(numbers))
    assert all(text == numbered(n, 1000) for n, (_, text) in zip(numbers, run.messages))


def test_keepalive_notices_a_stalled_path(ns: Namespace, server: str, figure: Any) -> None:
    port = int(server.rsplit(":", 1)[1])
    with Relay((ns.addr, port), delay=DELAY, jitter=JITTER, chop=CHOP) as relay:
        url = f"ws://127.0.0.1:{relay.port}/echo"
        with running(url, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT) as run:
            run.wait("open", 10)
            time.sleep(2.5)
            assert not run.errors, run.errors
            relay.stall(True)
            stalled = time.monotonic()
            noticed, _ = run.wait("error", 10)
            relay.stall(False)
    figure("detection of a stalled path", noticed - stalled, bound=PING_INTERVAL + PING_TIMEOUT + DELAY + 1)
    assert noticed - stalled <= PING_INTERVAL + PING_TIMEOUT + DELAY + 1
