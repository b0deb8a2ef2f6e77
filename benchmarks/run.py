"""Benchmark wsline against websocket-client, websockets, aiohttp, picows and a raw socket.

Usage::

    python benchmarks/run.py [--quick] [--runs N] [--only SCENARIO ...] [--libs LIB ...]
                             [--wsline-ref COMMIT ...]

Prepares one virtual environment per client (benchmarks/.venvs/), starts the peer
server (server.py) in its own process, then for every scenario runs each library's
client (client.py) in a fresh process, several times, interleaving the libraries.
Prints a markdown table and writes benchmarks/results/latest.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common import runqueue_wait_seconds
from bench_envs import BENCH_DIR, SPECS, EnvStatus, ensure, ref_spec
from bench_report import (
    LIB_ORDER,
    LIB_TITLES,
    Run,
    applicable,
    fmt_value,
    machine_info,
    now_utc,
    register_ref,
    render_markdown,
    to_record,
)
from bench_scenarios import BY_ID, SCENARIOS, Scenario

RESULTS_DIR = BENCH_DIR / "results"
SERVER_START_TIMEOUT = 15.0
SERVER_STOP_TIMEOUT = 5.0
CLIENT_GRACE = 90.0  # seconds a client may take beyond its budget (connect, checks)
CLK_TCK = os.sysconf("SC_CLK_TCK")
CPU_COUNT = os.cpu_count() or 1
RAW_COUNT_FACTOR = 10  # raw moves small messages so fast that it needs longer runs


def log(message: str) -> None:
    """Print progress to stderr; stdout carries only the final table."""
    print(message, file=sys.stderr, flush=True)


# --- the peer server ---------------------------------------------------------------------


class PeerServer:
    """The server.py process: started on enter, always stopped on exit."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        # Closed with the object; stderr of a long-lived process is best kept in a file.
        self.log_file = tempfile.TemporaryFile()  # noqa: SIM115

    def __enter__(self) -> PeerServer:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "server.py")],
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            stdin=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=SERVER_START_TIMEOUT):
                self.stop()
                raise RuntimeError("peer server did not start in time")
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"peer server failed to start: {self.errors()}")
        self.port = int(json.loads(line)["port"])
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Terminate the server, escalating to kill if it does not exit in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(SERVER_STOP_TIMEOUT)

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        assert self.proc is not None
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # Fields after "(comm)": state is index 0, utime 11, stime 12.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def runqueue_wait(self) -> float:
        """Seconds the server has spent waiting for a CPU so far."""
        assert self.proc is not None
        return runqueue_wait_seconds(self.proc.pid)

    def pin(self, cpus: set[int]) -> None:
        """Restrict the server process to ``cpus``."""
        assert self.proc is not None
        os.sched_setaffinity(self.proc.pid, cpus)

    def errors(self) -> str:
        """Return the tail of what the server wrote to stderr."""
        self.log_file.seek(0)
        return self.log_file.read().decode(errors="replace")[-2000:]


# --- one run -----------------------------------------------------------------------------


def client_command(
    python: Path | str, lib: str, scen: Scenario, port: int, count: int, budget: float, cpu: int | None = None
) -> list[str]:
    """Build the command line of one client run."""
    command = [
        str(python), str(BENCH_DIR / "client.py"),
        "--lib", lib, "--scenario", scen.id, "--port", str(port),
        "--count", str(count), "--budget", str(budget),
    ]  # fmt: skip
    return [*command, "--cpu", str(cpu)] if cpu is not None else command


def system_busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def children_cpu_seconds() -> float:
    """CPU seconds used by finished (waited-for) child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Counters:
    """CPU counters read before and after a client run."""

    server_cpu: float
    server_wait: float
    children_cpu: float
    system_busy: float
    wall: float

    @classmethod
    def read(cls, server: PeerServer) -> Counters:
        """Read all counters now."""
        return cls(server.cpu_seconds(), server.runqueue_wait(), children_cpu_seconds(), system_busy_seconds(), time.monotonic())


def annotate(result: Run, before: Counters, after: Counters) -> None:
    """Add what the harness saw during the run: peer CPU, waits, unrelated load.

    "other_load" is the busy time of all CPUs minus the server's and the client's: CPU
    taken by unrelated processes, which skews the numbers on a shared machine.
    """
    wall = after.wall - before.wall
    server_cpu = after.server_cpu - before.server_cpu
    client_cpu = after.children_cpu - before.children_cpu
    other = after.system_busy - before.system_busy - server_cpu - client_cpu
    result["client_cpu_seconds"] = round(client_cpu, 3)
    result["process_wall_seconds"] = round(wall, 3)
    result["server_cpu_wait_share"] = round((after.server_wait - before.server_wait) / wall, 3)
    result["other_load"] = round(max(0.0, other) / wall / CPU_COUNT, 3)
    if result.get("ok") and result.get("elapsed"):
        result["server_cpu_share"] = round(server_cpu / float(result["elapsed"]), 3)


def run_once(
    python: Path | str, lib: str, scen: Scenario, server: PeerServer, count: int, budget: float, cpu: int | None = None
) -> Run:
    """Run one client process; return its JSON result plus the harness's measurements."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    before = Counters.read(server)
    try:
        proc = subprocess.run(
            client_command(python, lib, scen, server.port, count, budget, cpu),
            capture_output=True,
            text=True,
            timeout=budget + CLIENT_GRACE,
            cwd=tempfile.gettempdir(),
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"client timed out after {budget + CLIENT_GRACE:.0f}s"}
    result = parse_result(proc)
    annotate(result, before, Counters.read(server))
    if not server.alive():
        raise RuntimeError(f"peer server died: {server.errors()}")
    return result


def parse_result(proc: subprocess.CompletedProcess[str]) -> Run:
    """Read the client's JSON line; anything else is a failure with its stderr tail."""
    lines = proc.stdout.strip().splitlines()
    if lines:
        try:
            result: Run = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = {"ok": False, "error": f"unparsable output: {lines[-1][:200]}"}
    else:
        result = {"ok": False, "error": f"no result (exit {proc.returncode})"}
    if not result.get("ok"):
        result["stderr"] = proc.stderr[-2000:]
    return result


# --- the matrix --------------------------------------------------------------------------


def describe(run: Run, scen: Scenario) -> str:
    """One progress line for a finished run."""
    if not run.get("ok"):
        return f"FAILED: {run.get('error')}"
    unit = scen.metrics[0].unit
    text = f"{fmt_value(run['metrics']['value'], unit)} {unit}"
    cpu = run["metrics"].get("cpu")
    if cpu is not None:
        text += f", {cpu:.2f} CPU µs/frame" if "µs" in unit else f", {fmt_value(cpu, unit)} per CPU-s"
    if run.get("timed_out"):
        text += " (timed out: a bound)"
    elif run.get("capped"):
        text += f" (time-capped after {run['messages']})"
    return text


def wait_until_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait, at most ``max_wait`` seconds, until other processes leave the CPUs idle.

    Returns the busy share of the last 0.5 s sample (0..1 of all CPUs).
    """
    deadline = time.monotonic() + max_wait
    while True:
        busy0 = system_busy_seconds()
        time.sleep(0.5)
        share = (system_busy_seconds() - busy0) / 0.5 / CPU_COUNT
        if share < threshold or time.monotonic() >= deadline:
            return share


def raw_factor(scen: Scenario) -> int:
    """Scale the raw client's count for streams of small messages.

    Reading or writing 60,000 pre-built 32-byte frames takes about a millisecond,
    too short to time; the rate is per message either way.
    """
    # Not for deflate: the raw sender pre-compresses every message, which takes longer
    # than sending them.
    small_stream = scen.kind in ("recv", "send") and scen.size <= 4096 and not scen.compress
    return RAW_COUNT_FACTOR if small_stream else 1


def warm_up(scen: Scenario, server: PeerServer) -> None:
    """One tiny raw run so the server builds this scenario's frames before timing."""
    count = 2 if scen.kind in ("recv", "send") else 1
    run_once(sys.executable, "raw", scen, server, count, 5.0)


@dataclass(frozen=True)
class Plan:
    """What to run: scenarios, the python of each library, and how."""

    scenarios: list[Scenario]
    pythons: dict[str, Path | str]
    runs: int
    quick: bool
    budget: float  # seconds per run
    settle: float = 0.0  # seconds to wait for a quiet machine before each run
    pin_cpu: int | None = None  # the CPU that pinned scenarios put client and server on


def run_matrix(plan: Plan, server: PeerServer, results: dict[str, dict[str, list[Run]]]) -> None:
    """Run every scenario ``runs`` times per library, interleaving the libraries.

    Within a scenario, run r executes every library once, in an order rotated by r so
    that no library always goes first after the server switched scenarios. Fills
    ``results`` as it goes, so an interrupted matrix still reports what finished.
    """
    for scen in plan.scenarios:
        libs = [lib for lib in plan.pythons if applicable(scen, lib)]
        per_lib: dict[str, list[Run]] = {lib: [] for lib in libs}
        results[scen.id] = per_lib
        if not libs:
            continue
        cpu = plan.pin_cpu if scen.pinned else None
        with pinned(server, cpu):
            warm_up(scen, server)
            count = scen.run_count(plan.quick)
            for r in range(plan.runs):
                shift = r % len(libs)
                for lib in libs[shift:] + libs[:shift]:
                    n = count * raw_factor(scen) if lib == "raw" else count
                    if plan.settle:
                        wait_until_quiet(plan.settle)
                    budget = max(plan.budget, scen.min_budget)
                    run = run_once(plan.pythons[lib], lib, scen, server, n, budget, cpu)
                    per_lib[lib].append(run)
                    log(f"[{scen.id}] run {r + 1}/{plan.runs} {LIB_TITLES[lib]:<27} {describe(run, scen)}")


@contextlib.contextmanager
def pinned(server: PeerServer, cpu: int | None) -> Iterator[None]:
    """Put the server on ``cpu`` for a latency scenario (clients get ``--cpu``), then free it.

    On one CPU, a message written by one process wakes the other on the same CPU when the
    writer blocks: a round trip costs the two processes' work plus two context switches,
    not two cross-CPU wake-ups (inter-processor interrupts, expensive in a VM).
    """
    if cpu is None:
        yield
        return
    everything = os.sched_getaffinity(0)
    server.pin({cpu})
    try:
        yield
    finally:
        server.pin(everything)


# --- setup, arguments, output ------------------------------------------------------------


def prepare_envs(libs: list[str], reinstall: bool) -> tuple[dict[str, Path | str], dict[str, str], dict[str, str]]:
    """Create or reuse the environments; return pythons, skip notes and versions."""
    pythons: dict[str, Path | str] = {}
    skipped: dict[str, str] = {}
    versions: dict[str, str] = {}
    for lib in libs:
        if lib == "raw":
            pythons[lib] = sys.executable
            versions[lib] = f"Python {sys.version.split()[0]} socket"
            continue
        status: EnvStatus = ensure(SPECS[lib], log, force=reinstall)
        if status.python is None:
            skipped[lib] = status.note
            log(f"skipping {LIB_TITLES[lib]}: {status.note}")
        else:
            pythons[lib] = status.python
            versions[lib] = status.version
            log(f"{LIB_TITLES[lib]}: {status.version} ({status.python})")
    return pythons, skipped, versions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller counts (whole run < 3 minutes)")
    parser.add_argument("--runs", type=int, help="runs per cell (default 7, quick 3)")
    parser.add_argument(
        "--only", nargs="+", choices=list(BY_ID), metavar="SCENARIO", help=f"scenarios to run: {', '.join(BY_ID)}"
    )
    parser.add_argument(
        "--libs", nargs="+", choices=list(LIB_ORDER), metavar="LIB", help=f"clients to run: {', '.join(LIB_ORDER)}"
    )
    parser.add_argument("--budget", type=float, help="seconds after which a run stops early (default 5, quick 0.8)")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to SECONDS for other processes to leave the CPUs idle (default: do not wait)",
    )
    parser.add_argument(
        "--wsline-ref",
        nargs="+",
        default=[],
        metavar="COMMIT",
        help="add a column for wsline built from this commit (e.g. before a refactor); repeatable",
    )
    parser.add_argument(
        "--pin-cpu",
        type=int,
        default=max(os.sched_getaffinity(0)),
        metavar="N",
        help="CPU that the latency rows (echo, connect) pin client and server to (default: the last one)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin the latency rows")
    parser.add_argument("--reinstall", action="store_true", help="recreate the virtual environments")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/latest.* (quick.* with --quick)")
    return parser.parse_args(argv)  # fmt: skip


def save(markdown: str, record: dict[str, Any], name: str) -> None:
    """Write results/NAME.md and results/NAME.json."""
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.md").write_text(markdown)
    with open(RESULTS_DIR / f"{name}.json", "w") as f:
        json.dump(record, f, indent=1, default=str)
        f.write("\n")


@contextlib.contextmanager
def interrupt_guard() -> Iterator[list[bool]]:
    """Turn Ctrl-C into a flag so the partial table still gets printed."""
    flag = [False]
    try:
        yield flag
    except KeyboardInterrupt:
        flag[0] = True
        log("interrupted: stopping the server and reporting what finished")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    budget = args.budget or (0.8 if args.quick else 5.0)
    libs = [lib for lib in LIB_ORDER if not args.libs or lib in args.libs]
    for ref in args.wsline_ref:
        try:
            key, spec = ref_spec(ref)
        except ValueError as exc:
            log(f"--wsline-ref {ref}: {exc}")
            return 2
        SPECS[key] = spec
        register_ref(key)
        libs.insert(libs.index("wsline") + 1 if "wsline" in libs else 0, key)
    scenarios = [s for s in SCENARIOS if not args.only or s.id in args.only]
    started = time.monotonic()
    pythons, skipped, versions = prepare_envs(libs, args.reinstall)
    meta = {
        "date": now_utc(),
        "machine": machine_info(),
        "runs": runs,
        "quick": args.quick,
        "budget_seconds": budget,
        "settle_seconds": args.settle,
        "counts": {s.id: s.run_count(args.quick) for s in scenarios},
        "versions": versions,
        "pin_cpu": None if args.no_pin else args.pin_cpu,
        "wsline_refs": {key: SPECS[key].ref for key in libs if key.startswith("wsline@")},
    }
    plan = Plan(scenarios, pythons, runs, args.quick, budget, args.settle, meta["pin_cpu"])
    results: dict[str, dict[str, list[Run]]] = {}
    with interrupt_guard() as interrupted, PeerServer() as server:
        log(f"peer server on 127.0.0.1:{server.port}")
        run_matrix(plan, server, results)
        errors = server.errors()
        if errors:
            log(f"peer server stderr:\n{errors}")
    meta["wall_seconds"] = round(time.monotonic() - started, 1)
    markdown = render_markdown(meta, scenarios, libs, results, skipped)
    print(markdown)
    if interrupted[0]:
        return 130
    if not args.no_save:
        # A --quick run must not replace the full table that the README quotes.
        name = "quick" if args.quick else "latest"
        save(markdown, to_record(meta, scenarios, libs, results, skipped), name)
        log(f"saved {RESULTS_DIR / name}.md and {name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
