"""Soak run: many connections, messages flowing, the server restarted every minute.

``python tests/soak/soak.py --minutes 10`` (loopback only; not part of the
pytest run: pytest collects ``test_*.py`` files only). It starts an echo
server (``_soak_server.py``, the ``websockets`` library, in its own process)
and, in this process:

* ``--apps`` (200) WebSocketApp connections on one ``rel`` loop, each sending
  a numbered message every ``--app-interval`` seconds, with
  ``reconnect=Backoff(...)`` and keepalive pings;
* ``--threads`` (50) blocking connections (``create_connection``), one thread
  each, sending bursts of numbered messages and reading the echoes, and
  reconnecting themselves when the connection ends.

Every ``--restart-every`` seconds (60) the server goes away, alternately
politely (SIGTERM: close frames with 1001) and by a crash (SIGKILL: no close
frame), and comes back on the same port. Every echo is checked against what
the connection sent, in order: a missing or unexpected echo while connected
is a *loss*; the messages in flight when a connection ends are counted
against that disconnect. The run fails (exit 1) on any loss while connected,
an undocumented exception, an unaccounted message, or descriptors and
threads not back to where they were.

The report gives messages sent and received, disconnects, reconnects,
errors by type, and RSS, thread and descriptor counts at the start, every
``--sample-every`` seconds, at the end and after teardown.

``--tracemalloc`` tells a leak from memory the allocator keeps for reuse: it
traces Python allocations (10 frames deep), snapshots them once the clients
are connected at the start, after every restart once they have reconnected,
and at the end, printing each time the traced total and the live instances
of the library's (and rel's) classes and of zlib streams; at the end it
prints the 15 largest differences between the snapshot after the 2nd restart
and the last one. It slows the run; the report gains a ``tracemalloc`` key.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import linecache
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import rel

import websocket
from websocket import Backoff, WebSocketApp

HERE = Path(__file__).resolve().parent
DOCUMENTED = (websocket.WebSocketException, OSError)


# ---------------------------------------------------------------- process figures


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def figures() -> dict[str, Any]:
    # py_blocks: memory blocks held by Python objects; flat while RSS grows means the growth is
    # the allocator's (arenas, fragmentation) or C buffers (zlib), not objects piling up.
    return {
        "rss_mb": round(rss_mb(), 1),
        "threads": threading.active_count(),
        "fds": open_fds(),
        "py_blocks": sys.getallocatedblocks(),
    }


# ---------------------------------------------------------------- tracemalloc (--tracemalloc)


WEBSOCKET_DIR = os.path.dirname(os.path.abspath(websocket.__file__))
ROOTS = (os.path.dirname(WEBSOCKET_DIR) + os.sep, os.path.dirname(os.path.dirname(os.path.abspath(rel.__file__))) + os.sep)
# Compress/Decompress objects hold no references, so the collector does not track them:
# they are found as referents of the objects that hold them.
ZLIB_TYPES = (type(zlib.compressobj()), type(zlib.decompressobj()))
REFERENCE_LABEL = "after restart 2"


def short(filename: str) -> str:
    for root in ROOTS:
        if filename.startswith(root):
            return filename[len(root) :]
    return filename


def live_objects() -> dict[str, int]:
    """Live instances of websocket.* and rel.* classes, sockets and zlib streams: what would pile up per reconnect."""
    counts: collections.Counter[str] = collections.Counter()
    streams: dict[int, str] = {}  # by id: a stream referenced from two objects is one stream
    objects = gc.get_objects()
    for obj in objects:
        cls = type(obj)
        module = getattr(cls, "__module__", None)
        if isinstance(module, str) and (module.startswith("websocket") or module == "rel" or module.startswith("rel.")):
            counts[f"{module}.{cls.__qualname__}"] += 1
        elif cls is socket.socket:
            counts["socket.socket"] += 1
        for ref in gc.get_referents(obj):
            if type(ref) in ZLIB_TYPES:
                streams[id(ref)] = f"zlib.{type(ref).__name__}"
    counts.update(streams.values())
    counts["gc objects"] = len(objects)
    del objects
    return dict(sorted(counts.items()))


class MemoryProbe:
    """tracemalloc snapshots and live-object counts; keeps only the reference snapshot and the latest."""

    def __init__(self, frames: int) -> None:
        tracemalloc.start(frames)
        # The snapshots kept for the final comparison are themselves traced (allocated in
        # tracemalloc.py), as is linecache's cache: neither is the client's memory.
        self.filters = [
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, linecache.__file__),
            tracemalloc.Filter(False, "<unknown>"),
        ]
        self.rows: list[dict[str, Any]] = []
        self.reference: Optional[tuple[str, tracemalloc.Snapshot]] = None
        self.last: Optional[tuple[str, tracemalloc.Snapshot]] = None

    def snapshot(self, label: str, t: float, connected: int) -> dict[str, Any]:
        began = time.monotonic()
        # Cyclic garbage not yet collected is not a leak, but it holds memory (zlib state of closed
        # connections, say) until a full collection: how much there was, and what it held, is reported.
        held = tracemalloc.get_traced_memory()[0]
        collected = gc.collect()
        held -= tracemalloc.get_traced_memory()[0]
        snap = tracemalloc.take_snapshot().filter_traces(self.filters)
        traced = sum(s.size for s in snap.statistics("filename"))
        by_file = {
            short(s.traceback[0].filename): round(s.size / 1024)
            for s in snap.statistics("filename")
            if s.traceback[0].filename.startswith(WEBSOCKET_DIR)
        }
        row = {
            "tracemalloc": label,
            "t": t,
            "connected": connected,
            "rss_mb": round(rss_mb(), 1),
            "traced_mb": round(traced / 2**20, 2),  # all but tracemalloc's and linecache's own
            "websocket_mb": round(sum(by_file.values()) / 1024, 2),
            "tracemalloc_overhead_mb": round(tracemalloc.get_tracemalloc_memory() / 2**20, 1),
            "gc_collected": collected,
            "gc_freed_mb": round(held / 2**20, 2),
            "websocket_kib_by_file": by_file,
            # Counted a few seconds after the snapshot (the clients run meanwhile): a connection may have
            # made its compressor (lazily, on its first compressible message) in between.
            "live": live_objects(),
        }
        row["took_s"] = round(time.monotonic() - began, 1)
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        if self.reference is None or label == REFERENCE_LABEL:
            self.reference = (label, snap)
        self.last = (label, snap)
        return row

    def differences(self, top: int = 15) -> dict[str, Any]:
        """The largest differences, by line and by traceback, from the reference snapshot to the last one."""
        if self.reference is None or self.last is None:
            return {}
        (ref_label, ref), (last_label, last) = self.reference, self.last
        by_line = [
            f"{s.size_diff / 1024:+.1f} KiB ({s.size / 1024:.1f} KiB), {s.count_diff:+d} blocks ({s.count}): "
            f"{short(s.traceback[0].filename)}:{s.traceback[0].lineno}"
            for s in last.compare_to(ref, "lineno")[:top]
        ]
        by_traceback = []
        for s in last.compare_to(ref, "traceback")[:5]:
            frames = [f"{short(f.filename)}:{f.lineno}" for f in reversed(s.traceback)]  # the API lists oldest first
            by_traceback.append(f"{s.size_diff / 1024:+.1f} KiB, {s.count_diff:+d} blocks: " + " <- ".join(frames))
        return {"from": ref_label, "to": last_label, "by_line": by_line, "by_traceback": by_traceback}

    def report(self) -> dict[str, Any]:
        diff = self.differences()
        print(f"tracemalloc: top differences from {diff.get('from')!r} to {diff.get('to')!r} (size of the line now)")
        for line in diff.get("by_line", []):
            print("  " + line)
        print("tracemalloc: top differences by traceback")
        for line in diff.get("by_traceback", []):
            print("  " + line)
        sys.stdout.flush()
        self.reference = self.last = None
        tracemalloc.stop()
        return {"snapshots": self.rows, "differences": diff}


# ---------------------------------------------------------------- accounting


@dataclass
class Tally:
    """What one client (app or thread) saw; added up at the end."""

    sent: int = 0
    received: int = 0
    lost_at_disconnect: int = 0  # in flight when a connection ended: accounted to that disconnect
    lost_while_connected: int = 0  # an echo missing, out of order or unknown while connected: a bug
    connections: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    in_flight_at_end: int = 0
    reconnects: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    undocumented: list[str] = field(default_factory=list)

    def error(self, exc: BaseException) -> None:
        """Count an error; an exception outside the documented tree, or one without a message, is a problem."""
        self.errors[type(exc).__name__] += 1
        if not isinstance(exc, DOCUMENTED) or (isinstance(exc, websocket.WebSocketException) and not str(exc)):
            self.undocumented.append(repr(exc))

    def opened(self) -> None:
        self.connections += 1
        self.reconnects += self.connections > 1

    def add(self, other: Tally) -> None:
        for name in ("sent", "received", "lost_at_disconnect", "lost_while_connected", "connections", "disconnects"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.connect_failures += other.connect_failures
        self.in_flight_at_end += other.in_flight_at_end
        self.reconnects += other.reconnects
        self.errors.update(other.errors)
        self.undocumented.extend(other.undocumented)


def payload(tag: str, seq: int, rng: random.Random) -> str:
    # Mostly small messages, some of a few KiB, a few of 64 KiB: several frame length forms.
    size = rng.choice((8, 8, 40, 200, 1500, 4000, 65536))
    return f"{tag}:{seq}:" + "x" * size


def seq_of(message: Any, tag: str) -> Optional[int]:
    if not isinstance(message, str):
        return None
    parts = message.split(":", 2)
    if len(parts) != 3 or parts[0] != tag:
        return None
    return int(parts[1])


# ---------------------------------------------------------------- the server


class Server:
    """The echo server process; ``restart()`` takes it down (politely or not) and back up on the same port."""

    def __init__(self) -> None:
        probe = socket.create_server(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.proc: Optional[subprocess.Popen[str]] = None
        self.restarts = {"graceful": 0, "crash": 0}

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_soak_server.py"), str(self.port)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready"; bounded: the server starts in well under a second
        if line.strip() != "ready":
            raise RuntimeError(f"soak server did not start: {line!r}")

    def stop(self, graceful: bool) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()

    def restart(self, graceful: bool) -> None:
        self.stop(graceful)
        self.restarts["graceful" if graceful else "crash"] += 1
        time.sleep(0.5)  # a short outage: some reconnect attempts fail
        self.start()


# ---------------------------------------------------------------- WebSocketApp clients on rel


class RelClient:
    """One WebSocketApp on the shared rel loop, sending a numbered message every ``interval`` seconds."""

    def __init__(self, index: int, url: str, interval: float, quiet: threading.Event) -> None:
        self.tag = f"a{index}"
        self.tally = Tally()
        self.rng = random.Random(index)
        self.seq = 0
        self.in_flight: collections.deque[int] = collections.deque()
        self.interval = interval
        self.quiet = quiet  # set at the end of the run: no more sending
        self.up = False
        self.closed = False
        self.app = WebSocketApp(
            url,
            on_open=self.on_open,
            on_reconnect=self.on_open,
            on_message=self.on_message,
            on_error=self.on_error,
            on_close=self.on_close,
        )

    def start(self) -> None:
        self.app.run_forever(
            dispatcher=rel,
            reconnect=Backoff(initial=0.2, maximum=3.0, reset_after=5.0, rng=self.rng),
            ping_interval=20,
            ping_timeout=10,
            timeout=10,
        )
        rel.timeout(self.interval * self.rng.random() + 0.01, self.tick)

    def on_open(self, app: WebSocketApp) -> None:
        self.up = True
        self.tally.opened()

    def on_message(self, app: WebSocketApp, message: Any) -> None:
        seq = seq_of(message, self.tag)
        if seq is None or not self.in_flight or self.in_flight.popleft() != seq:
            self.tally.lost_while_connected += 1
            return
        self.tally.received += 1

    def on_error(self, app: WebSocketApp, exc: BaseException) -> None:
        self.tally.error(exc)
        if not self.up:  # a reconnect attempt that failed (the server is down)
            self.tally.connect_failures += 1
            return
        self.up = False
        self.tally.disconnects += 1
        self.tally.lost_at_disconnect += len(self.in_flight)
        self.in_flight.clear()

    def on_close(self, app: WebSocketApp, code: Any, reason: Any) -> None:
        self.closed = True
        self.tally.in_flight_at_end += len(self.in_flight)
        self.in_flight.clear()

    def tick(self) -> bool:
        ws = self.app.sock
        if not self.quiet.is_set() and ws is not None and ws.connected:
            self.seq += 1
            try:
                self.app.send(payload(self.tag, self.seq, self.rng))
            except (websocket.WebSocketException, OSError) as exc:
                self.tally.error(exc)  # the connection ended under us: not sent, the loop reports the end
            else:
                self.in_flight.append(self.seq)
                self.tally.sent += 1
        return self.app.keep_running  # re-armed by rel while the app runs


# ---------------------------------------------------------------- blocking clients in threads


class ThreadClient:
    """One blocking connection in its own thread: bursts of messages, then their echoes, in order."""

    def __init__(self, index: int, url: str, interval: float, stop: threading.Event) -> None:
        self.tag = f"t{index}"
        self.url = url
        self.interval = interval
        self.stop = stop
        self.tally = Tally()
        self.rng = random.Random(1000 + index)
        self.seq = 0
        self.thread = threading.Thread(target=self.run, name=f"soak-{self.tag}", daemon=True)

    def run(self) -> None:
        delay = 0.2
        while not self.stop.is_set():
            try:
                ws = websocket.create_connection(self.url, timeout=10)
            except Exception as exc:
                self.tally.error(exc)
                self.tally.connect_failures += 1
                self.stop.wait(delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, 3.0)
                continue
            delay = 0.2
            self.tally.opened()
            self.serve(ws)

    def serve(self, ws: websocket.WebSocket) -> None:
        in_flight: collections.deque[int] = collections.deque()
        try:
            while not self.stop.is_set():
                for _ in range(self.rng.randint(1, 5)):
                    self.seq += 1
                    ws.send(payload(self.tag, self.seq, self.rng))
                    in_flight.append(self.seq)
                    self.tally.sent += 1
                while in_flight:
                    message = ws.recv()
                    if message == "":  # the server's close frame
                        raise websocket.WebSocketConnectionClosedException(f"closed by the server ({ws.close_code})")
                    seq = seq_of(message, self.tag)
                    if seq is None or in_flight.popleft() != seq:
                        self.tally.lost_while_connected += 1
                    else:
                        self.tally.received += 1
                self.stop.wait(self.interval)
            ws.close()
        except Exception as exc:
            self.tally.error(exc)
            self.tally.disconnects += 1
            self.tally.lost_at_disconnect += len(in_flight)
            ws.shutdown()


# ---------------------------------------------------------------- the run


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server = Server()
        self.stop = threading.Event()
        self.samples: list[dict[str, Any]] = []
        self.apps: list[RelClient] = []
        self.threads: list[ThreadClient] = []
        self.started = 0.0
        self.quiet_since: Optional[float] = None
        self.closing_since: Optional[float] = None
        self.memory: Optional[MemoryProbe] = None

    def connected(self) -> int:
        apps = sum(1 for c in self.apps if c.app.sock is not None and c.app.sock.connected)
        return apps + sum(1 for t in self.threads if t.tally.connections > t.tally.disconnects)

    def sample(self, label: str) -> dict[str, Any]:
        entry = {"t": round(time.monotonic() - self.started, 1), "label": label, **figures(), "connected": self.connected()}
        self.samples.append(entry)
        print(json.dumps(entry), flush=True)
        return entry

    def memory_snapshot(self, label: str) -> None:
        assert self.memory is not None
        self.memory.snapshot(label, round(time.monotonic() - self.started, 1), self.connected())

    def reconnect_wait(self) -> float:
        # How long a snapshot waits for every client to be back: long enough for the 3 s backoff
        # cap, short of the next restart.
        return min(30.0, self.args.restart_every / 2)

    def controller(self) -> None:
        """Restarts the server on schedule and samples the figures; ends the run."""
        end = self.started + self.args.minutes * 60
        next_restart = self.started + self.args.restart_every
        # Half a period off the restarts, so a sample does not always land in an outage.
        next_sample = self.started + self.args.sample_every / 2
        graceful = True
        everyone = self.args.apps + self.args.threads
        # A snapshot waiting for the clients to (re)connect: its label and how long it waits at most.
        pending: Optional[tuple[str, float]] = ("start", time.monotonic() + self.reconnect_wait()) if self.memory else None
        while not self.stop.wait(0.2):
            now = time.monotonic()
            if now >= end:
                break
            if now >= next_restart:
                print(f"restart ({'graceful' if graceful else 'crash'})", flush=True)
                self.server.restart(graceful)
                graceful = not graceful
                next_restart += self.args.restart_every
                if self.memory:
                    restarts = sum(self.server.restarts.values())
                    pending = (f"after restart {restarts}", time.monotonic() + self.reconnect_wait())
            if pending and (self.connected() >= everyone or time.monotonic() >= pending[1]):
                self.memory_snapshot(pending[0])
                pending = None
            if now >= next_sample:
                self.sample("run")
                next_sample += self.args.sample_every
        self.sample("end")
        if self.memory:
            # Before teardown, with every client connected if they get there in time (bounded).
            deadline = time.monotonic() + self.reconnect_wait()
            while self.connected() < everyone and time.monotonic() < deadline:
                time.sleep(0.2)
            self.memory_snapshot("end")
        self.stop.set()

    def run(self) -> dict[str, Any]:
        if self.args.tracemalloc:
            self.memory = MemoryProbe(self.args.tracemalloc)  # before any client: all their allocations traced
        rel.init()  # before the baseline: rel keeps its poller's descriptor for the whole process
        base = figures()
        self.server.start()
        self.started = time.monotonic()
        for i in range(self.args.apps):
            client = RelClient(i, self.server.url, self.args.app_interval, self.stop)
            client.start()
            self.apps.append(client)
        for i in range(self.args.threads):
            worker = ThreadClient(i, self.server.url, self.args.thread_interval, self.stop)
            worker.thread.start()
            self.threads.append(worker)
        time.sleep(1)
        start = self.sample("start")
        control = threading.Thread(target=self.controller, name="soak-controller", daemon=True)
        control.start()
        rel.timeout(0.2, self.wind_down)
        rel.dispatch()  # until wind_down aborts it
        control.join(30)
        for worker in self.threads:
            worker.thread.join(30)
        self.server.stop(graceful=True)
        end = next(s for s in self.samples if s["label"] == "end")
        after = self.settle(base)
        report = self.report(base, start, end, after)
        if self.memory:
            report["tracemalloc"] = self.memory.report()
        return report

    def wind_down(self) -> bool:
        """On the rel loop: once the controller says stop, let the last echoes come (2 s), close every app, leave."""
        if not self.stop.is_set():
            return True
        now = time.monotonic()
        if self.quiet_since is None:
            self.quiet_since = now
        elif self.closing_since is None and now - self.quiet_since >= 2:
            self.closing_since = now
            for client in self.apps:
                client.app.close()
        elif self.closing_since is not None and (all(c.closed for c in self.apps) or now - self.closing_since > 30):
            rel.abort()
            return False
        return True

    def settle(self, base: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            now = figures()
            if now["threads"] <= base["threads"] and now["fds"] <= base["fds"]:
                break
            time.sleep(0.1)
        self.samples.append({"label": "after teardown", **figures()})
        return self.samples[-1]

    def report(self, base: dict[str, Any], start: dict[str, Any], end: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        apps, threads = Tally(), Tally()
        for client in self.apps:
            apps.add(client.tally)
        for worker in self.threads:
            threads.add(worker.tally)
        total = Tally()
        total.add(apps)
        total.add(threads)
        unaccounted = total.sent - total.received - total.lost_at_disconnect - total.in_flight_at_end
        problems = []
        if total.lost_while_connected:
            problems.append(f"{total.lost_while_connected} messages lost while connected")
        if unaccounted:
            problems.append(f"{unaccounted} messages unaccounted for")
        if total.lost_at_disconnect and not total.disconnects:
            problems.append("losses without a disconnect")
        if total.undocumented:
            problems.append(f"undocumented exceptions: {total.undocumented[:5]}")
        if after["fds"] > base["fds"] or after["threads"] > base["threads"]:
            problems.append(f"resources not released: before {base}, after teardown {after}")
        if not all(c.closed for c in self.apps):
            problems.append("some apps did not close")
        return {
            "minutes": self.args.minutes,
            "server_restarts": self.server.restarts,
            "apps": summary(apps),
            "threads": summary(threads),
            "total": summary(total),
            "unaccounted": unaccounted,
            "figures": {"before clients": base, "start": start, "end": end, "after teardown": after},
            "samples": self.samples,
            "problems": problems,
        }


def summary(tally: Tally) -> dict[str, Any]:
    data = asdict(tally)
    data["errors"] = dict(tally.errors.most_common())
    data.pop("undocumented")
    return data


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run (default 10)")
    parser.add_argument("--apps", type=int, default=200, help="WebSocketApp connections on one rel loop (default 200)")
    parser.add_argument("--threads", type=int, default=50, help="blocking connections, one thread each (default 50)")
    parser.add_argument("--restart-every", type=float, default=60.0, help="seconds between server restarts (default 60)")
    parser.add_argument("--app-interval", type=float, default=1.0, help="seconds between an app's messages (default 1)")
    parser.add_argument("--thread-interval", type=float, default=0.5, help="pause between a thread's bursts (default 0.5)")
    parser.add_argument("--sample-every", type=float, default=30.0, help="seconds between figure samples (default 30)")
    parser.add_argument("--json", type=Path, help="also write the report there")
    parser.add_argument(
        "--tracemalloc",
        type=int,
        nargs="?",
        const=10,
        default=0,
        metavar="FRAMES",
        help="trace allocations (FRAMES deep, 10 if not given) and snapshot them after each restart: is growth a leak?",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    soak = Soak(args)
    try:
        report = soak.run()
    finally:
        soak.server.stop(graceful=False)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    for problem in report["problems"]:
        print("PROBLEM:", problem, file=sys.stderr)
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
