"""Pieces shared by the library client (client.py) and the raw-socket client."""

from __future__ import annotations

import gc
import glob
import json
import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench_proto import OP_TEXT, payload, variants
from bench_scenarios import Scenario

# Message size up to which every received message is compared in full inside the
# timed loop. Larger ones get their length and both ends checked per message and a
# full comparison of samples after the clock stops: comparing every 1 MiB message in
# full would add ~10% to the run of a fast client.
FULL_CHECK_MAX = 4096


class CheckError(Exception):
    """The library returned or sent something other than what the scenario expects."""


@dataclass
class Outcome:
    """What a run measured, before it is turned into the scenario's metrics."""

    messages: int  # messages (or connections) completed
    elapsed: float  # seconds on the clock
    capped: bool = False  # stopped by the time budget before ``count``
    extra: dict[str, float] = field(default_factory=dict)
    cpu: float = 0.0  # CPU seconds of the whole client process (all threads) while on the clock
    timed_out: bool = False  # not even one message within the budget: the rate is a bound


class Clock:
    """Wall clock and the process's CPU clock, started together.

    ``time.process_time`` counts every thread of the process (CLOCK_PROCESS_CPUTIME_ID,
    nanosecond resolution), so a library's background reader thread is included.
    """

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.c0 = time.process_time()

    def elapsed(self) -> float:
        """Wall seconds since the start."""
        return time.perf_counter() - self.t0

    def cpu(self) -> float:
        """CPU seconds of this process since the start."""
        return time.process_time() - self.c0

    def outcome(self, messages: int, capped: bool = False, extra: dict[str, float] | None = None) -> Outcome:
        """Stop both clocks now and return the outcome."""
        elapsed, cpu = self.elapsed(), self.cpu()
        return Outcome(messages, elapsed, capped, extra or {}, cpu)


def expected_messages(scen: Scenario) -> list[Any]:
    """Return the payload variants as the library should return them (str or bytes)."""
    items = [payload(scen.family, scen.size, v) for v in range(variants(scen.family, scen.size))]
    if scen.opcode == OP_TEXT:
        return [b.decode("utf-8") for b in items]
    return items


def payload_bytes(scen: Scenario, messages: int) -> int:
    """Return the application payload bytes carried by the first ``messages`` messages."""
    k = variants(scen.family, scen.size)
    sizes = [len(payload(scen.family, scen.size, v)) for v in range(k)]
    full, rest = divmod(messages, k)
    return full * sum(sizes) + sum(sizes[:rest])


def check_samples(samples: dict[int, Any], expected: list[Any], mask: int) -> None:
    """Compare kept messages with the expected payload, including their type."""
    for i, message in samples.items():
        want = expected[i & mask]
        if type(message) is not type(want) or message != want:
            raise CheckError(
                f"message {i}: got {type(message).__name__} of {len(message)}, expected {type(want).__name__} of {len(want)}"
            )


def check_summary(summary: Any, scen: Scenario, sent: int) -> None:
    """Verify the server's account of a send run."""
    if not isinstance(summary, str):
        raise CheckError(f"summary should be text, got {type(summary).__name__}")
    data = json.loads(summary)
    want_bytes = payload_bytes(scen, sent)
    if data["marker"] != f"end:{sent}":
        raise CheckError(f"end marker arrived as {data['marker']!r}")
    if data["frames"] != sent or data["bytes"] != want_bytes:
        raise CheckError(f"server saw {data['frames']} messages / {data['bytes']} bytes, sent {sent} / {want_bytes}")
    if data["bad"]:
        raise CheckError(f"server found bad messages: {data['bad']}")


def measure_idle(opener: Callable[[], list[Any]], count: int) -> Outcome:
    """Run ``opener`` (which opens ``count`` connections) and report memory per connection.

    tracemalloc counts Python-level allocations of all threads; the RSS delta also
    sees C-level buffers and thread stacks (websockets runs one thread per connection).
    """
    gc.collect()
    tracemalloc.start()
    traced0 = tracemalloc.get_traced_memory()[0]
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    c0 = time.process_time()
    held = opener()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    time.sleep(0.2)  # let per-connection background threads reach their idle state
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - traced0
    rss = rss_bytes() - rss0
    tracemalloc.stop()
    if len(held) != count:
        raise CheckError(f"opened {len(held)} connections, wanted {count}")
    return Outcome(
        count,
        elapsed,
        extra={"value": traced / count / 1024, "rss": rss / count / 1024},
        cpu=cpu,
    )


def runqueue_wait_seconds(pid: int | str = "self") -> float:
    """Time the threads of a process spent runnable but waiting for a CPU.

    From /proc/PID/task/*/schedstat (second field, ns). Near zero means nothing else
    on the machine delayed the process; threads that already exited are not counted.
    """
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def rss_bytes() -> int:
    """Return the resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
