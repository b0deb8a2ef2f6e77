"""One client process of the scale benchmark, run by the Python of a client's environment.

Opens N ``WebSocketApp``s with ``run_forever(dispatcher=...)`` on one loop (rel,
or wsline's own ``SelectDispatcher``), then runs that loop in the main thread
while a controller thread measures: descriptors, threads, RSS after opening;
idle CPU; fan-in latency (the server broadcasts one message to all, several
rounds); flood throughput (the server sends k messages to every connection).
With ``--heap`` it only opens the connections under tracemalloc and reports
the Python heap per connection. Prints one JSON object.

    python scale_client.py --loop rel --n 1000 --port P --control C [--idle 60] [--rounds 20] [--flood 50]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import socket
import sys
import threading
import time
from typing import Any


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Control:
    """The JSON-line command connection to scale_server.py."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    def __call__(self, **request: Any) -> dict[str, Any]:
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        return json.loads(self.file.readline())  # type: ignore[no-any-return]


class State:
    """Counters the callbacks update (in the loop's thread) and the controller reads."""

    def __init__(self) -> None:
        self.opened = 0
        self.errors: list[str] = []
        self.fanin = 0
        self.latencies: list[float] = []
        self.flood = 0
        self.flood_last = 0.0


def make_callbacks(state: State) -> dict[str, Any]:
    def on_open(ws: Any) -> None:
        state.opened += 1

    def on_message(ws: Any, message: Any) -> None:
        if message[0] in ("z", 122):
            state.flood += 1
            state.flood_last = time.monotonic()
            return
        now = time.monotonic_ns()
        state.latencies.append((now - int(message[:19])) / 1e6)
        state.fanin += 1

    def on_error(ws: Any, error: Any) -> None:
        if len(state.errors) < 5:
            state.errors.append(repr(error))

    return {"on_open": on_open, "on_message": on_message, "on_error": on_error}


class GcPauses:
    """A gc callback: the longest collection and the number of full (generation 2) ones."""

    def __init__(self) -> None:
        self.started = 0.0
        self.longest = 0.0
        self.full = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        self.longest = max(self.longest, time.perf_counter() - self.started)
        self.full += info["generation"] == 2


def wait_until(predicate: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(out: dict[str, Any], phase: str) -> None:
    """Print what is measured so far: a run cut off by its time limit still shows these phases."""
    print(json.dumps({**out, "reached": phase}), flush=True)


def measure(args: argparse.Namespace, state: State, ctl: Control, base: dict[str, float], out: dict[str, Any]) -> None:
    """The controller thread: everything after the connections are open."""
    n = args.n
    if not wait_until(lambda: state.opened >= n, 60):
        out["error"] = f"only {state.opened} of {n} opened; {state.errors}"
        return
    time.sleep(1.0)
    out["fds_per_conn"] = (fds() - base["fds"]) / n
    out["threads_per_conn"] = (os_threads() - base["threads"] - 1) / n  # minus this controller
    out["rss_kib_per_conn"] = (rss_bytes() - base["rss"]) / n / 1024
    report(out, "open")
    # Idle: nothing arrives; what the loop (and any per-connection thread) costs.
    cpu0, srv0 = cpu_seconds(), ctl(cmd="cpu")["cpu"]
    time.sleep(args.idle)
    out["idle_cpu_pct"] = 100 * (cpu_seconds() - cpu0) / args.idle
    out["idle_server_cpu_pct"] = 100 * (ctl(cmd="cpu")["cpu"] - srv0) / args.idle
    report(out, "idle")
    # Fan-in: one message to every connection, several rounds.
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    writes = []
    srv0, cpu0 = ctl(cmd="cpu")["cpu"], cpu_seconds()
    for round_ in range(args.rounds):
        want = (round_ + 1) * n
        writes.append(ctl(cmd="broadcast", size=100)["write_ms"])
        if not wait_until(lambda want=want: state.fanin >= want, 60):  # type: ignore[misc]
            out["error"] = f"fan-in round {round_}: {state.fanin - round_ * n} of {n} delivered"
            return
        time.sleep(0.2)
    gc.callbacks.remove(pauses)
    lat = state.latencies
    out.update(
        fanin_gc_full=pauses.full,
        fanin_gc_max_ms=pauses.longest * 1000,
        fanin_p50_ms=percentile(lat, 0.5),
        fanin_p99_ms=percentile(lat, 0.99),
        fanin_max_ms=max(lat),
        server_write_ms=percentile(writes, 0.5),
        fanin_server_cpu_s=ctl(cmd="cpu")["cpu"] - srv0,
        fanin_client_us_per_msg=(cpu_seconds() - cpu0) / (args.rounds * n) * 1e6,
    )
    report(out, "fan-in")
    # Flood: k messages to every connection, as fast as the server writes them.
    total = n * args.flood
    srv0 = ctl(cmd="cpu")["cpu"]
    start = time.monotonic()
    ctl(cmd="flood", per_conn=args.flood, size=100)
    if not wait_until(lambda: state.flood >= total, 300):
        out["error"] = f"flood: {state.flood} of {total} delivered"
        return
    out["flood_msgs_per_s"] = total / (state.flood_last - start)
    out["flood_server_cpu_s"] = ctl(cmd="cpu")["cpu"] - srv0


def open_all(websocket: Any, loop: Any, args: argparse.Namespace, state: State) -> list[Any]:
    callbacks = make_callbacks(state)
    url = f"ws://127.0.0.1:{args.port}/"
    apps = []
    for _ in range(args.n):
        app = websocket.WebSocketApp(url, **callbacks)
        app.run_forever(dispatcher=loop, ping_interval=args.ping_interval)
        apps.append(app)
    return apps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loop", choices=("rel", "builtin"), default="rel")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--flood", type=int, default=50)
    parser.add_argument("--ping-interval", type=float, default=30.0)
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() once the connections are open")
    parser.add_argument("--heap", action="store_true", help="only open, under tracemalloc: Python heap per connection")
    args = parser.parse_args()
    raise_nofile()
    import websocket

    if args.loop == "rel":
        import rel

        loop: Any = rel
    else:
        from websocket._dispatcher import SelectDispatcher  # wsline only

        loop = SelectDispatcher()
    state = State()
    gc.collect()
    base = {"fds": fds(), "threads": os_threads(), "rss": rss_bytes()}
    out: dict[str, Any] = {"n": args.n, "loop": args.loop, "version": getattr(websocket, "__version__", "?")}
    if args.heap:
        import tracemalloc

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        apps = open_all(websocket, loop, args, state)
        gc.collect()
        out["heap_kib_per_conn"] = (tracemalloc.get_traced_memory()[0] - before) / args.n / 1024
        out["opened"] = state.opened
        print(json.dumps(out))
        sys.stdout.flush()
        os._exit(0)
    ctl = Control(args.control)
    start = time.perf_counter()
    apps = open_all(websocket, loop, args, state)
    out["open_s"] = time.perf_counter() - start
    # Opening made hundreds of thousands of objects; the full collection that leaves due would
    # land in whichever phase comes next, by chance. Run it now, for every client alike, so the
    # phases measure their steady state (the gc rows show any collection during fan-in).
    gc.collect()
    if args.gc_freeze:
        # What a program holding thousands of long-lived connections can do: move them out of
        # the collector's view, so a full collection does not walk them during traffic.
        gc.freeze()
    done = threading.Event()

    def controller() -> None:
        try:
            measure(args, state, ctl, base, out)
        except Exception as exc:  # reported, not raised: the loop must still stop
            out["error"] = repr(exc)
        finally:
            done.set()

    def check() -> bool:
        if done.is_set():
            loop.abort()
            return False
        return True

    threading.Thread(target=controller, daemon=True).start()
    loop.timeout(0.5, check)
    loop.dispatch()
    out["errors"] = state.errors
    out["apps"] = len(apps)
    print(json.dumps(out))
    sys.stdout.flush()
    os._exit(0)  # no closing handshake for thousands of connections: the server drops them


if __name__ == "__main__":
    main()
