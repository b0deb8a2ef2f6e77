#!/usr/bin/env python3
"""Autobahn TestSuite client-compliance runner for the ``websocket`` package.

Starts kosoku's fuzzing server (the Autobahn client test cases, 1.* to 13.*)
in-process on 127.0.0.1 with an ephemeral port, drives the selected cases with
an echo agent that uses only the public API of whatever ``import websocket``
resolves to, then judges every case strictly:

    a case is *strict* only if behavior and behaviorClose are each
    OK or INFORMATIONAL (NON-STRICT, UNIMPLEMENTED, FAILED, ... are not).

Exit status: 0 if every selected case is strict or allowlisted, 1 if not,
2 if the harness could not produce a verdict (bad selection, server or agent
failure, overall timeout, interrupted).

Typical use::

    python compliance/run.py                      # the whole suite
    python compliance/run.py -i '1.*' -i '10.*'   # a subset
    python compliance/run.py -x '12.*' -x '13.*'  # skip permessage-deflate
    python compliance/run.py --kosoku-python /path/to/python3.11  # kosoku elsewhere

kosoku needs Python >= 3.10. With ``--kosoku-python`` the server runs in a
child process under that interpreter (this file, ``--serve``), which hands its
results back as JSON, while the client under test stays in this interpreter.

This file deliberately never touches ``sys.path``: the library under test is
whichever ``websocket`` the interpreter imports, and the header says which.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import fnmatch
import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterator, Sequence
    from types import ModuleType

    from kosoku._kosoku import CaseResult, FuzzingServer

T = TypeVar("T")

EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_HARNESS = 2

HOST = "127.0.0.1"
STRICT_VERDICTS = frozenset({"OK", "INFORMATIONAL"})
DEFAULT_ACCEPTED = Path(__file__).resolve().parent / "accepted.txt"

# RFC 6455 opcodes; spelled out so the agent does not depend on ABNF's location.
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8

# Extra time granted past --timeout for the last case and the report
# collection before the harness gives up on the run as a whole.
SHUTDOWN_GRACE = 30.0
# The /getCaseCount and /updateReports exchanges are tiny and local.
CONTROL_TIMEOUT = 10.0
# Progress lines on stderr, so a long run visibly advances.
PROGRESS_EVERY = 50


class HarnessError(Exception):
    """The run could not produce a verdict for the selected cases."""


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """Everything a run depends on, resolved from the command line."""

    include: list[str] | None
    exclude: list[str] | None
    agent: str | None
    options: dict[str, Any]
    parallel: int
    socket_timeout: float
    case_limit: float
    total_timeout: float
    outdir: Path | None
    json_path: Path | None
    accepted_path: Path | None
    brief: bool
    verbose: bool
    kosoku_python: str | None = None
    serve: bool = False


def _max_size(text: str) -> int | None:
    """Parse --max-size: a byte count, or ``none`` for unlimited."""
    if text.lower() == "none":
        return None
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive byte count or 'none'")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        description="Run the Autobahn client test cases (via kosoku) against "
        "the importable 'websocket' package and judge them strictly.",
    )
    parser.add_argument(
        "-i",
        "--include",
        action="append",
        metavar="GLOB",
        help="case id or glob to run, e.g. 1.1.1 or '9.*' ('*' also matches "
        "dots, so '1*' selects 1.*, 10.*, 12.*, 13.*); repeatable; "
        "default: all 517 cases",
    )
    parser.add_argument(
        "-x",
        "--exclude",
        action="append",
        metavar="GLOB",
        help="case id or glob to drop from the selection; repeatable",
    )
    parser.add_argument(
        "--agent",
        default=None,
        help="agent name reported to kosoku (default: the distribution that "
        "provides 'websocket', e.g. wsline or websocket-client)",
    )
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="create_connection(compression=...); 'none' passes None (default: deflate)",
    )
    parser.add_argument(
        "--max-size",
        type=_max_size,
        default=None,
        metavar="BYTES|none",
        help="create_connection(max_size=...) (default: none, i.e. unlimited: the suite sends 16 MiB messages)",
    )
    parser.add_argument(
        "--parallel",
        type=_positive_int,
        default=2,
        metavar="N",
        help="cases driven concurrently (default: 2, fastest on 2 cores with identical "
        "verdicts, see README); use 1 for meaningful per-case times",
    )
    parser.add_argument(
        "--timeout",
        dest="socket_timeout",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="socket timeout of every blocking library call (default: 60)",
    )
    parser.add_argument(
        "--case-limit",
        type=_positive_float,
        default=600.0,
        metavar="SECONDS",
        help="wall limit per case, checked between messages (default: 600; kosoku's own longest case timeout is 480)",
    )
    parser.add_argument(
        "--total-timeout",
        type=_positive_float,
        default=3600.0,
        metavar="SECONDS",
        help="wall limit for the whole run; no case starts after it (default: 3600)",
    )
    parser.add_argument(
        "-o",
        "--outdir",
        type=Path,
        default=None,
        help="also write kosoku's Autobahn-format report (index.html, index.json, per-case JSON/HTML) into this directory",
    )
    parser.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        default=None,
        metavar="PATH",
        help="write a machine-readable summary to PATH",
    )
    parser.add_argument(
        "--accepted",
        dest="accepted_path",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"allowlist of accepted non-strict cases (default: {DEFAULT_ACCEPTED.name} next to this script, if present)",
    )
    parser.add_argument(
        "--brief",
        action="store_true",
        help="one line per non-strict case instead of the full explanation",
    )
    parser.add_argument(
        "--kosoku-python",
        default=None,
        metavar="PYTHON",
        help="run kosoku's server under this interpreter, in a child process (for a Python without kosoku)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child of --kosoku-python
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log every case as it ends",
    )
    return parser


def _library_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword options given to ``websocket.create_connection``.

    Both are always passed: wsline understands them, and websocket-client
    swallows unknown options, so one agent serves both libraries.
    """
    return {
        "max_size": args.max_size,
        "compression": None if args.compression == "none" else args.compression,
    }


def parse_config(argv: Sequence[str] | None) -> Config:
    """Parse the command line into a `Config`."""
    args = build_parser().parse_args(argv)
    accepted = args.accepted_path
    if accepted is None and DEFAULT_ACCEPTED.exists():
        accepted = DEFAULT_ACCEPTED
    return Config(
        include=args.include,
        exclude=args.exclude,
        agent=args.agent,
        options=_library_options(args),
        parallel=args.parallel,
        socket_timeout=args.socket_timeout,
        case_limit=args.case_limit,
        total_timeout=args.total_timeout,
        outdir=args.outdir,
        json_path=args.json_path,
        accepted_path=accepted,
        brief=args.brief,
        verbose=args.verbose,
        kosoku_python=args.kosoku_python,
        serve=args.serve,
    )


# --------------------------------------------------------------------------
# Allowlist
# --------------------------------------------------------------------------


def load_allowlist(path: Path | None) -> dict[str, str]:
    """Read ``case-glob  reason`` lines; ``#`` starts a comment.

    A reason is mandatory so every accepted deviation stays explained.
    """
    if path is None:
        return {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise HarnessError(f"cannot read allowlist {path}: {exc}") from exc
    entries: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            raise HarnessError(f"{path}:{number}: expected 'case-id  reason'")
        entries[parts[0]] = parts[1].strip()
    return entries


def allowlist_reason(case_id: str, allowlist: dict[str, str]) -> str | None:
    """Return the reason the allowlist accepts ``case_id``, if it does."""
    for pattern, reason in allowlist.items():
        if fnmatch.fnmatchcase(case_id, pattern):
            return reason
    return None


# --------------------------------------------------------------------------
# Library under test
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Library:
    """The imported ``websocket`` module and how to describe it."""

    module: ModuleType
    distribution: str
    version: str
    location: str
    expected_errors: tuple[type[BaseException], ...]
    timeout_errors: tuple[type[BaseException], ...]


def _distribution_of(package: str) -> str | None:
    """Name of the installed distribution providing ``package``, if known."""
    try:
        from importlib.metadata import packages_distributions  # Python >= 3.10
    except ImportError:
        return None
    names = packages_distributions().get(package) or []
    return names[0] if names else None


def load_library() -> Library:
    """Import ``websocket`` exactly as the interpreter resolves it."""
    try:
        module = importlib.import_module("websocket")
        create_connection = module.create_connection
        base_error = module.WebSocketException
    except (ImportError, AttributeError) as exc:
        raise HarnessError(f"cannot use 'import websocket': {exc}") from exc
    if not callable(create_connection):
        raise HarnessError("websocket.create_connection is not callable")
    return Library(
        module=module,
        distribution=_distribution_of("websocket") or "websocket",
        version=str(getattr(module, "__version__", "unknown")),
        location=str(getattr(module, "__file__", "?")),
        # The documented failure modes; anything else escaping is a bug.
        expected_errors=(base_error, OSError),
        # socket.timeout is TimeoutError from 3.10 on, a subclass before.
        timeout_errors=(
            getattr(module, "WebSocketTimeoutException", TimeoutError),
            TimeoutError,
            socket.timeout,
        ),
    )


# --------------------------------------------------------------------------
# Agent: the client under test, driven through the public API only
# --------------------------------------------------------------------------


@dataclass
class CaseRun:
    """What the agent saw while running one case."""

    index: int
    seconds: float
    ended_by: str
    # Set when the run itself is suspect whatever kosoku concluded: an
    # exception outside the documented ones, or a bound of ours was hit.
    problem: str | None = None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Agent:
    """Echo client for kosoku's fuzzing server.

    Each case: ``create_connection``, then ``recv_data`` / ``send`` echo until
    the connection ends, then ``close()`` if the library still says connected.
    """

    def __init__(
        self,
        library: Library,
        base_url: str,
        name: str,
        config: Config,
        deadline: float,
    ) -> None:
        self.library = library
        self.base_url = base_url
        self.name = name
        self.options = config.options
        self.socket_timeout = config.socket_timeout
        self.case_limit = config.case_limit
        self.deadline = deadline
        self.verbose = config.verbose

    def _connect(self, path: str, timeout: float) -> Any:
        url = f"{self.base_url}{path}"
        return self.library.module.create_connection(url, timeout=timeout, **self.options)

    def case_count(self) -> int:
        """Ask the server how many cases it will serve."""
        ws = self._connect("/getCaseCount", CONTROL_TIMEOUT)
        try:
            opcode, data = ws.recv_data()
        finally:
            self._close_quietly(ws)
        if opcode != OPCODE_TEXT:
            raise HarnessError(f"/getCaseCount answered with opcode {opcode}")
        return int(data)

    def update_reports(self) -> None:
        """Tell the server the run is over; it then hands back the results.

        kosoku drops this connection without a closing handshake, so errors
        here are expected and ignored.
        """
        try:
            ws = self._connect(f"/updateReports?agent={quote(self.name)}", CONTROL_TIMEOUT)
        except Exception:  # any outcome means "request sent"
            return
        try:
            with contextlib.suppress(Exception):
                ws.recv_data()
        finally:
            self._close_quietly(ws)

    def run_case(self, index: int) -> CaseRun:
        """Run case number ``index`` (1-based) and report how it ended."""
        started = time.monotonic()
        limit = min(started + self.case_limit, self.deadline)
        timeout = min(self.socket_timeout, max(self.deadline - started, 1.0))
        path = f"/runCase?case={index}&agent={quote(self.name)}"
        run = CaseRun(index=index, seconds=0.0, ended_by="")
        ws = None
        try:
            ws = self._connect(path, timeout)
            if self._echo(ws, limit):
                run.ended_by = "close frame received"
            else:
                run.ended_by = "aborted by the agent"
                run.problem = f"case exceeded its {limit - started:.0f}s time limit"
        except self.library.timeout_errors as exc:
            run.ended_by = _describe(exc)
            run.problem = f"no progress for {timeout:.0f}s (socket timeout)"
        except self.library.expected_errors as exc:
            run.ended_by = _describe(exc)
        except Exception as exc:  # a library bug must not stop the run
            run.ended_by = _describe(exc)
            run.problem = f"raised {type(exc).__name__}, not a WebSocketException/OSError"
        finally:
            if ws is not None:
                self._close_if_connected(ws, run)
        run.seconds = time.monotonic() - started
        return run

    @staticmethod
    def _echo(ws: Any, limit: float) -> bool:
        """Echo messages; True once a close frame arrives, False at ``limit``.

        ``limit`` is only checked between messages: a message still arriving
        is bounded by the socket timeout alone.
        """
        while time.monotonic() < limit:
            opcode, data = ws.recv_data()
            if opcode == OPCODE_CLOSE:
                # The library has already answered the close frame.
                return True
            if opcode in (OPCODE_TEXT, OPCODE_BINARY):
                ws.send(data, opcode)
        return False

    def _close_if_connected(self, ws: Any, run: CaseRun) -> None:
        try:
            if getattr(ws, "connected", True):
                ws.close()
        except self.library.expected_errors:
            pass
        except Exception as exc:  # record, do not abort
            run.ended_by += f"; close() raised {_describe(exc)}"
            run.problem = f"close() raised {type(exc).__name__}"

    @staticmethod
    def _close_quietly(ws: Any) -> None:
        with contextlib.suppress(Exception):
            ws.close()


def drive_cases(agent: Agent, parallel: int) -> tuple[int, list[CaseRun]]:
    """Run every case the server offers with ``parallel`` worker threads.

    Returns the case count and the runs, which may be fewer than the count if
    the overall deadline struck. Always ends with /updateReports so the server
    releases its results.
    """
    runs: list[CaseRun] = []
    try:
        count = _case_count(agent)
        numbers: Iterator[int] = iter(range(1, count + 1))
        lock = threading.Lock()
        started = time.monotonic()

        def worker() -> None:
            while time.monotonic() < agent.deadline:
                with lock:
                    index = next(numbers, None)
                if index is None:
                    return
                run = agent.run_case(index)
                with lock:
                    runs.append(run)
                    _log_progress(agent, run, len(runs), count, started)

        threads = [threading.Thread(target=worker, name=f"agent-{n}", daemon=True) for n in range(min(parallel, max(count, 1)))]
        for thread in threads:
            thread.start()
        # A case still running at the deadline gets one more socket timeout;
        # after that /updateReports ends the run on kosoku's side regardless.
        join_until = agent.deadline + agent.socket_timeout
        for thread in threads:
            thread.join(max(join_until - time.monotonic(), 0.0))
        with lock:
            finished = list(runs)
    finally:
        agent.update_reports()
    return count, sorted(finished, key=lambda r: r.index)


def _case_count(agent: Agent) -> int:
    try:
        return agent.case_count()
    except HarnessError:
        raise
    except Exception as exc:  # whatever the library raised, nothing can run
        raise HarnessError(f"/getCaseCount failed: {_describe(exc)}") from exc


def _log_progress(agent: Agent, run: CaseRun, done: int, count: int, started: float) -> None:
    if agent.verbose:
        print(f"  case #{run.index}: {run.seconds:.2f}s, {run.ended_by}", file=sys.stderr)
    elif done % PROGRESS_EVERY == 0 or done == count:
        elapsed = time.monotonic() - started
        print(f"  {done}/{count} cases run ({elapsed:.0f}s)", file=sys.stderr)


# --------------------------------------------------------------------------
# Server side
# --------------------------------------------------------------------------


@dataclass
class RunOutput:
    """Raw outcome of a run: kosoku's results plus the agent's view."""

    count: int
    runs: list[CaseRun]
    results: list[CaseResult] | list[RemoteResult]
    seconds: float


def _start_agent(agent: Agent, parallel: int) -> concurrent.futures.Future[tuple[int, list[CaseRun]]]:
    """Run `drive_cases` on a daemon thread.

    Not an executor: its threads are joined at interpreter exit, and a
    wedged library must not keep the harness alive.
    """
    future: concurrent.futures.Future[tuple[int, list[CaseRun]]] = concurrent.futures.Future()

    def target() -> None:
        try:
            future.set_result(drive_cases(agent, parallel))
        except BaseException as exc:  # handed to the event loop
            future.set_exception(exc)

    threading.Thread(target=target, name="agent", daemon=True).start()
    return future


async def _collect(server: FuzzingServer) -> list[CaseResult]:
    """Results of the run; kosoku raises FailureError when any case failed."""
    import kosoku

    try:
        return list(await server.get_result())
    except kosoku.FailureError as failure:
        return list(failure.results)


async def _bounded(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """Await with a time limit, as a HarnessError on expiry.

    asyncio.wait instead of wait_for: its timeout does not depend on which
    TimeoutError class the running Python version raises.
    """
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        raise HarnessError(f"{what} did not finish within {seconds:.0f}s")
    return task.result()


async def run_suite(config: Config, library: Library, agent_name: str) -> RunOutput:
    """Serve the selected cases, drive them with the agent, return results."""
    try:
        import kosoku
    except ImportError as exc:
        raise HarnessError(f"cannot import kosoku: {exc}") from exc
    try:
        server_context = kosoku.run_fuzzingserver(config.include, config.exclude, host=HOST, port=0)
    except ValueError as exc:  # unknown case id or a glob matching nothing
        raise HarnessError(f"bad case selection: {exc}") from exc

    started = time.monotonic()
    async with server_context as server:
        base_url = f"ws://{server.address}:{server.port}"
        print(f"kosoku fuzzing server on {base_url}", file=sys.stderr)
        agent = Agent(library, base_url, agent_name, config, started + config.total_timeout)
        count, runs = await _bounded(
            asyncio.wrap_future(_start_agent(agent, config.parallel)),
            config.total_timeout + config.socket_timeout + SHUTDOWN_GRACE,
            "the agent",
        )
        results = await _bounded(_collect(server), SHUTDOWN_GRACE, "collecting results")
    return RunOutput(count, runs, results, time.monotonic() - started)


# --------------------------------------------------------------------------
# Server in another interpreter (--kosoku-python / --serve)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A verdict label as kosoku's Behavior/BehaviorClose show it (``.value``)."""

    value: str


# The CaseResult attributes that judging reads, sent from --serve as plain JSON.
_RESULT_FIELDS = (
    "case_index",
    "case_id",
    "remote_close_code",
    "duration",
    "description",
    "expectation",
    "result",
    "result_close",
)


@dataclass(frozen=True)
class RemoteResult:
    """One case's result as the --serve child reported it; judged like kosoku's CaseResult."""

    case_index: int
    case_id: str
    behavior: Label
    behavior_close: Label
    remote_close_code: int | None
    duration: int | None
    description: str
    expectation: str
    result: str
    result_close: str

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RemoteResult:
        values = {name: record[name] for name in _RESULT_FIELDS}
        return cls(behavior=Label(record["behavior"]), behavior_close=Label(record["behavior_close"]), **values)


def _record(result: CaseResult) -> dict[str, Any]:
    record = {name: getattr(result, name) for name in _RESULT_FIELDS}
    record["behavior"] = result.behavior.value
    record["behavior_close"] = result.behavior_close.value
    return record


async def serve(config: Config) -> int:
    """The --serve child: one JSON line with the address, then, once the run ends, one with the results."""
    import kosoku

    try:
        server_context = kosoku.run_fuzzingserver(config.include, config.exclude, host=HOST, port=0)
    except ValueError as exc:
        print(json.dumps({"error": f"bad case selection: {exc}"}), flush=True)
        return EXIT_HARNESS
    async with server_context as server:
        print(json.dumps({"address": server.address, "port": server.port}), flush=True)
        # Bounded so that a parent that died before /updateReports does not leave this behind.
        results = await _bounded(_collect(server), config.total_timeout + SHUTDOWN_GRACE, "the run")
    print(json.dumps([_record(result) for result in results]), flush=True)
    return EXIT_OK


def _serve_command(config: Config, python: str) -> list[str]:
    command = [python, str(Path(__file__).resolve()), "--serve"]
    command += ["--total-timeout", str(config.total_timeout + config.socket_timeout + SHUTDOWN_GRACE)]
    for pattern in config.include or []:
        command += ["-i", pattern]
    for pattern in config.exclude or []:
        command += ["-x", pattern]
    return command


def run_suite_remote(config: Config, library: Library, agent_name: str, python: str) -> RunOutput:
    """As `run_suite`, with kosoku's server in a child process under ``python``."""
    started = time.monotonic()
    child = subprocess.Popen(_serve_command(config, python), stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert child.stdout is not None
        hello = json.loads(child.stdout.readline() or "{}")
        if "port" not in hello:
            raise HarnessError(f"kosoku server under {python} did not start: {hello.get('error', 'no answer')}")
        base_url = f"ws://{hello['address']}:{hello['port']}"
        print(f"kosoku fuzzing server (under {python}) on {base_url}", file=sys.stderr)
        agent = Agent(library, base_url, agent_name, config, started + config.total_timeout)
        try:
            limit = config.total_timeout + config.socket_timeout + SHUTDOWN_GRACE
            count, runs = _start_agent(agent, config.parallel).result(limit)
            out, _ = child.communicate(timeout=SHUTDOWN_GRACE)
        except concurrent.futures.TimeoutError as exc:
            raise HarnessError("the agent did not finish in time") from exc
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"the kosoku server did not report within {SHUTDOWN_GRACE:.0f}s") from exc
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0:
        raise HarnessError(f"the kosoku server exited with status {child.returncode}")
    results = [RemoteResult.from_record(record) for record in json.loads(out)]
    return RunOutput(count, runs, results, time.monotonic() - started)


def write_kosoku_report(results: Sequence[Any], outdir: Path) -> None:
    """Write kosoku's own Autobahn-format report into ``outdir``.

    kosoku only exposes its writer from a private module (its CLI uses it),
    so treat it as optional.
    """
    try:
        from kosoku._report import write_reports
    except ImportError as exc:
        print(f"warning: cannot write kosoku report: {exc}", file=sys.stderr)
        return
    write_reports(results, str(outdir))
    print(f"kosoku report written to {outdir}/index.html", file=sys.stderr)


# --------------------------------------------------------------------------
# Judging
# --------------------------------------------------------------------------


MISSING = "MISSING"


@dataclass
class Verdict:
    """The strict judgement of one case."""

    index: int
    case_id: str
    behavior: str
    behavior_close: str
    strict: bool
    accepted_reason: str | None = None
    remote_close_code: int | None = None
    duration_ms: int | None = None
    agent_seconds: float | None = None
    agent_ended_by: str = ""
    agent_problem: str | None = None
    description: str = ""
    expectation: str = ""
    result: str = ""
    result_close: str = ""

    @property
    def ok(self) -> bool:
        """Strict, or accepted by the allowlist."""
        return self.strict or self.accepted_reason is not None


@dataclass
class Summary:
    """Judgement of a whole run."""

    verdicts: list[Verdict]
    seconds: float
    complete: bool
    notes: list[str] = field(default_factory=list)

    @property
    def strict_count(self) -> int:
        """Cases that are strict on their own (allowlist not counted)."""
        return sum(v.strict for v in self.verdicts)

    @property
    def failing(self) -> list[Verdict]:
        """Non-strict cases the allowlist does not cover."""
        return [v for v in self.verdicts if not v.ok]


def _is_strict(behavior: str, behavior_close: str, agent_problem: str | None) -> bool:
    # An undocumented exception is an API bug, and a hit time bound a hang,
    # even when the wire behaviour was right: either costs strictness.
    return behavior in STRICT_VERDICTS and behavior_close in STRICT_VERDICTS and agent_problem is None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def judge(output: RunOutput, allowlist: dict[str, str]) -> Summary:
    """Pair kosoku's results with the agent's runs and judge each case."""
    runs = {run.index: run for run in output.runs}
    by_index: dict[int, CaseResult] = {}
    notes: list[str] = []
    for result in output.results:
        if result.case_index in by_index:
            notes.append(f"duplicate result for case #{result.case_index} ({result.case_id})")
        by_index[result.case_index] = result

    verdicts = [_verdict(index, by_index.get(index), runs.get(index), allowlist) for index in range(1, output.count + 1)]
    missing = sum(v.behavior == MISSING for v in verdicts)
    if missing:
        notes.append(f"{missing} case(s) produced no result")
    return Summary(verdicts, output.seconds, complete=len(runs) == output.count, notes=notes)


def _verdict(
    index: int,
    result: CaseResult | None,
    run: CaseRun | None,
    allowlist: dict[str, str],
) -> Verdict:
    verdict = Verdict(
        index=index,
        case_id=f"#{index}",
        behavior=MISSING,
        behavior_close=MISSING,
        strict=False,
        agent_ended_by="not run (overall deadline)",
    )
    if run is not None:
        verdict.agent_seconds = round(run.seconds, 3)
        verdict.agent_ended_by = run.ended_by
        verdict.agent_problem = run.problem
    if result is None:
        # kosoku records nothing when, e.g., the opening handshake failed.
        return verdict
    if run is None:
        # The run was wrapped up (overall deadline) while this case was still
        # in the agent's hands; kosoku's verdict alone would hide that.
        verdict.agent_ended_by = "still running when the run was ended"
        verdict.agent_problem = "case did not finish before the overall deadline"
    verdict.case_id = result.case_id
    verdict.behavior = result.behavior.value
    verdict.behavior_close = result.behavior_close.value
    verdict.strict = _is_strict(verdict.behavior, verdict.behavior_close, verdict.agent_problem)
    verdict.accepted_reason = allowlist_reason(result.case_id, allowlist)
    verdict.remote_close_code = result.remote_close_code
    verdict.duration_ms = result.duration
    verdict.description = _one_line(result.description)
    verdict.expectation = _one_line(result.expectation)
    verdict.result = _one_line(result.result)
    verdict.result_close = _one_line(result.result_close)
    return verdict


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def _clip(text: str, width: int = 240) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _category(verdict: Verdict) -> str:
    if verdict.behavior == MISSING:
        return "none"
    return verdict.case_id.split(".", 1)[0]


def _category_key(category: str) -> tuple[int, str]:
    return (int(category), "") if category.isdigit() else (1 << 30, category)


def print_header(library: Library, agent_name: str, config: Config) -> None:
    """Say exactly what is being tested, before it is."""
    print(f"library : websocket {library.version} ({library.distribution}) from {library.location}")
    print(f"agent   : {agent_name}  options={config.options}  parallel={config.parallel}")
    selection = " ".join(config.include or ["(all)"])
    if config.exclude:
        selection += "  excluding " + " ".join(config.exclude)
    print(f"cases   : {selection}")
    sys.stdout.flush()


def print_summary(summary: Summary, allowlist_used: bool) -> None:
    """Print the per-category table, verdict counts and timing."""
    verdicts = summary.verdicts
    print("\nper category (strict / cases):")
    categories: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        categories.setdefault(_category(verdict), []).append(verdict)
    for category in sorted(categories, key=_category_key):
        group = categories[category]
        strict = sum(v.strict for v in group)
        label = f"{category}.*" if category.isdigit() else "no result"
        print(f"  {label:>9}  {strict:4d} / {len(group):<4d}")

    print("\nverdict counts:")
    print(f"  {'':18}{'behavior':>10}{'close':>10}")
    behavior = Counter(v.behavior for v in verdicts)
    closing = Counter(v.behavior_close for v in verdicts)
    for label in sorted(set(behavior) | set(closing)):
        print(f"  {label:18}{behavior[label]:>10}{closing[label]:>10}")

    problems = sum(v.agent_problem is not None for v in verdicts)
    if problems:
        print(f"\n  {problems} case(s) non-strict because of an agent-side problem")
    for note in summary.notes:
        print(f"  note: {note}")

    _print_slowest(verdicts)
    accepted = sum(1 for v in verdicts if not v.strict and v.accepted_reason)
    print(
        f"\nSTRICT {summary.strict_count} of {len(verdicts)} selected"
        + (f"; {accepted} more accepted by the allowlist" if allowlist_used else "")
        + f"; wall time {summary.seconds:.1f}s"
        + ("" if summary.complete else "; RUN INCOMPLETE")
    )


def _print_slowest(verdicts: Sequence[Verdict], count: int = 8) -> None:
    timed = [v for v in verdicts if v.agent_seconds is not None]
    timed.sort(key=lambda v: v.agent_seconds or 0.0, reverse=True)
    if not timed:
        return
    print("\nslowest cases (agent wall time / kosoku duration):")
    for verdict in timed[:count]:
        duration = "-" if verdict.duration_ms is None else f"{verdict.duration_ms} ms"
        print(f"  {verdict.case_id:>10}  {verdict.agent_seconds:8.3f}s  {duration}")


def print_failures(summary: Summary, brief: bool) -> None:
    """List every non-strict case with the report's explanation."""
    nonstrict = [v for v in summary.verdicts if not v.strict]
    if not nonstrict:
        return
    print(f"\nnon-strict cases ({len(nonstrict)}):")
    # Cases the deadline kept from running have nothing to explain one by one.
    never_run = [v for v in nonstrict if v.behavior == MISSING and v.agent_seconds is None]
    for v in nonstrict:
        if v in never_run:
            continue
        code = "-" if v.remote_close_code is None else str(v.remote_close_code)
        tag = " [accepted]" if v.accepted_reason else ""
        print(f"  {v.case_id:>10}  behavior={v.behavior}  close={v.behavior_close}  clientCloseCode={code}{tag}")
        if v.agent_problem:
            print(f"{'':14}AGENT: {v.agent_problem}")
        if brief:
            continue
        if v.accepted_reason:
            print(f"{'':14}accepted: {v.accepted_reason}")
        for label, text in (
            ("case", v.description),
            ("expected", v.expectation),
            ("result", v.result),
            ("close", v.result_close),
            ("agent", v.agent_ended_by),
        ):
            if text:
                print(f"{'':14}{label}: {_clip(text)}")
    if never_run:
        print(f"  {len(never_run)} case(s) never run (overall deadline): {never_run[0].case_id} .. {never_run[-1].case_id}")


def stale_allowlist(summary: Summary, allowlist: dict[str, str]) -> list[str]:
    """Allowlist patterns that matched selected cases which are all strict now."""
    stale = []
    for pattern in allowlist:
        matched = [v for v in summary.verdicts if fnmatch.fnmatchcase(v.case_id, pattern)]
        if matched and all(v.strict for v in matched):
            stale.append(pattern)
    return stale


def write_json(path: Path, summary: Summary, library: Library, agent_name: str, config: Config, exit_code: int) -> None:
    """Write the machine-readable summary."""
    document = {
        "library": {
            "distribution": library.distribution,
            "version": library.version,
            "location": library.location,
        },
        "agent": agent_name,
        "options": config.options,
        "include": config.include,
        "exclude": config.exclude,
        "parallel": config.parallel,
        "wall_seconds": round(summary.seconds, 3),
        "complete": summary.complete,
        "selected": len(summary.verdicts),
        "strict": summary.strict_count,
        "accepted": sum(1 for v in summary.verdicts if not v.strict and v.accepted_reason),
        "behavior": dict(Counter(v.behavior for v in summary.verdicts)),
        "behavior_close": dict(Counter(v.behavior_close for v in summary.verdicts)),
        "exit_code": exit_code,
        "notes": summary.notes,
        "cases": [asdict(v) for v in summary.verdicts],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def exit_code_for(summary: Summary) -> int:
    """0 if all selected cases are strict or accepted, 1 if not, 2 if unknown."""
    if not summary.complete or not summary.verdicts:
        return EXIT_HARNESS
    return EXIT_OK if not summary.failing else EXIT_NONCOMPLIANT


def run(config: Config) -> int:
    """Run the suite as configured and return the exit status."""
    allowlist = load_allowlist(config.accepted_path)
    library = load_library()
    agent_name = config.agent or library.distribution
    print_header(library, agent_name, config)

    if config.kosoku_python:
        output = run_suite_remote(config, library, agent_name, config.kosoku_python)
    else:
        output = asyncio.run(run_suite(config, library, agent_name))
    if output.count == 0:
        raise HarnessError("the selection matched no cases")
    if config.outdir is not None and config.kosoku_python:
        print("warning: no kosoku report with --kosoku-python (it lives in the child)", file=sys.stderr)
    elif config.outdir is not None:
        write_kosoku_report(output.results, config.outdir)

    summary = judge(output, allowlist)
    print_failures(summary, config.brief)
    print_summary(summary, bool(allowlist))
    for pattern in stale_allowlist(summary, allowlist):
        print(f"  note: allowlist entry {pattern!r} only matches strict cases now")
    code = exit_code_for(summary)
    if config.json_path is not None:
        write_json(config.json_path, summary, library, agent_name, config, code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    config = parse_config(argv)
    if config.serve:
        return asyncio.run(serve(config))
    try:
        return run(config)
    except HarnessError as exc:
        print(f"harness error: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_HARNESS
    except Exception:
        # A harness bug must not exit 1, which means "not compliant".
        traceback.print_exc()
        return EXIT_HARNESS


if __name__ == "__main__":
    sys.exit(main())
