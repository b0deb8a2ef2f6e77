"""Scale benchmark: thousands of WebSocketApps on one loop (see README.md, "Scale").

For each N and each client (websocket-client 1.9.2 on rel, wsline on rel,
wsline on its own SelectDispatcher), a fresh server process
(``scale_server.py``) and a fresh client process (``scale_client.py``, in
the client's virtual environment) measure: open time, RSS, Python heap,
descriptors and threads per connection, idle CPU, fan-in latency, flood
throughput, with the server's CPU beside them.

    python benchmarks/scale.py --quick          # N = 300, short idle window, 1 run
    python benchmarks/scale.py                  # N = 1,000 and 10,000, 60 s idle
    python benchmarks/scale.py --n 10000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_envs import REPO_DIR, EnvSpec, ensure

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"

SPECS = {
    "wsclient-rel": EnvSpec("wsclient-rel", ("websocket-client==1.9.2", "rel==0.4.9.27"), "websocket", False, "1.9.2"),
    "wsline-rel": EnvSpec("wsline-rel", ("-e", str(REPO_DIR), "wsaccel==0.6.7", "rel==0.4.9.27"), "websocket", True, local=True),
}
# (column, environment, loop, client options)
CLIENTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("websocket-client / rel", "wsclient-rel", "rel", ()),
    ("wsline / rel", "wsline-rel", "rel", ()),
    ("wsline / own loop", "wsline-rel", "builtin", ()),
    # What a program that holds thousands of connections can add (docs/dispatchers.md).
    ("wsline / own loop, gc.freeze()", "wsline-rel", "builtin", ("--gc-freeze",)),
)
REL_FLOOR = """
import resource, socket, threading, time
import rel
a, b = socket.socketpair()
rel.read(a, lambda: True)
rel.timeout(30, lambda: True)
def measure():
    time.sleep(1)
    u0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    time.sleep(10)
    u1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime)
    print(100 * cpu / (time.monotonic() - t0))
    rel.abort()
threading.Thread(target=measure, daemon=True).start()
rel.dispatch()
"""
ROWS = (
    ("open_s", "open time (s)", "{:.2f}"),
    ("rss_kib_per_conn", "RSS per connection (KiB)", "{:.1f}"),
    ("heap_kib_per_conn", "Python heap per connection (KiB)", "{:.1f}"),
    ("fds_per_conn", "descriptors per connection", "{:.2f}"),
    ("threads_per_conn", "threads per connection", "{:.2f}"),
    ("idle_cpu_pct", "idle CPU, client (% of a core)", "{:.1f}"),
    ("idle_server_cpu_pct", "idle CPU, server (% of a core)", "{:.1f}"),
    ("fanin_p50_ms", "fan-in p50 (ms)", "{:.0f}"),
    ("fanin_p99_ms", "fan-in p99 (ms)", "{:.0f}"),
    ("server_write_ms", "server write time per round (ms)", "{:.0f}"),
    ("fanin_client_us_per_msg", "fan-in client CPU per message (µs)", "{:.1f}"),
    ("fanin_gc_full", "full collections during fan-in", "{:.0f}"),
    ("fanin_gc_max_ms", "longest collection during fan-in (ms)", "{:.0f}"),
    ("flood_msgs_per_s", "flood (msgs/s)", "{:,.0f}"),
    ("flood_server_cpu_s", "flood, server CPU (s)", "{:.2f}"),
)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def start_server() -> tuple[subprocess.Popen[str], dict[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "scale_server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    ports = json.loads(proc.stdout.readline())
    return proc, ports


def stop_server(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def run_client(python: Path, loop: str, n: int, extra: list[str], timeout: float) -> dict[str, Any]:
    server, ports = start_server()
    try:
        cmd = [str(python), str(BENCH_DIR / "scale_client.py"), "--loop", loop, "--n", str(n)]
        cmd += ["--port", str(ports["port"]), "--control", str(ports["control"]), *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        lines = [line for line in partial.splitlines() if line.startswith("{")]
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        reached = result.pop("reached", None)
        after = f" (measured up to: {reached})" if reached else ""
        result["error"] = f"timed out after {timeout:.0f} s{after}"
        return result
    finally:
        stop_server(server)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}"}
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if isinstance(run.get(key), (int, float))]
    return statistics.median(values) if values else None


def table(n: int, cells: dict[str, list[dict[str, Any]]]) -> str:
    names = [name for name, _, _, _ in CLIENTS]
    lines = [f"### N = {n:,}", "", "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key, label, fmt in ROWS:
        row = []
        for name in names:
            value = median_of(cells.get(name, []), key)
            row.append("-" if value is None else fmt.format(value))
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    for name in names:
        for run in cells.get(name, []):
            if run.get("error") or run.get("errors"):
                lines.append(f"\n{name}: {run.get('error') or ''} {run.get('errors') or ''}".rstrip())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 300, 5 s idle, 5 rounds, 1 run")
    parser.add_argument("--n", type=int, nargs="+", help="connection counts (default 1000 10000)")
    parser.add_argument("--runs", type=int, help="runs per cell (default 1; medians over them)")
    parser.add_argument("--idle", type=float, help="idle window in seconds (default 60; 5 with --quick)")
    parser.add_argument("--heap-n", type=int, default=1000, help="connections of the tracemalloc pass (at most N)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    counts = args.n or ([300] if args.quick else [1000, 10000])
    runs = args.runs or 1
    idle = args.idle if args.idle is not None else (5.0 if args.quick else 60.0)
    rounds, flood = (5, 20) if args.quick else (20, 50)
    pythons = {}
    for name, spec in SPECS.items():
        status = ensure(spec, log)
        if status.python is None:
            log(f"{name}: skipped ({status.note})")
        pythons[name] = status.python
    report = [f"Scale benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {runs} run(s) per cell, "
              f"idle window {idle:g} s, ping_interval=30, {rounds} fan-in rounds of 100 bytes, flood {flood} msgs/conn", ""]
    raw: dict[str, Any] = {}
    rel_python = pythons.get("wsline-rel")
    if rel_python is not None:
        # rel's own cost with one socket and one timer: it sleeps 0.6 ms between turns while it
        # watches a socket, whatever watches it; no client on rel idles below this.
        floor = subprocess.run([str(rel_python), "-c", REL_FLOOR], capture_output=True, text=True, timeout=60, check=False)
        raw["rel_floor_cpu_pct"] = float(floor.stdout.split()[-1]) if floor.returncode == 0 and floor.stdout.split() else None
        if raw["rel_floor_cpu_pct"] is not None:
            report += [f"rel itself, one socket and one timer, no traffic: {raw['rel_floor_cpu_pct']:.1f} % of a core "
                       "(the floor of the idle CPU of any client on rel).", ""]
    for n in counts:
        cells: dict[str, list[dict[str, Any]]] = {}
        extra = ["--idle", str(idle), "--rounds", str(rounds), "--flood", str(flood)]
        for name, env, loop, options in CLIENTS:
            python = pythons.get(env)
            if python is None:
                continue
            for run in range(runs):
                log(f"N={n} {name} run {run + 1}/{runs} ...")
                result = run_client(python, loop, n, [*extra, *options], timeout=300 + n * 0.03)
                heap = run_client(python, loop, min(n, args.heap_n), ["--heap"], timeout=300)
                result["heap_kib_per_conn"] = heap.get("heap_kib_per_conn")
                log(json.dumps(result))
                cells.setdefault(name, []).append(result)
        raw[str(n)] = cells
        report += [table(n, cells), ""]
    text = "\n".join(report)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "scale-latest.md").write_text(text + "\n")
        (RESULTS / "scale-latest.json").write_text(json.dumps(raw, indent=1) + "\n")


if __name__ == "__main__":
    main()
