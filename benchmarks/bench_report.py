"""Turn the per-run results into the markdown table and the JSON record."""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bench_scenarios import Metric, Scenario

LIB_TITLES: dict[str, str] = {
    "wsline": "wsline",
    "wsclient-wsaccel": "websocket-client + wsaccel",
    "wsclient": "websocket-client",
    "websockets": "websockets sync",
    "aiohttp": "aiohttp",
    "picows": "picows",
    "raw": "raw socket",
}
LIB_ORDER = tuple(LIB_TITLES)
NO_DEFLATE = ("wsclient", "wsclient-wsaccel", "picows")
# Clients with a blocking ``ws.sock`` to watch and ``recv_data_frame`` (the socket-watching rows).
WATCHABLE = ("wsline", "wsclient", "wsclient-wsaccel")
# Units of the client-CPU table, by the unit of the wall-clock row.
CPU_UNITS = {"msgs/s": "msgs/CPU-s", "MB/s": "MB/CPU-s", "per s": "per CPU-s", "µs/frame": "CPU µs/frame"}


def register_ref(lib: str) -> None:
    """Add a column for wsline built from an older commit (``wsline@SHORT``)."""
    LIB_TITLES.setdefault(lib, lib.replace("@", " @ "))


# A run record, as produced by run.py: the client's JSON plus the harness's fields.
Run = dict[str, Any]


@dataclass(frozen=True)
class Cell:
    """One table cell: the median of the runs, or why there is none."""

    status: str  # "ok", "FAILED", "n/a", "skipped", "timed out" or "" (not run)
    median: float | None = None
    spread: float | None = None  # (max - min) / 2 / median over the runs
    note: str = ""
    bound: bool = False  # a run gave up: the value is a bound (at least this slow)


def applicable(scen: Scenario, lib: str) -> bool:
    """Whether a library can run a scenario at all (no deflate, no socket to watch)."""
    if scen.compress and lib in NO_DEFLATE:
        return False
    return not scen.watch or lib in WATCHABLE or lib.startswith("wsline@")


def make_cell(scen: Scenario, metric: Metric, lib: str, runs: list[Run], skip: str) -> Cell:
    """Summarize the runs of one library for one metric of one scenario."""
    if metric.only_lib and metric.only_lib != lib:
        return Cell("")
    if not applicable(scen, lib):
        return Cell("n/a", note="no permessage-deflate support" if scen.compress else "")
    if skip:
        return Cell("skipped", note=skip)
    if not runs:
        return Cell("")
    failed = [r for r in runs if not r.get("ok")]
    if failed:
        return Cell("FAILED", note=str(failed[0].get("error", "unknown error")))
    values = [float(r["metrics"][metric.key]) for r in runs if metric.key in r["metrics"]]
    if not values:
        return Cell("timed out") if any(r.get("timed_out") for r in runs) else Cell("")
    median = statistics.median(values)
    spread = (max(values) - min(values)) / 2 / median if median and len(values) > 1 else None
    bound = metric.key == "value" and any(r["metrics"].get("bound") for r in runs)
    return Cell("ok", median, spread, bound=bound)


def fmt_value(value: float, unit: str) -> str:
    """Format a median for humans: 140.2k msgs/s, 1,488 MB/s, 1.7 KiB."""
    if unit == "KiB":
        return f"{value:.1f}"
    if unit.startswith("MB/"):
        return f"{value:,.0f}"
    if "µs" in unit:
        return f"{value:.3f}" if value < 0.1 else f"{value:.2f}" if value < 10 else f"{value:,.0f}"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}"


def fmt_cell(cell: Cell, unit: str) -> str:
    """Format a cell with its spread, or its status."""
    if cell.status != "ok" or cell.median is None:
        return cell.status
    text = fmt_value(cell.median, unit)
    if cell.bound:
        return f"> {text} (timed out)"
    if cell.spread is not None:
        text += f" ±{cell.spread * 100:.0f}%"
    return text


def fmt_ratio(a: Cell, b: Cell) -> str:
    """Format the ratio of two cells, when both have a value."""
    if a.median is None or b.median is None or not b.median:
        return ""
    return f"{a.median / b.median:.2f}×"  # noqa: RUF001


def peer_busy(runs: dict[str, list[Run]]) -> str:
    """Highest peer-server CPU share seen during any library run of a scenario."""
    shares = [
        r["server_cpu_share"]
        for lib, lib_runs in runs.items()
        if lib != "raw"
        for r in lib_runs
        if r.get("ok") and r.get("server_cpu_share") is not None
    ]
    return f"{max(shares) * 100:.0f}%" if shares else ""


def shorten(text: str, limit: int = 240) -> str:
    """One line, at most ``limit`` characters, safe inside a markdown list."""
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def machine_info() -> dict[str, Any]:
    """Describe the machine the numbers come from."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def now_utc() -> str:
    """Return the current time as an ISO 8601 UTC string (seconds precision)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _run_values(results: dict[str, dict[str, list[Run]]], key: str) -> list[float]:
    return [
        float(run[key])
        for per_lib in results.values()
        for lib_runs in per_lib.values()
        for run in lib_runs
        if run.get(key) is not None
    ]


def interference_lines(results: dict[str, dict[str, list[Run]]], nproc: int) -> list[str]:
    """Describe how much other processes got in the way of the measured ones."""
    waits = _run_values(results, "cpu_wait_share")
    server_waits = _run_values(results, "server_cpu_wait_share")
    loads = _run_values(results, "other_load")
    if not waits and not loads:
        return []
    text = "Interference:"
    if waits:
        text += (
            f" clients waited for a CPU {statistics.mean(waits) * 100:.0f}% of their run time on average "
            f"(max {max(waits) * 100:.0f}%)"
        )
    if server_waits:
        text += f", the server {statistics.mean(server_waits) * 100:.0f}% (max {max(server_waits) * 100:.0f}%)"
    if loads:
        text += f"; unrelated processes used {statistics.mean(loads) * 100:.0f}% of the {nproc} CPUs on average"
    text += ". Run-queue waits above a few % make the numbers noisy and low."
    return ["", text]


def ratio_columns(libs: list[str]) -> list[tuple[str, str]]:
    """The ratio columns: (title, library wsline is divided by)."""
    cols = [("wsline ÷ wsc+wsaccel", "wsclient-wsaccel"), ("wsline ÷ picows", "picows")]
    cols += [(f"wsline ÷ {lib.split('@')[1]}", lib) for lib in libs if lib.startswith("wsline@")]
    cols.append(("wsline ÷ raw", "raw"))
    return [(title, lib) for title, lib in cols if lib in libs]


def table(
    scenarios: list[Scenario],
    libs: list[str],
    results: dict[str, dict[str, list[Run]]],
    skipped: dict[str, str],
    notes: dict[str, str],
    cpu: bool = False,
) -> list[str]:
    """Render one table: wall-clock rates, or (``cpu``) work per CPU-second of the client."""
    ratios = ratio_columns(libs)
    head = ["scenario", "unit", *(LIB_TITLES[lib] for lib in libs), *(title for title, _ in ratios)]
    if not cpu:
        head.append("peer CPU max")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scen in scenarios:
        runs = results.get(scen.id, {})
        metrics = scen.metrics
        if cpu:
            first = scen.metrics[0]
            if first.unit not in CPU_UNITS:
                continue
            metrics = (Metric("cpu", "", CPU_UNITS[first.unit], first.higher_is_better),)
        for metric in metrics:
            cells = {lib: make_cell(scen, metric, lib, runs.get(lib, []), skipped.get(lib, "")) for lib in libs}
            for lib, cell in cells.items():
                if cell.status in ("FAILED", "skipped") and cell.note:
                    notes.setdefault(f"{LIB_TITLES[lib]} / {scen.id}", cell.note)
            title = f"{scen.title} {metric.label}".strip() if metric.key in ("value", "cpu") else metric.label
            row = [title, metric.unit, *(fmt_cell(cells[lib], metric.unit) for lib in libs)]
            ws = cells.get("wsline", Cell(""))
            row += [fmt_ratio(ws, cells[lib]) for _, lib in ratios]
            if not cpu:
                row.append(peer_busy(runs) if metric is scen.metrics[0] else "")
            lines.append("| " + " | ".join(row) + " |")
    return lines


def render_markdown(
    meta: dict[str, Any],
    scenarios: list[Scenario],
    libs: list[str],
    results: dict[str, dict[str, list[Run]]],
    skipped: dict[str, str],
) -> str:
    """Render the results tables plus a header and footnotes as markdown."""
    m = meta["machine"]
    lines = [
        f"Benchmark run {meta['date']}: {meta['runs']} run(s) per cell"
        f"{' (--quick)' if meta['quick'] else ''}, median shown, ±: half the min-max range.",
        f"Machine: {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}, {m['platform']}.",
    ]
    pinned = [s.id for s in scenarios if s.pinned]
    if pinned and meta.get("pin_cpu") is not None:
        lines.append(f"Rows {', '.join(pinned)}: client and server pinned together to CPU {meta['pin_cpu']}.")
    lines.append("")
    notes: dict[str, str] = {}
    lines += table(scenarios, libs, results, skipped, notes)
    lines += [
        "",
        "Higher is better except memory rows (KiB per connection) and µs/frame rows. Ratios are wsline "
        "divided by the other column. Peer CPU max: the server's CPU time over the "
        "client's timed interval, highest over all library runs (an upper bound on how "
        "busy the peer was; well below 100% means the client was the bottleneck).",
        "",
        "Work per CPU-second of the client process (`time.process_time()` over the timed loop, "
        "all threads of the client; steadier than wall clock on a shared machine):",
        "",
    ]
    lines += table(scenarios, libs, results, skipped, notes, cpu=True)
    lines += interference_lines(results, m["nproc"])
    if notes:
        lines.append("")
        lines.append("Notes:")
        lines += [f"- {where}: {shorten(note)}" for where, note in notes.items()]
    versions = meta.get("versions", {})
    if versions:
        lines.append("")
        lines.append("Versions: " + ", ".join(f"{LIB_TITLES.get(k, k)} {v}" for k, v in versions.items()))
    if meta.get("wall_seconds"):
        lines.append(f"Whole run: {meta['wall_seconds'] / 60:.1f} minutes.")
    return "\n".join(lines) + "\n"


def to_record(
    meta: dict[str, Any],
    scenarios: list[Scenario],
    libs: list[str],
    results: dict[str, dict[str, list[Run]]],
    skipped: dict[str, str],
) -> dict[str, Any]:
    """Build the JSON record: metadata, per-run data and the medians."""
    out: dict[str, Any] = {"meta": meta, "skipped": skipped, "scenarios": {}}
    for scen in scenarios:
        runs = results.get(scen.id, {})
        entry: dict[str, Any] = {"title": scen.title, "metrics": {}, "runs": runs}
        metrics = list(scen.metrics)
        if scen.metrics[0].unit in CPU_UNITS:
            first = scen.metrics[0]
            metrics.append(Metric("cpu", "per client CPU-second", CPU_UNITS[first.unit], first.higher_is_better))
        for metric in metrics:
            entry["metrics"][metric.key] = {
                "label": metric.label,
                "unit": metric.unit,
                "higher_is_better": metric.higher_is_better,
                "cells": {
                    lib: dataclasses.asdict(make_cell(scen, metric, lib, runs.get(lib, []), skipped.get(lib, ""))) for lib in libs
                },
            }
        out["scenarios"][scen.id] = entry
    return out
