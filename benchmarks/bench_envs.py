"""One virtual environment per client under benchmarks/.venvs/, created on demand.

websocket-client and this project both import as ``websocket``, so each client gets
its own environment. An environment is reused while its stamp (interpreter,
requirements, and for wsline the build configuration) is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENVS_DIR = BENCH_DIR / ".venvs"

VENV_TIMEOUT = 300  # seconds for `python -m venv`
PIP_TIMEOUT = 900  # seconds for one `pip install`
CHECK_TIMEOUT = 60

# Printed by the environment's own Python to confirm what `import` resolves to.
_PROBE = """
import importlib.util, json, sys
name = sys.argv[1]
mod = __import__(name)
print(json.dumps({
    "version": str(getattr(mod, "__version__", "?")),
    "file": str(getattr(mod, "__file__", "?")),
    "wsaccel": importlib.util.find_spec("wsaccel") is not None,
    "python": sys.version.split()[0],
}))
"""


@dataclass(frozen=True)
class EnvSpec:
    """What one client's environment must contain."""

    name: str
    requirements: tuple[str, ...]
    module: str  # what the client imports
    wsaccel: bool  # whether wsaccel must (True) or must not (False) be importable
    version: str | None = None  # exact version the module must report
    local: bool = False  # the module must come from this repository
    ref: str = ""  # a commit of this repository, exported and installed (not editable)


SPECS: dict[str, EnvSpec] = {
    "wsline": EnvSpec("wsline", ("-e", str(REPO_DIR), "wsaccel==0.6.7"), "websocket", True, local=True),
    "wsclient-wsaccel": EnvSpec(
        "wsclient-wsaccel",
        ("websocket-client==1.9.2", "wsaccel==0.6.7"),
        "websocket",
        True,
        "1.9.2",
    ),
    "wsclient": EnvSpec("wsclient", ("websocket-client==1.9.2",), "websocket", False, "1.9.2"),
    "websockets": EnvSpec("websockets", ("websockets==17.4",), "websockets", False, "17.4"),
    "aiohttp": EnvSpec("aiohttp", ("aiohttp==3.14.5",), "aiohttp", False, "3.14.5"),
    "picows": EnvSpec("picows", ("picows==2.3.1",), "picows", False, "2.3.1"),
}


def git(*args: str) -> str:
    """Run git in this repository; return its stdout."""
    proc = subprocess.run(["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, timeout=CHECK_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise ValueError(f"git {' '.join(args)}: {_tail(proc.stderr, 2)}")
    return proc.stdout.strip()


def ref_spec(ref: str) -> tuple[str, EnvSpec]:
    """Return the library key (``wsline@SHORT``) and environment of wsline at commit ``ref``.

    The commit's tree is exported with ``git archive`` (no worktree is registered in the
    shared repository) and installed with ``pip install`` like a release, C speedup included.
    """
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    short = sha[:9]
    name = f"wsline-{short}"
    source = VENVS_DIR / f"{name}-src"
    return f"wsline@{short}", EnvSpec(name, (str(source), "wsaccel==0.6.7"), "websocket", True, ref=sha)


def export_ref(sha: str, dest: Path) -> None:
    """Write the tree of commit ``sha`` to ``dest`` (replacing what was there)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO_DIR), "archive", "--format=tar", sha], capture_output=True, timeout=VENV_TIMEOUT, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, capture_output=True, timeout=VENV_TIMEOUT, check=True)


@dataclass
class EnvStatus:
    """Outcome of preparing one environment: a usable python, or a note why not."""

    name: str
    python: Path | None
    note: str = ""
    version: str = ""


def build_fingerprint() -> str:
    """Hash of what a rebuild of the editable wsline install depends on.

    Pure-Python edits need no reinstall (the install is editable); build
    configuration and compiled sources do.
    """
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "setup.py", "setup.cfg"):
        path = REPO_DIR / name
        if path.exists():
            digest.update(name.encode() + path.read_bytes())
    for suffix in ("*.c", "*.h", "*.pyx", "*.pxd", "*.rs", "*.cpp"):
        for path in sorted(REPO_DIR.glob(f"websocket/**/{suffix}")):
            digest.update(f"{path}:{path.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def stamp_for(spec: EnvSpec, python: str) -> str:
    """Return the text that identifies a valid, reusable environment."""
    parts = {
        "python": python,
        "version": sys.version,
        "requirements": list(spec.requirements),
        "build": build_fingerprint() if spec.local else "",
        "ref": spec.ref,
    }
    return json.dumps(parts, sort_keys=True)


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def probe(spec: EnvSpec, python: Path) -> tuple[dict[str, object] | None, str]:
    """Import the client module in the environment; return its facts or an error."""
    try:
        proc = subprocess.run(
            [str(python), "-c", _PROBE, spec.module],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            check=False,
            cwd=tempfile.gettempdir(),  # `-c` puts cwd on sys.path: keep the repo off it
        )
    except subprocess.TimeoutExpired:
        return None, "import check timed out"
    if proc.returncode != 0:
        return None, f"import failed: {_tail(proc.stderr, 2)}"
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    return facts, ""


def validate(spec: EnvSpec, facts: dict[str, object]) -> str:
    """Return why the environment does not hold what it should, or ''."""
    if spec.version and facts["version"] != spec.version:
        return f"{spec.module} is {facts['version']}, expected {spec.version}"
    if bool(facts["wsaccel"]) != spec.wsaccel:
        return f"wsaccel importable={facts['wsaccel']}, expected {spec.wsaccel}"
    if spec.local and not str(facts["file"]).startswith(str(REPO_DIR)):
        return f"websocket resolves to {facts['file']}, not this repository"
    if spec.ref and not str(facts["file"]).startswith(str(VENVS_DIR / spec.name)):
        return f"websocket resolves to {facts['file']}, not the environment's own install"
    return ""


def create(spec: EnvSpec, path: Path, python: str, log: Callable[[str], None]) -> str:
    """(Re)create the environment and install its requirements; return an error or ''."""
    if path.exists():
        shutil.rmtree(path)
    log(f"creating {path.relative_to(BENCH_DIR)} ...")
    try:
        if spec.ref:
            export_ref(spec.ref, Path(spec.requirements[0]))
        subprocess.run(
            [python, "-m", "venv", str(path)],
            check=True,
            capture_output=True,
            timeout=VENV_TIMEOUT,
        )
        proc = subprocess.run(
            [str(path / "bin" / "python"), "-m", "pip", "install", "-q", *spec.requirements],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT,
            check=False,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return f"environment creation failed: {exc}"
    if proc.returncode != 0:
        return f"pip install {' '.join(spec.requirements)} failed: {_tail(proc.stderr)}"
    return ""


def ensure(spec: EnvSpec, log: Callable[[str], None], force: bool = False) -> EnvStatus:
    """Make sure the environment exists and imports the right thing."""
    path = VENVS_DIR / spec.name
    python = path / "bin" / "python"
    stamp_path = path / ".bench-stamp"
    stamp = stamp_for(spec, sys.executable)
    fresh = python.exists() and stamp_path.exists() and stamp_path.read_text() == stamp
    if force or not fresh:
        error = create(spec, path, sys.executable, log)
        if error:
            return EnvStatus(spec.name, None, error)
    facts, error = probe(spec, python)
    if facts is not None:
        error = validate(spec, facts)
    if error:
        return EnvStatus(spec.name, None, error)
    assert facts is not None
    stamp_path.write_text(stamp)
    return EnvStatus(spec.name, python, version=str(facts["version"]))
