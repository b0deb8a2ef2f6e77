"""``python -m websocket doctor``: whose files make up the installed ``websocket`` package.

wsline and websocket-client both install the import package ``websocket/``. pip
does not notice: installing a package that requires websocket-client (kubernetes,
streamlink...) after wsline overwrites wsline's files, and uninstalling
websocket-client afterwards deletes the shared ones. The doctor reads the installed
distributions' RECORD files (``importlib.metadata``), checks wsline's files against
their recorded hashes, and prints the command that repairs what it finds.

Standard library only, and no import of the ``websocket`` package's own modules:
it must run even when those are websocket-client's, or gone.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Optional

WSLINE = "wsline"
WEBSOCKET_CLIENT = "websocket-client"
PACKAGE = "websocket"
DOCS = "docs/installing-with-dependents.md"


@dataclass(frozen=True)
class Entry:
    """One line of a RECORD: a path relative to the install root, and its sha256 (None when unrecorded)."""

    path: str
    sha256: Optional[str]


@dataclass
class Dist:
    """One installed distribution that owns files under ``websocket/``."""

    name: str
    version: str
    files: list[Entry]
    root: Path  # where its RECORD's relative paths start
    editable: bool = False


@dataclass
class Report:
    """What the doctor found; ``problems`` empty means all is well."""

    wsline: Optional[Dist] = None
    websocket_client: Optional[Dist] = None
    changed: list[str] = field(default_factory=list)  # wsline files whose content is not wsline's
    missing: list[str] = field(default_factory=list)  # wsline files that are gone
    problems: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)  # commands, in order


def _record(dist: metadata.Distribution) -> list[Entry]:
    """The RECORD as written, read directly: ``Distribution.files`` leaves out missing files from Python 3.12 on."""
    entries = []
    for row in csv.reader((dist.read_text("RECORD") or "").splitlines()):
        if not row:
            continue
        digest = row[1] if len(row) > 1 else ""
        mode, _, value = digest.partition("=")
        entries.append(Entry(row[0], value if mode == "sha256" and value else None))
    return entries


def _package_files(entries: Iterable[Entry]) -> list[Entry]:
    return [e for e in entries if Path(e.path).parts[:1] == (PACKAGE,)]


def _is_editable(entries: Iterable[Entry]) -> bool:
    """An editable install records no package files, only a path hook (.pth / finder)."""
    return any(Path(e.path).name.startswith("__editable__") or e.path.endswith(".pth") for e in entries)


def _find(name: str, path: Optional[Sequence[str]]) -> Optional[Dist]:
    wanted = name.lower().replace("_", "-")
    for dist in metadata.distributions(path=list(path) if path is not None else sys.path):
        dist_name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if dist_name == wanted:
            root = Path(str(dist.locate_file("")))
            entries = _record(dist)
            return Dist(dist_name, dist.version, _package_files(entries), root, _is_editable(entries))
    return None


def _digest(path: Path) -> str:
    raw = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _check_files(dist: Dist, report: Report) -> None:
    for entry in dist.files:
        if entry.sha256 is None:
            continue  # RECORD lists .pyc files and itself without a hash
        target = dist.root / entry.path
        if not target.is_file():
            report.missing.append(entry.path)
        elif _digest(target) != f"sha256={entry.sha256}":
            report.changed.append(entry.path)


def _pip(python: str, *args: str) -> str:
    return " ".join([python, "-m", "pip", *args])


def diagnose(path: Optional[Sequence[str]] = None, python: str = sys.executable) -> Report:
    """Inspect the distributions on ``path`` (default ``sys.path``)."""
    report = Report(_find(WSLINE, path), _find(WEBSOCKET_CLIENT, path))
    wsline, other = report.wsline, report.websocket_client
    reinstall = _pip(python, "install", "--force-reinstall", "--no-deps", WSLINE)
    if other is not None:
        report.problems.append(
            f"websocket-client {other.version} is installed too: its files go into the same `websocket/` "
            "package, so installing or upgrading it overwrites wsline, and uninstalling it deletes shared files"
        )
        report.fix.append(_pip(python, "uninstall", "--yes", WEBSOCKET_CLIENT))
    if wsline is None:
        report.problems.append("wsline is not installed")
        report.fix.append(_pip(python, "install", "--force-reinstall", WSLINE))
        return report
    if not wsline.editable:
        _check_files(wsline, report)
    if report.changed or report.missing:
        report.problems.append(
            f"{len(report.changed)} of wsline's files were overwritten and {len(report.missing)} are missing"
        )
    if report.problems:
        report.fix.append(reinstall)
    return report


def _describe(dist: Optional[Dist], label: str) -> str:
    if dist is None:
        return f"{label}: not installed"
    kind = "editable install" if dist.editable else f"{len(dist.files)} files under websocket/"
    return f"{label}: {dist.version} ({kind}, {dist.root})"


def render(report: Report) -> list[str]:
    """The lines the doctor prints."""
    lines = [_describe(report.wsline, WSLINE), _describe(report.websocket_client, WEBSOCKET_CLIENT)]
    lines += [f"  overwritten: {name}" for name in report.changed[:10]]
    lines += [f"  missing: {name}" for name in report.missing[:10]]
    if not report.problems:
        lines.append("OK: `import websocket` is wsline, and its files are intact")
        return lines
    lines += [f"PROBLEM: {problem}" for problem in report.problems]
    lines.append("Fix (then keep websocket-client out, see " + DOCS + "):")
    lines += [f"  {command}" for command in report.fix]
    return lines


def main(argv: Iterable[str] = ()) -> int:
    """Print the diagnosis; exit status 0 when all is well, 1 otherwise."""
    args = list(argv)
    if args:
        print(f"usage: python -m websocket doctor (no arguments; got {' '.join(args)})", file=sys.stderr)
        return 2
    report = diagnose()
    print("\n".join(render(report)))
    return 1 if report.problems else 0
