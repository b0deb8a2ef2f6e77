"""One benchmark run: one library, one scenario, in a fresh process.

run.py executes this script with the Python of the library's virtual environment and
reads the single JSON line it prints::

    {"ok": true, "metrics": {"value": 123.4}, "messages": 1000, "elapsed": 0.5, ...}

Every run checks what it received or what the server says it received (counts,
sizes, contents), so a broken client cannot look fast: any mismatch makes the run
fail. Loops are bounded by both ``--count`` and ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from bench_common import (
    FULL_CHECK_MAX,
    CheckError,
    Outcome,
    check_samples,
    check_summary,
    expected_messages,
    measure_idle,
    payload_bytes,
    runqueue_wait_seconds,
)
from bench_proto import OP_TEXT
from bench_scenarios import BY_ID, Scenario

if TYPE_CHECKING:
    from bench_adapters import Adapter

# --- runs through a library --------------------------------------------------------------


def lib_recv(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Receive ``count`` server-pushed messages, checking each one."""
    expected = expected_messages(scen)
    mask = len(expected) - 1
    conn = adapter.connect(url, scen.compress)
    recv = conn.recv
    samples: dict[int, Any] = {}
    received = 0
    message: Any = None
    t0 = time.perf_counter()
    deadline = t0 + budget
    conn.send_text("go")  # the server starts streaming only now: nothing is pre-buffered
    if scen.size <= FULL_CHECK_MAX:
        for i in range(count):
            message = recv()
            if message != expected[i & mask]:
                raise CheckError(f"message {i} differs: {str(message)[:60]!r}")
            if not i & 1023 and time.perf_counter() > deadline:
                received = i + 1
                break
        else:
            received = count
    else:
        # Per message: length plus the first and last 8 items (the variant tag sits in
        # front), which catches shifted, stale or truncated messages for ~0.1 µs.
        marks = [(len(e), e[:8], e[-8:]) for e in expected]
        for i in range(count):
            message = recv()
            size, head, tail = marks[i & mask]
            if len(message) != size or message[:8] != head or message[-8:] != tail:
                raise CheckError(f"message {i}: length {len(message)} or ends differ")
            if i < 2:
                samples[i] = message
            if time.perf_counter() > deadline:
                received = i + 1
                break
        else:
            received = count
    elapsed = time.perf_counter() - t0
    samples[received - 1] = message
    check_samples(samples, expected, mask)
    capped = received < count
    if not capped:
        conn.close()  # with a capped run the server is still streaming: just exit
    return Outcome(received, elapsed, capped)


def lib_send(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Send ``count`` messages; the server's summary confirms what arrived."""
    expected = expected_messages(scen)
    mask = len(expected) - 1
    conn = adapter.connect(url, scen.compress)
    send = conn.send_text if scen.opcode == OP_TEXT else conn.send_bytes
    every = 1023 if scen.size <= FULL_CHECK_MAX else 0
    sent = 0
    t0 = time.perf_counter()
    deadline = t0 + budget
    for i in range(count):
        send(expected[i & mask])
        if not i & every and time.perf_counter() > deadline:
            sent = i + 1
            break
    else:
        sent = count
    conn.send_text(f"end:{sent}")
    summary = conn.recv()  # the clock stops once the server has seen everything
    elapsed = time.perf_counter() - t0
    check_summary(summary, scen, sent)
    conn.close()
    return Outcome(sent, elapsed, sent < count)


def lib_echo(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Sequential round trips: send one message, wait for its echo, compare."""
    expected = expected_messages(scen)
    mask = len(expected) - 1
    conn = adapter.connect(url)
    recv = conn.recv
    send = conn.send_text if scen.opcode == OP_TEXT else conn.send_bytes
    done = 0
    t0 = time.perf_counter()
    deadline = t0 + budget
    for i in range(count):
        message = expected[i & mask]
        send(message)
        if recv() != message:
            raise CheckError(f"echo {i} differs")
        if not i & 255 and time.perf_counter() > deadline:
            done = i + 1
            break
    else:
        done = count
    elapsed = time.perf_counter() - t0
    conn.close()
    return Outcome(done, elapsed, done < count)


def lib_connect(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Open, handshake and cleanly close ``count`` connections one after the other."""
    adapter.connect(url).close()  # warm-up: lazy imports, DNS/URL caches
    done = 0
    t0 = time.perf_counter()
    deadline = t0 + budget
    for i in range(count):
        adapter.connect(url).close()
        if not i & 15 and time.perf_counter() > deadline:
            done = i + 1
            break
    else:
        done = count
    return Outcome(done, time.perf_counter() - t0, done < count)


def lib_idle(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Hold ``count`` open connections and measure the memory they take."""
    adapter.open(url).close()  # warm-up, so lazily created module state is not counted

    def opener() -> list[Any]:
        return [adapter.open(url) for _ in range(count)]

    return measure_idle(opener, count)


LIB_RUNNERS = {
    "recv": lib_recv,
    "send": lib_send,
    "echo": lib_echo,
    "connect": lib_connect,
    "idle": lib_idle,
}


# --- entry point -------------------------------------------------------------------------


def metrics_for(scen: Scenario, outcome: Outcome) -> dict[str, float]:
    """Turn an outcome into the scenario's metrics (rates or memory)."""
    metrics = dict(outcome.extra)
    if "value" not in metrics:
        unit = scen.metrics[0].unit
        if unit == "MB/s":
            metrics["value"] = payload_bytes(scen, outcome.messages) / outcome.elapsed / 1e6
        else:
            metrics["value"] = outcome.messages / outcome.elapsed
    return metrics


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Execute the requested run and return the JSON-able result."""
    scen = BY_ID[args.scenario]
    url = f"ws://127.0.0.1:{args.port}/{scen.id}?count={args.count}"
    wait0 = runqueue_wait_seconds()
    wall0 = time.perf_counter()
    if args.lib == "raw":
        import bench_raw

        outcome = bench_raw.RUNNERS[scen.kind](scen, args.port, args.count, args.budget)
        version, location = "stdlib socket", ""
    else:
        from bench_adapters import Adapter

        adapter = Adapter(args.lib)
        version, location = adapter.version, adapter.location
        outcome = LIB_RUNNERS[scen.kind](adapter, scen, url, args.count, args.budget)
    wall = time.perf_counter() - wall0
    return {
        "ok": True,
        "cpu_wait_share": round((runqueue_wait_seconds() - wait0) / wall, 3),
        "metrics": metrics_for(scen, outcome),
        "messages": outcome.messages,
        "elapsed": outcome.elapsed,
        "capped": outcome.capped,
        "version": version,
        "location": location,
        "python": sys.version.split()[0],
    }


def main() -> None:
    """Parse arguments, run, print one JSON line, exit without waiting for threads."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lib", required=True)
    parser.add_argument("--scenario", required=True, choices=sorted(BY_ID))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--budget", type=float, default=5.0, help="seconds")
    args = parser.parse_args()
    try:
        result = run(args)
        code = 0
    except Exception as exc:  # report any library failure as a FAILED cell
        result = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}"[:500],
            "trace": traceback.format_exc()[-2000:],
        }
        code = 1
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    # os._exit: connections left open on purpose (idle, capped runs) and library
    # background threads must not delay or hang the exit; the kernel closes sockets.
    os._exit(code)


if __name__ == "__main__":
    main()
