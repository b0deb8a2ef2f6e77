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
import select
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bench_common import (
    FULL_CHECK_MAX,
    CheckError,
    Clock,
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
    from bench_adapters import Adapter, Conn

ASYNC_LIBS = ("aiohttp", "picows")

# --- runs through a library --------------------------------------------------------------

WATCH_TIMEOUT = 2.0  # seconds a poll may wait for the socket while messages are still due


def lib_recv(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Receive ``count`` server-pushed messages, checking each one."""
    expected = expected_messages(scen)
    conn = adapter.connect(url, scen.compress)
    if scen.fragment:
        return recv_watchdog(conn, scen, expected, count, budget)
    recv = watched_recv(conn, scen) if scen.watch else conn.recv
    clock = Clock()
    conn.send_text("go")  # the server starts streaming only now: nothing is pre-buffered
    loop = recv_small if scen.size <= FULL_CHECK_MAX else recv_large
    received, samples, message = loop(recv, expected, count, clock.t0 + budget)
    outcome = clock.outcome(received, received < count)
    samples[received - 1] = message
    check_samples(samples, expected, len(expected) - 1)
    if not outcome.capped:
        conn.close()  # with a capped run the server is still streaming: just exit
    return outcome


def recv_small(recv: Callable[[], Any], expected: list[Any], count: int, deadline: float) -> tuple[int, dict[int, Any], Any]:
    """Receive small messages, each compared in full; return count, samples, last message."""
    mask = len(expected) - 1
    message: Any = None
    for i in range(count):
        message = recv()
        if message != expected[i & mask]:
            raise CheckError(f"message {i} differs: {str(message)[:60]!r}")
        if not i & 1023 and time.perf_counter() > deadline:
            return i + 1, {}, message
    return count, {}, message


def recv_large(recv: Callable[[], Any], expected: list[Any], count: int, deadline: float) -> tuple[int, dict[int, Any], Any]:
    """Receive large messages: per message the length and both ends, samples in full later.

    The first and last 8 items (the variant tag sits in front) catch shifted, stale or
    truncated messages for ~0.1 µs.
    """
    mask = len(expected) - 1
    marks = [(len(e), e[:8], e[-8:]) for e in expected]
    samples: dict[int, Any] = {}
    message: Any = None
    for i in range(count):
        message = recv()
        size, head, tail = marks[i & mask]
        if len(message) != size or message[:8] != head or message[-8:] != tail:
            raise CheckError(f"message {i}: length {len(message)} or ends differ")
        if i < 2:
            samples[i] = message
        if time.perf_counter() > deadline:
            return i + 1, samples, message
    return count, samples, message


def watched_recv(conn: Conn, scen: Scenario) -> Callable[[], Any]:
    """Return a receive call that first polls ``ws.sock``, then ``recv_data_frame(True)``.

    This is how kubernetes' stream client (and other select loops) use the library: a
    library that keeps read-ahead messages in memory leaves the socket unreadable while
    messages are due, and the caller waits for nothing; that fails the run.
    """
    ws = conn.obj
    poller = select.poll()
    poller.register(ws.sock, select.POLLIN)
    poll = poller.poll
    recv_data_frame = ws.recv_data_frame
    timeout_ms = int(WATCH_TIMEOUT * 1000)
    want = scen.opcode
    got = [0]

    def recv() -> Any:
        if not poll(timeout_ms):
            raise CheckError(
                f"ws.sock not readable for {WATCH_TIMEOUT:.0f} s after {got[0]} messages, more due"
                " (read-ahead data the library holds is invisible to select/poll)"
            )
        got[0] += 1
        opcode, frame = recv_data_frame(True)
        if opcode != want:
            raise CheckError(f"got opcode {opcode}, expected {want}")
        return frame.data

    return recv


def recv_watchdog(conn: Conn, scen: Scenario, expected: list[Any], count: int, budget: float) -> Outcome:
    """Receive fragmented messages in a thread; give up (a bound, not a rate) after ``budget``.

    One message of 10^6 one-byte fragments can take a slow library minutes; the
    per-message deadline of the other loops cannot stop it, so the main thread waits
    at most ``budget`` seconds for the first message.
    """
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = recv_large(conn.recv, expected, count, clock.t0 + budget)
            box["outcome"] = clock.outcome(box["result"][0])
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    clock = Clock()
    conn.send_text("go")
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(budget * 1.5)
    if worker.is_alive():
        # Not one message within the budget: report the bound, leave the thread behind.
        cpu = clock.cpu()
        return Outcome(0, clock.elapsed(), True, cpu=cpu, timed_out=True)
    if "error" in box:
        raise box["error"]
    received, samples, message = box["result"]
    outcome: Outcome = box["outcome"]
    outcome.capped = received < count
    samples[received - 1] = message
    check_samples(samples, expected, len(expected) - 1)
    if not outcome.capped:
        conn.close()
    return outcome


def lib_send(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Send ``count`` messages; the server's summary confirms what arrived."""
    expected = expected_messages(scen)
    mask = len(expected) - 1
    conn = adapter.connect(url, scen.compress)
    send = conn.send_text if scen.opcode == OP_TEXT else conn.send_bytes
    every = 1023 if scen.size <= FULL_CHECK_MAX else 0
    sent = 0
    clock = Clock()
    deadline = clock.t0 + budget
    for i in range(count):
        send(expected[i & mask])
        if not i & every and time.perf_counter() > deadline:
            sent = i + 1
            break
    else:
        sent = count
    conn.send_text(f"end:{sent}")
    summary = conn.recv()  # the clock stops once the server has seen everything
    outcome = clock.outcome(sent, sent < count)
    check_summary(summary, scen, sent)
    conn.close()
    return outcome


def lib_echo(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Sequential round trips: send one message, wait for its echo, compare."""
    expected = expected_messages(scen)
    mask = len(expected) - 1
    conn = adapter.connect(url)
    recv = conn.recv
    send = conn.send_text if scen.opcode == OP_TEXT else conn.send_bytes
    done = 0
    clock = Clock()
    deadline = clock.t0 + budget
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
    outcome = clock.outcome(done, done < count)
    conn.close()
    return outcome


def lib_connect(adapter: Adapter, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
    """Open, handshake and cleanly close ``count`` connections one after the other."""
    adapter.connect(url).close()  # warm-up: lazy imports, DNS/URL caches
    done = 0
    clock = Clock()
    deadline = clock.t0 + budget
    for i in range(count):
        adapter.connect(url).close()
        if not i & 15 and time.perf_counter() > deadline:
            done = i + 1
            break
    else:
        done = count
    return clock.outcome(done, done < count)


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
    """Turn an outcome into the scenario's metrics: the rate, and the rate per client CPU-second."""
    metrics = dict(outcome.extra)
    unit = scen.metrics[0].unit
    frames = outcome.messages * scen.frames_per_message()
    if outcome.timed_out:
        # Not one message in time: the cost per frame is at least this much.
        metrics["value"] = outcome.elapsed / scen.frames_per_message() * 1e6
        metrics["bound"] = 1.0
    elif "value" not in metrics:
        if unit == "MB/s":
            metrics["value"] = payload_bytes(scen, outcome.messages) / outcome.elapsed / 1e6
        elif unit == "µs/frame":
            metrics["value"] = outcome.elapsed / frames * 1e6
        else:
            metrics["value"] = outcome.messages / outcome.elapsed
    if outcome.cpu > 0 and not outcome.timed_out and unit != "KiB":
        if unit == "MB/s":
            metrics["cpu"] = payload_bytes(scen, outcome.messages) / outcome.cpu / 1e6
        elif unit == "µs/frame":
            metrics["cpu"] = outcome.cpu / frames * 1e6
        else:
            metrics["cpu"] = outcome.messages / outcome.cpu
    return metrics


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Execute the requested run and return the JSON-able result."""
    scen = BY_ID[args.scenario]
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    url = f"ws://127.0.0.1:{args.port}/{scen.id}?count={args.count}"
    wait0 = runqueue_wait_seconds()
    wall0 = time.perf_counter()
    if args.lib == "raw":
        import bench_raw

        outcome = bench_raw.RUNNERS[scen.kind](scen, args.port, args.count, args.budget)
        version, location = "stdlib socket", ""
    elif args.lib in ASYNC_LIBS:
        import bench_async

        version, location, outcome = bench_async.run(args.lib, scen, url, args.count, args.budget)
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
        "cpu_seconds": round(outcome.cpu, 6),
        "capped": outcome.capped,
        "timed_out": outcome.timed_out,
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
    parser.add_argument("--cpu", type=int, help="pin this process (all its threads) to one CPU")
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
